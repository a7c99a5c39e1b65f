"""Logging out means it: a session cookie or bearer token used after logout, revocation, expiry or a change
of the account's roles (or password) is refused, however well signed it is."""

from __future__ import annotations

import re
import time
import uuid

from tests.conftest import PASSWORD, login_token
from tests.login_pages import form_login, staff_login
from tests.staffing import operator_account, tenant_scope

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cookie_of(response) -> str:
    """The cookies a response set, as a Cookie header a copier would replay."""
    return "; ".join(header.split(";", 1)[0] for header in response.headers.getlist("Set-Cookie"))


async def test_an_api_session_cookie_replayed_after_logout_is_refused(app, tenants):
    browser = app.test_client()
    login = await browser.post(f"/t/{tenants.A}/api/session", json={"username": "handler", "password": PASSWORD})
    assert login.status_code == 200
    stolen, csrf = cookie_of(login), (await login.get_json())["csrf_token"]
    replayer = app.app.test_client(use_cookies=False)
    assert (await replayer.get(f"/t/{tenants.A}/api/me", headers={"Cookie": stolen})).status_code == 200  # a live copy works...

    assert (await browser.delete(f"/t/{tenants.A}/api/session", headers={"X-CSRF-Token": csrf})).status_code == 200
    # ...and once logged out, the copy reads nothing and writes nothing.
    assert (await replayer.get(f"/t/{tenants.A}/api/me", headers={"Cookie": stolen})).status_code == 401
    write = await replayer.post(f"/t/{tenants.A}/api/petitions", headers={"Cookie": stolen, "X-CSRF-Token": csrf}, json={
        "form": "petition", "channel": "letter", "anonymous": True, "answers": {"title": "重放", "content": "重放的会话", "category": "other"}})
    assert write.status_code == 401


async def test_a_console_cookie_replayed_after_logout_goes_to_the_login_page(app, tenants):
    browser = app.test_client()
    login = await staff_login(browser, tenants.A, "handler")
    assert login.status_code == 302
    stolen = cookie_of(login)
    inbox = await browser.get(f"/t/{tenants.A}/staff/")
    assert inbox.status_code == 200
    logout = await browser.post(f"/t/{tenants.A}/staff/logout", form={"csrf_token": CSRF.search(await inbox.get_data(as_text=True)).group(1)})
    assert logout.status_code == 302
    replayed = await app.app.test_client(use_cookies=False).get(f"/t/{tenants.A}/staff/", headers={"Cookie": stolen})
    assert replayed.status_code == 302 and "/staff/login" in replayed.headers["Location"]


async def test_a_platform_session_replayed_after_logout_is_refused(app):
    browser = app.test_client()
    login = await form_login(browser, "/platform/login", "org-reviewer")
    assert login.status_code == 302
    stolen = cookie_of(login)
    assert (await browser.get("/platform/reviews")).status_code == 200
    api = app.test_client()
    api_login = await api.post("/api/platform/session", json={"username": "org-reviewer", "password": PASSWORD})
    api_cookie, csrf = cookie_of(api_login), (await api_login.get_json())["csrf_token"]
    assert (await api.delete("/api/platform/session", headers={"X-CSRF-Token": csrf})).status_code == 200
    replayer = app.app.test_client(use_cookies=False)
    assert (await replayer.get("/api/platform/me", headers={"Cookie": api_cookie})).status_code == 401
    assert (await replayer.get("/platform/reviews", headers={"Cookie": stolen})).status_code == 200  # the other session lives on


async def test_a_revoked_token_is_refused_and_logout_with_a_token_revokes_it(client, tenants):
    first = await login_token(client, tenants.A, "handler")
    second = await login_token(client, tenants.A, "handler")
    assert (await client.delete(f"/t/{tenants.A}/api/tokens/current", headers=first)).status_code == 200
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=first)).status_code == 401
    assert (await client.delete(f"/t/{tenants.A}/api/tokens/current", headers=first)).status_code == 401
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=second)).status_code == 200  # only that token ends
    assert (await client.delete(f"/t/{tenants.A}/api/session", headers=second)).status_code == 200
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=second)).status_code == 401

    superuser = await login_token(client, None, "org-reviewer")
    assert (await client.delete("/api/platform/tokens/current", headers=superuser)).status_code == 200
    assert (await client.get("/api/platform/me", headers=superuser)).status_code == 401


