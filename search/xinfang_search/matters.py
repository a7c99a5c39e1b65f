"""A tenant's matters (同一事项) as staff see them: the matters its petitions joined when checked (repeats.MATTER links,
clusters.group) with a petition received in a window, each with its petitions, places, issue words, distinct
petitioners and whether it is a collective petition (集体访), filtered, sorted and paged; and what staff may know of
another body's likely repeat (全系统判重).

Reads the tenant's own petitions and duplicate candidates through its TenantScope, and the fingerprints (places,
words, received dates, petitioners' keyed hashes: derived data on the indexer's disk) for what the texts name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.models import Tenant

from . import clusters, duplicates, repeats
from .side_stores import stores
from .models import CandidateStatus, DuplicateCandidate

MAX_LINKS = 20000  # matter links read for one page: a tenant's whole window, bounded
PAGE_SIZE = 20  # matters a page


async def tenant_matters(data_dir: Path, tenant_id: str, *, days: int = duplicates.MATTER_WINDOW_DAYS, end: date | None = None,
                         collective_only: bool = False, min_people: int = 1, page: int = 1, page_size: int = PAGE_SIZE) -> dict:
    """Matters of two or more petitions with a petition received in the ``days`` to ``end`` (today), each with all
    its petitions (a matter spans at most MATTER_WINDOW_DAYS, so some may be received just outside the window): the
    most people first, then the latest; only collective ones, or those of at least ``min_people`` people; a page."""
    end = end or datetime.now(UTC).date()
    start = end - timedelta(days=days - 1)
    low, high = start.isoformat(), (end + timedelta(days=1)).isoformat()
    scope = TenantScope(tenant_id)
    # A link is stored when the later petition is checked, so rows checked before the window (less a matter's span
    # and a margin for late registrations) cannot hold a petition received in it.
    checked_since = datetime.combine(start - timedelta(days=365), time(0), UTC)
    rows = await scope.repo(DuplicateCandidate).find(
        {"other_tenant_id": tenant_id, "reasons": repeats.MATTER, "status": {"$ne": CandidateStatus.DISMISSED.value},
         "created_at": {"$gte": checked_since}}).limit(MAX_LINKS).to_list()
    ids = sorted({r.petition_id for r in rows} | {r.other_id for r in rows})
    prints = {pid: fp for pid, fp in stores(data_dir).fingerprints.get_many(ids).items() if fp.tenant_id == tenant_id}
    found = [m for m in clusters.group(prints, [(r.petition_id, r.other_id) for r in rows])
             if any(low <= prints[pid].created[:10] < high for pid in m.petition_ids)]
    chosen = [m for m in found if m.petitioners >= min_people and (m.collective or not collective_only)]
    pages = max(1, -(-len(chosen) // page_size))
    page = min(max(1, page), pages)
    shown = chosen[(page - 1) * page_size:page * page_size]
    petitions = await _petitions(scope, [pid for m in shown for pid in m.petition_ids])
    return {"window": {"from": start.isoformat(), "to": end.isoformat(), "days": days},
            "collective_min_petitioners": clusters.COLLECTIVE_MIN_PETITIONERS,
            "filters": {"collective_only": collective_only, "min_people": min_people},
            "total": len(chosen), "all": len(found), "collective": sum(1 for m in found if m.collective),
            "page": page, "pages": pages, "page_size": page_size,
            "matters": [_matter_view(m, petitions) for m in shown if any(pid in petitions for pid in m.petition_ids)]}


async def _petitions(scope: TenantScope, ids: list[str]) -> dict[str, Petition]:
    object_ids = [oid for oid in (parse_object_id(i) for i in ids) if oid]
    found = await scope.repo(Petition).find({"_id": {"$in": object_ids}}).to_list() if object_ids else []
    return {str(p.id): p for p in found}


def _matter_view(matter: clusters.Matter, petitions: dict[str, Petition]) -> dict:
    shown = sorted((petitions[pid] for pid in matter.petition_ids if pid in petitions), key=lambda p: (p.received_at, str(p.id)))
    return {"places": matter.places, "words": matter.words, "petitioners": matter.petitioners, "collective": matter.collective,
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
