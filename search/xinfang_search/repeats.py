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

# A matter's petitions are all received within this many days of each other (clusters.compatible).
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


MATTER = "matter"  # the reason on a link through which a petition joined a matter (clusters.matters_to_join)


async def check_new_petitions(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petitions: list[Petition], words) -> tuple[int, int]:
    """Duplicate check for petitions seen for the first time; every petition's fingerprint is (re)stored. Each joins
    the matters of this tenant it agrees with (its links to them carry MATTER); the second count is the petitions
    whose matter is then a collective petition."""
    found = collective = 0
    hierarchy = await hierarchy_of(scope.tenant_id) if petitions else []
    for petition in petitions:
        fp = fingerprint_of(petition, words)
        if not fingerprints.contains(fp.petition_id):
            linked, in_collective = await _link(scope, fingerprints, fp, hierarchy)
            found, collective = found + linked, collective + in_collective
        fingerprints.put(fp)
    return found, collective


async def recheck_petitions(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petitions: list[Petition], words) -> tuple[int, int]:
    """The duplicate check again for petitions already fingerprinted (those indexed before a rule existed, such as
    matters): each against the petitions received before it, as when it arrived. Links already there (and staff's
    decisions on them) stay as they are; the counts are of links added."""
    found = collective = 0
    hierarchy = await hierarchy_of(scope.tenant_id) if petitions else []
    for petition in petitions:
        fp = fingerprint_of(petition, words)
        fingerprints.put(fp)
        linked, in_collective = await _link(scope, fingerprints, fp, hierarchy, received_before=fp.created)
        found, collective = found + linked, collective + in_collective
    return found, collective


async def _link(scope: TenantScope, fingerprints: duplicates.FingerprintStore, fp: duplicates.Fingerprint, hierarchy: list[str],
                received_before: str | None = None) -> tuple[int, int]:
    """Store fp's links to its likely repeats (``received_before``: only those received before that moment) and join
    the matters it agrees with; (links added, 1 if its matter is then collective)."""
    def earlier(rows):
        return [row for row in rows if received_before is None or (row[0].created or "") < received_before]

    found = 0
    scored = earlier(duplicates.scored_candidates(fingerprints, fp, hierarchy))
    ours = [(other, score) for other, score, _, _ in scored if other.tenant_id == scope.tenant_id]
    members = await _matters_of(scope, fingerprints, [other.petition_id for other, _ in ours])
    joined = set(clusters.matters_to_join(fp, ours, lambda pid: members.get(pid, [])))
    for other, score, similarity, reasons in scored:
        found += await _insert_candidate(scope, DuplicateCandidate(
            tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
            other_number=other.number, other_title=other.title, reasons=[*reasons, *([MATTER] if other.petition_id in joined else [])],
            similarity=round(similarity, 3), score=round(score, 3)))
    for other, score, similarity, reasons in earlier(duplicates.systemwide_candidates(fingerprints, fp, hierarchy)):
        # 全系统判重: another body's petition, outside this one's line. Its number and title stay there (empty
        # here, by construction): staff see only that it exists, where, when and in which state.
        found += await _insert_candidate(scope, DuplicateCandidate(
            tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
            other_number="", other_title="", reasons=[*reasons, OTHER_BODY], similarity=round(similarity, 3),
            score=round(score, 3)))
    if not joined:
        return found, 0
    people = [fp.petitioner, *(m.petitioner for pid in joined for m in members.get(pid, []))]
    return found, int(clusters.is_collective(clusters.distinct_petitioners(set(people))))


async def _insert_candidate(scope: TenantScope, candidate: DuplicateCandidate) -> int:
    try:
        await scope.repo(DuplicateCandidate).insert(candidate)
        return 1
    except DuplicateKeyError:
        return 0  # found by an earlier drain of the same petition


async def matter_edges(scope: TenantScope, starts: list[str]) -> list[tuple[str, str]]:
    """The MATTER links of this tenant reachable from these petitions (one read a step; staff's dismissals left out)."""
    edges: list[tuple[str, str]] = []
    seen, frontier = set(starts), list(starts)
    while frontier and len(seen) < clusters.MAX_CLUSTER * 4:
        rows = await scope.repo(DuplicateCandidate).find(
            {"reasons": MATTER, "status": {"$ne": CandidateStatus.DISMISSED.value}, "other_tenant_id": scope.tenant_id,
             "$or": [{"petition_id": {"$in": frontier}}, {"other_id": {"$in": frontier}}]}).to_list()
        frontier = []
        for row in rows:
            edge = (row.petition_id, row.other_id)
            if edge not in edges:
                edges.append(edge)
            for pid in edge:
                if pid not in seen:
                    seen.add(pid)
                    frontier.append(pid)
    return edges


async def _matters_of(scope: TenantScope, fingerprints: duplicates.FingerprintStore, ids: list[str]) -> dict[str, list[duplicates.Fingerprint]]:
    """Each petition's matter (its own fingerprint alone when it joined none), as fingerprints."""
    if not ids:
        return {}
    groups = clusters.components(await matter_edges(scope, ids))
    prints = fingerprints.get_many(sorted({pid for g in groups for pid in g} | set(ids)))
    found = {}
    for pid in ids:
        group = next((g for g in groups if pid in g), {pid})
        found[pid] = [prints[m] for m in sorted(group) if m in prints]
    return found


async def matter_of(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petition_id: str) -> dict:
    """A petition's matter as its panel and the API say it: how many petitions, how many different people, whether
    a collective petition (集体访). Read when asked, so every petition of a matter says it, earlier and later ones."""
    members = (await _matters_of(scope, fingerprints, [petition_id]))[petition_id]
    people = clusters.distinct_petitioners(m.petitioner for m in members)
    return {"petitions": max(1, len(members)), "petitioners": people, "collective": clusters.is_collective(people),
            "ids": [m.petition_id for m in members]}


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
