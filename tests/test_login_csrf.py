"""Login CSRF: another site cannot log a visitor's browser in; and a login's ``next`` never leads off the site
(nor to a 500)."""

from __future__ import annotations

import pytest

from xinfang.auth.login_guard import safe_next
from tests.conftest import PASSWORD
from tests.login_pages import TOKEN, form_login

STAFF_PREFIXES = ("/t/siyang-edu/staff/", "/t/siyang-edu/admin/")


async def _token(browser, path: str) -> str:
    return TOKEN.search(await (await browser.get(path)).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("login_path, home", [("/t/siyang-edu/staff/login", "/t/siyang-edu/staff/"), ("/platform/login", "/platform/reviews")])
async def test_a_login_form_post_without_the_pages_token_is_refused(app, login_path, home):
    username = "handler" if "staff" in login_path else "org-reviewer"
    credentials = {"username": username, "password": PASSWORD}
    # A cross-site form: the attacker's page has no token, and the browser sends no cookie of ours.
    blind = app.test_client()
    refused = await blind.post(login_path, form=credentials)
    assert refused.status_code == 403 and "请求来源不可信" in await refused.get_data(as_text=True)
    assert (await blind.get(home)).status_code == 302  # not logged in

    # The visitor had opened our login page before (so a token cookie exists): still refused without the token,
    # and with a wrong one, and with the right one when the browser says the post came from another site.
    visitor = app.test_client()
    token = await _token(visitor, login_path)
    assert (await visitor.post(login_path, form=credentials)).status_code == 403
    assert (await visitor.post(login_path, form=credentials | {"csrf_token": token + "x"})).status_code == 403
    for header in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}):
        assert (await visitor.post(login_path, form=credentials | {"csrf_token": token}, headers=header)).status_code == 403, header
    assert (await visitor.get(home)).status_code == 302

    # Our own page's post: its token, same-origin fetch metadata, Origin "null" (what no-referrer makes browsers send).
    ours = await visitor.post(login_path, form=credentials | {"csrf_token": token},
                              headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"})
    assert ours.status_code == 302 and ours.headers["Location"] == home
    assert (await visitor.get(home)).status_code == 200


async def test_the_refused_page_hands_out_a_working_token(app, tenants):
    browser = app.test_client()
    refused = await browser.post(f"/t/{tenants.A}/staff/login", form={"username": "handler", "password": PASSWORD})
    token = TOKEN.search(await refused.get_data(as_text=True)).group(1)
    again = await browser.post(f"/t/{tenants.A}/staff/login", form={"username": "handler", "password": PASSWORD, "csrf_token": token})
    assert again.status_code == 302


async def test_the_json_login_api_takes_json_only(app, tenants):
    api = app.test_client()
    credentials = {"username": "handler", "password": PASSWORD}
    as_form = await api.post(f"/t/{tenants.A}/api/session", form=credentials)
    assert as_form.status_code == 415 and (await as_form.get_json())["error"]["message"]["en"]
    as_text = await api.post(f"/t/{tenants.A}/api/tokens", data='{"username": "handler", "password": "%s"}' % PASSWORD,
                             headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    assert (await api.post("/api/platform/session", form={"username": "org-reviewer", "password": PASSWORD})).status_code == 415
    assert (await api.get(f"/t/{tenants.A}/api/me")).status_code == 401
    as_json = await api.post(f"/t/{tenants.A}/api/tokens", json=credentials)  # what API clients send: unaffected
    assert as_json.status_code == 200
    with_charset = await api.post(f"/t/{tenants.A}/api/session", data='{"username": "handler", "password": "%s"}' % PASSWORD,
                                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert with_charset.status_code == 200


@pytest.mark.parametrize("target", [
    "/t/siyang-edu/staff/\r\nSet-Cookie: x=1", "/t/siyang-edu/staff/\nx", "//evil.example/t/siyang-edu/staff/",
    "https://evil.example/t/siyang-edu/staff/", "/\\evil.example", "/t/siyang-edu/staff/\\..\\..\\x", "javascript:alert(1)",
    "/t/siyang-edu/staff/../../../platform/reviews", "/t/siyang-edu/staff/%2e%2e/%2e%2e/x", "/t/bazhou/staff/",
    "http:/t/siyang-edu/staff/", " /t/siyang-edu/staff/", "/t/siyang-edu/staff/\x00", "/t/siyang-edu/staffing", "",
])
async def test_a_bad_next_goes_home_instead_of_away_or_to_a_500(app, tenants, target):
    browser = app.test_client()
    response = await form_login(browser, f"/t/{tenants.A}/staff/login", "handler", next=target)
    assert response.status_code == 302, await response.get_data(as_text=True)
    assert response.headers["Location"] == "/t/siyang-edu/staff/"


async def test_a_good_next_is_followed_and_kept_ascii(app, tenants):
    browser = app.test_client()
    response = await form_login(browser, f"/t/{tenants.A}/staff/login", "handler", next="/t/siyang-edu/staff/search?q=食堂 收费")
    assert response.headers["Location"] == "/t/siyang-edu/staff/search?q=%E9%A3%9F%E5%A0%82%20%E6%94%B6%E8%B4%B9"
    admin = await form_login(app.test_client(), f"/t/{tenants.A}/staff/login", "admin", next="/t/siyang-edu/admin/forms?key=report")
    assert admin.headers["Location"] == "/t/siyang-edu/admin/forms?key=report"
    superuser = await form_login(app.test_client(), "/platform/login", "org-reviewer", next="https://evil.example/platform/")
    assert superuser.headers["Location"] == "/platform/reviews"
    crlf = await form_login(app.test_client(), "/platform/login", "org-reviewer", next="/platform/reviews\r\nLocation: //evil")
    assert crlf.status_code == 302 and crlf.headers["Location"] == "/platform/reviews"


async def test_the_login_page_itself_survives_a_hostile_next(app, tenants):
    page = await app.test_client().get(f"/t/{tenants.A}/staff/login?next=%0D%0ASet-Cookie:%20x%3D1%22%3E%3Cscript%3E")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>" not in html
    assert not any("x=1" in cookie for cookie in page.headers.getlist("Set-Cookie"))


def test_safe_next_in_isolation():
    assert safe_next("/t/siyang-edu/staff/petitions/abc?x=1#t", STAFF_PREFIXES) == "/t/siyang-edu/staff/petitions/abc?x=1#t"
    for bad in (None, "", "//x", "/\\x", "/t/siyang-edu/staff/\r", "https://x/t/siyang-edu/staff/", "/t/siyang-edu/staff//x",
                "/t/siyang-edu/staff/./x", "/t/siyang-edu/%2F/staff/", "/t/siyang-edu/staff/" + "a" * 3000, "/platform/reviews"):
        assert safe_next(bad, STAFF_PREFIXES) is None, bad
