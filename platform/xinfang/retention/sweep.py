"""The beat's part (plugin.xinfang_sweep): each tenant once a day of its own zone, bounded per run, idempotent.

Per tenant and day, each kind is gone through in id order; a run stops after BUDGET records looked at and leaves a
cursor (RetentionMark), the next run resumes there; a kind gone through to its end is done for that day. Closed
petitions past their period lose their identity (shredding.py); cards, archive entries and audit records past theirs
are listed for appraisal (due.py), and so are archived records (records/) past the end each carries (never a permanent one). A tenant's periods reach that tenant's records only: every question names it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, time, timedelta

from ..crypto import KeyRing
from ..due_sweeps import close_gate, gate_closed, tenant_count
from ..store.documents import stored_moment, utcnow
from ..tenancy.roster import roster
from . import policy
from .due import ARCHIVED_RECORDS, list_archived_due, list_due
from .migrate import reseal_legacy
from .models import RetentionMark, RetentionPolicy
from ..timefmt import zone
from .service import today_in
from .shredding import ClosedDays, candidates, drop_identity_exports, shred_petition, still_identified

log = logging.getLogger(__name__)

BUDGET = 500  # records looked at per run, over all tenants and kinds
RESEAL_PER_RUN = 100
GATE = "retention"  # due_sweeps.py: every tenant done for its day until the gate's moment


def _finished(mark: dict) -> bool:
    """The tenant's day is done: every record kind and the archived records looked at."""
    return all(k.key in mark["done"] for k in policy.KINDS) and ARCHIVED_RECORDS in mark["done"]


async def sweep_retention(keyring: KeyRing, now: datetime, *, skip_idle: bool = True) -> Counter:
    """``skip_idle``: a tenant with no record any of its periods could reach today (``tenants_maybe_due``, a read of
    each kind across all tenants) is done for its day without a read or a write of its own and without spending the
    budget (issue 18: every tenant used to cost a question per kind and its mark, 500 records a run, about 22 beats
    at 2,156 tenants); False: every tenant walked, as before."""
    stats: Counter = Counter()
    stats["resealed"] = await reseal_legacy(keyring, RESEAL_PER_RUN)
    # Every tenant done for its day: nothing to ask until the first of their zones' next midnights, nor until a tenant
    # is added or a policy saved (service.do_save_policy reopens it). The day's later beats read one document rather
    # than every tenant, mark and policy (issue 18).
    tenants = await tenant_count()
    if await gate_closed(GATE, now.timestamp(), tenants):
        return stats
    budget = BUDGET
    all_done, until = True, None
    saved = {row["tenant_id"]: row.get("years") async for row in RetentionPolicy.get_pymongo_collection().find({}, projection={"tenant_id": 1, "years": 1})}
    marks = {row["tenant_id"]: row async for row in RetentionMark.get_pymongo_collection().find({})}
    zones = [(entry.tenant_id, entry.time_zone) for entry in await roster()]  # every tenant, active or not, by id
    maybe = await tenants_maybe_due(zones, saved, now) if skip_idle else None
    days = _ZoneDays(now)  # a few zones among thousands of tenants: each zone's day and midnight worked out once
    for tenant_id, zone_name in zones:
        today, midnight = days.today(zone_name), days.midnight(zone_name)
        until = midnight if until is None else min(until, midnight)
        if maybe is not None and tenant_id not in maybe:
            continue
        mark = marks.get(tenant_id)
        if not mark or mark.get("day") != today.isoformat():
            mark = {"day": today.isoformat(), "done": [], "cursor": {}}
        if _finished(mark):
            continue
        if budget <= 0:
            all_done = False
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
                all_done = False
        if ARCHIVED_RECORDS not in mark["done"] and budget > 0:  # archived records carry their own end (records/)
            listed, looked, last = await list_archived_due(tenant_id, today, mark["cursor"].get(ARCHIVED_RECORDS), budget)
            stats[f"{ARCHIVED_RECORDS}_due"] += listed
            budget -= max(looked, 1)
            if last is None:
                mark["done"].append(ARCHIVED_RECORDS)
                mark["cursor"].pop(ARCHIVED_RECORDS, None)
            else:
                mark["cursor"][ARCHIVED_RECORDS] = last
                all_done = False
        await RetentionMark.get_pymongo_collection().update_one(
            {"tenant_id": tenant_id},
            {"$set": {"day": mark["day"], "done": mark["done"], "cursor": mark["cursor"]},
             "$setOnInsert": {"tenant_id": tenant_id, "created_at": utcnow()}}, upsert=True)
        if not _finished(mark):
            all_done = False
    if all_done and until is not None:
        await close_gate(GATE, now.timestamp(), until, tenants)
    return stats


