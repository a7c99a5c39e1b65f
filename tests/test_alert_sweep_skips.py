"""The early-warning sweep passes idle tenants by (issue 18; analytics/alerts.py ``sweep_alerts``, ``tenants_that_may_move``).

A due tenant whose checks could neither cross nor end anything is not checked, and counts as checked now: due again
``CHECK_EVERY`` later, the gate closes the same. A tenant with petitions in a check's window, an overdue case or a
running alert is still checked (its alert raised, or ended).

The sweeps here run a year and more ahead of the real clock: the test worker's own beat (the real clock) checks the
same tenants meanwhile and must not end or raise what these tests look at first (the running alert is seen ten days
before that day, after the real clock's week; the petitions are filed on that day).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from tests import test_due_sweeps
from xinfang.analytics import alerts
from xinfang.analytics.alert_settings import AREA
from xinfang.due_sweeps import SWEEP_DAYS, skipped_at, tenant_count
from xinfang.petitions.models import Petition
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import ConfigVersion
from xinfang.tenancy.models import Tenant

made_tenants = test_due_sweeps.made_tenants  # the fixtures: more tenants (removed afterwards), the day marks put back
restored_marks = test_due_sweeps.restored_marks


def ahead(days: int = 500):
    return utcnow().replace(microsecond=0) + timedelta(days=days)


async def file(tenant_id: str, filed, key: str | None = None, overdue: bool = False) -> None:
    scope = TenantScope(tenant_id)
    await scope.repo(Petition).insert(Petition(
        tenant_id=tenant_id, number=f"SKIP-{ObjectId()}", origin_tenant_id=tenant_id, form_key="petition", form_version=1,
        form_digest="test", kind="petition", channel="online", anonymous=key is None, answers={}, title="预警跳过测试",
        state="handling", petitioner_key=key, overdue=overdue, assignee_id=str(ObjectId()) if overdue else None, created_at=filed))


async def running_alert(tenant_id: str, last_seen: str, ended_on: str | None = None) -> None:
    await TenantScope(tenant_id).repo(alerts.Alert).insert(alerts.Alert(
        id=alerts.alert_id(tenant_id, "repeat_person", "someone", last_seen), tenant_id=tenant_id, check="repeat_person",
        subject="someone", subject_words={"zh": "同一信访人", "en": "one petitioner"}, opened_on=last_seen, last_seen_on=last_seen,
        ended_on=ended_on, observed=3, limit=3, window_days=30, method="threshold", peak=3, text={"zh": "测试", "en": "test"}))


@pytest.fixture
async def drop_alerts():
    made: list[str] = []
    yield made
    for tenant_id in made:
        await alerts.Alert.get_pymongo_collection().delete_many({"tenant_id": tenant_id})
        await ConfigVersion.get_pymongo_collection().delete_many({"tenant_id": tenant_id})


async def test_only_tenants_whose_checks_could_cross_or_end_may_move(app, made_tenants, drop_alerts):
    now = ahead()
    (recent, overdue, repeats, two_repeats, old_single, repeats_short_window, running, ended, idle) = await made_tenants(9, "move")
    drop_alerts.extend([running, ended, repeats_short_window])
    await file(recent, now - timedelta(days=5))
    await file(overdue, now - timedelta(days=400), overdue=True)  # an old case, overdue now: overdue_unit counts it
    for _ in range(3):  # repeat_min 3 within the default 30 days, older than the rises' week
        await file(repeats, now - timedelta(days=20), key="same-person")
        await file(repeats_short_window, now - timedelta(days=20), key="same-person")
    for _ in range(2):
        await file(two_repeats, now - timedelta(days=20), key="same-person")
    await file(old_single, now - timedelta(days=20), key="one-person")
    content = {**alerts.AlertSettings().model_dump(), "repeat_days": 10}  # this tenant counts repeats over 10 days only
    await TenantScope(repeats_short_window).repo(ConfigVersion).insert(ConfigVersion(
        tenant_id=repeats_short_window, area=AREA, number=1, content=content, digest="test"))
    await running_alert(running, (now - timedelta(days=30)).date().isoformat())
    await running_alert(ended, (now - timedelta(days=30)).date().isoformat(), ended_on=(now - timedelta(days=30)).date().isoformat())

    found = await alerts.tenants_that_may_move(now)
    mine = {recent, overdue, repeats, two_repeats, old_single, repeats_short_window, running, ended, idle}
    assert found & mine == {recent, overdue, repeats, running}

    # What was left out finds nothing indeed: its checks, run, raise nothing and end nothing.
    for tenant_id in (two_repeats, old_single, repeats_short_window, ended, idle):
        tenant = await Tenant.get(ObjectId(tenant_id))
        assert await alerts.run_alert_checks(tenant, alerts.tenant_today(tenant, now)) == [], tenant_id
    # The ended alert stays as it ended (read by its id: the test worker's own beat, on the real clock, may check these
    # tenants meanwhile and write alerts of its own days; one run saw such an alert ended on the real today).
    last_seen = (now - timedelta(days=30)).date().isoformat()
    row = await alerts.Alert.get_pymongo_collection().find_one({"_id": alerts.alert_id(ended, "repeat_person", "someone", last_seen)})
    assert row is not None and row["ended_on"] == last_seen


async def test_the_sweep_checks_the_busy_passes_the_idle_by_and_closes_its_gate(app, made_tenants, restored_marks, drop_alerts,
                                                                                  monkeypatch):
    now = ahead(600)
    busy, running, *idle = await made_tenants(12, "sweep")
    drop_alerts.extend([busy, running])
    for _ in range(3):
        await file(busy, now - timedelta(hours=2), key="same-person")  # crosses repeat_min 3
    seen_on = (now - timedelta(days=10)).date().isoformat()  # after the real clock's week: only this sweep ends it
    await running_alert(running, seen_on)
    mine = {busy, running, *idle}

    checked: list[str] = []
    original = alerts.run_alert_checks

    async def counted(tenant, today=None, *, only=None, pm=None):
        checked.append(str(tenant.id))
        if str(tenant.id) in mine:
            return await original(tenant, today, only=only, pm=pm)
        return []  # the session's other tenants: counted, not checked (other tests' data)
    monkeypatch.setattr(alerts, "run_alert_checks", counted)

    raised = await alerts.sweep_alerts(now)
    for _ in range(3):
        # Read at once: the real clock's beat (every second) sees a gate set ahead of its clock as open, sets its own
        # and replaces the passed-by moments with its own (one run in fifteen saw that). Then the same sweep again:
        # the checked tenants are fresh by their marks, the idle ones are passed by again at the same moment.
        gate = await Tenant.get_pymongo_collection().database[SWEEP_DAYS].find_one({"_id": alerts.ALERTS_GATE})
        passed = await skipped_at(alerts.ALERTS_GATE)
        if gate is not None and gate.get("set_at") == now.timestamp() and all(passed.get(t) == now.timestamp() for t in idle):
            break
        await alerts.sweep_alerts(now)
    assert set(checked) & mine == {busy, running}, "the idle tenants were checked"
    assert raised >= 1
    today = alerts.tenant_today(await Tenant.get(ObjectId(busy)), now).isoformat()
    assert [(a["check"], a["subject"]) async for a in alerts.Alert.get_pymongo_collection().find({"tenant_id": busy, "opened_on": today})] == [
        ("repeat_person", "same-person")]
    assert [a["ended_on"] async for a in alerts.Alert.get_pymongo_collection().find({"tenant_id": running})] == [seen_on]
    # Passed by as if checked now: due again with the checked ones, and the gate closed until then.
    assert all(passed.get(t) == now.timestamp() for t in idle), passed
    assert gate is not None and gate["until"] == (now + alerts.CHECK_EVERY).timestamp() and gate["tenants"] == await tenant_count()

    # Within the interval nobody is due (the gate, or, had the real clock's beat reset it, each one's moment).
    checked.clear()
    await alerts.sweep_alerts(now + alerts.CHECK_EVERY / 2)
    assert not set(checked) & mine

    # An interval later: an idle tenant that got a petition meanwhile is checked; the others are passed by again.
    await file(idle[0], now + alerts.CHECK_EVERY, key="another")
    checked.clear()
    # Due again whichever moment it was passed by at: ``now``, or ``now + CHECK_EVERY / 2`` when the real clock's beat had
    # replaced that moment with its own before the sweep in the interval (then that sweep passed it by; one run in four).
    later = now + alerts.CHECK_EVERY * 1.6
    await alerts.sweep_alerts(later)
    assert set(checked) & mine == {busy, idle[0]}  # busy: its alert runs; running's alert ended, nothing moves there
    passed = await skipped_at(alerts.ALERTS_GATE)
    assert all(passed.get(t) == later.timestamp() for t in idle[1:] + [running]), passed


async def test_without_skipping_every_due_tenant_is_checked(app, made_tenants, restored_marks, monkeypatch):
    """``skip_idle=False`` (the sweep as it was, bench/tenants.py's "before"): idle tenants are checked too."""
    idle = set(await made_tenants(5, "noskip"))
    checked: list[str] = []

    async def counted(tenant, today=None, *, only=None, pm=None):
        checked.append(str(tenant.id))
        return []
    monkeypatch.setattr(alerts, "run_alert_checks", counted)
    await alerts.sweep_alerts(ahead(700), skip_idle=False)
    assert idle <= set(checked)
    checked.clear()
    await alerts.sweep_alerts(ahead(800))
    assert not idle & set(checked)
