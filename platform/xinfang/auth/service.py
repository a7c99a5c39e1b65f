"""Account verbs: the only code that creates or changes accounts."""

from __future__ import annotations

import asyncio

from beanie import PydanticObjectId
from quart import current_app, has_app_context
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, Forbidden, InvalidInput, Message, NotAuthenticated, NotFound
from ..plugins import maybe_await
from ..ratelimit import give_back, hit
from ..events import DomainEvent, unit_of_work
from ..store.scoped import TenantScope, parse_object_id
from ..audit.service import do_append_audit
from .grants import Grantor, parse_roles, plan_role_change
from .lockout import check_not_locked, clear_failures, note_failure
from .models import PlatformAccount, RoleGrantRequest, StaffAccount
from .passwords import hash_password, verify_password
from .role_grants import do_change_roles
from .sessions import revoke_all_for

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = {"password123", "1234567890", "qwertyuiop", "admin12345", "abc1234567", "a123456789", "password1234",
                    "1qaz2wsx3edc", "qwerty123456", "woaini1314", "iloveyou123"}
PASSWORD_RULE = {
    "zh": f"密码至少 {MIN_PASSWORD_LENGTH} 个字符，须包含小写字母、大写字母、数字、符号中的至少两类，且不能包含用户名或是常见密码",
    "en": f"a password needs at least {MIN_PASSWORD_LENGTH} characters and two of: lower-case letters, capitals, digits, symbols; "
          "it may not contain the username or be a common password",
}
# The reason a new account's roles carry (stored as written, so older requests match); pages say it in their language.
NEW_ACCOUNT_REASON = "new account / 新建账号"
NEW_ACCOUNT_WORDS = {"zh": "新建账号", "en": "new account"}


def password_problem(password: str, username: str = "") -> dict | None:
    """Why ``password`` is too weak (the rule, zh/en), or None."""
    password = password or ""
    classes = sum(any(test(ch) for ch in password) for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum()))
    if (len(password) < MIN_PASSWORD_LENGTH or classes < 2 or password.lower() in COMMON_PASSWORDS
            or (len(username) >= 3 and username.lower() in password.lower())):
        return PASSWORD_RULE
    return None


def _check_password(password: str, username: str = "", field: str = "password") -> None:
    problem = password_problem(password, username)
    if problem:
        raise InvalidInput(fields={field: problem})


async def _audit_account(actor_id: str, actor_username: str, action: str, account, purpose: str, **query) -> None:
    """Every change of an account goes into the audit chain (before it is answered)."""
    tenant_ids = [account.tenant_id] if isinstance(account, StaffAccount) else []
    await do_append_audit(actor_id=actor_id, actor_username=actor_username, action=action, purpose=purpose[:500],
                          subject=str(account.id), query={"account": account.username, **query}, tenant_ids=tenant_ids)


async def do_create_staff_account(
    scope: TenantScope, *, username: str, display_name: str, roles: list[str], password: str, grantor: Grantor,
    must_change_password: bool = False,
) -> tuple[StaffAccount, RoleGrantRequest | None]:
    """A new account; its roles are granted under the rule of ``auth/grants.py`` (those that need a second
    person become a pending request, returned with it). Nothing is written when the rule refuses.
    ``must_change_password``: a one-time initial password, changed at the first login."""
    _check_password(password, username)
    wanted = parse_roles(roles)
    account = StaffAccount(
        id=PydanticObjectId(),
        tenant_id=scope.tenant_id,
        username=username,
        display_name=display_name,
        roles=[],
        password_hash=hash_password(password),
        must_change_password=must_change_password,
    )
    plan_role_change(grantor, str(account.id), [], wanted)  # refuse before the account exists
    if await scope.repo(StaffAccount).find_one({"username": username}):
        raise Conflict({"zh": f"用户名 {username} 已存在", "en": f"username {username} already exists"}, field="username")
    await _audit_account(grantor.account_id, grantor.username, "account.created", account,
                         f"新建账号 / account created ({grantor.path.value})", display_name=display_name,
                         must_change_password=must_change_password)
    try:
        async with unit_of_work() as uow:
            await scope.repo(StaffAccount).insert(account, session=uow.session)
            uow.record(DomainEvent("account.created", scope.tenant_id, str(account.id), {"actor_id": grantor.account_id}))
    except DuplicateKeyError:
        raise Conflict(
            {"zh": f"用户名 {username} 已存在", "en": f"username {username} already exists"},
            field="username",
        ) from None
    return await do_change_roles(scope, account, [r.value for r in wanted], grantor, reason=NEW_ACCOUNT_REASON)


async def do_set_staff_roles(scope: TenantScope, account_id, roles: list[str], grantor: Grantor,
                             reason: str = "") -> tuple[StaffAccount, RoleGrantRequest | None]:
    """Change an account's roles under the rule of ``auth/grants.py``; returns the pending request, if any."""
    account = await scope.repo(StaffAccount).get(account_id)
    if account is None:
        raise NotFound()
    return await do_change_roles(scope, account, roles, grantor, reason=reason)


async def do_change_password(account: StaffAccount | PlatformAccount, new_password: str) -> int:
    """Give ``account`` a new password of its owner's choosing (whoever calls has checked the current one); then
    every session and token of the account ends, the one that asked included. Returns how many ended."""
    _check_password(new_password, account.username)
    if await verify_password(account.password_hash, new_password):
        raise InvalidInput(fields={"password": {"zh": "新密码不能与当前密码相同", "en": "the new password must differ from the current one"}})
    await _audit_account(str(account.id), account.username, "account.password.changed", account, "本人修改密码 / own password changed")
    return await set_password(account, new_password, must_change=False)


