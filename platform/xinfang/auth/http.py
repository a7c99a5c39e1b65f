"""Auth routes: log in (session or token), log out, revoke a token, who am I, staff accounts of the tenant."""

from __future__ import annotations

from quart import Blueprint, request

from ..errors import InvalidInput, NotAuthenticated, NotFound
from ..http import parse_body
from ..tenancy.resolution import current_tenant
from . import totp
from .access import current_principal, end_session, issue_token as new_token, open_while_restricted, revoke_presented_token, start_session
from .accounts import (WRONG_CODE, access_staff_account, check_second_factor, do_admin_create_account, do_begin_totp, do_disable_totp,
                       do_enable_totp, do_reset_password, do_reset_totp, do_set_active, do_unlock,
                       totp_required)
from .login_guard import require_json_login
from .grants import Grantor
from .models import PlatformAccount, RoleGrantRequest, StaffAccount
from .permissions import Permission, public, requires, superuser_only
from .schemas import ActiveIn, Credentials, NewStaffAccount, PasswordChange, RolesIn, TotpCodeIn
from .service import (authenticate_staff, authenticate_superuser, do_change_password, do_set_staff_roles, guarded_login,
                      load_superuser)

tenant_auth_bp = Blueprint("auth", __name__, url_prefix="/t/<tenant_slug>")
platform_auth_bp = Blueprint("platform_auth", __name__, url_prefix="/api/platform")



WRONG_PASSWORD = {"zh": "当前密码不正确", "en": "the current password is wrong"}
NO_TOKEN = {"zh": "此请求没有携带令牌（Authorization: Bearer ...）", "en": "this request carries no bearer token (Authorization: Bearer ...)"}


CODE_NEEDED = {"zh": "此账号已开启两步验证：请同时提交验证器应用中的 6 位验证码（totp_code）",
               "en": "two-factor sign-in is on for this account: send the authenticator's 6-digit code too (totp_code)"}


async def with_second_factor(account, code: str | None):
    """The password was right; with two-factor on, the code must be too (a wrong one counts as a failed login)."""
    if account is None or account.totp_secret is None:
        return account
    if not code:
        raise NotAuthenticated(CODE_NEEDED, field="totp_code")
    if not await check_second_factor(account, code):
        raise NotAuthenticated(WRONG_CODE, field="totp_code")
    return account


async def _staff_from_credentials() -> StaffAccount:
    require_json_login()
    body = await parse_body(Credentials)
    ctx = current_tenant()

    async def attempt():
        return await with_second_factor(await authenticate_staff(ctx.scope, body.username, body.password), body.totp_code)
    return await guarded_login(ctx.tenant_id, body.username, request.remote_addr, attempt)


async def _superuser_from_credentials() -> PlatformAccount:
    require_json_login()
    body = await parse_body(Credentials)

    async def attempt():
        return await with_second_factor(await authenticate_superuser(body.username, body.password), body.totp_code)
    return await guarded_login("platform", body.username, request.remote_addr, attempt)


async def _log_out() -> dict:
    """Log out whatever this request came with: its bearer token, or the browser's session."""
    if not await revoke_presented_token():
        await end_session()
    return {"ok": True}


async def _change_password(where: str, check_current) -> dict:
    """The current password is checked under the login limits (it is a password guess like any other); then
    the new one is set and every session and token of the account ends, this one included."""
    body = await parse_body(PasswordChange)
    try:
        account = await guarded_login(where, current_principal().username, request.remote_addr, lambda: check_current(body.current_password))
    except NotAuthenticated:
        raise InvalidInput(WRONG_PASSWORD, field="current_password") from None
    return {"ok": True, "ended_logins": await do_change_password(account, body.new_password)}


async def _revoke_token() -> dict:
    if not await revoke_presented_token():
        raise InvalidInput(NO_TOKEN, field="Authorization")
    return {"ok": True}


