"""Rollups (issue 14): numbers that stay right whatever the order of events, their retries, and a rebuild.

Petitions are written straight into the store in 2011 (no other test counts there) for 泗阳 (A), 巴州 (B) and
库尔勒 (below 巴州); the event handler is then called for their ids in random orders, twice, side by side, while the
petitions change and one moves from 库尔勒 up to 巴州. Every number is checked against a count made here from the
petitions themselves, and the cells against the facts; a rebuild gives the same cells; 巴州's total is its own plus
库尔勒's; a drill-down lists exactly as many cases as the number.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.parse
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from beanie.odm.utils.dump import get_dict
from bson import ObjectId

from tests.conftest import eventually, login_token
from xinfang.analytics import cells as cells_module
from xinfang.analytics.models import AnalyticsCell, AnalyticsFact
from xinfang.analytics.reports import ReportSpec
from xinfang.analytics.rollups import _compute, counts_by_region, daily_counts, drill_down, run_report, snapshot
from xinfang.analytics.service import handle, rebuild, refresh_overdue
from xinfang.petitions.models import Petition, Step
from xinfang.petitions.service import china_today, flag_overdue
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant

SPEC = {"measures": ["received"], "start": "2026-01-01", "end": "2026-12-31"}
_DRILL = urllib.parse.urlencode({"spec": json.dumps(SPEC), "measure": "received"})
ISOLATION_CASES = {
    "analytics.report": dict(method="POST", path="/api/analytics/report", kind="collection", body=SPEC),
    "analytics.drill": dict(method="GET", path=f"/api/analytics/drill-down?{_DRILL}", kind="collection"),
    "analytics.show_snapshot": dict(method="GET", path="/api/analytics/snapshot", kind="collection"),
}

CHANNELS = ["online", "letter", "visit", "phone"]
CATEGORIES = ["教育收费", "校园安全", "师德师风", "招生入学"]
REGIONS = ["321323", "652801", "652800"]
START, END = date(2011, 3, 10), date(2011, 5, 20)  # partial months at both ends: day cells and month cells


@pytest.fixture(autouse=True)
async def _synthetic_petitions_removed(app):
    """The petitions these tests write straight into the store have no receipt row or submitted event: removed
    afterwards (and their facts with them), so later tests' checks of whole petitions see only real ones."""
    yield
    from xinfang.analytics.facts import PETITION, refresh

    collection = Petition.get_pymongo_collection()
    ids = [str(row["_id"]) async for row in collection.find({"number": {"$regex": "^ANALYTICS-2011-"}}, projection={"_id": 1})]
    await collection.delete_many({"number": {"$regex": "^ANALYTICS-2011-"}})
    for petition_id in ids:
        await refresh(PETITION, petition_id)


async def _tenant(slug: str) -> Tenant:
    return await Tenant.find_one({"slug": slug})


def _petition(rng: random.Random, tenant_id: str, n: int) -> Petition:
    day = date.fromordinal(rng.randint(date(2011, 3, 1).toordinal(), date(2011, 5, 31).toordinal()))
    category = rng.choice(CATEGORIES) if rng.random() < 0.7 else rng.sample(CATEGORIES, 2)
    at = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
    return Petition(id=ObjectId(), tenant_id=tenant_id, number=f"ANALYTICS-2011-{ObjectId()}-{n}", origin_tenant_id=tenant_id,
                    form_key="petition", form_version=1, form_digest="x", kind="petition", channel=rng.choice(CHANNELS),
                    anonymous=True, answers={"category": category, "region": rng.choice(REGIONS)}, title=f"统计测试 {n}",
                    state="registered", received_on=day.isoformat(), due_on=date.fromordinal(day.toordinal() + 30).isoformat(),
                    steps=[Step(at=at, tenant_id=tenant_id, actor=rng.choice(["citizen", "staff-1"]), actor_name="测试",
                                action="submitted", to_state="registered")])