async def test_revoking_the_current_token_needs_a_token(app, tenants):
    browser = app.test_client()
    login = await browser.post(f"/t/{tenants.A}/api/session", json={"username": "handler", "password": PASSWORD})
    csrf = (await login.get_json())["csrf_token"]
    refused = await browser.delete(f"/t/{tenants.A}/api/tokens/current", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422 and "Authorization" in (await refused.get_json())["error"]["fields"]
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 200  # and the session is untouched


async def test_a_signed_cookie_without_a_live_session_is_worth_nothing(app, client, tenants):
    token = await login_token(client, tenants.A, "handler")
    me = (await (await client.get(f"/t/{tenants.A}/api/me", headers=token)).get_json())["account"]
    signer = app.app.session_interface.get_signing_serializer(app.app)
    forged = [
        {"xf": {"aid": me["id"], "tid": me["tenant_id"], "csrf": "x", "iat": int(time.time())}},  # the old format
        {"xf": {"sid": "made-up", "aid": me["id"], "tid": me["tenant_id"], "csrf": "x", "iat": int(time.time())}},
        {"xf": {"sid": ["not", "a", "string"], "aid": {"$ne": None}, "tid": me["tenant_id"], "csrf": "x"}},
    ]
    replayer = app.app.test_client(use_cookies=False)
    for content in forged:
        cookie = f"xinfang_session={signer.dumps(content)}"
        assert (await replayer.get(f"/t/{tenants.A}/api/me", headers={"Cookie": cookie})).status_code == 401, content


async def test_an_expired_login_is_refused_even_before_the_store_deletes_it(app, client, tenants):
    from xinfang.auth.sessions import LiveLogin

    browser = app.test_client()
    login = await browser.post(f"/t/{tenants.A}/api/session", json={"username": "registrar", "password": PASSWORD})
    token = await login_token(client, tenants.A, "registrar")
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 200
    me = (await (await client.get(f"/t/{tenants.A}/api/me", headers=token)).get_json())["account"]
    await LiveLogin.get_pymongo_collection().update_many({"account_id": me["id"]}, {"$set": {"exp": time.time() - 1}})
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 401
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=token)).status_code == 401
    assert login.status_code == 200


async def test_a_role_change_ends_the_accounts_sessions_and_tokens(app, client, tenants, admin_a):
    username = f"roles-{uuid.uuid4().hex[:8]}"
    account_id = await operator_account(tenants.A, username, ["registrar", "handler"])
    old_token = await login_token(client, tenants.A, username, "long-enough-pw")
    browser = app.test_client()
    assert (await browser.post(f"/t/{tenants.A}/api/session", json={"username": username, "password": "long-enough-pw"})).status_code == 200
    before = await (await client.get(f"/t/{tenants.A}/api/me", headers=old_token)).get_json()
    assert "archives.read" in before["permissions"]  # a handler's

    changed = await client.put(f"/t/{tenants.A}/api/accounts/{account_id}/roles", headers=admin_a, json={"roles": ["registrar"]})
    assert changed.status_code == 200, await changed.get_data(as_text=True)
    # Neither the old token nor the old session carries the old role any more: they are over.
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=old_token)).status_code == 401
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 401
    new_token = await login_token(client, tenants.A, username, "long-enough-pw")
    after = await (await client.get(f"/t/{tenants.A}/api/me", headers=new_token)).get_json()
    assert after["account"]["roles"] == ["registrar"] and "archives.read" not in after["permissions"]


async def test_revoking_all_of_an_account_covers_a_login_racing_the_change(app, client, tenants):
    """A login whose password was checked just before a password or role change, and recorded just after it,
    is refused too: the record carries the account's epoch as it was when the password was checked."""
    from xinfang.auth.access import issue_token
    from xinfang.auth.models import StaffAccount
    from xinfang.auth.sessions import revoke_all_for

    username = f"race-{uuid.uuid4().hex[:8]}"
    await operator_account(tenants.A, username, ["registrar"])
    scope = await tenant_scope(tenants.A)
    checked_before = await scope.repo(StaffAccount).find_one({"username": username})  # as the password check saw it
    current = await scope.repo(StaffAccount).find_one({"username": username})
    assert await revoke_all_for(current) == 0 and current.auth_epoch == checked_before.auth_epoch + 1
    async with app.app.test_request_context("/"):
        late = await issue_token(checked_before)  # the login's record, written after the change
    assert (await client.get(f"/t/{tenants.A}/api/me", headers={"Authorization": f"Bearer {late['access_token']}"})).status_code == 401
    fresh = await login_token(client, tenants.A, username, "long-enough-pw")
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=fresh)).status_code == 200


