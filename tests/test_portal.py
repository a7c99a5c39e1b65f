"""The citizen portal and the staff console as pages: no JavaScript needed, Chinese first, English on request."""

import io
import re

from werkzeug.datastructures import FileStorage

from tests.login_pages import staff_login


def _receipt_in(html: str) -> str:
    return re.search(r'data-receipt="(\d{16})"', html).group(1)


async def test_portal_front_page_and_form_in_both_languages(client, tenants):
    home = await (await client.get(f"/t/{tenants.A}/")).get_data(as_text=True)
    assert "泗阳县教育局纪委" in home and "/petition/report" in home
    zh = await (await client.get(f"/t/{tenants.A}/petition/petition")).get_data(as_text=True)
    assert "<script" not in zh and 'name="content"' in zh and "提交" in zh
    en_response = await client.get(f"/t/{tenants.A}/petition/petition?lang=en")
    en = await en_response.get_data(as_text=True)
    assert "Submit" in en and "lang=en" in en_response.headers.get("Set-Cookie", "")


async def test_filing_through_the_page_and_following_it(app, tenants):
    browser = app.test_client()
    page = await browser.post(f"/t/{tenants.A}/petition/petition", form={
        "_anonymous": "1", "title": "网页提交", "content": "网页提交的信访内容", "category": "other"}, scope_base={"client": ("10.7.0.1", 1)})
    assert page.status_code == 201, await page.get_data(as_text=True)
    receipt = _receipt_in(await page.get_data(as_text=True))
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in receipt)  # ３１８９…: typed with a Chinese input method in full-width mode
    status = await browser.post(f"/t/{tenants.A}/track", form={"receipt": full_width}, scope_base={"client": ("10.7.0.1", 1)})
    html = await status.get_data(as_text=True)
    assert status.status_code == 200 and "<h1>网页提交</h1>" in html and 'data-state="registered"' in html
    back = f'<a href="/t/{tenants.A}/">返回网上信访首页</a>'  # a way back in words on every page, not only the brand in the header
    assert back in html and back in await (await browser.get(f"/t/{tenants.A}/track")).get_data(as_text=True)
    assert back in await (await browser.get(f"/t/{tenants.A}/petition/petition")).get_data(as_text=True)
    assert back in await page.get_data(as_text=True)  # the receipt
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    added = await browser.post(f"/t/{tenants.A}/track/supplement", form={"csrf_token": csrf, "text": "补充：收费时间为九月一日"})
    assert added.status_code == 200 and "补充：收费时间为九月一日" in await added.get_data(as_text=True)
    forged = await browser.post(f"/t/{tenants.A}/track/supplement", form={"csrf_token": "forged", "text": "x"})
    assert forged.status_code == 403


async def test_form_errors_come_back_next_to_the_fields_with_values_kept(app, tenants):
    browser = app.test_client()
    page = await browser.post(f"/t/{tenants.A}/petition/petition", form={"_anonymous": "0", "title": "保留的标题"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 422 and "保留的标题" in html and 'role="alert"' in html


async def test_a_wrong_receipt_on_the_page(app, tenants):
    page = await app.test_client().post(f"/t/{tenants.B}/track", form={"receipt": "1111 2222 3333 4444"}, scope_base={"client": ("10.7.0.9", 1)})
    html = await page.get_data(as_text=True)
    assert page.status_code == 404 and "回执号不正确" in html
    assert 'value="1111 2222 3333 4444"' in html  # what was typed stays in the box, to correct one digit, not retype sixteen


async def test_a_refused_supplement_keeps_what_the_citizen_wrote(app, tenants):
    browser, address = app.test_client(), {"client": ("10.7.0.11", 1)}
    page = await browser.post(f"/t/{tenants.A}/petition/petition", form={
        "_anonymous": "1", "title": "补充被退回", "content": "信访内容", "category": "other"}, scope_base=address)
    status = await browser.post(f"/t/{tenants.A}/track", form={"receipt": _receipt_in(await page.get_data(as_text=True))}, scope_base=address)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await status.get_data(as_text=True)).group(1)
    written = "补充：另有三名家长可以作证"
    refused = await browser.post(f"/t/{tenants.A}/track/supplement", form={"csrf_token": csrf, "text": written},
                                 files={"files": FileStorage(io.BytesIO(b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)), "big.pdf", content_type="application/pdf")})
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 422 and "超过 5 MB" in html, html
    assert f">{written}</textarea>" in html  # back in its box, not lost with the refused file
    added = await browser.post(f"/t/{tenants.A}/track/supplement?lang=en", form={"csrf_token": csrf, "text": written})
    assert added.status_code == 200 and f"Text: </em>{written}" in await added.get_data(as_text=True)  # an English colon on the English page