async def set_password(account: StaffAccount | PlatformAccount, new_password: str, *, must_change: bool) -> int:
    """Store a new password hash (and whether it must be changed at the next login); end every login of the account."""
    new_hash = await asyncio.to_thread(hash_password, new_password)  # argon2: off the event loop
    query = {"_id": account.id}
    tenant_id = account.tenant_id if isinstance(account, StaffAccount) else None
    if tenant_id is not None:
        query["tenant_id"] = {"$eq": tenant_id}
    async with unit_of_work() as uow:
        # Only these fields are set: a role change saved meanwhile is not overwritten.
        await type(account).get_pymongo_collection().update_one(
            query, {"$set": {"password_hash": new_hash, "must_change_password": must_change, "failed_logins": [], "locked_until": None}},
            session=uow.session)
        uow.record(DomainEvent("account.password_changed", tenant_id, str(account.id), {}))
    account.password_hash, account.must_change_password, account.locked_until = new_hash, must_change, None
    return await revoke_all_for(account)


async def do_create_superuser(*, username: str, display_name: str, password: str, must_change_password: bool = False) -> PlatformAccount:
    _check_password(password, username)
    account = PlatformAccount(username=username, display_name=display_name, password_hash=hash_password(password),
                              must_change_password=must_change_password)
    try:
        async with unit_of_work() as uow:
            await account.insert(session=uow.session)
            uow.record(DomainEvent("superuser.created", None, str(account.id), {}))
    except DuplicateKeyError:
        raise Conflict({"zh": f"用户名 {username} 已存在", "en": f"username {username} already exists"}, field="username") from None
    return account


# Failed logins allowed per window, counted in three buckets at once. The pair limit keeps one guesser
# from locking out the account's owner at another address; the account limit is what rotating source
# addresses run into; the address limit stops one address spraying a password over many accounts.
FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS = 10
FAILED_LOGINS_PER_ACCOUNT = 30
FAILED_LOGINS_PER_ADDRESS = 50
LOGIN_WINDOW_SECONDS = 600
BAD_LOGIN_MESSAGE = {"zh": "用户名或密码错误", "en": "wrong username or password"}
LOCKED_NOW = {"zh": "用户名或密码错误；连续失败次数过多，该账号已被锁定，请稍后再试或请单位管理员解锁",
              "en": "wrong username or password; too many failures: the account is now locked, try later or ask your admin"}


def login_buckets(where: str, username: str, address: str | None) -> list[tuple[str, int]]:
    address = address or "unknown"
    return [
        (f"login:{where}:{username}:{address}", FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS),
        (f"login-account:{where}:{username}", FAILED_LOGINS_PER_ACCOUNT),
        (f"login-address:{address}", FAILED_LOGINS_PER_ADDRESS),
    ]


async def guarded_login(where: str, username: str, address: str | None, attempt):
    """Run ``attempt()`` (the password check) only if this attempt fits every login limit.

    The attempt is counted atomically *before* the password is looked at, in every bucket
    (``ratelimit.hit``): past a limit the answer is 429 and the password is never checked, so no
    number of concurrent tries gets more than the limit checked. A right password gives its
    attempt back; a wrong one keeps it.
    """
    taken = []
    for bucket, limit in login_buckets(where, username, address):
        taken.append(await hit(bucket, limit=limit, window_seconds=LOGIN_WINDOW_SECONDS))
    account = await attempt()
    if account is None:
        raise NotAuthenticated(BAD_LOGIN_MESSAGE)
    for counted in taken:
        await give_back(counted)
    return account


async def _authenticate(account: StaffAccount | PlatformAccount | None, password: str) -> StaffAccount | PlatformAccount | None:
    """The password check with the lockout (``auth/lockout.py``): a locked account is refused before its password
    is looked at; a wrong password counts a failure (the one that locks the account says so)."""
    if account is not None:
        check_not_locked(account)
    ok = await verify_password(account.password_hash if account else None, password)
    if ok:
        if account.totp_secret is None:  # with two-factor on, failures are forgotten once the code is right too
            await clear_failures(account)
        return account
    if account is not None and await note_failure(account):
        raise NotAuthenticated(LOCKED_NOW)
    return None


async def password_login_refusal(tenant_id: str) -> Message | None:
    """Why this tenant's staff may not sign in with a password (a plugin says: single sign-on only), or None."""
    pm = current_app.extensions.get("xinfang.pm") if has_app_context() else None
    for answer in pm.hook.xinfang_password_login_refused(tenant_id=tenant_id) if pm is not None else ():
        message = await maybe_await(answer)
        if message:
            return message
    return None


async def authenticate_staff(scope: TenantScope, username: str, password: str) -> StaffAccount | None:
    refusal = await password_login_refusal(scope.tenant_id)
    if refusal:
        raise Forbidden(refusal)
    return await _authenticate(await scope.repo(StaffAccount).find_one({"username": username, "active": True}), password)


async def authenticate_superuser(username: str, password: str) -> PlatformAccount | None:
    return await _authenticate(await PlatformAccount.find_one({"username": username, "active": True}), password)


async def load_staff(scope: TenantScope, account_id) -> StaffAccount | None:
    account = await scope.repo(StaffAccount).get(account_id)
    return account if account and account.active else None


async def load_superuser(account_id) -> PlatformAccount | None:
    oid = parse_object_id(account_id)
    return await PlatformAccount.find_one({"_id": oid, "active": True}) if oid else None
