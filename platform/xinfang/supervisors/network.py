"""The supervisor network's statistics (监督员网络统计) for an upper body: per body below it, how many village
supervisors, how many petitions they relayed this month and this year, their follow-ups this year, and how many of
this year's relays are closed. Counted in Python from indexed finds (one per body and collection): the embedded
store's $group is not type-faithful, so it is never used."""

from __future__ import annotations

from datetime import datetime, time

from ..auth.models import Role, StaffAccount
from ..petitions.service import petition_workflows
from ..store.scoped import TenantScope
from ..tenancy.models import Tenant
from ..tenancy.service import descendants_of
from ..timefmt import zone
from ..store.documents import utcnow
from .models import FollowUp, Relay
from .service import petitions_by_id

MEASURES = ("supervisors", "relays_month", "relays_year", "follow_ups_year", "closed_year")
MEASURE_NAMES = {
    "supervisors": {"zh": "信访监督员（人）", "en": "Supervisors"},
    "relays_month": {"zh": "本月代为反映（件）", "en": "Relayed this month"},
    "relays_year": {"zh": "本年代为反映（件）", "en": "Relayed this year"},
    "follow_ups_year": {"zh": "本年回访（次）", "en": "Follow-ups this year"},
    "closed_year": {"zh": "本年代为反映已办结（件）", "en": "This year's relays closed"},
}


def period_starts(tenant: Tenant, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The first moment of this month and of this year in the upper body's own time zone."""
    here = (now or utcnow()).astimezone(zone(tenant.settings.time_zone))
    month = datetime.combine(here.date().replace(day=1), time(0), here.tzinfo)
    year = datetime.combine(here.date().replace(month=1, day=1), time(0), here.tzinfo)
    return month, year


async def _closed(relays: list[Relay]) -> int:
    """How many of these relays' petitions are in a terminal state of their own workflow, wherever they are now."""
    if not relays:
        return 0
    found = list((await petitions_by_id([r.id for r in relays])).values())
    closed = 0
    for holder in {p.tenant_id for p in found}:
        theirs = [p for p in found if p.tenant_id == holder]
        workflows = await petition_workflows(TenantScope(holder), theirs)
        closed += sum(1 for p in theirs if p.state in set(workflows[p.workflow_version].terminal_states()))
    return closed


async def body_counts(tenant: Tenant, month_start: datetime, year_start: datetime) -> dict[str, int]:
    scope = TenantScope(tenant.id)
    staff = await scope.repo(StaffAccount).find({"active": True}).to_list()
    relays = await scope.repo(Relay).find({"relayed_at": {"$gte": year_start}}).to_list()
    follow_ups = await scope.repo(FollowUp).find({"recorded_at": {"$gte": year_start}}).to_list()
    return {
        "supervisors": sum(1 for a in staff if Role.VILLAGE_SUPERVISOR in a.roles),
        "relays_month": sum(1 for r in relays if r.relayed_at >= month_start),
        "relays_year": len(relays),
        "follow_ups_year": len(follow_ups),
        "closed_year": await _closed(relays),
    }


async def network_statistics(tenant: Tenant, now: datetime | None = None) -> dict:
    """One row per body below ``tenant`` (parents before children, with their depth), each with its own counts and its
    counts with every body below it (含下级); the whole network's total."""
    month_start, year_start = period_starts(tenant, now)
    below = await descendants_of(tenant)
    own = {str(t.id): await body_counts(t, month_start, year_start) for t in below}
    depth_of = {str(t.id): len(t.ancestor_ids) - len(tenant.ancestor_ids) for t in below}
    order = _tree_order(tenant, below)
    rows = []
    for body in order:
        key = str(body.id)
        inside = [str(t.id) for t in below if key in t.ancestor_ids or str(t.id) == key]
        rows.append({"id": key, "slug": body.slug, "name": body.name.model_dump(), "level": body.level.value, "depth": depth_of[key],
                     "own": own[key], "total": {m: sum(own[i][m] for i in inside) for m in MEASURES}})
    return {"tenant": tenant.name.model_dump(), "month_start": month_start.isoformat(), "year_start": year_start.isoformat(),
            "measures": {m: MEASURE_NAMES[m] for m in MEASURES}, "rows": rows,
            "total": {m: sum(c[m] for c in own.values()) for m in MEASURES}}


def _tree_order(top: Tenant, below: list[Tenant]) -> list[Tenant]:
    """Bodies depth first, each followed by those under it, by slug among siblings."""
    children: dict[str, list[Tenant]] = {}
    for body in below:
        children.setdefault(str(body.parent_id), []).append(body)
    ordered: list[Tenant] = []

    def visit(parent_id: str) -> None:
        for body in sorted(children.get(parent_id, []), key=lambda t: t.slug):
            ordered.append(body)
            visit(str(body.id))
    visit(str(top.id))
    return ordered
