"""The beat's sweep asks by what is due, not tenant by tenant (issue 18; platform/xinfang/due_sweeps.py).

Counted, not timed: the store operations a sweep issues (every call of a pymongo collection method the platform
uses, counted in this process) with the session's tenants alone and with 200 idle tenants more must be the same; and
due items spread over many tenants are all handled, each in its own tenant.

The sweeps here run on a day years ahead (the test worker's beat runs on the real clock meanwhile, and may reset a
gate set for that day: the gated parts are counted as the least of a few beats); what they leave behind (the tenants
made here, their rows, the day marks) is removed or put back afterwards.
"""

from __future__ import annotations

import types
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from pymongo.errors import BulkWriteError
from pymongo.asynchronous.collection import AsyncCollection

from xinfang.analytics import alerts
from xinfang.cards import plugin as cards_plugin
from xinfang.cards.models import EscalationRule, Subject, Supervision, SupervisionState
from xinfang.cards.sweeper import SweepMark
from xinfang.due_sweeps import SWEEP_DAYS
from xinfang.notifications import plugin as notifications_plugin
from xinfang.notifications.models import Notification, NoticeSweepMark
from xinfang.petitions import plugin as petitions_plugin
from xinfang.petitions.models import Petition
from xinfang.retention import plugin as retention_plugin
from xinfang.retention.models import RetentionMark
from xinfang.retention.sweep import GATE as RETENTION_GATE
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant

CHINA = ZoneInfo("Asia/Shanghai")
DAY = date(2031, 3, 4)  # a Tuesday, after anything the real clock's beat reaches in a test run
OPERATIONS = ("find", "find_one", "update_one", "update_many", "insert_one", "insert_many", "delete_one", "delete_many",
              "count_documents", "aggregate", "find_one_and_update", "bulk_write", "replace_one", "distinct")


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), CHINA).astimezone(timezone.utc)


@pytest.fixture
def operations(monkeypatch):
    """Every store operation this process starts (collection methods; a cursor's further batches are not counted)."""
    counted: Counter = Counter()

    def counting(name):
        original = getattr(AsyncCollection, name)

        def wrapper(self, *args, **kwargs):
            counted[f"{self.name}.{name}"] += 1
            return original(self, *args, **kwargs)
        return wrapper

    for name in OPERATIONS:
        monkeypatch.setattr(AsyncCollection, name, counting(name))
    return counted


@pytest.fixture
async def restored_marks(app):
    """The day marks as they were before the test (the sweeps here mark a day years ahead)."""
    saved = {}
    database = Tenant.get_pymongo_collection().database
    for collection in (SweepMark.get_pymongo_collection(), NoticeSweepMark.get_pymongo_collection(),
                       RetentionMark.get_pymongo_collection(), alerts.AlertCheckMark.get_pymongo_collection(), database[SWEEP_DAYS]):
        saved[collection] = await collection.find({}).to_list(None)
    yield
    for collection, rows in saved.items():
        await collection.delete_many({})
        if rows:
            try:
                await collection.insert_many(rows, ordered=False)
            except BulkWriteError as exc:  # the test worker's real-clock beat wrote one meanwhile: its row is the newer
                if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                    raise


@pytest.fixture
async def made_tenants(app, tenants):
    """make(n, prefix): n more active tenants (copies of tenant A's profile, no bundle); all removed afterwards."""
    template = await Tenant.get_pymongo_collection().find_one({"slug": tenants.A})
    made: list[str] = []

    async def make(n: int, prefix: str) -> list[str]:
        rows = [{**template, "_id": ObjectId(), "slug": f"{prefix}-{i:04d}-{ObjectId()}", "hosts": [], "parent_id": None,
                 "ancestor_ids": []} for i in range(n)]
        await Tenant.get_pymongo_collection().insert_many(rows)
        ids = [str(row["_id"]) for row in rows]
        made.extend(ids)
        return ids

    async def drop(ids: list[str]) -> None:
        await Tenant.get_pymongo_collection().delete_many({"_id": {"$in": [ObjectId(i) for i in ids]}})
        for model in (Petition, Supervision, Notification, EscalationRule, SweepMark, NoticeSweepMark, RetentionMark,
                      alerts.AlertCheckMark):
            for tenant_id in ids:  # one equality each: the embedded store's $in beside nothing else is slow but right
                await model.get_pymongo_collection().delete_many({"tenant_id": tenant_id})

    make.drop = drop
    yield make
    await drop(made)


