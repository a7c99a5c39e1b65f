"""Petition time limits in the inbox: a reminder some working days before a petition is due, and a
notice once it is overdue. Swept once per tenant per China day (the rules work at day granularity);
each notice is keyed by the petition and its due date, so a second sweep, or a later day's, notifies once."""

from __future__ import annotations

from datetime import date, timedelta

from pymongo.errors import DuplicateKeyError

from ..due_sweeps import swept_day, tenant_ids_of
from ..petitions.models import Petition
from ..petitions.service import petition_workflow, tenant_calendar
from ..store.scoped import TenantScope
from .handlers import _case_values, next_roles
from .models import NoticeSweepMark
from .service import do_notify
from .wording import tenant_wording, worded

REMINDER_WORKING_DAYS = 3
OVERDUE_LOOKBACK_DAYS = 14  # how far back a missed day's sweep still catches an overdue petition


SWEEP_PART = "petition_deadlines"  # due_sweeps.py: the platform's "every tenant swept on this day"


async def swept_on(scope: TenantScope, own_only: bool = False) -> str | None:
    """The day the tenant was last swept (due_sweeps.swept_day: its own mark, or the platform's day)."""
    row = await scope.repo(NoticeSweepMark).find_one({})
    return await swept_day(row.day if row else None, SWEEP_PART, own_only)


async def tenants_due(today: date) -> set[str]:
    """The tenants with a petition whose time limit is on or after the overdue look-back's first day, by one
    question across all tenants (the tenant on each row). A superset of what ``sweep_petition_deadlines`` notifies:
    the reminder horizon is working days of each tenant's own calendar, so no upper bound here; closed cases have
    no time limit and are not among the rows."""
    since = (today - timedelta(days=OVERDUE_LOOKBACK_DAYS)).isoformat()
    return await tenant_ids_of(Petition.get_pymongo_collection(), {"due_on": {"$gte": since}})


async def mark_swept(scope: TenantScope, day: str) -> None:
    """The mark only moves forward (a slower sweep of an earlier day finishing last changes nothing)."""
    repo = scope.repo(NoticeSweepMark)
    if await repo.find_one({}) is None:
        try:
            await repo.insert(NoticeSweepMark(tenant_id=scope.tenant_id, day=day))
            return
        except DuplicateKeyError:
            pass
    await repo.update_one({"day": {"$lt": day}}, {"$set": {"day": day}})


async def sweep_petition_deadlines(scope: TenantScope, today: date) -> tuple[int, int]:
    """(reminders, overdue notices) newly made for this tenant's petitions on ``today``."""
    calendar = await tenant_calendar(scope)
    iso = today.isoformat()
    horizon = calendar.add_working_days(today, REMINDER_WORKING_DAYS).isoformat()
    reminders = overdue = 0
    repo = scope.repo(Petition)
    wording = await tenant_wording(scope)  # read once for the whole sweep
    async for petition in repo.find({"due_on": {"$gte": iso, "$lte": horizon}}):
        reminders += await _notify(scope, petition, "reminder", wording)
    since = (today - timedelta(days=OVERDUE_LOOKBACK_DAYS)).isoformat()
    async for petition in repo.find({"due_on": {"$gte": since, "$lt": iso}}):
        overdue += await _notify(scope, petition, "overdue", wording)
    return reminders, overdue


MESSAGE_OF = {"reminder": "case_reminder", "overdue": "case_overdue"}  # notification kind -> its wording (notifications/wording.py)


async def _notify(scope: TenantScope, petition: Petition, kind: str, wording: dict) -> int:
    """To the assigned handler; a case nobody holds yet goes to whoever acts next in its state."""
    key = f"petition_{kind}:{petition.id}:{petition.due_on}"
    # whoever acts next in the case's own workflow version (cached per version)
    roles = [] if petition.assignee_id else next_roles(await petition_workflow(scope, petition), petition.state)
    text = await worded(scope, MESSAGE_OF[kind], _case_values(petition) | {"due_on": petition.due_on}, wording=wording)
    return int(await do_notify(scope, key, kind=kind, roles=roles, account_id=petition.assignee_id, subject_id=str(petition.id),
                               link=f"/api/petitions/{petition.id}", text=text))
