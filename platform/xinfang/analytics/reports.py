"""What a report asks and what it answers: the contract between the rollups and everything that shows numbers.

A report is measures x dimensions over a period, with filters, for a viewer tenant, optionally including the
tenants below it (a prefecture: itself and each county). Everything that shows a number (dashboard, free
report, exports, charts, map, forecasts, alerts) asks through ``run_report`` / ``daily_counts`` /
``counts_by_region`` (implemented in ``rollups.py``) and never reads petitions or cards itself, so a number and
its drill-down list (``drill_down``) always agree.

Measures (flows are counted on the day they happened, in the tenant's own zone):
    received        petitions received (by the date received: registration's received date or submission)
    closed          petitions that reached a final state (by the day they did)
    overdue         petitions received in the period that are (or were, when closed) past their time limit
    open_now        petitions not in a final state now (a stock: the period filters by date received)
    cards_issued    supervision cards issued (by the day issued)
    actions_taken   supervision actions issued (talks, notices, meetings; by the day issued)
    repeats         petitions received that were linked as a likely repeat of an earlier one
    collective      petitions received that belong to a collective matter (集体访)

Dimensions:
    day, week, month  the time axis (weeks start on Monday; dates in the tenant's zone)
    tenant            the tenant itself or the one below it that the number belongs to (hierarchy)
    channel, category, form, region, state, source    of petitions (source: citizen online / registered by staff / imported)
    card_type, colour, result, action_form            of supervisions (action_form: talks / notices / meetings)
A measure of petitions by a supervision dimension (or the other way round) is refused with a clear 422.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Measure = Literal["received", "closed", "overdue", "open_now", "cards_issued", "actions_taken", "repeats", "collective"]
Dimension = Literal["day", "week", "month", "tenant", "channel", "category", "form", "region", "state", "source",
                    "card_type", "colour", "result", "action_form"]
PETITION_MEASURES = ("received", "closed", "overdue", "open_now", "repeats", "collective")
SUPERVISION_MEASURES = ("cards_issued", "actions_taken")
PETITION_DIMENSIONS = ("channel", "category", "form", "region", "state", "source")
SUPERVISION_DIMENSIONS = ("card_type", "colour", "result", "action_form")
TIME_DIMENSIONS = ("day", "week", "month")


class ReportSpec(BaseModel):
    """A free report as a person composes it (and saves it: ``SavedReport.spec``)."""

    measures: list[Measure] = Field(min_length=1, max_length=6)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=2)
    filters: dict[str, list[str]] = Field(default_factory=dict)  # dimension -> values kept (OR within, AND across)
    start: date  # first day of the period, inclusive
    end: date  # last day, inclusive
    compare: list[Literal["previous", "last_year"]] = Field(default_factory=list)  # 环比 / 同比
    include_lower: bool = True  # the viewer tenant and every tenant below it


class ReportCell(BaseModel):
    """One row: the dimension values (codes, with their words in ``labels``) and each measure's numbers."""

    key: dict[str, str]  # dimension -> value code ("2026-11", "visit", a tenant id, a region code ...)
    labels: dict[str, dict[str, str]]  # dimension -> {"zh": ..., "en": ...}: what a person reads instead of the code
    values: dict[str, int]  # measure -> count in the period
    previous: dict[str, int] = Field(default_factory=dict)  # measure -> count in the period before (same length)
    last_year: dict[str, int] = Field(default_factory=dict)  # measure -> count in the same period a year earlier


class ReportResult(BaseModel):
    spec: ReportSpec
    rows: list[ReportCell]
    totals: ReportCell  # key {} : the whole period
    previous_period: tuple[date, date] | None = None
    last_year_period: tuple[date, date] | None = None
    tenants: list[str] = Field(default_factory=list)  # the tenant ids counted (viewer first, then those below)


class DrillCase(BaseModel):
    """One case behind a number: what a list row shows and where its link goes (only if the viewer may open it)."""

    subject: Literal["petition", "supervision"]
    subject_id: str
    tenant_id: str
    number: str  # case number or document number
    title: str  # never the petitioner's identity
    day: date
    state: dict[str, str]  # {"zh", "en"}
    href: str | None = None  # None where the viewer's roles cannot follow it (another tenant's case)
