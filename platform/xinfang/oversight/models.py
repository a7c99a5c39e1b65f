"""The oversight record (督办事项): one higher body supervising one lower body's handling of one case or card.

The same shape as following a case assigned down (petitions/upper_level_models.py), which it generalises:
the lower body's result reports (``ResultReport``) with the upper body's decisions, and the upper body's
reminders (``Reminder``) are the very models a followed case carries. What is new is where it lives: in a
document of its own, owned by the supervising body (``tenant_id``), naming the supervised body
(``lower_tenant_id``) and the thing supervised (a petition or a supervision card, by id), so that any
ancestor can supervise (not only the body that assigned the case down) and cards can be supervised too.

The fields the beat's sweep asks for (``open``, ``overdue``, ``due_on``, ``remind_on``) are plain stored
values with indexes that do not start with ``tenant_id``: one query over every tenant finds what is due.
Written only by service.py and sweep.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..events import CarriesEvents
from ..petitions.upper_level_models import Reminder, ReportStatus, ResultReport
from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow

SubjectKind = Literal["petition", "card"]


class OversightState(StrEnum):
    AWAITING_REPORT = "awaiting_report"  # the lower body is handling it; no report yet
    REPORTED = "reported"  # a result report waits for the upper body's decision
    RETURNED = "returned"  # the upper body sent the report back: report again
    ACCEPTED = "accepted"  # the upper body accepted the result: the oversight is closed (办结)
    WITHDRAWN = "withdrawn"  # a leader of the upper body withdrew it, with a reason (已撤销)


STATE_NAMES = {
    OversightState.AWAITING_REPORT: {"zh": "督办中，待下级报送结果", "en": "Under oversight, awaiting the result"},
    OversightState.REPORTED: {"zh": "结果已报送，待上级审核", "en": "Result reported, awaiting decision"},
    OversightState.RETURNED: {"zh": "已退回，待重新报送", "en": "Returned, awaiting a new report"},
    OversightState.ACCEPTED: {"zh": "结果已采纳，督办办结", "en": "Result accepted, oversight closed"},
    OversightState.WITHDRAWN: {"zh": "已撤销", "en": "Withdrawn"},
}

SUBJECT_KIND_NAMES = {"petition": {"zh": "信访件", "en": "Petition"}, "card": {"zh": "监督卡", "en": "Supervision card"}}


class Escalation(BaseModel):
    """The sweep found the deadline passed without an accepted result: raised once per deadline."""

    at: UtcDateTime = Field(default_factory=utcnow)
    due_on: str  # the deadline that was missed


class Oversight(TenantDocument, CarriesEvents):
    """督办事项. ``tenant_id``: the supervising (upper) body; ``lower_tenant_id``: the supervised body, which
    reports. The subject is read live from its own document (its state, deadline); ``subject_label`` is the
    number it was opened under, kept for lists and messages (never the petitioner's identity)."""

    lower_tenant_id: IdRef
    subject_kind: SubjectKind
    subject_id: IdRef
    subject_label: str  # the case number, or the card's document number (文号) or its subject's name
    requirement: str  # 督办要求: what the upper body asks for
    opened_by: str
    opened_by_name: str
    due_on: str  # ISO date: the result is due by this day (a working day of the upper body's calendar)
    remind_working_days: int = 2
    remind_on: str | None = None  # the day the sweep warns the lower body; None once warned (or never)
    state: OversightState = OversightState.AWAITING_REPORT
    open: bool = True
    overdue: bool = False  # the current deadline passed without an accepted result (set by the sweep)
    escalations: list[Escalation] = Field(default_factory=list)
    reports: list[ResultReport] = Field(default_factory=list)
    reminders: list[Reminder] = Field(default_factory=list)
    closed_at: UtcDateTime | None = None
    finished_on: str | None = None  # China day of the accepted report: on time when <= due_on
    withdrawn_by_name: str | None = None
    withdraw_reason: str | None = None
    # One open oversight per subject and supervising body, held by the store: ``open_key`` is the subject's id
    # while open and ``closed:<own id>`` once accepted or withdrawn; unique per body (records written before
    # the field existed have none and are not indexed).
    open_key: str | None = None
    revision: int = 0

    class Settings:
        name = "oversights"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),  # 督办事项 I issued
            IndexModel([("lower_tenant_id", ASCENDING), ("created_at", DESCENDING)]),  # 上级督办 I received
            IndexModel([("tenant_id", ASCENDING), ("subject_id", ASCENDING)]),  # one open oversight per subject
            IndexModel([("open", ASCENDING), ("overdue", ASCENDING), ("due_on", ASCENDING)]),  # the beat: overdue, any tenant
            IndexModel([("remind_on", ASCENDING)]),  # the beat: warnings due, any tenant
            IndexModel([("outbox_pending", ASCENDING)]),  # the event sweeper's question, across tenants
            IndexModel([("tenant_id", ASCENDING), ("open_key", ASCENDING)], name="oversight_open_key_unique", unique=True,
                       partialFilterExpression={"open_key": {"$exists": True, "$type": "string"}}),
        ]

    def close_key(self) -> None:
        """Accepted or withdrawn: the subject is free for a new oversight by the same body."""
        self.open_key = f"closed:{self.id}"

    def pending_report(self) -> ResultReport | None:
        return self.reports[-1] if self.reports and self.reports[-1].status == ReportStatus.PENDING else None

    def on_time(self) -> bool | None:
        """Closed: whether the accepted result was reported by the deadline. Open: None."""
        return None if self.open or not self.finished_on else self.finished_on <= self.due_on

    @property
    def withdrawn(self) -> bool:
        return self.state == OversightState.WITHDRAWN

    def late_now(self, today_iso: str) -> bool:
        return self.open and self.due_on < today_iso
