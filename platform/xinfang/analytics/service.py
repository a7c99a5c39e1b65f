"""Keeping the rollups: the event handler's work, the daily overdue pass, and the rebuild from the store."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date

from ..cards.models import Supervision
from ..petitions.models import Petition
from .cells import count_fact, hierarchy, mark, settle, settle_all, insert_counts
from .facts import PETITION, SUPERVISION, compute, refresh, touched_months, write_many
from .models import AnalyticsFact

log = logging.getLogger(__name__)


async def handle(event_name: str, subject_id: str | None) -> bool:
    """A petition or supervision event: its fact from the entity as it is now, and the cells it counts in."""
    if event_name.startswith("tenant."):  # the tree may have changed: read it again at the next recount
        await hierarchy(fresh=True)
        return False
    if not subject_id:
        return False
    subject = PETITION if event_name.startswith("petition.") else SUPERVISION if event_name.startswith("supervision.") else None
    if subject is None:
        return False
    from ..worker import current_runtime
    from .task_names import SETTLE

    runtime = current_runtime()
    batched = runtime is not None and runtime.in_batch
    # In a worker's batch of events: the fact and its marks now, the recount once after the batch (tasks.py); else at once.
    changed = await refresh(subject, subject_id, settle=not batched)
    if changed and batched:
        await runtime.send(SETTLE, [])
    return changed


async def refresh_overdue(tenant_id: str | None, today: date) -> int:
    """Open petitions whose time limit passed since their fact was written (the overdue flag is set by the daily
    petition sweep without an event): refreshed from the petition. Returns how many changed. ``tenant_id`` None: of
    every tenant in one indexed query (the beat's way: idle tenants cost nothing)."""
    changed = 0
    query = {"open": {"$eq": True}, "overdue": {"$eq": False}, "due_on": {"$lt": today.isoformat()}}
    if tenant_id is not None:
        query = {"tenant_id": {"$eq": tenant_id}, **query}
    ids = [row["_id"] async for row in AnalyticsFact.get_pymongo_collection().find(query, projection={"_id": 1}).limit(5000)]
    if ids:
        # Only those whose petition the petition sweep has flagged by now (other changes come with their events): one
        # query, not a refresh of each at every sweep until then.
        ids = [row["_id"] async for row in Petition.get_pymongo_collection().find(
            {"_id": {"$in": ids}, "overdue": {"$eq": True}}, projection={"_id": 1})]
    for oid in ids:
        changed += await refresh(PETITION, str(oid))
    return changed


async def sweep(today: date) -> int:
    """The beat's part: marks left by a crash are settled; newly overdue petitions refreshed."""
    settled = await settle_all()
    await refresh_overdue(None, today)
    return settled


async def rebuild(tenant_ids: list[str], progress: Callable[[int], None] | None = None, batch: int = 500) -> int:
    """Every fact of these tenants computed again from their petitions and supervisions (facts of entities that
    are gone or moved away removed), then every month they count in recounted. Gives the numbers the events gave.
    ``progress(n)`` after each n entities. Returns how many entities were read."""
    total = 0
    for tenant_id in tenant_ids:
        facts = AnalyticsFact.get_pymongo_collection()
        old = {row["_id"]: row async for row in facts.find({"tenant_id": {"$eq": tenant_id}})}
        months, seen = set(), set()
        for fact in old.values():
            months |= touched_months(fact)
        for subject, model in ((PETITION, Petition), (SUPERVISION, Supervision)):
            collection = model.get_pymongo_collection()
            pending: list = []
            async for row in collection.find({"tenant_id": {"$eq": tenant_id}}, projection={"_id": 1}):
                pending.append(row["_id"])
                if len(pending) >= batch:
                    total += await _rebuild_batch(subject, pending, old, seen, months, progress)
                    pending = []
            if pending:
                total += await _rebuild_batch(subject, pending, old, seen, months, progress)
        gone = [oid for oid in old if oid not in seen]
        if gone:
            await facts.delete_many({"_id": {"$in": gone}})
        await mark(months)
        await settle(months)
    return total


async def _rebuild_batch(subject: str, ids: list, old: dict, seen: set, months: set, progress) -> int:
    written = []
    for oid in ids:
        fact = await compute(subject, str(oid), old.get(oid))
        if fact is None:
            continue
        seen.add(oid)
        months |= touched_months(fact)
        written.append((oid, fact))
    await write_many(written)
    if progress is not None:
        progress(len(ids))
    return len(ids)


async def load_cells(progress: Callable[[int], None] | None = None) -> int:
    """A bulk load for an empty or freshly restored store (the bench's 1,000,000 facts): every tenant's cells counted
    in memory from one pass over its facts, the hierarchy's sums added up here from those counts (no re-reading), and
    each tenant's slices inserted in unordered batches. Inserted with seq 0: a slice already counted from a mark is
    left as it is; for a store in use, ``rebuild`` is the way. Returns how many tenants were counted.

    The tree is walked depth first, children before their parent, so only the sums of the bodies on the current path
    are held (not every tenant's counts at once), and each batch of slices is written while the next tenant's facts
    are read and counted (the store and this process work side by side)."""
    h = await hierarchy(fresh=True)
    collection = AnalyticsFact.get_pymongo_collection()
    writing: list[asyncio.Task] = []

    async def write(tenant_id: str, scope: str, counts: dict) -> None:
        while len(writing) >= 2:  # at most two batches in flight: memory stays bounded, the store stays busy
            await writing.pop(0)
        writing.append(asyncio.create_task(insert_counts(tenant_id, scope, counts)))

    async def own_counts(tenant_id: str) -> dict:
        counts: dict[str, dict] = {"month": {}, "day": {}}
        async for fact in collection.find({"tenant_id": {"$eq": tenant_id}}):
            for grain in ("month", "day"):
                count_fact(counts[grain], fact, grain)
        await write(tenant_id, "own", counts)
        if progress is not None:
            progress(1)
        return counts

    async def visit(tenant_id: str) -> dict:
        """This tenant's cells with everything below it (its tree cells if it has children, else its own)."""
        summed = await own_counts(tenant_id)
        if not h.has_children(tenant_id):
            return summed
        summed = {grain: {period: Counter(counter) for period, counter in periods.items()} for grain, periods in summed.items()}
        for child in h.children[tenant_id]:
            for grain, periods in (await visit(child)).items():
                for period, counter in periods.items():
                    summed[grain].setdefault(period, Counter()).update(counter)
        await write(tenant_id, "tree", summed)
        return summed

    below = {c for cs in h.children.values() for c in cs}
    counted = 0
    for tenant_id in sorted(h.parent):
        if tenant_id not in below:  # a root, or a tenant that is not active below its parent: on its own
            await visit(tenant_id)
            counted += len(h.subtree(tenant_id))
    for task in writing:
        await task
    return counted
