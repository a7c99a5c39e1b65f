"""The tenant roster (tenancy/roster.py): every tenant's id, activity and time zone in one document, the same as the
tenants themselves whatever happened to them since it was built."""

from __future__ import annotations

from bson import ObjectId

from xinfang.tenancy.models import Tenant
from xinfang.tenancy.roster import ROSTER, active_tenant_ids, forget_roster, roster
from xinfang.timefmt import DEFAULT_ZONE


async def _as_stored() -> dict[str, tuple[bool, str]]:
    rows = Tenant.get_pymongo_collection().find({})
    return {str(raw["_id"]): (raw.get("active") == True, (raw.get("settings") or {}).get("time_zone") or DEFAULT_ZONE)  # noqa: E712
            async for raw in rows}


async def _as_listed() -> dict[str, tuple[bool, str]]:
    return {entry.tenant_id: (entry.active, entry.time_zone) for entry in await roster()}


async def test_the_roster_follows_tenants_added_switched_and_forgotten(app, tenants):
    collection = Tenant.get_pymongo_collection()
    assert await _as_listed() == await _as_stored()
    assert len(await _as_listed()) >= 3
    template = await collection.find_one({"slug": tenants.A})
    added = {**template, "_id": ObjectId(), "slug": f"roster-{ObjectId()}", "hosts": [], "parent_id": None, "ancestor_ids": [],
             "settings": {**(template.get("settings") or {}), "time_zone": "Asia/Urumqi"}}
    try:
        await collection.insert_one(added)  # by hand, past the loader: the count tells
        listed = await _as_listed()
        assert listed[str(added["_id"])] == (True, "Asia/Urumqi") and listed == await _as_stored()
        assert str(added["_id"]) in await active_tenant_ids()

        await collection.update_one({"_id": added["_id"]}, {"$set": {"active": False}})  # switched off by hand
        assert (await _as_listed())[str(added["_id"])] == (False, "Asia/Urumqi")
        assert str(added["_id"]) not in await active_tenant_ids()

        await collection.update_one({"_id": added["_id"]}, {"$set": {"settings.time_zone": "Asia/Shanghai"}})
        await forget_roster()  # what the bundle loader does after writing a tenant
        assert (await _as_listed())[str(added["_id"])] == (False, "Asia/Shanghai")
        assert await _as_listed() == await _as_stored()
        stored = await collection.database[ROSTER].find_one({"_id": "all"})
        assert stored is not None and stored["count"] == len(await _as_stored())  # kept, read by the next beat
    finally:
        await collection.delete_one({"_id": added["_id"]})
    assert str(added["_id"]) not in await _as_listed()
