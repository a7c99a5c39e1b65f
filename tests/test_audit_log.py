"""The keyed hash-chained audit log: gapless numbers under concurrent writers, tampering found even when
the chain is recomputed, signed anchors written at every append, the CLI verifier.

Everything runs against the session's real store. The log is shared with every
other test of the session (superuser reads append to it too), so every check
verifies the whole chain, and every test that tampers with stored records puts
the original documents back in a ``finally`` block. The session's anchors
(``DATA_DIR/audit/anchors/``) are only ever appended to by the platform; tests
that forge anchors do it in copies under ``tmp_path``. Most kinds of tampering
are also shown on records read from the store and changed in memory only
(``verify_chain`` is a pure function).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId
from pydantic import ValidationError

from xinfang.audit import service as audit_service
from xinfang.audit.anchors import (
    GIVEN,
    LOG_PREFIX,
    SIGNED,
    UNSIGNED,
    Anchor,
    AnchorError,
    AnchorLog,
    anchor_files,
    anchors_dir,
    legacy_anchors_path,
    newest_anchor,
    parse_expected_head,
    read_anchors,
)
from xinfang.audit.context import audit_context
from xinfang.audit.keys import AuditKeys
from xinfang.audit.models import (
    CHAINED_FIELDS,
    CHAINED_FIELDS_V1,
    GENESIS_HASH,
    HASH_HMAC_V2,
    HASH_SHA256,
    IN_CHAIN,
    UNCHAINED_FIELDS,
    AuditRecord,
    ChainKeyMissing,
    canonical_json,
    chained_content,
    compute_record_hash,
    truncate_to_millis,
)
from xinfang.audit.service import (
    AuditLogUnavailable,
    ChainHead,
    audit_records_for_tenant,
    do_append_audit,
    read_head,
)
from xinfang.audit.sweep import anchor_head
from xinfang.audit.verify import (
    ALTERED,
    ANCHOR_MISMATCH,
    BAD_ANCHOR,
    BROKEN_LINK,
    DOWNGRADED,
    MISSING,
    OUT_OF_ORDER,
    TRUNCATED,
    UNCHAINED,
    UNREADABLE,
    ChainVerifier,
    verify_audit_log,
    verify_chain,
)
from xinfang.store.documents import utcnow
from tests.conftest import REPO_ROOT, child_env, eventually

ACTOR = str(ObjectId())
AUDIT_PACKAGE = REPO_ROOT / "platform" / "xinfang" / "audit"
WRONG_KEYS = AuditKeys.from_platform_key(b"\x07" * 32)  # a deployment that is not this one


@pytest.fixture(scope="session")
def keys(settings) -> AuditKeys:
    """This deployment's audit keys, derived from its platform key (never stored with the records)."""
    return AuditKeys.from_settings(settings)


def session_anchors(settings, keys) -> list[Anchor]:
    anchors = []
    for path in anchor_files(anchors_dir(settings.data_dir)):
        found, bad = read_anchors(path, keys.anchors)
        assert bad == [], f"the platform wrote a bad anchor line: {bad}"
        anchors += found
    return anchors


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


# --------------------------------------------------------------------------- canonical form and keys


def test_every_field_is_chained_or_deliberately_left_out():
    """A field added to AuditRecord must be covered by the hash or listed as deliberately not."""
    assert set(AuditRecord.model_fields) == set(CHAINED_FIELDS) | set(UNCHAINED_FIELDS)
    assert not set(CHAINED_FIELDS) & set(UNCHAINED_FIELDS)
    # The keyed format covers what the old one did, plus its own name (so it cannot be relabelled).
    assert set(CHAINED_FIELDS) - set(CHAINED_FIELDS_V1) == {"hash_alg"}


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


def test_the_keys_are_derived_apart_and_never_printed():
    platform_key = bytes(range(32))
    keys = AuditKeys.from_platform_key(platform_key)
    assert len(keys.chain) == len(keys.anchors) == 32
    assert len({keys.chain, keys.anchors, platform_key}) == 3  # one secret, not used for two purposes
    assert keys == AuditKeys.from_platform_key(platform_key) and keys != WRONG_KEYS
    assert keys.chain.hex() not in repr(keys) and "hidden" in repr(keys)


