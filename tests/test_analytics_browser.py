"""The analytics pages in Debian Chromium, at a phone's width (390 px) and a desk's: a leader opens the dashboard from
the staff navigation, opens a saved report from the list, and clicks a number to the cases behind it; no sideways
scrolling, charts drawn with no script. Screenshots go to $XINFANG_TEST_SCREENSHOTS, else the test's tmp dir.

The report's petitions carry a region of their own (a marker the saved report filters by), in a month of 2001-2002.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from pathlib import Path

import httpx

from tests.conftest import eventually
from tests.login_pages import live_token, sign_in

SIZES = {"desk": {"viewport": {"width": 1366, "height": 900}}, "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}


async def _no_sideways_scroll(page, what: str) -> None:
    width = await page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width[0] <= width[1] + 1, f"{what} scrolls sideways ({width[0]} > {width[1]} px)"


async def test_a_leader_opens_the_dashboard_a_saved_report_and_the_cases_behind_a_number(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base, slug = live_server, tenants.A
    first = date(random.randrange(2001, 2003), random.randrange(1, 13), 1)
    end = ((first + timedelta(days=32)).replace(day=1) - timedelta(days=1)).isoformat()
    marker = f"看板浏览器测试{random.randrange(10**6):06d}"
    name = f"{marker[-6:]} 本月各渠道受理"
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        registrar = live_token(base, slug, "registrar")
        for n, channel in enumerate(["visit", "visit", "visit", "letter", "letter"]):
            filed = await api.post(f"/t/{slug}/api/petitions", headers=registrar, json={
                "form": "petition", "channel": channel, "anonymous": True, "received_on": (first + timedelta(days=4 * n)).isoformat(),
                "answers": {"title": f"{marker} 学校食堂问题{n + 1}", "content": "学校食堂饭菜质量差，家长多次反映未解决。", "category": "other",
                            "region": marker}})
            assert filed.status_code == 201, filed.text
        for n in range(2):  # two today, so the dashboard's tiles and trend have something to show
            filed = await api.post(f"/t/{slug}/api/petitions", headers=registrar, json={
                "form": "petition", "channel": "phone", "anonymous": True,
                "answers": {"title": f"{marker} 今日来电{n + 1}", "content": "反映学校食堂卫生问题。", "category": "other"}})
            assert filed.status_code == 201, filed.text
        leader = live_token(base, slug, "leader")
        query = {"m": "received", "d1": "channel", "start": first.isoformat(), "end": end, "cmp": "previous", "f.region": marker}

        async def counted():
            answer = await api.get(f"/t/{slug}/staff/analytics/reports/export/csv", headers=leader, params=query)
            return "合计,5" in answer.content.decode("utf-8-sig") or None

        await eventually(counted, timeout=60, message="the five petitions counted")
        saved = await api.post(f"/t/{slug}/staff/analytics/reports", headers=leader, data=query | {"name": name})
        assert saved.status_code == 303, saved.text

    for size, options in SIZES.items():
        context = await browser.new_context(locale="zh-CN", **options)
        page = await context.new_page()
        await sign_in(page, f"{base}/t/{slug}/staff/login", "leader")
        await page.wait_for_load_state()
        await page.goto(f"{base}/t/{slug}/staff/analytics/") if size == "phone" else await page.get_by_role("link", name="统计分析").first.click()
        await page.wait_for_url(f"**/t/{slug}/staff/analytics/")
        await _no_sideways_scroll(page, f"the dashboard ({size})")
        tiles = await page.locator("ul.tiles").inner_text()
        assert "今日受理" in tiles and "在办事项" in tiles and "超期未办结" in tiles and "本周到期" in tiles
        assert int(await page.locator('[data-figure="intake_today"] strong').inner_text()) >= 2
        assert await page.locator("section.trend svg").count() == 1  # drawn with no script
        assert await page.locator("section.forms-mix svg, section.forms-mix .chart-empty").count() == 1
        await page.screenshot(path=str(shots / f"analytics-dashboard-{size}.png"), full_page=True)

        await page.get_by_role("link", name="统计报表").click()
        await page.get_by_role("link", name=name).click()
        await page.wait_for_url("**/reports/saved/*")
        await _no_sideways_scroll(page, f"a saved report ({size})")
        assert name in await page.inner_text("h1")
        visits = page.locator('tr[data-key="channel=visit"] td[data-kind="value"] a')
        assert await visits.inner_text() == "3"
        said = await page.locator("main").inner_text()
        assert f"统计期间：{first.year}年{first.month}月1日 — " in said and f"{first.isoformat()}" not in said  # days in Chinese
        await page.screenshot(path=str(shots / f"analytics-saved-report-{size}.png"), full_page=True)

        if size == "desk":  # the cases behind a number: once, on the phone, is enough
            await context.close()
            continue
        await visits.click()
        await page.wait_for_url("**/reports/cases?*")
        await _no_sideways_scroll(page, f"the cases behind a number ({size})")
        assert "受理件数：3 件" in await page.inner_text("h1")
        assert await page.locator("table.drill tbody tr").count() == 3
        first_case = page.locator("table.drill tbody tr").first  # one card a case on the phone, not four squeezed columns
        assert (await first_case.locator("td.title").bounding_box())["width"] >= 250
        assert await first_case.locator('td[data-label="状态"]').count() == 1 and await page.locator("table.drill thead").is_hidden()
        await page.screenshot(path=str(shots / f"analytics-drill-{size}.png"), full_page=True)
        await context.close()
