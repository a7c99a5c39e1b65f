"""What the statistics count of repeats (重信重访) and collective petitions (集体访): the search plugin knows both,
and tells analytics through the ``xinfang_petition_flags`` hook; after the indexer links new petitions, the facts of
their matters are refreshed (a new member can make the earlier petitions of its matter collective); so are they after
a decision on a link (a dismissed link can split a matter: fewer people, no longer collective) and after a petition's
petitioner changed (``flags_may_have_changed``: analytics refreshes them in a task)."""

from __future__ import annotations

import logging

from xinfang.store.scoped import TenantScope

from . import duplicates, repeats
from .models import CandidateStatus

log = logging.getLogger(__name__)


async def petition_flags(tenant_id: str, petition_id: str, fingerprints: duplicates.FingerprintStore | None = None) -> dict:
    """repeat: linked as a likely repeat of an earlier petition (a candidate staff did not dismiss); collective: its
    matter is a collective petition now."""
    scope = TenantScope(tenant_id)
    # Its links by equality through an index, the status checked here: a "$ne" beside it is decoded in Python by the
    # embedded store, row after row of the collection (repeats.links_of).
    links = await repeats.links_of(scope, [petition_id])
    repeat = any(link.petition_id == petition_id and link.status != CandidateStatus.DISMISSED for link in links)
    collective = False
    try:
        if fingerprints is None:
            fingerprints = local_fingerprints()
        collective = bool((await repeats.matter_of(scope, fingerprints, petition_id))["collective"])
    except Exception:  # no data directory in this process (a script): repeats still count
        log.debug("no fingerprints here; collective left false for %s", petition_id, exc_info=True)
    return {"repeat": repeat, "collective": collective}


def local_fingerprints() -> duplicates.FingerprintStore:
    """This process's fingerprint store (a worker's data directory, else the web app's); raises where there is none."""
    from xinfang.worker import current_runtime

    from .side_stores import stores

    runtime = current_runtime()
    if runtime is not None:
        return stores(runtime.settings.data_dir).fingerprints
    from .blueprints import data_dir

    return stores(data_dir()).fingerprints


async def matter_members(scope: TenantScope, petition_ids: list[str]) -> set[str]:
    """These petitions and every petition of their matters (this tenant's), as they are linked now."""
    fingerprints = local_fingerprints()
    found = set(petition_ids)
    for petition_id in petition_ids:
        found.update((await repeats.matter_of(scope, fingerprints, petition_id))["ids"])
    return found


async def flags_may_have_changed(scope: TenantScope, petition_ids: set[str]) -> None:
    """Tell analytics these petitions' flags may have changed with no event of theirs (its task refreshes them)."""
    from xinfang.analytics.facts import flags_changed

    try:
        await flags_changed(scope.tenant_id, sorted(petition_ids))
    except Exception:  # statistics must never stop a decision; the next event or a rebuild corrects it
        log.exception("analytics was not told of changed flags in %s", scope.tenant_id)


async def _members_counted_otherwise(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petition_ids: list[str]) -> set[str]:
    """The other petitions of these petitions' matters whose facts say another collective flag than their matter now
    has (or have no fact yet). A new link changes an earlier member's facts only through that flag: its repeat flag
    is its own links' (a new petition's link names the new petition as the repeat), and a dismissal refreshes by
    itself. So a petition joining a matter of hundreds refreshes those hundreds once, when the matter turns
    collective (or stops being so), not each time a petition joins it."""
    from bson import ObjectId

    from xinfang.analytics.models import AnalyticsFact

    wanted: dict[str, bool] = {}
    for petition_id in petition_ids:
        matter = await repeats.matter_of(scope, fingerprints, petition_id)
        for member in matter["ids"]:
            wanted[member] = bool(matter["collective"])
    own = set(petition_ids)
    others = [ObjectId(m) for m in wanted if m not in own and ObjectId.is_valid(m)]
    counted: dict[str, bool] = {}
    for start in range(0, len(others), 500):
        async for row in AnalyticsFact.get_pymongo_collection().find({"_id": {"$in": others[start:start + 500]}}, projection={"collective": 1}):
            counted[str(row["_id"])] = bool(row.get("collective"))
    return {str(oid) for oid in others if counted.get(str(oid)) != wanted[str(oid)]}


async def refresh_facts(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petition_ids: list[str]) -> None:
    """After new links: the statistics facts of these petitions and of the petitions of their matters counted with
    another collective flag than their matter has now, refreshed here in the indexer's process. Not handed to analytics' task on the main worker: a new member of a big matter refreshes
    every member, and on the main worker (concurrency 1 in the tests, and wherever events share it) that flood held
    the events' dispatch up for minutes (a fresh-clone run: events, notifications and archive entries timed out).

    The facts are read, marked and written together (``facts.refresh_many``) and the marks recounted once at the end,
    as analytics' own refresh task does: recounting per fact recounted the month (every fact of it, and the bodies above) once for each
    petition of the batch, which grew with the square of a busy month. Each matter is walked once for all of it
    (``repeats.remembered_matters``), and the recount waits for ``SETTLE_EVERY_SECONDS`` after the last one."""
    from xinfang.analytics.facts import PETITION, refresh_all

    with repeats.remembered_matters(scope.tenant_id):  # nothing writes links or fingerprints until the batch's end
        todo: set[str] = set(petition_ids) | await _members_counted_otherwise(scope, fingerprints, petition_ids)
        await refresh_all(PETITION, sorted(todo))
    await _recount_soon()


SETTLE_EVERY_SECONDS = 2.0
_last_recount = [float("-inf")]  # this process's last recount (time.monotonic)


async def _recount_soon() -> None:
    """Recount the marked months, at most every ``SETTLE_EVERY_SECONDS`` in this process: when petitions come one at
    a time, each drain recounted its month (every fact of it and the bodies above: about three quarters of a single
    petition's drain). Marks left meanwhile stay in the store and are recounted by the next drain past the interval,
    by analytics' own tasks, or at the latest by the beat's sweep (``analytics.service.sweep``, every beat)."""
    import time

    from xinfang.analytics.cells import settle_all

    if time.monotonic() - _last_recount[0] < SETTLE_EVERY_SECONDS:
        return
    try:
        await settle_all()
        _last_recount[0] = time.monotonic()
    except Exception:  # the marks stay; the beat's sweep recounts them
        log.exception("analytics recount after the indexer's refresh failed")