async def test_a_keyed_record_cannot_be_hashed_without_the_key(app):  # a Beanie document needs the store bound
    record = AuditRecord(seq=1, prev_hash=GENESIS_HASH, hash="", hash_alg=HASH_HMAC_V2, actor_id=ACTOR,
                         actor_username="k", action="test.key", purpose="钥匙 key", created_at=truncate_to_millis(utcnow()))
    with pytest.raises(ChainKeyMissing):
        compute_record_hash(record, None)
    keyed = compute_record_hash(record, b"k" * 32)
    assert keyed != compute_record_hash(record, b"j" * 32)
    assert keyed != hashlib.sha256(canonical_json(chained_content(record))).hexdigest()


# --------------------------------------------------------------------------- appending


async def test_appended_records_form_a_chain_that_reads_back_identically(app, keys):
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
        assert loaded.hash_alg == HASH_HMAC_V2
        assert compute_record_hash(loaded, keys.chain) == written.hash == loaded.hash
        raw = await collection().find_one({"_id": written.id})
        assert raw["hash_alg"] == HASH_HMAC_V2
        assert compute_record_hash(AuditRecord.model_validate(raw), keys.chain) == written.hash
        assert compute_record_hash(loaded, WRONG_KEYS.chain) != written.hash
        assert loaded.tenant_ids == [tenant] and loaded.query["since"] == "2026-11-03T08:15:30.123456Z"

    report = await verify_audit_log(chain_key=keys.chain)
    assert report.intact, kinds(report.problems)
    assert report.head == ChainHead(records[-1].seq, records[-1].hash)
    assert report.records_checked == records[-1].seq == report.keyed_records


async def test_a_record_that_cannot_be_stored_raises_and_leaves_no_trace(app):
    head_before = await read_head()
    with pytest.raises(OverflowError):  # BSON has no integers this large
        await append(query={"huge": 2**70})
    with pytest.raises(ValidationError):
        await append(actor_id="not-an-id")
    assert await read_head() == head_before


async def test_a_process_without_the_keys_refuses_to_append(app, monkeypatch):
    from xinfang.audit import context

    head_before = await read_head()
    monkeypatch.setattr(context, "_settings", None)
    monkeypatch.setattr(context, "_context", None)
    with pytest.raises(AuditLogUnavailable):
        await append()
    assert await read_head() == head_before


async def test_concurrent_appends_from_three_processes_are_gapless(app, settings, keys):
    """20 appends at once in this process, and 10 each from two other processes with their own clients;
    every record is anchored by its writer, all three writing this host's anchors file at once."""
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
    anchored = {(a.seq, a.hash) for a in session_anchors(settings, keys)}  # no line torn or interleaved
    assert {(r.seq, r.hash) for r in new} <= anchored
    report = await verify_audit_log(session_anchors(settings, keys), chain_key=keys.chain)
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


async def test_a_superuser_read_is_appended_to_the_chain(app, client, superuser, keys):
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
    assert (await verify_audit_log(chain_key=keys.chain)).intact


# --------------------------------------------------------------------------- tampering, in memory


@pytest.fixture
async def chain(app, keys) -> list[AuditRecord]:
    await append(6)
    records = await stored_chain()
    assert not verify_chain(records, chain_key=keys.chain)
    return records


def changed(record: AuditRecord, **fields) -> AuditRecord:
    return record.model_copy(update=fields)


def plain_sha256(record: AuditRecord) -> None:
    """A forger without the key: SHA-256 over the same canonical content, the format label kept."""
    record.hash = hashlib.sha256(canonical_json(chained_content(record))).hexdigest()


def as_unkeyed(record: AuditRecord) -> None:
    """A forger without the key who relabels the record as one of the old, unkeyed format."""
    record.hash_alg = HASH_SHA256
    record.hash = compute_record_hash(record, None)


def keyed_with(chain_key: bytes):
    def rehash(record: AuditRecord) -> None:
        record.hash = compute_record_hash(record, chain_key)
    return rehash


def forged(records: list[AuditRecord], start: int, rehash) -> list[AuditRecord]:
    """What a forger with store access does: edit ``records[start]``, then re-hash (``rehash``) and re-link it
    and every record after it, so every link checks out."""
    result = list(records[:start])
    for record in records[start:]:
        copy = changed(record, prev_hash=result[-1].hash if result else record.prev_hash)
        if record is records[start]:
            copy.purpose = "看一看 just looking"
        rehash(copy)
        result.append(copy)
    return result


