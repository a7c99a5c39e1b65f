"""Accounts: one's own password and two-factor, forced change of a one-time password, the tenant admin's
account administration (create, disable/enable, roles, reset, unlock), lockout, and the audit log of it all."""

from __future__ import annotations

import dataclasses
import re
import uuid

import pytest

from tests.conftest import PASSWORD, login_token
from tests.login_pages import staff_login
from tests.staffing import approve_as_superuser, operator_account

# Checked by tests/test_isolation.py like its own cases (path after /t/<slug>; "{id}" another tenant's account).
ISOLATION_CASES = {
    "auth.set_active": dict(method="PUT", path="/api/accounts/{id}/active", kind="object", body={"active": True}),
    "auth.reset_password": dict(method="POST", path="/api/accounts/{id}/password-reset", kind="object"),
    "auth.unlock_account": dict(method="POST", path="/api/accounts/{id}/unlock", kind="object"),
    "auth.begin_totp": dict(method="POST", path="/api/me/totp", kind="collection"),
    "auth.enable_totp": dict(method="PUT", path="/api/me/totp", kind="collection", body={"code": "000000"}, expect=(422,)),
    "auth.disable_totp": dict(method="DELETE", path="/api/me/totp", kind="collection", body={"code": "000000"}),
    "account_pages.staff_account_page": dict(method="GET", path="/staff/account", kind="collection"),
    "account_pages.staff_password_submit": dict(method="POST", path="/staff/account/password", kind="collection", form=True, expect=(422,)),
    "account_pages.staff_totp_submit": dict(method="POST", path="/staff/account/totp", kind="collection", form=True, expect=(422,)),
    "account_pages.staff_login_code": dict(method="POST", path="/staff/login/code", kind="public"),
    "account_pages.accounts_admin_page": dict(method="GET", path="/admin/accounts", kind="collection"),
    "account_pages.create_account_submit": dict(method="POST", path="/admin/accounts", kind="collection", form=True, expect=(422,)),
    "account_pages.set_active_submit": dict(method="POST", path="/admin/accounts/{id}/active", kind="object", form=True),
    "account_pages.set_roles_submit": dict(method="POST", path="/admin/accounts/{id}/roles", kind="object", form=True),
    "account_pages.reset_password_submit": dict(method="POST", path="/admin/accounts/{id}/password-reset", kind="object", form=True),
    "auth.reset_totp": dict(method="POST", path="/api/accounts/{id}/totp-reset", kind="object"),
    "account_pages.reset_totp_submit": dict(method="POST", path="/admin/accounts/{id}/totp-reset", kind="object", form=True),
    "account_pages.unlock_submit": dict(method="POST", path="/admin/accounts/{id}/unlock", kind="object", form=True),
    "account_pages.approve_grant_submit": dict(method="POST", path="/admin/accounts/role-grants/{id}/approve", kind="object", form=True,
                                               owner_object="role_grant"),
    "account_pages.reject_grant_submit": dict(method="POST", path="/admin/accounts/role-grants/{id}/reject", kind="object", form=True,
                                              owner_object="role_grant"),
}

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def audit_actions(account_id: str) -> list[str]:
    from xinfang.audit.models import AuditRecord

    return [r.action for r in await AuditRecord.find({"subject": account_id}).sort("seq").to_list()]


@pytest.fixture
def app_settings(app):
    """Change the running app's settings for one test (two-factor required, the default lockout)."""
    extensions = app.app.extensions
    original = extensions["xinfang.settings"]

    def change(**values):
        extensions["xinfang.settings"] = dataclasses.replace(original, **values)
    yield change
    extensions["xinfang.settings"] = original


