"""Petition documents. The whole history travels inside the petition, so it stays whole when the case moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..events import CarriesEvents
from ..store.documents import IdRef, PlatformDocument, TenantDocument, UtcDateTime, utcnow
from .upper_level_models import DownAssignment


CHINA = ZoneInfo("Asia/Shanghai")  # the calendar time limits run in (service.china_today)


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


class Petition(TenantDocument, CarriesEvents):
    """One case. Its submission is ONE write of this document: it carries its receipt's hash and its
    pending events (``CarriesEvents``); the receipt row and the OutboxEvent rows are derived from it
    afterwards (``service.derive_petition_rows``), so a crash never leaves half a petition."""

    number: str  # human case number, e.g. SIYANG-EDU-2026-000012; unique per issuing tenant
    origin_tenant_id: IdRef
    form_key: str
    form_version: int
    form_digest: str
    kind: str  # petition | report | suggestion
    channel: Channel
    anonymous: bool
    answers: dict  # everything the petitioner wrote except identity fields
    identity_sealed: str | None = None  # identity fields, encrypted with the petition's record key (crypto.py)
    # The day (tenant's zone) retention destroyed the identity by destroying its record key (retention/): the
    # sealed bytes may remain but never open again; the numbers, dates and outcome stay.
    identity_destroyed_on: str | None = None
    # Keyed hash of the petitioner's identity number (else phone): finds repeat petitions by the same
    # person without keeping who they are (KeyRing.petitioner_hash). None when anonymous.
    petitioner_key: str | None = None
    title: str
    subject_name: str | None = None  # 被反映人, for the inbox filter
    # The day the letter, visit or call came in (来信日期 / 来访日期), ISO date, as staff registered it;
    # None: the day it was filed (online, or registered before the field). Read it as ``received_at``.
    received_on: str | None = None
    # The tenant's time zone when the date received was registered: that day begins at its midnight there
    # (a body in Xinjiang on Asia/Urumqi is not on China Standard Time's midnight). None: China Standard Time.
    received_zone: str | None = None
    state: str
    # The number of the tenant's workflow version the case runs on (petitions/workflow_versions.py): set when it
    # starts and when it moves to another body; None: started before versions existed (the tenant's first version).
    workflow_version: int | None = None
    due_on: str | None = None  # ISO date of the running time limit
    due_rule: str | None = None
    # The time limit that ran when the case reached a state without one (its final state, mostly): analytics counts a
    # case closed after it as 超期办结 (closed late), though closing clears ``due_on`` and ``overdue``. None: never had one.
    last_due_on: str | None = None
    overdue: bool = False
    assignee_id: IdRef | None = None
    used_once: list[str] = Field(default_factory=list)  # transitions marked `once` that happened
    steps: list[Step] = Field(default_factory=list)
    attachment_ids: list[IdRef] = Field(default_factory=list)
    revision: int = 0  # optimistic concurrency: every change replaces revision n with n+1
    # The receipt's slow hash (KeyRing.receipt_hash), the same as the Receipt row's: the receipt works
    # from the petition itself, wherever the case is, even before (or without) its row. None: older
    # petitions, found through their Receipt row only.
    receipt_hash: str | None = None
    # Submitted with an idempotency key (service.do_submit_petition): keyed hashes of the key and of what
    # was submitted under it, so a retry with the key gets this petition back and other content a 409.
    # Never the key itself. None: submitted without a key.
    submission_key_hash: str | None = None
    submission_content_hash: str | None = None
    # 交办下级 (upper_level.py): the tenants that assigned this case down and may follow it, and each
    # assignment with the lower body's result reports and the upper body's reminders.
    followed_by: list[IdRef] = Field(default_factory=list)
    down_assignments: list[DownAssignment] = Field(default_factory=list)

    @property
    def received_at(self) -> datetime:
        """When it came in: the start of the registered day received (in the tenant's zone when registered), else
        when it was filed. Time limits, search and statistics count from it."""
        if self.received_on:
            zone = ZoneInfo(self.received_zone) if self.received_zone else CHINA
            return datetime.combine(date.fromisoformat(self.received_on), time(0), zone).astimezone(UTC)
        return self.created_at

    class Settings:
        name = "petitions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("due_on", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("number", ASCENDING)], unique=True),
            # The case number is claimed by the insert itself (service._insert_numbered): unique per issuing
            # tenant wherever the case went since, and the highest one is read from here.
            IndexModel([("origin_tenant_id", ASCENDING), ("number", ASCENDING)], unique=True),
            # Platform-wide, like the Receipt row: a receipt is looked up before its tenant is known.
            # Partial: petitions from before the field have none.
            IndexModel([("receipt_hash", ASCENDING)], unique=True,
                       partialFilterExpression={"receipt_hash": {"$exists": True, "$type": "string"}}),
            # The sweeper's question across tenants: which petitions carry events not yet materialised.
            IndexModel([("outbox_pending", ASCENDING)]),
            # The upper body's list of the cases it assigned down (upper_level.followed_cases).
            IndexModel([("followed_by", ASCENDING)]),
            # The beat's overdue question across tenants (plugin.xinfang_sweep): not flagged, time limit passed.
            IndexModel([("overdue", ASCENDING), ("due_on", ASCENDING)]),
        ]


class Receipt(PlatformDocument):
    """Receipt hash -> petition. Platform data: the receipt must keep working when the case moves.

    Derived from the petition (``_id`` = the petition's id, ``receipt_hash`` copied), written after it;
    lookups ask the petition's own ``receipt_hash`` first, so a missing or stale row changes nothing.
    """

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


class CalendarRules(TenantDocument):
    """Days off and make-up workdays tenant admins enter (used where the official calendar is unknown)."""

    holidays: list[str] = Field(default_factory=list)  # ISO dates
    workdays: list[str] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)  # ISO date -> the name an admin gave the day (春节)

    class Settings:
        name = "calendar_rules"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