async def test_an_edited_record_is_found_at_its_seq(chain, keys):
    victim = chain[-4]
    edited = [changed(r, purpose="看一看 just looking") if r is victim else r for r in chain]
    assert kinds(verify_chain(edited, chain_key=keys.chain)) == [(victim.seq, ALTERED)]

    # Re-hashing the edited record with the key (an insider) moves the break to the next link.
    rehashed = changed(victim, purpose="看一看 just looking")
    rehashed.hash = compute_record_hash(rehashed, keys.chain)
    assert kinds(verify_chain([rehashed if r is victim else r for r in chain], chain_key=keys.chain)) == [(victim.seq + 1, BROKEN_LINK)]


async def test_a_recomputed_chain_fails_without_the_key(chain, keys):
    """An edit re-hashed and re-linked to the end, as anyone with store access can: with plain SHA-256,
    relabelled as unkeyed records, or under another key. Every forged record is found."""
    start = len(chain) - 4
    forged_seqs = [r.seq for r in chain[start:]]
    assert kinds(verify_chain(forged(chain, start, plain_sha256), chain_key=keys.chain)) == [(s, ALTERED) for s in forged_seqs]
    assert kinds(verify_chain(forged(chain, start, keyed_with(WRONG_KEYS.chain)), chain_key=keys.chain)) == [
        (s, ALTERED) for s in forged_seqs]
    assert kinds(verify_chain(forged(chain, start, as_unkeyed), chain_key=keys.chain)) == [(s, DOWNGRADED) for s in forged_seqs]

    # The whole chain rewritten as unkeyed records from seq 1 is self-consistent; the signed anchors are not fooled.
    everything = forged(chain, 0, as_unkeyed)
    assert verify_chain(everything, chain_key=keys.chain) == []
    anchors = [Anchor(r.seq, r.hash) for r in chain[-3:]]  # as every append wrote them
    assert kinds(verify_chain(everything, anchors, chain_key=keys.chain)) == [(r.seq, ANCHOR_MISMATCH) for r in chain[-3:]]

    # And the chain read with the wrong key: every keyed record fails, and the report says why most likely.
    verifier = ChainVerifier(chain_key=WRONG_KEYS.chain)
    for record in chain:
        verifier.feed(record)
    report = verifier.finish()
    assert len(report.problems) == report.keyed_records == len(chain) and report.every_keyed_record_altered


async def test_unkeyed_records_continue_keyed_once_and_never_go_back(app, keys):
    """The chain of a deployment from before the key: sha256 records, then keyed ones. Switching forward
    verifies; a sha256 record after a keyed one does not; the old records are held by the keyed ones after them."""
    moment = truncate_to_millis(utcnow())
    records, prev = [], GENESIS_HASH
    for seq, alg in enumerate([HASH_SHA256] * 3 + [HASH_HMAC_V2] * 3, start=1):
        record = AuditRecord(id=ObjectId(), seq=seq, prev_hash=prev, hash="", hash_alg=alg, actor_id=ACTOR,
                             actor_username="migrating", action="test.migrate", purpose=f"迁移 migration {seq}", created_at=moment)
        record.hash = compute_record_hash(record, keys.chain)
        records.append(record)
        prev = record.hash
    verifier = ChainVerifier(chain_key=keys.chain)
    for record in records:
        verifier.feed(record)
    report = verifier.finish()
    assert report.intact and (report.legacy_records, report.keyed_records) == (3, 3)

    back_to_sha256 = forged(records, 4, as_unkeyed)  # v2, v2, then v1 again
    assert kinds(verify_chain(back_to_sha256, chain_key=keys.chain)) == [(5, DOWNGRADED), (6, DOWNGRADED)]
    old_rewritten = forged(records[:3], 1, as_unkeyed) + records[3:]  # the unkeyed prefix recomputed by anyone
    assert kinds(verify_chain(old_rewritten, chain_key=keys.chain)) == [(4, BROKEN_LINK)]


async def test_a_deleted_record_is_found(chain, keys):
    victim = chain[-3]
    assert kinds(verify_chain([r for r in chain if r is not victim], chain_key=keys.chain)) == [(victim.seq, MISSING)]

    # Deleted, and the later records renumbered to close the gap: their hashes and links give it away.
    renumbered = chain[:-3] + [changed(r, seq=r.seq - 1) for r in chain[-2:]]
    problems = kinds(verify_chain(renumbered, chain_key=keys.chain))
    assert (victim.seq, BROKEN_LINK) in problems and (victim.seq, ALTERED) in problems


