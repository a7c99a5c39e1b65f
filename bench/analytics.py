"""Dashboards and free reports over the rollups at 2,156 tenants and 1,000,000 petitions, next to a bare indexed
read of the same cells in the same run, and the rollup cost per event.

On a fresh temporary data directory with nx-27017 on a free port (opened as the platform opens it):

1. a tenant tree of ``--tenants`` (one national body, 31 provinces, a tenth prefectures, the rest counties);
2. ``--petitions`` petition facts (and one supervision fact per 20), inserted raw, spread over 2025-01 .. 2026-11
   and over the counties (a few at upper bodies), random channel / category / region / state / overdue / closed;
3. every cell counted from them (``service.load_cells``: each tenant's facts counted in memory, tree sums added up
   the hierarchy, each tenant's slices in one bulk write);
4. timed, ``--runs`` times each, p50 / p95 (ms):
   * snapshot of the national body (``rollups.snapshot``), of a province;
   * a free report: received + closed + overdue by month and channel over a year, with 环比 and 同比 (national);
   * a free report by tenant (each province) and one by region (the map);
   * baseline: the bare indexed read of the national tree cells of the same year that the report reads (the 12
     month cells' "channel" slices by _id, raw documents);
5. rollup cost per event: ``--events`` facts changed one by one (state and closing), each marked, written and
   settled up to the root as the event handler does; mean and p95 ms per event.

    .venv/bin/python bench/analytics.py                               # 2,156 tenants, 1,000,000 petitions
    .venv/bin/python bench/analytics.py --tenants 300 --petitions 50000
The embedded store is a Python server over SQLite, much slower than MongoDB: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO / "search"), str(REPO / "plugins")]

from bson import ObjectId  # noqa: E402
from pymongo import IndexModel  # noqa: E402

from xinfang.analytics import boundaries, cells, maps, rollups, service  # noqa: E402
from xinfang.analytics.models import AnalyticsCell, AnalyticsFact  # noqa: E402
from xinfang.analytics.reports import ReportSpec  # noqa: E402
from xinfang.tenancy.models import LocalizedName, Tenant, TenantKind, TenantLevel  # noqa: E402

from _common import fresh_store  # noqa: E402  (bench/ is on sys.path when a script here runs)

DATABASE = "xinfang_bench"
FIRST, LAST = date(2025, 1, 1), date(2026, 11, 30)
CHANNELS = ["online", "letter", "visit", "phone"]
CATEGORIES = ["教育收费", "校园安全", "师德师风", "招生入学", "食堂管理", "校车", "课后服务", "住房保障", "物业", "征地拆迁"]
STATES = ["registered", "accepted", "handling", "replied", "closed"]


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def _codes() -> dict[str, list[str]]:
    """Real GB/T 2260 codes to give the bench's bodies: provinces, and the prefectures and counties below each."""
    from xinfang.forms import regions

    out: dict[str, list[str]] = {"": [c for c, _ in regions.children("")]}
    for code in regions.names():
        if regions.level(code) != "province":
            out.setdefault(regions.path(code)[0], []).append(code)
    return out


