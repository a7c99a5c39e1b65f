"""In Chromium: a tenant admin enters the 2027 Spring Festival (a year the official calendar does not know) by typing
and clicks, previews a 15-working-day deadline across it, saves, and marks one more day off with a click; the year
view shows each kind of day, and the saved calendar's deadline lands after the festival."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import httpx

from xinfang.calendar.workdays import WorkingCalendar
from tests.login_pages import live_token, sign_in
from playwright.async_api import expect


async def test_an_admin_enters_the_2027_spring_festival_and_the_deadline_moves_past_it(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or "/tmp")
    slug = tenants.B
    admin = live_token(live_server, slug, "admin")
    assert httpx.put(f"{live_server}/t/{slug}/api/calendar", headers=admin, json={"holidays": [], "workdays": []}).status_code == 200
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await sign_in(page, f"{live_server}/t/{slug}/admin/calendar?year=2027&lang=zh", "admin")
        await page.wait_for_selector("#year-grid table.month")
        assert "2027 年的国家安排平台尚未收录" in await page.inner_text("#official-note")

        await page.fill("#holiday_from", "2027-02-06")
        await page.fill("#holiday_to", "2027-02-13")
        await page.fill("#holiday_name", "春节")
        await page.fill("#makeup_1", "2027-02-20")
        await page.fill("#preview_start", "2027-02-03")
        await page.fill("#preview_amount", "15")
        await page.click("#preview-button")
        await page.wait_for_selector("#draft")
        told = await page.inner_text("#deadline-preview")
        assert "截止日期 2027年3月2日（星期二）" in told and "春节" in told, told
        # nothing saved yet: the saved calendar would say 2027-02-24
        assert WorkingCalendar().add_working_days(date(2027, 2, 3), 15) == date(2027, 2, 24)

        await page.click("#save-button")
        await page.wait_for_selector("#saved")
        assert "按已保存的日历计算" in await page.inner_text("#deadline-preview")
        assert "截止日期 2027年3月2日（星期二）" in await page.inner_text("#deadline-preview")
        assert "春节" in await page.inner_text("#entered")

        # one more day off by a click: New Year's Day 2027 (a Friday), named first
        await page.fill("#day-name", "元旦")
        await page.click("button[data-day='2027-01-01']")
        await page.wait_for_selector("#saved")
        assert "2027年1月1日（星期五）现在是休息日" in await page.inner_text("#saved")
        cell = page.locator("td:has(> [data-day='2027-01-01'])")
        assert "k-tenant_holiday" in (await cell.get_attribute("class")) and "元旦" in await cell.inner_text()
        festival = page.locator("td:has(> [data-day='2027-02-10'])")
        assert "k-tenant_holiday" in (await festival.get_attribute("class")) and "春节" in await festival.inner_text()
        worked = page.locator("td:has(> [data-day='2027-02-20'])")
        assert "k-tenant_makeup" in (await worked.get_attribute("class")) and "班" in await worked.inner_text()

        await page.screenshot(path=str(shots / "admin-calendar-2027.png"), full_page=True)
        await page.goto(f"{live_server}/t/{slug}/admin/calendar?year=2027&lang=en")
        assert "2027" in await page.inner_text("#official-note") and "国家" not in await page.inner_text("#official-note")
        await page.screenshot(path=str(shots / "admin-calendar-2027-en.png"))
        await page.goto(f"{live_server}/t/{slug}/admin/calendar?year=2027&lang=zh")
        await page.goto(f"{live_server}/t/{slug}/admin/calendar?year=2026")
        await page.locator("#m10").screenshot(path=str(shots / "admin-calendar-2026-october.png"))

        # what the petitions' deadlines now read: the saved rules (the API the deadline computation shares)
        saved = httpx.get(f"{live_server}/t/{slug}/api/calendar", headers=admin).json()
        assert {"2027-01-01", "2027-02-08", "2027-02-12"} <= set(saved["holidays"]) and saved["workdays"] == ["2027-02-20"]
        words = re.sub(r"\s+", " ", await page.inner_text("main"))
        assert "国庆节" in words
    finally:
        await context.close()
        httpx.put(f"{live_server}/t/{slug}/api/calendar", headers=admin, json={"holidays": [], "workdays": []})


async def test_an_admin_adds_a_dictionary_word_and_changes_a_plugin_by_typing_and_clicks(live_server, browser, tenants):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or "/tmp")
    slug = tenants.B
    admin = live_token(live_server, slug, "admin")
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await sign_in(page, f"{live_server}/t/{slug}/admin/search-dictionary?lang=zh", "admin")
        await page.wait_for_selector("#add-word")
        await page.fill("#word", "城关镇 中心小学")
        await page.click("#add-word button")
        await expect(page.locator("#word-error")).to_contain_text("词语中不能有空格")
        await page.fill("#word", "城关镇中心小学")
        await page.click("#add-word button")
        await page.wait_for_selector("#saved")
        await page.fill("#stop_word", "反映")
        await page.click("#add-stop-word button")
        await page.wait_for_selector("#saved")
        assert await page.locator("#split-with li.own", has_text="城关镇中心小学").count() == 1
        assert await page.locator("#split-without li", has_text="城关镇中心小学").count() == 0
        await page.fill("#group", "噪音、噪声 扰民")  # synonyms: typed as a person types them, shown as chips
        await page.click("#add-synonyms button")
        await page.wait_for_selector("#synonym-group-1")
        assert [w.strip("✕ \n") for w in await page.locator("#synonym-group-1 .words li:not(.equals)").all_inner_texts()] == ["噪音", "噪声", "扰民"]
        await page.screenshot(path=str(shots / "admin-search-dictionary.png"), full_page=True)

        await page.goto(f"{live_server}/t/{slug}/admin/plugins")
        box = page.locator("#plugin-filesender input[value='sms']")
        assert await box.is_checked()
        await box.uncheck()
        await page.click("#plugin-filesender button")
        await page.wait_for_selector("#saved")
        assert not await page.locator("#plugin-filesender input[value='sms']").is_checked()
        assert "不能停用" not in await page.inner_text("#plugin-filesender")
        assert "始终启用" in await page.inner_text("#basic-plugins") and "信访件" in await page.inner_text("#plugin-petitions")
        await page.screenshot(path=str(shots / "admin-plugins.png"), full_page=True)
    finally:
        await context.close()
        httpx.put(f"{live_server}/t/{slug}/api/search-dictionary", headers=admin, json={"words": [], "stop_words": [], "synonyms": []})
        httpx.put(f"{live_server}/t/{slug}/api/plugins/filesender", headers=admin, json={"enabled": True, "config": {}})
