"""Headless Chromium at phone width: 巴州's handler drafts a 督办函 to 库尔勒, the leader reviews it (核稿), the deputy
signs it (签发: numbered); 库尔勒's leader finds it among incoming documents and gives it to the handler to act on
within 3 working days. Every page fits the phone; the words are words, not codes. Screenshots in the tmp dir."""

from __future__ import annotations

from bson import ObjectId

from xinfang.petitions.models import Petition
from tests.login_pages import sign_in
from tests.staffing import tenant_scope
from tests.test_instructions import _case

PHONE = {"width": 390, "height": 844}
CODES = ("supervision_letter", "outgoing", "incoming", "due_on", "account_id", "None")


async def _fits_and_speaks(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    content = await page.inner_text("main") if await page.locator("main").count() else await page.inner_text("body")
    for code in CODES:
        assert code not in content, code


async def test_drafting_approving_and_receiving_a_document_at_phone_width(live_server, browser, client, tenants, tmp_path):
    bz, kl = tenants.B, tenants.CHILD_OF_B
    case = await (await tenant_scope(bz)).repo(Petition).get(await _case(client, bz, f"公文浏览器测试 {ObjectId()}"))
    title = f"关于督促办理群众反映问题的督办函 {ObjectId()}"[:60]
    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)

    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{bz}/staff/petitions/{case.id}", "handler")
    await page.wait_for_url(f"**/staff/petitions/{case.id}")
    await page.get_by_role("link", name="就此件起草公文").click()  # from the case: its number in the box, never its id
    await page.wait_for_url("**/staff/documents/new?*")
    assert await page.input_value("input[name='link_petition']") == case.number
    await page.fill("input[name='link_petition']", "")
    await page.select_option("select[name='kind']", "supervision_letter")
    await page.fill("input[name='title']", title)
    await page.fill("textarea[name='body']", "群众反映某中学违规收取资料费。\n请于五个工作日内核实办理并报告结果。")
    await page.locator("label.check", has_text="库尔勒").locator("input").check()
    await page.fill("input[name='to_citizen']", "信访人")
    await page.fill("input[name='link_petition']", case.number)  # the case number staff know
    await _fits_and_speaks(page)
    await page.screenshot(path=str(tmp_path / "document-draft-phone.png"), full_page=True)
    await page.get_by_role("button", name="保存草稿，送核稿").click()
    await page.wait_for_selector("span.badge.state[data-state='draft']")
    doc_url = page.url
    assert case.number in await page.locator("dl.facts").inner_text()
    assert await page.locator("form[data-action='review']").count() == 0  # not for the drafter

    await phone.clear_cookies()
    await sign_in(page, doc_url, "leader")
    await page.wait_for_url(doc_url)
    await page.fill("textarea[name='opinion']", "同意")
    await page.get_by_role("button", name="核稿通过").click()
    await page.wait_for_selector("span.badge.state[data-state='reviewed']")
    assert await page.locator("form[data-action='sign']").count() == 0  # the reviewer does not sign

    await phone.clear_cookies()
    await sign_in(page, doc_url, "deputy")
    await page.wait_for_url(doc_url)
    await page.get_by_role("button", name="签发").click()
    await page.wait_for_selector("span.badge.state[data-state='issued']")
    number = await page.locator("dd.document-no").inner_text()
    assert "〔" in number and number.endswith("号")
    assert await page.locator("code.sha").count() == 1
    await _fits_and_speaks(page)
    await page.screenshot(path=str(tmp_path / "document-issued-phone.png"), full_page=True)

    await phone.clear_cookies()
    await sign_in(page, f"{live_server}/t/{kl}/staff/documents?tab=incoming", "leader")
    await page.wait_for_url("**/staff/documents?tab=incoming")
    await page.get_by_role("link", name=title).click()
    await page.wait_for_selector("span.badge.state[data-state='received']")
    assert await page.locator("dd.document-no").inner_text() == number
    assert "PDF 在来文单位" in await page.locator("dd.issued-text").inner_text()  # a bare hash left the clerk looking for a link
    form = page.locator("form[data-action='distribute']")
    await form.get_by_role("group", name="承办人", exact=True).get_by_label("阿依古丽").check()
    await form.locator("input[name='due_working_days']").fill("3")
    await form.get_by_role("button", name="分发").click()
    await page.wait_for_selector("span.badge.state[data-state='distributed']")
    assert "承办" in await page.locator("ul.distribution").inner_text()
    await _fits_and_speaks(page)
    await page.screenshot(path=str(tmp_path / "document-received-phone.png"), full_page=True)
    print("screenshots:", tmp_path)
    await phone.close()
