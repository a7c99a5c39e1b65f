"""Card types and escalation rules, defined per tenant without code (loaded from bundles)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from ..store.documents import TenantDocument
from ..tenancy.models import LocalizedName


class PeriodUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    CALENDAR_MONTHS = "calendar_months"
    YEARS = "years"


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

    class Settings:
        name = "escalation_rules"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]
