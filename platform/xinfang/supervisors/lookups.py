"""Which cases a supervisor relayed, for the petitions area's inbox and case list: reads of the relay rows only, so
petitions can ask without importing the supervisors' service (which registers relays through petitions)."""

from __future__ import annotations

from ..tenancy.models import Tenant
from .models import Relay

MAX_RELAYED_FILTER = 20_000  # relay rows the inbox filter reads (a township's network relays far fewer)


async def relayed_petition_ids(tenant: Tenant) -> list:
    """Ids of petitions relayed by a supervisor that this body may hold: relayed at this body or at a body above it (a
    case assigned down keeps its id), and those of the villages below registered with this body. The inbox intersects
    them with this body's own cases (its scope), so only the ids matter here. Two indexed finds, ids only."""
    line = [str(tenant.id), *tenant.ancestor_ids]
    collection = Relay.get_pymongo_collection()
    ids = [row["_id"] async for row in collection.find({"tenant_id": {"$in": line}}, {"_id": 1}).limit(MAX_RELAYED_FILTER)]
    ids += [row["_id"] async for row in collection.find({"registered_at": {"$in": line}}, {"_id": 1}).limit(MAX_RELAYED_FILTER)]
    return list(dict.fromkeys(ids))


async def relayers_of(petition_ids: list) -> dict[str, str]:
    """petition id -> the name of the supervisor who relayed it, for a page of cases this body already holds (one find)."""
    if not petition_ids:
        return {}
    rows = Relay.get_pymongo_collection().find({"_id": {"$in": list(petition_ids)}}, {"supervisor_name": 1})
    return {str(row["_id"]): row.get("supervisor_name", "") async for row in rows}