async def _save(p: Petition) -> None:
    await Petition.get_pymongo_collection().replace_one({"_id": p.id}, get_dict(p, to_db=True), upsert=True)


def _mutate(rng: random.Random, p: Petition, tenants: dict[str, str]) -> None:
    """A state change, a new category, an overdue flag, or (库尔勒 -> 巴州) a move; closing gets its day."""
    choice = rng.random()
    if choice < 0.35:
        closed_day = date.fromisoformat(p.received_on).toordinal() + rng.randint(0, 50)
        at = datetime.combine(date.fromordinal(closed_day), datetime.min.time(), UTC).replace(hour=5)
        p.steps.append(Step(at=at, tenant_id=p.tenant_id, actor="staff-1", actor_name="测试", action="close", from_state=p.state,
                            to_state="closed"))
        p.state, p.due_on, p.overdue = "closed", None, False  # as the workflow does: a final state has no time limit
    elif choice < 0.55:
        p.state = rng.choice(["accepted", "handling"])
    elif choice < 0.7:
        p.answers = dict(p.answers, category=rng.choice(CATEGORIES))
    elif choice < 0.85:
        p.overdue = True
    elif p.tenant_id == tenants["korla"]:
        p.tenant_id = tenants["bazhou"]


async def _deliver(rng: random.Random, ids: list[str]) -> None:
    """Every id's event at least once, some twice (a retry), shuffled, several at once."""
    events = ids + rng.sample(ids, k=len(ids) // 2)
    rng.shuffle(events)
    for start in range(0, len(events), 6):
        await asyncio.gather(*(handle("petition.transitioned", pid) for pid in events[start:start + 6]))


def _oracle(petitions: list[Petition], tenant_ids: set[str], start: date, end: date) -> dict[str, Counter]:
    """Counted here from the petitions themselves: received by channel, closed, overdue."""
    out = {"received": Counter(), "closed": Counter(), "overdue": Counter(), "category": Counter()}
    lo, hi = start.isoformat(), end.isoformat()
    for p in petitions:
        if p.tenant_id not in tenant_ids:
            continue
        closed = None
        if p.state == "closed":  # 05:00 UTC is the same day in China and in Xinjiang
            closed = next(s.at for s in reversed(p.steps) if s.to_state == "closed").astimezone(UTC).date().isoformat()
            if lo <= closed <= hi:
                out["closed"][""] += 1
        if lo <= p.received_on <= hi:
            out["received"][p.channel.value] += 1
            cats = p.answers["category"] if isinstance(p.answers["category"], list) else [p.answers["category"]]
            for c in set(cats):
                out["category"][c] += 1
            if p.overdue or (closed is not None and p.due_on and closed > p.due_on):  # past its time limit now, or when it closed
                out["overdue"][""] += 1
    return out


async def _cells_of(tenant_ids: list[str]) -> dict:
    rows = AnalyticsCell.get_pymongo_collection().find({"tenant_id": {"$in": tenant_ids}, "period": {"$gte": "2011-", "$lt": "2012-"}})
    # A cell whose cases all left it stays, empty (its seq guards it): the same numbers as no cell.
    return {row["_id"]: row["counts"] async for row in rows if any(row["counts"].values())}


async def test_rollups_equal_a_recount_after_random_orders_retries_and_a_rebuild(app, tenants):
    rng = random.Random(14)
    siyang, bazhou, korla = [await _tenant(s) for s in (tenants.A, tenants.B, tenants.CHILD_OF_B)]
    ids = {"siyang": str(siyang.id), "bazhou": str(bazhou.id), "korla": str(korla.id)}
    petitions = [_petition(rng, rng.choice(list(ids.values())), n) for n in range(24)]
    for p in petitions:
        await _save(p)
    await _deliver(rng, [str(p.id) for p in petitions])
    for _ in range(2):  # the petitions change; each change's events come in any order, some twice
        changed = rng.sample(petitions, 12)
        for p in changed:
            _mutate(rng, p, ids)
            await _save(p)
        await _deliver(rng, [str(p.id) for p in changed])

    # Every number from the cells equals the count from the facts and the count made here from the petitions as they
    # are in the store (the beat's petition sweep may have flagged some overdue meanwhile; its refresh follows).
    for tenant_id in ids.values():  # what the beat does anyway (and then nothing more): no race with it
        await flag_overdue(TenantScope(tenant_id), china_today())
    await refresh_overdue(None, china_today())  # the beat's one query over every tenant

    # The session's worker may still be handling these tenants' events (of this test or an earlier one, in a full run):
    # compare once it is done with them and nothing is left marked, then count once more.
    from xinfang.events import OutboxEvent

    async def worker_done():
        pending = await OutboxEvent.get_pymongo_collection().find_one({"tenant_id": {"$in": list(ids.values())}, "status": "pending"})
        return pending is None or None

    await eventually(worker_done, timeout=120, message="the worker done with these tenants' events")
    await refresh_overdue(None, china_today())
    await cells_module.settle_all()
    petitions = [Petition.model_validate(raw) async for raw in Petition.get_pymongo_collection().find({"_id": {"$in": [p.id for p in petitions]}})]
    for viewer, members in ((bazhou, {ids["bazhou"], ids["korla"]}), (korla, {ids["korla"]}), (siyang, {ids["siyang"]})):
        expected = _oracle(petitions, members, START, END)
        for source in ("auto", "facts"):
            got = await _compute(str(viewer.id), ["received", "closed", "overdue"], ["channel"], {}, START, END, True, source=source)
            assert {dict(k)["channel"]: n for k, n in got["received"].items()} == dict(expected["received"]), (viewer.slug, source)
            assert sum(got["closed"].values()) == expected["closed"][""], (viewer.slug, source)
            assert sum(got["overdue"].values()) == expected["overdue"][""], (viewer.slug, source)
            by_category = await _compute(str(viewer.id), ["received"], ["category"], {}, START, END, True, source=source)
            assert {dict(k)["category"]: n for k, n in by_category["received"].items()} == dict(expected["category"])
        # A pair of dimensions over whole months (month cells), a day axis (day cells), a filter: cells == facts.
        for dims, filters, start, end in ((["channel", "region"], {}, date(2011, 3, 1), date(2011, 5, 31)),
                                          (["day"], {"channel": ["visit", "letter"]}, START, END),
                                          (["week", "state"], {}, START, END),
                                          (["month", "tenant"], {"category": ["校园安全"]}, START, END)):
            auto = await _compute(str(viewer.id), ["received", "closed"], dims, filters, start, end, True)
            facts = await _compute(str(viewer.id), ["received", "closed"], dims, filters, start, end, True, source="facts")
            assert auto == facts, (viewer.slug, dims, filters)

    # Hierarchy: 巴州 with everything below = 巴州's own + 库尔勒's; by tenant, one row each.
    spec = ReportSpec(measures=["received", "closed"], dimensions=["tenant"], start=START, end=END)
    whole = await run_report(bazhou, spec)
    own = await run_report(bazhou, spec.model_copy(update={"include_lower": False, "dimensions": []}))
    below = await run_report(korla, spec.model_copy(update={"dimensions": []}))
    for measure in ("received", "closed"):
        assert whole.totals.values[measure] == own.totals.values[measure] + below.totals.values[measure]
        assert whole.totals.values[measure] == sum(r.values[measure] for r in whole.rows)
    assert {r.key["tenant"] for r in whole.rows} <= {ids["bazhou"], ids["korla"]}
    assert all(r.labels["tenant"]["zh"] for r in whole.rows) and ids["siyang"] not in whole.tenants

    # Drill-down: the list behind each number is exactly that long, for rows of one and of two dimensions.
    report = await run_report(bazhou, ReportSpec(measures=["received", "closed"], dimensions=["month", "channel"], start=START,
                                                 end=END, compare=["previous", "last_year"]))
    assert report.rows and report.previous_period and report.last_year_period
    for row in report.rows:
        for measure in ("received", "closed"):
            total, cases = await drill_down(bazhou, report.spec, row.key, measure, size=200)
            assert total == row.values[measure] == len(cases), (row.key, measure)
            assert all(c.href is None or c.tenant_id == ids["bazhou"] for c in cases)  # 库尔勒's cases: no link from 巴州

    # daily_counts and counts_by_region agree with the report; every day is there.
    daily = await daily_counts(bazhou, "received", START, END)
    assert len(daily[""]) == (END - START).days + 1 and sum(daily[""].values()) == whole.totals.values["received"]
    by_region = await counts_by_region(bazhou, "received", START, END)
    assert sum(by_region.values()) == whole.totals.values["received"] and set(by_region) <= set(REGIONS)
    # The map as the national level draws it reads the keys counted per map level (cells.map_keys), not every region
    # code: each view's numbers equal those counted from the region codes (巴州 standing in for a national root).
    from xinfang.analytics import boundaries, maps

    for measure in ("received", "overdue"):
        codes = await counts_by_region(bazhou, measure, START, END)
        for view_code in (boundaries.NATIONAL, "650000", "652800", "652801", "320000", "321300"):
            got = await maps.map_result(bazhou, measure, START, END, view_code, boundaries.NATIONAL)
            assert got == maps.build(boundaries.view(view_code), measure, codes, root=boundaries.NATIONAL), (measure, view_code)
        national = await maps.map_result(bazhou, measure, START, END, boundaries.NATIONAL, boundaries.NATIONAL)
        assert national.total + national.unknown == sum(codes.values()) and national.total > 0

    # Rebuild from the store gives the same cells (and the same facts) as the events gave.
    tenant_ids = list(ids.values())
    before_cells = await _cells_of(tenant_ids)
    before_facts = {row["_id"]: row async for row in AnalyticsFact.get_pymongo_collection().find({"_id": {"$in": [p.id for p in petitions]}})}
    await AnalyticsCell.get_pymongo_collection().delete_many({"tenant_id": {"$in": tenant_ids}, "period": {"$gte": "2011-", "$lt": "2012-"}})
    await AnalyticsFact.get_pymongo_collection().delete_many({"_id": {"$in": [p.id for p in petitions]}})
    await rebuild([ids["korla"], ids["bazhou"], ids["siyang"]])
    assert await _cells_of(tenant_ids) == before_cells
    after_facts = {row["_id"]: row async for row in AnalyticsFact.get_pymongo_collection().find({"_id": {"$in": [p.id for p in petitions]}})}
    assert after_facts == before_facts


async def test_a_mark_left_by_a_crash_is_settled_by_the_sweep(app, tenants):
    """A fact written but its recount never run (the process died): the cells lag until the sweep settles the mark."""
    rng = random.Random(7)
    korla = await _tenant(tenants.CHILD_OF_B)
    p = _petition(rng, str(korla.id), 999)
    p.received_on, p.due_on = "2011-07-04", None  # no time limit: the beat's overdue sweep leaves it alone
    await _save(p)
    before = (await _compute(str(korla.id), ["received"], [], {}, date(2011, 7, 1), date(2011, 7, 31), True))["received"].get((), 0)
    from xinfang.analytics.facts import PETITION, refresh

    assert await refresh(PETITION, str(p.id), settle=False)  # the crash: marked and written, not recounted
    assert (await _compute(str(korla.id), ["received"], [], {}, date(2011, 7, 1), date(2011, 7, 31), True))["received"].get((), 0) == before
    await cells_module.settle_all()
    for tenant in (korla, await _tenant(tenants.B)):  # and 巴州 above it
        got = (await _compute(str(tenant.id), ["received"], [], {}, date(2011, 7, 1), date(2011, 7, 31), True))["received"].get((), 0)
        facts = (await _compute(str(tenant.id), ["received"], [], {}, date(2011, 7, 1), date(2011, 7, 31), True, source="facts"))["received"].get((), 0)
        assert got == facts and got >= 1
    assert await handle("petition.transitioned", str(p.id)) is False  # nothing changed: a retry writes nothing


async def test_the_api_answers_reports_drill_downs_snapshots_and_refuses_bad_specs(client, tenants):
    from tests.test_petitions import petition_id_of, submitted

    leader = await login_token(client, tenants.B, "leader")
    base = f"/t/{tenants.B}/api/analytics"
    result = await submitted(client, tenants.B)  # through the real event path: the worker's handler writes its fact
    pid = await petition_id_of(tenants.B, result["number"])
    await eventually(lambda: AnalyticsFact.get_pymongo_collection().find_one({"_id": ObjectId(pid)}), message="the petition's fact")
    today = (await AnalyticsFact.get_pymongo_collection().find_one({"_id": ObjectId(pid)}))["day"]
    spec = {"measures": ["received", "open_now"], "dimensions": ["channel"], "start": today, "end": today}

    async def counted():
        response = await client.post(f"{base}/report", headers=leader, json=spec)
        assert response.status_code == 200, await response.get_data(as_text=True)
        return (await response.get_json())["totals"]["values"]["received"] >= 1

    await eventually(counted, message="the petition counted")

    async def report_and_drill_down():
        # Other tests file petitions into this tenant at the same time: the drill-down (read from the facts) may show
        # one the report (the cells, recounted a moment later) does not show yet; they agree once the recount is done.
        body = await (await client.post(f"{base}/report", headers=leader, json=spec)).get_json()
        row = body["rows"][0]
        query = urllib.parse.urlencode({"spec": json.dumps(spec), "key": json.dumps(row["key"]), "measure": "received"})
        drill = await (await client.get(f"{base}/drill-down?{query}", headers=leader)).get_json()
        return (body, row, drill) if drill["total"] == row["values"]["received"] == len(drill["cases"]) else None

    body, row, drill = await eventually(report_and_drill_down, message="the report and its drill-down agree")
    assert all(row["labels"]["channel"]["zh"] and row["labels"]["channel"]["en"] for row in body["rows"])
    assert drill["total"] >= 1
    snap = await client.get(f"{base}/snapshot?today={today}", headers=leader)
    assert snap.status_code == 200
    snap = await snap.get_json()
    assert snap["intake_today"]["count"] >= 1 and snap["intake_today"]["label"]["zh"] and set(snap["action_forms"]) >= {"talks", "notices", "meetings"}

    bad = {
        "dimensions": dict(spec, measures=["received"], dimensions=["colour"]),  # a petition measure by a card dimension
        "end": dict(spec, start="2001-01-01", end="2026-01-01"),  # more than ten years
        "filters.colourful": dict(spec, filters={"colourful": ["x"]}),  # no such filter
    }
    for field, body in bad.items():
        response = await client.post(f"{base}/report", headers=leader, json=body)
        assert response.status_code == 422, (field, await response.get_data(as_text=True))
        fields = (await response.get_json())["error"]["fields"]
        assert field in fields and fields[field]["zh"] and fields[field]["en"], fields
    assert (await client.post(f"{base}/report", headers=leader, json={"measures": ["nonsense"]})).status_code == 422
    assert (await client.get(f"{base}/drill-down?spec=nope", headers=leader)).status_code == 422
    registrar = await login_token(client, tenants.A, "registrar")  # a role without analytics.read
    assert (await client.post(f"/t/{tenants.A}/api/analytics/report", headers=registrar, json=spec)).status_code == 403


async def test_superusers_see_counts_across_tenants_never_content_and_are_audited(client, superuser, tenants):
    from xinfang.analytics.facts import PETITION, refresh
    from xinfang.audit.models import AuditRecord

    p = _petition(random.Random(3), str((await _tenant(tenants.A)).id), 700)  # a titled petition of 2011 to count
    await _save(p)
    await refresh(PETITION, str(p.id))
    url = "/api/platform/analytics/aggregate?measure=received&start=2011-01-01&end=2011-12-31&by=tenant"
    assert (await client.get(url, headers=superuser)).status_code == 422  # no purpose
    response = await client.get(url + "&purpose=" + urllib.parse.quote("年度统计核对"), headers=superuser)
    assert response.status_code == 200, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["total"] >= 1 and {"tenant", "count"} == set(body["rows"][0])
    assert "统计测试" not in json.dumps(body, ensure_ascii=False)  # titles never leave the tenant
    record = await AuditRecord.find({"action": "cross_tenant.analytics.aggregate"}).sort("-seq").first_or_none()
    assert record is not None and record.purpose == "年度统计核对"
    regions = await (await client.get(url.replace("by=tenant", "by=region") + "&purpose=check", headers=superuser)).get_json()
    assert all(row["label"]["zh"] and not row["label"]["zh"].isdigit() for row in regions["rows"] if row["region"])
    leader = await login_token(client, tenants.B, "leader")
    assert (await client.get(url + "&purpose=check", headers=leader)).status_code in (401, 403)


async def test_snapshot_counts_open_overdue_and_due_this_week(app, tenants):
    rng = random.Random(3)
    korla = await _tenant(tenants.CHILD_OF_B)
    today = date(2011, 9, 15)
    made = []
    for n, (received, due, overdue) in enumerate((("2011-09-15", "2011-09-20", False), ("2011-08-01", "2011-09-01", True),
                                                  ("2011-09-10", "2011-10-30", False))):
        p = _petition(rng, str(korla.id), 500 + n)
        p.received_on, p.due_on, p.overdue = received, due, overdue
        await _save(p)
        await handle("petition.submitted", str(p.id))
        made.append(p)
    before = await snapshot(korla, today)
    assert before["intake_today"]["count"] >= 1 and before["overdue"]["count"] >= 1 and before["due_this_week"]["count"] >= 1
    made[0].steps.append(Step(at=datetime(2011, 9, 15, 6, tzinfo=UTC), tenant_id=str(korla.id), actor="staff-1", actor_name="测试",
                              action="close", from_state="registered", to_state="closed"))
    made[0].state = "closed"
    await _save(made[0])
    await handle("petition.transitioned", str(made[0].id))

    async def recounted():  # the worker may be refreshing the same petition from an older read: its last write re-reads
        counted = await snapshot(korla, today)
        return counted if counted["due_this_week"]["count"] == before["due_this_week"]["count"] - 1 else None

    after = await eventually(recounted, message="the closed petition no longer due")  # closed: no longer due
    assert after["open"]["count"] == before["open"]["count"] - 1
    assert after["intake_today"]["count"] == before["intake_today"]["count"]
    bazhou = await snapshot(await _tenant(tenants.B), today)
    assert bazhou["open"]["count"] >= after["open"]["count"] and bazhou["tenants"] >= 2


def test_month_on_month_compares_whole_months_and_other_periods_with_the_days_just_before():
    from xinfang.analytics.rollups import last_year, previous_period

    assert previous_period(date(2002, 2, 1), date(2002, 2, 28)) == (date(2002, 1, 1), date(2002, 1, 31))
    assert previous_period(date(2026, 1, 1), date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))  # a quarter
    assert previous_period(date(2026, 12, 1), date(2026, 12, 6)) == (date(2026, 11, 25), date(2026, 11, 30))
    assert last_year(date(2024, 2, 29), date(2024, 3, 31)) == (date(2023, 2, 28), date(2023, 3, 31))


