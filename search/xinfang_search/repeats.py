"""Repeat petitions as the indexer finds them (判重, 重信重访, 集体访): each new petition's fingerprint checked
against the earlier ones of its hierarchy, candidates stored with their reasons, collective petitions flagged;
likely repeats at unrelated bodies (全系统判重) stored as existence only; and staff's decision on a candidate.
The fingerprints and their scores are ``duplicates``, the matters they form ``clusters``."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from datetime import UTC

from beanie.odm.utils.dump import get_dict
from bson import ObjectId

from xinfang.events import insert_new
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope, count_matching, parse_object_id
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

    scored = earlier(duplicates.scored_candidates(fingerprints, fp, hierarchy))
    ours = [(other, score) for other, score, _, _ in scored if other.tenant_id == scope.tenant_id]
    members = await _matters_of(scope, fingerprints, [other.petition_id for other, _ in ours])
    joined = set(clusters.matters_to_join(fp, ours, lambda pid: members.get(pid, [])))
    links = [DuplicateCandidate(
        tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
        other_number=other.number, other_title=other.title, reasons=[*reasons, *([MATTER] if other.petition_id in joined else [])],
        similarity=round(similarity, 3), score=round(score, 3)) for other, score, similarity, reasons in scored]
    for other, score, similarity, reasons in earlier(duplicates.systemwide_candidates(fingerprints, fp, hierarchy)):
        # 全系统判重: another body's petition, outside this one's line. Its number and title stay there (empty
        # here, by construction): staff see only that it exists, where, when and in which state.
        links.append(DuplicateCandidate(
            tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
            other_number="", other_title="", reasons=[*reasons, OTHER_BODY], similarity=round(similarity, 3),
            score=round(score, 3)))
    found = await _insert_candidates(scope, links)
    if not joined:
        return found, 0
    people = [fp.petitioner, *(m.petitioner for pid in joined for m in members.get(pid, []))]
    return found, int(clusters.is_collective(clusters.distinct_petitioners(set(people))))


async def _insert_candidates(scope: TenantScope, links: list[DuplicateCandidate]) -> int:
    """A petition's links in one unordered write (a link already there was found by an earlier drain of the same
    petition, and stays as it is, staff's decision included); how many were new."""
    if not links:
        return 0
    for link in links:
        link.id = ObjectId()  # chosen here: insert_many does not write them back onto the objects
        link.tenant_id = scope.tenant_id
    new = await insert_new(DuplicateCandidate.get_pymongo_collection(), [get_dict(link, to_db=True) for link in links])
    cache = _batch_links.get()
    if cache is not None and cache.tenant_id == scope.tenant_id:
        for position in new:
            cache.inserted(links[position])
    return len(new)


async def matter_edges(scope: TenantScope, starts: list[str]) -> list[tuple[str, str]]:
    """The MATTER links of this tenant reachable from these petitions (one step of the walk at a time; staff's
    dismissals left out)."""
    edges: list[tuple[str, str]] = []
    seen, frontier = set(starts), list(starts)
    while frontier and len(seen) < clusters.MAX_CLUSTER * 4:
        rows = await links_of(scope, frontier)
        frontier = []
        for row in rows:
            if MATTER not in row.reasons or row.status == CandidateStatus.DISMISSED or row.other_tenant_id != scope.tenant_id:
                continue
            edge = (row.petition_id, row.other_id)
            if edge not in edges:
                edges.append(edge)
            for pid in edge:
                if pid not in seen:
                    seen.add(pid)
                    frontier.append(pid)
    return edges


LOOKUPS_AT_ONCE = 32  # equality lookups in flight together (the store answers them one by one; the waits overlap)


async def links_of(scope: TenantScope, petition_ids: list[str]) -> list[DuplicateCandidate]:
    """Every candidate link of this tenant from or to these petitions, each found by equality through an index.

    One ``$eq`` lookup per petition and side, not one query with ``$in``/``$or``/``$ne``: the embedded store answers
    those by reading every link of the tenant (``$in`` on a field not ``_id``) or every row of the collection (``$or``,
    ``$ne``: decoded in Python, 2.8 s at 30,000 links), while an equality on (tenant_id, petition_id) or (tenant_id,
    other_id) is one index search on both stores (tests/test_store_contract.py). Reasons and status are checked by the
    callers. Within the indexer's batch (``batch_links``) each petition's links are read once."""
    cache = _batch_links.get()
    if cache is None or cache.tenant_id != scope.tenant_id:
        return await _read_links(scope, list(dict.fromkeys(petition_ids)))
    if cache.complete:
        return cache.of(petition_ids)
    missing = [pid for pid in dict.fromkeys(petition_ids) if pid not in cache.rows]
    if missing:
        cache.loaded(missing, await _read_links(scope, missing))
    return cache.of(petition_ids)


async def _read_links(scope: TenantScope, petition_ids: list[str]) -> list[DuplicateCandidate]:
    repo = scope.repo(DuplicateCandidate)
    queries = [{field: {"$eq": pid}} for pid in petition_ids for field in ("petition_id", "other_id")]
    found: dict = {}
    for start in range(0, len(queries), LOOKUPS_AT_ONCE):
        chunk = queries[start:start + LOOKUPS_AT_ONCE]
        for rows in await asyncio.gather(*(repo.find(query).to_list() for query in chunk)):
            for row in rows:
                found.setdefault(row.id, row)  # a link between two of them is found from both ends
    return list(found.values())


