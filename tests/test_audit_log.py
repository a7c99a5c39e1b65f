"""The hash-chained audit log: gapless numbers under concurrent writers, tampering found, the CLI verifier.

Everything runs against the session's real store. The log is shared with every
other test of the session (superuser reads append to it too), so every check
verifies the whole chain, and every test that tampers with stored records puts
the original documents back in a ``finally`` block. Most kinds of tampering
are also shown on records read from the store and changed in memory only
(``verify_chain`` is a pure function).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId
from pydantic import ValidationError

from xinfang.audit import service as audit_service
from xinfang.audit.anchors import Anchor, AnchorError, anchor_head, anchors_path, parse_expected_head, read_anchors
from xinfang.audit.models import (
    CHAINED_FIELDS,
    GENESIS_HASH,
    IN_CHAIN,
    UNCHAINED_FIELDS,
    AuditRecord,
    canonical_json,
    compute_record_hash,
)
from xinfang.audit.service import (
    AuditLogUnavailable,
    ChainHead,
    audit_records_for_tenant,
    do_append_audit,
    read_head,
)
from xinfang.audit.verify import (
    ALTERED,
    ANCHOR_MISMATCH,
    BROKEN_LINK,
    MISSING,
    OUT_OF_ORDER,
    TRUNCATED,
    UNCHAINED,
    UNREADABLE,
    ChainVerifier,
    verify_audit_log,
    verify_chain,
)
from tests.conftest import REPO_ROOT, child_env, eventually

ACTOR = str(ObjectId())


def a_tenant() -> str:
    return str(ObjectId())


async def append(count: int = 1, **content) -> list[AuditRecord]:
    records = []
    for number in range(count):
        fields = dict(actor_id=ACTOR, actor_username="audit-test", action="test.append",
                      purpose=f"审计链测试 audit chain test {number}")
        fields.update(content)
        records.append(await do_append_audit(**fields))
    return records


async def stored_chain() -> list[AuditRecord]:
    return await AuditRecord.find(IN_CHAIN).sort("+seq").to_list()


def collection():
    return AuditRecord.get_pymongo_collection()


def kinds(problems) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind) for p in problems]


@contextlib.asynccontextmanager
async def restored_afterwards(*seqs: int):
    """Tamper freely with the records at ``seqs`` inside the block; they are put back as they were."""
    originals = [await collection().find_one({"seq": seq}) for seq in seqs]
    assert all(originals), f"records {seqs} should exist"
    try:
        yield originals
    finally:
        await collection().delete_many({"_id": {"$in": [doc["_id"] for doc in originals]}})
        await collection().delete_many({"seq": {"$in": list(seqs)}})  # whatever took their places
        await collection().insert_many(originals)


# --------------------------------------------------------------------------- canonical form


def test_every_field_is_chained_or_deliberately_left_out():
    """A field added to AuditRecord must be covered by the hash or listed as deliberately not."""
    assert set(AuditRecord.model_fields) == set(CHAINED_FIELDS) | set(UNCHAINED_FIELDS)
    assert not set(CHAINED_FIELDS) & set(UNCHAINED_FIELDS)


def test_canonical_json_is_one_text_per_value():
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 3, 8, 15, 30, 123456, tzinfo=UTC)
    same_moment = datetime(2026, 11, 3, 16, 15, 30, 123456, tzinfo=beijing)
    oid = ObjectId()
    assert canonical_json({"b": moment, "a": oid}) == canonical_json({"a": str(oid), "b": same_moment})
    assert canonical_json({"b": moment}) == canonical_json({"b": moment.replace(tzinfo=None)})  # naive = UTC, as stored
    assert canonical_json({"t": moment}) == b'{"t":"2026-11-03T08:15:30.123456Z"}'
    assert canonical_json({"名": "泗阳"}) == '{"名":"泗阳"}'.encode()
    with pytest.raises(TypeError):
        canonical_json({"s": {1, 2}})  # no guessing at values the store would not keep as they are
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# --------------------------------------------------------------------------- appending


async def test_appended_records_form_a_chain_that_reads_back_identically(app):
    head_before = await read_head()
    tenant = a_tenant()
    moment = datetime(2026, 11, 3, 8, 15, 30, 123456, tzinfo=UTC)
    records = await append(
        12,
        subject=str(ObjectId()),
        review_id="干部任用-2026-17",
        tenant_ids=[tenant, tenant],
        query={"姓名": "张三", "since": moment, "ids": [ObjectId()], "page": 1, "ratio": 0.25, "all": True, "none": None},
        result_count=3,
    )

    first = head_before.seq + 1 if head_before else 1
    assert [r.seq for r in records] == list(range(first, first + 12))
    assert records[0].prev_hash == (head_before.hash if head_before else GENESIS_HASH)
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(records, records[1:]))
    for written in records:
        # Read back through Beanie and as the raw document: the same hash must come out,
        # datetimes included (stored with milliseconds, hashed at microsecond precision).
        assert written.created_at.microsecond % 1000 == 0
        loaded = await AuditRecord.get(written.id)
        assert loaded.created_at == written.created_at and loaded.created_at.utcoffset() == timedelta(0)
        assert compute_record_hash(loaded) == written.hash == loaded.hash
        raw = await collection().find_one({"_id": written.id})
        assert compute_record_hash(AuditRecord.model_validate(raw)) == written.hash
        assert loaded.tenant_ids == [tenant] and loaded.query["since"] == "2026-11-03T08:15:30.123456Z"

    report = await verify_audit_log()
    assert report.intact, kinds(report.problems)
    assert report.head == ChainHead(records[-1].seq, records[-1].hash)
    assert report.records_checked == records[-1].seq


async def test_a_record_that_cannot_be_stored_raises_and_leaves_no_trace(app):
    head_before = await read_head()
    with pytest.raises(OverflowError):  # BSON has no integers this large
        await append(query={"huge": 2**70})
    with pytest.raises(ValidationError):
        await append(actor_id="not-an-id")
    assert await read_head() == head_before


async def test_concurrent_appends_from_three_processes_are_gapless(app, settings):
    """20 appends at once in this process, and 10 each from two other processes with their own clients."""
    head_before = await read_head() or ChainHead(0, GENESIS_HASH)
    start_at = time.time() + 4  # every writer starts at the same moment, after the interpreters are up
    script = textwrap.dedent(f"""
        import asyncio, sys, time
        from xinfang.audit.models import AuditRecord
        from xinfang.audit.service import do_append_audit
        from xinfang.settings import Settings
        from xinfang.store.client import Store

        async def main(name):
            store = await Store.open(Settings.from_env(), [AuditRecord])
            await asyncio.sleep(max(0, {start_at} - time.time()))
            await asyncio.gather(*(do_append_audit(actor_id="{ACTOR}", actor_username=name, action="test.concurrent",
                                                   purpose="并发追加 concurrent append") for _ in range(10)))
            await store.close()

        asyncio.run(main(sys.argv[1]))
    """)
    others = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, name, env=child_env(settings), cwd=REPO_ROOT)
        for name in ("replica-1", "replica-2")
    ]
    await asyncio.sleep(max(0, start_at - time.time()))
    mine = await asyncio.gather(*(
        do_append_audit(actor_id=ACTOR, actor_username="replica-0", action="test.concurrent", purpose="并发追加 concurrent append")
        for _ in range(20)
    ))
    assert [await process.wait() for process in others] == [0, 0]

    new = await AuditRecord.find({"seq": {"$gt": head_before.seq}}).sort("+seq").to_list()
    assert [r.seq for r in new] == list(range(head_before.seq + 1, head_before.seq + 41))
    assert sorted(r.actor_username for r in new) == ["replica-0"] * 20 + ["replica-1"] * 10 + ["replica-2"] * 10
    assert {r.id for r in mine} <= {r.id for r in new}
    writers_in_seq_order = [r.actor_username for r in new]
    switches = sum(1 for a, b in zip(writers_in_seq_order, writers_in_seq_order[1:]) if a != b)
    assert switches >= 3, f"the writers did not actually run at the same time: {writers_in_seq_order}"
    report = await verify_audit_log()
    assert report.intact, kinds(report.problems)


@pytest.fixture
async def every_race_lost(app, monkeypatch) -> ChainHead:
    """Appends that always see the head one record behind, as if another writer always took the
    number first (the store is real; only the head they read is stale). Yields the true head."""
    await append(2)
    real_head = await read_head()
    previous = await AuditRecord.find_one({"seq": real_head.seq - 1})

    async def stale_head():
        return ChainHead(previous.seq, previous.hash)

    monkeypatch.setattr(audit_service, "read_head", stale_head)
    monkeypatch.setattr(audit_service, "MAX_APPEND_ATTEMPTS", 3)
    yield real_head
    monkeypatch.undo()
    assert await read_head() == real_head, "nothing may have been written"


async def test_an_append_that_keeps_losing_the_race_gives_up_with_an_error(every_race_lost):
    with pytest.raises(AuditLogUnavailable):
        await append()


async def test_a_cross_tenant_read_that_cannot_be_audited_answers_nothing(every_race_lost, client, superuser):
    response = await client.get("/api/platform/accounts", query_string={"username": "admin", "purpose": "干部考察 review"},
                                headers=superuser)
    body = await response.get_json()
    assert response.status_code == 503 and body["error"]["code"] == "audit_unavailable"
    assert "accounts" not in body and "admin" not in json.dumps(body, ensure_ascii=False)


async def test_a_superuser_read_is_appended_to_the_chain(app, client, superuser):
    purpose = "干部任用征求意见 chained #2026-18"
    response = await client.get("/api/platform/accounts", query_string={"username": "admin", "purpose": purpose},
                                headers=superuser)
    assert response.status_code == 200
    head = await read_head()
    record = await AuditRecord.find_one({"seq": head.seq})
    assert (record.purpose, record.action, record.actor_username) == (purpose, "cross_tenant.accounts.search", "org-reviewer")
    assert record.tenant_ids == sorted(record.tenant_ids) and len(record.tenant_ids) >= 3
    listed = (await (await client.get("/api/platform/audit", headers=superuser)).get_json())["records"]
    assert listed[0]["seq"] == head.seq and listed[0]["hash"] == head.hash  # newest first, by number
    assert (await verify_audit_log()).intact


# --------------------------------------------------------------------------- tampering, in memory


@pytest.fixture
async def chain(app) -> list[AuditRecord]:
    await append(6)
    records = await stored_chain()
    assert not verify_chain(records)
    return records


def changed(record: AuditRecord, **fields) -> AuditRecord:
    return record.model_copy(update=fields)


async def test_an_edited_record_is_found_at_its_seq(chain):
    victim = chain[-4]
    edited = [changed(r, purpose="看一看 just looking") if r is victim else r for r in chain]
    assert kinds(verify_chain(edited)) == [(victim.seq, ALTERED)]

    # Re-hashing the edited record moves the break to the next link.
    rehashed = changed(victim, purpose="看一看 just looking")
    rehashed.hash = compute_record_hash(rehashed)
    assert kinds(verify_chain([rehashed if r is victim else r for r in chain])) == [(victim.seq + 1, BROKEN_LINK)]


async def test_a_deleted_record_is_found(chain):
    victim = chain[-3]
    assert kinds(verify_chain([r for r in chain if r is not victim])) == [(victim.seq, MISSING)]

    # Deleted, and the later records renumbered to close the gap: their hashes and links give it away.
    renumbered = chain[:-3] + [changed(r, seq=r.seq - 1) for r in chain[-2:]]
    problems = kinds(verify_chain(renumbered))
    assert (victim.seq, BROKEN_LINK) in problems and (victim.seq, ALTERED) in problems


async def test_swapped_or_reordered_records_are_found(chain):
    first, second = chain[-4], chain[-3]
    swapped = chain[:-4] + [changed(second, seq=first.seq), changed(first, seq=second.seq)] + chain[-2:]
    problems = kinds(verify_chain(swapped))
    assert {(first.seq, ALTERED), (first.seq, BROKEN_LINK), (second.seq, ALTERED), (second.seq, BROKEN_LINK)} <= set(problems)

    # Out of order without renumbering (as a careless export would list them).
    reordered = chain[:-4] + [second, first] + chain[-2:]
    assert (first.seq, OUT_OF_ORDER) in kinds(verify_chain(reordered))


async def test_a_cut_off_tail_is_found_only_against_an_anchor(chain):
    head = chain[-1]
    cut = chain[:-2]
    assert verify_chain(cut) == []  # what is left is a perfectly valid chain
    anchor = Anchor(head.seq, head.hash)
    assert kinds(verify_chain(cut, [anchor])) == [(head.seq - 1, TRUNCATED)]
    assert verify_chain(chain, [anchor]) == []


async def test_a_consistently_rewritten_tail_is_found_only_against_an_anchor(chain):
    anchor = Anchor(chain[-1].seq, chain[-1].hash)
    rewritten = list(chain[:-3])
    for record in chain[-3:]:  # a forger who re-hashes and re-links everything from one record on
        forged = changed(record, purpose="已篡改 forged", prev_hash=rewritten[-1].hash)
        forged.hash = compute_record_hash(forged)
        rewritten.append(forged)
    assert verify_chain(rewritten) == []
    assert kinds(verify_chain(rewritten, [anchor])) == [(anchor.seq, ANCHOR_MISMATCH)]


async def test_records_outside_the_chain_are_reported(chain):
    smuggled = changed(chain[-1], id=ObjectId(), seq=None, prev_hash=None, hash=None)
    assert kinds(verify_chain(chain + [smuggled])) == [(None, UNCHAINED)]
    verifier = ChainVerifier()
    for record in chain:
        verifier.feed(record)
    verifier.feed_stored({"_id": ObjectId(), "seq": chain[-1].seq + 1, "actor_id": "not an id"})
    assert kinds(verifier.finish().problems) == [(chain[-1].seq + 1, UNREADABLE)]


# --------------------------------------------------------------------------- tampering, in the store


async def test_tampering_in_the_store_is_found_and_repair_verifies_again(app):
    records = await append(6)
    edited, deleted, swap_a, swap_b = records[1], records[2], records[3], records[4]

    async with restored_afterwards(edited.seq):
        await collection().update_one({"_id": edited.id}, {"$set": {"purpose": "随便看看 idle curiosity"}})
        assert kinds((await verify_audit_log()).problems) == [(edited.seq, ALTERED)]
    assert (await verify_audit_log()).intact

    async with restored_afterwards(deleted.seq):
        await collection().delete_one({"_id": deleted.id})
        assert kinds((await verify_audit_log()).problems) == [(deleted.seq, MISSING)]
    assert (await verify_audit_log()).intact

    async with restored_afterwards(swap_a.seq, swap_b.seq):
        # Through a free number, as the unique index wants it.
        await collection().update_one({"_id": swap_a.id}, {"$set": {"seq": -swap_a.seq}})
        await collection().update_one({"_id": swap_b.id}, {"$set": {"seq": swap_a.seq}})
        await collection().update_one({"_id": swap_a.id}, {"$set": {"seq": swap_b.seq}})
        problems = set(kinds((await verify_audit_log()).problems))
        assert {(swap_a.seq, BROKEN_LINK), (swap_a.seq, ALTERED), (swap_b.seq, ALTERED)} <= problems
    assert (await verify_audit_log()).intact


async def test_deleting_the_newest_records_is_found_only_with_an_anchor(app):
    await append(3)
    head = await read_head()
    anchor = Anchor(head.seq, head.hash)
    async with restored_afterwards(head.seq - 1, head.seq):
        await collection().delete_many({"seq": {"$gte": head.seq - 1}})
        assert (await verify_audit_log()).intact  # not detectable from the records alone
        assert kinds((await verify_audit_log([anchor])).problems) == [(head.seq - 1, TRUNCATED)]
    assert (await verify_audit_log([anchor])).intact


# --------------------------------------------------------------------------- anchors


async def test_the_sweeper_step_anchors_the_head_and_refuses_a_bad_tail(app, tmp_path):
    await append(2)
    head = await read_head()
    first = await anchor_head(tmp_path)
    assert (first.seq, first.hash) == (head.seq, head.hash)
    assert await anchor_head(tmp_path) is None  # nothing new: nothing written

    async with restored_afterwards(head.seq):
        await collection().delete_one({"seq": head.seq})
        assert await anchor_head(tmp_path) is None  # the chain is shorter than the last anchor

    later = await append(2)
    async with restored_afterwards(later[0].seq):
        await collection().update_one({"seq": later[0].seq}, {"$set": {"purpose": "改过 edited"}})
        assert await anchor_head(tmp_path) is None  # an edited record since the last anchor: not blessed
    second = await anchor_head(tmp_path)
    assert (second.seq, second.hash) == (later[-1].seq, later[-1].hash)
    anchors = read_anchors(anchors_path(tmp_path))
    assert [(a.seq, a.hash) for a in anchors] == [(first.seq, first.hash), (second.seq, second.hash)]
    assert (await verify_audit_log(anchors)).intact


async def test_the_beat_sweeper_keeps_anchors_outside_the_store(app, settings, worker):
    await append(1)
    head = await read_head()
    path = anchors_path(settings.data_dir)

    def anchored():
        return path.is_file() and any(a.seq >= head.seq for a in read_anchors(path))

    async def probe():
        return anchored()

    await eventually(probe, timeout=30, message=f"the worker's beat to anchor seq {head.seq} in {path}")
    assert (await verify_audit_log(read_anchors(path))).intact


def test_anchor_text_is_checked(tmp_path):
    digest = "ab" * 32
    assert parse_expected_head(f"12:{digest.upper()}") == Anchor(12, digest, source="--expect-head")
    for bad in ("12", "x:" + digest, "0:" + digest, "12:abc", f"-1:{digest}"):
        with pytest.raises(AnchorError):
            parse_expected_head(bad)
    path = tmp_path / "anchors.jsonl"
    path.write_text(json.dumps({"seq": 3, "hash": digest, "at": "2026-11-27T00:00:00.000000Z"}) + "\n{\"seq\": 4, \"ha\n")
    with pytest.raises(AnchorError) as caught:
        read_anchors(path)
    assert "line 2" in str(caught.value)


# --------------------------------------------------------------------------- the command


async def run_verify(settings, *args: str) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "xinfang", "audit", "verify", *args],
        env=child_env(settings), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )


async def test_the_verify_command(app, settings, tmp_path):
    records = await append(4)
    head = await read_head()
    no_anchors = tmp_path / "empty-anchors.jsonl"
    no_anchors.write_text("")

    intact = await run_verify(settings, "--expect-head", f"{head.seq}:{head.hash}")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "审计日志完整" in intact.stdout and "audit log intact" in intact.stdout
    assert f"{head.seq}:{head.hash}" in intact.stdout

    victim = records[1]
    async with restored_afterwards(victim.seq):
        await collection().update_one({"_id": victim.id}, {"$set": {"actor_username": "someone-else"}})
        edited = await run_verify(settings)
        assert edited.returncode == 1, edited.stdout + edited.stderr
        assert "audit log NOT intact" in edited.stdout and "审计日志已被改动" in edited.stdout
        assert f"seq {victim.seq}" in edited.stdout and ALTERED in edited.stdout

    async with restored_afterwards(head.seq):
        await collection().delete_one({"seq": head.seq})
        unseen = await run_verify(settings, "--anchors", str(no_anchors))
        assert unseen.returncode == 0, unseen.stdout  # no anchor: the cut cannot be seen
        assert "no anchor" in unseen.stdout
        cut = await run_verify(settings, "--anchors", str(no_anchors), "--expect-head", f"{head.seq}:{head.hash}")
        assert cut.returncode == 1 and f"seq {head.seq}" in cut.stdout and TRUNCATED in cut.stdout

    assert (await run_verify(settings)).returncode == 0  # repaired; the worker's anchors file agrees
    bad = await run_verify(settings, "--expect-head", "twelve")
    assert bad.returncode == 2 and "SEQ:HASH" in bad.stderr


# --------------------------------------------------------------------------- tenant reads


async def test_a_tenant_sees_the_records_that_concern_it_newest_first(app):
    tenant, other = a_tenant(), a_tenant()
    mine = await append(3, tenant_ids=[tenant, other], subject="official-1", review_id="R-1")
    await append(2, tenant_ids=[other])
    also_mine = await append(2, tenant_ids=[tenant])

    found = await audit_records_for_tenant(tenant, limit=10)
    assert [r.seq for r in found] == [r.seq for r in reversed(mine + also_mine)]
    page = await audit_records_for_tenant(tenant, limit=2, before_seq=also_mine[0].seq)
    assert [r.seq for r in page] == [mine[2].seq, mine[1].seq]
    assert await audit_records_for_tenant(a_tenant(), limit=10) == []
    view = found[-1].tenant_view()
    assert (view["subject"], view["review_id"], view["seq"]) == ("official-1", "R-1", mine[0].seq)
    assert other not in json.dumps(view) and "tenant_ids" not in view and "query" not in view
    with pytest.raises(ValueError):
        await audit_records_for_tenant("not-a-tenant", limit=10)
