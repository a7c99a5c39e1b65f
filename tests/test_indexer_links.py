"""The indexer's batch reads a tenant's links once (search/xinfang_search/repeats.preload_links) where that is cheaper
than a dozen equality lookups a petition: the same links as the lookups, nothing asked of the store afterwards, links
written during the batch seen from both ends, and the lookups as before past the threshold or one petition at a time."""

from __future__ import annotations

from bson import ObjectId

from xinfang.store.scoped import TenantScope
from xinfang_search import repeats
from xinfang_search.models import DuplicateCandidate


def _link(tenant_id: str, petition_id: str, other_id: str) -> DuplicateCandidate:
    return DuplicateCandidate(id=ObjectId(), tenant_id=tenant_id, petition_id=petition_id, other_id=other_id, other_tenant_id=tenant_id,
                              other_number="N", other_title="T", reasons=["similar_text"], similarity=0.5, score=0.6)


def _ids(rows) -> set[str]:
    return {str(row.id) for row in rows}


async def test_a_batch_reads_the_tenants_links_once_and_answers_as_the_lookups(app, monkeypatch):
    tenant_id, other_tenant = str(ObjectId()), str(ObjectId())
    p = [str(ObjectId()) for _ in range(6)]
    pairs = [(p[1], p[0]), (p[2], p[0]), (p[2], p[1]), (p[3], p[2]), (p[5], p[4])]
    await DuplicateCandidate.insert_many([_link(tenant_id, a, b) for a, b in pairs] + [_link(other_tenant, p[1], p[0])])
    scope = TenantScope(tenant_id)
    try:
        alone = {pid: _ids(await repeats.links_of(scope, [pid])) for pid in p}
        assert [len(alone[pid]) for pid in p] == [2, 2, 3, 1, 1, 1]  # the other tenant's link is not ours

        async def no_lookups(*args):
            raise AssertionError("a lookup after the tenant's links were read")
        with repeats.batch_links(tenant_id):
            assert await repeats.preload_links(scope, petitions=2)
            monkeypatch.setattr(repeats, "_read_links", no_lookups)
            assert {pid: _ids(await repeats.links_of(scope, [pid])) for pid in p} == alone
            assert await repeats.links_of(scope, [str(ObjectId())]) == []  # a new petition: no links, no question
            new = _link(tenant_id, str(ObjectId()), p[4])  # written during the batch: seen from both ends
            repeats._batch_links.get().inserted(new)
            assert str(new.id) in _ids(await repeats.links_of(scope, [new.petition_id]))
            assert _ids(await repeats.links_of(scope, [p[4]])) == alone[p[4]] | {str(new.id)}
        monkeypatch.undo()

        with repeats.batch_links(tenant_id):  # one petition at a time: the lookups
            assert not await repeats.preload_links(scope, petitions=1)
            assert not repeats._batch_links.get().complete
        monkeypatch.setattr(repeats, "PRELOAD_LINKS_PER_PETITION", 2)
        with repeats.batch_links(tenant_id):  # 5 links > 2 a petition x 2 petitions: the lookups
            assert not await repeats.preload_links(scope, petitions=2)
            assert {pid: _ids(await repeats.links_of(scope, [pid])) for pid in p} == alone
        assert not await repeats.preload_links(scope, petitions=100)  # outside a batch: nothing to keep them in
    finally:
        await DuplicateCandidate.get_pymongo_collection().delete_many({"tenant_id": {"$in": [tenant_id, other_tenant]}})
