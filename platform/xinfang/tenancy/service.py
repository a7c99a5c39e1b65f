"""Reading the tenant directory (tenants are platform data) and the hierarchy."""

from __future__ import annotations

from ..store.cache import TtlCache
from ..store.scoped import parse_object_id
from .models import Tenant


class TenantDirectory:
    """Slug and host lookups with a short, bounded cache: every request resolves its tenant once."""

    def __init__(self, ttl_seconds: float = 5.0):
        # Bounded: slugs in URLs are anyone's input, and unknown ones are cached (as None) too.
        self._cache = TtlCache(ttl_seconds)

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self._cache.get(("slug", slug), lambda: Tenant.find_one({"slug": slug, "active": True}))

    async def slug_for_host(self, host: str) -> str | None:
        mapping = await self._cache.get("hosts", _host_map)
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
