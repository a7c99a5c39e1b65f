"""The beat sweeper's audit step: anchor the head when no append did, and only a head that checks out.

Every append anchors its own record (``audit.service``), so normally the newest
anchor already is the head and this step does nothing. It closes the gaps: an
append whose anchor could not be written (a full disk), or a process killed
between the store's acknowledgement and the anchor. It first checks, with the
chain key, that the records since the newest anchor extend it, so a tampered or
truncated tail is never written down as good (it is logged as an error; the
verifier says what is wrong).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from ..store.documents import utcnow
from .anchors import Anchor, AnchorLog, anchors_dir, newest_anchor
from .keys import AuditKeys
from .models import format_moment
from .service import read_head
from .verify import verify_audit_log

log = logging.getLogger(__name__)


async def anchor_head(data_dir: Path, keys: AuditKeys, now: datetime | None = None) -> Anchor | None:
    """Append a signed anchor of the chain's head to this host's anchors file if no writer has anchored it.

    Returns the new anchor, or None when there was nothing to do (empty chain, head anchored
    already) or the records since the newest anchor do not verify (logged as an error).
    """
    directory = anchors_dir(data_dir)
    last = await asyncio.to_thread(newest_anchor, directory, keys.anchors)
    head = await read_head()
    if head is None or (last is not None and (head.seq, head.hash) == (last.seq, last.hash)):
        return None
    report = await verify_audit_log([last] if last else [], from_seq=last.seq if last else 1, chain_key=keys.chain)
    if report.problems:
        log.error(
            "audit log does not extend the newest anchor %s:%s, not anchoring: %s",
            last.seq if last else "-", last.hash if last else "-",
            "; ".join(f"seq {p.seq} {p.kind}" for p in report.problems[:20]),
        )
        return None
    head = report.head  # records appended while verifying are checked too: anchor what was checked
    if head is None or (last is not None and head.seq <= last.seq):
        return None
    anchor_log = AnchorLog(directory, keys.anchors)
    return await asyncio.to_thread(anchor_log.append, head.seq, head.hash, format_moment(now or utcnow()))
