"""What the statistics count of repeats (重信重访) and collective petitions (集体访): the search plugin knows both,
and tells analytics through the ``xinfang_petition_flags`` hook; after the indexer links new petitions, the facts of
their matters are refreshed (a new member can make the earlier petitions of its matter collective)."""

from __future__ import annotations

import logging

from xinfang.store.scoped import TenantScope

from . import duplicates, repeats
from .models import CandidateStatus, DuplicateCandidate

log = logging.getLogger(__name__)


async def petition_flags(tenant_id: str, petition_id: str, fingerprints: duplicates.FingerprintStore | None = None) -> dict:
    """repeat: linked as a likely repeat of an earlier petition (a candidate staff did not dismiss); collective: its
    matter is a collective petition now."""
    scope = TenantScope(tenant_id)
    repeat = await scope.repo(DuplicateCandidate).find_one(
        {"petition_id": petition_id, "status": {"$ne": CandidateStatus.DISMISSED.value}}) is not None
    collective = False
    try:
        if fingerprints is None:
            from xinfang.worker import current_runtime

            from .side_stores import stores

            runtime = current_runtime()
            if runtime is not None:
                fingerprints = stores(runtime.settings.data_dir).fingerprints
            else:
                from .blueprints import data_dir

                fingerprints = stores(data_dir()).fingerprints
        collective = bool((await repeats.matter_of(scope, fingerprints, petition_id))["collective"])
    except Exception:  # no data directory in this process (a script): repeats still count
        log.debug("no fingerprints here; collective left false for %s", petition_id, exc_info=True)
    return {"repeat": repeat, "collective": collective}


async def refresh_facts(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petition_ids: list[str]) -> None:
    """After new links: the statistics facts of these petitions and of every petition of their matters."""
    from xinfang.analytics.facts import PETITION, refresh

    todo: set[str] = set()
    for petition_id in petition_ids:
        todo.add(petition_id)
        todo.update((await repeats.matter_of(scope, fingerprints, petition_id))["ids"])
    for petition_id in sorted(todo):
        try:
            await refresh(PETITION, petition_id)
        except Exception:  # statistics must never stop the indexer; the next event or a rebuild corrects it
            log.exception("analytics refresh failed for %s", petition_id)
