"""Append-only, hash-chained audit records. Only ``audit.service.do_append_audit`` writes them.

Every record carries a gapless sequence number ``seq`` (1, 2, 3, ...; unique
in the collection), the ``hash`` of the record before it (``prev_hash``) and
its own ``hash`` over a canonical JSON of its chained fields, in one of two
formats named by ``hash_alg``:

- ``hmac-sha256/v2`` (every record written now): HMAC-SHA256 under the chain
  key (``audit.keys``), which is not in the store, so whoever can write the
  store cannot compute a valid hash for an edited or invented record;
- ``sha256`` (records written before the chain was keyed, read without the
  field): plain SHA-256, which anyone can recompute. Such records are held in
  place only by the keyed records after them (each covers its ``prev_hash``)
  and by signed anchors. A chain switches from ``sha256`` to the keyed format
  once and never back (``audit.verify``).

Editing, deleting or reordering a record therefore breaks the chain where it
happened; cutting off the tail is found against the anchors kept outside the
collection (``audit.anchors``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bson import ObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument

# prev_hash of record 1: there is nothing before it.
GENESIS_HASH = "0" * 64

# The two record formats (``hash_alg``). A record stored without the field is of the first.
HASH_SHA256 = "sha256"
HASH_HMAC_V2 = "hmac-sha256/v2"
HashAlg = Literal["sha256", "hmac-sha256/v2"]

# The fields a record's hash covers, in no particular order (the JSON is key-sorted).
# Adding a name changes the hash of every record already written, so a new field
# that must be covered needs a new format (as hash_alg came with v2), not just an entry.
# tests/test_audit_log.py fails when a model field is neither chained nor in UNCHAINED_FIELDS.
CHAINED_FIELDS_V1 = (
    "id",
    "seq",
    "prev_hash",
    "created_at",
    "actor_id",
    "actor_username",
    "action",
    "purpose",
    "subject",
    "review_id",
    "query",
    "tenant_ids",
    "result_count",
)
# v2 also covers its own format name, so a keyed record cannot be relabelled as an unkeyed one.
CHAINED_FIELDS_V2 = (*CHAINED_FIELDS_V1, "hash_alg")
CHAINED_FIELDS = CHAINED_FIELDS_V2  # the format records are written in now
# ``hash`` cannot cover itself; ``revision_id`` is Beanie's, unused and always None.
UNCHAINED_FIELDS = ("hash", "revision_id")

# Only records that are part of the chain have a seq (see the index below).
IN_CHAIN = {"seq": {"$exists": True}}


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


class AuditRecord(PlatformDocument):
    # Set on every record do_append_audit writes. None only on records from before the
    # chain existed (or written around it): readable, and reported by the verifier.
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
    hash_alg: HashAlg = HASH_SHA256  # do_append_audit writes HASH_HMAC_V2; older records lack the field
    actor_id: IdRef
    actor_username: str
    action: str  # what was done, e.g. "cross_tenant.accounts.search", "archive.read"
    purpose: str  # why (required for every cross-tenant read)
    subject: str | None = None  # whom it concerned, e.g. the official whose archive was read
    review_id: str | None = None  # the promotion review (or other case) the read belongs to
    query: dict = Field(default_factory=dict)  # JSON values only (do_append_audit normalises it)
    tenant_ids: list[IdRef] = Field(default_factory=list)  # tenants whose data was returned
    result_count: int = 0

    class Settings:
        name = "audit_records"
        indexes = [
            # The chain's order and the guard against two appends taking the same number:
            # the second insert of a seq fails, and its writer retries with the next one.
            # Partial so that records written before the chain existed (no seq) do not all
            # collide on null in MongoDB; chain queries name IN_CHAIN so the index serves them.
            IndexModel([("seq", ASCENDING)], name="audit_seq_unique", unique=True, partialFilterExpression=IN_CHAIN),
            IndexModel([("created_at", DESCENDING)]),
            IndexModel([("tenant_ids", ASCENDING), ("seq", DESCENDING)], name="audit_tenant_seq"),
        ]

    def tenant_view(self) -> dict:
        """What a tenant may be shown of a record that concerns it: who, when, why and what,
        but not which other tenants the same read touched, how much it returned, nor the raw query."""
        return {
            "seq": self.seq,
            "at": format_moment(self.created_at),
            "actor_username": self.actor_username,
            "action": self.action,
            "purpose": self.purpose,
            "subject": self.subject,
            "review_id": self.review_id,
        }


# --------------------------------------------------------------------------- canonical form


def truncate_to_millis(moment: datetime) -> datetime:
    """BSON dates keep milliseconds; a moment is cut to them before it is hashed and stored,
    so the datetime read back hashes exactly like the one written."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_moment(moment: datetime) -> str:
    """One fixed text form per instant: UTC, microsecond precision, 'Z'. Naive means UTC (as stored)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_value(value: Any) -> Any:
    """``value`` as plain JSON values: datetimes in the fixed form, ids as strings.

    Anything else is refused rather than guessed at, so no two different
    values ever share a canonical form by accident.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): canonical_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_value(item) for item in value]
    raise TypeError(f"cannot put a {type(value).__name__} into an audit record")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        canonical_value(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def chained_content(record: AuditRecord) -> dict[str, Any]:
    fields = CHAINED_FIELDS_V1 if record.hash_alg == HASH_SHA256 else CHAINED_FIELDS_V2
    return {name: getattr(record, name) for name in fields}


class ChainKeyMissing(RuntimeError):
    """A keyed record's hash was asked for without the chain key."""


def compute_record_hash(record: AuditRecord, chain_key: bytes | None) -> str:
    """The hash ``record`` must carry, in the format its ``hash_alg`` names.

    ``chain_key`` is ``AuditKeys.chain``; a ``sha256`` record does not use it.
    """
    content = canonical_json(chained_content(record))
    if record.hash_alg == HASH_SHA256:
        return hashlib.sha256(content).hexdigest()
    if not chain_key:
        raise ChainKeyMissing("the audit chain key is needed to hash a keyed record")
    return hmac.new(chain_key, content, hashlib.sha256).hexdigest()