async def test_one_time_password_must_be_changed_before_anything_else(client, tenants, admin_a):
    username = new_name("fresh")
    created = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a,
                                json={"username": username, "display_name": "新同事", "roles": ["registrar"]})
    assert created.status_code == 201, await created.get_data(as_text=True)
    body = await created.get_json()
    one_time, account_id = body["one_time_password"], body["id"]
    await approve_as_superuser(client, tenants.A, body["pending_role_request"]["id"])  # every role needs a second person
    assert body["must_change_password"] is True and len(one_time) == 14
    token = await login_token(client, tenants.A, username, one_time)
    me = await client.get(f"/t/{tenants.A}/api/me", headers=token)
    assert me.status_code == 200 and (await me.get_json())["account"]["must_change_password"] is True, await me.get_data(as_text=True)
    blocked = await client.get(f"/t/{tenants.A}/api/petitions", headers=token)
    error = (await blocked.get_json())["error"]
    assert blocked.status_code == 403 and error["code"] == "password_change_required" and "修改" in error["message"]["zh"]
    weak = await client.put(f"/t/{tenants.A}/api/me/password", headers=token, json={"current_password": one_time, "new_password": "abcdefghijkl"})
    assert weak.status_code == 422 and "两类" in (await weak.get_json())["error"]["fields"]["password"]["zh"]
    changed = await client.put(f"/t/{tenants.A}/api/me/password", headers=token, json={"current_password": one_time, "new_password": "My-own-pass-2026"})
    assert changed.status_code == 200
    token = await login_token(client, tenants.A, username, "My-own-pass-2026")
    assert (await client.get(f"/t/{tenants.A}/api/petitions", headers=token)).status_code == 200
    assert (await audit_actions(account_id))[:1] == ["account.created"] and "account.password.changed" in await audit_actions(account_id)


async def test_the_login_page_leads_to_the_account_page_until_the_password_is_changed(app, client, tenants, admin_a):
    username = new_name("page-fresh")
    created = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a,
                                json={"username": username, "display_name": "页面新同事", "roles": ["handler"]})
    one_time = (await created.get_json())["one_time_password"]
    await approve_as_superuser(client, tenants.A, (await created.get_json())["pending_role_request"]["id"])
    browser = app.test_client()
    login = await staff_login(browser, tenants.A, username, one_time)
    assert login.status_code == 302
    inbox = await browser.get(f"/t/{tenants.A}/staff/")
    assert inbox.status_code == 302 and inbox.headers["Location"].endswith(f"/t/{tenants.A}/staff/account")
    page = await browser.get(f"/t/{tenants.A}/staff/account")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "请先设置您自己的密码" in html and "账号管理" not in html
    csrf = TOKEN.search(html).group(1)
    differ = await browser.post(f"/t/{tenants.A}/staff/account/password", form={
        "csrf_token": csrf, "current_password": one_time, "new_password": "Page-pass-2026", "repeat_password": "Page-pass-2027"})
    assert differ.status_code == 422 and "不一致" in await differ.get_data(as_text=True)
    done = await browser.post(f"/t/{tenants.A}/staff/account/password", form={
        "csrf_token": csrf, "current_password": one_time, "new_password": "Page-pass-2026", "repeat_password": "Page-pass-2026"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/t/{tenants.A}/staff/")
    assert (await browser.get(f"/t/{tenants.A}/staff/")).status_code == 200  # signed in again, free to work


async def test_admin_disables_enables_resets_and_separation_of_duties_holds(client, tenants, admin_a):
    me = await (await client.get(f"/t/{tenants.A}/api/me", headers=admin_a)).get_json()
    username, second_admin = new_name("managed"), new_name("second-admin")
    await operator_account(tenants.A, username, ["registrar"])
    await operator_account(tenants.A, second_admin, ["tenant_admin"])
    accounts = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=admin_a)).get_json())["accounts"]
    target = next(a for a in accounts if a["username"] == username)
    other_admin = next(a for a in accounts if a["username"] == second_admin)
    token = await login_token(client, tenants.A, username, "long-enough-pw")

    disabled = await client.put(f"/t/{tenants.A}/api/accounts/{target['id']}/active", headers=admin_a, json={"active": False})
    assert disabled.status_code == 200 and (await disabled.get_json())["active"] is False
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=token)).status_code == 401  # its logins ended
    refused = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": "long-enough-pw"})
    assert refused.status_code == 401
    assert (await client.put(f"/t/{tenants.A}/api/accounts/{target['id']}/active", headers=admin_a, json={"active": True})).status_code == 200

    reset = await client.post(f"/t/{tenants.A}/api/accounts/{target['id']}/password-reset", headers=admin_a)
    one_time = (await reset.get_json())["one_time_password"]
    assert reset.status_code == 200 and (await reset.get_json())["must_change_password"] is True
    assert (await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": "long-enough-pw"})).status_code == 401
    fresh = await login_token(client, tenants.A, username, one_time)
    assert (await (await client.get(f"/t/{tenants.A}/api/petitions", headers=fresh)).get_json())["error"]["code"] == "password_change_required"

    # Nobody on their own account; no tenant admin resets another admin's password (they would be the second person).
    own = await client.put(f"/t/{tenants.A}/api/accounts/{me['account']['id']}/active", headers=admin_a, json={"active": False})
    assert own.status_code == 403
    admin_reset = await client.post(f"/t/{tenants.A}/api/accounts/{other_admin['id']}/password-reset", headers=admin_a)
    assert admin_reset.status_code == 403 and "职责分离" in (await admin_reset.get_json())["error"]["message"]["zh"]
    assert await audit_actions(target["id"]) == ["account.created", "account.roles.granted", "account.disabled", "account.enabled",
                                                 "account.password.reset"]


async def test_lockout_after_five_failures_with_a_clear_message_and_unlock(client, tenants, admin_a, app_settings):
    app_settings(login_lockout_failures=5, login_lockout_minutes=15)
    username = new_name("locked")
    await operator_account(tenants.A, username, ["registrar"])
    statuses = []
    for i in range(5):  # each from its own address: the lockout counts the account, wherever the guesses come from
        wrong = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": f"guess-{i}-xx"},
                                  scope_base={"client": (f"10.55.0.{i + 1}", 1)})
        statuses.append(wrong.status_code)
    assert statuses == [401] * 5 and "锁定" in (await wrong.get_json())["error"]["message"]["zh"]
    right = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": "long-enough-pw"},
                              scope_base={"client": ("10.55.1.1", 1)})
    error = (await right.get_json())["error"]
    assert right.status_code == 429 and error["code"] == "account_locked" and "分钟后再试" in error["message"]["zh"]
    assert int(right.headers["Retry-After"]) > 800
    listed = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=admin_a)).get_json())["accounts"]
    account = next(a for a in listed if a["username"] == username)
    assert account["locked_until"]
    assert (await client.post(f"/t/{tenants.A}/api/accounts/{account['id']}/unlock", headers=admin_a)).status_code == 200
    again = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": username, "password": "long-enough-pw"},
                              scope_base={"client": ("10.55.1.2", 1)})
    assert again.status_code == 200
    assert "account.locked" in await audit_actions(account["id"]) and "account.unlocked" in await audit_actions(account["id"])


