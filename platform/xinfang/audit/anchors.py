"""Anchors: the chain's head, signed and written down outside the store, right after every append.

The keyed hash chain shows a record edited, invented, deleted or moved, but not
the newest records cut off: what is left is still a valid chain. So every
process that appends a record also appends an anchor line for it (seq, hash,
when, and an HMAC-SHA256 under the anchor key of ``audit.keys``) to its own
file, ``DATA_DIR/audit/anchors/<host>.jsonl``, and logs the same line on the
``xinfang.audit.anchors`` logger (``audit anchor {...}``), so a copy leaves the
machine with the log stream. One file per host: processes of one host append
to it under a lock, one ``write`` per line; replicas on other hosts never
write into it, so a shared volume (NFS, CephFS) sees no interleaved appends.
The beat sweeper anchors the head too when an append's own anchor is missing
(``audit.sweep``).

A line is accepted only with a valid signature: an edited line, or one written
by someone without the key, is reported by the verifier (``bad_anchor``).
Deleting lines cannot be seen from the file itself; that is what the copies in
the log stream and the head an operator writes down (``--expect-head SEQ:HASH``)
are for. Anchors written by the sweeper before the chain was keyed
(``DATA_DIR/audit/anchors.jsonl``, unsigned) are still read and checked, but
they do not count as an anchor to check against.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from .models import canonical_json

log = logging.getLogger(__name__)

HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
TAIL_BYTES = 8192  # the last few dozen lines; one anchor line is about 200 bytes
LOG_PREFIX = "audit anchor "  # what precedes the JSON line in the log stream

# How far an anchor can be trusted.
SIGNED = "signed"  # its signature checks under this deployment's anchor key
GIVEN = "given"  # handed in by the operator (--expect-head)
UNSIGNED = "unsigned"  # a line of the unsigned anchors file of before the chain was keyed
TRUSTED = (SIGNED, GIVEN)


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str | None = None  # when it was anchored (None for one given on the command line)
    source: str = "anchors file"  # where it came from, for the report
    trust: str = SIGNED


@dataclass(frozen=True)
class BadAnchorLine:
    """A line of an anchors file that is not a correctly signed anchor: evidence, reported, never used."""

    source: str  # file:line
    message: dict[str, str]  # {"zh", "en"}


class AnchorError(ValueError):
    """An anchor given by hand that cannot be read; the message is {"zh", "en"}."""

    def __init__(self, message: dict[str, str]):
        super().__init__(message["en"])
        self.message = message


def anchors_dir(data_dir: Path) -> Path:
    """Where the signed anchors files live: one per host that appends or sweeps."""
    return Path(data_dir) / "audit" / "anchors"


def legacy_anchors_path(data_dir: Path) -> Path:
    """The unsigned file the sweeper wrote before the chain was keyed."""
    return Path(data_dir) / "audit" / "anchors.jsonl"


def this_writer() -> str:
    """This host's name as a file name (in Kubernetes, the pod's name)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"


def _valid(seq, digest) -> bool:
    return isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1 and isinstance(digest, str) and bool(HASH_PATTERN.match(digest))


def signature(anchor_key: bytes, seq: int, digest: str, at: str | None) -> str:
    return hmac.new(anchor_key, canonical_json({"seq": seq, "hash": digest, "at": at}), hashlib.sha256).hexdigest()


def signed_line(anchor_key: bytes, seq: int, digest: str, at: str) -> str:
    mac = signature(anchor_key, seq, digest, at)
    return json.dumps({"seq": seq, "hash": digest, "at": at, "mac": mac}, sort_keys=True) + "\n"


def parse_expected_head(text: str) -> Anchor:
    """``SEQ:HASH`` as printed by ``xinfang audit verify``."""
    seq_text, _, digest = text.strip().partition(":")
    seq = int(seq_text) if seq_text.isdigit() else None
    digest = digest.lower()
    if not _valid(seq, digest):
        raise AnchorError({"zh": f"链头格式应为 序号:64位十六进制哈希，收到 {text!r}",
                           "en": f"expected SEQ:HASH (a number and 64 hex digits), got {text!r}"})
    return Anchor(seq, digest, source="--expect-head", trust=GIVEN)


