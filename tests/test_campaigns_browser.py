"""Headless Chromium at phone width (issue 15): 巴州's leader starts a campaign on the form (lower body ticked, checklist
typed as lines, a report deadline); another leader of 巴州 approves it on a phone (the one who started it is told to wait
for that); 库尔勒's handler fills in the report on a phone; 巴州 sees the progress and closes it. Screenshots in the
test's tmp dir (or XINFANG_TEST_SCREENSHOTS)."""

from __future__ import annotations

import os
from pathlib import Path

from bson import ObjectId

from tests.login_pages import sign_in
from tests.test_campaigns import _period

PHONE = {"width": 390, "height": 844}


async def test_a_county_reports_a_campaign_on_a_phone(live_server, browser, tenants, tmp_path):
    tmp_path = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    title = f"手机排查 {ObjectId()}"
    period = _period()

    leader = await phone.new_page()
    await sign_in(leader, f"{live_server}/t/{tenants.B}/staff/campaigns/new", "leader")
    await leader.wait_for_url("**/staff/campaigns/new")
    await leader.fill("input[name='title']", title)
    await leader.fill("input[name='period_start']", period["period_start"])
    await leader.fill("input[name='period_end']", period["period_end"])
    await leader.get_by_label("库尔勒市纪委监委").check()
    await leader.fill("textarea[name='checklist']", "是否存在违规收费\n是否存在侵害群众利益问题")
    await leader.fill("input[name='report_due_on']", period["period_end"])
    await leader.screenshot(path=str(tmp_path / "campaign-new-phone.png"), full_page=True)
    await leader.get_by_role("button", name="提交审批").click()
    await leader.wait_for_url("**/staff/campaigns/*")
    campaign_url = leader.url
    assert await leader.locator("dd.progress strong").inner_text() == "0 / 1"
    assert await leader.locator("dd.campaign-status").inner_text() == "待审批"
    assert "另一位领导审批" in await leader.locator("p.awaiting-approval").inner_text()
    assert await leader.locator("form[data-action='approve']").count() == 0  # not their own
    await leader.screenshot(path=str(tmp_path / "campaign-awaiting-approval-phone.png"), full_page=True)

    # Another leader of 巴州 approves it on a phone.
    await phone.clear_cookies()
    deputy = await phone.new_page()
    await sign_in(deputy, campaign_url, "deputy")
    await deputy.wait_for_url(campaign_url)
    assert await deputy.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await deputy.screenshot(path=str(tmp_path / "campaign-approve-phone.png"), full_page=True)
    await deputy.get_by_role("button", name="批准开展").click()
    await deputy.wait_for_url(campaign_url)
    assert (await deputy.locator("dd.campaign-status strong").inner_text()) == "进行中"
    await deputy.screenshot(path=str(tmp_path / "campaign-approved-phone.png"), full_page=True)

    await phone.clear_cookies()
    county = await phone.new_page()
    await sign_in(county, f"{live_server}/t/{tenants.CHILD_OF_B}/staff/campaigns", "handler")
    await county.wait_for_url("**/staff/campaigns")
    listed = county.locator("table.campaigns tr", has_text=title)  # one card a campaign, its facts named
    assert (await listed.locator("td.title").bounding_box())["width"] >= 250
    assert "状态" in await listed.locator("td.status").evaluate("td => getComputedStyle(td, '::before').content")
    await county.screenshot(path=str(tmp_path / "campaign-list-county-phone.png"), full_page=True)
    await county.get_by_role("link", name=title).click()
    await county.get_by_role("link", name="填报排查结果").click()
    await county.wait_for_url("**/report")
    first = county.locator("fieldset[data-item='i1']")
    await first.get_by_label("发现风险", exact=True).check()
    await first.locator("textarea[name='description-i1']").fill("某乡镇中学以资料费名义收费")
    await first.locator("textarea[name='measures-i1']").fill("已责令退还")
    await county.locator("fieldset[data-item='i2']").get_by_label("未发现", exact=True).check()
    await county.screenshot(path=str(tmp_path / "campaign-report-phone.png"), full_page=True)
    assert await county.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await county.get_by_role("button", name="报送").click()
    await county.wait_for_url(f"**/staff/campaigns/{campaign_url.rsplit('/', 1)[1]}")
    assert await county.locator("section.campaign-unit").get_attribute("data-reported") == "yes"

    await phone.clear_cookies()
    again = await phone.new_page()
    await sign_in(again, campaign_url, "leader")
    await again.wait_for_url(campaign_url)
    assert await again.locator("dd.progress strong").inner_text() == "1 / 1"
    assert await again.locator("table.by-item tr[data-item='i1'] td.risks").inner_text() == "1"
    assert await again.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await again.screenshot(path=str(tmp_path / "campaign-progress-phone.png"), full_page=True)
    await again.fill("textarea[name='note']", "各单位均已报送")
    await again.get_by_role("button", name="结束排查").click()
    await again.wait_for_url(campaign_url)
    assert "已报送 1 / 1 个单位" in await again.locator("section.closing-summary").inner_text()
    assert "提醒" not in await again.locator("dd.report-due").inner_text()  # closed: no unit is warned any more
    await again.screenshot(path=str(tmp_path / "campaign-closed-phone.png"), full_page=True)
    print("screenshots:", tmp_path)
    await phone.close()