async def test_superusers_must_set_up_two_factor_then_log_in_with_a_code(client, app_settings):
    from xinfang.auth.models import PlatformAccount
    from xinfang.auth.service import do_create_superuser
    from xinfang.auth.totp import code_now

    app_settings(superuser_totp_required=True)
    username = new_name("su-totp")
    account = await do_create_superuser(username=username, display_name="两步验证测试", password="long-enough-pw")
    token = await login_token(client, None, username, "long-enough-pw")
    blocked = await client.get("/api/platform/reviews", headers=token)
    assert blocked.status_code == 403 and (await blocked.get_json())["error"]["code"] == "totp_setup_required"
    assert (await client.get("/api/platform/me", headers=token)).status_code == 200
    begun = await (await client.post("/api/platform/me/totp", headers=token)).get_json()
    assert begun["otpauth_uri"].startswith("otpauth://totp/") and begun["secret"] in begun["otpauth_uri"]
    stored = await PlatformAccount.get(account.id)
    assert begun["secret"] not in (stored.totp_pending or "")  # sealed, not stored as it is
    assert (await client.put("/api/platform/me/totp", headers=token, json={"code": "123456"})).status_code == 422
    code = code_now(begun["secret"])
    assert (await client.put("/api/platform/me/totp", headers=token, json={"code": code})).status_code == 200
    assert (await client.get("/api/platform/reviews", headers=token)).status_code == 200
    # From now on a login needs the code, a code is good once, and required two-factor cannot be turned off.
    without = await client.post("/api/platform/tokens", json={"username": username, "password": "long-enough-pw"})
    assert without.status_code == 401 and "totp_code" in (await without.get_json())["error"]["fields"]
    reused = await client.post("/api/platform/tokens", json={"username": username, "password": "long-enough-pw", "totp_code": code})
    assert reused.status_code == 401
    stored = await PlatformAccount.get(account.id)
    stored.totp_last_step -= 1  # as if the previous step had been the last used: the current code is good once
    await PlatformAccount.get_pymongo_collection().update_one({"_id": stored.id}, {"$set": {"totp_last_step": stored.totp_last_step}})
    fresh = await client.post("/api/platform/tokens", json={"username": username, "password": "long-enough-pw", "totp_code": code_now(begun["secret"])})
    assert fresh.status_code == 200, await fresh.get_data(as_text=True)
    off = await client.open("/api/platform/me/totp", method="DELETE", headers=token, json={"code": "000000"})
    assert off.status_code == 403
    assert "account.totp.enabled" in await audit_actions(str(account.id))


