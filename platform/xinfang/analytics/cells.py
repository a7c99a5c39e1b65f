"""Pre-aggregated counts (cells), recounted whole from the facts, and the hierarchy's sums.

A cell holds the counts of one tenant for one day or one month (``AnalyticsCell``): keys "measure",
"measure|dim=value" and, in month cells, "measure|dim=value|dim=value" for each pair of dimensions of the measure's
subject. ``own`` cells count the tenant's own facts; ``tree`` cells (only for tenants with tenants below) are the own
cell plus each child's tree cell, so a province's dashboard reads one cell per period, not one per county.

Keeping them right, whatever the order of events, retries, crashes, and workers running side by side:

* a fact change first MARKS its (tenant, month) dirty (``AnalyticsDirty``: ``seq`` + 1, ``own`` set), then writes;
* ``settle`` processes a mark: reads its ``seq``, recounts the tenant's own cells from its facts and its tree cells
  from the children's, writes each cell only over a cell counted from an older ``seq`` (so a slow recount never
  overwrites a newer one), then marks the parent (after the write, so the parent's recount sees it), and clears the
  mark only if nobody marked it again meanwhile; then the parent, up to the root;
* the beat sweep settles every mark still dirty (a crash between a mark and its recount).

A recount of the same data gives the same cell, so doing it twice changes nothing.
"""

from __future__ import annotations

import asyncio
import calendar
import itertools
import logging
from collections import Counter
from collections.abc import Iterable

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ..store.cache import TtlCache
from ..tenancy.models import Tenant
from .models import AnalyticsCell, AnalyticsDirty, AnalyticsFact
from .reports import PETITION_DIMENSIONS, SUPERVISION_DIMENSIONS

log = logging.getLogger(__name__)

DIMS = {"petition": PETITION_DIMENSIONS, "supervision": SUPERVISION_DIMENSIONS}
FACT_FIELD = {"channel": "channel", "category": "categories", "form": "form", "region": "region", "state": "state",
              "source": "source", "card_type": "card_type", "colour": "colour", "result": "result", "action_form": "action_form"}


# -- what a fact counts ----------------------------------------------------------------------------


def fact_values(fact: dict, dim: str) -> list[str]:
    """The values a fact has for a dimension (a petition may have several categories; none counts as "")."""
    value = fact.get(FACT_FIELD[dim])
    if isinstance(value, list):
        return value or [""]
    return [value or ""]


def fact_measures(fact: dict) -> list[tuple[str, str]]:
    """(measure, day counted on) for each measure this fact adds one to."""
    out = []
    day = fact.get("day")
    if fact.get("subject") == "petition":
        if fact.get("due_month") and fact.get("due_on"):
            out.append(("due_open", fact["due_on"][:10]))  # internal: open petitions by the day their time limit ends
        if day:
            out.append(("received", day))
            if fact.get("overdue"):
                out.append(("overdue", day))
            if fact.get("open"):
                out.append(("open_now", day))
                if fact.get("overdue"):
                    out.append(("open_overdue", day))  # internal: the dashboard's "overdue now"
            if fact.get("repeat"):
                out.append(("repeats", day))
            if fact.get("collective"):
                out.append(("collective", day))
        if fact.get("closed_day"):
            out.append(("closed", fact["closed_day"]))
    elif day and fact.get("counted"):
        out.append(("cards_issued" if fact.get("kind") == "card" else "actions_taken", day))
    return out


def count_fact(counts: dict[str, Counter], fact: dict, grain: str) -> None:
    """Add one fact to ``counts`` (period -> Counter of keys) at ``grain`` day or month."""
    dims = DIMS.get(fact.get("subject"), ())
    values = {d: [v.replace("|", "/") for v in fact_values(fact, d)] for d in dims}
    for measure, day in fact_measures(fact):
        period = day if grain == "day" else day[:7]
        c = counts.setdefault(period, Counter())
        c[measure] += 1
        for d in dims:
            for v in values[d]:
                c[f"{measure}|{d}={v}"] += 1
        if grain == "month":
            for d1, d2 in itertools.combinations(dims, 2):
                for v1 in values[d1]:
                    for v2 in values[d2]:
                        c[f"{measure}|{d1}={v1}|{d2}={v2}"] += 1


def count_facts(facts: Iterable[dict], grain: str) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for fact in facts:
        count_fact(counts, fact, grain)
    return counts


# -- the hierarchy ----------------------------------------------------------------------------------


