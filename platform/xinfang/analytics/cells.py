"""Pre-aggregated counts (cells), recounted whole from the facts, and the hierarchy's sums.

A cell holds the counts of one tenant for one day or one month (``AnalyticsCell``): keys "measure",
"measure|dim=value" and, in month cells, "measure|dim=value|dim=value" for each pair of dimensions of the measure's
subject. ``own`` cells count the tenant's own facts; ``tree`` cells (only for tenants with tenants below) are the own
cell plus each child's tree cell, so a province's dashboard reads one cell per period, not one per county.

A cell is stored in slices, one document per key family: a month cell as "" (the measures' totals), one slice per
dimension ("channel"), "pairs" and "region-pairs" (two dimensions, with the region or without); a day cell as "" and
"*" (every single dimension). A
report reads only the slice holding its dimensions (the national dashboard's totals are a few hundred bytes, not
every region's counts), and a change rewrites, and sends up the tree, only the slices whose numbers changed.

Keeping them right, whatever the order of events, retries, crashes, and workers running side by side:

* a fact change first MARKS its (tenant, month) dirty (``AnalyticsDirty``: ``seq`` + 1, ``own`` set), then writes;
* ``settle`` processes a mark: reads its ``seq``, recounts the tenant's own cells from its facts (and its tree cells
  from the children's, for the slices its children said changed: ``slices`` on the mark, or ``all``), notes on its
  own mark which slices it is about to change (``wrote``: a crash after the write still tells the parent), writes
  each slice only over one counted from an older ``seq`` (so a slow recount never overwrites a newer one), then
  marks the parent with those slices (after the write, so the parent's recount sees it), and clears the mark only
  if nobody marked it again meanwhile; then the parent, up to the root. A recount that changes nothing stops there;
* the beat sweep settles every mark still dirty (a crash between a mark and its recount).

A recount of the same data gives the same cell, so doing it twice changes nothing.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import itertools
import logging
from collections import Counter
from collections.abc import Iterable

from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from ..forms import regions
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


# -- the map's keys ----------------------------------------------------------------------------------
#
# The map of a view counts each petition in the place of that view its region code lies in (``boundaries.place_of``).
# Counted here for every view at once, as a chain: the province on the country's map, then the place on that
# province's map, then on that place's map (a prefecture's county). Keys "measure|map1=<province>" (or "?": no code the
# map knows, what the map calls unplaced) and "measure|map<k>=<view>><place>" for k = 2, 3; so the national map reads
# a few dozen keys a month, not every region code of the country (issue 14's national map: 28,000 keys a month).

MAP_MEASURES = ("received", "overdue")
UNPLACED = "?"
PROVINCE_PREFIXES = frozenset(code[:2] for code, _ in regions.children(""))


@functools.lru_cache(maxsize=50_000)
def map_chain(code: str) -> tuple[str, ...]:
    """The place a region ``code`` counts in on the country's map, on that place's map, and so on (() : unplaced)."""
    if not isinstance(code, str) or code not in regions.names():
        return ()
    from . import boundaries

    chain = [regions.path(code)[0]]  # the country's places are the provinces (place_of(code, NATIONAL), without the geo file)
    while len(chain) < 4:
        view = chain[-1]
        if not boundaries.known(view) or boundaries.level_of(view) == "county":
            break
        place = boundaries.place_of(code, view)
        if place is None or place == view:
            break
        chain.append(place)
    return tuple(chain)


def map_keys(code: str) -> list[tuple[str, str]]:
    """(dimension, value) of the map keys one region code counts under."""
    chain = map_chain(code)
    if not chain:
        return [("map1", UNPLACED)]
    return [("map1", chain[0])] + [(f"map{k + 1}", f"{chain[k - 1]}>{chain[k]}") for k in range(1, len(chain))]


def region_shard(value: str) -> str:
    """The shard of a region-keyed slice a region value falls in: its province's two digits, or "_" for the rest."""
    return value[:2] if value[:2] in PROVINCE_PREFIXES else "_"


SHARDS = tuple(sorted(PROVINCE_PREFIXES)) + ("_",)


def count_fact(counts: dict[str, Counter], fact: dict, grain: str) -> None:
    """Add one fact to ``counts`` (period -> Counter of keys) at ``grain`` day or month."""
    dims = DIMS.get(fact.get("subject"), ())
    values = {d: [v.replace("|", "/") for v in fact_values(fact, d)] for d in dims}
    mapped = [key for v in values["region"] for key in map_keys(v)] if "region" in values else []
    for measure, day in fact_measures(fact):
        period = day if grain == "day" else day[:7]
        c = counts.setdefault(period, Counter())
        c[measure] += 1
        for d in dims:
            for v in values[d]:
                c[f"{measure}|{d}={v}"] += 1
        if measure in MAP_MEASURES:
            for d, v in mapped:
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
        _hierarchy.drop("all")  # and not the load in flight: a fresh read
    return await _hierarchy.get("all", load)