async def test_staff_console_login_inbox_and_action(app, tenants):
    browser = app.test_client()
    assert (await browser.get(f"/t/{tenants.B}/staff/")).status_code == 302  # to the login page
    login = await staff_login(browser, tenants.B, "leader")
    assert login.status_code == 302
    inbox = await browser.get(f"/t/{tenants.B}/staff/")
    html = await inbox.get_data(as_text=True)
    assert inbox.status_code == 200 and "<table" in html
    register = await browser.get(f"/t/{tenants.B}/staff/register")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await register.get_data(as_text=True)).group(1)
    created = await browser.post(f"/t/{tenants.B}/staff/register", form={
        "csrf_token": csrf, "_form": "petition", "_channel": "visit", "_anonymous": "1", "title": "食堂问题", "content": "来访登记：反映食堂问题", "category": "other"})
    assert created.status_code == 201, await created.get_data(as_text=True)
    petition_path = re.search(r'href="(/t/bazhou/staff/petitions/[0-9a-f]{24})"', await created.get_data(as_text=True)).group(1)
    page = await (await browser.get(petition_path)).get_data(as_text=True)
    assert 'data-action="accept"' in page
    without_csrf = await browser.post(petition_path + "/transitions/accept", form={})
    assert without_csrf.status_code == 403
    accepted = await browser.post(petition_path + "/transitions/accept", form={"csrf_token": csrf, "opinion": "受理"})
    assert accepted.status_code == 302
    assert 'data-state="accepted"' in await (await browser.get(petition_path)).get_data(as_text=True)


async def test_pages_answer_errors_as_pages_and_send_strangers_to_the_login(app, tenants):
    browser = app.test_client()
    missing = await browser.get(f"/t/{tenants.A}/petition/no-such-form")
    missing_html = await missing.get_data(as_text=True)
    assert missing.status_code == 404 and "<html" in missing_html
    assert "没有表单" in missing_html and "no form" not in missing_html  # the page's language only, no English line on a Chinese page
    too_big = await browser.post(f"/t/{tenants.A}/petition/petition", form={"title": "附件太多"},
                                 files={"files": FileStorage(io.BytesIO(b"0" * (21 * 1024 * 1024)), "scan.pdf", content_type="application/pdf")})
    too_big_html = await too_big.get_data(as_text=True)
    assert too_big.status_code == 413 and "合计不能超过 20 MB" in too_big_html and "Too Large" not in too_big_html
    too_big_en = await browser.post(f"/t/{tenants.A}/petition/petition?lang=en", form={"title": "附件太多"},
                                    files={"files": FileStorage(io.BytesIO(b"0" * (21 * 1024 * 1024)), "scan.pdf", content_type="application/pdf")})
    too_big_en_html = await too_big_en.get_data(as_text=True)
    assert "What you sent is too large" in too_big_en_html and "at most 20 MB" in too_big_en_html
    admin_page = await browser.get(f"/t/{tenants.A}/admin/forms")
    assert admin_page.status_code == 302 and "/staff/login?next=" in admin_page.headers["Location"]
    api = await browser.get(f"/t/{tenants.A}/api/petitions")
    assert api.status_code == 401 and (await api.get_json())["error"]["code"] == "not_authenticated"


async def test_the_staff_page_shows_answers_with_the_forms_own_titles(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "handler")
    register = await browser.get(f"/t/{tenants.A}/staff/register?form=report")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await register.get_data(as_text=True)).group(1)
    created = await browser.post(f"/t/{tenants.A}/staff/register", form={
        "csrf_token": csrf, "_form": "report", "_channel": "phone", "_anonymous": "1", "content": "来电反映", "category": "integrity",
        "subject.kind": "person", "subject.name": "周九"})
    assert created.status_code == 201, await created.get_data(as_text=True)
    path = re.search(r'href="(/t/siyang-edu/staff/petitions/[0-9a-f]{24})"', await created.get_data(as_text=True)).group(1)
    html = await (await browser.get(path)).get_data(as_text=True)
    assert "被反映人" in html and "周九" in html and "违反廉洁纪律" in html


async def test_stylesheet_and_script_are_served_to_anyone(client):
    css = await client.get("/static/xinfang.css")
    assert css.status_code == 200 and "font" in await css.get_data(as_text=True)
    assert (await client.get("/static/form-admin.js")).status_code == 200
