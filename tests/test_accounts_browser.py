"""Headless Chromium: a tenant admin creates an account, the new person logs in with the one-time password,
must change it, then works in their inbox; a superuser sets up two-factor at the first login (required, as
shipped) and logs in with a code the next time. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import login_token, serve_in_background
from tests.login_pages import sign_in
from tests.staffing import approve_as_superuser, operator_account


@pytest.fixture(scope="module")
def totp_server(settings, app, worker, tmp_path_factory):
    """A real server with two-factor required for superusers, as in production."""
    yield from serve_in_background(settings, tmp_path_factory.mktemp("totp-web"), XINFANG_SUPERUSER_TOTP_REQUIRED="true")


async def test_new_account_from_the_admin_page_to_the_inbox(totp_server, browser, client, tenants, tmp_path):
    base, slug = totp_server, tenants.A
    username = f"newcomer-{uuid.uuid4().hex[:6]}"
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", "admin")
    await page.wait_for_url(f"**/t/{slug}/admin/studio")
    await page.locator("nav.staff").get_by_text("账号管理").click()
    await page.wait_for_url(f"**/t/{slug}/admin/accounts")
    await page.fill("#display_name", "新来的登记员")
    await page.fill("#username", username)
    await page.locator("form.narrow input[name='roles'][value='registrar']").check()
    await page.get_by_role("button", name="新建账号").click()
    one_time = (await page.locator("#one-time-password").inner_text()).strip()
    assert len(one_time) == 14 and "只显示这一次" in await page.content()
    await page.set_viewport_size({"width": 390, "height": 844})  # on a phone the password is read in one piece, not broken in two
    pieces = await page.evaluate("(() => { const r = document.getElementById('one-time-password').getClientRects(); return [r.length, r[0].right]; })()")
    assert pieces[0] == 1 and pieces[1] <= 390, pieces
    await page.set_viewport_size({"width": 1280, "height": 900})
    assert "须由另一名管理员或平台超级用户批准" in await page.content()  # registrars read identities: a second person
    asked = await page.locator("table.role-requests tr", has_text=username).inner_text()
    assert "新建账号" in asked and "new account" not in asked, asked  # the reason in the page's language only
    await page.screenshot(path=str(tmp_path / "admin-created-account.png"), full_page=True)
    # On a phone: one card an account, not five squeezed columns; a long name with no place to break (an account made
    # by the operator's command has its username as its name) wraps inside its card rather than widening the page.
    await operator_account(slug, f"phonewidth{uuid.uuid4().hex}{uuid.uuid4().hex[:20]}", ["handler"])
    admin_token = await login_token(client, slug, "admin")  # and one waiting for a role that needs a second person
    asked_long = await client.post(f"/t/{slug}/api/accounts", headers=admin_token, json={
        "username": f"phoneask{uuid.uuid4().hex}{uuid.uuid4().hex[:20]}", "display_name": "长用户名", "password": "long-enough-pw",
        "roles": ["registrar"]})
    assert asked_long.status_code == 201 and (await asked_long.get_json())["pending_role_request"], await asked_long.get_data(as_text=True)
    await page.goto(f"{base}/t/{slug}/admin/accounts")
    await page.set_viewport_size({"width": 390, "height": 844})
    assert (await page.locator("#account-handler td.title").bounding_box())["width"] >= 250
    assert await page.locator("table.accounts thead").is_hidden()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(tmp_path / "admin-accounts-phone.png"), full_page=True)

    admin = await login_token(client, slug, "admin")
    pending = (await (await client.get(f"/t/{slug}/api/role-grants?state=pending", headers=admin)).get_json())["role_grants"]
    await approve_as_superuser(client, slug, next(r["id"] for r in pending if r["account_username"] == username))

    newcomer = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await newcomer.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", username, one_time)
    await page.wait_for_url(f"**/t/{slug}/staff/account")
    assert "请先设置您自己的密码" in await page.content()
    assert await page.locator("nav.staff a").count() == 1  # only their own account: no link would open yet
    await page.screenshot(path=str(tmp_path / "must-change-password.png"), full_page=True)
    await page.fill("#current_password", one_time)
    await page.fill("#new_password", "Newcomer-pass-26")
    await page.fill("#repeat_password", "Newcomer-pass-26")
    await page.get_by_role("button", name="修改密码").click()
    await page.wait_for_url(f"**/t/{slug}/staff/")
    nav = page.locator("nav.staff")
    assert await nav.get_by_text("待办").count() == 1 and await nav.get_by_text("新来的登记员").count() == 1
    await page.screenshot(path=str(tmp_path / "newcomer-inbox.png"), full_page=True)
    await desk.close()
    await newcomer.close()


async def test_a_superuser_sets_up_two_factor_and_logs_in_with_a_code(totp_server, browser, app, tmp_path):
    from xinfang.auth.service import do_create_superuser
    from xinfang.auth.totp import code_now

    username = f"su-{uuid.uuid4().hex[:6]}"
    await do_create_superuser(username=username, display_name="组织部审核员", password="Super-pass-2026")
    first = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await first.new_page()
    await sign_in(page, f"{totp_server}/platform/login", username, "Super-pass-2026")
    await page.wait_for_url("**/platform/account")
    assert "须开启两步验证" in await page.content()
    await page.get_by_role("button", name="设置两步验证").click()
    qr = page.locator("img[alt='两步验证二维码']")
    await qr.wait_for()  # the click starts a navigation: wait for the new page rather than count on the old one
    assert await qr.count() == 1 and await qr.evaluate("img => img.naturalWidth > 0")
    secret = (await page.locator("code.totp-secret").inner_text()).replace(" ", "")
    await page.screenshot(path=str(tmp_path / "superuser-totp-setup.png"), full_page=True)
    await page.fill("#code", code_now(secret))
    await page.get_by_role("button", name="开启两步验证").click()
    await page.wait_for_url("**/platform/reviews")
    await first.close()

    again = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await again.new_page()
    await sign_in(page, f"{totp_server}/platform/login", username, "Super-pass-2026")
    await page.wait_for_selector("#code")
    assert await page.locator("input[name='password']").count() == 0
    await page.screenshot(path=str(tmp_path / "superuser-code-step.png"), full_page=True)
    await page.fill("#code", "000000")
    await page.get_by_role("button", name="验证").click()
    await page.get_by_text("验证码不正确").wait_for()  # the refusal is a new page: wait for it rather than read the page in between
    await page.fill("#code", code_now(secret, time.time() + 30))  # the setup used this step's code: the next one
    await page.get_by_role("button", name="验证").click()
    await page.wait_for_url("**/platform/reviews")
    await page.screenshot(path=str(tmp_path / "superuser-signed-in.png"), full_page=True)
    await again.close()
