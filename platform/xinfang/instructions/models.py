"""A leader's written instruction (批示) on a case or a supervision card, and what became of it.

``tenant_id`` is the body that held the case (or card) when the instruction was written: its staff act
on it, so it lives with them. ``author_tenant_id`` is the leader's body, which may be an upper body
following a case it assigned down (petitions/upper_level.py); the leader's list asks for that field.
Written only by ``service.py`` (its ``do_*`` verbs) and the beat's overdue sweep (``sweep.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from ..events import CarriesEvents, register_carrier
from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow


class InstructionState(StrEnum):
    OPEN = "open"  # the named people are to act on it
    ACTED = "acted"  # one of them recorded what was done; the leader's side checks it
    FULFILLED = "fulfilled"  # the leader's side marked it fulfilled (落实到位)


STATE_NAMES = {
    InstructionState.OPEN: {"zh": "待落实", "en": "To act on"},
    InstructionState.ACTED: {"zh": "已报落实情况，待领导确认", "en": "Action reported, awaiting the leader"},
    InstructionState.FULFILLED: {"zh": "已落实办结", "en": "Fulfilled"},
}

StepKind = Literal["written", "acted", "fulfilled", "asked_again", "overdue"]

STEP_NAMES = {
    "written": {"zh": "领导批示", "en": "Instruction written"},
    "acted": {"zh": "报告落实情况", "en": "Action reported"},
    "fulfilled": {"zh": "确认落实到位", "en": "Marked fulfilled"},
    "asked_again": {"zh": "要求继续落实", "en": "Asked again"},
    "overdue": {"zh": "逾期未落实", "en": "Overdue"},
}

TARGET_NAMES = {"petition": {"zh": "信访件", "en": "Case"}, "supervision": {"zh": "监督卡/监督措施", "en": "Card or action"}}


class InstructionStep(BaseModel):
    at: UtcDateTime = Field(default_factory=utcnow)
    kind: StepKind
    tenant_id: IdRef  # the body in which it happened
    actor_id: str  # a staff account id, or "system" (the beat)
    actor_name: str
    text: str = ""
    due_on: str | None = None  # a new deadline (asked again)
    attachment_ids: list[IdRef] = Field(default_factory=list)  # files with an action report (PDF, JPEG, PNG), kept as Attachments


class Instruction(TenantDocument, CarriesEvents):
    """Each change is one versioned write that carries its event (``instruction.<step>``); the notices follow from
    the event (plugin.xinfang_handle_event), so a crash after the write still sends them, once."""

    author_tenant_id: IdRef
    author_id: IdRef
    author_name: str
    target_kind: Literal["petition", "supervision"]
    target_id: IdRef
    target_label: str  # "case number · title" or "card: subject", as it read when written
    text: str
    assignee_ids: list[IdRef] = Field(default_factory=list)  # accounts of the holding body
    assignee_roles: list[str] = Field(default_factory=list)  # or everyone holding one of these roles there
    assignee_names: list[str] = Field(default_factory=list)  # as written, for lists
    due_on: str  # ISO date on the holding body's working calendar
    state: InstructionState = InstructionState.OPEN
    overdue: bool = False  # set once by the beat when due_on passed unacted; cleared when asked again with a new date
    acted_by: list[IdRef] = Field(default_factory=list)  # whoever reported action: none of them marks it fulfilled
    steps: list[InstructionStep] = Field(default_factory=list)
    fulfilled_at: UtcDateTime | None = None
    revision: int = 0

    class Settings:
        name = "instructions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("due_on", ASCENDING)]),  # the to-do list
            IndexModel([("tenant_id", ASCENDING), ("target_kind", ASCENDING), ("target_id", ASCENDING)]),  # a case's instructions
            IndexModel([("author_tenant_id", ASCENDING), ("state", ASCENDING), ("due_on", ASCENDING)]),  # the leader's list
            IndexModel([("overdue", ASCENDING), ("due_on", ASCENDING)]),  # the beat's question, across tenants
            IndexModel([("outbox_pending", ASCENDING)]),  # the event sweeper's question, across tenants
        ]

    def names(self, account_id: str, roles) -> bool:
        """Whether the account (with these roles) is one of the people named to act."""
        return account_id in self.assignee_ids or bool(set(self.assignee_roles) & {str(r) for r in roles})


register_carrier(Instruction)  # its carried events are materialised and dispatched like a petition's (events.py)
