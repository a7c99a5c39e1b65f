"""Security headers on every kind of response: citizen pages, the public answer page, staff, admin and platform
pages, the API, static files, redirects and error pages; HSTS and Secure cookies only over TLS."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login_token
from tests.login_pages import form_login, staff_login

REQUIRED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


async def check_headers(response, what: str, *, tls: bool = False) -> None:
    headers = response.headers
    for name, value in REQUIRED.items():
        assert headers.get(name) == value, (what, name, headers.get(name))
    policy = directives(headers.get("content-security-policy", ""))
    assert policy.get("script-src") == ["'self'"], (what, policy)  # no inline script, no eval, nothing foreign
    assert policy.get("object-src") == ["'none'"] and policy.get("base-uri") == ["'none'"], (what, policy)
    assert policy.get("frame-ancestors") == ["'none'"], (what, policy)
    assert policy.get("default-src") == ["'self'"], (what, policy)
    assert "'unsafe-inline'" not in policy.get("style-src", []), (what, policy)
    permissions = headers.get("permissions-policy", "")
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in permissions, (what, permissions)
    if tls:
        assert headers.get("strict-transport-security", "").startswith("max-age="), what
        assert int(headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 15552000, what
    else:
        assert "strict-transport-security" not in headers, (what, "HSTS over plain HTTP")
    if "text/html" in headers.get("content-type", ""):
        html = await response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), (what, INLINE_SCRIPT.search(html).group(0))
        assert not INLINE_HANDLER.search(html), (what, INLINE_HANDLER.search(html).group(0))


@pytest.fixture
async def issued_card(client, tenants):
    """An issued white card: its printable document (staff) and its one-time public answer link."""
    handler = await login_token(client, tenants.A, "handler")
    leader = await login_token(client, tenants.A, "leader")
    created = await (await client.post(f"/t/{tenants.A}/api/supervisions", headers=handler, json={
        "kind": "card", "type_key": "white", "subject": {"kind": "person", "name": "郑十一", "unit": "某中学"}})).get_json()
    sid = created["id"]
    await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/submit", headers=handler)
    await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/approve", headers=leader)
    issued = await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/issue", headers=handler)
    assert issued.status_code == 200, await issued.get_data(as_text=True)
    return sid, (await issued.get_json())["answer_link"]


async def test_citizen_pages_and_the_public_answer_page(app, tenants, issued_card):
    citizen = app.test_client()
    where = {"scope_base": {"client": ("10.31.0.1", 1)}}
    for path in (f"/t/{tenants.A}/", f"/t/{tenants.A}/petition/petition", f"/t/{tenants.A}/petition/report?lang=en", f"/t/{tenants.A}/track"):
        response = await citizen.get(path)
        assert response.status_code == 200, path
        await check_headers(response, path)
    filed = await citizen.post(f"/t/{tenants.A}/petition/petition", form={
        "_anonymous": "1", "title": "安全头测试", "content": "安全头测试内容", "category": "other"}, **where)
    assert filed.status_code == 201
    await check_headers(filed, "receipt page")
    receipt = re.search(r'data-receipt="(\d{16})"', await filed.get_data(as_text=True)).group(1)
    status = await citizen.post(f"/t/{tenants.A}/track", form={"receipt": receipt}, **where)
    assert status.status_code == 200
    await check_headers(status, "track status page")
    refused = await citizen.post(f"/t/{tenants.A}/petition/petition", form={"_anonymous": "0"}, **where)
    assert refused.status_code == 422
    await check_headers(refused, "form with errors")

    _, answer_link = issued_card
    answer = await citizen.get(answer_link)
    assert answer.status_code == 200
    await check_headers(answer, "public answer page")


async def test_staff_admin_and_platform_pages(app, tenants, issued_card):
    staff = app.test_client()
    assert (await staff_login(staff, tenants.A, "handler")).status_code == 302
    sid, _ = issued_card
    for path in (f"/t/{tenants.A}/staff/", f"/t/{tenants.A}/staff/register", f"/t/{tenants.A}/staff/supervisions",
                 f"/t/{tenants.A}/staff/supervisions/{sid}", f"/t/{tenants.A}/staff/officials", f"/t/{tenants.A}/staff/supervision-stats", f"/t/{tenants.A}/staff/notifications",
                 f"/t/{tenants.A}/api/supervisions/{sid}/document"):
        response = await staff.get(path)
        assert response.status_code == 200, (path, response.status_code)
        await check_headers(response, path)
    forbidden_page = await staff.get(f"/t/{tenants.A}/admin/forms")  # a handler is no form admin: a 403 page
    assert forbidden_page.status_code == 403 and "<html" in await forbidden_page.get_data(as_text=True)
    await check_headers(forbidden_page, "403 page")

    admin = app.test_client()
    assert (await staff_login(admin, tenants.A, "admin")).status_code == 302
    for path in (f"/t/{tenants.A}/admin/forms", f"/t/{tenants.A}/admin/supervision"):
        response = await admin.get(path)
        assert response.status_code == 200, (path, response.status_code)
        await check_headers(response, path)
    assert "form-admin.js" in await (await admin.get(f"/t/{tenants.A}/admin/forms")).get_data(as_text=True)  # its script is a file

    platform = app.test_client()
    login_page = await platform.get("/platform/login")
    await check_headers(login_page, "platform login page")
    assert (await form_login(platform, "/platform/login", "org-reviewer")).status_code == 302
    reviews = await platform.get("/platform/reviews")
    assert reviews.status_code == 200
    await check_headers(reviews, "platform review page")


async def test_api_static_redirects_and_errors(client, tenants, admin_a):
    handler = await login_token(client, tenants.A, "handler")
    cases = [
        ("/api/tenants", {}, 200), (f"/t/{tenants.A}/api/me", admin_a, 200), ("/openapi.json", {}, 200), ("/healthz?parts=web,store", {}, 200),
        ("/static/xinfang.css", {}, 200), ("/static/form-admin.js", {}, 200), ("/static/print.js", {}, 200),
        ("/static/no-such-file.js", {}, 404), (f"/t/{tenants.A}/petition/no-such-form", {}, 404), ("/no/such/page", {}, 404),
        ("/t/no-such-tenant/", {}, 404), (f"/t/{tenants.A}/api/petitions/0123456789abcdef01234567", admin_a, 403),
        (f"/t/{tenants.A}/api/me", {}, 401), (f"/t/{tenants.A}/api/me", {"Authorization": "Bearer not-a-token"}, 401),
        (f"/t/{tenants.A}/api/accounts", handler, 403), (f"/t/{tenants.A}/staff/", {}, 302),
    ]
    for path, headers, expected in cases:
        response = await client.get(path, headers=headers)
        assert response.status_code == expected, (path, response.status_code)
        await check_headers(response, f"{expected} {path}")
    wrong_method = await client.delete("/api/tenants")
    assert wrong_method.status_code == 405
    await check_headers(wrong_method, "405")
    script = await client.get("/static/print.js")
    assert "javascript" in script.headers["content-type"]  # with nosniff, scripts must say what they are


async def test_hsts_and_secure_cookies_only_over_tls(app, tenants):
    plain, tls = app.test_client(), app.test_client()
    over_http = await plain.get(f"/t/{tenants.A}/staff/login")
    await check_headers(over_http, "login page over http")
    assert "secure" not in over_http.headers["set-cookie"].lower()  # over plain HTTP it would never come back

    over_https = await tls.get(f"/t/{tenants.A}/staff/login", scheme="https")
    await check_headers(over_https, "login page over https", tls=True)
    cookies = over_https.headers.getlist("set-cookie")
    assert cookies and all("; Secure" in c for c in cookies), cookies
    token = re.search(r'name="csrf_token" value="([^"]+)"', await over_https.get_data(as_text=True)).group(1)
    logged_in = await tls.post(f"/t/{tenants.A}/staff/login", scheme="https", form={
        "username": "handler", "password": "test-password-0123", "csrf_token": token})
    assert logged_in.status_code == 302
    await check_headers(logged_in, "login redirect over https", tls=True)
    assert all("; Secure" in c for c in logged_in.headers.getlist("set-cookie"))
    language = await tls.get(f"/t/{tenants.A}/?lang=en", scheme="https")
    assert all("; Secure" in c for c in language.headers.getlist("set-cookie")) and language.headers.getlist("set-cookie")
