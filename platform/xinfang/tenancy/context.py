"""The tenant of the current request or task, resolved once."""

from __future__ import annotations

import dataclasses

from ..store.scoped import TenantScope
from .models import Tenant


@dataclasses.dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    scope: TenantScope

    @classmethod
    def of(cls, tenant: Tenant) -> "TenantContext":
        return cls(tenant=tenant, scope=TenantScope(tenant.id))

    @property
    def tenant_id(self) -> str:
        return self.scope.tenant_id
