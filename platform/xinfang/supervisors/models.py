"""What a village supervisor (信访监督员) writes: a relay per petition registered on a villager's behalf (with the
villager's consent), and follow-ups (visits, calls) on it. The petition itself stays a petition like any other:
the identity sealed, the consent kept on its registration step (petitions.workflow.RELAY_CONSENT_FIELD)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow


class ConsentMethod(StrEnum):
    IN_PERSON = "in_person"  # 当面口头同意
    SIGNED = "signed"  # 书面签字同意
    PHONE = "phone"  # 电话中同意


CONSENT_METHODS = {
    ConsentMethod.IN_PERSON: {"zh": "当面口头同意", "en": "agreed in person"},
    ConsentMethod.SIGNED: {"zh": "书面签字同意", "en": "agreed in writing (signed)"},
    ConsentMethod.PHONE: {"zh": "电话中同意", "en": "agreed on the phone"},
}


class FollowUpKind(StrEnum):
    VISIT = "visit"  # 走访
    PHONE = "phone"  # 电话回访
    OTHER = "other"  # 其他


FOLLOW_UP_KINDS = {
    FollowUpKind.VISIT: {"zh": "上门走访", "en": "Visit"},
    FollowUpKind.PHONE: {"zh": "电话回访", "en": "Phone call"},
    FollowUpKind.OTHER: {"zh": "其他", "en": "Other"},
}


class Relay(TenantDocument):
    """One petition a supervisor relayed. ``_id`` is the petition's id: a retried relay is written once."""

    petition_id: IdRef
    supervisor_id: IdRef
    supervisor_name: str
    number: str  # the case number, for the supervisor's list (the case may move on; the number stays)
    title: str
    consent_method: ConsentMethod
    consent_statement: str  # the words kept on the petition's registration step
    relayed_at: UtcDateTime = Field(default_factory=utcnow)
    # The body the petition was registered with: this one, or a village's township (service.intake_context).
    # None on rows written before villages existed (= tenant_id).
    registered_at: IdRef | None = None

    class Settings:
        name = "supervisor_relays"
        indexes = [
            IndexModel([("registered_at", ASCENDING), ("relayed_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("supervisor_id", ASCENDING), ("relayed_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("relayed_at", DESCENDING)]),
        ]


class FollowUp(TenantDocument):
    """A supervisor's follow-up on a relay: a visit or call, and what the villager said."""

    petition_id: IdRef
    supervisor_id: IdRef
    supervisor_name: str
    kind: FollowUpKind
    happened_on: str  # ISO date of the visit or call
    note: str = Field(max_length=2000)  # what the villager said
    recorded_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "supervisor_follow_ups"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("petition_id", ASCENDING), ("recorded_at", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("recorded_at", DESCENDING)]),
        ]