async def test_swapped_or_reordered_records_are_found(chain, keys):
    first, second = chain[-4], chain[-3]
    swapped = chain[:-4] + [changed(second, seq=first.seq), changed(first, seq=second.seq)] + chain[-2:]
    problems = kinds(verify_chain(swapped, chain_key=keys.chain))
    assert {(first.seq, ALTERED), (first.seq, BROKEN_LINK), (second.seq, ALTERED), (second.seq, BROKEN_LINK)} <= set(problems)

    # Out of order without renumbering (as a careless export would list them).
    reordered = chain[:-4] + [second, first] + chain[-2:]
    assert (first.seq, OUT_OF_ORDER) in kinds(verify_chain(reordered, chain_key=keys.chain))


async def test_a_cut_off_tail_is_found_only_against_an_anchor(chain, keys):
    head = chain[-1]
    cut = chain[:-2]
    assert verify_chain(cut, chain_key=keys.chain) == []  # what is left is a perfectly valid chain
    anchor = Anchor(head.seq, head.hash)
    assert kinds(verify_chain(cut, [anchor], chain_key=keys.chain)) == [(head.seq - 1, TRUNCATED)]
    assert verify_chain(chain, [anchor], chain_key=keys.chain) == []


async def test_a_tail_rewritten_with_the_key_is_found_only_against_an_anchor(chain, keys):
    """Someone holding the key (an insider) can recompute a valid chain; the anchors written at each append cannot be."""
    anchor = Anchor(chain[-1].seq, chain[-1].hash)
    rewritten = forged(chain, len(chain) - 3, keyed_with(keys.chain))
    assert verify_chain(rewritten, chain_key=keys.chain) == []
    assert kinds(verify_chain(rewritten, [anchor], chain_key=keys.chain)) == [(anchor.seq, ANCHOR_MISMATCH)]


async def test_records_outside_the_chain_are_reported(chain, keys):
    smuggled = changed(chain[-1], id=ObjectId(), seq=None, prev_hash=None, hash=None)
    assert kinds(verify_chain(chain + [smuggled], chain_key=keys.chain)) == [(None, UNCHAINED)]
    verifier = ChainVerifier(chain_key=keys.chain)
    for record in chain:
        verifier.feed(record)
    verifier.feed_stored({"_id": ObjectId(), "seq": chain[-1].seq + 1, "actor_id": "not an id"})
    assert kinds(verifier.finish().problems) == [(chain[-1].seq + 1, UNREADABLE)]


# --------------------------------------------------------------------------- tampering, in the store


async def test_tampering_in_the_store_is_found_and_repair_verifies_again(app, keys):
    records = await append(6)
    edited, deleted, swap_a, swap_b = records[1], records[2], records[3], records[4]

    async with restored_afterwards(edited.seq):
        await collection().update_one({"_id": edited.id}, {"$set": {"purpose": "随便看看 idle curiosity"}})
        assert kinds((await verify_audit_log(chain_key=keys.chain)).problems) == [(edited.seq, ALTERED)]
    assert (await verify_audit_log(chain_key=keys.chain)).intact

    async with restored_afterwards(deleted.seq):
        await collection().delete_one({"_id": deleted.id})
        assert kinds((await verify_audit_log(chain_key=keys.chain)).problems) == [(deleted.seq, MISSING)]
    assert (await verify_audit_log(chain_key=keys.chain)).intact

    async with restored_afterwards(swap_a.seq, swap_b.seq):
        # Through a free number, as the unique index wants it.
        await collection().update_one({"_id": swap_a.id}, {"$set": {"seq": -swap_a.seq}})
        await collection().update_one({"_id": swap_b.id}, {"$set": {"seq": swap_a.seq}})
        await collection().update_one({"_id": swap_a.id}, {"$set": {"seq": swap_b.seq}})
        problems = set(kinds((await verify_audit_log(chain_key=keys.chain)).problems))
        assert {(swap_a.seq, BROKEN_LINK), (swap_a.seq, ALTERED), (swap_b.seq, ALTERED)} <= problems
    assert (await verify_audit_log(chain_key=keys.chain)).intact