# -- marks ------------------------------------------------------------------------------------------


def _mark_id(tenant_id: str, month: str) -> str:
    return f"{month}:{tenant_id}"


def _slice_id(scope: str, grain: str, period: str, tenant_id: str, name: str) -> str:
    return f"{scope}:{grain}:{period}:{tenant_id}/{name}"


def _mark_ops(months: Iterable[tuple[str, str]], own: bool, slices: Iterable[str], everything: bool) -> list[UpdateOne]:
    tokens = sorted(set(slices))
    update = {"$set": {"dirty": True, **({"own": True} if own else {}), **({"all": True} if everything else {})},
              "$inc": {"seq": 1}}
    if tokens:
        update["$push"] = {"slices": {"$each": tokens}}  # not $addToSet: the embedded store ignores it on a missing field
    return [UpdateOne({"_id": _mark_id(t, m)}, {**update, "$set": {**update["$set"], "tenant_id": t, "month": m}}, upsert=True)
            for t, m in sorted(set(months))]


async def mark(months: Iterable[tuple[str, str]], own: bool = True, slices: Iterable[str] = (), everything: bool = False) -> None:
    """These (tenant, month)s must be recounted (a month's day cells with it): ``own`` their facts changed; ``slices``
    (tokens "grain:period/slice") of the cells below changed; ``everything``: recount every slice of the tree too. One
    round trip."""
    operations = _mark_ops(months, own, slices, everything)
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


async def _mark_parent_and_clear(parent_ops: list[UpdateOne], clear: UpdateOne) -> None:
    """The parent's mark, then this mark cleared, in one ordered round trip (the clear never runs if the mark failed)."""
    for _ in range(5):
        try:
            await AnalyticsDirty.get_pymongo_collection().bulk_write([*parent_ops, clear], ordered=True)
            return
        except BulkWriteError as exc:  # the parent's new mark upserted by another worker at once: again (it exists now)
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 or e.get("index", 0) >= len(parent_ops) for e in errors):
                raise
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
        changed: set[str] = set()  # tokens of this tenant's own cell that changed
        if row.get("own"):
            changed = await recount_own(tenant_id, month, seq, row)
        upward = changed  # what the parent reads of this tenant: its tree cell if it has one, else its own
        if h.has_children(tenant_id):
            # An own slice changed now or by an attempt that crashed (``wrote``), or a child's: that slice of the tree.
            tokens = None if row.get("all") else changed | set(row.get("slices") or ()) | set(row.get("wrote") or ())
            upward = await recount_tree(tenant_id, month, seq, h, tokens, row)
        parent = h.parent.get(tenant_id)
        upward = upward | set(row.get("wrote") or ())  # what an attempt that crashed after its write changed
        parent_ops = (_mark_ops([(parent, month)], False, upward, bool(row.get("all")))
                      if parent and (upward or row.get("all")) else [])
        await _mark_parent_and_clear(parent_ops, UpdateOne(
            {"_id": row["_id"], "seq": seq}, {"$set": {"dirty": False, "own": False, "all": False, "slices": [], "wrote": []}}))
    return parent if parent and (upward or row.get("all")) else None


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


# -- slices -----------------------------------------------------------------------------------------


def slice_of(key: str, grain: str) -> str:
    """Which slice a count key belongs to: "" (a measure's total); in a month "dim" (one dimension), "pairs" (two,
    neither the region) or "region-pairs" (the region and another: the big one at upper bodies); in a day "*".
    Region-keyed month slices are stored per province ("region/32", "region-pairs/32", "_" for any other value), so
    a change in one province rewrites and sums up the tree only that province's part. Map keys: "map1" (in a day,
    with the totals ""), "map2/32", "map3/32" (in a day "map": a day holds few)."""
    parts = key.split("|")[1:]
    names = [part.partition("=")[0] for part in parts]
    if names and names[0].startswith("map"):
        value = parts[0].partition("=")[2]
        if names[0] == "map1":
            return "map1" if grain == "month" else ""
        return f"{names[0]}/{region_shard(value)}" if grain == "month" else "map"
    name = pair_slice(names, grain)
    if name in ("region", "region-pairs"):
        return f"{name}/{region_shard(parts[names.index('region')].partition('=')[2])}"
    return name