async def forget_today(day: date) -> None:
    """As if nothing were swept on ``day`` yet (marks of that day and the platform's day and gates)."""
    for model in (SweepMark, NoticeSweepMark):
        await model.get_pymongo_collection().delete_many({"day": day.isoformat()})
    await Tenant.get_pymongo_collection().database[SWEEP_DAYS].delete_many({})


DAILY = (("petitions", petitions_plugin.xinfang_sweep), ("cards", cards_plugin.xinfang_sweep),
         ("notifications", notifications_plugin.xinfang_sweep))


async def sweep_daily(now: datetime, runtime, operations: Counter) -> int:
    """The parts that used to walk every tenant (overdue flags, the cards' and the deadlines' daily sweeps)."""
    before = sum(operations.values())
    for _, part in DAILY:
        await part(now, runtime)
    return sum(operations.values()) - before


async def sweep_gated(now: datetime, runtime, operations: Counter) -> int:
    """The parts whose later beats read one document: retention and the early-warning checks."""
    before = sum(operations.values())
    await retention_plugin.xinfang_sweep(now, runtime)
    await alerts.sweep_alerts(now)
    return sum(operations.values()) - before


async def first_beat(runtime, operations: Counter) -> int:
    """The operations of the day's first beat, the least of three from a clean day: the test worker's own beat (real
    clock) may write between them (one run in four counted a rate counters' clean-up and an update for an insert)."""
    counts = []
    for _ in range(3):
        await forget_today(DAY)
        counts.append(await sweep_daily(at(DAY), runtime, operations))
    return min(counts)


async def test_a_sweep_asks_the_same_with_200_idle_tenants_more(app, settings, tenants, made_tenants, restored_marks,
                                                                operations, monkeypatch):
    async def no_checks(tenant, today, *, only=None, pm=None):
        return []  # the early-warning checks themselves are another test's (this one counts the sweep's questions)
    monkeypatch.setattr(alerts, "run_alert_checks", no_checks)
    runtime = types.SimpleNamespace(settings=settings, pm=None, send=None)

    # The first beat of the day with the session's tenants does the day's work; asked again from a clean day (its work
    # now done, so the same due items and no writes of work), it costs ``alone``.
    await forget_today(DAY)
    await sweep_daily(at(DAY), runtime, operations)
    alone = await first_beat(runtime, operations)

    idle = await made_tenants(200, "idle")
    rule = await EscalationRule.get_pymongo_collection().find_one({})  # idle tenants with rules and no cards
    if rule is not None:
        await EscalationRule.get_pymongo_collection().insert_many(
            [{**rule, "_id": ObjectId(), "tenant_id": tenant_id} for tenant_id in idle])
    operations.clear()
    crowded = await first_beat(runtime, operations)
    asked = dict(operations)
    assert crowded == alone, f"the first beat of a day asked {crowded} with 200 idle tenants more, {alone} without: {asked}"

    # A later beat of the same day: one document per part, whatever the number of tenants.
    later = await sweep_daily(at(DAY) + timedelta(seconds=30), runtime, operations)
    assert later <= 2 * len(DAILY) + 3, f"a later beat asked {later} times"  # a count and a day each; petitions' question

    # Retention and the early-warning checks walk every tenant when their moment comes (a new day, six hours), in as
    # many beats as retention's budget needs; the beats after that read one document each.
    for beat in range(40):
        await sweep_gated(at(DAY) + timedelta(seconds=beat), runtime, operations)
        if await Tenant.get_pymongo_collection().database[SWEEP_DAYS].find_one({"_id": RETENTION_GATE, "until": {"$gt": 0}}):
            break
    # The least of a few beats: the test worker's own beat (the real clock) may reset a gate in between.
    quiet_crowded = min([await sweep_gated(at(DAY) + timedelta(minutes=5, seconds=k), runtime, operations) for k in range(3)])
    await made_tenants.drop(idle)
    await sweep_gated(at(DAY) + timedelta(minutes=6), runtime, operations)  # the tenant count changed: asked again
    for beat in range(40):
        if await sweep_gated(at(DAY) + timedelta(minutes=7, seconds=beat), runtime, operations) <= quiet_crowded:
            break
    quiet_alone = min([await sweep_gated(at(DAY) + timedelta(minutes=8, seconds=k), runtime, operations) for k in range(3)])
    assert quiet_crowded == quiet_alone <= 8, (quiet_crowded, quiet_alone)


