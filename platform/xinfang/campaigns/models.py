"""A screening campaign (排查) and the units' reports.

A campaign belongs to the body that runs it (``tenant_id``, a county or a prefecture): its period, its units
(lower bodies, and internal units named as text), its checklist of risks, and the open items carried over from
an earlier campaign. Each unit's report (``UnitReport``) is stored with the campaign's owner too, so the owner
reads progress in its own scope; a lower body reaches only its own unit's report, through ``service.access_campaign``.
Written only by ``service.py``; each write carries its event (``campaign.started``, ``campaign.reported``), from
which the notices follow (notify.py, plugin.xinfang_handle_event).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from ..events import CarriesEvents, register_carrier
from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow


class CampaignUnit(BaseModel):
    key: str  # "t-<tenant id>" for a lower body, "u-<digest of the name>" for an internal unit (stable across campaigns)
    kind: Literal["tenant", "internal"]
    tenant_id: IdRef | None = None
    name: dict[str, str]  # {"zh", "en"}: the body's name, or the internal unit's text in both
    due_on: str | None = None  # this unit's own report deadline; None: the campaign's (``Campaign.report_due_on``)
    reminded_for: str | None = None  # the deadline the beat warned this unit about (once per deadline)
    overdue_for: str | None = None  # the deadline the beat flagged this unit overdue for (once per deadline)


class ChecklistItem(BaseModel):
    key: str  # "i1", "i2", ... in the order given
    text: str


class CarriedItem(BaseModel):
    """An open item of an earlier campaign (a risk found and not yet resolved), to be reported on again."""

    key: str  # "c1", "c2", ...
    unit_key: str
    item_text: str
    description: str = ""
    measures: str = ""
    from_campaign_id: IdRef
    from_title: str


CampaignStatus = Literal["awaiting_approval", "running", "closed"]
STATUS_NAMES = {
    "awaiting_approval": {"zh": "待审批", "en": "Awaiting approval"},
    "running": {"zh": "进行中", "en": "Running"},
    "closed": {"zh": "已结束", "en": "Closed"},
}


class Campaign(TenantDocument, CarriesEvents):
    title: str
    description: str = ""
    period_start: str  # ISO dates
    period_end: str
    units: list[CampaignUnit]
    unit_tenant_ids: list[IdRef] = Field(default_factory=list)  # the lower bodies among the units: what they are asked by
    checklist: list[ChecklistItem]
    carried: list[CarriedItem] = Field(default_factory=list)
    carried_from: IdRef | None = None
    created_by: IdRef
    created_by_name: str
    # Another leader of the body approves it before it starts (nobody approves their own); records made before
    # the approval step have no status stored and count as running.
    status: CampaignStatus = "running"
    approved_by_name: str | None = None
    approved_at: UtcDateTime | None = None
    report_due_on: str | None = None  # the units' default report deadline (None: the period's end)
    remind_working_days: int = 2  # warn a unit that has not reported this many working days before its deadline
    next_check_on: str | None = None  # the earliest day the beat has something to do for it (a warning or an overdue flag)
    closed_at: UtcDateTime | None = None
    closed_by_name: str | None = None
    closing_note: str = ""
    closing_summary: dict | None = None  # what was still open when the owner closed it (units not reported, open items)
    revision: int = 0

    class Settings:
        name = "campaigns"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("period_start", ASCENDING)]),
            IndexModel([("unit_tenant_ids", ASCENDING), ("period_start", ASCENDING)]),  # the campaigns a lower body is in
            IndexModel([("outbox_pending", ASCENDING)]),  # the event sweeper's question, across tenants
            IndexModel([("next_check_on", ASCENDING)]),  # the beat's one question over every tenant's campaigns
        ]

    def unit(self, key: str) -> CampaignUnit | None:
        return next((u for u in self.units if u.key == key), None)

    def due_of(self, unit: CampaignUnit) -> str:
        """A unit's report deadline: its own, else the campaign's, else the period's end."""
        return unit.due_on or self.report_due_on or self.period_end


class ItemResult(BaseModel):
    item_key: str  # a checklist item's key, or a carried item's
    risk: bool  # a risk found (for a carried item: still there)
    description: str = ""
    measures: str = ""
    resolved: bool = False  # resolved by the measures taken: not carried over


class UnitReport(TenantDocument, CarriesEvents):
    """One unit's results in one campaign, reported up to the campaign's owner (``tenant_id``)."""

    campaign_id: IdRef
    unit_key: str
    reporter_tenant_id: IdRef
    reported_by: IdRef
    reported_by_name: str
    reported_at: UtcDateTime = Field(default_factory=utcnow)
    results: list[ItemResult]
    revision: int = 0

    class Settings:
        name = "campaign_reports"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("campaign_id", ASCENDING), ("unit_key", ASCENDING)], unique=True),
                   IndexModel([("outbox_pending", ASCENDING)])]

    def open_items(self) -> list[ItemResult]:
        return [r for r in self.results if r.risk and not r.resolved]


register_carrier(Campaign)
register_carrier(UnitReport)
