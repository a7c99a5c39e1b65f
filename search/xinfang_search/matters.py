"""A tenant's matters (同一事项) as staff see them: its likely-duplicate links of a window of received dates grouped
into clusters (clusters.group), each with its petitions, places, issue words, distinct petitioners and whether
it is a collective petition (集体访); and what staff may know of another body's likely repeat (全系统判重).

Reads the tenant's own petitions and duplicate candidates through its TenantScope, and the fingerprints (places,
words, received dates, petitioners' keyed hashes: derived data on the indexer's disk) for what the texts name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.models import Tenant

from . import clusters, duplicates
from .indexer import stores
from .models import CandidateStatus, DuplicateCandidate

MAX_LINKS = 20000  # candidate rows read for one page: a tenant's whole window, bounded


async def tenant_matters(data_dir: Path, tenant_id: str, *, days: int = duplicates.MATTER_WINDOW_DAYS, end: date | None = None) -> dict:
    """Clusters of two or more petitions received in the ``days`` to ``end`` (today), largest by people first."""
    end = end or datetime.now(UTC).date()
    start = end - timedelta(days=days - 1)
    low, high = start.isoformat(), (end + timedelta(days=1)).isoformat()
    scope = TenantScope(tenant_id)
    # A link is stored when the later petition is checked, so rows older than the window (less a margin for late
    # registrations) cannot join two petitions received in it.
    checked_since = datetime.combine(start - timedelta(days=365), time(0), UTC)
    rows = await scope.repo(DuplicateCandidate).find(
        {"other_tenant_id": tenant_id, "score": {"$gte": duplicates.LIKELY_SCORE}, "status": {"$ne": CandidateStatus.DISMISSED.value},
         "created_at": {"$gte": checked_since}}).limit(MAX_LINKS).to_list()
    ids = sorted({r.petition_id for r in rows} | {r.other_id for r in rows})
    prints = stores(data_dir).fingerprints.get_many(ids)
    within = {pid: fp for pid, fp in prints.items() if fp.tenant_id == tenant_id and low <= fp.created[:10] < high}
    found = clusters.group(within, [(r.petition_id, r.other_id) for r in rows], window_days=days)
    petitions = await _petitions(scope, [pid for m in found for pid in m.petition_ids])
    # 集体访 as the indexer flagged it (repeats._flag_collective: people counted through the stronger links within its
    # window), so this page and the petition page say the same; the groups here also join through weaker likely links.
    flagged = {r.petition_id for r in rows if "collective" in r.reasons}
    return {"window": {"from": start.isoformat(), "to": end.isoformat(), "days": days},
            "collective_min_petitioners": clusters.COLLECTIVE_MIN_PETITIONERS,
            "matters": [_matter_view(m, petitions, flagged) for m in found if any(pid in petitions for pid in m.petition_ids)]}


async def _petitions(scope: TenantScope, ids: list[str]) -> dict[str, Petition]:
    object_ids = [oid for oid in (parse_object_id(i) for i in ids) if oid]
    found = await scope.repo(Petition).find({"_id": {"$in": object_ids}}).to_list() if object_ids else []
    return {str(p.id): p for p in found}


def _matter_view(matter: clusters.Matter, petitions: dict[str, Petition], flagged: set[str]) -> dict:
    shown = [petitions[pid] for pid in matter.petition_ids if pid in petitions]
    return {"places": matter.places, "words": matter.words, "petitioners": matter.petitioners,
            "collective": any(pid in flagged for pid in matter.petition_ids),
            "first": shown[0].received_at.isoformat(), "last": shown[-1].received_at.isoformat(),
            "petitions": [{"id": str(p.id), "number": p.number, "title": p.title, "received_at": p.received_at.isoformat(), "state": p.state}
                          for p in shown]}


async def other_body(data_dir: Path, candidate: DuplicateCandidate) -> dict:
    """What staff see of another body's likely repeat: which body, when it was received and its state; never its
    number, title or content. Not an audited cross-tenant read: nothing of the petition's content is read or shown,
    only the existence the fingerprint store keeps (the other body's name is public, as on the portal's list)."""
    tenant = await Tenant.get(parse_object_id(candidate.other_tenant_id))
    fp = stores(data_dir).fingerprints.get(candidate.other_id)
    received = None
    if fp and fp.created:
        try:
            received = datetime.fromisoformat(fp.created).astimezone(UTC).isoformat()
        except ValueError:
            received = None
    return {"tenant": tenant.name.model_dump() if tenant else {"zh": "其他单位", "en": "another body"},
            "received_at": received, "state": fp.state if fp else ""}
