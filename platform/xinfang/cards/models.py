"""Card types and escalation rules, defined per tenant without code (loaded from bundles)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr
from pymongo import ASCENDING, IndexModel

from ..calendar import PeriodUnit
from ..events import CarriesEvents
from ..store.documents import TenantDocument
from ..tenancy.models import LocalizedName


class Period(BaseModel):
    amount: int = Field(ge=1, le=3650)
    unit: PeriodUnit


class CopyTarget(BaseModel):
    kind: Literal["department", "role", "tenant"]
    ref: str
    name: LocalizedName


class CardType(TenantDocument):
    key: str
    name: LocalizedName
    colour: str  # any CSS colour as #rrggbb; shown as such everywhere
    colour_name: LocalizedName
    when: LocalizedName  # when to use it
    consequence: LocalizedName  # what follows
    response_deadline: Period | None = None
    response_form: str | None = None  # key of the form the subject answers with
    follow_up_visits: list[Period] = Field(default_factory=list)
    copy_to: list[CopyTarget] = Field(default_factory=list)
    rank: int = 0  # severity order, 0 = mildest
    needs_approval: bool = True  # 报批 before issue
    document_template: str | None = None  # the tenant's own wording (Jinja, sandboxed); a default otherwise
    reminder_working_days: int = Field(default=3, ge=0, le=60)  # remind staff this many working days before the answer is due

    source: Literal["bundle", "admin"] = "bundle"  # an admin's edit is never overwritten by a bundle reload

    class Settings:
        name = "card_types"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]


class EscalationTrigger(BaseModel):
    card_type: str
    condition: Literal["not_rectified_after", "repeat_within"]
    period: Period
    count: int = Field(default=2, ge=2, le=20)  # for repeat_within


class EscalationOutcome(BaseModel):
    action: Literal["propose_card", "treat_as"]
    card_type: str
    copy_to: list[CopyTarget] = Field(default_factory=list)


class EscalationRule(TenantDocument):
    key: str
    trigger: EscalationTrigger
    outcome: EscalationOutcome
    reason: LocalizedName  # the words shown with every automatic step ("proposed because ...")

    source: Literal["bundle", "admin"] = "bundle"  # an admin's edit is never overwritten by a bundle reload

    class Settings:
        name = "escalation_rules"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]


class ActionKind(StrEnum):
    NOTICE = "notice"  # 信访监督通知书: explain in writing by a date
    RECTIFICATION = "rectification"  # 信访整改通知书: rectify by a deadline, then checked
    TALK = "talk"  # 谈话 (诫勉 / 警示): counts only once its written record is filed
    MEETING = "meeting"  # 专题民主生活会
    BRIEFING = "briefing"  # 通报会


class ActionType(TenantDocument):
    """A kind of supervision action a tenant uses; tenants add their own."""

    key: str
    name: LocalizedName
    kind: ActionKind
    needs_approval: bool = True  # 报批: nothing un-approved goes out
    response_deadline: Period | None = None
    record_required: bool = False  # a talk counts only with its written record
    document_template: str | None = None
    reminder_working_days: int = Field(default=3, ge=0, le=60)

    source: Literal["bundle", "admin"] = "bundle"  # an admin's edit is never overwritten by a bundle reload

    class Settings:
        name = "action_types"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]


class Subject(BaseModel):
    """Who a card or action is about: a person or a unit (a school)."""

    kind: Literal["person", "unit"]
    name: str = Field(min_length=1, max_length=100)
    position: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)

    @property
    def key(self) -> str:
        """Matches the same subject across cards: NFKC-normalised, whitespace-free name and unit."""
        import unicodedata

        def norm(text: str | None) -> str:
            return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()

        return f"{self.kind}:{norm(self.name)}@{norm(self.unit)}"


class SupervisionState(StrEnum):
    PROPOSED = "proposed"  # suggested by a rule; a person decides
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    ISSUED = "issued"  # waiting for the subject's answer
    ANSWERED = "answered"  # the handler decides next
    RECTIFYING = "rectifying"  # rectify by rectify_due, then checked
    CLOSED = "closed"
    TRANSFERRED = "transferred"  # 立案移送 after leader approval
    DISMISSED = "dismissed"  # a proposal a person declined


class AutomaticStep(BaseModel):
    """A step the sweeper took, with its reason in words and the facts it used."""

    rule: str
    at: str  # ISO date
    reason: LocalizedName
    facts: list[str] = Field(default_factory=list)  # ids of the cards / actions / petitions it relied on


class FollowUp(BaseModel):
    due_on: str
    done_on: str | None = None
    note: str | None = None


class Supervision(TenantDocument, CarriesEvents):
    """One card (监督卡) or supervision action, from one or more petitions, about one subject.

    Each change is one write of this document carrying its event (service.save_supervision)."""

    kind: Literal["card", "action"]
    type_key: str
    subject: Subject
    subject_key: str
    official_id: str | None = None  # the official in the archives this card or action is about (archives/)
    petition_ids: list[str] = Field(default_factory=list)
    state: SupervisionState
    needs_approval: bool = True
    approved_by: str | None = None
    # Who wrote it (created, adopted or submitted it): none of them approves it, unless the tenant's
    # settings allow self-approval (a one-person office), and then ``self_approved`` says so.
    authored_by: list[str] = Field(default_factory=list)
    self_approved: bool = False
    issued_on: str | None = None
    response_due: str | None = None
    rectify_due: str | None = None
    rectified_on: str | None = None
    overdue: bool = False
    reminded_for: str | None = None  # the answer deadline staff were last reminded of
    follow_ups: list[FollowUp] = Field(default_factory=list)
    # The earliest follow-up visit not yet announced: one indexed field for the sweeper, because
    # the embedded store cannot query into follow_ups (follow_ups.due_on / $elemMatch find nothing).
    follow_up_due: str | None = None
    copies: list[CopyTarget] = Field(default_factory=list)
    treated_as: str | None = None  # e.g. a second yellow card treated as red
    automatic: list[AutomaticStep] = Field(default_factory=list)
    applied_rules: list[str] = Field(default_factory=list)  # what the sweeper already did here
    answer: str | None = None
    record: str | None = None  # a talk's written record
    outcome: str | None = None
    notes: list[dict] = Field(default_factory=list)  # {at, actor, action, text}
    document_html: str | None = None  # the issued document as it went out, kept
    document_no: str | None = None  # its number (文号), given once when it is issued (numbers.py)
    answer_token_hash: str | None = None  # SHA-256 of the one-time answer link's token
    answer_token_used: bool = False
    revision: int = 0
    _answer_token: str | None = PrivateAttr(default=None)  # a one-time answer token made by this request; never stored

    class Settings:
        name = "supervisions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("response_due", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("subject_key", ASCENDING), ("type_key", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("official_id", ASCENDING), ("type_key", ASCENDING)]),  # the same person's cards
            IndexModel([("tenant_id", ASCENDING), ("type_key", ASCENDING), ("issued_on", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("answer_token_hash", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("follow_up_due", ASCENDING)]),
            IndexModel([("outbox_pending", ASCENDING)]),  # the event sweeper's question, across tenants
            # The beat's questions across tenants: which tenants have anything due (sweeper.tenants_due).
            IndexModel([("state", ASCENDING), ("response_due", ASCENDING)]),
            IndexModel([("follow_up_due", ASCENDING)]),
            IndexModel([("issued_on", ASCENDING)]),
        ]


class DocumentSerial(TenantDocument):
    """The last number a tenant gave its issued documents in one year (cards/numbers.py)."""

    year: str
    n: int = 0

    class Settings:
        name = "document_serials"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("year", ASCENDING)], unique=True)]