class Hierarchy:
    def __init__(self, tenants: list[dict]):
        self.parent = {str(t["_id"]): t.get("parent_id") for t in tenants}
        self.children: dict[str, list[str]] = {}
        self.active = {str(t["_id"]) for t in tenants if t.get("active", True)}
        for t in tenants:
            if t.get("parent_id") and t.get("active", True):
                self.children.setdefault(t["parent_id"], []).append(str(t["_id"]))

    def has_children(self, tenant_id: str) -> bool:
        return bool(self.children.get(tenant_id))

    def ancestors(self, tenant_id: str) -> list[str]:
        """Parent first, up to the root."""
        out, seen = [], {tenant_id}
        current = self.parent.get(tenant_id)
        while current and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.parent.get(current)
        return out

    def subtree(self, tenant_id: str) -> list[str]:
        out, queue = [], [tenant_id]
        while queue:
            current = queue.pop(0)
            out.append(current)
            queue.extend(self.children.get(current, []))
        return out

    def cell_scope(self, tenant_id: str) -> str:
        """Which cells hold a tenant with everything below it: its tree cells, or (a leaf) its own."""
        return "tree" if self.has_children(tenant_id) else "own"


_hierarchy = TtlCache(15.0)


async def hierarchy(fresh: bool = False) -> Hierarchy:
    async def load():
        rows = [t async for t in Tenant.get_pymongo_collection().find({}, projection={"parent_id": 1, "active": 1})]
        return Hierarchy(rows)
    if fresh:
        _hierarchy._entries.clear()
    return await _hierarchy.get("all", load)


# -- marks ------------------------------------------------------------------------------------------


def _mark_id(tenant_id: str, month: str) -> str:
    return f"{month}:{tenant_id}"


def _cell_id(scope: str, grain: str, period: str, tenant_id: str) -> str:
    return f"{scope}:{grain}:{period}:{tenant_id}"


async def mark(months: Iterable[tuple[str, str]], days: Iterable[tuple[str, str]] = (), own: bool = True) -> None:
    """These (tenant, month)s must be recounted (own: their facts changed). One round trip."""
    operations = [UpdateOne({"_id": _mark_id(t, m)}, {"$set": {"tenant_id": t, "month": m, "dirty": True,
                                                               **({"own": True} if own else {})}, "$inc": {"seq": 1}},
                            upsert=True) for t, m in sorted(set(months))]
    for _ in range(5):
        if not operations:
            return
        try:
            await AnalyticsDirty.get_pymongo_collection().bulk_write(operations, ordered=False)
            return
        except BulkWriteError as exc:  # two upserts of one new mark at once: the loser's is retried (it exists now)
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            operations = [operations[e["index"]] for e in errors]
    raise RuntimeError("could not mark the analytics cells dirty")


_locks: dict[str, asyncio.Lock] = {}


def _lock(key: str) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        if len(_locks) > 10_000:
            _locks.clear()
        lock = _locks[key] = asyncio.Lock()
    return lock


async def settle(months: Iterable[tuple[str, str]]) -> None:
    """Recount these (tenant, month)s and everything above them, deepest first. Idempotent."""
    pending = set(months)
    h = await hierarchy()
    if any(tenant_id not in h.parent for tenant_id, _ in pending):  # a tenant newer than the cached tree
        h = await hierarchy(fresh=True)
    while pending:
        # Deepest first: a parent is recounted once after all its children in this batch.
        depth = {key: len(h.ancestors(key[0])) for key in pending}
        key = max(pending, key=lambda k: (depth[k], k))
        pending.discard(key)
        parent = await settle_one(*key, h=h)
        if parent is not None:
            pending.add((parent, key[1]))


async def settle_one(tenant_id: str, month: str, h: Hierarchy | None = None) -> str | None:
    """Process one mark: recount, mark the parent, clear. Returns the parent to settle next (None: nothing to do)."""
    h = h or await hierarchy()
    marks = AnalyticsDirty.get_pymongo_collection()
    async with _lock(_mark_id(tenant_id, month)):
        row = await marks.find_one({"_id": _mark_id(tenant_id, month)})
        if row is None or not row.get("dirty"):
            return None
        seq = row.get("seq", 0)
        if row.get("own"):
            await recount_own(tenant_id, month, seq)
        if h.has_children(tenant_id):
            await recount_tree(tenant_id, month, seq, h)
        parent = h.parent.get(tenant_id)
        if parent:
            await mark([(parent, month)], own=False)
        await marks.update_one({"_id": row["_id"], "seq": seq}, {"$set": {"dirty": False, "own": False}})
    return parent


def month_days(month: str) -> list[str]:
    year, mon = int(month[:4]), int(month[5:7])
    return [f"{month}-{d:02d}" for d in range(1, calendar.monthrange(year, mon)[1] + 1)]


