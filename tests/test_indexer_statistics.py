"""The indexer's statistics (search/xinfang_search/analytics_flags.refresh_facts): each matter walked once while the
facts are refreshed, and the recount of the marked months at most every SETTLE_EVERY_SECONDS in a process."""

from __future__ import annotations

from types import SimpleNamespace

from xinfang_search import analytics_flags, repeats


async def test_a_matter_is_walked_once_for_all_its_members_inside_the_block_and_every_time_outside(monkeypatch):
    walks: list[list[str]] = []
    matter = ["p1", "p2", "p3"]

    async def walked(scope, fingerprints, ids):
        walks.append(list(ids))
        return {pid: [SimpleNamespace(petition_id=m, petitioner=f"person-{m}") for m in matter] for pid in ids}
    monkeypatch.setattr(repeats, "_matters_of", walked)
    scope = SimpleNamespace(tenant_id="t1")
    alone = [await repeats.matter_of(scope, None, pid) for pid in matter]
    assert len(walks) == 3
    walks.clear()
    with repeats.remembered_matters("t1"):
        inside = [await repeats.matter_of(scope, None, pid) for pid in matter]
        inside[0]["ids"].append("changed by a caller")  # an answer's list is the caller's: the memo keeps its own
        again = await repeats.matter_of(scope, None, "p2")
        other = await repeats.matter_of(SimpleNamespace(tenant_id="t2"), None, "p1")  # another tenant: walked
    assert walks == [["p1"], ["p1"]]
    assert inside[1:] == alone[1:] and again == alone[1] and other == alone[0]
    walks.clear()
    await repeats.matter_of(scope, None, "p1")  # after the block: walked again
    assert walks == [["p1"]]


async def test_the_recount_waits_for_its_interval_and_a_failure_leaves_it_due(monkeypatch):
    from xinfang.analytics import cells

    recounts: list[int] = []
    failing = [False]

    async def settle_all():
        if failing[0]:
            raise RuntimeError("store away")
        recounts.append(1)
        return 0
    monkeypatch.setattr(cells, "settle_all", settle_all)
    clock = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    monkeypatch.setattr(analytics_flags, "_last_recount", [float("-inf")])
    await analytics_flags._recount_soon()
    clock[0] += analytics_flags.SETTLE_EVERY_SECONDS / 2
    await analytics_flags._recount_soon()  # within the interval: the marks wait
    assert len(recounts) == 1
    clock[0] += analytics_flags.SETTLE_EVERY_SECONDS
    failing[0] = True
    await analytics_flags._recount_soon()  # fails: logged, still due
    failing[0] = False
    await analytics_flags._recount_soon()
    assert len(recounts) == 2