async def store_forgery(records: list[AuditRecord], rehash) -> None:
    """Rewrite ``records`` in the store the way ``forged`` does in memory (the first one edited)."""
    for record in forged(records, 0, rehash):
        await collection().update_one({"_id": record.id}, {"$set": {
            "purpose": record.purpose, "prev_hash": record.prev_hash, "hash": record.hash, "hash_alg": record.hash_alg}})


async def test_records_after_the_newest_anchor_rewritten_in_the_store_are_found(app, settings, keys, monkeypatch):
    """Records no anchor covers yet (their anchors could not be written), edited and the chain recomputed
    without the key: found by the key alone."""
    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_context().anchor_log, "append", disk_full)
    await append(1)
    records = await append(3)
    monkeypatch.undo()
    anchors = [a for a in session_anchors(settings, keys) if a.seq < records[0].seq]  # before the beat catches up
    seqs = [r.seq for r in records]
    for rehash in (plain_sha256, keyed_with(WRONG_KEYS.chain)):
        async with restored_afterwards(*seqs):
            await store_forgery(records, rehash)
            report = await verify_audit_log(anchors, chain_key=keys.chain)
            assert report.newest_anchor_seq < records[0].seq
            assert kinds(report.problems) == [(s, ALTERED) for s in seqs]
    async with restored_afterwards(*seqs):
        await store_forgery(records, as_unkeyed)
        assert kinds((await verify_audit_log(anchors, chain_key=keys.chain)).problems) == [(s, DOWNGRADED) for s in seqs]
    assert (await verify_audit_log(session_anchors(settings, keys), chain_key=keys.chain)).intact


async def test_deleting_the_newest_records_is_found_with_the_anchors_written_at_each_append(app, settings, keys):
    await append(3)
    head = await read_head()
    async with restored_afterwards(head.seq - 1, head.seq):
        await collection().delete_many({"seq": {"$gte": head.seq - 1}})
        assert (await verify_audit_log(chain_key=keys.chain)).intact  # not detectable from the records alone
        report = await verify_audit_log(session_anchors(settings, keys), chain_key=keys.chain)
        assert kinds(report.problems) == [(head.seq - 1, TRUNCATED)]
    assert (await verify_audit_log(session_anchors(settings, keys), chain_key=keys.chain)).intact


# --------------------------------------------------------------------------- anchors


async def test_every_append_is_anchored_at_once_signed_and_logged(app, settings, keys, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="xinfang.audit.anchors")
    before = time.monotonic()
    [record] = await append()
    took = time.monotonic() - before
    # Once do_append_audit has returned, the anchor is in this host's file: no waiting.
    newest = newest_anchor(anchors_dir(settings.data_dir), keys.anchors)
    assert (newest.seq, newest.hash, newest.trust) == (record.seq, record.hash, SIGNED), f"append took {took:.3f}s"
    path = AnchorLog(anchors_dir(settings.data_dir), keys.anchors).path
    assert path.stat().st_mode & 0o077 == 0  # readable by the platform's user only
    line = json.loads(path.read_text().splitlines()[-1])
    assert set(line) == {"seq", "hash", "at", "mac"} and line["seq"] == record.seq

    # The same line in the log stream: taken from there, it is a valid anchors file.
    logged = [r.getMessage()[len(LOG_PREFIX):] for r in caplog.records if r.getMessage().startswith(LOG_PREFIX)]
    assert logged and json.loads(logged[-1]) == line
    from_log = tmp_path / "anchors-from-log.jsonl"
    from_log.write_text("\n".join(logged) + "\n")
    anchors, bad = read_anchors(from_log, keys.anchors)
    assert bad == [] and (anchors[-1].seq, anchors[-1].hash, anchors[-1].trust) == (record.seq, record.hash, SIGNED)


