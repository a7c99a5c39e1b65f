"""What the analytics plugin stores: one fact per petition or supervision, pre-aggregated cells, dirty marks.

Dates are ISO strings ("2026-11-03"), never datetimes: the embedded store turns a datetime written by ``$set``
into a string (STACK.md), and a day in the tenant's own zone is what every number is counted by anyway.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from ..store.documents import TenantDocument


class AnalyticsFact(TenantDocument):
    """The numbers' view of one petition or supervision, recomputed from the CURRENT entity on each of its events
    (``facts.refresh``), so the order events arrive in and their retries change nothing. ``_id`` is the entity's id;
    ``tenant_id`` is where the entity is now (a petition that moved counts at its new body)."""

    subject: str  # petition | supervision
    day: str | None = None  # received (petition) / issued (supervision), in the tenant's zone; None: not counted
    month: str | None = None  # day[:7]
    closed_day: str | None = None  # reached a final state (petition), in the tenant's zone
    closed_month: str | None = None
    due_on: str | None = None
    due_month: str | None = None  # open petitions: the month of due_on (the "due this week" count)
    overdue: bool = False
    open: bool = False  # petition not in a final state now
    channel: str = ""
    categories: list[str] = []
    form: str = ""
    region: str = ""
    state: str = ""
    source: str = ""
    repeat: bool = False
    collective: bool = False
    kind: str = ""  # supervision: card | action
    card_type: str = ""
    colour: str = ""
    result: str = ""
    action_form: str = ""  # talks | notices | meetings
    counted: bool = False  # supervision: issued (an action that is a talk: with its written record)
    number: str = ""
    title: str = ""

    class Settings:
        name = "analytics_facts"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("subject", ASCENDING), ("day", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("subject", ASCENDING), ("closed_day", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("subject", ASCENDING), ("month", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("subject", ASCENDING), ("closed_month", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("subject", ASCENDING), ("due_month", ASCENDING)]),
            # The daily sweep's question: open petitions whose time limit has passed but whose fact says not overdue.
            IndexModel([("tenant_id", ASCENDING), ("open", ASCENDING), ("overdue", ASCENDING), ("due_on", ASCENDING)]),
            IndexModel([("open", ASCENDING), ("overdue", ASCENDING), ("due_on", ASCENDING)]),  # the beat: due in any tenant
        ]


class AnalyticsCell(TenantDocument):
    """Counts of one tenant for one day or month: ``counts`` maps "measure", "measure|dim=value" and (months)
    "measure|dim=value|dim=value" to a number. ``scope`` own: the tenant's own facts; tree: itself and every tenant
    below it (own + each child's tree cell). Stored in slices: ``_id`` is "scope:grain:period:tenant_id/slice", where
``slice`` names the dimensions of its keys ("" totals, "channel", "pairs", "region-pairs"; in days "*"). Recounted whole, never
    incremented (``cells.recount``), so a recount twice gives the same cell."""

    id: str | None = None  # type: ignore[assignment]
    scope: str  # own | tree
    grain: str  # day | month
    period: str  # "2026-11-03" or "2026-11"
    slice: str = ""
    counts: dict[str, int] = {}
    seq: int = 0  # the dirty mark's sequence this was counted from: an older count never overwrites a newer one

    class Settings:
        name = "analytics_cells"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("scope", ASCENDING), ("grain", ASCENDING), ("period", ASCENDING)])]


class AnalyticsDirty(TenantDocument):
    """A tenant's month whose cells must be recounted. ``seq`` grows with every mark; processing clears ``dirty``
    only if nobody marked it again meanwhile. ``_id`` is "month:tenant_id"."""

    id: str | None = None  # type: ignore[assignment]
    month: str
    dirty: bool = True
    seq: int = 0
    days: list[str] = []  # the days of the month whose day cells are to be recounted ([] with ``all_days``)
    all_days: bool = False

    class Settings:
        name = "analytics_dirty"
        indexes = [IndexModel([("dirty", ASCENDING), ("tenant_id", ASCENDING)])]
