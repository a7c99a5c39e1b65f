"""Base document classes. Tenant data refuses to be read without a tenant filter.

Beanie routes every read through ``find_one`` / ``find_many`` (``get``,
``find``, ``find_all``, ``count`` and ``aggregate`` included), so guarding those
two makes an unscoped query on tenant data impossible by construction. The
only way around the guard is ``cross_tenant_reads()``, which the audited
superuser service (``xinfang.store.crosstenant``) opens and nothing else does.
"""

from __future__ import annotations

import contextlib
import hashlib
import contextvars
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from beanie import Document
from bson import ObjectId
from pydantic import AfterValidator, Field, StringConstraints


# References between documents are stored as the 24-hex string of the target's _id,
# not as ObjectId: the embedded store cannot match ObjectId equality on any field but
# _id (it falls back to a full scan that finds nothing), while strings are indexed and
# matched alike on both stores. Primary keys (_id) stay ObjectIds.
ID_PATTERN = r"^[0-9a-f]{24}$"
IdRef = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def is_id_ref(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 24 and all(c in "0123456789abcdef" for c in value)


class UnscopedQueryError(RuntimeError):
    """A query on tenant data did not say which tenant it is for."""


class CrossTenantWriteError(RuntimeError):
    """A write tried to put a document into a tenant other than the scope's."""


_cross_tenant_reason: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "xinfang_cross_tenant_reason", default=None
)


@contextlib.contextmanager
def cross_tenant_reads(reason: str):
    """Allow reads across tenants inside this block. Only the audited service may call it."""
    token = _cross_tenant_reason.set(reason)
    try:
        yield
    finally:
        _cross_tenant_reason.reset(token)


def deterministic_id(*parts: str) -> ObjectId:
    """The same parts always name the same document: a second insert of it is a duplicate, so work
    repeated by a retry or a second sweep writes once."""
    return ObjectId(hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()[:12])


def utcnow() -> datetime:
    return datetime.now(UTC)


def stored_moment(value) -> datetime | None:
    """A time read raw from the store, aware in UTC: a datetime (naive means UTC), or the string the embedded store
    turns a datetime written by an update operator into; None for anything else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every stored moment is UTC and comes back aware. The embedded store returns a
# datetime written by $set as a naive string; read as UTC it is the same moment
# (tests/test_store_contract.py pins the gap).
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


def _query_of(arg: Any) -> Mapping | None:
    if isinstance(arg, Mapping):
        return arg
    query = getattr(arg, "query", None)  # Beanie expressions such as Model.field == value
    return query if isinstance(query, Mapping) else None


def scoped_tenant(condition: Any) -> str | None:
    """The tenant a query's tenant_id condition names: an id, or {"$eq": id} (what scopes send)."""
    if isinstance(condition, Mapping) and set(condition) == {"$eq"}:
        condition = condition["$eq"]
    return condition if is_id_ref(condition) else None


def _is_scoped(args: tuple) -> bool:
    for arg in args:
        query = _query_of(arg)
        if query is None:
            continue
        if scoped_tenant(query.get("tenant_id")) is not None:
            return True
    return False


def _check_scope(model: type, args: tuple) -> None:
    if _is_scoped(args) or _cross_tenant_reason.get() is not None:
        return
    raise UnscopedQueryError(
        f"{model.__name__}: query without tenant_id; use a TenantScope repository "
        "or the audited cross-tenant service"
    )


class TenantDocument(Document):
    """A document that belongs to exactly one tenant. Read it only through a scope."""

    tenant_id: IdRef
    created_at: UtcDateTime = Field(default_factory=utcnow)

    @classmethod
    def find_one(cls, *args, **kwargs):  # type: ignore[override]
        _check_scope(cls, args)
        return super().find_one(*args, **kwargs)

    @classmethod
    def find_many(cls, *args, **kwargs):  # type: ignore[override]
        _check_scope(cls, args)
        return super().find_many(*args, **kwargs)

    @classmethod
    def find(cls, *args, **kwargs):  # type: ignore[override]
        _check_scope(cls, args)
        return super().find(*args, **kwargs)


class PlatformDocument(Document):
    """A document that belongs to the platform, not to a tenant (tenants, superusers)."""

    created_at: UtcDateTime = Field(default_factory=utcnow)
