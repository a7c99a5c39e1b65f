"""Handing committed events to plugins, and the sweeper that finds unfinished work."""

from __future__ import annotations

import logging
from datetime import timedelta

from pymongo import ReturnDocument

from .events import EventStatus, OutboxEvent
from .plugins import maybe_await, plugin_name_of
from .store.documents import utcnow
from .tenancy.context import TenantContext
from .tenancy.service import get_tenant
from .tenancy.plugin_settings import plugin_settings_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
SWEEP_BATCH = 1000


async def dispatch_event(runtime, event_id: str) -> str:
    """Run every enabled handler that has not yet finished this event. Idempotent."""
    pm = runtime.pm
    event = await OutboxEvent.find_one({"_id": _oid(event_id)})
    if event is None:
        log.warning("event %s is not in the store; nothing to do", event_id)
        return "missing"
    if event.status != EventStatus.PENDING:
        return "skipped"
    tenant_ctx = None
    settings = {}
    if event.tenant_id is not None:
        tenant = await get_tenant(event.tenant_id)
        if tenant is None:
            log.warning("event %s names tenant %s, which is gone", event_id, event.tenant_id)
            return "missing"
        tenant_ctx = TenantContext.of(tenant)
        settings = await plugin_settings_for(tenant_ctx.scope, pm)
    collection = OutboxEvent.get_pymongo_collection()
    errors: list[str] = []
    for impl in pm.hook.xinfang_handle_event.get_hookimpls():
        name = plugin_name_of(pm, impl.plugin)
        if name in event.handled_by:
            continue
        setting = settings.get(name)
        if tenant_ctx is not None and setting is not None and not setting.enabled:
            continue
        try:
            await maybe_await(
                impl.function(event=event, tenant=tenant_ctx, config=setting.config if setting else {})
            )
        except Exception as exc:  # one plugin's failure must not stop the others
            log.exception("plugin %s failed on event %s", name, event.id)
            errors.append(f"{name}: {exc!r}")
            continue
        await collection.update_one({"_id": event.id}, {"$addToSet": {"handled_by": name}})
    if errors:
        attempts = event.attempts + 1
        await collection.update_one(
            {"_id": event.id},
            {
                "$set": {
                    "attempts": attempts,
                    "last_error": "; ".join(errors)[:2000],
                    "status": EventStatus.FAILED if attempts >= MAX_ATTEMPTS else EventStatus.PENDING,
                }
            },
        )
        return "retry"
    await collection.update_one(
        {"_id": event.id, "status": EventStatus.PENDING},
        {"$set": {"status": EventStatus.DONE, "finished_at": utcnow()}},
    )
    return "done"


async def claim_stale_events(lease_seconds: float, now=None) -> list[str]:
    """Claim pending events whose last hand-over is older than the lease.

    Each claim is one atomic find_one_and_update that moves ``dispatched_at`` to
    now, so two sweepers running at once never claim the same event twice.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    collection = OutboxEvent.get_pymongo_collection()
    claimed: list[str] = []
    for _ in range(SWEEP_BATCH):
        doc = await collection.find_one_and_update(
            {"status": EventStatus.PENDING, "dispatched_at": {"$lt": cutoff}},
            {"$set": {"dispatched_at": now}},
            return_document=ReturnDocument.AFTER,
            projection={"_id": 1},
        )
        if doc is None:
            break
        claimed.append(str(doc["_id"]))
    return claimed


async def sweep(runtime) -> None:
    """The beat task: every plugin's idempotent periodic work, events first."""
    now = utcnow()
    for result in runtime.pm.hook.xinfang_sweep(now=now, runtime=runtime):
        await maybe_await(result)


def _oid(value: str):
    from .store.scoped import parse_object_id

    return parse_object_id(value)
