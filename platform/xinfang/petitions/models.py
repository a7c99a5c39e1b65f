"""Petition documents. The whole history travels inside the petition, so it stays whole when the case moves."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument, TenantDocument, UtcDateTime, utcnow


class Channel(StrEnum):
    ONLINE = "online"  # 网上信访
    LETTER = "letter"  # 来信
    VISIT = "visit"  # 来访
    PHONE = "phone"  # 来电


CHANNEL_NAMES = {
    Channel.ONLINE: {"zh": "网上信访", "en": "Online"},
    Channel.LETTER: {"zh": "来信", "en": "Letter"},
    Channel.VISIT: {"zh": "来访", "en": "Visit"},
    Channel.PHONE: {"zh": "来电", "en": "Phone call"},
}


class Step(BaseModel):
    """One thing that happened to a petition: who, when, where, from which state to which."""

    at: UtcDateTime = Field(default_factory=utcnow)
    tenant_id: IdRef  # the tenant in which it happened (the case may have moved since)
    actor: str  # "citizen", "system", or a staff account id
    actor_name: str  # staff display name; never shown to citizens
    action: str  # a transition key, or submitted / supplement / overdue
    from_state: str | None = None
    to_state: str | None = None
    public: bool = False  # shown on the citizen's status page
    fields: dict[str, str] = Field(default_factory=dict)
    public_fields: list[str] = Field(default_factory=list)


class Petition(TenantDocument):
    number: str  # human case number, e.g. SIYANG-EDU-2026-000012
    origin_tenant_id: IdRef
    form_key: str
    form_version: int
    form_digest: str
    kind: str  # petition | report | suggestion
    channel: Channel
    anonymous: bool
    answers: dict  # everything the petitioner wrote except identity fields
    identity_sealed: str | None = None  # identity fields, encrypted with this tenant's key
    # Keyed hash of the petitioner's identity number (else phone): finds repeat petitions by the same
    # person without keeping who they are (KeyRing.petitioner_hash). None when anonymous.
    petitioner_key: str | None = None
    title: str
    subject_name: str | None = None  # 被反映人, for the inbox filter
    state: str
    due_on: str | None = None  # ISO date of the running time limit
    due_rule: str | None = None
    overdue: bool = False
    assignee_id: IdRef | None = None
    used_once: list[str] = Field(default_factory=list)  # transitions marked `once` that happened
    steps: list[Step] = Field(default_factory=list)
    attachment_ids: list[IdRef] = Field(default_factory=list)
    revision: int = 0  # optimistic concurrency: every change replaces revision n with n+1

    class Settings:
        name = "petitions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("due_on", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("number", ASCENDING)], unique=True),
        ]


class Receipt(PlatformDocument):
    """Receipt hash -> petition. Platform data: the receipt must keep working when the case moves."""

    receipt_hash: str
    petition_id: IdRef
    tenant_id: IdRef  # where the petition is now
    origin_tenant_id: IdRef  # whose portal issued the receipt

    class Settings:
        name = "receipts"
        indexes = [IndexModel([("receipt_hash", ASCENDING)], unique=True)]


class Attachment(TenantDocument):
    petition_id: IdRef
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes

    class Settings:
        name = "attachments"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("petition_id", ASCENDING)])]


class CaseCounter(TenantDocument):
    key: str  # e.g. "2026"
    n: int = 0

    class Settings:
        name = "case_counters"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]


class CalendarRules(TenantDocument):
    """Days off and make-up workdays tenant admins enter (used where the official calendar is unknown)."""

    holidays: list[str] = Field(default_factory=list)  # ISO dates
    workdays: list[str] = Field(default_factory=list)

    class Settings:
        name = "calendar_rules"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
