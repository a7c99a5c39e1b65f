"""Handing committed events to plugins, and the sweeper that finds unfinished work.

Events are handled in batches: one read for the batch, the tenants' contexts and
plugin settings once per tenant, the handlers of different subjects side by side
on the worker's event loop (a bounded number at once; the events of one subject in
the order they happened), and every outcome recorded in one bulk write. The
sweeper claims stale events many per round trip, and its claim stays exclusive:
each event is claimed by a conditional update of that one document, marked with
the claim's own token, and the claimer takes only the events that carry its token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import ConnectionFailure

from .events import EventStatus, OutboxEvent, materialise_by_id, materialise_stale
from .observability.metrics import count_store_error
from .plugins import maybe_await, plugin_name_of
from .store.documents import utcnow
from .store.scoped import parse_object_id
from .tenancy.context import TenantContext
from .tenancy.service import get_tenant
from .tenancy.plugin_settings import plugin_settings_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
SWEEP_BATCH = 5000  # most events one sweep claims (the rest wait for the next sweep)
CLAIM_BATCH = 500  # events claimed per round trip
DISPATCH_BATCH = 200  # events per Celery task
HANDLER_CONCURRENCY = 8  # subjects handled at once on one worker's event loop


class _Outcome:
    __slots__ = ("finished", "errors")

    def __init__(self):
        self.finished: list[str] = []
        self.errors: list[str] = []


async def dispatch_event(runtime, event_id: str) -> str:
    """Run every enabled handler that has not yet finished this event. Idempotent."""
    return (await dispatch_events(runtime, [event_id]))[event_id]


async def dispatch_events(runtime, event_ids: list[str], rows: list[OutboxEvent] | None = None) -> dict[str, str]:
    """Dispatch a batch; each id's result is done / retry / skipped (not pending any more) / missing.

    ``rows``: the events when the caller has just written them (saves the read).
    """
    results = {event_id: "missing" for event_id in event_ids}
    if rows is None:
        oids = [oid for oid in (parse_object_id(i) for i in event_ids) if oid is not None]
        rows = await OutboxEvent.find({"_id": {"$in": oids}}).to_list() if oids else []
    pending = []
    for event in rows:
        if event.status != EventStatus.PENDING:
            results[str(event.id)] = "skipped"
        else:
            pending.append(event)
    contexts = await _tenant_contexts(runtime.pm, {e.tenant_id for e in pending if e.tenant_id is not None})
    runnable = []
    for event in pending:
        if event.tenant_id is not None and event.tenant_id not in contexts:
            log.warning("event %s names tenant %s, which is gone", event.id, event.tenant_id)
            continue
        runnable.append(event)
    if not runnable:
        return results
    # Follow-up tasks the handlers ask for go out once each, after the batch (WorkerRuntime.send).
    coalesced = getattr(runtime, "coalesced_sends", None)
    async with coalesced() if coalesced is not None else contextlib.nullcontext():
        outcomes = await _run_handlers(runtime.pm, runnable, contexts)
    await _record(runnable, outcomes)
    for event in runnable:
        results[str(event.id)] = "retry" if outcomes[event.id].errors else "done"
    return results


async def _tenant_contexts(pm, tenant_ids: set[str]) -> dict[str, tuple[TenantContext, dict]]:
    contexts = {}
    for tenant_id in tenant_ids:
        tenant = await get_tenant(tenant_id)
        if tenant is not None:
            ctx = TenantContext.of(tenant)
            contexts[tenant_id] = (ctx, await plugin_settings_for(ctx.scope, pm))
    return contexts


async def _run_handlers(pm, events: list[OutboxEvent], contexts) -> dict[ObjectId, _Outcome]:
    """Every enabled plugin on every event. Subjects side by side, each subject's events in order."""
    outcomes = {event.id: _Outcome() for event in events}
    by_subject: dict[tuple, list[OutboxEvent]] = defaultdict(list)
    for event in events:
        by_subject[(event.tenant_id, event.subject_id or str(event.id))].append(event)
    gate = asyncio.Semaphore(HANDLER_CONCURRENCY)
    impls = pm.hook.xinfang_handle_event.get_hookimpls()

    async def handle(event: OutboxEvent) -> None:
        tenant_ctx, settings = contexts.get(event.tenant_id, (None, {}))
        outcome = outcomes[event.id]
        for impl in impls:
            name = plugin_name_of(pm, impl.plugin)
            if name in event.handled_by:
                continue
            setting = settings.get(name)
            if tenant_ctx is not None and setting is not None and not setting.enabled:
                continue
            try:
                await maybe_await(impl.function(event=event, tenant=tenant_ctx, config=setting.config if setting else {}))
            except Exception as exc:  # one plugin's failure must not stop the others
                log.exception("plugin %s failed on event %s", name, event.id)
                outcome.errors.append(f"{name}: {exc!r}")
                continue
            outcome.finished.append(name)

    async def subject(queue: list[OutboxEvent]) -> None:
        async with gate:
            for event in sorted(queue, key=lambda e: (e.created_at, str(e.id))):
                await handle(event)

    await asyncio.gather(*(subject(queue) for queue in by_subject.values()))
    return outcomes


