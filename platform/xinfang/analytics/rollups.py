"""Answering reports: from the pre-aggregated cells where they hold the answer, else from the facts.

Every number shown anywhere comes through here (``run_report``, ``daily_counts``, ``counts_by_region``,
``snapshot``), and the list behind a number through ``drill_down``, which applies the same predicate to the facts the
cells were counted from: a number and its list agree.

Which cells: the period is cut into whole months (month cells) and the days at its edges (day cells); a day or week
axis reads day cells. Day cells hold each measure by one dimension; month cells also by each pair of dimensions. A
report that needs more (three dimensions and filters together, a pair on day cells, several categories at once,
since a petition may have more than one) is counted from the facts instead: the same numbers, only slower.

Hierarchy: a viewer with ``include_lower`` counts itself and every tenant below; with the "tenant" dimension each row
is the viewer's own facts or one child with everything below it (the child's tree cell).
"""

from __future__ import annotations

import asyncio

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..errors import InvalidInput
from ..tenancy.models import Tenant
from .cells import DIMS, MAP_MEASURES, Hierarchy, fact_measures, fact_values, hierarchy, pair_slice, read_cells
from .facts import week_of
from .labels import MEASURE_NAMES, Labeller
from .models import AnalyticsFact
from .reports import (PETITION_DIMENSIONS, PETITION_MEASURES, SUPERVISION_DIMENSIONS, SUPERVISION_MEASURES, TIME_DIMENSIONS,
                      DrillCase, ReportCell, ReportResult, ReportSpec)

MAX_YEARS = 10
INTERNAL_MEASURES = ("open_overdue", "due_open")  # the dashboard's "overdue now" and "due this week"
ORDER = {d: i for i, d in enumerate(PETITION_DIMENSIONS + SUPERVISION_DIMENSIONS)}
FILTERABLE = set(PETITION_DIMENSIONS) | set(SUPERVISION_DIMENSIONS) | {"tenant"}
MAX_FILTER_VALUES = 200


