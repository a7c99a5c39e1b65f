"""Values read when Prometheus scrapes, never written to the metric files: queue depths, event lag, pending and
failed events. Plugins add theirs through ``xinfang_metrics_readings`` (search: its index backlog).

Every reading is bounded in time (``READ_TIMEOUT_SECONDS``): a store or broker that is down makes its readings
missing and its ``xinfang_dependency_up`` 0, never a scrape that hangs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pymongo

from ..store.documents import stored_moment

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 2.0
CARRIERS_LOOKED_AT = 1000  # pending carrier documents read for the event lag (there are few: each is materialised within a second)


@dataclass(frozen=True)
class Reading:
    name: str
    documentation: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)



# -- the broker ----------------------------------------------------------------------------------

REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's Redis lists per priority step


def _queue_depths(settings) -> dict[str, int]:
    queues = {"tasks": settings.task_queue, "search": settings.search_queue}
    if settings.embedded_broker:  # kombu's filesystem transport: one file per message, named <time>_<uuid>.<queue>.msg
        names = os.listdir(settings.broker_folder / "queue")
        return {role: sum(1 for n in names if n.partition(".")[2] == f"{queue}.msg") for role, queue in queues.items()}
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=READ_TIMEOUT_SECONDS,
                                  socket_connect_timeout=READ_TIMEOUT_SECONDS)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues.values():
                for suffix in REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
    finally:
        client.close()
    steps = len(REDIS_PRIORITY_SUFFIXES)
    return {role: sum(lengths[i * steps:(i + 1) * steps]) for i, role in enumerate(queues)}


async def broker_readings(settings) -> list[Reading]:
    try:
        depths = await asyncio.wait_for(asyncio.to_thread(_queue_depths, settings), READ_TIMEOUT_SECONDS * 2)
    except Exception as exc:
        log.warning("metrics: could not read the queue depths: %s", type(exc).__name__)
        return [Reading("xinfang_dependency_up", "1 when the dependency answered this scrape's reads, else 0.", 0, {"dependency": "broker"})]
    return [Reading("xinfang_dependency_up", "1 when the dependency answered this scrape's reads, else 0.", 1, {"dependency": "broker"}),
            *(Reading("xinfang_queue_depth", "Messages waiting in the broker, by queue (tasks: the workers'; search: the indexer's).",
                      depth, {"queue": role}) for role, depth in depths.items())]


# -- events --------------------------------------------------------------------------------------


async def event_readings(now: datetime | None = None) -> list[Reading]:
    """Pending and failed events, and the age of the oldest event not yet handled (carried in a document or in
    the outbox): the lag between a write and its consequences (search, notifications, counts)."""
    from ..events import EventStatus, OutboxEvent, carrier_kinds, stale_carriers
    from ..store.scoped import count_matching

    now = now or datetime.now(UTC)
    collection = OutboxEvent.get_pymongo_collection()
    with pymongo.timeout(READ_TIMEOUT_SECONDS):
        # count_matching: through the status index on the embedded store too, not a read of every event (store/scoped.py)
        pending = await count_matching(collection, {"status": EventStatus.PENDING.value})
        failed = await count_matching(collection, {"status": EventStatus.FAILED.value})
        oldest_row = await collection.find_one({"status": EventStatus.PENDING.value}, projection={"created_at": 1},
                                               sort=[("created_at", pymongo.ASCENDING)])
        oldest = [stored_moment(oldest_row.get("created_at"))] if oldest_row else []
        carried = 0
        for kind in carrier_kinds():
            for raw in await stale_carriers(kind, now, CARRIERS_LOOKED_AT):
                for event in raw.get("outbox") or []:
                    carried += 1
                    oldest.append(stored_moment(event.get("at")))
    oldest = [at for at in oldest if at is not None]
    lag = max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
    return [
        Reading("xinfang_event_lag_seconds", "Age of the oldest domain event not yet handled by every plugin (0 when none waits).", lag),
        Reading("xinfang_events_pending", "Domain events waiting to be handled (outbox rows pending, and events still carried in their documents).",
                pending + carried),
        Reading("xinfang_events_failed", "Domain events given up after their last attempt (shown to operators, never dropped).", failed),
    ]


async def collect_readings(settings, pm) -> list[Reading]:
    """The platform's readings and every plugin's; a failing source is logged and left out."""
    from ..plugins import maybe_await

    readings = await broker_readings(settings)
    store_up = 1
    for impl in pm.hook.xinfang_metrics_readings.get_hookimpls():
        try:
            found = await asyncio.wait_for(maybe_await(impl.function(settings=settings)), READ_TIMEOUT_SECONDS * 2)
        except Exception as exc:
            log.warning("metrics: readings of %s failed: %s", impl.plugin_name, type(exc).__name__)
            if isinstance(exc, (pymongo.errors.PyMongoError, asyncio.TimeoutError)):
                store_up = 0
            continue
        readings.extend(found or [])
    readings.append(Reading("xinfang_dependency_up", "1 when the dependency answered this scrape's reads, else 0.", store_up,
                            {"dependency": "store"}))
    return readings
