"""Account verbs beyond creation and roles: a tenant admin's reset, disable, enable and unlock; anyone's own
two-factor (TOTP) set-up and removal; the second factor at login. Every change goes into the audit log first.

Separation of duties (``auth/grants.py``) holds here too: nobody resets, disables or unlocks their own account
through these verbs (their own page changes their password), superusers do not edit a tenant's accounts, and a
tenant admin does not reset another tenant admin's password: knowing a second admin's password would make them
the "second person" of their own grant requests.
"""

from __future__ import annotations

import secrets

from pymongo import ReturnDocument
from quart import current_app, has_app_context

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..store.scoped import TenantScope
from . import totp
from .grants import Grantor, approves_grants
from .lockout import account_query, check_not_locked, clear_failures, note_failure
from .models import PlatformAccount, RoleGrantRequest, StaffAccount
from .service import _audit_account, do_create_staff_account, set_password
from .sessions import revoke_all_for

ONE_TIME_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I: read aloud, typed once
NOT_YOURSELF = {"zh": "不能对自己的账号执行此操作（修改本人密码请到“我的账号”）",
                "en": "not on your own account (change your own password on your account page)"}
NOT_AN_ADMIN = {"zh": "另一名租户管理员的密码须由平台超级用户或运维人员重置（职责分离）",
                "en": "another tenant admin's password is reset by a platform superuser or the operator (separation of duties)"}
NOT_AN_ADMIN_TOTP = {"zh": "另一名租户管理员的两步验证须由平台超级用户或运维人员重置（职责分离）",
                     "en": "another tenant admin's two-factor is reset by a platform superuser or the operator (separation of duties)"}
WRONG_CODE = {"zh": "验证码不正确或已使用，请输入验证器应用中当前显示的 6 位数字",
              "en": "the code is wrong or already used; enter the 6 digits your authenticator app shows now"}
TOTP_REQUIRED = {"zh": "本单位要求两步验证，不能关闭", "en": "two-factor sign-in is required here and cannot be turned off"}


def one_time_password() -> str:
    """An initial or reset password, shown once: three groups of four, e.g. ``Xf7k-9mQp-2rTz``."""
    return "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(3))


def totp_required(superuser: bool, tenant=None) -> bool:
    """Superusers need two-factor (``XINFANG_SUPERUSER_TOTP_REQUIRED``); staff where their tenant says so."""
    if superuser:
        settings = current_app.extensions.get("xinfang.settings") if has_app_context() else None
        return bool(getattr(settings, "superuser_totp_required", True))
    return bool(tenant is not None and getattr(tenant.settings, "require_totp", False))


async def access_staff_account(scope: TenantScope, account_id: str) -> StaffAccount:
    account = await scope.repo(StaffAccount).get(account_id)
    if account is None:
        raise NotFound({"zh": "没有这个账号", "en": "no such account"})
    return account


def _check_actor(grantor: Grantor, account: StaffAccount) -> None:
    if grantor.superuser:
        raise Forbidden()
    if grantor.account_id == str(account.id):
        raise Forbidden(NOT_YOURSELF)


async def do_admin_create_account(scope: TenantScope, *, username: str, display_name: str, roles: list[str], grantor: Grantor,
                                  password: str | None = None, must_change_password: bool | None = None
                                  ) -> tuple[StaffAccount, RoleGrantRequest | None, str | None]:
    """A tenant admin's new account. Without a password, a one-time one is made (returned, shown once) and must
    be changed at the first login; with one, it must be changed only when ``must_change_password`` says so."""
    initial = one_time_password() if password is None else None
    must = initial is not None if must_change_password is None else must_change_password
    account, pending = await do_create_staff_account(scope, username=username, display_name=display_name, roles=roles,
                                                     password=password or initial, grantor=grantor, must_change_password=must)
    return account, pending, initial


async def do_reset_password(scope: TenantScope, account: StaffAccount, grantor: Grantor) -> str:
    """A new one-time password (returned, to be handed over once); it must be changed at the next login. Every
    login of the account ends and a lock is lifted. The account's two-factor stays as it is."""
    _check_actor(grantor, account)
    if not grantor.is_operator and any(approves_grants(r) for r in account.roles):
        raise Forbidden(NOT_AN_ADMIN)
    password = one_time_password()
    await _audit_account(grantor.account_id, grantor.username, "account.password.reset", account,
                         "管理员重置密码（须在下次登录时修改）/ password reset by an admin (must be changed at the next login)")
    await set_password(account, password, must_change=True)
    return password


