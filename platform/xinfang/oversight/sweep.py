"""The beat's part of 督办: warnings before the deadline and the overdue escalation, raised once.

Work is found by what is due, in one indexed query over every tenant (``remind_on`` <= today;
``open``, not ``overdue``, ``due_on`` < today), not tenant by tenant: idle tenants cost nothing, and a
sweep every few seconds asks the store two index ranges. Each change is one versioned write of the record
carrying its event (notify.py words it for the receiving bodies):

- the warning clears ``remind_on`` in the same write, so it goes once per deadline;
- the escalation sets ``overdue`` and records an ``Escalation`` in the same write, so of two sweeps (or a
  sweep and a person's step) exactly one wins; the loser finds nothing to do next time, or the record
  changed and it tries again at the next beat. A new deadline (a reminder with a date) clears ``overdue``:
  the escalation may come again for the new deadline, once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from beanie.odm.utils.parsing import parse_obj

from ..petitions.service import china_today
from .models import Escalation, Oversight
from .service import announce, write

BATCH = 2000  # at most this many of each per beat; the rest at the next


@dataclasses.dataclass
class SweepReport:
    warned: int = 0
    escalated: int = 0


async def _due(query: dict) -> list[Oversight]:
    cursor = Oversight.get_pymongo_collection().find(query).limit(BATCH)
    return [parse_obj(Oversight, raw) async for raw in cursor]


async def sweep(now: datetime) -> SweepReport:
    report = SweepReport()
    today = china_today(now).isoformat()
    for record in await _due({"remind_on": {"$lte": today}}):
        if record.remind_on is None or record.remind_on > today:  # a store that compares None with strings
            continue
        warn = record.open and record.due_on >= today  # past its deadline: the escalation speaks instead
        if warn:
            announce(record, "oversight.due_soon", [record.lower_tenant_id], now)
        record.remind_on = None
        report.warned += await write(record) and warn
    for record in await _due({"open": {"$eq": True}, "overdue": {"$eq": False}, "due_on": {"$lt": today}}):
        if not record.open or record.overdue or record.due_on >= today:
            continue
        record.overdue = True
        record.escalations.append(Escalation(at=now, due_on=record.due_on))
        announce(record, "oversight.overdue", [record.lower_tenant_id, record.tenant_id], now)
        report.escalated += await write(record)
    return report