async def test_a_slice_counted_from_an_older_mark_never_overwrites_a_newer_one(app):
    """Cells are stored in slices (one document per key family); each is written by a seq-guarded upsert."""
    tenant_id, month = "slice-guard-" + ObjectId().__str__(), "2011-03"
    newer = {month: Counter({"received": 5, "received|channel=letter": 5})}
    older = {month: Counter({"received": 2, "received|channel=letter": 1, "received|channel=visit": 1})}
    try:
        await cells_module._write_cells(tenant_id, "own", "month", newer, [month], seq=7)
        await cells_module._write_cells(tenant_id, "own", "month", older, [month], seq=3)  # a slow recount arrives late
        read = await cells_module.read_cells([tenant_id], "own", "month", [month])
        assert read[(tenant_id, month)] == {"received": 5, "received|channel=letter": 5}
        only_totals = await cells_module.read_cells([tenant_id], "own", "month", [month], [""])
        assert only_totals[(tenant_id, month)] == {"received": 5}
        await cells_module._write_cells(tenant_id, "own", "month", {}, [month], seq=9)  # every case left the month
        assert await cells_module.read_cells([tenant_id], "own", "month", [month]) == {}
        await cells_module._write_cells(tenant_id, "own", "month", older, [month], seq=8)  # older than the emptying
        assert await cells_module.read_cells([tenant_id], "own", "month", [month]) == {}
        slices = {row["slice"] async for row in AnalyticsCell.get_pymongo_collection().find({"tenant_id": tenant_id})}
        assert slices == {"", "channel"}
    finally:
        await AnalyticsCell.get_pymongo_collection().delete_many({"tenant_id": tenant_id})