def _parse_line(line: str, source: str, anchor_key: bytes, allow_unsigned: bool) -> Anchor | BadAnchorLine:
    try:
        data = json.loads(line)
        seq, digest, at, mac = data["seq"], data["hash"], data.get("at"), data.get("mac")
    except (ValueError, KeyError, TypeError, AttributeError):
        seq = digest = at = mac = None
    if not _valid(seq, digest) or not (at is None or isinstance(at, str)):
        return BadAnchorLine(source, {"zh": f"{source} 不是锚点（无法读取）", "en": f"{source} is not an anchor (unreadable)"})
    if mac is None and allow_unsigned:
        return Anchor(seq, digest, at, source=source, trust=UNSIGNED)
    if not isinstance(mac, str) or not hmac.compare_digest(mac, signature(anchor_key, seq, digest, at)):
        return BadAnchorLine(source, {
            "zh": f"{source} 的签名与本部署的锚点密钥不符（锚点被改动，或由不持有密钥者写入）",
            "en": f"{source} is not signed with this deployment's anchor key (the anchor was edited, or written without the key)",
        })
    return Anchor(seq, digest, at, source=source, trust=SIGNED)


def read_anchors(path: Path, anchor_key: bytes, allow_unsigned: bool = False) -> tuple[list[Anchor], list[BadAnchorLine]]:
    """Every anchor in the file, oldest first, and every line that is not a correctly signed anchor.

    A bad line is returned rather than skipped or raised: the file is evidence, and the verifier
    reports it. ``allow_unsigned`` reads the unsigned file of before the chain was keyed.
    """
    path = Path(path)
    anchors: list[Anchor] = []
    bad: list[BadAnchorLine] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                parsed = _parse_line(line, f"{path.name}:{number}", anchor_key, allow_unsigned)
                (anchors if isinstance(parsed, Anchor) else bad).append(parsed)
    return anchors, bad


def anchor_files(directory: Path) -> list[Path]:
    directory = Path(directory)
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def _newest_in_tail(path: Path, anchor_key: bytes) -> Anchor | None:
    """The signed anchor with the highest seq among the last lines of ``path`` (the file grows for ever;
    lines of one host's processes may be a little out of seq order, never by more than a few)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        start = max(0, size - TAIL_BYTES)
        handle.seek(start)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    if start > 0:
        lines = lines[1:]  # the first one is most likely cut
    anchors = [a for a in (_parse_line(line, path.name, anchor_key, False) for line in lines if line.strip()) if isinstance(a, Anchor)]
    return max(anchors, key=lambda a: a.seq, default=None)


def newest_anchor(directory: Path, anchor_key: bytes) -> Anchor | None:
    """The highest signed anchor any writer has written into ``directory``."""
    newest = [a for a in (_newest_in_tail(path, anchor_key) for path in anchor_files(directory)) if a is not None]
    return max(newest, key=lambda a: a.seq, default=None)


class AnchorLog:
    """This host's signed anchors file, appended to by every process of the host."""

    def __init__(self, directory: Path, anchor_key: bytes, writer: str | None = None):
        self.path = Path(directory) / f"{writer or this_writer()}.jsonl"
        self._key = anchor_key

    def append(self, seq: int, digest: str, at: str) -> Anchor:
        """Sign and append one anchor, durably (fsync), and log the same line. Blocking: call it in a thread."""
        line = signed_line(self._key, seq, digest, at)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # One write per line under the lock: lines of the host's processes never interleave,
                # not even on a network file system where O_APPEND alone does not promise it.
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)  # releases the lock
        finally:
            # Also when the file could not be written: the log stream then holds the only copy.
            log.info("%s%s", LOG_PREFIX, line.rstrip("\n"))
        return Anchor(seq, digest, at, source=self.path.name)
