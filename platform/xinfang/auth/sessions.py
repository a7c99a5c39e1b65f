"""Live logins, kept in the store: a browser session or a bearer token is good only while its record is.

The signed cookie and the signed JWT still say who the caller is, but they are no longer enough on their
own: each carries an opaque random id (the session id, the token's ``jti``) that must name a live record
here. Logging out deletes the record, so a copied cookie or token replayed afterwards is refused; changing
an account's password or roles deletes all of its records at once (``revoke_all_for``).

Every authenticated request costs one ``find_one`` on the unique ``key`` index. Records expire with the
login (``exp``, checked on every lookup); MongoDB's TTL index on ``expire_at`` and the sweeper delete them.

Only a SHA-256 of the id is stored: someone reading the store cannot rebuild a cookie or token from it
(they would also need the signing key, but one safeguard should not lean on the other).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime
from typing import Literal

from pymongo import ASCENDING, IndexModel, ReturnDocument

from ..store.documents import PlatformDocument, UtcDateTime
from .models import PlatformAccount, StaffAccount

Kind = Literal["session", "token"]
PLATFORM_REALM = "platform"  # the realm of superusers; staff logins carry their tenant's id


class LiveLogin(PlatformDocument):
    key: str  # SHA-256 of the opaque id the client holds
    kind: str  # "session" (browser cookie) or "token" (API bearer)
    realm: str  # the tenant id, or "platform"
    account_id: str
    epoch: int  # the account's auth_epoch when its password was checked
    pending: bool = False  # the password checked, the two-factor code not yet (auth/access.py): not a login yet
    exp: float  # epoch seconds: numbers compare the same on every store
    expire_at: UtcDateTime  # the same moment, for MongoDB's TTL index

    class Settings:
        name = "live_logins"
        indexes = [
            IndexModel([("key", ASCENDING)], unique=True),
            IndexModel([("realm", ASCENDING), ("account_id", ASCENDING)]),
            IndexModel([("expire_at", ASCENDING)], expireAfterSeconds=0),
        ]


def _key(opaque: str) -> str:
    return hashlib.sha256(opaque.encode("utf-8", "surrogatepass")).hexdigest()


def login_key(opaque: str) -> str:
    """What the store keeps of a login's opaque id: other areas name a login by it (single sign-on's provider sessions)."""
    return _key(opaque)


def realm_of(account: StaffAccount | PlatformAccount) -> str:
    return str(account.tenant_id) if isinstance(account, StaffAccount) else PLATFORM_REALM


async def open_login(kind: Kind, account: StaffAccount | PlatformAccount, ttl_seconds: int, *, pending: bool = False) -> str:
    """Record a new login of ``account``; returns the opaque id to hand to the client (cookie or jti)."""
    opaque = secrets.token_urlsafe(32)
    exp = time.time() + ttl_seconds
    await LiveLogin.get_pymongo_collection().insert_one({
        "key": _key(opaque), "kind": kind, "realm": realm_of(account), "account_id": str(account.id),
        "epoch": account.auth_epoch, "pending": pending, "exp": exp, "expire_at": datetime.fromtimestamp(exp, UTC), "created_at": datetime.now(UTC),
    })
    return opaque


async def live_login(kind: Kind, opaque: str, realm: str, account_id: str) -> dict | None:
    """The live record behind ``opaque``, if it is one of this kind, for this account, and not expired."""
    if not isinstance(opaque, str) or not opaque:
        return None
    doc = await LiveLogin.get_pymongo_collection().find_one({"key": _key(opaque)})
    if doc is None or doc.get("kind") != kind or doc.get("realm") != realm or doc.get("account_id") != account_id:
        return None
    return doc if doc.get("exp", 0) > time.time() else None


def still_current(login: dict, account: StaffAccount | PlatformAccount) -> bool:
    """False once the account's password or roles changed after this login checked its password.

    ``revoke_all_for`` deletes the records too; this closes the gap of a login whose password check
    ran just before the change and whose record was written just after it.
    """
    return login.get("epoch") == account.auth_epoch


async def close_login(opaque: str) -> None:
    if isinstance(opaque, str) and opaque:
        await LiveLogin.get_pymongo_collection().delete_one({"key": _key(opaque)})


async def revoke_all_for(account: StaffAccount | PlatformAccount) -> int:
    """End every session and token of ``account`` (its password or roles changed); returns how many.

    Call it after the account itself was saved: the epoch is raised in place in the store (and on
    ``account``), so a later save of this same object keeps it.
    """
    query = {"_id": account.id}
    if isinstance(account, StaffAccount):
        query["tenant_id"] = {"$eq": account.tenant_id}
    raised = await type(account).get_pymongo_collection().find_one_and_update(
        query, {"$inc": {"auth_epoch": 1}}, return_document=ReturnDocument.AFTER, projection={"auth_epoch": 1})
    if raised is not None:
        account.auth_epoch = raised["auth_epoch"]
    result = await LiveLogin.get_pymongo_collection().delete_many({"realm": realm_of(account), "account_id": str(account.id)})
    return result.deleted_count


async def forget_expired(now: float | None = None) -> int:
    """Delete expired records (on stores without a working TTL index; harmless where it has one)."""
    result = await LiveLogin.get_pymongo_collection().delete_many({"exp": {"$lt": time.time() if now is None else now}})
    return result.deleted_count
