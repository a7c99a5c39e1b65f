"""Headless Chromium: the county under a prefecture (issue 11). 巴州 assigns a case down; 库尔勒's handler reports the
result from the case page with a file; 巴州's leader finds it in the list of cases assigned down, reminds, accepts.

Screenshots go to the test's tmp dir."""

from __future__ import annotations

from tests.login_pages import sign_in
from tests.test_upper_level import PDF, assigned_down


async def test_the_county_reports_and_the_prefecture_decides(live_server, browser, client, tenants, tmp_path):
    case = await assigned_down(client, tenants)
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})

    county = await desk.new_page()
    await sign_in(county, f"{live_server}/t/{tenants.CHILD_OF_B}/staff/petitions/{case.pid}", "handler")
    await county.wait_for_url(f"**/staff/petitions/{case.pid}")
    panel = county.locator("section.upper-level")
    assert await panel.get_by_text("上级交办").count() == 1
    (tmp_path / "整改报告.pdf").write_bytes(PDF)
    await panel.locator("textarea[name='text']").fill("已约谈被反映人，问题属实，已责令整改。")
    await panel.locator("input[name='files']").set_input_files(str(tmp_path / "整改报告.pdf"))
    await panel.get_by_role("button", name="报送").click()
    await county.wait_for_url(f"**/staff/petitions/{case.pid}")
    assert await county.locator("section.upper-level .report[data-status='pending']").count() == 1
    assert await county.locator("form[data-action='result-report']").count() == 0  # one report at a time
    await county.screenshot(path=str(tmp_path / "county-case-reported.png"), full_page=True)

    await desk.clear_cookies()
    prefecture = await desk.new_page()
    await sign_in(prefecture, f"{live_server}/t/{tenants.B}/staff/followed", "leader")
    await prefecture.wait_for_url(f"**/t/{tenants.B}/staff/followed")
    row = prefecture.locator("table.followed tr", has_text=case.number)
    assert await row.get_by_text("结果已报送，待审核").count() == 1
    await prefecture.screenshot(path=str(tmp_path / "prefecture-followed-list.png"), full_page=True)
    await prefecture.set_viewport_size({"width": 390, "height": 844})  # the same list on a leader's phone: one card a case
    assert (await row.locator("td.title").bounding_box())["width"] >= 250  # seven columns squeezed it to a character a line
    shown = await row.locator("td[data-label='办理结果报送']").evaluate("td => getComputedStyle(td, '::before').content")
    assert "办理结果报送" in shown  # each fact says what it is, the header row being hidden
    assert await prefecture.evaluate("document.documentElement.scrollWidth") <= 390
    await prefecture.screenshot(path=str(tmp_path / "prefecture-followed-list-phone.png"), full_page=True)
    await prefecture.set_viewport_size({"width": 1280, "height": 900})
    await row.get_by_role("link", name=case.number).click()
    await prefecture.wait_for_url(f"**/staff/followed/{case.pid}")
    assert await prefecture.locator("section.report blockquote").inner_text() == "已约谈被反映人，问题属实，已责令整改。"
    assert await prefecture.get_by_role("link", name="整改报告.pdf").count() == 1
    remind = prefecture.locator("form[data-action='remind']")
    await remind.locator("textarea[name='message']").fill("请补充整改材料后一并归档")
    await remind.locator("input[name='due_on']").fill("2099-06-30")
    await remind.get_by_role("button", name="发送督办").click()
    await prefecture.wait_for_url(f"**/staff/followed/{case.pid}")
    assert await prefecture.locator("dd.reminder-count").inner_text() == "1"
    await prefecture.locator("form[data-action='accept']").get_by_role("button", name="采纳").click()
    await prefecture.wait_for_url(f"**/staff/followed/{case.pid}")
    assert await prefecture.locator("dd.follow-status").inner_text() == "结果已采纳，交办办结"
    content = await prefecture.content()
    assert "result_" not in content and "upper_reminder" not in content and "awaiting_report" not in content.replace('data-status="awaiting_report"', "")
    await prefecture.screenshot(path=str(tmp_path / "prefecture-followed-case.png"), full_page=True)
    print("screenshots:", tmp_path)
    await desk.close()
