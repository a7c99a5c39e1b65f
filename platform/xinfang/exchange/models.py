"""What the exchange area stores: API clients, Open311 requests (which client filed which petition), webhook
endpoints and their deliveries. Moments that queries compare are epoch seconds (floats): the embedded store
mangles datetimes written by ``$set``."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime

SCOPE_OPEN311 = "open311"  # file petitions and follow them through the Open311 endpoint
SCOPE_WEBHOOKS = "webhooks"  # reserved for clients that manage webhooks over the API (not offered yet)
SCOPES = {
    SCOPE_OPEN311: {"zh": "Open311 信访受理（提交并查询本客户端提交的信访件）", "en": "Open311 intake (file petitions and follow those it filed)"},
}


class ApiClient(TenantDocument):
    """A system that calls this tenant's exchange API (a civic app, a mayor's mailbox). Its key is shown once;
    only a SHA-256 of it is kept, like live logins (auth/sessions.py)."""

    name: str
    scopes: list[str] = Field(default_factory=list)
    key_prefix: str  # the key's public first part (xf_<8 hex>), shown in lists so people can tell keys apart
    key_hash: str  # SHA-256 of the whole key
    rate_limit_per_minute: int = 60
    active: bool = True
    created_by: IdRef | None = None
    created_by_name: str = ""
    revoked_at: UtcDateTime | None = None
    revoked_by_name: str = ""
    last_used_at: float | None = None

    class Settings:
        name = "exchange_api_clients"
        indexes = [
            IndexModel([("key_hash", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
        ]


class Open311Request(TenantDocument):
    """One petition filed through Open311 (``_id`` = the petition's id), in the tenant whose endpoint took it.

    Written after the petition; a retry with the same Idempotency-Key finds the same petition and writes this
    row again (a duplicate, skipped). Location and media are kept as the client sent them (never fetched)."""

    client_id: IdRef
    petition_id: IdRef
    number: str
    service_code: str
    requested_at: float
    address_string: str | None = None
    address_id: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None  # a link the client sent (never fetched)
    media_attachment_id: str | None = None  # a file the client sent: the petition's attachment (staff-only download)

    class Settings:
        name = "exchange_open311_requests"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("requested_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("number", ASCENDING)]),
        ]


class WebhookEndpoint(TenantDocument):
    """Where a tenant's other systems want its case events. The signing secret is sealed with the tenant's
    data key (it must be read to sign), shown once when the endpoint is made."""

    name: str
    url: str
    events: list[str] = Field(default_factory=list)
    secret_sealed: str
    # After a rotation the old secret still signs (a second signature in the header) until ``previous_until``
    # (epoch seconds), so receivers can switch over without losing a delivery.
    previous_secret_sealed: str | None = None
    previous_until: float | None = None
    rotated_at: float | None = None
    rotated_by_name: str = ""
    active: bool = True
    created_by: IdRef | None = None
    created_by_name: str = ""
    disabled_at: UtcDateTime | None = None

    class Settings:
        name = "exchange_webhook_endpoints"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("active", ASCENDING)])]


class Attempt(BaseModel):
    at: float
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class WebhookDelivery(TenantDocument):
    """One event for one endpoint: its body frozen when the event was handled, its attempts, and when the
    beat's sweep tries it next (``next_attempt_at``; retries live here, never in Celery ETAs)."""

    endpoint_id: IdRef
    event_id: str
    event: str  # the webhook event name (petition.received ...)
    body: str  # the exact JSON sent every time (the signature covers it)
    status: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = Field(default_factory=list)
    next_attempt_at: float
    delivered_at: float | None = None
    finished_at: float | None = None  # delivered or failed for good: the retention sweep deletes it some days after

    class Settings:
        name = "exchange_webhook_deliveries"
        indexes = [
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("finished_at", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("endpoint_id", ASCENDING), ("created_at", DESCENDING)]),
        ]
