"""Repeat petitions as the indexer finds them (判重, 重信重访, 集体访): each new petition's fingerprint checked
against the earlier ones of its hierarchy, candidates stored with their reasons, collective petitions flagged;
likely repeats at unrelated bodies (全系统判重) stored as existence only; and staff's decision on a candidate.
The fingerprints and their scores are ``duplicates``, the matters they form ``clusters``."""

from __future__ import annotations

from datetime import UTC

from pymongo.errors import DuplicateKeyError

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import descendants_of

from . import clusters, duplicates
from .clusters import COLLECTIVE_MIN_PETITIONERS
from .models import CandidateStatus, DuplicateCandidate
from .petition_text import content_of

__all__ = ["COLLECTIVE_MIN_PETITIONERS"]  # where callers have always found it

# People are counted on one matter through likely links, within the window of one matter (bench/search_quality.py:
# with a stronger link or a shorter window the corpus's collective matters are flagged no better).
COLLECTIVE_LINK_SCORE = duplicates.LIKELY_SCORE
COLLECTIVE_WINDOW_DAYS = duplicates.MATTER_WINDOW_DAYS
OTHER_BODY = "other_body"  # the reason of an existence-only row: a likely repeat at an unrelated body


async def hierarchy_of(tenant_id: str) -> list[str]:
    """The tenant, its ancestors and its descendants: where a repeat petition may have gone before."""
    tenant = await Tenant.get(parse_object_id(tenant_id))
    if tenant is None:
        return [tenant_id]
    below = await descendants_of(tenant)
    return sorted({tenant_id, *tenant.ancestor_ids, *(str(t.id) for t in below)})


def fingerprint_of(petition: Petition, words) -> duplicates.Fingerprint:
    return duplicates.fingerprint(petition_id=str(petition.id), tenant_id=petition.tenant_id, number=petition.number,
                                  title=petition.title or "", content=content_of(petition), subject_name=petition.subject_name,
                                  petitioner=petition.petitioner_key, created=petition.received_at.astimezone(UTC).isoformat(),
                                  tenant_words=words, state=petition.state, region=_region_of(petition))


def _region_of(petition: Petition) -> str:
    region = (petition.answers or {}).get("region")
    return region if isinstance(region, str) else ""


async def check_new_petitions(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petitions: list[Petition], words) -> tuple[int, int]:
    """Duplicate check for petitions seen for the first time; every petition's fingerprint is (re)stored."""
    found = collective = 0
    hierarchy = await hierarchy_of(scope.tenant_id) if petitions else []
    for petition in petitions:
        fp = fingerprint_of(petition, words)
        if not fingerprints.contains(fp.petition_id):
            for other, score, similarity, reasons in duplicates.scored_candidates(fingerprints, fp, hierarchy):
                found += await _insert_candidate(scope, DuplicateCandidate(
                    tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
                    other_number=other.number, other_title=other.title, reasons=reasons, similarity=round(similarity, 3),
                    score=round(score, 3)))
            for other, score, similarity, reasons in duplicates.systemwide_candidates(fingerprints, fp, hierarchy):
                # 全系统判重: another body's petition, outside this one's line. Its number and title stay there (empty
                # here, by construction): staff see only that it exists, where, when and in which state.
                found += await _insert_candidate(scope, DuplicateCandidate(
                    tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
                    other_number="", other_title="", reasons=[*reasons, OTHER_BODY], similarity=round(similarity, 3),
                    score=round(score, 3)))
            collective += await _flag_collective(scope, fingerprints, fp)
        fingerprints.put(fp)
    return found, collective


async def _insert_candidate(scope: TenantScope, candidate: DuplicateCandidate) -> int:
    try:
        await scope.repo(DuplicateCandidate).insert(candidate)
        return 1
    except DuplicateKeyError:
        return 0  # found by an earlier drain of the same petition


async def matter_links(scope: TenantScope, petition_id: str) -> list[str]:
    """This tenant's petitions linked to this one by a likely duplicate staff have not dismissed (either way round)."""
    rows = await scope.repo(DuplicateCandidate).find(
        {"$or": [{"petition_id": petition_id}, {"other_id": petition_id}], "score": {"$gte": COLLECTIVE_LINK_SCORE},
         "status": {"$ne": CandidateStatus.DISMISSED.value}}).to_list()
    return [r.other_id if r.petition_id == petition_id else r.petition_id for r in rows if r.other_tenant_id == scope.tenant_id]


async def _flag_collective(scope: TenantScope, fingerprints: duplicates.FingerprintStore, fp: duplicates.Fingerprint) -> int:
    """Many people on one matter (集体访): the petitions linked to this one, directly or through each other, within
    COLLECTIVE_WINDOW_DAYS of it, counted by distinct petitioner (clusters.matter_of)."""
    links: dict[str, list[str]] = {}
    known = {fp.petition_id: fp}
    todo = [fp.petition_id]
    while todo and len(links) < clusters.MAX_CLUSTER:  # the walk needs each member's links: fetched as it goes
        pid = todo.pop()
        if pid not in links:
            links[pid] = await matter_links(scope, pid)
        fresh = [o for o in links[pid] if o not in known]
        known.update(fingerprints.get_many(fresh))
        todo.extend(o for o in fresh if o in known and _within(fp, known[o]))  # the walk stays in the window
    members = clusters.matter_of(fp.petition_id, lambda pid: links.get(pid, ()), lambda pid: known[pid].created if pid in known else None,
                                 COLLECTIVE_WINDOW_DAYS)
    if clusters.is_collective(clusters.distinct_petitioners(known[pid].petitioner for pid in members if pid in known)):
        await scope.repo(DuplicateCandidate).update_many({"petition_id": fp.petition_id}, {"$addToSet": {"reasons": "collective"}})
        return 1
    return 0


def _within(fp: duplicates.Fingerprint, other: duplicates.Fingerprint) -> bool:
    apart = duplicates.days_apart(fp.created, other.created)
    return apart is None or apart <= COLLECTIVE_WINDOW_DAYS


async def do_decide_candidate(scope: TenantScope, candidate_id: str, confirmed: bool, actor_name: str, actor_id: str = "") -> DuplicateCandidate:
    from xinfang.errors import NotFound
    from xinfang.petitions.service import do_note_repeat

    candidate = await scope.repo(DuplicateCandidate).get(candidate_id)
    if candidate is None:
        raise NotFound({"zh": "没有这条疑似重复", "en": "no such duplicate candidate"})
    was_confirmed = candidate.status == CandidateStatus.CONFIRMED
    candidate.status = CandidateStatus.CONFIRMED if confirmed else CandidateStatus.DISMISSED
    candidate.decided_by = actor_name
    await scope.repo(DuplicateCandidate).save(candidate)
    if confirmed != was_confirmed:  # a confirmed repeat (or its withdrawal) joins the petition's history
        # An other body's petition is named by the body (its number is not ours to know).
        other = candidate.other_number or await _body_name(candidate.other_tenant_id)
        await do_note_repeat(scope, candidate.petition_id, other_number=other, confirmed=confirmed,
                             actor_id=actor_id, actor_name=actor_name)
    return candidate


async def _body_name(tenant_id: str) -> str:
    tenant = await Tenant.get(parse_object_id(tenant_id))
    return tenant.name.zh if tenant else ""