async def test_the_login_page_asks_for_the_code_after_the_password(app, tenants):
    from xinfang.auth.models import StaffAccount
    from xinfang.auth.accounts import do_begin_totp, do_enable_totp
    from xinfang.auth.totp import code_now
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant

    username = new_name("staff-totp")
    await operator_account(tenants.A, username, ["registrar"])
    tenant = await Tenant.find_one({"slug": tenants.A})
    account = await TenantScope(str(tenant.id)).repo(StaffAccount).find_one({"username": username})
    async with app.app.app_context():
        secret = await do_begin_totp(account)
        await do_enable_totp(account, code_now(secret, now=__import__("time").time() - 30))
    browser = app.test_client()
    login = await staff_login(browser, tenants.A, username, "long-enough-pw")
    assert login.status_code == 302
    # Not signed in yet: every page sends to the login page, which now asks for the code.
    inbox = await browser.get(f"/t/{tenants.A}/staff/")
    assert inbox.status_code == 302 and "/staff/login" in inbox.headers["Location"]
    page = await browser.get(inbox.headers["Location"])
    html = await page.get_data(as_text=True)
    assert "验证码" in html and 'name="password"' not in html
    csrf = TOKEN.search(html).group(1)
    wrong = await browser.post(f"/t/{tenants.A}/staff/login/code", form={"csrf_token": csrf, "code": "000000", "next": f"/t/{tenants.A}/staff/"})
    assert wrong.status_code == 401 and "验证码不正确" in await wrong.get_data(as_text=True)
    csrf = TOKEN.search(await wrong.get_data(as_text=True)).group(1)
    right = await browser.post(f"/t/{tenants.A}/staff/login/code", form={"csrf_token": csrf, "code": code_now(secret), "next": f"/t/{tenants.A}/staff/"})
    assert right.status_code == 302 and right.headers["Location"].endswith(f"/t/{tenants.A}/staff/")
    assert (await browser.get(f"/t/{tenants.A}/staff/")).status_code == 200


async def test_admin_page_creates_an_account_and_shows_its_password_once(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "admin", PASSWORD)
    page = await browser.get(f"/t/{tenants.A}/admin/accounts")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "新建账号" in html and "账号管理" in html
    csrf = TOKEN.search(html).group(1)
    username = new_name("via-page")
    created = await browser.post(f"/t/{tenants.A}/admin/accounts", form={"csrf_token": csrf, "username": username, "display_name": "页面建的",
                                                                         "roles": "registrar"})
    text = await created.get_data(as_text=True)
    assert created.status_code == 201 and "只显示这一次" in text
    one_time = re.search(r'id="one-time-password">([^<]+)<', text).group(1)
    assert one_time not in await (await browser.get(f"/t/{tenants.A}/admin/accounts")).get_data(as_text=True)
    bad = await browser.post(f"/t/{tenants.A}/admin/accounts", form={"csrf_token": csrf, "username": "含中文", "display_name": "x"})
    assert bad.status_code == 422 and "英文字母" in await bad.get_data(as_text=True)
    # a taken username: said once above, and under the username field, with what was typed kept
    taken = await browser.post(f"/t/{tenants.A}/admin/accounts", form={"csrf_token": csrf, "username": username, "display_name": "重名的"})
    text = await taken.get_data(as_text=True)
    assert taken.status_code == 409 and f"用户名 {username} 已存在（" not in text  # not the message twice over
    assert re.search(r'<p class="xf-error" id="username-error">用户名 \S+ 已存在</p>', text) and 'value="重名的"' in text
    other = app.test_client()
    assert (await staff_login(other, tenants.A, username, one_time)).status_code == 302