async def do_reset_totp(scope: TenantScope, account: StaffAccount, grantor: Grantor) -> StaffAccount:
    """Turn someone's two-factor off (a lost phone): they set it up again, at the next login where it is required.
    Never another tenant admin's, for the reason their password is not reset here either."""
    _check_actor(grantor, account)
    if not grantor.is_operator and any(approves_grants(r) for r in account.roles):
        raise Forbidden(NOT_AN_ADMIN_TOTP)
    if account.totp_secret is None and account.totp_pending is None:
        return account
    await _audit_account(grantor.account_id, grantor.username, "account.totp.reset", account,
                         "管理员重置两步验证（如手机丢失）/ two-factor reset by an admin (a lost phone, say)")
    await StaffAccount.get_pymongo_collection().update_one(account_query(account), {"$set": {"totp_secret": None, "totp_pending": None}})
    account.totp_secret = account.totp_pending = None
    await revoke_all_for(account)
    return account


async def do_set_active(scope: TenantScope, account: StaffAccount, active: bool, grantor: Grantor) -> StaffAccount:
    """Disable (every login ends at once) or enable an account of the tenant."""
    _check_actor(grantor, account)
    if account.active == active:
        return account
    action = "account.enabled" if active else "account.disabled"
    purpose = "启用账号 / account enabled" if active else "停用账号 / account disabled"
    await _audit_account(grantor.account_id, grantor.username, action, account, purpose)
    await StaffAccount.get_pymongo_collection().update_one(account_query(account), {"$set": {"active": active}})
    account.active = active
    if not active:
        await revoke_all_for(account)
    return account


async def do_unlock(scope: TenantScope, account: StaffAccount, grantor: Grantor) -> StaffAccount:
    """Lift a lockout before it runs out."""
    _check_actor(grantor, account)
    await _audit_account(grantor.account_id, grantor.username, "account.unlocked", account, "解除登录锁定 / lockout lifted")
    await StaffAccount.get_pymongo_collection().update_one(account_query(account), {"$set": {"locked_until": None, "failed_logins": []}})
    account.locked_until, account.failed_logins = None, []
    return account


# --------------------------------------------------------------------------- two-factor, on one's own account


async def do_begin_totp(account: StaffAccount | PlatformAccount) -> str:
    """A new secret waiting to be confirmed with a code (``do_enable_totp``); returns it."""
    if account.totp_secret is not None:
        raise Conflict({"zh": "两步验证已开启", "en": "two-factor sign-in is already on"})
    secret = totp.new_secret()
    sealed = totp.seal(account, secret)
    await type(account).get_pymongo_collection().update_one(account_query(account), {"$set": {"totp_pending": sealed}})
    account.totp_pending = sealed
    return secret


def pending_secret(account: StaffAccount | PlatformAccount) -> str | None:
    return totp.unseal(account, account.totp_pending) if account.totp_pending else None


async def do_enable_totp(account: StaffAccount | PlatformAccount, code: str) -> None:
    """Turn two-factor on once a code from the secret being set up checks out."""
    secret = pending_secret(account)
    if secret is None:
        raise InvalidInput(fields={"code": {"zh": "请先生成密钥", "en": "start the set-up first"}})
    step = totp.matching_step(secret, code, account.totp_last_step)
    if step is None:
        raise InvalidInput(fields={"code": WRONG_CODE})
    await _audit_account(str(account.id), account.username, "account.totp.enabled", account, "开启两步验证 / two-factor sign-in turned on")
    await type(account).get_pymongo_collection().update_one(
        account_query(account), {"$set": {"totp_secret": account.totp_pending, "totp_pending": None, "totp_last_step": step}})
    account.totp_secret, account.totp_pending, account.totp_last_step = account.totp_pending, None, step


async def do_disable_totp(account: StaffAccount | PlatformAccount, code: str, *, required: bool) -> None:
    """Turn two-factor off (with a current code), unless it is required for this account."""
    if required:
        raise Forbidden(TOTP_REQUIRED)
    if account.totp_secret is None:
        return
    if not await check_second_factor(account, code):
        raise InvalidInput(fields={"code": WRONG_CODE})
    await _audit_account(str(account.id), account.username, "account.totp.disabled", account, "关闭两步验证 / two-factor sign-in turned off")
    await type(account).get_pymongo_collection().update_one(account_query(account), {"$set": {"totp_secret": None, "totp_pending": None}})
    account.totp_secret = None


async def check_second_factor(account: StaffAccount | PlatformAccount, code: str | None) -> bool:
    """Whether ``code`` is a good, unused code of the account's secret; it is used up when it is. A wrong code
    counts as a failed login (``auth/lockout.py``)."""
    if account.totp_secret is None:
        return False
    check_not_locked(account)  # too many wrong codes lock the account like wrong passwords
    step = totp.matching_step(totp.unseal(account, account.totp_secret), code, account.totp_last_step)
    if step is not None:
        claimed = await type(account).get_pymongo_collection().find_one_and_update(
            account_query(account) | {"totp_last_step": {"$lt": step}}, {"$set": {"totp_last_step": step}},
            return_document=ReturnDocument.AFTER, projection={"totp_last_step": 1})
        if claimed is not None:  # two requests with one code: one wins
            account.totp_last_step = step
            await clear_failures(account)
            return True
    await note_failure(account)
    return False
