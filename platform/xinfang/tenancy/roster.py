"""Every tenant's id, whether it is active and its time zone, in one platform document: what the beat's daily parts
walk (the early-warning checks, retention) without reading every tenant.

On the embedded store any read of the whole tenants collection decodes each tenant's whole document, projection or
not (75 ms a read at 2,156 tenants, twice in the first beat of a day; bench/tenants.py), while one document of 2,156
entries reads in a few milliseconds. The roster is rebuilt from the tenants whenever it was forgotten (the bundle
loader, the only writer of tenants, forgets it after each write) or when the tenants' counts (all, active: two
``count`` commands) no longer match the ones it was built with (a tenant added or switched by hand), so it never
answers with a tenant missing or an old activity. A time zone changed by hand in the store, past the loader, is not
seen until the next forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.scoped import count_matching
from ..timefmt import DEFAULT_ZONE
from .models import Tenant

ROSTER = "tenant_roster"  # {_id: "all", tenants: {id: [active, zone]}, count, active}


@dataclass(frozen=True)
class RosterEntry:
    tenant_id: str
    active: bool
    time_zone: str


def _collection():
    return Tenant.get_pymongo_collection().database[ROSTER]


async def active_tenant_count() -> int:
    """How many tenants are active: the ``count`` command through the index on ``active``."""
    return await count_matching(Tenant.get_pymongo_collection(), {"active": {"$eq": True}})


async def _counts() -> tuple[int, int]:
    return await count_matching(Tenant.get_pymongo_collection(), {}), await active_tenant_count()


async def roster() -> list[RosterEntry]:
    """Every tenant, active or not, ordered by id."""
    count, active = await _counts()
    row = await _collection().find_one({"_id": "all"})
    if row is None or row.get("count") != count or row.get("active") != active:
        row = await _rebuild(count, active)
    return [RosterEntry(tenant_id, bool(entry[0]), entry[1] or DEFAULT_ZONE) for tenant_id, entry in sorted(row["tenants"].items())]


async def active_tenant_ids() -> list[str]:
    """Every active tenant's id, sorted."""
    return [entry.tenant_id for entry in await roster() if entry.active]


async def forget_roster() -> None:
    """A tenant was written: the next reader builds the roster again."""
    await _collection().delete_one({"_id": "all"})


async def _rebuild(count: int, active: int) -> dict:
    # Whole documents, not a projection of "settings.time_zone": the embedded store answers a dotted projection with
    # a flat "settings.time_zone" key rather than the nested document (tests/test_store_contract.py).
    tenants = {}
    async for raw in Tenant.get_pymongo_collection().find({}):
        zone = ((raw.get("settings") or {}).get("time_zone")) or DEFAULT_ZONE
        tenants[str(raw["_id"])] = [raw.get("active") == True, zone]  # noqa: E712 - as the count; a $set bool reads back as 1 there
    row = {"_id": "all", "tenants": tenants, "count": count, "active": active}
    if len(tenants) == count and sum(1 for entry in tenants.values() if entry[0]) == active:  # not changed meanwhile
        await _collection().replace_one({"_id": "all"}, row, upsert=True)
    return row