async def test_nav_links_the_own_account_page(app, tenants):
    browser = app.test_client()
    await staff_login(browser, tenants.A, "handler", PASSWORD)
    html = await (await browser.get(f"/t/{tenants.A}/staff/")).get_data(as_text=True)
    assert f'href="/t/{tenants.A}/staff/account"' in html and "账号管理" not in html


async def test_a_second_admin_approves_a_role_request_on_the_accounts_page(app, client, tenants, admin_b):
    second = new_name("second-b")
    await operator_account(tenants.B, second, ["tenant_admin"], "long-enough-pw")
    username = new_name("waiting")
    created = await client.post(f"/t/{tenants.B}/api/accounts", headers=admin_b, json={"username": username, "display_name": "待批准",
                                                                                        "roles": ["handler"]})
    request_id = (await created.get_json())["pending_role_request"]["id"]
    asker = app.test_client()
    await staff_login(asker, tenants.B, "admin", PASSWORD)
    html = await (await asker.get(f"/t/{tenants.B}/admin/accounts")).get_data(as_text=True)
    assert "待批准：承办人" in html and f"role-grants/{request_id}/approve" not in html  # not the one who asked
    browser = app.test_client()
    await staff_login(browser, tenants.B, second, "long-enough-pw")
    page = await browser.get(f"/t/{tenants.B}/admin/accounts")
    html = await page.get_data(as_text=True)
    assert f"role-grants/{request_id}/approve" in html
    approved = await browser.post(f"/t/{tenants.B}/admin/accounts/role-grants/{request_id}/approve",
                                  form={"csrf_token": TOKEN.search(html).group(1)})
    assert approved.status_code == 200 and "已批准" in await approved.get_data(as_text=True)
    listed = (await (await client.get(f"/t/{tenants.B}/api/accounts", headers=admin_b)).get_json())["accounts"]
    assert next(a for a in listed if a["username"] == username)["roles"] == ["handler"]


async def test_a_tenant_that_requires_two_factor_sends_its_staff_to_set_it_up(app, client, tenants):
    from xinfang.auth.totp import code_now
    from xinfang.tenancy.models import Tenant
    from tests.conftest import eventually

    slug = tenants.CHILD_OF_B
    username = new_name("korla-2fa")
    await operator_account(slug, username, ["registrar"])
    collection = Tenant.get_pymongo_collection()
    await collection.update_one({"slug": slug}, {"$set": {"settings.require_totp": True}})
    try:
        token = await login_token(client, slug, username, "long-enough-pw")

        async def blocked():
            answer = await client.get(f"/t/{slug}/api/petitions", headers=token)
            return answer.status_code == 403 and (await answer.get_json())["error"]["code"] == "totp_setup_required"
        await eventually(blocked, timeout=10, message="the tenant setting to be read")  # the tenant directory caches for 5 s
        secret = (await (await client.post(f"/t/{slug}/api/me/totp", headers=token)).get_json())["secret"]
        assert (await client.put(f"/t/{slug}/api/me/totp", headers=token, json={"code": code_now(secret)})).status_code == 200
        assert (await client.get(f"/t/{slug}/api/petitions", headers=token)).status_code == 200
        refused = await client.open(f"/t/{slug}/api/me/totp", method="DELETE", headers=token, json={"code": code_now(secret)})
        assert refused.status_code == 403 and "不能关闭" in (await refused.get_json())["error"]["message"]["zh"]
        me = await (await client.get(f"/t/{slug}/api/me", headers=token)).get_json()
    finally:
        await collection.update_one({"slug": slug}, {"$unset": {"settings.require_totp": ""}})
    # A lost phone: the admin (who, under the setting, would have to set up two-factor first) resets it; the
    # person's logins end and two-factor is off until they set it up again.
    admin = await login_token(client, slug, "admin")

    async def reset():
        answer = await client.post(f"/t/{slug}/api/accounts/{me['account']['id']}/totp-reset", headers=admin)
        return answer if answer.status_code == 200 else None
    answer = await eventually(reset, timeout=10, message="the tenant setting to be gone")
    assert (await answer.get_json())["totp_enabled"] is False
    assert (await client.get(f"/t/{slug}/api/me", headers=token)).status_code == 401
    again = await client.post(f"/t/{slug}/api/tokens", json={"username": username, "password": "long-enough-pw"})
    assert again.status_code == 200  # no code asked for any more
    assert "account.totp.reset" in await audit_actions(me["account"]["id"])


