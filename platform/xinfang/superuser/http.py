"""Superuser routes, outside any tenant: the tenant tree, audited cross-tenant reads, the audit log."""

from __future__ import annotations

from quart import Blueprint, request

from ..audit.models import AuditRecord
from ..auth.access import current_principal
from ..auth.permissions import Permission, superuser_only
from ..events import EventStatus, OutboxEvent
from .service import search_staff_across_tenants, tenant_tree

platform_bp = Blueprint("platform", __name__, url_prefix="/api/platform")


@platform_bp.get("/tenants")
@superuser_only(Permission.PLATFORM_ADMIN)
async def tenants():
    return {"tenants": await tenant_tree()}


@platform_bp.get("/accounts")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def search_accounts():
    found = await search_staff_across_tenants(
        current_principal(), username=request.args.get("username", ""), purpose=request.args.get("purpose", "")
    )
    return {"accounts": found}


@platform_bp.get("/audit")
@superuser_only(Permission.PLATFORM_ADMIN)
async def audit_log():
    records = await AuditRecord.find({}).sort("-seq").limit(200).to_list()
    return {"records": [r.model_dump(mode="json") for r in records]}


@platform_bp.get("/events")
@superuser_only(Permission.PLATFORM_ADMIN)
async def events():
    status = request.args.get("status", EventStatus.FAILED.value)
    if status not in {s.value for s in EventStatus}:
        status = EventStatus.FAILED.value
    found = await OutboxEvent.find({"status": status}).sort("-created_at").limit(200).to_list()
    return {"events": [e.model_dump(mode="json") for e in found]}
