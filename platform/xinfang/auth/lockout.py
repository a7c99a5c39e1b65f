"""Account lockout: after too many failed logins of one account, it is locked for a while.

This sits *inside* the login limits of ``auth/service.guarded_login`` (``ratelimit.py``): those count attempts
per account and address, per account and per address before any password is looked at, and hold for names
that do not exist. The lockout counts only failures of an existing account (wrong password, wrong two-factor
code) and is kept on the account itself, so its owner and the tenant admin see it (the account's page, the
admin's account list) and an admin can lift it (``auth/accounts.do_unlock``). Defaults: 5 failures in 15
minutes lock for 15 minutes (``XINFANG_LOGIN_LOCKOUT_FAILURES`` / ``_MINUTES``). Locking is recorded in the
audit log; a locked account is refused before its password is checked.
"""

from __future__ import annotations

import math
import time

from pymongo import ReturnDocument
from quart import current_app, has_app_context

from ..audit.service import do_append_audit
from ..errors import DomainError
from ..store.portable import portable_filter
from .models import PlatformAccount, StaffAccount

DEFAULT_FAILURES, DEFAULT_MINUTES = 5, 15


class AccountLocked(DomainError):
    status = 429
    code = "account_locked"

    def __init__(self, until: float):
        self.retry_after = max(1, int(until - time.time()) + 1)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__({"zh": f"该账号因连续多次登录失败已被锁定，请 {minutes} 分钟后再试，或请单位管理员解锁",
                          "en": f"this account is locked after repeated failed logins; try again in {minutes} min or ask your admin to unlock it"})


def policy() -> tuple[int, int]:
    """(failures, seconds): how many failures within how long lock the account, and for how long."""
    settings = current_app.extensions.get("xinfang.settings") if has_app_context() else None
    failures = getattr(settings, "login_lockout_failures", DEFAULT_FAILURES) or DEFAULT_FAILURES
    minutes = getattr(settings, "login_lockout_minutes", DEFAULT_MINUTES) or DEFAULT_MINUTES
    return max(1, failures), max(1, minutes) * 60


def account_query(account: StaffAccount | PlatformAccount) -> dict:
    query = {"_id": account.id}
    if isinstance(account, StaffAccount):
        query["tenant_id"] = {"$eq": account.tenant_id}
    return query


def check_not_locked(account: StaffAccount | PlatformAccount, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if account.locked_until and account.locked_until > now:
        raise AccountLocked(account.locked_until)


async def note_failure(account: StaffAccount | PlatformAccount, now: float | None = None) -> bool:
    """Count one failed login of ``account``; True when it locked the account (recorded in the audit log)."""
    now = time.time() if now is None else now
    failures, seconds = policy()
    collection = type(account).get_pymongo_collection()
    doc = await collection.find_one_and_update(account_query(account), {"$push": {"failed_logins": now}},
                                               return_document=ReturnDocument.AFTER, projection={"failed_logins": 1})
    recent = [t for t in (doc or {}).get("failed_logins", []) if t > now - seconds]
    await collection.update_one(account_query(account), {"$set": {"failed_logins": recent[-failures:]}})
    if len(recent) < failures:
        return False
    until = now + seconds
    locked = await collection.update_one(
        portable_filter(account_query(account) | {"$or": [{"locked_until": None}, {"locked_until": {"$lt": now}}]}),
        {"$set": {"locked_until": until, "failed_logins": []}})
    if locked.modified_count:  # the one request that locked it records it; concurrent failures do not repeat it
        account.locked_until = until
        await do_append_audit(
            actor_id=str(account.id), actor_username=account.username, action="account.locked",
            purpose=f"连续 {failures} 次登录失败，账号锁定 {seconds // 60} 分钟 / locked after {failures} failed logins", subject=str(account.id),
            query={"account": account.username, "until": until}, tenant_ids=[account.tenant_id] if isinstance(account, StaffAccount) else [])
    return True


async def clear_failures(account: StaffAccount | PlatformAccount) -> None:
    """A good login forgets the failures before it."""
    if account.failed_logins:
        await type(account).get_pymongo_collection().update_one(account_query(account), {"$set": {"failed_logins": []}})
        account.failed_logins = []