async def make_tenants(n: int) -> tuple[list[Tenant], list[Tenant]]:
    rng = random.Random(1)
    codes = _codes()
    national = Tenant(id=ObjectId(), slug="bench-0000", name=LocalizedName(zh="国家信访局", en="National"), level=TenantLevel.NATIONAL,
                      kind=TenantKind.COMMISSION, region_code="100000")
    provinces, prefectures, counties = [], [], []
    n_prov = min(31, max(1, n // 20))
    n_pref = max(1, n // 6)
    for i in range(1, n):
        if i <= n_prov:
            parent, level, bucket = national, TenantLevel.PROVINCIAL, provinces
            region = codes[""][(i - 1) % len(codes[""])]
        elif i <= n_prov + n_pref:
            parent, level, bucket = rng.choice(provinces), TenantLevel.PREFECTURE, prefectures
            region = rng.choice(codes[parent.region_code])
        else:
            parent, level, bucket = rng.choice(prefectures), TenantLevel.COUNTY, counties
            region = rng.choice(codes[parent.region_code[:2] + "0000"])
        t = Tenant(id=ObjectId(), slug=f"bench-{i:04d}", name=LocalizedName(zh=f"单位{i}", en=f"Body {i}"), level=level,
                   kind=TenantKind.COMMISSION, region_code=region, parent_id=str(parent.id),
                   ancestor_ids=[*parent.ancestor_ids, str(parent.id)])
        bucket.append(t)
    everyone = [national, *provinces, *prefectures, *counties]
    await Tenant.get_pymongo_collection().insert_many([t.model_dump(by_alias=True) | {"_id": t.id} for t in everyone])
    return everyone, counties or provinces


def fact(rng: random.Random, owner: Tenant, n: int) -> dict:
    tenant_id = str(owner.id)
    day = date.fromordinal(rng.randint(FIRST.toordinal(), LAST.toordinal()))
    state = rng.choice(STATES)
    closed = date.fromordinal(min(LAST.toordinal(), day.toordinal() + rng.randint(1, 60))).isoformat() if state == "closed" else None
    due = date.fromordinal(day.toordinal() + 60).isoformat()
    if rng.random() < 0.05:
        return {"_id": ObjectId(), "tenant_id": tenant_id, "subject": "supervision", "day": day.isoformat(), "month": day.isoformat()[:7],
                "closed_day": None, "closed_month": None, "due_on": None, "due_month": None, "overdue": False, "open": False,
                "channel": "", "categories": [], "form": "", "region": "", "state": "issued", "source": "", "repeat": False,
                "collective": False, "kind": rng.choice(["card", "action"]), "card_type": "yellow", "colour": rng.choice(["#ffcc00", "#cc0000", "#3366cc"]),
                "result": "issued", "action_form": rng.choice(["talks", "notices", "meetings"]), "counted": True, "number": f"B{n}", "title": "某单位"}
    return {"_id": ObjectId(), "tenant_id": tenant_id, "subject": "petition", "day": day.isoformat(), "month": day.isoformat()[:7],
            "closed_day": closed, "closed_month": closed[:7] if closed else None, "due_on": due,
            "due_month": due[:7] if not closed else None, "overdue": rng.random() < 0.1, "open": not closed,
            "channel": rng.choice(CHANNELS), "categories": [rng.choice(CATEGORIES)], "form": "petition",
            # its own area's code, or a township below it (9 digits: not a code the map draws, counted as unplaced)
            "region": owner.region_code if rng.random() < 0.7 else f"{owner.region_code}{rng.randint(1, 12):03d}",
            "state": state, "source": rng.choice(["citizen", "staff"]),
            "repeat": rng.random() < 0.08, "collective": rng.random() < 0.02, "kind": "", "card_type": "", "colour": "",
            "result": "", "action_form": "", "counted": False, "number": f"P{n}", "title": f"信访事项 {n}"}


async def map_numbers(tenant: Tenant, measure: str, start: date, end: date, region: str):
    """The numbers of one map view as the page computes them (counts, then places, classes and colours)."""
    root = maps.viewer_root(tenant)
    if hasattr(maps, "map_result"):
        return await maps.map_result(tenant, measure, start, end, region, root)
    return maps.build(boundaries.view(region), measure, await maps.region_counts(tenant, measure, start, end), root=root)


async def secondary_indexes(collection) -> list[IndexModel]:
    """The collection's indexes as the platform made them (to drop before a bulk load and build after it)."""
    return [IndexModel(list(spec["key"]), name=name, **({"unique": True} if spec.get("unique") else {}))
            for name, spec in (await collection.index_information()).items() if name != "_id_"]


async def timed(label: str, runs: int, work) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    say(f"  {label:<62} p50 {percentile(times, 0.5):8.1f} ms   p95 {percentile(times, 0.95):8.1f} ms")
    return times


async def run(args) -> None:
    async with fresh_store("xinfang-bench-analytics-", DATABASE):
        await measure(args)


async def measure(args) -> None:
    rng = random.Random(14)
    say(f"=== {args.tenants:,} tenants, {args.petitions:,} facts (petitions, 1 in 20 a supervision) ===")
    started = time.perf_counter()
    everyone, counties = await make_tenants(args.tenants)
    upper = everyone[: len(everyone) - len(counties)] or everyone
    collection = AnalyticsFact.get_pymongo_collection()
    # A bulk load builds the secondary indexes after the rows (half the insert time on the embedded store).
    fact_indexes = await secondary_indexes(collection)
    await collection.drop_indexes()
    batch = []
    for n in range(args.petitions):
        owner = rng.choice(counties) if rng.random() < 0.9 else rng.choice(upper)
        batch.append(fact(rng, owner, n))
        if len(batch) >= 10000:
            await collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await collection.insert_many(batch, ordered=False)
    say(f"  inserted in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    await collection.create_indexes(fact_indexes)
    say(f"  fact indexes built in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    raw_cells = AnalyticsCell.get_pymongo_collection()
    cell_indexes = await secondary_indexes(raw_cells)
    await raw_cells.drop_indexes()
    await service.load_cells()
    counted = time.perf_counter() - started
    await raw_cells.create_indexes(cell_indexes)
    cell_count = await raw_cells.count_documents({})
    say(f"  cells counted in {counted:.1f} s, indexes built in {time.perf_counter() - started - counted:.1f} s ({cell_count:,} cells)")

    national, province = everyone[0], everyone[1]
    year = (date(2025, 12, 1), date(2026, 11, 30))
    months = [f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, k) for k in range(1, 12)]]
    results = {}
    boundaries.view(boundaries.NATIONAL), boundaries.view(province.region_code)  # read once as the app starts (maps.py)
    say(f"  timed, {args.runs} runs each:")
    raw = AnalyticsCell.get_pymongo_collection()
    slice_ids = [cells._slice_id("tree", "month", m, str(national.id), "channel") for m in months]
    results["baseline"] = await timed("baseline: bare read of the national tree cells of a year (12, channel slice)", args.runs,
                                      lambda: raw.find({"_id": {"$in": slice_ids}}).to_list())
    results["snapshot"] = await timed("snapshot, national body", args.runs, lambda: rollups.snapshot(national, date(2026, 11, 30)))
    await timed("snapshot, a province", args.runs, lambda: rollups.snapshot(province, date(2026, 11, 30)))
    spec = ReportSpec(measures=["received", "closed", "overdue"], dimensions=["month", "channel"], start=year[0], end=year[1],
                      compare=["previous", "last_year"])
    results["report"] = await timed("free report: 3 measures by month x channel, 环比+同比, national", args.runs,
                                    lambda: rollups.run_report(national, spec))
    by_tenant = ReportSpec(measures=["received", "open_now"], dimensions=["tenant"], start=year[0], end=year[1])
    await timed("free report: by tenant (each province), national", args.runs, lambda: rollups.run_report(national, by_tenant))
    results["map"] = await timed("map: numbers of the national view over a year, national", args.runs,
                                 lambda: map_numbers(national, "received", year[0], year[1], boundaries.NATIONAL))
    last30 = (date(2026, 10, 23), date(2026, 11, 21))  # 30 days on day cells (the page's default period)
    results["map30"] = await timed("map: numbers of the national view, 30 days, national", args.runs,
                                   lambda: map_numbers(national, "received", last30[0], last30[1], boundaries.NATIONAL))
    await timed("map: a province's view over a year, national", args.runs,
                lambda: map_numbers(national, "received", year[0], year[1], province.region_code))
    await timed("map: a province's own map over a year, a province", args.runs,
                lambda: map_numbers(province, "received", year[0], year[1], province.region_code))
    await timed("daily_counts over 90 days, a province", args.runs,
                lambda: rollups.daily_counts(province, "received", date(2026, 9, 1), date(2026, 11, 29)))

    # Rollup cost per event: a fact changes (closed), marked, written, settled up to the root as the handler does.
    facts = [row async for row in collection.find({"subject": "petition", "open": True}).limit(args.events)]
    per_event = []
    for row in facts:
        started = time.perf_counter()
        closed = min(LAST, date.fromisoformat(row["day"]) + timedelta(days=3)).isoformat()
        new = dict(row, state="closed", open=False, closed_day=closed, closed_month=closed[:7], due_month=None)
        months_touched = {(row["tenant_id"], m) for m in (row["month"], closed[:7], row.get("due_month")) if m}
        await cells.mark(months_touched)
        await collection.replace_one({"_id": row["_id"]}, new)
        await cells.settle(months_touched)
        per_event.append((time.perf_counter() - started) * 1000)
    if per_event:
        say(f"  rollup cost per event ({len(per_event)} events, fact + marks + recount up to the root): "
            f"mean {sum(per_event) / len(per_event):.1f} ms, p95 {percentile(per_event, 0.95):.1f} ms")
    check = await rollups._compute(str(national.id), ["closed"], [], {}, FIRST, LAST, True)
    facts_count = await rollups._compute(str(national.id), ["closed"], [], {}, FIRST, LAST, True, source="facts") if args.petitions <= 200_000 else None
    if facts_count is not None:
        say(f"  check: national closed from cells {check['closed'].get((), 0):,} = from facts {facts_count['closed'].get((), 0):,}")
        assert check == facts_count
    base = percentile(results["baseline"], 0.95)
    say(f"  ratio p95 / baseline p95: snapshot {percentile(results['snapshot'], 0.95) / base:.1f} x base, "
        f"report {percentile(results['report'], 0.95) / base:.1f} x base, map {percentile(results['map'], 0.95) / base:.1f} x base, "
        f"map 30 days {percentile(results['map30'], 0.95) / base:.1f} x base")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=2156)
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