async def test_a_superusers_logins_end_when_their_credentials_change(app, client):
    """The same for platform accounts (a password change calls revoke_all_for as a role change does)."""
    from xinfang.auth.models import PlatformAccount
    from xinfang.auth.service import do_create_superuser
    from xinfang.auth.sessions import revoke_all_for

    username = f"su-{uuid.uuid4().hex[:8]}"
    account = await do_create_superuser(username=username, display_name="会话测试", password="long-enough-pw")
    token = await login_token(client, None, username, "long-enough-pw")
    browser = app.test_client()
    assert (await browser.post("/api/platform/session", json={"username": username, "password": "long-enough-pw"})).status_code == 200
    assert (await browser.get("/api/platform/me")).status_code == 200
    assert await revoke_all_for(await PlatformAccount.get(account.id)) == 2
    assert (await client.get("/api/platform/me", headers=token)).status_code == 401
    assert (await browser.get("/api/platform/me")).status_code == 401


async def test_changing_ones_password_ends_every_login_of_the_account(app, client, tenants):
    username = f"pw-{uuid.uuid4().hex[:8]}"
    await operator_account(tenants.A, username, ["registrar"])
    token = await login_token(client, tenants.A, username, "long-enough-pw")
    browser = app.test_client()
    login = await browser.post(f"/t/{tenants.A}/api/session", json={"username": username, "password": "long-enough-pw"})
    csrf = (await login.get_json())["csrf_token"]
    path = f"/t/{tenants.A}/api/me/password"

    wrong = await client.put(path, headers=token, json={"current_password": "not-my-password", "new_password": "a-new-long-password"})
    assert wrong.status_code == 422 and "current_password" in (await wrong.get_json())["error"]["fields"]
    weak = await client.put(path, headers=token, json={"current_password": "long-enough-pw", "new_password": "short"})
    assert weak.status_code == 422 and "password" in (await weak.get_json())["error"]["fields"]
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=token)).status_code == 200  # nothing changed yet

    changed = await browser.put(path, headers={"X-CSRF-Token": csrf}, json={"current_password": "long-enough-pw", "new_password": "a-new-long-password"})
    assert changed.status_code == 200 and (await changed.get_json())["ended_logins"] == 2
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 401  # this session too
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=token)).status_code == 401
    assert (await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": "long-enough-pw"})).status_code == 401
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=await login_token(client, tenants.A, username, "a-new-long-password"))).status_code == 200


async def test_a_superuser_changing_their_password_ends_their_logins(client):
    from xinfang.auth.service import do_create_superuser

    username = f"su-pw-{uuid.uuid4().hex[:8]}"
    await do_create_superuser(username=username, display_name="改密测试", password="long-enough-pw")
    token = await login_token(client, None, username, "long-enough-pw")
    other = await login_token(client, None, username, "long-enough-pw")
    changed = await client.put("/api/platform/me/password", headers=token, json={"current_password": "long-enough-pw", "new_password": "another-long-pw"})
    assert changed.status_code == 200, await changed.get_data(as_text=True)
    assert (await client.get("/api/platform/me", headers=token)).status_code == 401
    assert (await client.get("/api/platform/me", headers=other)).status_code == 401
    assert (await client.get("/api/platform/me", headers=await login_token(client, None, username, "another-long-pw"))).status_code == 200


async def test_guessing_the_current_password_counts_like_a_login(client, tenants):
    from xinfang.auth.service import FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS

    username = f"pw-guess-{uuid.uuid4().hex[:8]}"
    await operator_account(tenants.A, username, ["registrar"])
    token = await login_token(client, tenants.A, username, "long-enough-pw")
    where = {"scope_base": {"client": ("10.44.0.1", 1)}}
    for i in range(FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS):
        guess = await client.put(f"/t/{tenants.A}/api/me/password", headers=token, json={"current_password": f"guess-{i}", "new_password": "x" * 12}, **where)
        assert guess.status_code == 422
    limited = await client.put(f"/t/{tenants.A}/api/me/password", headers=token, json={"current_password": "long-enough-pw", "new_password": "x" * 12}, **where)
    assert limited.status_code == 429