class BatchLinks:
    """The links of one tenant's petitions as the indexer read and wrote them during one batch. The indexer is the
    only writer of links and holds the tenant's writer lock, so what it read stays whole: each link it inserts is
    added here to both of its petitions. What staff decide meanwhile (a dismissal) is seen from the next batch on,
    and refreshes the statistics by itself (``repeat_decisions``)."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self.rows: dict[str, dict] = {}  # petition id -> {link id: link}, for each petition whose links were read
        self.complete = False  # every link of the tenant read (``preload_links``): a petition not in rows has none

    def loaded(self, petition_ids: list[str], rows: list[DuplicateCandidate]) -> None:
        for pid in petition_ids:
            self.rows.setdefault(pid, {})
        for row in rows:
            self.inserted(row)

    def loaded_all(self, rows: list[DuplicateCandidate]) -> None:
        self.complete = True
        for row in rows:
            self.inserted(row)

    def inserted(self, row: DuplicateCandidate) -> None:
        for pid in (row.petition_id, row.other_id):
            if self.complete:
                self.rows.setdefault(pid, {})[row.id] = row
            elif pid in self.rows:
                self.rows[pid][row.id] = row

    def of(self, petition_ids: list[str]) -> list[DuplicateCandidate]:
        found: dict = {}
        for pid in petition_ids:
            found.update(self.rows.get(pid, {}))
        return list(found.values())


_batch_links: contextvars.ContextVar[BatchLinks | None] = contextvars.ContextVar("xinfang_search_batch_links", default=None)


PRELOAD_LINKS_PER_PETITION = 50  # read every link of the tenant at once when it has at most this many per petition of the batch


async def preload_links(scope: TenantScope, petitions: int) -> bool:
    """Inside ``batch_links``: every link of the tenant in one read, when that is cheaper than the lookups the batch
    would make (about a dozen equality reads a petition at 2,000 petitions, for its candidates and their matters:
    11.6 per petition, 23,000 reads for 2,000, each a round trip the drain waits for). A read of the whole tenant
    grows with its links, so only while they number at most ``PRELOAD_LINKS_PER_PETITION`` per petition of the batch
    (counted through the index first); otherwise the lookups as before. One petition at a time never preloads. The
    links read are those the lookups would have read: the indexer is their only writer, under the writer lock, and
    what staff decide meanwhile is seen from the next batch on, as before."""
    cache = _batch_links.get()
    if cache is None or cache.tenant_id != scope.tenant_id or cache.complete or petitions < 2:
        return False
    links = await count_matching(DuplicateCandidate.get_pymongo_collection(), {"tenant_id": scope.tenant_id})
    if links > PRELOAD_LINKS_PER_PETITION * petitions:
        return False
    cache.loaded_all(await scope.repo(DuplicateCandidate).find({}).to_list())
    return True


@contextlib.contextmanager
def batch_links(tenant_id: str):
    """Read each petition's links once while this block runs (the indexer's batch, under the tenant's writer lock)."""
    token = _batch_links.set(BatchLinks(tenant_id))
    try:
        yield
    finally:
        _batch_links.reset(token)


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


_matter_memo: contextvars.ContextVar[tuple[str, dict] | None] = contextvars.ContextVar("xinfang_search_matter_memo", default=None)


@contextlib.contextmanager
def remembered_matters(tenant_id: str):
    """While this block runs nobody writes this tenant's links or fingerprints (the indexer's statistics, after its
    batch's links and fingerprints are written, under the writer lock): each matter is walked once, and every member
    answers from it. The statistics asked each petition's matter three times (the members to refresh, then each
    fact's collective flag, then again reading the fact back)."""
    token = _matter_memo.set((tenant_id, {}))
    try:
        yield
    finally:
        _matter_memo.reset(token)


async def matter_of(scope: TenantScope, fingerprints: duplicates.FingerprintStore, petition_id: str) -> dict:
    """A petition's matter as its panel and the API say it: how many petitions, how many different people, whether
    a collective petition (集体访). Read when asked, so every petition of a matter says it, earlier and later ones."""
    memo = _matter_memo.get()
    if memo is not None and memo[0] == scope.tenant_id and petition_id in memo[1]:
        return _copy(memo[1][petition_id])
    members = (await _matters_of(scope, fingerprints, [petition_id]))[petition_id]
    people = clusters.distinct_petitioners(m.petitioner for m in members)
    found = {"petitions": max(1, len(members)), "petitioners": people, "collective": clusters.is_collective(people),
             "ids": [m.petition_id for m in members]}
    if memo is not None and memo[0] == scope.tenant_id:
        for member in found["ids"] or [petition_id]:  # the same matter for each of its members
            memo[1][member] = found
    return _copy(found)


def _copy(matter: dict) -> dict:
    return {**matter, "ids": list(matter["ids"])}  # an answer's list is the caller's; the memo keeps its own