def _msg(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def subject_of(measure: str) -> str:
    return "supervision" if measure in SUPERVISION_MEASURES else "petition"


def check_spec(spec: ReportSpec) -> None:
    """422 with words for a spec the rollups cannot answer (the model already checked the names)."""
    problems: dict[str, dict[str, str]] = {}
    if spec.end < spec.start:
        problems["end"] = _msg("结束日期不能早于开始日期", "the end date cannot be before the start date")
    elif (spec.end - spec.start).days > 366 * MAX_YEARS:
        problems["end"] = _msg(f"统计期间不能超过{MAX_YEARS}年", f"the period cannot be longer than {MAX_YEARS} years")
    subjects = {subject_of(m) for m in spec.measures}
    if len(subjects) > 1 and any(d not in TIME_DIMENSIONS + ("tenant",) for d in spec.dimensions):
        problems["dimensions"] = _msg("信访事项和监督的指标不能按同一个分类维度统计",
                                      "petition and supervision measures cannot share a dimension other than time and body")
    for dim in spec.dimensions:
        if dim in TIME_DIMENSIONS or dim == "tenant":
            continue
        for measure in spec.measures:
            allowed = PETITION_DIMENSIONS if subject_of(measure) == "petition" else SUPERVISION_DIMENSIONS
            if dim not in allowed:
                problems["dimensions"] = _msg(f"指标“{MEASURE_NAMES[measure]['zh']}”不能按此维度统计",
                                              f"the measure '{MEASURE_NAMES[measure]['en']}' has no such dimension")
    if len(set(d for d in spec.dimensions if d in TIME_DIMENSIONS)) > 1:
        problems["dimensions"] = _msg("只能选择一个时间维度", "choose one time axis at most")
    if len(set(spec.dimensions)) != len(spec.dimensions):
        problems["dimensions"] = _msg("维度不能重复", "a dimension is chosen twice")
    for name, values in spec.filters.items():
        if name not in FILTERABLE:
            problems[f"filters.{name}"] = _msg("没有这个筛选条件", "there is no such filter")
            continue
        if not values or len(values) > MAX_FILTER_VALUES or any(not isinstance(v, str) or len(v) > 200 for v in values):
            problems[f"filters.{name}"] = _msg(f"筛选值须为1至{MAX_FILTER_VALUES}个文字", f"give 1 to {MAX_FILTER_VALUES} text values")
            continue
        if name != "tenant":
            for measure in spec.measures:
                if name not in DIMS[subject_of(measure)]:
                    problems[f"filters.{name}"] = _msg("此筛选条件不适用于所选指标", "this filter does not apply to the chosen measures")
    if problems:
        raise InvalidInput(fields=problems)


# -- who is counted ---------------------------------------------------------------------------------


@dataclass
class Groups:
    """Rows of the "tenant" dimension: group id -> (the tenant whose cell holds it, own|tree) and its tenants."""

    cells: dict[str, tuple[str, str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    whole: tuple[str, str] | None = None  # everything in one cell (no tenant dimension, no tenant filter)

    def all_members(self) -> list[str]:
        return [t for ms in self.members.values() for t in ms]


def groups_for(viewer_id: str, include_lower: bool, h: Hierarchy, tenant_filter: list[str] | None) -> Groups:
    g = Groups()
    g.cells[viewer_id] = (viewer_id, "own")
    g.members[viewer_id] = [viewer_id]
    if include_lower:
        for child in h.children.get(viewer_id, []):
            g.cells[child] = (child, h.cell_scope(child))
            g.members[child] = h.subtree(child)
    if tenant_filter is not None:
        keep = set(tenant_filter)
        for gid in list(g.cells):
            if gid not in keep:
                del g.cells[gid], g.members[gid]
    elif include_lower:
        g.whole = (viewer_id, h.cell_scope(viewer_id))
    else:
        g.whole = (viewer_id, "own")
    return g


# -- periods ----------------------------------------------------------------------------------------


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def segments(start: date, end: date, by_day: bool) -> list[tuple[str, str]]:
    """(grain, period) covering start..end: whole months as month cells, the edges (or everything, by_day) as days."""
    if by_day:
        return [("day", d) for d in _days(start, end)]
    out = []
    current = start
    while current <= end:
        month_start = current.replace(day=1)
        next_month = (month_start + timedelta(32)).replace(day=1)
        month_end = next_month - timedelta(1)
        if current == month_start and month_end <= end:
            out.append(("month", current.isoformat()[:7]))
            current = next_month
        else:
            last = min(month_end, end)
            out += [("day", d) for d in _days(current, last)]
            current = last + timedelta(1)
    return out


def time_key(dim: str | None, day: str) -> str | None:
    if dim == "day":
        return day
    if dim == "week":
        return week_of(day)
    if dim == "month":
        return day[:7]
    return None


# -- counting from cells ----------------------------------------------------------------------------


def _extract(counts: dict, measure: str, dims: list[str], filters: dict[str, set[str]]):
    """(values of ``dims``, n) from one cell, with the filters applied."""
    wanted = sorted(set(dims) | set(filters), key=ORDER.get)
    if not wanted:
        n = counts.get(measure)
        if n:
            yield {}, n
        return
    if not dims:
        for combo in itertools.product(*(sorted(filters[d]) for d in wanted)):
            n = counts.get(measure + "".join(f"|{d}={v}" for d, v in zip(wanted, combo)))
            if n:
                yield {}, n
        return
    prefix = measure + "|"
    size = len(wanted)
    for key, n in counts.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].split("|")
        if len(parts) != size:
            continue
        values = {}
        for part, dim in zip(parts, wanted):
            name, _, value = part.partition("=")
            if name != dim:
                break
            values[name] = value
        else:
            if all(values[d] in allowed for d, allowed in filters.items()):
                yield {d: values[d] for d in dims}, n


def slice_for(dims: list[str], filters: dict[str, set[str]], grain: str) -> str:
    """The cell slice whose keys ``_extract`` reads for these dimensions and filters (cells.slice_of's names)."""
    return pair_slice(sorted(set(dims) | set(filters), key=ORDER.get), grain)


def cells_can_answer(dims: list[str], filters: dict[str, set[str]], by_day: bool, start: date, end: date) -> bool:
    wanted = set(dims) | set(filters)
    if len(filters.get("category", ())) > 1:
        return False  # a petition of two categories would count twice
    if len(wanted) > 2:
        return False
    if len(wanted) == 2:
        return all(grain == "month" for grain, _ in segments(start, end, by_day))
    return True


async def _count_cells(groups: Groups, measures: list[str], dims: list[str], time_dim: str | None, by_tenant: bool,
                       filters: dict[str, set[str]], start: date, end: date) -> dict[str, Counter]:
    by_day = time_dim in ("day", "week")
    segs = segments(start, end, by_day)
    if groups.whole is not None and not by_tenant:
        sources = {"": groups.whole}
    else:
        sources = dict(groups.cells)
    out = {m: Counter() for m in measures}
    for grain in ("month", "day"):
        periods = [p for g, p in segs if g == grain]
        if not periods:
            continue
        tenant_ids = [t for t, _ in sources.values()]
        scopes = {t: s for t, s in sources.values()}
        cells = await read_cells(tenant_ids, scopes, grain, periods, [slice_for(dims, filters, grain)],
                                 region_values=filters.get("region"))
        owner = {t: gid for gid, (t, _) in sources.items()}
        for (tenant_id, period), counts in cells.items():
            tkey = time_key(time_dim, period if grain == "day" else period + "-01")
            for measure in measures:
                for values, n in _extract(counts, measure, dims, filters):
                    key = []
                    if time_dim:
                        key.append((time_dim, tkey))
                    if by_tenant:
                        key.append(("tenant", owner[tenant_id]))
                    key += [(d, values[d]) for d in dims]
                    out[measure][tuple(key)] += n
    return out


# -- counting from facts ----------------------------------------------------------------------------


def _fact_keys(fact: dict, dims: list[str], filters: dict[str, set[str]]) -> list[tuple] | None:
    """The dimension values this fact counts under (several for several categories), None if a filter drops it."""
    for dim, allowed in filters.items():
        if dim == "tenant":
            continue
        if not any(v in allowed for v in fact_values(fact, dim)):
            return None
    return list(itertools.product(*([(d, v) for v in fact_values(fact, d)] for d in dims))) if dims else [()]


async def _facts_for(tenant_ids: list[str], measures: list[str], start: date, end: date, extra: dict | None = None):
    """Facts of these tenants that may count in start..end for these measures (by day received/issued or closed)."""
    collection = AnalyticsFact.get_pymongo_collection()
    lo, hi = start.isoformat(), end.isoformat()
    queries = []
    subjects = {subject_of(m) for m in measures}
    for subject in sorted(subjects):
        fields = set()
        for m in measures:
            if subject_of(m) != subject:
                continue
            fields.add({"closed": "closed_day", "due_open": "due_on"}.get(m, "day"))
        for name in sorted(fields):
            queries.append({"subject": subject, name: {"$gte": lo, "$lte": hi}, **(extra or {})})  # ISO days: no suffix (the embedded store's find misses "2011-05-20~")
    seen = set()
    for tenant_id in tenant_ids:
        for query in queries:
            async for fact in collection.find({"tenant_id": {"$eq": tenant_id}, **query}):
                if fact["_id"] not in seen:
                    seen.add(fact["_id"])
                    yield fact


async def _count_facts(groups: Groups, measures: list[str], dims: list[str], time_dim: str | None, by_tenant: bool,
                       filters: dict[str, set[str]], start: date, end: date) -> dict[str, Counter]:
    out = {m: Counter() for m in measures}
    lo, hi = start.isoformat(), end.isoformat()
    for gid, members in groups.members.items():
        async for fact in _facts_for(members, measures, start, end):
            keys = _fact_keys(fact, dims, filters)
            if keys is None:
                continue
            for measure, day in fact_measures(fact):
                if measure not in out or not lo <= day[:10] <= hi:
                    continue
                prefix = []
                if time_dim:
                    prefix.append((time_dim, time_key(time_dim, day)))
                if by_tenant:
                    prefix.append(("tenant", gid))
                for key in keys:
                    out[measure][tuple(prefix) + key] += 1
    return out


# -- the report -------------------------------------------------------------------------------------


async def _compute(viewer_id: str, measures: list[str], dimensions: list[str], filters: dict[str, list[str]], start: date,
                   end: date, include_lower: bool, h: Hierarchy | None = None, source: str = "auto") -> dict[str, Counter]:
    """measure -> Counter of row keys (tuples of (dimension, value) in ``dimensions`` order). ``source``: auto (cells
    where they can answer), facts (always count the facts: the recount the tests and the bench compare with)."""
    h = h or await hierarchy()
    time_dim = next((d for d in dimensions if d in TIME_DIMENSIONS), None)
    by_tenant = "tenant" in dimensions
    dims = [d for d in dimensions if d not in TIME_DIMENSIONS and d != "tenant"]
    wanted = {d: set(v.replace("|", "/") for v in vs) for d, vs in filters.items() if d != "tenant"}
    groups = groups_for(viewer_id, include_lower, h, filters.get("tenant"))
    if source == "auto" and cells_can_answer(dims, wanted, time_dim in ("day", "week"), start, end):
        counted = await _count_cells(groups, measures, dims, time_dim, by_tenant, wanted, start, end)
    else:
        counted = await _count_facts(groups, measures, dims, time_dim, by_tenant, wanted, start, end)
    order = [d for d in dimensions]
    # Rows keyed in the spec's dimension order.
    for measure, counter in counted.items():
        fixed = Counter()
        for key, n in counter.items():
            as_dict = dict(key)
            fixed[tuple((d, as_dict[d]) for d in order)] += n
        counted[measure] = fixed
    return counted


def previous_period(start: date, end: date) -> tuple[date, date]:
    """环比: whole months against as many whole months before (February against January, a quarter against the
    quarter before), any other period against the same number of days just before it."""
    if start.day == 1 and (end + timedelta(1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        y, m = divmod(start.month - 1 - months, 12)
        return date(start.year + y, m + 1, 1), start - timedelta(1)
    length = (end - start).days + 1
    return start - timedelta(length), start - timedelta(1)


def last_year(start: date, end: date) -> tuple[date, date]:
    def shift(d: date) -> date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)
    return shift(start), shift(end)


def _strip_time(key: tuple, period_start: date, compare_start: date) -> tuple:
    """A compared period's row key mapped onto the report's period (same offset in days)."""
    out = []
    for dim, value in key:
        if dim == "day":
            value = (period_start + (date.fromisoformat(value) - compare_start)).isoformat()
        elif dim == "week":
            value = week_of((period_start + (date.fromisoformat(value) - compare_start)).isoformat())
        elif dim == "month":
            moved = date.fromisoformat(value + "-01")
            months = (moved.year - compare_start.year) * 12 + moved.month - compare_start.month
            y, m = divmod(period_start.month - 1 + months, 12)
            value = f"{period_start.year + y:04d}-{m + 1:02d}"
        out.append((dim, value))
    return tuple(out)


async def run_report(viewer: Tenant, spec: ReportSpec) -> ReportResult:
    """The report ``spec`` asks for, as ``viewer`` may see it (itself and, with include_lower, every tenant below)."""
    check_spec(spec)
    h = await hierarchy()
    viewer_id = str(viewer.id)
    measures = list(dict.fromkeys(spec.measures))
    main = await _compute(viewer_id, measures, spec.dimensions, spec.filters, spec.start, spec.end, spec.include_lower, h)
    totals = await _compute(viewer_id, measures, [], spec.filters, spec.start, spec.end, spec.include_lower, h)
    compared: dict[str, dict[str, Counter]] = {}
    compared_totals: dict[str, dict[str, Counter]] = {}
    periods = {}
    for kind in spec.compare:
        s, e = previous_period(spec.start, spec.end) if kind == "previous" else last_year(spec.start, spec.end)
        periods[kind] = (s, e)
        raw = await _compute(viewer_id, measures, spec.dimensions, spec.filters, s, e, spec.include_lower, h)
        compared[kind] = {m: Counter({_strip_time(k, spec.start, s): n for k, n in c.items()}) for m, c in raw.items()}
        compared_totals[kind] = await _compute(viewer_id, measures, [], spec.filters, s, e, spec.include_lower, h)
    def inside(key: tuple) -> bool:  # a compared day that falls past the period (31 January against February) has no row
        return all(spec.start.isoformat() <= v <= spec.end.isoformat() for d, v in key if d == "day")

    keys = sorted({k for c in main.values() for k in c} | {k for comp in compared.values() for c in comp.values() for k in c if inside(k)})
    labeller = await Labeller.for_tenants(viewer_id, [viewer_id, *h.children.get(viewer_id, [])])

    def cell(key: tuple, source: dict[str, Counter], compare: dict[str, dict[str, Counter]]) -> ReportCell:
        return ReportCell(
            key={d: v for d, v in key}, labels={d: labeller.label(d, v) for d, v in key},
            values={m: source[m].get(key, 0) for m in measures},
            previous={m: compare["previous"][m].get(key, 0) for m in measures} if "previous" in compare else {},
            last_year={m: compare["last_year"][m].get(key, 0) for m in measures} if "last_year" in compare else {})

    rows = [cell(k, main, compared) for k in keys]
    rows.sort(key=lambda r: (tuple(r.key.get(d, "") for d in spec.dimensions if d in TIME_DIMENSIONS),
                             -sum(r.values.values()), tuple(r.key.values())))
    tenants = [viewer_id, *[t for t in h.subtree(viewer_id) if t != viewer_id]] if spec.include_lower else [viewer_id]
    return ReportResult(spec=spec, rows=rows, totals=cell((), totals, compared_totals),
                        previous_period=periods.get("previous"), last_year_period=periods.get("last_year"), tenants=tenants)


# -- the cases behind a number ----------------------------------------------------------------------


async def drill_down(viewer: Tenant, spec: ReportSpec, key: dict[str, str], measure: str, *, page: int = 1,
                     size: int = 50) -> tuple[int, list[DrillCase]]:
    """(how many, one page of them): the cases counted in the row ``key`` of ``measure`` — the same predicate the
    number was counted with, over the same facts. Newest first. Titles never name the petitioner."""
    check_spec(spec)
    problems = {}
    if measure not in spec.measures:
        problems["measure"] = _msg("该指标不在报表中", "this measure is not in the report")
    for dim in key:
        if dim not in spec.dimensions:
            problems[f"key.{dim}"] = _msg("该维度不在报表中", "this dimension is not in the report")
    if problems:
        raise InvalidInput(fields=problems)
    page, size = max(1, page), min(max(1, size), 200)
    h = await hierarchy()
    viewer_id = str(viewer.id)
    filters = {d: set(v.replace("|", "/") for v in vs) for d, vs in spec.filters.items() if d != "tenant"}
    for dim, value in key.items():
        if dim not in TIME_DIMENSIONS and dim != "tenant":
            filters[dim] = {value}
    start, end = spec.start, spec.end
    time_dim = next((d for d in key if d in TIME_DIMENSIONS), None)
    if time_dim:
        try:
            if time_dim == "day":
                first = last = date.fromisoformat(key["day"])
            elif time_dim == "week":
                first = date.fromisoformat(key["week"])
                last = first + timedelta(6)
            else:
                first = date.fromisoformat(key["month"] + "-01")
                last = (first + timedelta(32)).replace(day=1) - timedelta(1)
        except ValueError:
            raise InvalidInput(fields={f"key.{time_dim}": _msg("日期格式不对", "not a valid date")}) from None
        start, end = max(start, first), min(end, last)
    tenant_filter = spec.filters.get("tenant")
    if "tenant" in key:
        tenant_filter = [key["tenant"]] if tenant_filter is None or key["tenant"] in tenant_filter else []
    groups = groups_for(viewer_id, spec.include_lower, h, tenant_filter)
    lo, hi = start.isoformat(), end.isoformat()
    found: list[tuple[str, dict]] = []
    if lo <= hi:
        for gid, members in groups.members.items():
            async for fact in _facts_for(members, [measure], start, end):
                if _fact_keys(fact, [], filters) is None:
                    continue
                for m, day in fact_measures(fact):
                    if m == measure and lo <= day[:10] <= hi:
                        found.append((day, fact))
    found.sort(key=lambda item: (item[0], str(item[1]["_id"])), reverse=True)
    chosen = found[(page - 1) * size: page * size]
    labeller = await Labeller.for_tenants(viewer_id, [])
    slug = viewer.slug
    cases = []
    for day, fact in chosen:
        mine = fact["tenant_id"] == viewer_id
        subject = fact["subject"]
        state = labeller.label("result", fact["state"]) if subject == "supervision" else labeller.label("state", fact["state"])
        href = None
        if mine:
            href = (f"/t/{slug}/staff/petitions/{fact['_id']}" if subject == "petition"
                    else f"/t/{slug}/staff/supervisions/{fact['_id']}")
        cases.append(DrillCase(subject=subject, subject_id=str(fact["_id"]), tenant_id=fact["tenant_id"],
                               number=fact.get("number") or "", title=fact.get("title") or "", day=date.fromisoformat(day[:10]),
                               state=state, href=href))
    return len(found), cases


# -- what others build on ---------------------------------------------------------------------------


async def daily_counts(viewer: Tenant, measure: str, start: date, end: date, *, filters: dict[str, list[str]] | None = None,
                       by: str | None = None, include_lower: bool = True) -> dict[str, dict[date, int]]:
    """by None: {"": {day: n}}; by a dimension: {value: {day: n}}. Every day of start..end is there (0 where none)."""
    if measure not in PETITION_MEASURES + SUPERVISION_MEASURES + INTERNAL_MEASURES:
        raise InvalidInput(fields={"measure": _msg("没有这个指标", "there is no such measure")})
    if measure not in INTERNAL_MEASURES:
        check_spec(ReportSpec(measures=[measure], dimensions=["day"] + ([by] if by else []), filters=filters or {},
                              start=start, end=end, include_lower=include_lower))
    dims = ["day"] + ([by] if by else [])
    counted = (await _compute(str(viewer.id), [measure], dims, filters or {}, start, end, include_lower))[measure]
    days = [date.fromisoformat(d) for d in _days(start, end)]
    out: dict[str, dict[date, int]] = {}
    if not by:
        out[""] = dict.fromkeys(days, 0)
    for key, n in counted.items():
        k = dict(key)
        series = out.setdefault(k.get(by, "") if by else "", dict.fromkeys(days, 0))
        series[date.fromisoformat(k["day"])] += n
    return out


async def counts_by_region(viewer: Tenant, measure: str, start: date, end: date, *, filters: dict[str, list[str]] | None = None
                           ) -> dict[str, int]:
    """Region code (or the text given) -> count in start..end, the viewer and every tenant below."""
    spec = ReportSpec(measures=[measure], dimensions=["region"], filters=filters or {}, start=start, end=end)
    check_spec(spec)
    counted = (await _compute(str(viewer.id), [measure], ["region"], filters or {}, start, end, True))[measure]
    return {dict(k)["region"]: n for k, n in counted.items() if n}


async def map_counts(viewer: Tenant, measure: str, start: date, end: date, names: list[str], region: str = "") -> dict[str, Counter]:
    """The map's keys (``cells.map_keys``) in start..end, the viewer and every tenant below: name ("map1", "map2", ...)
    -> value -> count. ``region``: the view, whose province's shard holds its "map2"/"map3" keys."""
    if measure not in MAP_MEASURES:
        raise InvalidInput(fields={"measure": _msg("地图只统计收件和逾期", "the map counts intake and overdue only")})
    h = await hierarchy()
    viewer_id = str(viewer.id)
    scope = h.cell_scope(viewer_id)
    out = {name: Counter() for name in names}
    prefix = measure + "|map"
    for grain in ("month", "day"):
        periods = [p for g, p in segments(start, end, False) if g == grain]
        if not periods:
            continue
        # In a month: "map1", "map2/<shard>", "map3/<shard>"; in a day "map1" is kept with the totals, the rest in "map/<shard>".
        wanted = {(name if grain == "month" else "" if name == "map1" else "map") for name in names}
        for counts in (await read_cells([viewer_id], scope, grain, periods, sorted(wanted), region_values=[region])).values():
            for key, n in counts.items():
                if key.startswith(prefix):
                    name, _, value = key[len(measure) + 1:].partition("=")
                    if name in out:
                        out[name][value] += n
    return out


async def snapshot(viewer: Tenant, today: date) -> dict:
    """What a leader sees first, the viewer with every tenant below: today's intake, open, overdue now, due this week
    (today and the six days after), cards by colour and actions by form this year, with words."""
    viewer_id = str(viewer.id)
    h = await hierarchy()
    since = today.replace(year=today.year - MAX_YEARS)
    year_start = today.replace(month=1, day=1)
    # Independent reads, asked at once: the snapshot waits for the slowest of them, not for their sum.
    intake, stock, due, cards, actions, labeller = await asyncio.gather(
        _compute(viewer_id, ["received"], [], {}, today, today, True, h),
        _compute(viewer_id, ["open_now", "open_overdue"], [], {}, since, today, True, h),
        _compute(viewer_id, ["due_open"], [], {}, today, today + timedelta(6), True, h),
        _compute(viewer_id, ["cards_issued"], ["colour"], {}, year_start, today, True, h),
        _compute(viewer_id, ["actions_taken"], ["action_form"], {}, year_start, today, True, h),
        Labeller.for_tenants(viewer_id, []))
    total_actions = sum(actions["actions_taken"].values())
    forms = {}
    for group in ("talks", "notices", "meetings"):
        n = actions["actions_taken"].get((("action_form", group),), 0)
        forms[group] = {"count": n, "share": round(n / total_actions, 3) if total_actions else 0.0,
                        "label": labeller.label("action_form", group)}
    other = total_actions - sum(f["count"] for f in forms.values())
    if other:
        forms["other"] = {"count": other, "share": round(other / total_actions, 3), "label": labeller.label("action_form", "")}
    return {
        "today": today.isoformat(),
        "year_from": year_start.isoformat(),
        "intake_today": {"count": intake["received"].get((), 0), "label": {"zh": "今日受理", "en": "Received today"}},
        "open": {"count": stock["open_now"].get((), 0), "label": {"zh": "在办事项", "en": "Open cases"}},
        "overdue": {"count": stock["open_overdue"].get((), 0), "label": {"zh": "超期未办结", "en": "Open and overdue"}},
        "due_this_week": {"count": due["due_open"].get((), 0), "label": {"zh": "本周到期", "en": "Due within 7 days"}},
        "cards_by_colour": [{"colour": dict(k).get("colour", ""), "count": n, "label": labeller.label("colour", dict(k).get("colour", ""))}
                            for k, n in sorted(cards["cards_issued"].items(), key=lambda kv: -kv[1])],
        "action_forms": forms,
        "tenants": len(h.subtree(viewer_id)),
    }
