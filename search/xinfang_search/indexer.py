"""The indexer: queue a petition for indexing, drain a tenant's backlog (the one writer), rebuild from the store.

The request path: a petition is written -> its event reaches this plugin in the
main worker, which records the petition in the tenant's backlog (``SearchBacklog``)
and sends ``xinfang.search.drain`` to the search queue -> the indexer (a worker on
that queue with concurrency 1) drains the backlog under the tenant's writer lock:
index (``petition_fields``), fingerprint and repeat check (``repeats``), frequent-word
counts (``terms``). A lost message changes nothing: the beat sweep sends the drain
again for any tenant whose backlog waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pymongo import DeleteOne
from pymongo.errors import DuplicateKeyError

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, parse_object_id

from . import repeats
from .analysis import shared_segmentation
from .dictionary import _words_cache, tenant_words
from .index import TenantIndexDir
from .models import SearchBacklog
from .querying import _searchers
from .petition_text import petition_fields
from .side_stores import stores
from .terms import petition_row

log = logging.getLogger(__name__)
DRAIN_BATCH = 500


async def do_queue_for_indexing(tenant_id: str, petition_id: str) -> None:
    """Note that this petition's index entry is behind (idempotent: a second note keeps one entry, newer)."""
    repo = TenantScope(tenant_id).repo(SearchBacklog)
    stamp = time.time_ns()
    try:
        await repo.insert(SearchBacklog(tenant_id=tenant_id, petition_id=petition_id, queued_ns=stamp))
    except DuplicateKeyError:
        await repo.update_one({"petition_id": petition_id}, {"$set": {"queued_ns": stamp}})


async def waiting_tenants(older_than_seconds: float = 0.0) -> list[str]:
    """Tenants with backlog older than this (for the sweep to send their drain again)."""
    from xinfang.store.documents import cross_tenant_reads

    cutoff = time.time_ns() - int(older_than_seconds * 1e9)
    with cross_tenant_reads("search: find tenants whose index is behind"):
        rows = await SearchBacklog.find({"queued_ns": {"$lt": cutoff}}).limit(5000).to_list()
    return sorted({r.tenant_id for r in rows})


async def backlog_readings() -> list:
    """Petitions waiting for the indexer, across tenants, and the age of the oldest (0 when none waits)."""
    import pymongo

    from xinfang.observability.readings import READ_TIMEOUT_SECONDS, Reading

    collection = SearchBacklog.get_pymongo_collection()  # counts only, across tenants: no tenant's data is read
    with pymongo.timeout(READ_TIMEOUT_SECONDS):
        waiting = await collection.count_documents({})
        oldest = await collection.find_one({}, projection={"queued_ns": 1}, sort=[("queued_ns", pymongo.ASCENDING)])
    age = max(0.0, (time.time_ns() - int(oldest["queued_ns"])) / 1e9) if oldest else 0.0
    return [Reading("xinfang_search_backlog", "Petitions written but not yet in their tenant's search index.", waiting),
            Reading("xinfang_search_backlog_age_seconds", "How long the oldest petition waiting for the indexer has waited (0 when none).", age)]


@dataclass
class DrainReport:
    indexed: int = 0
    removed: int = 0
    candidates: int = 0
    collective: int = 0
    batches: int = 0


async def drain(data_dir: Path, tenant_id: str, *, batch: int = DRAIN_BATCH) -> DrainReport:
    """Bring the tenant's index up to date with its backlog. Only one drain per tenant writes at a time."""
    report = DrainReport()
    index_dir, side = TenantIndexDir(Path(data_dir), tenant_id), stores(data_dir)
    scope = TenantScope(tenant_id)
    # An index or word counts of an earlier release: every petition again.
    if await asyncio.to_thread(index_dir.schema_outdated) or side.terms.is_stale(tenant_id):
        log.warning("search: the index or word counts of tenant %s are of an earlier release; rebuilding them from the store", tenant_id)
        await rebuild(data_dir, tenant_id)
    words = await tenant_words(tenant_id)
    # Each text of a batch segmented once, for the index's fields, the word counts and the fingerprint (jieba was the
    # drain's biggest CPU cost, and each petition's text was segmented three times); forgotten batch by batch.
    with index_dir.writer_lock(), shared_segmentation() as segmented:
        ix = index_dir.open_or_create_for_writing(words)
        while True:
            backlog = await scope.repo(SearchBacklog).find({}).sort("queued_ns").limit(batch).to_list()
            if not backlog:
                break
            report.batches += 1
            segmented.clear()
            ids = [parse_object_id(b.petition_id) for b in backlog]
            present = {str(p.id): p for p in await scope.repo(Petition).find({"_id": {"$in": [i for i in ids if i]}}).to_list()}
            writer = ix.writer()
            fresh: list[Petition] = []
            for entry in backlog:
                petition = present.get(entry.petition_id)
                if petition is None:  # moved to another tenant, or gone: not searchable here any more
                    writer.delete_by_term("id", entry.petition_id)
                    side.terms.remove(entry.petition_id)
                    report.removed += 1
                    continue
                writer.update_document(**petition_fields(petition))
                fresh.append(petition)
            side.terms.put_many([petition_row(p, words) for p in fresh])  # counted before found: once searchable, counted (idempotent if redone)
            writer.commit()
            report.indexed += len(fresh)
            # A petition indexed again whose petitioner changed: its matter may have gained or lost a person (collective).
            known = side.fingerprints.get_many([str(p.id) for p in fresh])
            moved = [str(p.id) for p in fresh if str(p.id) in known and (known[str(p.id)].petitioner or None) != (p.petitioner_key or None)]
            with repeats.batch_links(tenant_id):  # each petition's links read once a batch (the check, then its matters)
                await repeats.preload_links(scope, len(fresh))  # or all of the tenant's at once, where that is cheaper
                found, collective = await repeats.check_new_petitions(scope, side.fingerprints, fresh, words)
                report.candidates += found
                report.collective += collective
                if found or moved:  # the statistics' repeat / collective counts of these petitions and their matters
                    from .analytics_flags import refresh_facts

                    await refresh_facts(scope, side.fingerprints, [str(p.id) for p in fresh] if found else moved)
            await _done(tenant_id, backlog)
    return report


