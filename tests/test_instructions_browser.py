"""Headless Chromium at phone width (issue 15): 巴州's leader writes an instruction on a case from the case page, the
handler named reports what was done from the same page, the leader confirms it; the timeline says so in words.
Screenshots go to the test's tmp dir."""

from __future__ import annotations

from bson import ObjectId

from tests.login_pages import sign_in
from tests.test_instructions import _case

PHONE = {"width": 390, "height": 844}


async def test_an_instruction_on_the_case_page_at_phone_width(live_server, browser, client, tenants, tmp_path):
    pid = await _case(client, tenants.B, f"手机批示 {ObjectId()}")
    url = f"{live_server}/t/{tenants.B}/staff/petitions/{pid}"
    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)

    leader = await phone.new_page()
    await sign_in(leader, url, "leader")
    await leader.wait_for_url(f"**/staff/petitions/{pid}")
    panel = leader.locator("section.instructions")
    await panel.locator("details.instruction-write > summary").click()
    await panel.locator("textarea[name='text']").fill("请信访室三个工作日内约谈校长，核实收费情况并报告。")
    await panel.get_by_label("杨帆").check()
    await panel.locator("input[name='due_working_days']").fill("3")
    await panel.screenshot(path=str(tmp_path / "instruction-write-phone.png"))
    await panel.get_by_role("button", name="发出批示").click()
    await leader.wait_for_url(f"**/staff/petitions/{pid}#instructions")
    item = leader.locator("article.instruction")
    assert await item.count() == 1 and await item.get_attribute("data-state") == "open"
    assert await item.locator("dd.assignees").inner_text() == "杨帆"
    assert await leader.locator("ol.timeline li", has_text="领导批示").count() >= 1

    await phone.clear_cookies()
    handler = await phone.new_page()
    await sign_in(handler, url, "handler")
    await handler.wait_for_url(f"**/staff/petitions/{pid}")
    act = handler.locator("form[data-action='act']")
    await act.locator("textarea[name='text']").fill("已约谈校长，违规收取的资料费已全部退还，相关人员已作检讨。")
    await act.get_by_role("button", name="报告落实情况").click()
    await handler.wait_for_url(f"**/staff/petitions/{pid}#instructions")
    assert await handler.locator("article.instruction").get_attribute("data-state") == "acted"
    assert await handler.locator("form[data-action='fulfil']").count() == 0  # never confirms their own work
    await handler.goto(f"{live_server}/t/{tenants.B}/staff/instructions")  # one list of theirs: no separator left hanging
    assert (await handler.locator("nav.tabs").inner_text()).strip() == "待我落实"

    await phone.clear_cookies()
    again = await phone.new_page()
    await sign_in(again, url, "leader")
    await again.wait_for_url(f"**/staff/petitions/{pid}")
    await again.locator("form[data-action='fulfil']").get_by_role("button", name="确认落实到位").click()
    await again.wait_for_url(f"**/staff/petitions/{pid}#instructions")
    article = again.locator("article.instruction")
    assert await article.get_attribute("data-state") == "fulfilled"
    assert await article.locator("span.state").inner_text() == "已落实办结"
    content = await again.content()
    for code in ("instruction_written", "instruction_acted", "instruction_fulfilled", "assignee_ids"):
        assert f">{code}<" not in content and f"{code}：" not in content
    # Nothing is wider than the phone: no sideways scrolling on the case page.
    assert await again.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await again.locator("section.instructions").scroll_into_view_if_needed()
    await again.screenshot(path=str(tmp_path / "instruction-case-phone.png"), full_page=True)
    await again.locator("section.instructions").screenshot(path=str(tmp_path / "instruction-panel-phone.png"))
    await again.goto(f"{live_server}/t/{tenants.B}/staff/instructions?tab=done")
    row = again.locator("ul.instructions-list li[data-state='fulfilled']", has_text="请信访室三个工作日内约谈校长")
    assert await row.count() == 1
    await again.screenshot(path=str(tmp_path / "instructions-done-phone.png"), full_page=True)
    print("screenshots:", tmp_path)
    await phone.close()
