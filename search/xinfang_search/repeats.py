"""Repeat petitions as the indexer finds them (判重, 重信重访, 集体访): each new petition's fingerprint checked
against the earlier ones of its hierarchy, candidates stored with their reasons, collective petitions flagged;
and staff's decision on a candidate. The fingerprints and their scores are ``duplicates``."""

from __future__ import annotations

from datetime import UTC

from pymongo.errors import DuplicateKeyError

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import descendants_of

from . import duplicates
from .models import DuplicateCandidate
from .petition_text import content_of

COLLECTIVE_MIN_PETITIONERS = 5  # 信访条例: more than five people on one matter is a collective petition (集体访)


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
                                  tenant_words=words)


async def check_new_petitions(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petitions: list[Petition], words) -> tuple[int, int]:
    """Duplicate check for petitions seen for the first time; every petition's fingerprint is (re)stored."""
    found = collective = 0
    hierarchy = await hierarchy_of(scope.tenant_id) if petitions else []
    for petition in petitions:
        fp = fingerprint_of(petition, words)
        if not fingerprints.contains(fp.petition_id):
            for other, score, similarity, reasons in duplicates.scored_candidates(fingerprints, fp, hierarchy):
                try:
                    await scope.repo(DuplicateCandidate).insert(DuplicateCandidate(
                        tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
                        other_number=other.number, other_title=other.title, reasons=reasons, similarity=round(similarity, 3),
                        score=round(score, 3)))
                    found += 1
                except DuplicateKeyError:
                    pass  # found by an earlier drain of the same petition
            collective += await _flag_collective(scope, fingerprints, fp)
        fingerprints.put(fp)
    return found, collective


async def _flag_collective(scope: TenantScope, fingerprints: duplicates.FingerprintStore, fp: duplicates.Fingerprint) -> int:
    """Many petitioners on one matter: the likely duplicates of this petition, counted by distinct petitioner."""
    likely = await scope.repo(DuplicateCandidate).find({"petition_id": fp.petition_id}).to_list()
    petitioners = {fp.petitioner} if fp.petitioner else set()
    for candidate in likely:
        if duplicates.is_likely_duplicate(candidate.score):
            if petitioner := fingerprints.petitioner_of(candidate.other_id):
                petitioners.add(petitioner)
    if len(petitioners) >= COLLECTIVE_MIN_PETITIONERS:
        await scope.repo(DuplicateCandidate).update_many({"petition_id": fp.petition_id}, {"$addToSet": {"reasons": "collective"}})
        return 1
    return 0


async def do_decide_candidate(scope: TenantScope, candidate_id: str, confirmed: bool, actor_name: str, actor_id: str = "") -> DuplicateCandidate:
    from xinfang.errors import NotFound
    from xinfang.petitions.service import do_note_repeat

    from .models import CandidateStatus

    candidate = await scope.repo(DuplicateCandidate).get(candidate_id)
    if candidate is None:
        raise NotFound({"zh": "没有这条疑似重复", "en": "no such duplicate candidate"})
    was_confirmed = candidate.status == CandidateStatus.CONFIRMED
    candidate.status = CandidateStatus.CONFIRMED if confirmed else CandidateStatus.DISMISSED
    candidate.decided_by = actor_name
    await scope.repo(DuplicateCandidate).save(candidate)
    if confirmed != was_confirmed:  # a confirmed repeat (or its withdrawal) joins the petition's history
        await do_note_repeat(scope, candidate.petition_id, other_number=candidate.other_number, confirmed=confirmed,
                             actor_id=actor_id, actor_name=actor_name)
    return candidate