@tenant_auth_bp.post("/api/session")
@public("logging in is how one stops being anonymous")
async def login(tenant_slug):
    account = await _staff_from_credentials()
    return {"account": account.public_view(), "csrf_token": await start_session(account, second_factor=True)}


@tenant_auth_bp.delete("/api/session")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def logout(tenant_slug):
    """End this session (the cookie is worthless afterwards), or, called with a bearer token, that token."""
    return await _log_out()


@tenant_auth_bp.post("/api/tokens")
@public("API clients exchange a password for a bearer token here")
async def issue_token(tenant_slug):
    account = await _staff_from_credentials()
    return await new_token(account)


@tenant_auth_bp.delete("/api/tokens/current")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def revoke_token(tenant_slug):
    """Revoke the bearer token this request carries: it is refused from now on."""
    return await _revoke_token()


@tenant_auth_bp.get("/api/me")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def me(tenant_slug):
    principal = current_principal()
    account = await current_tenant().scope.repo(StaffAccount).get(principal.account_id)
    return {"account": account.public_view(), "permissions": sorted(principal.permissions)}


@tenant_auth_bp.put("/api/me/password")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def change_password(tenant_slug):
    """Change one's own password; every session and token of the account ends: log in again with the new one."""
    ctx, username = current_tenant(), current_principal().username
    return await _change_password(ctx.tenant_id, lambda current: authenticate_staff(ctx.scope, username, current))


@tenant_auth_bp.get("/api/accounts")
@requires(Permission.ACCOUNTS_READ)
async def list_accounts(tenant_slug):
    accounts = await current_tenant().scope.repo(StaffAccount).find().sort("username").to_list()
    return {"accounts": [a.public_view() for a in accounts]}


@tenant_auth_bp.post("/api/accounts")
@requires(Permission.ACCOUNTS_MANAGE)
async def create_account(tenant_slug):
    """Without a password, a one-time one is made and returned once (``one_time_password``); it must be changed
    at the first login."""
    body = await parse_body(NewStaffAccount)
    account, pending, initial = await do_admin_create_account(current_tenant().scope, grantor=Grantor.of(current_principal()),
                                                              **body.model_dump())
    return _with_pending(account, pending) | ({"one_time_password": initial} if initial else {}), 201


@tenant_auth_bp.get("/api/accounts/<account_id>")
@requires(Permission.ACCOUNTS_READ)
async def show_account(tenant_slug, account_id):
    account = await current_tenant().scope.repo(StaffAccount).get(account_id)
    if account is None:
        raise NotFound()
    return account.public_view()


@tenant_auth_bp.put("/api/accounts/<account_id>/roles")
@requires(Permission.ACCOUNTS_MANAGE)
async def set_roles(tenant_slug, account_id):
    """Revocations and roles one admin may grant take effect now (200); roles that need a second person
    become a pending request (202, in ``pending_role_request``): see README, "Separation of duties"."""
    body = await parse_body(RolesIn)
    account, pending = await do_set_staff_roles(current_tenant().scope, account_id, body.roles, Grantor.of(current_principal()),
                                                reason=body.reason)
    return _with_pending(account, pending), 202 if pending else 200


@tenant_auth_bp.put("/api/accounts/<account_id>/active")
@requires(Permission.ACCOUNTS_MANAGE)
async def set_active(tenant_slug, account_id):
    """Disable (every login of the account ends) or enable an account; never one's own."""
    scope = current_tenant().scope
    account = await access_staff_account(scope, account_id)
    body = await parse_body(ActiveIn)
    return (await do_set_active(scope, account, body.active, Grantor.of(current_principal()))).public_view()


@tenant_auth_bp.post("/api/accounts/<account_id>/password-reset")
@requires(Permission.ACCOUNTS_MANAGE)
async def reset_password(tenant_slug, account_id):
    """A one-time password, returned once; the person must change it at the next login."""
    scope = current_tenant().scope
    account = await access_staff_account(scope, account_id)
    password = await do_reset_password(scope, account, Grantor.of(current_principal()))
    return account.public_view() | {"one_time_password": password}