async def test_an_edited_anchors_file_is_reported(app, settings, keys, tmp_path):
    records = await append(3)
    # Each record its writer anchored; the beat's sweeper may anchor a head it read a moment earlier in between (a
    # line for 162 after 163's), so the lines are picked by seq, not taken as the file's last three.
    written = [json.loads(line) for line in AnchorLog(anchors_dir(settings.data_dir), keys.anchors).path.read_text().splitlines()]
    by_seq = {line["seq"]: line for line in written if line["hash"] in {r.hash for r in records}}
    assert sorted(by_seq) == [r.seq for r in records]
    lines = [by_seq[r.seq] for r in records]
    copy = tmp_path / "anchors.jsonl"

    def write(*entries):
        copy.write_text("".join(e if isinstance(e, str) else json.dumps(e) + "\n" for e in entries))
        return read_anchors(copy, keys.anchors)

    anchors, bad = write(*lines)
    assert bad == [] and [a.seq for a in anchors] == [r.seq for r in records]
    report = await verify_audit_log(anchors, chain_key=keys.chain)
    assert report.intact and report.anchors_checked == 3

    elsewhere = AnchorLog(tmp_path / "elsewhere", WRONG_KEYS.anchors)
    elsewhere.append(records[0].seq, records[0].hash, lines[0]["at"])
    edits = {
        "hash pointed elsewhere": dict(lines[2], hash=records[1].hash),
        "seq lowered (to hide a cut)": dict(lines[2], seq=records[1].seq),
        "signature removed": {k: v for k, v in lines[2].items() if k != "mac"},
        "signed with another key": json.loads(elsewhere.path.read_text()),
        "torn line": json.dumps(lines[2])[:40] + "\n",
    }
    for what, edited in edits.items():
        anchors, bad = write(lines[0], lines[1], edited)
        assert len(bad) == 1 and len(anchors) == 2, what
        assert bad[0].source == "anchors.jsonl:3" and "anchors.jsonl:3" in bad[0].message["en"], what
        report = await verify_audit_log(anchors, chain_key=keys.chain, bad_anchor_lines=bad)
        assert kinds(report.problems) == [(None, BAD_ANCHOR)], what


async def test_the_sweeper_step_anchors_the_head_and_refuses_a_bad_tail(app, keys, tmp_path):
    await append(2)
    head = await read_head()
    first = await anchor_head(tmp_path, keys)
    assert (first.seq, first.hash) == (head.seq, head.hash)
    assert await anchor_head(tmp_path, keys) is None  # nothing new: nothing written

    async with restored_afterwards(head.seq):
        await collection().delete_one({"seq": head.seq})
        assert await anchor_head(tmp_path, keys) is None  # the chain is shorter than the last anchor

    later = await append(2)
    async with restored_afterwards(later[0].seq):
        await collection().update_one({"seq": later[0].seq}, {"$set": {"purpose": "改过 edited"}})
        assert await anchor_head(tmp_path, keys) is None  # an edited record since the last anchor: not blessed
    assert await anchor_head(tmp_path, WRONG_KEYS) is None  # under another key nothing verifies: nothing anchored
    second = await anchor_head(tmp_path, keys)
    assert (second.seq, second.hash) == (later[-1].seq, later[-1].hash)
    [path] = anchor_files(anchors_dir(tmp_path))
    anchors, bad = read_anchors(path, keys.anchors)
    assert [(a.seq, a.hash) for a in anchors] == [(first.seq, first.hash), (second.seq, second.hash)] and bad == []
    assert (await verify_audit_log(anchors, chain_key=keys.chain)).intact


async def test_the_beat_sweeper_anchors_a_head_whose_append_could_not(app, settings, keys, worker, monkeypatch):
    """An append whose anchor write failed (a full disk, say) is anchored by the beat within seconds."""
    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_context().anchor_log, "append", disk_full)
    [record] = await append()
    appended_at = time.monotonic()
    monkeypatch.undo()
    directory = anchors_dir(settings.data_dir)

    async def anchored():
        newest = newest_anchor(directory, keys.anchors)
        return newest is not None and newest.seq >= record.seq

    await eventually(anchored, timeout=15, interval=0.05, message=f"the worker's beat to anchor seq {record.seq} in {directory}")
    waited = time.monotonic() - appended_at
    print(f"the beat anchored seq {record.seq} {waited:.2f}s after its append")
    assert waited < 10, f"anchored after {waited:.1f}s"  # the tests' beat sweeps every second
    assert (record.seq, record.hash) in {(a.seq, a.hash) for a in session_anchors(settings, keys)}
    assert (await verify_audit_log(session_anchors(settings, keys), chain_key=keys.chain)).intact


