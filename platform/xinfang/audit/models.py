"""Append-only audit records. Nothing in the code updates or deletes them."""

from __future__ import annotations

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument


class AuditRecord(PlatformDocument):
    actor_id: IdRef
    actor_username: str
    action: str  # e.g. "cross_tenant.accounts.search"
    purpose: str  # why the superuser looked (required)
    query: dict = Field(default_factory=dict)
    tenant_ids: list[IdRef] = Field(default_factory=list)  # tenants whose data was returned
    result_count: int = 0

    class Settings:
        name = "audit_records"
        indexes = [
            IndexModel([("created_at", DESCENDING)]),
            IndexModel([("tenant_ids", ASCENDING), ("created_at", DESCENDING)]),
        ]
