"""Anchors: the chain's head, written down outside the audit collection.

The hash chain shows a record edited, deleted or moved, but not the newest
records cut off: what is left is still a valid chain. So the beat sweeper
appends the head it saw (seq, hash, when) to ``DATA_DIR/audit/anchors.jsonl``,
an append-only file on the machine that runs beat, and the verifier reports a
chain that is shorter than an anchor, or different at an anchor's seq. An
operator can also keep a head elsewhere (printed by ``xinfang audit verify``)
and pass it back as ``--expect-head SEQ:HASH``.

The sweeper anchors a head only after checking that the records since the last
anchor extend it, so a tampered or truncated tail is never written down as good.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..store.documents import utcnow
from .models import format_moment

log = logging.getLogger(__name__)

HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
TAIL_BYTES = 4096  # enough for the last few lines; one anchor is about 130 bytes


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str | None = None  # when it was anchored (None for one given on the command line)
    source: str = "anchors file"  # where it came from, for the report

    def to_line(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at}, sort_keys=True) + "\n"


class AnchorError(ValueError):
    """An anchor that cannot be read; the message is {"zh", "en"}."""

    def __init__(self, message: dict[str, str]):
        super().__init__(message["en"])
        self.message = message


def anchors_path(data_dir: Path) -> Path:
    return Path(data_dir) / "audit" / "anchors.jsonl"


def _valid(seq, digest) -> bool:
    return isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1 and isinstance(digest, str) and bool(HASH_PATTERN.match(digest))


def parse_expected_head(text: str) -> Anchor:
    """``SEQ:HASH`` as printed by ``xinfang audit verify``."""
    seq_text, _, digest = text.strip().partition(":")
    seq = int(seq_text) if seq_text.isdigit() else None
    digest = digest.lower()
    if not _valid(seq, digest):
        raise AnchorError({"zh": f"链头格式应为 序号:64位十六进制哈希，收到 {text!r}",
                           "en": f"expected SEQ:HASH (a number and 64 hex digits), got {text!r}"})
    return Anchor(seq, digest, source="--expect-head")


def _parse_line(line: str, number: int, path: Path) -> Anchor:
    try:
        data = json.loads(line)
        seq, digest, at = data["seq"], data["hash"], data.get("at")
    except (ValueError, KeyError, TypeError):
        seq = digest = at = None
    if not _valid(seq, digest):
        raise AnchorError({"zh": f"锚点文件 {path} 第 {number} 行无法读取", "en": f"{path} line {number} is not an anchor"})
    return Anchor(seq, digest, at, source=f"{path.name}:{number}")


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file, oldest first. A line that is not an anchor is an error, not skipped:
    the file is evidence, and a damaged one must be looked at."""
    path = Path(path)
    anchors = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                anchors.append(_parse_line(line, number, path))
    return anchors


def _last_anchor(handle) -> Anchor | None:
    """The last anchor of an open file, reading only its tail (the file grows for ever)."""
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return None
    handle.seek(max(0, size - TAIL_BYTES))
    lines = [line for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return None
    return _parse_line(lines[-1], -1, Path(handle.name))


@contextlib.contextmanager
def _exclusive(path: Path):
    """The anchors file, locked for this process; None when another sweep holds it right now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle
    finally:
        handle.close()  # releases the lock


async def anchor_head(data_dir: Path, now: datetime | None = None) -> Anchor | None:
    """Append the chain's head to the anchors file if it moved and extends the last anchor.

    Returns the new anchor, or None when there was nothing to do (empty chain,
    head unchanged, another sweep busy) or the records since the last anchor
    do not verify (logged as an error: the verifier will say what is wrong).
    """
    from .service import read_head
    from .verify import verify_audit_log

    path = anchors_path(data_dir)
    with _exclusive(path) as handle:
        if handle is None:
            return None
        last = _last_anchor(handle)
        head = await read_head()
        if head is None or (last is not None and (head.seq, head.hash) == (last.seq, last.hash)):
            return None
        report = await verify_audit_log([last] if last else [], from_seq=last.seq if last else 1)
        if report.problems:
            log.error(
                "audit log does not extend the last anchor %s:%s, not anchoring: %s",
                last.seq if last else "-", last.hash if last else "-",
                "; ".join(f"seq {p.seq} {p.kind}" for p in report.problems[:20]),
            )
            return None
        head = report.head  # records appended while verifying are checked too: anchor what was checked
        if head is None or (last is not None and head.seq <= last.seq):
            return None
        anchor = Anchor(head.seq, head.hash, format_moment(now or utcnow()))
        handle.write(anchor.to_line().encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
        return anchor