async def test_unread_notifications_badge_shows_only_when_there_are_some(app, tenants):
    """``unread_notifications`` comes from the notifications plugin when it provides it; the nav works without it."""
    from quart import g, render_template_string

    from xinfang.auth.principal import Principal
    from xinfang.auth.permissions import permissions_of
    from xinfang.tenancy.context import TenantContext
    from xinfang.tenancy.models import Tenant

    tenant = await Tenant.find_one({"slug": tenants.A})
    async with app.app.test_request_context(f"/t/{tenants.A}/staff/"):
        g.tenant_ctx = TenantContext.of(tenant)
        g.principal = Principal("0" * 24, "probe", str(tenant.id), permissions_of(["handler"]), "session", frozenset({"handler"}), "探针")
        nav = '{% include "staff/_nav.html" %}'
        without = await render_template_string(nav, tenant=tenant)
        assert "提醒" in without and 'class="badge"' not in without
        assert 'class="badge"' not in await render_template_string(nav, tenant=tenant, unread_notifications=lambda: 0)
        shown = await render_template_string(nav, tenant=tenant, unread_notifications=lambda: 3)
        assert re.search(r'提醒 <span class="badge"[^>]*>3</span>', shown), shown


async def test_the_superusers_nav_links_their_account_page(app):
    from tests.login_pages import form_login

    browser = app.test_client()
    assert (await form_login(browser, "/platform/login", "org-reviewer", PASSWORD)).status_code == 302
    html = await (await browser.get("/platform/reviews")).get_data(as_text=True)
    assert 'href="/platform/account"' in html
    page = await browser.get("/platform/account")
    assert page.status_code == 200 and "两步验证" in await page.get_data(as_text=True)


async def test_wrong_two_factor_codes_lock_the_account_too(app, client, tenants, app_settings):
    from xinfang.auth.totp import code_now

    app_settings(login_lockout_failures=5)
    username = new_name("code-guesser")
    await operator_account(tenants.A, username, ["registrar"])
    token = await login_token(client, tenants.A, username, "long-enough-pw")
    secret = (await (await client.post(f"/t/{tenants.A}/api/me/totp", headers=token)).get_json())["secret"]
    assert (await client.put(f"/t/{tenants.A}/api/me/totp", headers=token, json={"code": code_now(secret)})).status_code == 200
    credentials = {"username": username, "password": "long-enough-pw"}
    for i in range(5):
        wrong = await client.post(f"/t/{tenants.A}/api/tokens", json=credentials | {"totp_code": f"{i:06d}"},
                                  scope_base={"client": (f"10.56.0.{i + 1}", 1)})
        assert wrong.status_code == 401 and "totp_code" in (await wrong.get_json())["error"]["fields"]
    right = await client.post(f"/t/{tenants.A}/api/tokens", json=credentials | {"totp_code": code_now(secret, __import__("time").time() + 30)},
                              scope_base={"client": ("10.56.1.1", 1)})
    assert right.status_code == 429 and (await right.get_json())["error"]["code"] == "account_locked"