def test_anchor_text_is_checked(tmp_path):
    digest = "ab" * 32
    assert parse_expected_head(f"12:{digest.upper()}") == Anchor(12, digest, source="--expect-head", trust=GIVEN)
    for bad in ("12", "x:" + digest, "0:" + digest, "12:abc", f"-1:{digest}"):
        with pytest.raises(AnchorError):
            parse_expected_head(bad)
    # The unsigned file of before the chain was keyed: read as unsigned where allowed, refused elsewhere.
    path = tmp_path / "anchors.jsonl"
    path.write_text(json.dumps({"seq": 3, "hash": digest, "at": "2026-11-27T00:00:00.000000Z"}) + "\n{\"seq\": 4, \"ha\n")
    anchors, bad = read_anchors(path, WRONG_KEYS.anchors, allow_unsigned=True)
    assert [(a.seq, a.trust) for a in anchors] == [(3, UNSIGNED)] and [b.source for b in bad] == ["anchors.jsonl:2"]
    anchors, bad = read_anchors(path, WRONG_KEYS.anchors)
    assert anchors == [] and [b.source for b in bad] == ["anchors.jsonl:1", "anchors.jsonl:2"]


def test_the_audit_modules_import_no_cycle():
    """The team guide's known circle (anchors <-> verify) stays untied: no cycle among audit's modules,
    imports inside functions included."""
    names = {path.stem for path in AUDIT_PACKAGE.glob("*.py")}
    graph = {}
    for path in AUDIT_PACKAGE.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xinfang.audit."):
                imported.add(node.module.split(".")[2])
        graph[path.stem] = imported & names - {path.stem}
    assert graph["verify"] and graph["anchors"] == {"models"}  # the scan sees imports at all

    def cycle_from(name, path):
        if name in path:
            return path[path.index(name):] + [name]
        for following in sorted(graph[name]):
            if found := cycle_from(following, path + [name]):
                return found
        return None

    cycles = [found for name in sorted(graph) if (found := cycle_from(name, []))]
    assert cycles == [], f"import cycle(s) in xinfang.audit: {cycles}"


# --------------------------------------------------------------------------- the command


async def run_verify(settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "xinfang", "audit", "verify", *args],
        env=env or child_env(settings), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )


async def test_the_verify_command(app, settings, keys, tmp_path):
    records = await append(4)
    head = await read_head()
    nothing = tmp_path / "no-anchors"
    nothing.mkdir()

    intact = await run_verify(settings)  # the anchors every append wrote, in DATA_DIR/audit/anchors/
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "审计日志完整" in intact.stdout and "audit log intact" in intact.stdout
    assert f"{head.seq}:{head.hash}" in intact.stdout
    by_hand = await run_verify(settings, "--anchors", str(nothing), "--expect-head", f"{head.seq}:{head.hash}")
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr

    # No anchor at all: not a pass, and the message says how to give one.
    unanchored = await run_verify(settings, "--anchors", str(nothing))
    assert unanchored.returncode == 1, unanchored.stdout
    assert "没有可核对的锚点" in unanchored.stdout and "no anchor to check against" in unanchored.stdout
    assert "--anchors PATH" in unanchored.stdout and "--expect-head SEQ:HASH" in unanchored.stdout

    victim = records[1]
    async with restored_afterwards(victim.seq):
        await collection().update_one({"_id": victim.id}, {"$set": {"actor_username": "someone-else"}})
        edited = await run_verify(settings)
        assert edited.returncode == 1, edited.stdout + edited.stderr
        assert "audit log NOT intact" in edited.stdout and "审计日志已被改动" in edited.stdout
        assert f"seq {victim.seq}" in edited.stdout and ALTERED in edited.stdout

    seqs = [r.seq for r in records[1:]]
    async with restored_afterwards(*seqs):
        await store_forgery(records[1:], plain_sha256)  # edited and recomputed to the end, without the key
        recomputed = await run_verify(settings)
        assert recomputed.returncode == 1, recomputed.stdout
        assert all(f"seq {seq}" in recomputed.stdout for seq in seqs) and ALTERED in recomputed.stdout

    async with restored_afterwards(head.seq):
        await collection().delete_one({"seq": head.seq})
        cut = await run_verify(settings)  # the default anchors see the cut
        assert cut.returncode == 1 and f"seq {head.seq}" in cut.stdout and TRUNCATED in cut.stdout

    # This host's anchors file with one line edited (its hash pointed at another record): refused.
    lines = AnchorLog(anchors_dir(settings.data_dir), keys.anchors).path.read_text().splitlines()
    last = json.loads(lines[-1])
    edited_file = tmp_path / "edited.jsonl"
    edited_file.write_text("\n".join(lines[:-1] + [json.dumps(dict(last, hash=records[0].hash))]) + "\n")
    forged_anchor = await run_verify(settings, "--anchors", str(edited_file))
    assert forged_anchor.returncode == 1 and BAD_ANCHOR in forged_anchor.stdout and "edited.jsonl:" in forged_anchor.stdout

    # The whole log read with another deployment's key: nothing verifies, and the likely reason is given.
    other_key = child_env(settings) | {"XINFANG_ENCRYPTION_KEY": "Bw" * 21 + "4="}
    wrong = await run_verify(settings, env=other_key)
    assert wrong.returncode == 1 and BAD_ANCHOR in wrong.stdout and "XINFANG_ENCRYPTION_KEY" in wrong.stdout

    assert (await run_verify(settings)).returncode == 0  # repaired; the anchors agree
    bad = await run_verify(settings, "--expect-head", "twelve")
    assert bad.returncode == 2 and "SEQ:HASH" in bad.stderr
    missing = await run_verify(settings, "--anchors", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no anchors file" in missing.stderr


async def test_a_deployment_from_before_the_key_migrates_and_verifies(settings, tmp_path):
    """A separate deployment (own database, own data directory and key) whose log began unkeyed, with the
    sweeper's unsigned anchors file of then: the platform continues it keyed, it verifies; a keyed record
    turned back into an unkeyed one does not."""
    old = dataclasses.replace(settings, data_dir=tmp_path / "data", mongodb_database=settings.mongodb_database + "_old")
    script = textwrap.dedent(f"""
        import asyncio
        from bson import ObjectId
        from xinfang.audit.models import GENESIS_HASH, AuditRecord, compute_record_hash, format_moment, truncate_to_millis
        from xinfang.audit.service import do_append_audit
        from xinfang.settings import Settings
        from xinfang.store.client import Store
        from xinfang.store.documents import utcnow

        async def main():
            store = await Store.open(Settings.from_env(), [AuditRecord])
            prev = GENESIS_HASH
            for seq in (1, 2, 3):  # as the chain was written before it was keyed: plain SHA-256, no hash_alg
                record = AuditRecord(id=ObjectId(), seq=seq, prev_hash=prev, hash="", created_at=truncate_to_millis(utcnow()),
                                     actor_id="{ACTOR}", actor_username="before", action="test.v1", purpose="旧格式 old format")
                record.hash = compute_record_hash(record, None)
                await record.insert()
                prev = record.hash
            await AuditRecord.get_pymongo_collection().update_many({{}}, {{"$unset": {{"hash_alg": ""}}}})
            print(f'{{{{"seq": 3, "hash": "{{prev}}", "at": "{{format_moment(utcnow())}}"}}}}')  # the old sweeper's line
            for _ in range(3):
                await do_append_audit(actor_id="{ACTOR}", actor_username="after", action="test.v2", purpose="新格式 keyed")
            await store.close()

        asyncio.run(main())
    """)
    env = child_env(old)
    made = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], env=env, cwd=REPO_ROOT,
                                   capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    legacy_anchors_path(old.data_dir).write_text(made.stdout)
    old_records = collection().database.client[old.mongodb_database]["audit_records"]
    try:
        stored = await old_records.find({}, sort=[("seq", 1)]).to_list()
        assert [d.get("hash_alg") for d in stored] == [None] * 3 + [HASH_HMAC_V2] * 3
        assert stored[3]["prev_hash"] == stored[2]["hash"]  # the first keyed record holds the old ones in place

        migrated = await run_verify(old, env=env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "XINFANG_ENCRYPTION_KEY" not in migrated.stdout
        assert "3 unkeyed record(s)" in migrated.stdout and "1 个未签名锚点 / unsigned" in migrated.stdout
        assert "3 个锚点 / anchors checked" in migrated.stdout  # one signed anchor per keyed append

        newest = AuditRecord.model_validate(stored[-1])
        as_unkeyed(newest)
        await old_records.update_one({"_id": newest.id}, {"$set": {"hash": newest.hash}, "$unset": {"hash_alg": ""}})
        downgraded = await run_verify(old, env=env)
        assert downgraded.returncode == 1 and f"seq {newest.seq}" in downgraded.stdout and DOWNGRADED in downgraded.stdout
        assert "XINFANG_ENCRYPTION_KEY" not in downgraded.stdout  # one record rewritten, not the wrong key
    finally:
        await collection().database.client.drop_database(old.mongodb_database)


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