def pair_slice(names: list[str], grain: str) -> str:
    """The slice holding keys of these dimensions (rollups.slice_for asks the same)."""
    if not names:
        return ""
    if grain != "month":
        return "*"
    if len(names) == 1:
        return names[0]
    return "region-pairs" if "region" in names else "pairs"


def stored(name: str, grain: str = "month", region_values: Iterable[str] | None = None) -> list[str]:
    """The stored slices holding ``name``'s keys (``pair_slice``'s names): the per-province shards of a region-keyed
    one (only those of ``region_values`` when the region is filtered), else the one slice."""
    if grain == "month" and name in ("region", "region-pairs", "map2", "map3"):
        shards = sorted({region_shard(v) for v in region_values}) if region_values is not None else SHARDS
        return [f"{name}/{shard}" for shard in shards]
    return [name]


def slices_of(grain: str) -> list[str]:
    """Every slice a cell of this grain may have."""
    if grain == "day":
        return ["", "*", "map"]
    names = ["", *(d for dims in DIMS.values() for d in dims if d != "region"), "pairs", "map1"]
    return names + [n for base in ("region", "region-pairs", "map2", "map3") for n in stored(base)]


def _token(grain: str, period: str, name: str) -> str:
    return f"{grain}:{period}/{name}"


def _untoken(token: str) -> tuple[str, str, str]:
    where, _, name = token.partition("/")
    grain, _, period = where.partition(":")
    return grain, period, name


