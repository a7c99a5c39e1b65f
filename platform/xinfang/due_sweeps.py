"""What the beat's daily parts share: which tenants have anything due, and "done for today" for the platform.

The beat runs every 30 s. Its daily parts (cards' deadlines and rules, petition deadline notices) used to walk every
active tenant on every beat only to read each one's "swept today?" mark, and once a day to sweep each tenant whether
or not anything was due: the cost grew with the number of tenants (issue 18: 5.35 s a beat and 20 s for the day's
first sweep at 2,156 tenants). Now each part asks the store across all tenants for the items that may be due, with the
tenant on each row, sweeps only those tenants (each through its own scope, by the tenant id read from the row), and
then records once for the platform that the day is done, so the later beats of the day read one document.

A tenant with nothing due is not visited at all; its own mark stays where it was (``swept_on`` reads the platform's
day too, so it still answers "swept today"). A tenant created or switched active after the day was done opens the day
again (the count of active tenants is kept with it); work that arrives in the afternoon for a tenant swept in the
morning waits for the next day, as it always did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from .store.scoped import TenantScope, parse_object_id
from .tenancy.models import Tenant
from .tenancy.roster import active_tenant_count

SWEEP_DAYS = "sweep_days"  # {_id: part name, day: "YYYY-MM-DD"}: the last day a part finished for every tenant


def _days():
    # The platform's own bookkeeping, one small document per part, read by _id (indexed on every store).
    return Tenant.get_pymongo_collection().database[SWEEP_DAYS]


async def tenant_count() -> int:
    """How many active tenants there are: a part done for the day is done again once a tenant was added or switched
    active (one count, read before the part asks what is due, so a tenant added meanwhile opens it again; one switched
    off opens it too, harmlessly: the tenants already swept keep their own marks). Counted as the roster counts them
    (tenancy/roster.py: the ``count`` command through the index on ``active``; the embedded store answers
    ``count_documents`` by reading every tenant, 0.7 s a count at 2,156 tenants). Not noticed: one tenant switched on
    and another off on the same day."""
    return await active_tenant_count()


async def part_done_on(part: str) -> str | None:
    row = await _days().find_one({"_id": part})
    return row.get("day") if row else None


async def swept_day(own: str | None, part: str, own_only: bool = False) -> str | None:
    """The day a tenant was last swept by ``part``: its own mark ``own``, or the day the part finished for every
    tenant (a tenant with nothing due is not visited, so its own mark stays behind); ``own_only``: the own mark."""
    platform = None if own_only else await part_done_on(part)
    return max((d for d in (own, platform) if d), default=None)


async def day_done(part: str, day: str, tenants: int) -> bool:
    """Whether the part finished ``day`` (or a later day) for every tenant there is now."""
    row = await _days().find_one({"_id": part})
    return bool(row) and (row.get("day") or "") >= day and row.get("tenants") == tenants


async def mark_part_done(part: str, day: str, tenants: int) -> None:
    """The day only moves forward (a slower sweep of an earlier day finishing last changes nothing)."""
    try:
        await _days().insert_one({"_id": part, "day": day, "tenants": tenants})
    except DuplicateKeyError:
        await _days().update_one({"_id": part, "day": {"$lte": day}}, {"$set": {"day": day, "tenants": tenants}})


async def gate_closed(part: str, now: float, tenants: int) -> bool:
    """For parts that are due again at a moment rather than a day (a zone's midnight, a check interval): closed
    from when it was set until that moment, with the same tenants (a clock before the moment it was set opens it)."""
    row = await _days().find_one({"_id": part})
    return bool(row) and row.get("set_at", 0) <= now < row.get("until", 0) and row.get("tenants") == tenants


async def close_gate(part: str, now: float, until: float, tenants: int) -> None:
    await _days().update_one({"_id": part}, {"$set": {"set_at": now, "until": until, "tenants": tenants}}, upsert=True)


async def skipped_at(part: str) -> dict[str, float]:
    """tenant id -> the moment (a timestamp) the part last found nothing it could do for that tenant and passed it
    by without a write of the tenant's own (the early-warning checks of an idle tenant): one small document."""
    row = await _days().find_one({"_id": f"{part}:skipped"})
    at = (row or {}).get("at")
    return {str(k): float(v) for k, v in at.items() if isinstance(v, (int, float))} if isinstance(at, dict) else {}


async def record_skipped(part: str, at: dict[str, float]) -> None:
    """Replace the part's skipped moments (the caller keeps only those still within its interval, so the document
    holds at most one entry per tenant and shrinks again when tenants come due)."""
    await _days().update_one({"_id": f"{part}:skipped"}, {"$set": {"at": at}}, upsert=True)


async def reopen(part: str) -> None:
    """The part's work changed (a tenant's policy saved): the next beat asks again."""
    await _days().delete_one({"_id": part})


async def active_tenants(tenant_ids) -> dict[str, str]:
    """tenant id -> slug, of the given tenants that exist and are active (the sweeps only ever visited those)."""
    oids = [oid for oid in (parse_object_id(str(t)) for t in set(tenant_ids)) if isinstance(oid, ObjectId)]
    if not oids:
        return {}
    rows = Tenant.get_pymongo_collection().find({"_id": {"$in": oids}}, projection={"slug": 1, "active": 1})
    # By truth, not ``is True``: the embedded store reads a bool written by ``$set`` back as 1 (test_store_contract).
    return {str(row["_id"]): row.get("slug", "") async for row in rows if row.get("active") == True}  # noqa: E712


async def tenant_ids_of(collection, query: dict, fields: tuple[str, ...] = (), keep=None) -> set[str]:
    """The tenants of the rows matching ``query`` (across all tenants), optionally only rows ``keep(row)`` accepts
    (``fields``: what ``keep`` reads besides the tenant)."""
    projection = {"tenant_id": 1, **{field: 1 for field in fields}}
    found = set()
    async for row in collection.find(query, projection=projection):
        if row.get("tenant_id") and (keep is None or keep(row)):
            found.add(str(row["tenant_id"]))
    return found


async def sweep_due_tenants(part: str, today: str, tenants_due: Callable[[date], Awaitable[set[str]]],
                            swept_on: Callable[..., Awaitable[str | None]], mark_swept: Callable[[TenantScope, str], Awaitable[None]],
                            sweep_one: Callable[[TenantScope, str, date], Awaitable[None]]) -> None:
    """A daily part's beat: unless the platform's day is done, each active tenant with anything due (``tenants_due``,
    asked across all tenants) and not yet swept today is swept by ``sweep_one(scope, slug, day)`` through its own
    scope (the tenant id read from the due rows), marked, and then the day is marked done for the platform."""
    tenants = await tenant_count()
    if await day_done(part, today, tenants):  # done for today (or for a later day already)
        return
    day = date.fromisoformat(today)
    due = await active_tenants(await tenants_due(day))
    for tenant_id, slug in sorted(due.items(), key=lambda item: item[1]):
        scope = TenantScope(tenant_id)  # the tenant read from the due rows: its own scope does the writes
        last = await swept_on(scope, own_only=True)
        if last is not None and last >= today:
            continue
        await sweep_one(scope, slug, day)
        await mark_swept(scope, today)
    await mark_part_done(part, today, tenants)