async def facts_of_month(tenant_id: str, month: str) -> list[dict]:
    """The tenant's facts counted in this month (received or closed in it), each once."""
    collection = AnalyticsFact.get_pymongo_collection()
    found: dict = {}
    for field in ("month", "closed_month", "due_month"):
        for subject in ("petition", "supervision"):
            if subject == "supervision" and field != "month":
                continue
            async for fact in collection.find({"tenant_id": {"$eq": tenant_id}, "subject": subject, field: month}):
                found[fact["_id"]] = fact
    return list(found.values())


async def _write_cells(tenant_id: str, scope: str, grain: str, counts: dict[str, Counter], periods: list[str], seq: int) -> None:
    """Write these cells (an empty Counter deletes nothing: it writes zeros away) unless a newer count is there."""
    collection = AnalyticsCell.get_pymongo_collection()
    existing = {}
    ids = [_cell_id(scope, grain, p, tenant_id) for p in periods]
    async for row in collection.find({"_id": {"$in": ids}}, projection={"counts": 1, "seq": 1}):
        existing[row["_id"]] = row
    for period, cell_id in zip(periods, ids):
        new = {k: v for k, v in (counts.get(period) or {}).items() if v}
        old = existing.get(cell_id)
        if old is not None and (old.get("seq", 0) > seq or (old.get("counts") == new)):
            if old.get("counts") == new and old.get("seq", 0) < seq:
                await collection.update_one({"_id": cell_id, "seq": {"$lt": seq}}, {"$set": {"seq": seq}})
            continue
        if old is None and not new:
            continue
        document = {"_id": cell_id, "tenant_id": tenant_id, "scope": scope, "grain": grain, "period": period, "counts": new, "seq": seq}
        try:
            if old is None:
                await collection.insert_one(document)
            else:
                await collection.replace_one({"_id": cell_id, "seq": {"$lte": seq}}, document)
        except DuplicateKeyError:  # another recount inserted it meanwhile: its seq decides (next settle)
            await collection.replace_one({"_id": cell_id, "seq": {"$lt": seq}}, document)


async def recount_own(tenant_id: str, month: str, seq: int) -> None:
    facts = await facts_of_month(tenant_id, month)
    await _write_cells(tenant_id, "own", "month", count_facts(facts, "month"), [month], seq)
    await _write_cells(tenant_id, "own", "day", count_facts(facts, "day"), month_days(month), seq)


async def read_cells(tenant_ids: list[str], scope: str | dict[str, str], grain: str, periods: list[str],
                     projection: list[str] | None = None) -> dict[tuple[str, str], dict]:
    """(tenant_id, period) -> counts, for these tenants' cells (scope: one for all, or tenant -> scope)."""
    ids = [_cell_id(scope if isinstance(scope, str) else scope[t], grain, p, t) for t in tenant_ids for p in periods]
    out: dict[tuple[str, str], dict] = {}
    collection = AnalyticsCell.get_pymongo_collection()
    for start in range(0, len(ids), 2000):
        async for row in collection.find({"_id": {"$in": ids[start:start + 2000]}}, projection={"tenant_id": 1, "period": 1, "counts": 1}):
            out[(row["tenant_id"], row["period"])] = row.get("counts") or {}
    return out


async def recount_tree(tenant_id: str, month: str, seq: int, h: Hierarchy) -> None:
    children = h.children.get(tenant_id, [])
    scopes = {tenant_id: "own", **{c: h.cell_scope(c) for c in children}}
    members = [tenant_id, *children]
    for grain, periods in (("month", [month]), ("day", month_days(month))):
        cells = await read_cells(members, scopes, grain, periods)
        counts: dict[str, Counter] = {}
        for (_, period), values in cells.items():
            counts.setdefault(period, Counter()).update(values)
        await _write_cells(tenant_id, "tree", grain, counts, periods, seq)


async def dirty_marks(limit: int = 5000) -> list[tuple[str, str]]:
    return [(row["tenant_id"], row["month"]) async for row in
            AnalyticsDirty.get_pymongo_collection().find({"dirty": True}, projection={"tenant_id": 1, "month": 1}).limit(limit)]


async def settle_all(limit: int = 5000) -> int:
    """The sweep's part: every mark still dirty (a crash between a mark and its recount). Returns how many."""
    marks = await dirty_marks(limit)
    await settle(marks)
    return len(marks)


async def claim(tenant_id: str, month: str) -> int:
    """Mark once more and return the new seq (the rebuild's recount runs under it)."""
    row = await AnalyticsDirty.get_pymongo_collection().find_one_and_update(
        {"_id": _mark_id(tenant_id, month)}, {"$set": {"tenant_id": tenant_id, "month": month, "dirty": True, "own": True},
                                               "$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    return row["seq"]
