"""Cross-tenant reads. The only caller of ``cross_tenant_reads``; every read is audited first.

The audit record is appended to the hash chain (durably) before the answer is
returned; if it cannot be written, the caller gets an error and no data.
"""

from __future__ import annotations

from ..audit.service import do_append_audit
from ..auth.models import StaffAccount
from ..auth.principal import Principal
from ..errors import Forbidden, InvalidInput
from ..store.documents import cross_tenant_reads
from ..store.scoped import parse_object_id
from ..tenancy.models import Tenant

MIN_PURPOSE_LENGTH = 4


def _require_purpose(purpose: str | None) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE_LENGTH:
        raise InvalidInput(
            fields={"purpose": {"zh": "跨单位查询必须写明用途", "en": "a cross-tenant read must state its purpose"}}
        )
    return purpose[:500]


async def search_staff_across_tenants(principal: Principal, *, username: str, purpose: str) -> list[dict]:
    if not principal.is_superuser:
        raise Forbidden()
    purpose = _require_purpose(purpose)
    with cross_tenant_reads(purpose):
        accounts = await StaffAccount.find({"username": username}).sort("tenant_id").to_list(200)
    tenants = {str(t.id): t for t in await Tenant.find({"_id": {"$in": [parse_object_id(a.tenant_id) for a in accounts]}}).to_list()}
    await do_append_audit(
        actor_id=principal.account_id,
        actor_username=principal.username,
        action="cross_tenant.accounts.search",
        purpose=purpose,
        query={"username": username},
        tenant_ids={a.tenant_id for a in accounts},
        result_count=len(accounts),
    )
    return [
        dict(a.public_view(), tenant={"slug": tenants[a.tenant_id].slug, "name": tenants[a.tenant_id].name.model_dump()})
        for a in accounts
        if a.tenant_id in tenants
    ]


async def tenant_tree() -> list[dict]:
    tenants = await Tenant.find({}).sort("slug").to_list()
    nodes = {str(t.id): dict(t.public_view(), children=[]) for t in tenants}
    roots = []
    for tenant in tenants:
        node = nodes[str(tenant.id)]
        parent = nodes.get(tenant.parent_id) if tenant.parent_id else None
        (parent["children"] if parent else roots).append(node)
    return roots