async def test_a_crash_after_a_slice_was_written_still_reaches_the_body_above(app, tenants):
    """库尔勒's own cell written, the process dies before 巴州 is marked: the slices noted on 库尔勒's mark (``wrote``)
    still reach 巴州 when the sweep settles the mark, though a recount of 库尔勒 now finds nothing to change."""
    rng = random.Random(8)
    korla, bazhou = await _tenant(tenants.CHILD_OF_B), await _tenant(tenants.B)
    p = _petition(rng, str(korla.id), 998)
    p.received_on, p.due_on = "2011-08-09", None
    await _save(p)
    from xinfang.analytics.facts import PETITION, refresh
    from xinfang.analytics.models import AnalyticsDirty

    try:
        assert await refresh(PETITION, str(p.id), settle=False)
        row = await AnalyticsDirty.get_pymongo_collection().find_one({"_id": f"2011-08:{korla.id}"})
        await cells_module.recount_own(str(korla.id), "2011-08", row["seq"], row)  # written, then the crash
        assert (await cells_module.recount_own(str(korla.id), "2011-08", row["seq"])) == set()  # nothing left to change
        await cells_module.settle_all()
        for tenant in (korla, bazhou):
            args = (str(tenant.id), ["received"], ["channel"], {}, date(2011, 8, 1), date(2011, 8, 31), True)
            assert await _compute(*args) == await _compute(*args, source="facts")
            assert sum((await _compute(*args))["received"].values()) >= 1
    finally:
        await Petition.get_pymongo_collection().delete_one({"_id": p.id})
        await handle("petition.transitioned", str(p.id))


