"""Events: committed with the write, dispatched after it, recovered when lost, handled once."""

from __future__ import annotations

import asyncio
import contextlib
import types
from datetime import timedelta

import pytest

from xinfang import events as events_module
from xinfang.dispatch import claim_stale_events, dispatch_event
from xinfang.events import DomainEvent, EventStatus, OutboxEvent, unit_of_work
from xinfang.hookspecs import hookimpl
from xinfang.plugins import make_plugin_manager
from xinfang.store.documents import utcnow
from xinfang.tenancy.models import Tenant, TenantPluginSetting
from xinfang.store.scoped import TenantScope
from xinfang_activity import ActivityEntry
from tests.conftest import eventually


@contextlib.contextmanager
def broker_loses_messages():
    """Committed events are not handed to the broker, as if every message were lost."""
    original = events_module._enqueue
    events_module._enqueue = None
    try:
        yield
    finally:
        events_module._enqueue = original


async def _scope(slug: str) -> TenantScope:
    return TenantScope((await Tenant.find_one({"slug": slug})).id)


async def _create_account(client, slug, headers, username) -> str:
    response = await client.post(
        f"/t/{slug}/api/accounts", headers=headers,
        json={"username": username, "display_name": username, "roles": ["handler"], "password": "long-enough-pw"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return (await response.get_json())["id"]


async def _activity_for(scope: TenantScope, subject_id: str) -> list[ActivityEntry]:
    return await scope.repo(ActivityEntry).find({"subject_id": subject_id}).to_list()


async def test_a_committed_write_reaches_the_plugin_through_the_real_worker(client, tenants, admin_b, worker):
    account_id = await _create_account(client, tenants.B, admin_b, "event-flow")
    scope = await _scope(tenants.B)
    entries = await eventually(lambda: _activity_for(scope, account_id), message="the activity entry")
    assert [e.event for e in entries] == ["account.created"]
    event = await OutboxEvent.find_one({"subject_id": account_id})
    assert event.status == EventStatus.DONE and "activity" in event.handled_by
    # Handed over directly after the commit, never re-claimed by the sweeper.
    assert event.dispatched_at == event.created_at and event.attempts == 0


async def test_a_failed_unit_of_work_records_no_event(app, tenants):
    scope = await _scope(tenants.A)
    row = TenantPluginSetting(tenant_id=scope.tenant_id, plugin="abort-probe", enabled=True)
    with pytest.raises(RuntimeError, match="boom"):
        async with unit_of_work() as uow:
            await scope.repo(TenantPluginSetting).insert(row, session=uow.session)
            uow.record(DomainEvent("probe.aborted", scope.tenant_id, str(row.id), {}))
            raise RuntimeError("boom")
    assert await OutboxEvent.find_one({"name": "probe.aborted"}) is None
    stored = await scope.repo(TenantPluginSetting).find_one({"plugin": "abort-probe"})
    if events_module._store.supports_transactions:  # a replica set: the write is rolled back too
        assert stored is None
    else:  # the embedded store: no transactions, the write made before the failure stays
        assert stored is not None
        await scope.repo(TenantPluginSetting).delete(stored)


async def test_a_lost_message_is_recovered_by_the_sweeper(client, tenants, admin_a, worker, settings):
    with broker_loses_messages():
        account_id = await _create_account(client, tenants.A, admin_a, "lost-message")
    event = await OutboxEvent.find_one({"subject_id": account_id})
    assert event.status == EventStatus.PENDING
    scope = await _scope(tenants.A)
    timeout = settings.event_lease_seconds + settings.sweep_interval_seconds * 3 + 10
    entries = await eventually(lambda: _activity_for(scope, account_id), timeout=timeout, message="the sweeper")
    assert len(entries) == 1
    done = await eventually(
        lambda: OutboxEvent.find_one({"subject_id": account_id, "status": EventStatus.DONE}), message="event done"
    )
    assert "activity" in done.handled_by and done.last_error is None


def _runtime(settings, *extra_plugins):
    return types.SimpleNamespace(pm=make_plugin_manager(list(extra_plugins)), settings=settings)


async def test_handling_twice_changes_nothing(client, tenants, admin_a, worker, settings):
    account_id = await _create_account(client, tenants.A, admin_a, "handled-twice")
    scope = await _scope(tenants.A)
    await eventually(lambda: _activity_for(scope, account_id), message="first handling")
    event = await OutboxEvent.find_one({"subject_id": account_id})
    assert await dispatch_event(_runtime(settings), str(event.id)) == "skipped"  # already done
    # A redelivery that arrives before the status was written: the plugin must not add a second entry.
    await OutboxEvent.get_pymongo_collection().update_one(
        {"_id": event.id}, {"$set": {"status": EventStatus.PENDING, "handled_by": []}}
    )
    assert await dispatch_event(_runtime(settings), str(event.id)) == "done"
    assert len(await _activity_for(scope, account_id)) == 1


class FailingPlugin:
    @hookimpl
    def xinfang_handle_event(self, event, tenant, config):
        raise ValueError("this plugin is broken")


async def test_one_failing_plugin_does_not_stop_the_others_and_is_retried(app, tenants, settings):
    scope = await _scope(tenants.B)
    row = TenantPluginSetting(tenant_id=scope.tenant_id, plugin="failing-probe", enabled=False)
    with broker_loses_messages():
        async with unit_of_work() as uow:
            await scope.repo(TenantPluginSetting).insert(row, session=uow.session)
            uow.record(DomainEvent("probe.failing", scope.tenant_id, str(row.id), {}))
    event = await OutboxEvent.find_one({"subject_id": str(row.id)})
    assert await dispatch_event(_runtime(settings, FailingPlugin()), str(event.id)) == "retry"
    event = await OutboxEvent.find_one({"_id": event.id})
    assert event.status == EventStatus.PENDING and event.attempts == 1
    assert "this plugin is broken" in event.last_error
    assert "activity" in event.handled_by  # the healthy plugin finished and will not run again


async def test_two_sweepers_at_once_never_claim_the_same_event(app):
    long_ago = utcnow() - timedelta(days=1)
    created = [
        OutboxEvent(name="probe.claim", tenant_id=None, subject_id=None, dispatched_at=long_ago) for _ in range(40)
    ]
    await OutboxEvent.insert_many(created)
    ids = {str(e.id) for e in created}
    first, second = await asyncio.gather(claim_stale_events(3600), claim_stale_events(3600))
    ours_first, ours_second = set(first) & ids, set(second) & ids
    assert not ours_first & ours_second
    # Every event was claimed by one of them, or by the test worker's own beat sweeper meanwhile.
    remaining = await OutboxEvent.find({"name": "probe.claim", "dispatched_at": {"$lt": utcnow() - timedelta(hours=1)}}).count()
    assert remaining == 0
    # A claimed moment reads back as an aware UTC datetime (the embedded store returns $set datetimes as strings).
    claimed = await OutboxEvent.find_one({"name": "probe.claim"})
    assert claimed.dispatched_at.tzinfo is not None and claimed.dispatched_at > long_ago
    await OutboxEvent.get_pymongo_collection().delete_many({"name": "probe.claim"})


async def test_a_plugin_disabled_for_one_tenant_still_runs_for_the_other(client, tenants, admin_a, admin_b, worker):
    off = await client.put(f"/t/{tenants.A}/api/plugins/activity", headers=admin_a, json={"enabled": False, "config": {}})
    assert off.status_code == 200 and (await off.get_json())["enabled"] is False
    try:
        quiet_id = await _create_account(client, tenants.A, admin_a, "quiet-tenant")
        loud_id = await _create_account(client, tenants.B, admin_b, "loud-tenant")
        await eventually(lambda: _activity_for_slug(tenants.B, loud_id), message="B's activity")
        await eventually(lambda: OutboxEvent.find_one({"subject_id": quiet_id, "status": EventStatus.DONE}))
        assert await _activity_for_slug(tenants.A, quiet_id) == []
    finally:
        on = await client.put(f"/t/{tenants.A}/api/plugins/activity", headers=admin_a, json={"enabled": True, "config": {}})
        assert on.status_code == 200


async def _activity_for_slug(slug: str, subject_id: str):
    return await _activity_for(await _scope(slug), subject_id)
