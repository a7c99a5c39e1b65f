"""Cards, archive entries and audit records past their period: listed for appraisal (RetentionDue), never deleted.

Why not deleted: expired archives are appraised by the archive office before anything is destroyed (档案法: 经鉴定
仍需继续保存的重新划定保管期限), a card a later one refers to must stay, and audit records are hash-chained (audit/):
taking one link out would make the whole chain fail its check. None of them holds a petitioner's identity (archive
entries carry a petition's title and state only; audit records name staff and what they did).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bson import ObjectId

from ..archives.models import ArchiveEntry
from ..audit.models import AuditRecord
from ..cards.models import Supervision
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import count_matching
from ..timefmt import zone
from .models import RetentionDue
from .policy import end_of


def _query(tenant_id: str, kind: str, last_start: date, zone_name: str) -> tuple:
    """(collection, query, the field holding the start) for the records of ``kind`` whose period started by ``last_start``."""
    if kind == "cards":
        return Supervision.get_pymongo_collection(), {"tenant_id": tenant_id, "issued_on": {"$type": "string", "$lte": last_start.isoformat()}}, "issued_on"
    if kind == "archive_entries":
        return ArchiveEntry.get_pymongo_collection(), {"tenant_id": tenant_id, "on": {"$lte": last_start.isoformat()}}, "on"
    before = datetime.combine(last_start + timedelta(days=1), time(0), zone(zone_name))
    return AuditRecord.get_pymongo_collection(), {"tenant_ids": tenant_id, "created_at": {"$lt": before}}, "created_at"


async def count_due(tenant_id: str, kind: str, last_start: date, zone_name: str) -> int:
    collection, query, _ = _query(tenant_id, kind, last_start, zone_name)
    return await count_matching(collection, query)  # through the index on the embedded store too (store/scoped.py)


def _start_day(value, zone_name: str) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone(zone_name)).date() if value.tzinfo else value.date()
    return date.fromisoformat(str(value)[:10])


async def list_due(tenant_id: str, kind: str, years: int, today: date, zone_name: str, after: str | None, limit: int) -> tuple[int, int, str | None]:
    """List up to ``limit`` records of ``kind`` past their period (after the id ``after``); (listed now, looked at, last id
    looked at or None when the kind was gone through to its end). Listing one twice writes nothing new."""
    from .policy import cutoff

    collection, query, field = _query(tenant_id, kind, cutoff(today, years), zone_name)
    if after:
        query["_id"] = {"$gt": ObjectId(after)}
    listed, last = 0, None
    rows = await collection.find(query, projection={field: 1}).sort("_id", 1).limit(limit).to_list(None)
    for raw in rows:
        last = str(raw["_id"])
        row_id = deterministic_id(tenant_id, "retention_due", kind, last)
        since = end_of(_start_day(raw[field], zone_name), years).isoformat()
        result = await RetentionDue.get_pymongo_collection().update_one(
            {"_id": row_id},
            {"$setOnInsert": {"tenant_id": tenant_id, "kind": kind, "record_id": last, "since": since,
                              "found_on": today.isoformat(), "created_at": utcnow()}},
            upsert=True)
        listed += 1 if result.upserted_id is not None else 0
    return listed, len(rows), (last if len(rows) >= limit else None)


ARCHIVED_RECORDS = "archived_records"  # the RetentionDue kind (and the sweep's mark) of records archived (records/)
ARCHIVED_RECORDS_NAME = {"zh": "归档记录", "en": "Archived records"}


async def list_archived_due(tenant_id: str, today: date, after: str | None, limit: int) -> tuple[int, int, str | None]:
    """Archived records (records/, 归档) whose own retention ended by ``today``: listed for appraisal like the kinds
    above, never deleted. Each record carries its end (``retention_ends_on``, by the tenant's class for its kind when it
    was archived); a permanent (永久) record has none and is never listed. Same answer as list_due's."""
    from ..records.models import ArchivedRecord

    query: dict = {"tenant_id": tenant_id, "retention_ends_on": {"$type": "string", "$lte": today.isoformat()}}
    if after:
        query["_id"] = {"$gt": ObjectId(after)}
    rows = await ArchivedRecord.get_pymongo_collection().find(
        query, projection={"retention_ends_on": 1, "number": 1}).sort("_id", 1).limit(limit).to_list(None)
    listed, last = 0, None
    for raw in rows:
        last = str(raw["_id"])
        if not raw.get("number") or not isinstance(raw.get("retention_ends_on"), str):  # not numbered yet, or permanent
            continue
        result = await RetentionDue.get_pymongo_collection().update_one(
            {"_id": deterministic_id(tenant_id, "retention_due", ARCHIVED_RECORDS, last)},
            {"$setOnInsert": {"tenant_id": tenant_id, "kind": ARCHIVED_RECORDS, "record_id": last, "since": raw["retention_ends_on"],
                              "found_on": today.isoformat(), "created_at": utcnow()}},
            upsert=True)
        listed += 1 if result.upserted_id is not None else 0
    return listed, len(rows), (last if len(rows) >= limit else None)
