"""A citizen on a 390 px phone fills a form with a conditional field and a region, in Chromium.

The form has one field of every kind the builder offers (tests/test_form_messages.every_kind_schema). With
JavaScript the field "其他问题说明" stays hidden until 问题类别 is 其他, and the region's city and county
lists follow the province and city chosen; nothing on the page scrolls sideways. Screenshots go to /tmp.
"""

from __future__ import annotations

import httpx
import pytest

from tests.login_pages import live_token
from tests.test_form_messages import every_kind_schema

pytestmark = pytest.mark.slow
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
KEY = "kinds_demo"


async def _no_sideways_scroll(page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


async def test_a_citizen_fills_a_conditional_field_and_a_region_on_a_phone(live_server, browser, tenants):
    admin = live_token(live_server, tenants.A, "admin")
    published = httpx.post(f"{live_server}/t/{tenants.A}/api/forms/{KEY}/versions", headers=admin, json={"schema": every_kind_schema()})
    assert published.status_code in (200, 201), published.text

    context = await browser.new_context(locale="zh-CN", **PHONE)
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    other = page.locator("[data-field='other_detail']")
    money = page.locator("[data-field='money_amount']")
    await other.wait_for(state="hidden")
    assert await money.is_hidden()
    assert await page.locator(".xf-when").first.is_hidden()  # the note is for pages without JavaScript
    await _no_sideways_scroll(page)

    await page.fill("input[name='subject.name']", "张某")
    await page.check("input[name='category'][value='other']")
    await other.wait_for(state="visible")
    await page.fill("input[name='other_detail']", "违规收取审批费")
    await page.check("input[name='involves'][value='money']")
    await money.wait_for(state="visible")
    await page.fill("input[name='money_amount']", "2000")
    await page.fill("textarea[name='content']", "2024年3月以来收取宅基地审批费，每户两千元，未开票据。")

    # the region, province -> city -> county
    city = page.locator("select[name='region_code~city']")
    county = page.locator("select[name='region_code']")
    await page.select_option("select[name='region_code~province']", "650000")
    await page.wait_for_function("document.querySelector(\"select[name='region_code~city']\").options.length < 30")
    assert "巴音郭楞蒙古自治州" in await city.inner_text() and "南京市" not in await city.inner_text()
    await city.select_option("652800")
    await page.wait_for_function("[...document.querySelector(\"select[name='region_code']\").options].some(o => o.value === '652801')")
    await county.select_option("652801")
    await page.check("input[name='truthful']")
    await page.check("input[name='_anonymous'][value='1']")
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-phone.png", full_page=True)

    # changing one's mind hides the field again, and its answer is not sent
    await page.check("input[name='category'][value='work']")
    await other.wait_for(state="hidden")
    await page.check("input[name='category'][value='other']")
    await other.wait_for(state="visible")
    assert await page.input_value("input[name='other_detail']") == "违规收取审批费"

    await page.click("button[type='submit']")
    await page.wait_for_selector("[data-receipt]")
    await page.screenshot(path="/tmp/xf-form-fields-receipt.png", full_page=True)

    # what was filed: the condition's answer and the county's code (as staff read it)
    handler = live_token(live_server, tenants.A, "handler")
    listed = httpx.get(f"{live_server}/t/{tenants.A}/api/petitions", headers=handler, params={"form_key": KEY})
    assert listed.status_code == 200, listed.text
    rows = listed.json().get("petitions") or listed.json().get("items") or []
    mine = [p for p in rows if (p.get("answers") or {}).get("other_detail") == "违规收取审批费"]
    if mine:  # the list may carry only summaries: then the receipt page above is the proof
        assert mine[0]["answers"]["region_code"] == "652801"

    # the same page without a choice made: errors next to their fields, and the condition named
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    await page.check("input[name='category'][value='other']")
    await page.check("input[name='_anonymous'][value='1']")
    await page.click("button[type='submit']")
    error = page.locator("[data-field='other_detail'] .xf-error")
    await error.wait_for()
    assert "仅当“问题类别”选择“其他”时填写" in await error.inner_text()
    assert "请选择到区县一级" in await page.locator("[data-field='region_code'] .xf-error").inner_text() or \
        "必填" in await page.locator("[data-field='region_code'] .xf-error").inner_text()
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-errors.png", full_page=True)
    await context.close()

    # without JavaScript: the conditional field is in view with its note, the city list holds every city by province
    plain = await browser.new_context(locale="zh-CN", java_script_enabled=False, **PHONE)
    page = await plain.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    assert await page.locator("[data-field='other_detail']").is_visible()
    assert await page.locator("[data-field='other_detail'] .xf-when").inner_text() == "↳ 仅当“问题类别”选择“其他”时填写" or \
        "仅当“问题类别”选择“其他”时填写" in await page.locator("[data-field='other_detail'] .xf-when").inner_text()
    assert await page.locator("select[name='region_code~city'] optgroup").count() == 31
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-nojs.png", full_page=True)
    await plain.close()

    # English, on a desk: the region's three selects side by side
    desk = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}?lang=en")
    assert "Where it happened" in await page.locator("[data-field='region_code'] legend").inner_text()
    await page.select_option("select[name='region_code~province']", "320000")
    await page.wait_for_function("[...document.querySelector(\"select[name='region_code~city']\").options].some(o => o.value === '321300')")
    await page.select_option("select[name='region_code~city']", "321300")
    await page.wait_for_function("[...document.querySelector(\"select[name='region_code']\").options].some(o => o.value === '321323')")
    await page.select_option("select[name='region_code']", "321323")
    await page.locator("[data-field='region_code']").screenshot(path="/tmp/xf-form-fields-region-desk.png")
    await page.screenshot(path="/tmp/xf-form-fields-desk-en.png", full_page=True)
    await desk.close()
