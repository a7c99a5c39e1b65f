"""Headless Chromium at desktop width: 巴州's leader opens a 督办 of a case 库尔勒 holds from the 督办 page, finds it in
the list with its statistics, and accepts 库尔勒's result report on the item's page. Screenshots go to
XINFANG_TEST_SCREENSHOTS, else the test's tmp dir."""

from __future__ import annotations

import os
from pathlib import Path

from tests.login_pages import sign_in
from tests.test_upper_level import assigned_down


async def test_the_prefecture_supervises_from_its_oversight_list(live_server, browser, client, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    case = await assigned_down(client, tenants)
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.B}/staff/oversight", "leader")
    await page.wait_for_url(f"**/t/{tenants.B}/staff/oversight")
    assert await page.locator("nav.staff").get_by_role("link", name="督办", exact=True).count() == 1  # in the staff navigation
    assert await page.locator("nav.sub-tabs a[aria-current='page']").inner_text() == "本单位发起的督办"

    await page.goto(f"{live_server}/t/{tenants.B}/staff/oversight?subject={case.number}")  # as a link from the case would
    form = page.locator("form[data-action='open-oversight']")
    assert await form.locator("input[name='subject']").input_value() == case.number
    await form.locator("textarea[name='requirement']").fill("请于 5 个工作日内核实并报送办理结果")
    await form.locator("input[name='working_days']").fill("5")
    await form.get_by_role("button", name="发起督办").click()
    await page.wait_for_url("**/staff/oversight/*")
    assert await page.locator("dd.oversight-state").inner_text() == "督办中，待下级报送结果"
    assert "库尔勒" in await page.locator("dl.facts").first.inner_text()
    oversight_id = page.url.rsplit("/", 1)[1]

    report = await client.post(f"/t/{tenants.CHILD_OF_B}/api/oversight/{oversight_id}/reports", headers=case.korla_handler,
                               json={"text": "已约谈被反映人，责令退还费用，整改完毕。"})
    assert report.status_code == 201, await report.get_data(as_text=True)

    await page.goto(f"{live_server}/t/{tenants.B}/staff/oversight")
    row = page.locator("table.oversight tr", has_text=case.number)
    assert await row.get_by_text("结果已报送，待上级审核").count() == 1
    assert await page.locator("table.per-body th[scope='row']", has_text="库尔勒").count() == 1
    content = await page.content()
    assert "awaiting_report" not in content.replace('data-state="awaiting_report"', "").replace("state=awaiting_report", "")
    await page.screenshot(path=str(shots / "oversight-list-desktop.png"), full_page=True)

    await row.get_by_role("link").first.click()
    await page.wait_for_url(f"**/staff/oversight/{oversight_id}")
    assert await page.locator("section.report blockquote").inner_text() == "已约谈被反映人，责令退还费用，整改完毕。"
    await page.locator("form[data-action='accept']").get_by_role("button", name="采纳").click()
    await page.wait_for_url(f"**/staff/oversight/{oversight_id}")
    assert "结果已采纳，督办办结" in await page.locator("dd.oversight-state").inner_text()
    assert await page.locator("form[data-action='remind']").count() == 0
    await page.screenshot(path=str(shots / "oversight-item-accepted.png"), full_page=True)
    print("screenshots:", shots)
    await desk.close()
