"""Reading the tenant directory (tenants are platform data) and the hierarchy."""

from __future__ import annotations

import logging

import pymongo
from pymongo.errors import ConnectionFailure, PyMongoError

from ..errors import ServiceUnavailable
from ..store.cache import TtlCache
from ..store.client import driver_sees_a_server
from ..store.scoped import parse_object_id
from .models import Tenant

log = logging.getLogger(__name__)

# Resolving the tenant comes before everything else in a request: while the store is down it must
# not hold every request for the driver's whole server-selection time.
LOOKUP_TIMEOUT_SECONDS = 1.0
MAX_REMEMBERED = 10_000


class StoreUnreachable(ServiceUnavailable):
    message = {"zh": "数据库暂时无法连接，请稍后再试", "en": "the document store is unreachable; try again shortly"}
    retry_after = 5


def _unreachable(error: PyMongoError) -> bool:
    return isinstance(error, ConnectionFailure) or getattr(error, "timeout", False)


class TenantDirectory:
    """Slug and host lookups with a short, bounded cache: every request resolves its tenant once.

    While the store cannot be reached, a lookup answers from the last answer it had (at once
    when the driver already knows the store is down, else after ``LOOKUP_TIMEOUT_SECONDS``):
    tenants rarely change, and the request meets the store again in its handler anyway. With
    nothing remembered it raises ``StoreUnreachable`` (503 with Retry-After). Once the store
    answers again, lookups are fresh again.
    """

    def __init__(self, ttl_seconds: float = 5.0, lookup_timeout: float = LOOKUP_TIMEOUT_SECONDS):
        # Bounded: slugs in URLs are anyone's input, and unknown ones are cached (as None) too.
        self._cache = TtlCache(ttl_seconds)
        self._lookup_timeout = lookup_timeout
        self._last_known: dict = {}  # key -> the last answer the store gave, for when it cannot answer

    async def _lookup(self, key, load):
        if key in self._last_known and not driver_sees_a_server(Tenant.get_pymongo_collection().database.client):
            return self._last_known[key]  # the store is known to be down: no point waiting for it
        try:
            with pymongo.timeout(self._lookup_timeout):
                value = await self._cache.get(key, load)
        except PyMongoError as exc:
            if not _unreachable(exc):
                raise
            if key in self._last_known:
                log.warning("store unreachable (%s): tenant lookup %r answered from memory", type(exc).__name__, key)
                return self._last_known[key]
            raise StoreUnreachable() from None
        if value is not None:  # unknown slugs are anyone's input: not worth remembering
            if len(self._last_known) >= MAX_REMEMBERED:
                self._last_known.clear()
            self._last_known[key] = value
        return value

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self._lookup(("slug", slug), lambda: Tenant.find_one({"slug": slug, "active": True}))

    async def slug_for_host(self, host: str) -> str | None:
        mapping = await self._lookup("hosts", _host_map)
        return mapping.get(host.split(":")[0].lower())


async def _host_map() -> dict[str, str]:
    mapping = {}
    # All active tenants, filtered here: the embedded store cannot match
    # "hosts.0 exists" or "hosts != []" (it finds nothing); tenants are few.
    async for tenant in Tenant.find({"active": True}):
        for tenant_host in tenant.hosts:
            mapping[tenant_host.lower()] = tenant.slug
    return mapping


async def list_active_tenants() -> list[Tenant]:
    return await Tenant.find({"active": True}).sort("slug").to_list()


async def children_of(tenant: Tenant) -> list[Tenant]:
    return await Tenant.find({"parent_id": str(tenant.id), "active": True}).sort("slug").to_list()


async def descendants_of(tenant: Tenant) -> list[Tenant]:
    # {"$in": [...]}, not the plain array-contains form: nx-27017's find (not its count) misses a
    # 24-hex string inside an array (tests/test_store_contract.py pins it).
    return await Tenant.find({"ancestor_ids": {"$in": [str(tenant.id)]}, "active": True}).sort("slug").to_list()


async def get_tenant(tenant_id: str) -> Tenant | None:
    oid = parse_object_id(tenant_id)
    return await Tenant.find_one({"_id": oid}) if oid else None


async def has_lower_bodies(tenant_id: str) -> bool:
    """Whether an active tenant sits directly below this one (a case can be assigned down to it); one indexed look-up."""
    return await Tenant.find_one({"parent_id": tenant_id, "active": True}) is not None
