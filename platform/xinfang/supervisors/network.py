"""The supervisor network's statistics (监督员网络统计) for an upper body: per body below it, how many village
supervisors, how many petitions they relayed this month and this year, their follow-ups this year, and how many of
this year's relays are closed. Counted in Python from a bounded number of indexed finds (per collection one ``$in``
over the bodies' ids, 500 ids a query), never one per body: the embedded store's $group is not type-faithful, so it is
never used."""

from __future__ import annotations

from datetime import datetime, time, timezone

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


CHUNK = 500  # body ids per $in: a prefecture's few hundred bodies are one query per collection


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)] or [[]]


async def _rows(model, query: dict, ids: list[str], fields: dict) -> list[dict]:
    """Raw rows of ``model`` (only ``fields``) of these bodies: one find per CHUNK ids (``tenant_id: {$in}``)."""
    rows: list[dict] = []
    for chunk in _chunks(ids):
        if chunk:
            cursor = model.get_pymongo_collection().find({"tenant_id": {"$in": chunk}, **query}, {"tenant_id": 1, **fields})
            rows += [row async for row in cursor]
    return rows


async def _closed_ids(petition_ids: list) -> set[str]:
    """Which of these petitions are in a terminal state of their own workflow, wherever they are now (one find for the
    petitions, then each holder's workflow versions, cached by petition_workflows)."""
    if not petition_ids:
        return set()
    found = list((await petitions_by_id(petition_ids)).values())
    closed: set[str] = set()
    for holder in {p.tenant_id for p in found}:
        theirs = [p for p in found if p.tenant_id == holder]
        workflows = await petition_workflows(TenantScope(holder), theirs)
        closed |= {str(p.id) for p in theirs if p.state in set(workflows[p.workflow_version].terminal_states())}
    return closed


async def bodies_counts(bodies: list[Tenant], month_start: datetime, year_start: datetime) -> dict[str, dict[str, int]]:
    """Each body's own counts, read with a bounded number of queries whatever the number of bodies: per collection one
    ``$in`` find over the bodies' ids (per CHUNK), counted in Python (the embedded store's $group is not type-faithful)."""
    ids = [str(b.id) for b in bodies]
    counts = {key: {m: 0 for m in MEASURES} for key in ids}
    for row in await _rows(StaffAccount, {"active": True, "roles": {"$in": [Role.VILLAGE_SUPERVISOR.value]}}, ids, {"roles": 1}):
        if Role.VILLAGE_SUPERVISOR.value in (row.get("roles") or []) and row["tenant_id"] in counts:
            counts[row["tenant_id"]]["supervisors"] += 1
    relays = await _rows(Relay, {"relayed_at": {"$gte": year_start}}, ids, {"relayed_at": 1})
    month_utc = month_start.astimezone(timezone.utc).replace(tzinfo=None)
    closed = await _closed_ids([row["_id"] for row in relays])
    for row in relays:
        mine = counts.get(row["tenant_id"])
        if mine is None:
            continue
        at = row["relayed_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at  # a datetime the store kept as text
        at = at.astimezone(timezone.utc).replace(tzinfo=None) if getattr(at, "tzinfo", None) else at
        mine["relays_year"] += 1
        mine["relays_month"] += 1 if at >= month_utc else 0
        mine["closed_year"] += 1 if str(row["_id"]) in closed else 0
    for row in await _rows(FollowUp, {"recorded_at": {"$gte": year_start}}, ids, {}):
        if row["tenant_id"] in counts:
            counts[row["tenant_id"]]["follow_ups_year"] += 1
    return counts


async def body_counts(tenant: Tenant, month_start: datetime, year_start: datetime) -> dict[str, int]:
    """One body's own counts (bodies_counts of one)."""
    return (await bodies_counts([tenant], month_start, year_start))[str(tenant.id)]


async def network_statistics(tenant: Tenant, now: datetime | None = None) -> dict:
    """One row per body below ``tenant`` (parents before children, with their depth), each with its own counts and its
    counts with every body below it (含下级); the whole network's total."""
    month_start, year_start = period_starts(tenant, now)
    below = await descendants_of(tenant)
    own = await bodies_counts(below, month_start, year_start)
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
