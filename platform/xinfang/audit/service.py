"""Writing and reading the audit log. ``do_append_audit`` is the only code that writes a record.

Appends are safe with several web replicas (and worker processes) appending
at once without any lock or transaction (the embedded store's transactions
are not isolated between clients): each writer reads the head, takes the next
number and inserts; the unique index on ``seq`` lets exactly one writer have
each number, and the others read the new head and try again.

Each record is hashed with the chain key (HMAC-SHA256, ``audit.keys``) and,
once the store has acknowledged it, anchored: the writer appends a signed
anchor line for it to its host's anchors file (``audit.anchors``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from typing import Any

from beanie import PydanticObjectId
from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from ..errors import ServiceUnavailable
from ..store.documents import is_id_ref, utcnow
from .context import AuditContext, AuditNotConfigured, audit_context
from .models import (
    GENESIS_HASH,
    HASH_HMAC_V2,
    IN_CHAIN,
    AuditRecord,
    ChainHead,
    canonical_value,
    compute_record_hash,
    format_moment,
    truncate_to_millis,
)

log = logging.getLogger(__name__)

# Each failed attempt means another writer took the number in between; 64 is far more
# than a burst of simultaneous appends needs (the tests run 20 at once from 3 processes).
MAX_APPEND_ATTEMPTS = 64
MAX_TENANT_PAGE = 500


class AuditLogUnavailable(ServiceUnavailable):
    code = "audit_unavailable"
    message = {
        "zh": "审计日志暂时无法写入，因此未返回任何数据，请稍后再试",
        "en": "the audit log cannot be written right now, so nothing was returned; try again later",
    }


async def read_head() -> ChainHead | None:
    """The last record of the chain, or None while the chain is empty."""
    doc = await AuditRecord.get_pymongo_collection().find_one(
        IN_CHAIN, projection={"seq": 1, "hash": 1}, sort=[("seq", DESCENDING)]
    )
    return None if doc is None else ChainHead(doc["seq"], doc["hash"])


async def do_append_audit(
    *,
    actor_id: str,
    actor_username: str,
    action: str,
    purpose: str,
    subject: str | None = None,
    review_id: str | None = None,
    query: Mapping[str, Any] | None = None,
    tenant_ids: Iterable[str] = (),
    result_count: int = 0,
) -> AuditRecord:
    """Append one record to the chain and return it once the store has durably acknowledged it.

    Raises (``AuditLogUnavailable`` or the store's own error) when the record
    could not be written: callers append *before* they answer, so a read that
    cannot be logged is a read that does not happen.
    """
    try:
        context = audit_context()
    except AuditNotConfigured:
        log.exception("audit append refused (action %s)", action)
        raise AuditLogUnavailable() from None
    content = dict(
        actor_id=actor_id,
        actor_username=actor_username,
        action=action,
        purpose=purpose,
        subject=subject,
        review_id=review_id,
        # Stored as plain JSON values, so what is read back is exactly what was hashed.
        query=canonical_value(dict(query or {})),
        tenant_ids=sorted(set(tenant_ids)),
        result_count=result_count,
    )
    # One id for every attempt: if an insert did land although its answer was lost
    # (pymongo then retries it and meets its own _id), we find it instead of writing a twin.
    record_id = PydanticObjectId()
    for attempt in range(1, MAX_APPEND_ATTEMPTS + 1):
        head = await read_head()
        record = AuditRecord(
            id=record_id,
            seq=head.seq + 1 if head else 1,
            prev_hash=head.hash if head else GENESIS_HASH,
            hash="",
            hash_alg=HASH_HMAC_V2,
            created_at=truncate_to_millis(utcnow()),
            **content,
        )
        record.hash = compute_record_hash(record, context.keys.chain)
        try:
            await record.insert()
        except DuplicateKeyError:
            landed = await AuditRecord.find_one({"_id": record_id})
            if landed is not None:
                await _anchor(context, landed)
                return landed
        else:
            await _anchor(context, record)
            return record
        # Someone else took this number. Back off a little, more the more we collided,
        # so a burst of writers spreads out instead of colliding in lockstep.
        await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * attempt)))
    log.error("audit append gave up after %d attempts (action %s)", MAX_APPEND_ATTEMPTS, action)
    raise AuditLogUnavailable()


async def _anchor(context: AuditContext, record: AuditRecord) -> None:
    """Write the signed anchor of a record the store has acknowledged.

    A failure is logged, not raised: the record is durable and keyed, the read it logs may go
    ahead, and the beat sweeper anchors the head within its interval (``audit.sweep``).
    """
    try:
        await asyncio.to_thread(context.anchor_log.append, record.seq, record.hash, format_moment(utcnow()))
    except Exception:
        log.exception("could not anchor audit record %s in %s; the sweeper will anchor the head", record.seq,
                      context.anchor_log.path)


async def audit_records_for_tenant(tenant_id: str, limit: int, before_seq: int | None = None) -> list[AuditRecord]:
    """Records whose reads returned data of ``tenant_id``, newest first; page on with ``before_seq``.

    The records list every tenant a read touched: show a tenant ``record.tenant_view()``,
    not the record itself.
    """
    tenant_id = str(tenant_id)
    if not is_id_ref(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    seq_filter: dict[str, Any] = dict(IN_CHAIN["seq"])
    if before_seq is not None:
        seq_filter["$lt"] = before_seq
    limit = max(1, min(int(limit), MAX_TENANT_PAGE))
    return await AuditRecord.find({"tenant_ids": tenant_id, "seq": seq_filter}).sort("-seq").limit(limit).to_list()
