"""Checking the chain: ``verify_chain`` over records in hand, ``verify_audit_log`` over the store.

Keyed records (``hmac-sha256/v2``) are checked with the chain key; a recomputed
chain (edited, then re-hashed with plain SHA-256 or with any other key) does not
give their hashes. What each problem means:
- ``altered``: a record's content no longer gives its hash (it was edited, or hashed
  with another key; every keyed record altered at once means the wrong key was given);
- ``downgraded``: an unkeyed ``sha256`` record after a keyed one (a chain switches to
  the keyed format once and never back: such a record was rewritten);
- ``missing``: numbers are skipped (records deleted);
- ``broken_link``: a record does not name the hash of the one before it (deleted and renumbered,
  replaced, or reordered);
- ``out_of_order``: a number again or going back (only possible in records handed in by hand:
  the store's unique index forbids it);
- ``truncated``: the chain ends before an anchor's seq (the newest records were cut off);
- ``anchor_mismatch``: the record at an anchor's seq is not the one that was anchored
  (the chain was rewritten from there on);
- ``bad_anchor``: a line of an anchors file that is not an anchor signed with this
  deployment's anchor key (edited, or written without the key);
- ``unchained``: a record without a seq: written before the chain existed, or around
  ``do_append_audit``; ``unreadable``: a stored record that is not an audit record any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING

from .anchors import TRUSTED, Anchor, BadAnchorLine
from .models import GENESIS_HASH, HASH_SHA256, AuditRecord, ChainHead, compute_record_hash

ALTERED = "altered"
DOWNGRADED = "downgraded"
BAD_ANCHOR = "bad_anchor"
MISSING = "missing"
BROKEN_LINK = "broken_link"
OUT_OF_ORDER = "out_of_order"
TRUNCATED = "truncated"
ANCHOR_MISMATCH = "anchor_mismatch"
UNCHAINED = "unchained"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Problem:
    seq: int | None  # where it was found (None: the record has no number)
    kind: str
    message: dict[str, str]  # {"zh", "en"}


@dataclass
class ChainReport:
    from_seq: int
    records_checked: int = 0
    head: ChainHead | None = None  # the last record read (what to anchor or write down)
    keyed_records: int = 0  # hmac-sha256/v2
    keyed_records_altered: int = 0
    legacy_records: int = 0  # sha256, from before the chain was keyed
    anchors_checked: int = 0  # signed or given by hand: what the chain is held to
    unsigned_anchors_checked: int = 0  # from the unsigned file of before: checked, not relied on
    newest_anchor_seq: int | None = None  # the highest trusted anchor checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def every_keyed_record_altered(self) -> bool:
        """Most likely the wrong key rather than every record rewritten."""
        return self.keyed_records > 0 and self.keyed_records_altered == self.keyed_records

    @property
    def intact(self) -> bool:
        return not self.problems


class ChainVerifier:
    """Checks records fed one by one in seq order, so a long log never has to sit in memory.

    ``from_seq`` > 1 checks only the stretch from there on: the first record's link
    cannot be checked then, only its hash and the anchors at or after it.
    ``chain_key`` is ``AuditKeys.chain``. Each of ``bad_anchor_lines`` is reported.
    """

    def __init__(self, anchors: Iterable[Anchor] = (), from_seq: int = 1, *, chain_key: bytes,
                 bad_anchor_lines: Iterable[BadAnchorLine] = ()):
        self.report = ChainReport(from_seq=from_seq)
        self._chain_key = chain_key
        self._expected_seq = from_seq
        self._prev_hash: str | None = GENESIS_HASH if from_seq == 1 else None
        self._seen_keyed = False
        # Only one anchor per (seq, hash) is kept: every append and the sweeper may anchor the same head.
        self._anchors: dict[int, dict[str, Anchor]] = {}
        for anchor in anchors:
            if anchor.seq < from_seq:
                continue
            if anchor.trust in TRUSTED:
                self.report.anchors_checked += 1
                self.report.newest_anchor_seq = max(self.report.newest_anchor_seq or 0, anchor.seq)
            else:
                self.report.unsigned_anchors_checked += 1
            self._anchors.setdefault(anchor.seq, {}).setdefault(anchor.hash, anchor)
        for line in bad_anchor_lines:
            self._problem(None, BAD_ANCHOR, line.message["zh"], line.message["en"])

    def _problem(self, seq: int | None, kind: str, zh: str, en: str) -> None:
        self.report.problems.append(Problem(seq, kind, {"zh": zh, "en": en}))

    def feed_stored(self, raw: dict[str, Any]) -> None:
        """A document as the store returned it."""
        try:
            record = AuditRecord.model_validate(raw)
        except ValidationError as exc:
            seq = raw.get("seq") if isinstance(raw.get("seq"), int) else None
            self._problem(seq, UNREADABLE, f"记录 {raw.get('_id')} 不再是有效的审计记录：{exc.error_count()} 处错误",
                          f"record {raw.get('_id')} is no longer a valid audit record: {exc.error_count()} error(s)")
            if seq is not None and seq >= self._expected_seq:  # keep following the chain past it
                self._expected_seq, self._prev_hash = seq + 1, raw.get("hash")
            return
        self.feed(record)

    def feed(self, record: AuditRecord) -> None:
        seq = record.seq
        if seq is None:
            self._problem(None, UNCHAINED, f"记录 {record.id} 不在哈希链中（无序号）",
                          f"record {record.id} is outside the hash chain (no seq)")
            return
        self.report.records_checked += 1
        if seq < self._expected_seq:
            self._problem(seq, OUT_OF_ORDER, f"序号 {seq} 重复或倒序（应为 {self._expected_seq}）",
                          f"seq {seq} repeats or goes back (expected {self._expected_seq})")
        elif seq > self._expected_seq:
            gap = f"{self._expected_seq}" if seq - 1 == self._expected_seq else f"{self._expected_seq}–{seq - 1}"
            self._problem(self._expected_seq, MISSING, f"缺少序号 {gap} 的记录（被删除）",
                          f"record(s) {gap} missing (deleted)")
        # After a gap the hash this record should name is gone with the missing record.
        elif self._prev_hash is not None and record.prev_hash != self._prev_hash:
            self._problem(seq, BROKEN_LINK, f"序号 {seq} 未指向前一条记录的哈希（前面的记录被删除、替换或调换）",
                          f"seq {seq} does not point to the previous record's hash (a record before it was deleted, replaced or moved)")
        if record.hash_alg == HASH_SHA256:
            self.report.legacy_records += 1
            if self._seen_keyed:
                self._problem(seq, DOWNGRADED, f"序号 {seq} 在带密钥的记录之后却使用旧的无密钥哈希（记录被改写）",
                              f"seq {seq} uses the old unkeyed hash after keyed records (the record was rewritten)")
        else:
            self.report.keyed_records += 1
            self._seen_keyed = True
        if compute_record_hash(record, self._chain_key) != record.hash:
            if record.hash_alg != HASH_SHA256:
                self.report.keyed_records_altered += 1
            self._problem(seq, ALTERED, f"序号 {seq} 的内容与其哈希不符（记录被改动，或以其他密钥重算）",
                          f"seq {seq}: content does not match its hash (record edited, or re-hashed without the key)")
        for anchor in self._anchors.pop(seq, {}).values():
            if anchor.hash != record.hash:
                self._problem(seq, ANCHOR_MISMATCH, f"序号 {seq} 与锚点（{anchor.source}）记录的哈希不同（自此处起被改写）",
                              f"seq {seq} differs from the anchor ({anchor.source}): the chain was rewritten from here")
        if seq >= self._expected_seq:
            self._expected_seq, self._prev_hash = seq + 1, record.hash
            self.report.head = ChainHead(seq, record.hash)

    def finish(self) -> ChainReport:
        last_seq = self._expected_seq - 1
        beyond = [anchor for seq, anchors in self._anchors.items() if seq > last_seq for anchor in anchors.values()]
        if beyond:
            furthest = max(beyond, key=lambda anchor: anchor.seq)
            self._problem(last_seq + 1, TRUNCATED,
                          f"日志止于序号 {last_seq}，但锚点（{furthest.source}）记有序号 {furthest.seq}：末尾的记录被删除",
                          f"the log ends at seq {last_seq} but the anchor ({furthest.source}) has seq {furthest.seq}: the newest records were cut off")
        # Anchors at numbers the chain skipped were reported as missing records already.
        self._anchors.clear()
        return self.report


def verify_chain(records: Iterable[AuditRecord], anchors: Iterable[Anchor] = (), from_seq: int = 1, *,
                 chain_key: bytes) -> list[Problem]:
    """Every problem of ``records`` (in seq order, as the store lists them) against ``anchors``."""
    verifier = ChainVerifier(anchors, from_seq, chain_key=chain_key)
    for record in records:
        verifier.feed(record)
    return verifier.finish().problems


async def verify_audit_log(anchors: Iterable[Anchor] = (), from_seq: int = 1, *, chain_key: bytes,
                           bad_anchor_lines: Iterable[BadAnchorLine] = ()) -> ChainReport:
    """Read the stored chain in seq order (from ``from_seq``) and check it against ``anchors``.

    Without an anchor a cut-off tail cannot be seen: the records left still form a valid chain.
    """
    verifier = ChainVerifier(anchors, from_seq, chain_key=chain_key, bad_anchor_lines=bad_anchor_lines)
    collection = AuditRecord.get_pymongo_collection()
    async for raw in collection.find({"seq": {"$exists": True, "$gte": from_seq}}, sort=[("seq", ASCENDING)]):
        verifier.feed_stored(raw)
    if from_seq == 1:
        async for raw in collection.find({"seq": {"$exists": False}}):
            verifier.feed_stored(raw)
    return verifier.finish()