class _ZoneDays:
    """Each time zone's today and next midnight at ``now``, worked out once per zone."""

    def __init__(self, now: datetime):
        self.now, self._today, self._midnight = now, {}, {}

    def today(self, zone_name: str):
        if zone_name not in self._today:
            self._today[zone_name] = today_in(zone_name, self.now)
        return self._today[zone_name]

    def midnight(self, zone_name: str) -> float:
        if zone_name not in self._midnight:
            self._midnight[zone_name] = datetime.combine(self.today(zone_name) + timedelta(days=1), time(0), zone(zone_name)).timestamp()
        return self._midnight[zone_name]


async def tenants_maybe_due(zones: list[tuple[str, str]], saved: dict, now: datetime) -> set[str]:
    """The tenants (of ``zones``: tenant id, time zone) with a record that today's walk could list or shred: for each
    kind, the walk's own question (due.py, shredding.candidates) asked across all tenants once, bounded by the latest
    cutoff of any tenant, and each row held against its own tenant's cutoff. One read per kind, none per tenant; the
    rows are the records past the shortest period, which the walk goes through anyway. Each question keeps the
    walk's own conditions minus the tenant (the embedded store's translation: tests/test_retention_skips.py compares
    the answers tenant by tenant); what the store cannot narrow is narrowed here."""
    from ..archives.models import ArchiveEntry
    from ..audit.models import AuditRecord
    from ..cards.models import Supervision
    from ..petitions.models import Petition
    from ..records.models import ArchivedRecord
    from .shredding import _start_of_day_after

    days = _ZoneDays(now)
    todays = {tenant_id: days.today(zone_name) for tenant_id, zone_name in zones}
    zone_of = dict(zones)
    cutoffs: dict[str, dict[str, object]] = {}
    for tenant_id, today in todays.items():
        years = policy.effective_years(saved.get(tenant_id))
        for kind in policy.KINDS:
            if years[kind.key] is not None:  # kept permanently: never due
                cutoffs.setdefault(kind.key, {})[tenant_id] = policy.cutoff(today, years[kind.key])
    found: set[str] = set()

    def latest(kind: str):
        return max(cutoffs.get(kind, {}).values(), default=None)

    if (bound := latest("cards")) is not None:
        async for row in Supervision.get_pymongo_collection().find(
                {"issued_on": {"$type": "string", "$lte": bound.isoformat()}}, projection={"tenant_id": 1, "issued_on": 1}):
            cut = cutoffs["cards"].get(str(row.get("tenant_id")))
            if cut is not None and isinstance(row.get("issued_on"), str) and row["issued_on"] <= cut.isoformat():
                found.add(str(row["tenant_id"]))
    if (bound := latest("archive_entries")) is not None:
        async for row in ArchiveEntry.get_pymongo_collection().find({"on": {"$lte": bound.isoformat()}}, projection={"tenant_id": 1, "on": 1}):
            cut = cutoffs["archive_entries"].get(str(row.get("tenant_id")))
            if cut is not None and row.get("on") is not None and str(row["on"]) <= cut.isoformat():
                found.add(str(row["tenant_id"]))
    if (bound := latest("audit_records")) is not None:
        # The latest instant any tenant's cutoff reaches (a day later than the latest cutoff, in the earliest zone).
        before = datetime.combine(bound + timedelta(days=2), time(0), zone(""))
        async for row in AuditRecord.get_pymongo_collection().find({"created_at": {"$lt": before}}, projection={"tenant_ids": 1, "created_at": 1}):
            at = stored_moment(row.get("created_at"))
            for tenant_id in row.get("tenant_ids") or []:
                cut = cutoffs["audit_records"].get(str(tenant_id))
                if cut is not None and at is not None and at < datetime.combine(cut + timedelta(days=1), time(0), zone(zone_of[str(tenant_id)])):
                    found.add(str(tenant_id))
    if (bound := latest("closed_petitions")) is not None:
        before = datetime.combine(bound + timedelta(days=2), time(0), zone(""))
        async for row in Petition.get_pymongo_collection().find(
                {"created_at": {"$lt": before}, "identity_sealed": {"$type": "string"}},
                projection={"tenant_id": 1, "created_at": 1, "identity_destroyed_on": 1, "identity_sealed": 1}):
            tenant_id = str(row.get("tenant_id"))
            cut, at = cutoffs["closed_petitions"].get(tenant_id), stored_moment(row.get("created_at"))
            if cut is not None and at is not None and row.get("identity_destroyed_on") is None and \
                    at < _start_of_day_after(cut, zone_of[tenant_id]):
                found.add(tenant_id)
    latest_today = max(todays.values(), default=None)
    if latest_today is not None:
        async for row in ArchivedRecord.get_pymongo_collection().find(
                {"retention_ends_on": {"$type": "string", "$lte": latest_today.isoformat()}}, projection={"tenant_id": 1, "retention_ends_on": 1}):
            today = todays.get(str(row.get("tenant_id")))
            if today is not None and isinstance(row.get("retention_ends_on"), str) and row["retention_ends_on"] <= today.isoformat():
                found.add(str(row["tenant_id"]))
    return found



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