async def _record(events: list[OutboxEvent], outcomes: dict) -> None:
    """Every outcome of the batch in one round trip: done, or the finished plugins and the error."""
    now = utcnow()
    operations = []
    for event in events:
        outcome = outcomes[event.id]
        update: dict = {}
        if outcome.finished:
            update["$addToSet"] = {"handled_by": {"$each": outcome.finished}}
        if outcome.errors:
            attempts = event.attempts + 1
            update["$set"] = {"attempts": attempts, "last_error": "; ".join(outcome.errors)[:2000],
                              "status": EventStatus.FAILED if attempts >= MAX_ATTEMPTS else EventStatus.PENDING}
            operations.append(UpdateOne({"_id": event.id}, update))
        else:
            update["$set"] = {"status": EventStatus.DONE, "finished_at": now}
            operations.append(UpdateOne({"_id": event.id, "status": EventStatus.PENDING}, update))
    if operations:
        await OutboxEvent.get_pymongo_collection().bulk_write(operations, ordered=False)


async def materialise_and_dispatch(runtime, kind: str, document_id: str) -> int:
    """The task a carried write sends: its events become rows, and this worker dispatches them at once."""
    rows = await materialise_by_id(kind, [document_id])
    if rows:
        await dispatch_events(runtime, [str(row.id) for row in rows], rows=rows)
    return len(rows)


async def claim_stale_events(lease_seconds: float, now=None, limit: int = SWEEP_BATCH) -> list[str]:
    """All of ``claim_stale_batches``, as one list."""
    return [event_id async for batch in claim_stale_batches(lease_seconds, now, limit) for event_id in batch]


async def claim_stale_batches(lease_seconds: float, now=None, limit: int = SWEEP_BATCH) -> AsyncIterator[list[str]]:
    """Claim pending events whose last hand-over is older than the lease, many per round trip.

    For each batch of candidates, one bulk write of conditional updates, one per
    event (still pending, lease still run out), each moving ``dispatched_at`` to now
    and setting this claim's token; then one read of which candidates carry the
    token. An update of one document is atomic, so of two sweepers running at once
    only one matches each event, and each takes only the events with its own token.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    collection = OutboxEvent.get_pymongo_collection()
    token = str(ObjectId())
    claimed = 0
    stale = {"status": EventStatus.PENDING, "dispatched_at": {"$lt": cutoff}}
    while claimed < limit:
        size = min(CLAIM_BATCH, limit - claimed)
        candidates = [doc["_id"] async for doc in collection.find(stale, projection={"_id": 1}).limit(size)]
        if not candidates:
            break
        await collection.bulk_write(
            [UpdateOne({"_id": oid, **stale}, {"$set": {"dispatched_at": now, "claimed_by": token}}) for oid in candidates],
            ordered=False,
        )
        mine = [str(doc["_id"]) async for doc in collection.find({"_id": {"$in": candidates}}, projection={"claimed_by": 1})
                if doc.get("claimed_by") == token]
        claimed += len(mine)
        if mine:
            yield mine
        if len(candidates) < size:
            break


async def recover_stale_work(runtime, now=None) -> list[str]:
    """The sweeper's event step: carried events not yet materialised, then events whose lease ran out.

    Returns the event ids handed to the broker (in batches of DISPATCH_BATCH).
    """
    lease = runtime.settings.event_lease_seconds
    materialised: list[str] = []
    async for rows in materialise_stale(lease, now=now):  # each batch handed over while the next is written
        batch = [str(row.id) for row in rows]
        await runtime.enqueue(batch)
        materialised += batch
    claimed: list[str] = []
    async for batch in claim_stale_batches(lease, now=now):
        await runtime.enqueue(batch)
        claimed += batch
    if materialised or claimed:
        log.info("sweeper handed over %d unfinished event(s), %d of them materialised from their documents",
                 len(materialised) + len(claimed), len(materialised))
    return materialised + claimed


async def sweep(runtime) -> None:
    """The beat task: every plugin's idempotent periodic work, events first.

    Each plugin's part runs on its own: one failing part does not hold back the others (each is
    idempotent and the next beat tries it again). A store that is unreachable (restarting, say) is
    one line in the log, not a traceback per part per beat.
    """
    now = utcnow()
    failed = []
    parts = list(runtime.pm.hook.xinfang_sweep(now=now, runtime=runtime))
    for index, result in enumerate(parts):
        try:
            await maybe_await(result)
        except ConnectionFailure as exc:
            count_store_error(exc, "sweep")
            for later in parts[index + 1:]:
                if asyncio.iscoroutine(later):
                    later.close()  # never started: nothing to undo
            log.warning("数据库暂时无法连接，本次定时清扫停止，下次再试 / the store is unreachable; this sweep stops "
                        "and the next one retries: %s", type(exc).__name__)
            return
        except Exception:
            log.exception("a sweep part failed; the others go on and the next sweep retries it")
            failed.append(result)
    if failed:
        raise RuntimeError(f"{len(failed)} sweep part(s) failed (logged above)")
