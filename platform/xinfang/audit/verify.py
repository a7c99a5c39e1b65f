"""Checking the chain: ``verify_chain`` over records in hand, ``verify_audit_log`` over the store.

What each problem means:
- ``altered``: a record's content no longer gives its hash (it was edited);
- ``missing``: numbers are skipped (records deleted);
- ``broken_link``: a record does not name the hash of the one before it (deleted and renumbered,
  replaced, or reordered);
- ``out_of_order``: a number again or going back (only possible in records handed in by hand:
  the store's unique index forbids it);
- ``truncated``: the chain ends before an anchor's seq (the newest records were cut off);
- ``anchor_mismatch``: the record at an anchor's seq is not the one that was anchored
  (the chain was rewritten from there on);
- ``unchained``: a record without a seq: written before the chain existed, or around
  ``do_append_audit``; ``unreadable``: a stored record that is not an audit record any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING

from .anchors import Anchor
from .models import GENESIS_HASH, AuditRecord, compute_record_hash
from .service import ChainHead

ALTERED = "altered"
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
    anchors_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


class ChainVerifier:
    """Checks records fed one by one in seq order, so a long log never has to sit in memory.

    ``from_seq`` > 1 checks only the stretch from there on: the first record's link
    cannot be checked then, only its hash and the anchors at or after it.
    """

    def __init__(self, anchors: Iterable[Anchor] = (), from_seq: int = 1):
        self.report = ChainReport(from_seq=from_seq)
        self._expected_seq = from_seq
        self._prev_hash: str | None = GENESIS_HASH if from_seq == 1 else None
        self._anchors: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            if anchor.seq >= from_seq:
                self._anchors.setdefault(anchor.seq, []).append(anchor)
                self.report.anchors_checked += 1

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
        if compute_record_hash(record) != record.hash:
            self._problem(seq, ALTERED, f"序号 {seq} 的内容与其哈希不符（记录被改动）",
                          f"seq {seq}: content does not match its hash (record edited)")
        for anchor in self._anchors.pop(seq, []):
            if anchor.hash != record.hash:
                self._problem(seq, ANCHOR_MISMATCH, f"序号 {seq} 与锚点（{anchor.source}）记录的哈希不同（自此处起被改写）",
                              f"seq {seq} differs from the anchor ({anchor.source}): the chain was rewritten from here")
        if seq >= self._expected_seq:
            self._expected_seq, self._prev_hash = seq + 1, record.hash
            self.report.head = ChainHead(seq, record.hash)

    def finish(self) -> ChainReport:
        last_seq = self._expected_seq - 1
        beyond = [anchor for seq, anchors in self._anchors.items() if seq > last_seq for anchor in anchors]
        if beyond:
            furthest = max(beyond, key=lambda anchor: anchor.seq)
            self._problem(last_seq + 1, TRUNCATED,
                          f"日志止于序号 {last_seq}，但锚点（{furthest.source}）记有序号 {furthest.seq}：末尾的记录被删除",
                          f"the log ends at seq {last_seq} but the anchor ({furthest.source}) has seq {furthest.seq}: the newest records were cut off")
        # Anchors at numbers the chain skipped were reported as missing records already.
        self._anchors.clear()
        return self.report


def verify_chain(records: Iterable[AuditRecord], anchors: Iterable[Anchor] = (), from_seq: int = 1) -> list[Problem]:
    """Every problem of ``records`` (in seq order, as the store lists them) against ``anchors``."""
    verifier = ChainVerifier(anchors, from_seq)
    for record in records:
        verifier.feed(record)
    return verifier.finish().problems


async def verify_audit_log(anchors: Iterable[Anchor] = (), from_seq: int = 1) -> ChainReport:
    """Read the stored chain in seq order (from ``from_seq``) and check it against ``anchors``.

    Without an anchor a cut-off tail cannot be seen: the records left still form a valid chain.
    """
    verifier = ChainVerifier(anchors, from_seq)
    collection = AuditRecord.get_pymongo_collection()
    async for raw in collection.find({"seq": {"$exists": True, "$gte": from_seq}}, sort=[("seq", ASCENDING)]):
        verifier.feed_stored(raw)
    if from_seq == 1:
        async for raw in collection.find({"seq": {"$exists": False}}):
            verifier.feed_stored(raw)
    return verifier.finish()