@tenant_auth_bp.post("/api/accounts/<account_id>/totp-reset")
@requires(Permission.ACCOUNTS_MANAGE)
async def reset_totp(tenant_slug, account_id):
    """Turn someone's two-factor off (a lost phone); they set it up again where it is required. Their logins end."""
    scope = current_tenant().scope
    account = await access_staff_account(scope, account_id)
    return (await do_reset_totp(scope, account, Grantor.of(current_principal()))).public_view()


@tenant_auth_bp.post("/api/accounts/<account_id>/unlock")
@requires(Permission.ACCOUNTS_MANAGE)
async def unlock_account(tenant_slug, account_id):
    """Lift a lockout after repeated failed logins before it runs out."""
    scope = current_tenant().scope
    account = await access_staff_account(scope, account_id)
    return (await do_unlock(scope, account, Grantor.of(current_principal()))).public_view()


async def _my_account() -> StaffAccount | PlatformAccount:
    principal = current_principal()
    if principal.is_superuser:
        return await load_superuser(principal.account_id)
    return await current_tenant().scope.repo(StaffAccount).get(principal.account_id)


async def _begin_totp() -> dict:
    account = await _my_account()
    secret = await do_begin_totp(account)
    return {"secret": secret, "otpauth_uri": totp.provisioning_uri(account, secret)}


async def _enable_totp() -> dict:
    body = await parse_body(TotpCodeIn)
    await do_enable_totp(await _my_account(), body.code)
    return {"ok": True, "totp_enabled": True}


async def _disable_totp(required: bool) -> dict:
    body = await parse_body(TotpCodeIn)
    await do_disable_totp(await _my_account(), body.code, required=required)
    return {"ok": True, "totp_enabled": False}


@tenant_auth_bp.post("/api/me/totp")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def begin_totp(tenant_slug):
    """Start setting up two-factor: a new secret (and its otpauth URI for the authenticator app), on once a code checks out."""
    return await _begin_totp()


@tenant_auth_bp.put("/api/me/totp")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def enable_totp(tenant_slug):
    """Turn two-factor on with a code from the secret just set up."""
    return await _enable_totp()


@tenant_auth_bp.delete("/api/me/totp")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def disable_totp(tenant_slug):
    """Turn two-factor off with a current code (refused where the tenant requires it)."""
    return await _disable_totp(totp_required(False, current_tenant().tenant))


def _with_pending(account: StaffAccount, pending: RoleGrantRequest | None) -> dict:
    return account.public_view() | {"pending_role_request": pending.public_view() if pending else None}


@platform_auth_bp.post("/session")
@public("superusers log in here")
async def platform_login():
    account = await _superuser_from_credentials()
    return {"account": account.public_view(), "csrf_token": await start_session(account, second_factor=True)}


@platform_auth_bp.delete("/session")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_logout():
    return await _log_out()


@platform_auth_bp.post("/tokens")
@public("superuser API clients exchange a password for a bearer token here")
async def platform_token():
    account = await _superuser_from_credentials()
    return await new_token(account)


@platform_auth_bp.delete("/tokens/current")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_revoke_token():
    return await _revoke_token()


@platform_auth_bp.put("/me/password")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_change_password():
    """A superuser changes their own password; every session and token of theirs ends."""
    username = current_principal().username
    return await _change_password("platform", lambda current: authenticate_superuser(username, current))


@platform_auth_bp.post("/me/totp")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_begin_totp():
    return await _begin_totp()


@platform_auth_bp.put("/me/totp")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_enable_totp():
    return await _enable_totp()


@platform_auth_bp.delete("/me/totp")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_disable_totp():
    return await _disable_totp(totp_required(True))


@platform_auth_bp.get("/me")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_me():
    return {"username": current_principal().username, "superuser": True}
