"""Reading the tenant directory (tenants are platform data) and the hierarchy."""

from __future__ import annotations

import logging

import pymongo
from pymongo.errors import ConnectionFailure, PyMongoError

from ..errors import ServiceUnavailable
from ..store.cache import LruTtl, TtlCache
from ..store.client import driver_sees_a_server
from ..store.scoped import parse_object_id
from .models import Tenant

log = logging.getLogger(__name__)

# Resolving the tenant comes before everything else in a request: while the store is down it must
# not hold every request for the driver's whole server-selection time.
LOOKUP_TIMEOUT_SECONDS = 1.0
MAX_HOST_NAME = 253  # characters of the longest DNS name


class StoreUnreachable(ServiceUnavailable):
    message = {"zh": "数据库暂时无法连接，请稍后再试", "en": "the document store is unreachable; try again shortly"}
    retry_after = 5


def _unreachable(error: PyMongoError) -> bool:
    return isinstance(error, ConnectionFailure) or getattr(error, "timeout", False)


class TenantDirectory:
    """Slug and host lookups with a short, bounded cache: every request resolves its tenant once.

    One indexed read per slug or host (``slug`` unique, ``hosts`` indexed), cached ``ttl_seconds``
    per key, least recently used out past the configured bound (slugs and hosts are anyone's input),
    and single-flight: requests missing the same key at once share one read (store/cache.py).

    While the store cannot be reached, a lookup answers from the last answer it had (at once
    when the driver already knows the store is down, else after ``LOOKUP_TIMEOUT_SECONDS``):
    tenants rarely change, and the request meets the store again in its handler anyway. With
    nothing remembered it raises ``StoreUnreachable`` (503 with Retry-After). Once the store
    answers again, lookups are fresh again.
    """

    def __init__(self, ttl_seconds: float = 5.0, lookup_timeout: float = LOOKUP_TIMEOUT_SECONDS, max_entries: int | None = None):
        self._cache = TtlCache(ttl_seconds, max_entries)
        self._lookup_timeout = lookup_timeout
        # key -> the last answer the store gave, for when it cannot answer; bounded like the cache, with no
        # lifetime (an answer from memory is better than a 503 while the store is down).
        self._last_known = LruTtl(float("inf"), max_entries)

    @property
    def loads(self) -> int:
        """How many lookups reached the store (tests and benchmarks count them)."""
        return self._cache.loads

    async def _lookup(self, key, load, *, remember_unknown: bool = False):
        known = self._last_known.get(key, _UNKNOWN)
        if known is not _UNKNOWN and not driver_sees_a_server(Tenant.get_pymongo_collection().database.client):
            return known  # the store is known to be down: no point waiting for it
        try:
            with pymongo.timeout(self._lookup_timeout):
                value = await self._cache.get(key, load)
        except PyMongoError as exc:
            if not _unreachable(exc):
                raise
            if known is not _UNKNOWN:
                log.warning("store unreachable (%s): tenant lookup %r answered from memory", type(exc).__name__, key)
                return known
            raise StoreUnreachable() from None
        if value is not None or remember_unknown:
            self._last_known.set(key, value)
        return value

    async def by_slug(self, slug: str) -> Tenant | None:
        # Unknown slugs are not remembered: with the store down an unknown slug is a 503, as before.
        return await self._lookup(("slug", slug), lambda: Tenant.find_one({"slug": slug, "active": True}))

    async def slug_for_host(self, host: str) -> str | None:
        """The slug of the active tenant that owns ``host`` (its port dropped), or None: one indexed read.

        Unmapped hosts (the platform's own name, addresses) are remembered too, so the platform's own
        pages on its own name keep answering from memory while the store is down.
        """
        name = host.split(":")[0].lower()
        if len(name) > MAX_HOST_NAME:
            return None  # no DNS name is that long: not worth a read, nor a place in the cache
        return await self._lookup(("host", name), lambda: _slug_of_host(name), remember_unknown=True)


_UNKNOWN = object()


async def _slug_of_host(name: str) -> str | None:
    # {"$in": [name]}, not the plain array-contains form: nx-27017's find misses a value inside an
    # indexed array asked that way (tests/test_store_contract.py); hosts are lower case (bundle schema).
    raw = await Tenant.get_pymongo_collection().find_one({"hosts": {"$in": [name]}, "active": True}, projection={"slug": 1})
    return raw["slug"] if raw else None


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


def grouped_near_first(tenants: list[Tenant], here: Tenant) -> list[tuple[dict, list[Tenant]]]:
    """Other bodies as a long list reads best: the bodies beside this one first, then the one above, then the rest
    under the body each sits below (a 转送 list at the national scale is thousands of bodies)."""
    others = [t for t in tenants if t.id != here.id]
    by_id = {str(t.id): t for t in tenants}
    beside = [t for t in others if t.parent_id == here.parent_id]
    above = [t for t in others if str(t.id) == here.parent_id]
    groups: list[tuple[dict, list[Tenant]]] = [({"zh": "同级单位", "en": "Bodies at the same level"}, beside),
                                                ({"zh": "上级单位", "en": "The body above"}, above)]
    placed = {t.id for t in beside + above}
    rest: dict[str | None, list[Tenant]] = {}
    for tenant in others:
        if tenant.id not in placed:
            rest.setdefault(tenant.parent_id if tenant.parent_id in by_id else None, []).append(tenant)
    for parent_id in sorted(rest, key=lambda pid: (pid is None, by_id[pid].slug if pid else "")):
        name = by_id[parent_id].name.model_dump() if parent_id else {"zh": "其他单位", "en": "Other bodies"}
        label = {"zh": f"{name['zh']}下属单位", "en": f"Below {name['en']}"} if parent_id else name
        groups.append((label, rest[parent_id]))
    return [(label, sorted(members, key=lambda t: t.slug)) for label, members in groups if members]
