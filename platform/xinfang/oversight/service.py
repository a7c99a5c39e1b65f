"""督办 (oversight from above): a higher body supervises a lower body's handling of a case or a card.

The upper body (any ancestor of the body holding the case or card, ``Tenant.ancestor_ids``) opens an
oversight with a requirement and a deadline on its own working-day calendar; the sweep (sweep.py) warns the
lower body a few working days before and escalates once when the deadline passes; the lower body reports
its result up; the upper body accepts it (the oversight is closed) or returns it (report again), and may
remind at any time, optionally with a new deadline.

This generalises following a case assigned down (petitions/upper_level.py): the same reports and reminders
(upper_level_models.ResultReport, Reminder), but in a record of its own, so it works for a case the upper
body did not assign (two levels down, or filed below), and for supervision cards.

Access (``access_oversight``): the upper side is the record's owner while it is still an ancestor of the
supervised body; the lower side is the supervised body. Everyone else, and a made-up id, get the same 404.
Each write is one versioned write of the record carrying its event; notifications follow from the event
(notify.py), in the receiving body's wording.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Literal

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..calendar import WorkingCalendar
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..events import DomainEvent, carry, hand_over_carried, register_carrier
from ..petitions.level_steps import bounded_text, day_from_today, takes_steps
from ..petitions.models import Attachment
from ..petitions.page_lookups import files_kept_under, listed_file
from ..petitions.service import Upload, china_today, tenant_calendar
from ..petitions.upper_level_models import Reminder, ReportStatus, ResultReport
from ..store.documents import utcnow
from ..store.scoped import TenantScope, count_matching, parse_object_id
from ..tenancy.models import Tenant
from ..tenancy.service import get_tenant
from .models import Oversight, OversightState, SubjectKind
from .subjects import find_below, is_below, label_of

OVERSIGHTS = register_carrier(Oversight)

MAX_TEXT = 4000
MAX_WORKING_DAYS = 250
NOT_FOUND = {"zh": "没有这件督办事项", "en": "no such oversight item"}
Side = Literal["upper", "lower"]


def _not_found() -> NotFound:
    return NotFound(NOT_FOUND)


# -- access ----------------------------------------------------------------------------------------


async def access_oversight(principal: Principal | None, tenant: Tenant, oversight_id: str) -> tuple[Oversight, Side]:
    """The oversight record and which side ``tenant`` is on; the same 404 for anything not its own.

    Upper side: the body that opened it, while the supervised body is still below it. Lower side: the
    supervised body. The record is read by id across tenants, then checked here, like a followed case.
    """
    tenant_id = str(tenant.id)
    if principal is None or principal.tenant_id != tenant_id:
        raise _not_found()
    oid = parse_object_id(oversight_id)
    raw = await Oversight.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None:
        raise _not_found()
    record = parse_obj(Oversight, raw)
    # A body switched off since keeps its place below: the upper body still reads its own record (its list links it).
    if record.tenant_id == tenant_id and is_below(await get_tenant(record.lower_tenant_id), tenant_id, active_only=False):
        return record, "upper"
    if record.lower_tenant_id == tenant_id:
        return record, "lower"
    raise _not_found()


def _require_role(principal: Principal) -> None:
    if not takes_steps(principal):
        raise Forbidden({"zh": "只有承办人或领导可以办理督办事项", "en": "only a handler or a leader may take this step"})


def _require_side(side: Side, wanted: Side) -> None:
    if side != wanted:
        raise Forbidden({"zh": "这一步由上级单位办理" if wanted == "upper" else "这一步由被督办的下级单位办理",
                         "en": "the upper body takes this step" if wanted == "upper" else "the supervised body takes this step"})


def is_leader(principal: Principal | None) -> bool:
    return principal is not None and "leader" in {str(r) for r in principal.roles}


def upper_actions(record: Oversight, side: Side, principal: Principal | None) -> list[str]:
    if side != "upper" or not takes_steps(principal) or not record.open:
        return []
    return ((["accept", "return"] if record.state == OversightState.REPORTED else []) + ["remind"]
            + (["withdraw"] if is_leader(principal) else []))


def can_report(record: Oversight, side: Side, principal: Principal | None) -> bool:
    return (side == "lower" and takes_steps(principal)
            and record.state in (OversightState.AWAITING_REPORT, OversightState.RETURNED))


# -- listing ---------------------------------------------------------------------------------------

LIST_LIMIT = 20_000  # statistics read at most this many of a body's records (counted in Python: STACK.md)


def _side_query(tenant_id: str, side: Side) -> dict:
    return {"tenant_id": {"$eq": tenant_id}} if side == "upper" else {"lower_tenant_id": {"$eq": tenant_id}}


async def list_oversights(tenant_id: str, side: Side, *, state: str | None = None, page: int = 1,
                          page_size: int = 20) -> tuple[list[Oversight], int]:
    """督办事项 this body issued (upper) or received from above (lower), newest first."""
    query = _side_query(tenant_id, side)
    if state in {s.value for s in OversightState}:
        query["state"] = state
    elif state == "overdue":
        query.update({"open": True, "overdue": True})
    collection = Oversight.get_pymongo_collection()
    total = await count_matching(collection, query)  # through the index on the embedded store too (store/scoped.py)
    page = min(max(page, 1), 100_000)
    cursor = collection.find(query).sort([("created_at", -1)]).skip((page - 1) * page_size).limit(page_size)
    return [parse_obj(Oversight, raw) async for raw in cursor], total


async def all_of(tenant_id: str, side: Side) -> list[Oversight]:
    cursor = Oversight.get_pymongo_collection().find(_side_query(tenant_id, side)).limit(LIST_LIMIT)
    return [parse_obj(Oversight, raw) async for raw in cursor]


async def open_on_subject(subject_id: str, lower_tenant_id: str) -> list[Oversight]:
    """The open oversights of one case or card held by ``lower_tenant_id`` (its case page's panel)."""
    cursor = Oversight.get_pymongo_collection().find({"lower_tenant_id": {"$eq": lower_tenant_id}, "subject_id": subject_id, "open": True})
    return [parse_obj(Oversight, raw) async for raw in cursor.limit(20)]


# -- deadlines -------------------------------------------------------------------------------------


def _text(value: str | None, field: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    return bounded_text(value, field, required=required, limit=limit)


def _day(value: str | None, today: date, field: str = "due_on") -> date | None:
    day = day_from_today(value, today, field)
    if day is not None and day > today + timedelta(days=3 * 366):
        raise InvalidInput(fields={field: {"zh": "期限不能超过三年", "en": "the deadline cannot be more than three years away"}})
    return day


def _working_days(value, field: str, *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(fields={field: {"zh": "请填写整数", "en": "a whole number"}}) from None
    if not low <= number <= high:
        raise InvalidInput(fields={field: {"zh": f"应在 {low} 到 {high} 之间", "en": f"between {low} and {high}"}})
    return number


def remind_day(calendar: WorkingCalendar, due: date, working_days: int, today: date) -> str | None:
    """The day ``working_days`` working days before ``due`` (not before today); None: no warning wanted."""
    if working_days <= 0:
        return None
    day, counted = due, 0
    while counted < working_days and day > today:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return max(day, today).isoformat()


async def _deadline(scope: TenantScope, today: date, due_on: str | None, working_days) -> tuple[date, WorkingCalendar]:
    calendar = await tenant_calendar(scope)
    day = _day(due_on, today)
    days = _working_days(working_days, "working_days", low=1, high=MAX_WORKING_DAYS)
    if day is None and days is None:
        raise InvalidInput(fields={"due_on": {"zh": "请填写办理期限（日期或工作日数）", "en": "give a deadline (a date or a number of working days)"}})
    return (day if day is not None else calendar.add_working_days(today, days)), calendar


# -- writes ----------------------------------------------------------------------------------------


def _changed_meanwhile() -> Conflict:
    return changed_meanwhile("这件督办事项", "this oversight")


def announce(record: Oversight, name: str, notify: list[str], now: datetime) -> None:
    carry(record, DomainEvent(name, record.tenant_id, str(record.id), {"notify_tenants": notify, "label": record.subject_label,
                                                                       "kind": record.subject_kind, "due_on": record.due_on}), now)


async def write(record: Oversight) -> bool:
    """One versioned write of the record in its owner's scope, then its events handed over; False: changed meanwhile."""
    if not await TenantScope(record.tenant_id).repo(Oversight).replace_versioned(record):
        return False
    await hand_over_carried(record)
    return True


async def _save(record: Oversight) -> Oversight:
    if not await write(record):
        raise _changed_meanwhile()
    return record


async def do_open(upper: Tenant, actor: Principal, *, subject_kind: SubjectKind, subject_ref: str, requirement: str,
                  due_on: str | None = None, working_days=None, remind_working_days=2, now: datetime | None = None) -> Oversight:
    """督办: ``upper`` supervises a lower body's handling of a case or card below it, with a deadline."""
    _require_role(actor)
    if subject_kind not in ("petition", "card"):
        raise InvalidInput(fields={"subject_kind": {"zh": "应为信访件或监督卡", "en": "petition or card"}})
    requirement = _text(requirement, "requirement", required=True)
    now = now or utcnow()
    today = china_today(now)
    scope = TenantScope(upper.id)
    due, calendar = await _deadline(scope, today, due_on, working_days)
    warn = _working_days(remind_working_days, "remind_working_days", low=0, high=30)
    subject = await find_below(subject_kind, subject_ref, upper)
    if await scope.repo(Oversight).find_one({"subject_id": str(subject.id), "open": True}) is not None:
        raise _already_open()
    record = Oversight(id=ObjectId(), tenant_id=str(upper.id), lower_tenant_id=subject.tenant_id, subject_kind=subject_kind,
                       subject_id=str(subject.id), subject_label=label_of(subject_kind, subject), requirement=requirement,
                       opened_by=actor.account_id, opened_by_name=actor.display_name, due_on=due.isoformat(),
                       remind_working_days=warn or 0, remind_on=remind_day(calendar, due, warn or 0, today), created_at=now,
                       open_key=str(subject.id))
    announce(record, "oversight.opened", [record.lower_tenant_id], now)
    try:  # the query above answers the usual case in words; the unique open_key holds when two open at once
        await scope.repo(Oversight).insert(record)
    except DuplicateKeyError:
        raise _already_open() from None
    await hand_over_carried(record)
    return record


def _already_open() -> Conflict:
    return Conflict({"zh": "本单位对这件事项已有正在进行的督办", "en": "this body already has an open oversight of it"})


def _closed_conflict(record: Oversight) -> Conflict:
    if record.withdrawn:
        return Conflict({"zh": "这件督办已撤销", "en": "this oversight was withdrawn"})
    return Conflict({"zh": "上级已采纳办理结果，督办已办结", "en": "the upper body already accepted the result"})


async def do_report(record: Oversight, side: Side, actor: Principal, *, text: str, uploads: list[Upload] = (),
                    now: datetime | None = None) -> Oversight:
    """The supervised body reports its result up (办理结果报送)."""
    _require_role(actor)
    _require_side(side, "lower")
    if record.state == OversightState.REPORTED:
        raise Conflict({"zh": "办理结果已报送，正待上级审核", "en": "a result report already awaits the upper body's decision"})
    if not record.open:
        raise _closed_conflict(record)
    text = _text(text, "text", required=True)
    now = now or utcnow()
    # The files are the lower body's (it wrote them): kept in its scope, named by this record (``petition_id`` holds
    # the record's id: they belong to no case), reached only through this record (``report_attachment``).
    files = [Attachment(id=ObjectId(), tenant_id=record.lower_tenant_id, petition_id=str(record.id), filename=u.filename[:200],
                        content_type=u.content_type, size=len(u.data), sha256=hashlib.sha256(u.data).hexdigest(), data=u.data)
             for u in uploads]
    record.reports.append(ResultReport(at=now, tenant_id=record.lower_tenant_id, actor=actor.account_id, actor_name=actor.display_name,
                                       text=text, attachment_ids=[str(f.id) for f in files]))
    record.state = OversightState.REPORTED
    announce(record, "oversight.reported", [record.tenant_id], now)
    for attachment in files:  # files first: a crash leaves files nothing refers to, never a report without its files
        await TenantScope(record.lower_tenant_id).repo(Attachment).insert(attachment)
    return await _save(record)


async def do_decide(record: Oversight, side: Side, actor: Principal, *, accept: bool, reason: str | None = None,
                    now: datetime | None = None) -> Oversight:
    """The upper body accepts the pending report (the oversight is closed) or returns it with a reason."""
    _require_role(actor)
    _require_side(side, "upper")
    report = record.pending_report()
    if report is None:
        raise Conflict({"zh": "没有待审核的办理结果", "en": "no result report awaits a decision"})
    reason = _text(reason, "reason", required=not accept, limit=2000)
    now = now or utcnow()
    report.status = ReportStatus.ACCEPTED if accept else ReportStatus.RETURNED
    report.decided_at, report.decided_by_name, report.reason = now, actor.display_name, reason or None
    if accept:
        record.state, record.open, record.closed_at, record.remind_on = OversightState.ACCEPTED, False, now, None
        record.finished_on = china_today(report.at).isoformat()
        record.close_key()
    else:
        record.state = OversightState.RETURNED
    announce(record, "oversight.accepted" if accept else "oversight.returned", [record.lower_tenant_id], now)
    return await _save(record)


async def do_remind(record: Oversight, side: Side, actor: Principal, *, message: str, due_on: str | None = None,
                    now: datetime | None = None) -> Oversight:
    """催办: the upper body urges the lower one, optionally with a new deadline (the escalation may then come again)."""
    _require_role(actor)
    _require_side(side, "upper")
    if not record.open:
        raise Conflict({"zh": "督办已撤销，无需催办", "en": "the oversight was withdrawn; nothing to remind"} if record.withdrawn
                       else {"zh": "督办已办结，无需催办", "en": "the oversight is closed; nothing to remind"})
    message = _text(message, "message", required=True, limit=2000)
    now = now or utcnow()
    today = china_today(now)
    new_due = _day(due_on, today)
    record.reminders.append(Reminder(at=now, tenant_id=record.tenant_id, actor=actor.account_id, actor_name=actor.display_name,
                                     message=message, due_on=new_due.isoformat() if new_due else None))
    if new_due is not None:
        calendar = await tenant_calendar(TenantScope(record.tenant_id))
        record.due_on, record.overdue = new_due.isoformat(), False
        record.remind_on = remind_day(calendar, new_due, record.remind_working_days, today)
    announce(record, "oversight.reminded", [record.lower_tenant_id], now)
    return await _save(record)


async def do_withdraw(record: Oversight, side: Side, actor: Principal, *, reason: str, now: datetime | None = None) -> Oversight:
    """撤销督办: a leader of the supervising body withdraws an open oversight, with a reason. The lower body is told
    (the event), the step is in the audit chain before the record changes, and the item leaves the open lists and
    the timeliness counts as 已撤销 (its reports and reminders are kept)."""
    _require_side(side, "upper")
    if not is_leader(actor):
        raise Forbidden({"zh": "只有督办单位的领导可以撤销督办", "en": "only a leader of the supervising body may withdraw it"})
    if not record.open:
        raise _closed_conflict(record)
    reason = _text(reason, "reason", required=True, limit=2000)
    now = now or utcnow()
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username,
                          action="oversight.withdrawn", purpose=f"撤销督办 {record.subject_label}：{reason}"[:500], subject=str(record.id),
                          tenant_ids=[record.tenant_id, record.lower_tenant_id], result_count=1)
    record.state, record.open, record.closed_at, record.remind_on, record.overdue = OversightState.WITHDRAWN, False, now, None, False
    record.withdrawn_by_name, record.withdraw_reason = actor.display_name, reason
    # A report still waiting stays as it was sent (not "returned": nobody judged it); the pages say it was never decided.
    record.close_key()
    announce(record, "oversight.withdrawn", [record.lower_tenant_id], now)
    return await _save(record)


async def report_attachment(record: Oversight, attachment_id: str) -> Attachment:
    """A file of one of the record's reports (either side may download it); the same 404 for anything else."""
    listed = any(attachment_id in r.attachment_ids for r in record.reports)
    return await listed_file(record.lower_tenant_id, str(record.id), attachment_id, listed)


async def attachment_rows(record: Oversight) -> dict[str, dict]:
    """id -> {id, filename, size} of the record's report files (kept under its id in the lower body's scope), without
    their bytes."""
    if not any(r.attachment_ids for r in record.reports):
        return {}
    return await files_kept_under(record.lower_tenant_id, str(record.id))