async def _done(tenant_id: str, backlog: list[SearchBacklog]) -> None:
    """The batch's backlog entries go, in one bulk write, each only if nobody queued it again meanwhile (a newer
    ``queued_ns``: that petition changed after it was read, and the next batch indexes it again)."""
    await SearchBacklog.get_pymongo_collection().bulk_write(
        [DeleteOne({"_id": entry.id, "tenant_id": {"$eq": tenant_id}, "queued_ns": {"$eq": entry.queued_ns}}) for entry in backlog],
        ordered=False)


async def rebuild(data_dir: Path, tenant_id: str, progress: Callable[[int, int], None] | None = None) -> dict:
    """A new index generation of this tenant from the store, switched to when complete; the same counts as the store."""
    index_dir, side = TenantIndexDir(Path(data_dir), tenant_id), stores(data_dir)
    scope = TenantScope(tenant_id)
    _words_cache.drop(tenant_id)
    words = await tenant_words(tenant_id)
    total = await scope.repo(Petition).count({})
    done = 0
    with index_dir.writer_lock(wait=600):
        ix = index_dir.new_generation(words)
        writer = ix.writer(limitmb=256)
        # Counted and fingerprinted again in place (each petition replaced as it comes), so frequent words and
        # repeat checks stay whole while the rebuild runs; what is gone from the store is dropped at the end.
        pending_terms, pending_fps, seen = [], [], set()
        async for petition in scope.repo(Petition).find({}).sort("created_at"):
            seen.add(str(petition.id))
            with shared_segmentation():  # its title and content segmented once for the fields, counts and fingerprint
                writer.add_document(**petition_fields(petition))
                pending_terms.append(petition_row(petition, words))
                pending_fps.append(repeats.fingerprint_of(petition, words))
            done += 1
            if len(pending_terms) >= 1000:
                side.terms.put_many(pending_terms)
                side.fingerprints.put_many(pending_fps)
                pending_terms, pending_fps = [], []
                if progress:
                    progress(done, total)
        side.terms.put_many(pending_terms)
        side.fingerprints.put_many(pending_fps)
        side.terms.keep_only(tenant_id, seen)
        side.fingerprints.keep_only(tenant_id, seen)
        writer.commit()
        index_dir.switch_to(Path(ix.storage.folder))
        if progress:
            progress(done, total)
        with ix.searcher() as searcher:
            indexed = searcher.doc_count()
    _searchers.drop(tenant_id)
    return {"tenant_id": tenant_id, "petitions": total, "indexed": indexed, "fingerprints": side.fingerprints.count(tenant_id)}


async def recheck_repeats(data_dir: Path, tenant_id: str, progress: Callable[[int, int], None] | None = None) -> dict:
    """The duplicate check again for every petition of the tenant, oldest first, each against those received before
    it (``repeats.recheck_petitions``): for petitions indexed before a rule existed (matters, places, issues). Holds
    the tenant's writer lock, so the indexer's drains wait instead of checking against a half-done pass."""
    index_dir, side, scope = TenantIndexDir(Path(data_dir), tenant_id), stores(data_dir), TenantScope(tenant_id)
    words = await tenant_words(tenant_id)
    total = await scope.repo(Petition).count({})
    done = added = collective = 0
    with index_dir.writer_lock(wait=600):
        batch: list[Petition] = []
        async for petition in scope.repo(Petition).find({}).sort("created_at"):  # links go to those received earlier whatever the order
            batch.append(petition)
            if len(batch) >= 200:
                found, joined = await repeats.recheck_petitions(scope, side.fingerprints, batch, words)
                done, added, collective, batch = done + len(batch), added + found, collective + joined, []
                if progress:
                    progress(done, total)
        found, joined = await repeats.recheck_petitions(scope, side.fingerprints, batch, words)
        done, added, collective = done + len(batch), added + found, collective + joined
        if progress:
            progress(done, total)
    return {"tenant_id": tenant_id, "petitions": done, "links_added": added, "in_collective_matters": collective}