async def test_due_items_in_many_tenants_are_all_handled_each_in_its_own_tenant(app, settings, made_tenants, restored_marks):
    runtime = types.SimpleNamespace(settings=settings, pm=None, send=None)
    day = DAY + timedelta(days=7)
    busy = await made_tenants(25, "busy")
    await made_tenants(50, "quiet")  # idle around them
    mine: dict[str, str] = {}  # item id -> its tenant
    for n, tenant_id in enumerate(busy):
        scope = TenantScope(tenant_id)
        petition = await scope.repo(Petition).insert(Petition(
            tenant_id=tenant_id, number=f"DUE-{n:03d}-{ObjectId()}", origin_tenant_id=tenant_id, form_key="petition", form_version=1,
            form_digest="test", kind="petition", channel="online", anonymous=True, answers={}, title=f"到期信访 {n}",
            state="handling", due_on=(day - timedelta(days=2)).isoformat(), assignee_id=str(ObjectId())))
        card = await scope.repo(Supervision).insert(Supervision(
            tenant_id=tenant_id, kind="card", type_key="white", subject=Subject(kind="person", name=f"对象{n}", unit="某中学"),
            subject_key=f"due-test:{n}", state=SupervisionState.ISSUED, issued_on=(day - timedelta(days=40)).isoformat(),
            response_due=(day - timedelta(days=1)).isoformat()))
        mine[str(petition.id)] = mine[str(card.id)] = tenant_id

    await forget_today(day)
    for _, part in DAILY:
        await part(at(day), runtime)

    for tenant_id in busy:
        petitions = await Petition.get_pymongo_collection().find({"tenant_id": tenant_id}).to_list(None)
        cards = await Supervision.get_pymongo_collection().find({"tenant_id": tenant_id}).to_list(None)
        assert [p["overdue"] for p in petitions] == [True], tenant_id
        assert [c["overdue"] for c in cards] == [True], tenant_id
        notices = await Notification.get_pymongo_collection().find({"tenant_id": tenant_id}).to_list(None)
        kinds = Counter(n["kind"] for n in notices)
        assert kinds["overdue"] >= 2, (tenant_id, kinds)  # the petition's and the card's, each once
        subjects = {n.get("subject_id") for n in notices}
        assert {str(petitions[0]["_id"]), str(cards[0]["_id"])} <= subjects
    # Nothing of one tenant's items reached another's notices.
    async for notice in Notification.get_pymongo_collection().find({"kind": "overdue"}, projection={"tenant_id": 1, "subject_id": 1}):
        if notice.get("subject_id") in mine:
            assert notice["tenant_id"] == mine[notice["subject_id"]]
    # A second beat the same day changes nothing more.
    before = await Notification.get_pymongo_collection().count_documents({"tenant_id": {"$in": busy}})
    for _, part in DAILY:
        await part(at(day) + timedelta(seconds=30), runtime)
    assert await Notification.get_pymongo_collection().count_documents({"tenant_id": {"$in": busy}}) == before



async def test_a_tenant_switched_active_during_the_day_is_swept_that_day(app, made_tenants, restored_marks):
    """The platform's "done for today" is kept with the count of active tenants: a tenant switched from inactive to
    active after the day was done (something of it due) is swept at the next beat, not tomorrow; once."""
    from xinfang.due_sweeps import sweep_due_tenants

    [tenant_id] = await made_tenants(1, "switched-on")
    tenants = Tenant.get_pymongo_collection()
    await tenants.update_one({"_id": ObjectId(tenant_id)}, {"$set": {"active": False}})
    swept: list[str] = []
    marks: dict[str, str] = {}

    async def tenants_due(day):
        return {tenant_id}

    async def swept_on(scope, own_only=False):
        return marks.get(scope.tenant_id)

    async def mark_swept(scope, day):
        marks[scope.tenant_id] = day

    async def sweep_one(scope, slug, day):
        swept.append(scope.tenant_id)

    part, today = f"switched-{ObjectId()}", DAY.isoformat()
    beat = (part, today, tenants_due, swept_on, mark_swept, sweep_one)
    try:
        await sweep_due_tenants(*beat)
        assert swept == []  # inactive: never swept, and the day is done
        await sweep_due_tenants(*beat)
        assert swept == []
        await tenants.update_one({"_id": ObjectId(tenant_id)}, {"$set": {"active": True}})  # switched on at noon
        await sweep_due_tenants(*beat)
        assert swept == [tenant_id]
        await sweep_due_tenants(*beat)  # the day is done again, with it
        assert swept == [tenant_id]
    finally:
        await tenants.database[SWEEP_DAYS].delete_one({"_id": part})
