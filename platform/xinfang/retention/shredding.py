"""The end of a closed petition's retention: its identity is destroyed by destroying its record key (crypto.py).

What goes: the record keys of the petition (every tenant it was held by), so its sealed identity and the contact
details sealed for its citizen notices never open again, here or in any backup of the data; its petitioner key
(the keyed hash that links repeat petitions); and the tenant's exports made with identities opened that may hold
it. What stays: the petition itself with its number, dates, state, steps, category, region and answers (which
never hold identity fields), and so every analytics fact and cell: no event is written, nothing is recounted.
An identity still sealed with the tenant key (from before record keys; ``migrate`` re-seals those) cannot be
shredded in backups: its ciphertext is removed from the petition.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bson import ObjectId

from ..crypto import KeyRing, record_of
from ..data_export.models import DataExport, ExportChunk
from ..notifications.models import CitizenNotice
from ..petitions.models import Petition
from ..petitions.workflow_versions import workflow_of_version
from ..store.scoped import TenantScope
from ..timefmt import zone

log = logging.getLogger(__name__)


def still_identified(raw: dict) -> bool:
    return bool(raw.get("identity_sealed") or raw.get("petitioner_key"))


def _start_of_day_after(day: date, zone_name: str) -> datetime:
    """The first instant after ``day`` in the tenant's zone: a case closed on ``day`` was created before it."""
    from datetime import time, timedelta

    return datetime.combine(day + timedelta(days=1), time(0), zone(zone_name))


class ClosedDays:
    """The day (tenant's zone) a petition reached a final state of its workflow version; None while it is open."""

    def __init__(self, tenant_id: str, zone_name: str):
        self.scope = TenantScope(tenant_id)
        self.zone = zone(zone_name)
        self._terminal: dict[int | None, set[str]] = {}

    async def of(self, raw: dict) -> date | None:
        version = raw.get("workflow_version")
        if version not in self._terminal:
            self._terminal[version] = set((await workflow_of_version(self.scope, version)).terminal_states())
        if raw.get("state") not in self._terminal[version]:
            return None
        for step in reversed(raw.get("steps") or []):
            if step.get("to_state") == raw["state"]:
                return _as_day(step.get("at"), self.zone)
        return _as_day(raw.get("created_at"), self.zone)


def _as_day(moment, tz: ZoneInfo) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def candidates(tenant_id: str, zone_name: str, last_start: date, after: str | None = None, limit: int = 200):
    """Petitions of the tenant created by ``last_start`` whose identity was not destroyed, in id order from ``after``."""
    # Written for the embedded store's query translation as much as for MongoDB (checked on both semantics): an "$or"
    # beside other conditions widened the whole query there (another tenant's cases came back), "$ne": None matched a
    # missing field, and "field": None beside a "$type" dropped the rows holding an explicit null; "$in": [None] and
    # "$type" answer right. An identity's petitioner key never outlives its sealed identity (both come from it).
    query = {"tenant_id": tenant_id, "created_at": {"$lt": _start_of_day_after(last_start, zone_name)},
             "identity_destroyed_on": {"$in": [None]}, "identity_sealed": {"$type": "string"}}
    if after:
        query["_id"] = {"$gt": ObjectId(after)}
    return Petition.get_pymongo_collection().find(query, projection={"answers": 0}).sort("_id", 1).limit(limit)


async def count_petitions_due(tenant_id: str, zone_name: str, last_start: date, limit: int) -> tuple[int, bool]:
    """(closed petitions whose identity the period would destroy now, whether the count stopped at ``limit`` looked at)."""
    closed = ClosedDays(tenant_id, zone_name)
    count = looked = 0
    async for raw in candidates(tenant_id, zone_name, last_start, limit=limit):
        looked += 1
        if raw["tenant_id"] != tenant_id or not still_identified(raw):
            continue
        day = await closed.of(raw)
        if day is not None and day <= last_start:
            count += 1
    return count, looked >= limit


async def shred_petition(keyring: KeyRing, raw: dict, today: date) -> bool:
    """Destroy one petition's identity (idempotent: a second call, or a crash half-way and a rerun, ends the same)."""
    petition_id = str(raw["_id"])
    # The point of no return first: once the keys are gone, a crash before the marker below only repeats this.
    await keyring.destroy_record_keys(petition_id)
    changes = {"identity_destroyed_on": today.isoformat(), "petitioner_key": None}
    if raw.get("identity_sealed") and record_of(raw["identity_sealed"]) is None:
        changes["identity_sealed"] = None  # sealed with the tenant key: the only copy we can reach is this one
    # The revision moves on: a staff member's write from a copy read before cannot put the identity back.
    result = await Petition.get_pymongo_collection().update_one(
        {"_id": raw["_id"], "identity_destroyed_on": {"$in": [None]}}, {"$set": changes, "$inc": {"revision": 1}})
    # Contact details the citizen notices kept: under the record key they no longer open; older ones (tenant key) go.
    await CitizenNotice.get_pymongo_collection().update_many(
        {"petition_id": petition_id, "contact_sealed": {"$ne": ""}}, {"$set": {"contact_sealed": ""}})
    return result.modified_count == 1


async def drop_identity_exports(tenant_id: str, since: datetime) -> int:
    """Exports made with identities opened (data_export/) since ``since`` may hold a destroyed identity in clear: they go."""
    collection = DataExport.get_pymongo_collection()
    ids = [row["_id"] async for row in collection.find({"tenant_id": tenant_id, "with_identity": True, "created_at": {"$gte": since}},
                                                       projection={"_id": 1})]
    for export_id in ids:
        await ExportChunk.get_pymongo_collection().delete_many({"tenant_id": tenant_id, "export_id": str(export_id)})
        await collection.delete_one({"_id": export_id})
    return len(ids)
