"""The beat's part (plugin.xinfang_sweep): each tenant once a day of its own zone, bounded per run, idempotent.

Per tenant and day, each kind is gone through in id order; a run stops after BUDGET records looked at and leaves a
cursor (RetentionMark), the next run resumes there; a kind gone through to its end is done for that day. Closed
petitions past their period lose their identity (shredding.py); cards, archive entries and audit records past theirs
are listed for appraisal (due.py). A tenant's periods reach that tenant's records only: every question names it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from ..crypto import KeyRing
from ..store.documents import utcnow
from ..tenancy.models import Tenant
from . import policy
from .due import list_due
from .migrate import reseal_legacy
from .models import RetentionMark, RetentionPolicy
from .service import today_in
from .shredding import ClosedDays, candidates, drop_identity_exports, shred_petition, still_identified

log = logging.getLogger(__name__)

BUDGET = 500  # records looked at per run, over all tenants and kinds
RESEAL_PER_RUN = 100


async def sweep_retention(keyring: KeyRing, now: datetime) -> Counter:
    stats: Counter = Counter()
    stats["resealed"] = await reseal_legacy(keyring, RESEAL_PER_RUN)
    budget = BUDGET
    saved = {row["tenant_id"]: row.get("years") async for row in RetentionPolicy.get_pymongo_collection().find({}, projection={"tenant_id": 1, "years": 1})}
    marks = {row["tenant_id"]: row async for row in RetentionMark.get_pymongo_collection().find({})}
    async for tenant in Tenant.get_pymongo_collection().find({}, projection={"settings.time_zone": 1}).sort("_id", 1):
        tenant_id = str(tenant["_id"])
        zone_name = (tenant.get("settings") or {}).get("time_zone") or ""
        today = today_in(zone_name, now)
        mark = marks.get(tenant_id)
        if not mark or mark.get("day") != today.isoformat():
            mark = {"day": today.isoformat(), "done": [], "cursor": {}}
        if all(k.key in mark["done"] for k in policy.KINDS):
            continue
        if budget <= 0:
            break
        years = policy.effective_years(saved.get(tenant_id))
        for kind in policy.KINDS:
            if kind.key in mark["done"] or budget <= 0:
                continue
            period = years[kind.key]
            if period is None:  # kept permanently
                mark["done"].append(kind.key)
                continue
            after = mark["cursor"].get(kind.key)
            if kind.key == "closed_petitions":
                shredded, looked, last = await _petitions(keyring, tenant_id, zone_name, today, period, after, budget)
                stats["identities_destroyed"] += shredded
            else:
                listed, looked, last = await list_due(tenant_id, kind.key, period, today, zone_name, after, budget)
                stats[f"{kind.key}_due"] += listed
            budget -= max(looked, 1)
            if last is None:
                mark["done"].append(kind.key)
                mark["cursor"].pop(kind.key, None)
            else:
                mark["cursor"][kind.key] = last
        await RetentionMark.get_pymongo_collection().update_one(
            {"tenant_id": tenant_id},
            {"$set": {"day": mark["day"], "done": mark["done"], "cursor": mark["cursor"]},
             "$setOnInsert": {"tenant_id": tenant_id, "created_at": utcnow()}}, upsert=True)
    return stats


async def _petitions(keyring: KeyRing, tenant_id: str, zone_name: str, today, years: int, after: str | None, limit: int):
    """(identities destroyed, petitions looked at, last id looked at or None when gone through)."""
    last_start = policy.cutoff(today, years)
    closed = ClosedDays(tenant_id, zone_name)
    rows = await candidates(tenant_id, zone_name, last_start, after, limit).to_list(None)
    shredded, earliest = 0, None
    for raw in rows:
        if raw["tenant_id"] != tenant_id or not still_identified(raw):  # only this tenant's periods reach its cases
            continue
        day = await closed.of(raw)
        if day is None or day > last_start:
            continue
        if await shred_petition(keyring, raw, today):
            shredded += 1
        earliest = min(earliest, raw["created_at"]) if earliest else raw["created_at"]
    if earliest is not None:
        dropped = await drop_identity_exports(tenant_id, earliest)
        if dropped:
            log.info("retention: %d export(s) with identities opened dropped in tenant %s", dropped, tenant_id)
    return shredded, len(rows), (str(rows[-1]["_id"]) if len(rows) >= limit else None)
