"""Headless Chromium at phone width (issue 15): 巴州's leader starts a campaign on the form (lower body ticked, checklist
typed as lines); 库尔勒's handler fills in the report on a phone; 巴州 sees the progress. Screenshots in the test's tmp dir."""

from __future__ import annotations

from bson import ObjectId

from tests.login_pages import sign_in
from tests.test_campaigns import _period

PHONE = {"width": 390, "height": 844}


async def test_a_county_reports_a_campaign_on_a_phone(live_server, browser, tenants, tmp_path):
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
    await leader.screenshot(path=str(tmp_path / "campaign-new-phone.png"), full_page=True)
    await leader.get_by_role("button", name="开始排查").click()
    await leader.wait_for_url("**/staff/campaigns/*")
    campaign_url = leader.url
    assert await leader.locator("dd.progress strong").inner_text() == "0 / 1"

    await phone.clear_cookies()
    county = await phone.new_page()
    await sign_in(county, f"{live_server}/t/{tenants.CHILD_OF_B}/staff/campaigns", "handler")
    await county.wait_for_url("**/staff/campaigns")
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
    print("screenshots:", tmp_path)
    await phone.close()
