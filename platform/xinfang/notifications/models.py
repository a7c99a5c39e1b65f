"""A notification is tenant data addressed to a role (or one account) of that tenant."""

from __future__ import annotations

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..events import CarriesEvents
from ..store.documents import IdRef, TenantDocument, UtcDateTime
from ..tenancy.models import LocalizedName


class Notification(TenantDocument, CarriesEvents):
    """Written once, with its ``notification.created`` event inside (so a notification is never
    stored without the event that sends it on by e-mail or SMS)."""

    kind: str  # reminder | overdue | follow_up | assigned | proposal | copied
    roles: list[str] = Field(default_factory=list)  # who should see it
    account_id: IdRef | None = None
    text: LocalizedName
    link: str | None = None  # path inside the tenant, e.g. /api/supervisions/<id>
    subject_id: IdRef | None = None
    read_at: UtcDateTime | None = None

    class Settings:
        name = "notifications"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("outbox_pending", ASCENDING)]),  # the sweeper's question, across tenants
        ]