def _split(counts: Counter | dict, grain: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, n in counts.items():
        if n:
            out.setdefault(slice_of(key, grain), {})[key] = n
    return out


async def _write_slices(tenant_id: str, scope: str, wanted: dict[str, dict[str, int]], seq: int, row: dict | None,
                        existing: dict[str, dict] | None = None) -> set[str]:
    """Write these slices (token -> counts; an emptied slice is written empty, not deleted, so its seq still keeps an
    older recount from bringing old numbers back) unless a newer count is there. One read (none when the caller read
    ``existing``, _id -> document, already), one note on the mark of what is about to change (``row``: the mark being
    processed), one bulk write. Returns the tokens that changed."""
    collection = AnalyticsCell.get_pymongo_collection()
    ids = {token: _slice_id(scope, *_untoken(token)[:2], tenant_id, _untoken(token)[2]) for token in wanted}
    if existing is None:
        existing = {}
        id_list = list(ids.values())
        for start in range(0, len(id_list), 2000):
            async for doc in collection.find({"_id": {"$in": id_list[start:start + 2000]}}, projection={"counts": 1, "seq": 1}):
                existing[doc["_id"]] = doc
    operations, changed = [], set()
    for token, new in wanted.items():
        cell_id = ids[token]
        old = existing.get(cell_id)
        if old is None and not new:
            continue
        if old is not None and old.get("counts") == new:
            if old.get("seq", 0) < seq:  # same numbers from a newer mark: its seq, so an older recount cannot win later
                operations.append(UpdateOne({"_id": cell_id, "seq": {"$lt": seq}}, {"$set": {"seq": seq}}))
            continue
        if old is not None and old.get("seq", 0) > seq:
            continue
        grain, period, name = _untoken(token)
        document = {"_id": cell_id, "tenant_id": tenant_id, "scope": scope, "grain": grain, "period": period, "slice": name,
                    "counts": new, "seq": seq}
        # Upsert guarded by seq: where a newer count is there, the filter misses and the insert fails on the _id (ignored).
        operations.append(ReplaceOne({"_id": cell_id, "seq": {"$lte": seq}}, document, upsert=True))
        changed.add(token)
    if changed and row is not None:
        await AnalyticsDirty.get_pymongo_collection().update_one({"_id": row["_id"]},
                                                                 {"$push": {"wrote": {"$each": sorted(changed)}}})
    for start in range(0, len(operations), 1000):
        try:
            await collection.bulk_write(operations[start:start + 1000], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
    return changed


def _wanted(counts: dict[str, Counter], grain: str, periods: list[str]) -> dict[str, dict[str, int]]:
    out = {}
    for period in periods:
        split = _split(counts.get(period) or {}, grain)
        for name in slices_of(grain):
            out[_token(grain, period, name)] = split.get(name, {})
    return out


async def _write_cells(tenant_id: str, scope: str, grain: str, counts: dict[str, Counter], periods: list[str], seq: int,
                       row: dict | None = None) -> set[str]:
    """Every slice of these cells from ``counts`` (period -> Counter); returns the tokens that changed."""
    return await _write_slices(tenant_id, scope, _wanted(counts, grain, periods), seq, row)


async def insert_counts(tenant_id: str, scope: str, counts: dict[str, dict[str, Counter]]) -> None:
    """A bulk load's write (``service.load_cells``): every non-empty slice of ``counts`` (grain -> period -> Counter)
    inserted with seq 0 in unordered batches; a slice that exists already (counted from a mark) is left as it is."""
    documents = []
    for grain, periods in counts.items():
        for token, new in _wanted(periods, grain, sorted(periods)).items():
            if new:
                _, period, name = _untoken(token)
                documents.append({"_id": _slice_id(scope, grain, period, tenant_id, name), "tenant_id": tenant_id, "scope": scope,
                                  "grain": grain, "period": period, "slice": name, "counts": new, "seq": 0})
    collection = AnalyticsCell.get_pymongo_collection()
    for start in range(0, len(documents), 2000):
        try:
            await collection.insert_many(documents[start:start + 2000], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise


async def recount_own(tenant_id: str, month: str, seq: int, row: dict | None = None) -> set[str]:
    facts = await facts_of_month(tenant_id, month)
    wanted = {**_wanted(count_facts(facts, "month"), "month", [month]), **_wanted(count_facts(facts, "day"), "day", month_days(month))}
    return await _write_slices(tenant_id, "own", wanted, seq, row)


async def read_cells(tenant_ids: list[str], scope: str | dict[str, str], grain: str, periods: list[str],
                     slices: Iterable[str] | None = None, region_values: Iterable[str] | None = None) -> dict[tuple[str, str], dict]:
    """(tenant_id, period) -> counts, for these tenants' cells (scope: one for all, or tenant -> scope), reading only
    these slices (None: all; a report reads the one slice that holds its dimensions; a region-keyed one is read from
    each province's shard, or only those of ``region_values`` when the report filters the region)."""
    names = ([n for name in slices for n in stored(name, grain, region_values)] if slices is not None else slices_of(grain))
    ids = [_slice_id(scope if isinstance(scope, str) else scope[t], grain, p, t, name)
           for t in tenant_ids for p in periods for name in names]
    out: dict[tuple[str, str], dict] = {}
    collection = AnalyticsCell.get_pymongo_collection()
    for start in range(0, len(ids), 2000):
        async for doc in collection.find({"_id": {"$in": ids[start:start + 2000]}}, projection={"tenant_id": 1, "period": 1, "counts": 1}):
            counts = doc.get("counts") or {}
            key = (doc["tenant_id"], doc["period"])
            if key in out:
                out[key].update(counts)
            elif counts:
                out[key] = dict(counts)
    return out


async def recount_tree(tenant_id: str, month: str, seq: int, h: Hierarchy, tokens: set[str] | None = None,
                       row: dict | None = None) -> set[str]:
    """The tree cell's slices named by ``tokens`` (None: every slice of the month) summed again from the own cell and
    each child's cell. One read by _id: the members' slices and the tree's own (to compare with) together. Returns
    the tokens that changed."""
    children = h.children.get(tenant_id, [])
    scopes = {tenant_id: "own", **{c: h.cell_scope(c) for c in children}}
    existing: dict[str, dict] = {}
    if tokens is None:
        tokens = {_token("month", month, name) for name in slices_of("month")}
        tokens |= {_token("day", day, name) for day in month_days(month) for name in slices_of("day")}
    ids = {}
    for token in tokens:
        grain, period, name = _untoken(token)
        for member, scope in scopes.items():
            ids[_slice_id(scope, grain, period, member, name)] = token
    mine = {_slice_id("tree", *_untoken(token)[:2], tenant_id, _untoken(token)[2]) for token in tokens}
    sums: dict[str, Counter] = {token: Counter() for token in tokens}
    id_list = list(ids) + sorted(mine)
    collection = AnalyticsCell.get_pymongo_collection()
    for start in range(0, len(id_list), 2000):
        async for doc in collection.find({"_id": {"$in": id_list[start:start + 2000]}}, projection={"counts": 1, "seq": 1}):
            if doc["_id"] in mine:
                existing[doc["_id"]] = doc
            else:
                sums[ids[doc["_id"]]].update(doc.get("counts") or {})
    return await _write_slices(tenant_id, "tree", {t: {k: v for k, v in c.items() if v} for t, c in sums.items()}, seq, row,
                               existing)


async def dirty_marks(limit: int = 5000) -> list[tuple[str, str]]:
    return [(row["tenant_id"], row["month"]) async for row in
            AnalyticsDirty.get_pymongo_collection().find({"dirty": True}, projection={"tenant_id": 1, "month": 1}).limit(limit)]


async def settle_all(limit: int = 5000) -> int:
    """The sweep's part: every mark still dirty (a crash between a mark and its recount). Returns how many."""
    marks = await dirty_marks(limit)
    await settle(marks)
    return len(marks)