async def test_many_facts_refreshed_at_once_equal_one_by_one_and_the_cells_follow(app, tenants):
    """``refresh_many`` (the indexer's statistics after a batch): the same facts as ``compute`` one by one, written,
    moved and deleted, its marks recounted once; a second call changes nothing."""
    from xinfang.analytics.facts import PETITION, compute, refresh_many

    rng = random.Random(11)
    korla, bazhou = await _tenant(tenants.CHILD_OF_B), await _tenant(tenants.B)
    petitions = [_petition(rng, str(korla.id), 2000 + n) for n in range(12)]
    for p in petitions:
        p.received_on, p.due_on = f"2011-08-{rng.randint(1, 28):02d}", None  # August: no other test counts it
        await _save(p)
    assert await refresh_many(PETITION, [str(p.id) for p in petitions] + ["not-an-id"]) == 12
    petitions[0].tenant_id = str(bazhou.id)  # moved up to 巴州
    await _save(petitions[0])
    await Petition.get_pymongo_collection().delete_one({"_id": petitions[1].id})  # gone
    petitions[2].state = "handling"
    await _save(petitions[2])
    assert await refresh_many(PETITION, [str(p.id) for p in petitions]) == 3
    assert await refresh_many(PETITION, [str(p.id) for p in petitions]) == 0  # idempotent
    for p in petitions:
        stored = await AnalyticsFact.get_pymongo_collection().find_one({"_id": p.id}, projection={"_id": 0})
        want = await compute(PETITION, str(p.id))
        assert (stored is None) == (want is None) and (stored is None or all(stored.get(k) == want.get(k) for k in want)), p.number
    assert await AnalyticsFact.get_pymongo_collection().find_one({"_id": petitions[1].id}) is None
    await cells_module.settle_all()
    for tenant in (korla, bazhou):
        got = (await _compute(str(tenant.id), ["received"], [], {}, date(2011, 8, 1), date(2011, 8, 31), True))["received"].get((), 0)
        facts = (await _compute(str(tenant.id), ["received"], [], {}, date(2011, 8, 1), date(2011, 8, 31), True, source="facts"))["received"].get((), 0)
        assert got == facts
    own = (await _compute(str(korla.id), ["received"], [], {}, date(2011, 8, 1), date(2011, 8, 31), False, source="facts"))["received"].get((), 0)
    assert own == 10  # the ten left in 库尔勒 (not the moved one, not the deleted one)


