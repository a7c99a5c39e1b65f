"""Reading the tenant directory (tenants are platform data) and the hierarchy."""

from __future__ import annotations

import time

from ..store.scoped import parse_object_id
from .models import Tenant


class TenantDirectory:
    """Slug and host lookups with a short cache: every request resolves its tenant once."""

    def __init__(self, ttl_seconds: float = 5.0):
        self.ttl = ttl_seconds
        self._by_slug: dict[str, tuple[float, Tenant | None]] = {}
        self._hosts: tuple[float, dict[str, str]] = (0.0, {})

    def invalidate(self) -> None:
        self._by_slug.clear()
        self._hosts = (0.0, {})

    async def by_slug(self, slug: str) -> Tenant | None:
        now = time.monotonic()
        cached = self._by_slug.get(slug)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        tenant = await Tenant.find_one({"slug": slug, "active": True})
        self._by_slug[slug] = (now, tenant)
        return tenant

    async def slug_for_host(self, host: str) -> str | None:
        now = time.monotonic()
        loaded_at, mapping = self._hosts
        if now - loaded_at >= self.ttl:
            mapping = {}
            # All active tenants, filtered here: the embedded store cannot match
            # "hosts.0 exists" or "hosts != []" (it finds nothing); tenants are few.
            async for tenant in Tenant.find({"active": True}):
                for tenant_host in tenant.hosts:
                    mapping[tenant_host.lower()] = tenant.slug
            self._hosts = (now, mapping)
        return mapping.get(host.split(":")[0].lower())


async def list_active_tenants() -> list[Tenant]:
    return await Tenant.find({"active": True}).sort("slug").to_list()


async def children_of(tenant: Tenant) -> list[Tenant]:
    return await Tenant.find({"parent_id": str(tenant.id), "active": True}).sort("slug").to_list()


async def descendants_of(tenant: Tenant) -> list[Tenant]:
    return await Tenant.find({"ancestor_ids": str(tenant.id), "active": True}).sort("slug").to_list()


async def get_tenant(tenant_id: str) -> Tenant | None:
    oid = parse_object_id(tenant_id)
    return await Tenant.find_one({"_id": oid}) if oid else None