@pytest.mark.parametrize("many", [False, True], ids=["refresh", "refresh_many"])
async def test_a_recount_between_a_facts_mark_and_its_write_leaves_the_cells_right(app, tenants, monkeypatch, many):
    """Two events of one month at once (CI once counted 7 overdue where the petitions said 8): the first refresh has
    marked the month but not yet written its fact when the second refreshes, recounts the month and clears the mark.
    The first's write must still reach the cells (it marks again after writing), by its own recount."""
    from xinfang.analytics.facts import PETITION, refresh, refresh_many

    rng = random.Random(15)
    siyang = await _tenant(tenants.A)
    first, second = (_petition(rng, str(siyang.id), 3000 + n) for n in range(2))
    for p in (first, second):
        p.received_on, p.due_on = "2011-09-05", None  # September: no other test counts it; no time limit for the beat
        await _save(p)
        assert await refresh(PETITION, str(p.id))
    first.state, second.state = "handling", "accepted"  # the state dimension: both change their month's cells
    for p in (first, second):
        await _save(p)

    real_mark, paused, go = cells_module.mark, asyncio.Event(), asyncio.Event()
    armed = [True]

    async def mark_then_wait(*args, **kwargs):
        await real_mark(*args, **kwargs)
        if armed[0]:  # the first refresh's mark before its write: hold it there
            armed[0] = False
            paused.set()
            await go.wait()

    monkeypatch.setattr(cells_module, "mark", mark_then_wait)
    held = asyncio.create_task(refresh_many(PETITION, [str(first.id)]) if many else refresh(PETITION, str(first.id), settle=False))
    await asyncio.wait_for(paused.wait(), 30)
    assert await refresh(PETITION, str(second.id))  # marks, writes, recounts September, clears the mark
    go.set()
    await asyncio.wait_for(held, 30)
    await cells_module.settle_all()  # the first refresh's caller recounts what is marked (refresh_many's, the indexer's way)

    args = (str(siyang.id), ["received"], ["state"], {}, date(2011, 9, 1), date(2011, 9, 30), False)
    cells, facts = await _compute(*args), await _compute(*args, source="facts")
    assert cells == facts
    assert facts["received"].get((("state", "handling"),), 0) >= 1 and facts["received"].get((("state", "accepted"),), 0) >= 1
