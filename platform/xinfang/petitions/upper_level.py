"""Following a case assigned down (交办下级): the upper body reads it, the lower body reports its result
(办理结果报送), the upper body accepts or returns the report and reminds the lower body (督办).

After 交办下级 the petition lives in the lower tenant (``service._move``); the upper tenant's own scope no
longer finds it. ``service.do_transition`` then records the assignment on the petition
(``followed_by``, ``down_assignments``: upper_level_models.py), and this module is the one door through
which the upper tenant reaches it again:

* ``access_followed_case`` reads a petition of another tenant only if the caller's tenant is in its
  ``followed_by``, that is, if this very tenant assigned it down. Ancestors further up that did not
  assign it get the same 404 as for an id that does not exist: following is a consequence of
  handing the case over, not of rank (a province sees a county's case only if the province assigned it).
  The petitioner's identity is never shown here: it stays sealed with the holding tenant's key.
* The upper tenant's writes (accept, return, remind) go to the petition in the holding tenant's scope,
  after that check, as one versioned write that carries its event; the lower tenant's report is a
  write in its own scope. Each step also joins the case's timeline (staff-only, never public).
* Notifications go through the events mechanism: the write carries ``petition.result_*`` /
  ``petition.reminded``, and ``notify_for`` (plugin.xinfang_handle_event) tells the other tenant's
  handlers and leaders.

Not covered: a case assigned down twice (巴州 -> 库尔勒 -> a township). Each assignment is followed by
the body that made it, and the body holding the case reports to the one that assigned it to it; a body
in the middle no longer holds the case and cannot report further up on the first assignment.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId

from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, NotFound, changed_meanwhile
from ..events import DomainEvent, carry, hand_over_carried
from ..store.documents import utcnow
from ..store.scoped import TenantScope, count_matching, parse_object_id
from ..tenancy.context import TenantContext
from ..tenancy.models import Tenant
from .models import CHANNEL_NAMES, Attachment, Petition, Step
from .page_lookups import STAFF_ID_FIELDS, attachment_rows, receiving_body_names, staff_names
from .service import MAX_TEXT, Upload, china_today, tenant_workflow
from .upper_level_models import (FOLLOW_STATUS_NAMES, REPORT_STATUS_NAMES, DownAssignment, FollowStatus, Reminder,
                                 ReportStatus, ResultReport)
from .level_steps import STEP_ROLES, bounded_text, day_from_today, takes_steps
from .views import ACTION_NAMES
from .workflow import Workflow


# The timeline words of this module's steps (result_reported, result_accepted, result_returned, upper_reminder)
# are views.ACTION_NAMES, from the display-word registry.

EVENTS = {
    # event name -> (notification kind, its message: wording and default words in notifications/wording.py)
    "petition.result_reported": ("result_report", "result_reported"),
    "petition.result_accepted": ("result_decided", "result_accepted"),
    "petition.result_returned": ("result_decided", "result_returned"),
    "petition.reminded": ("upper_reminder", "upper_reminder"),
}

UNKNOWN_ACCOUNT = {"zh": "（已删除的账号）", "en": "(deleted account)"}
NOT_FOLLOWED = {"zh": "没有这件交办件", "en": "no such assigned case"}
MAX_REASON = 2000


def _not_found() -> NotFound:
    return NotFound(NOT_FOLLOWED)


# -- access ----------------------------------------------------------------------------------------


async def access_followed_case(principal: Principal, upper_tenant: Tenant, petition_id: str) -> Petition:
    """The petition ``upper_tenant`` assigned down, wherever it is now; the same 404 for anything else.

    The caller must be staff of ``upper_tenant`` (the route's ``@requires`` has checked the permission
    in the request's tenant; this checks the tenant once more, so a helper called elsewhere cannot
    lend a follow to another tenant). The read is across tenants by design: the petition is parsed
    only when its ``followed_by`` names this tenant.
    """
    upper_id = str(upper_tenant.id)
    if principal is None or principal.tenant_id != upper_id:
        raise _not_found()
    oid = parse_object_id(petition_id)
    # By _id alone, then checked here (the embedded store's find misses an array field's $eq; see followed_cases).
    raw = await Petition.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None or upper_id not in (raw.get("followed_by") or []):
        raise _not_found()
    return parse_obj(Petition, raw)


def assignment_of_upper(petition: Petition, upper_tenant_id: str) -> DownAssignment:
    """The latest assignment down ``upper_tenant_id`` made of this case (it exists: access checked ``followed_by``)."""
    for assignment in reversed(petition.down_assignments):
        if assignment.upper_tenant_id == upper_tenant_id:
            return assignment
    raise _not_found()


def assignment_of_lower(petition: Petition, lower_tenant_id: str) -> DownAssignment | None:
    """The latest assignment down to ``lower_tenant_id``, if the case came to it that way and it still holds it."""
    if petition.tenant_id != lower_tenant_id:
        return None
    return next((a for a in reversed(petition.down_assignments) if a.lower_tenant_id == lower_tenant_id), None)


def _require_role(principal: Principal) -> None:
    if not takes_steps(principal):
        raise Forbidden({"zh": "只有承办人或领导可以办理此步骤", "en": "only a handler or a leader may take this step"})


def can_report(petition: Petition, tenant_id: str, principal: Principal | None) -> bool:
    assignment = assignment_of_lower(petition, tenant_id)
    return (assignment is not None and assignment.status in (FollowStatus.AWAITING_REPORT, FollowStatus.RETURNED)
            and takes_steps(principal))


def upper_actions(assignment: DownAssignment, principal: Principal) -> list[str]:
    """The steps the upper body's ``principal`` may take now: accept / return a pending report, remind."""
    if not takes_steps(principal) or assignment.status == FollowStatus.ACCEPTED:
        return []
    return (["accept", "return"] if assignment.status == FollowStatus.REPORTED else []) + ["remind"]


# -- listing ---------------------------------------------------------------------------------------


async def followed_cases(upper_tenant_id: str, *, page: int = 1, page_size: int = 20) -> tuple[list[Petition], int]:
    """The cases this tenant assigned down, newest first (whichever tenant holds them now)."""
    # $in, not $eq: the embedded store counts an array field's equality but its find returns nothing for it.
    query = {"followed_by": {"$in": [upper_tenant_id]}}
    collection = Petition.get_pymongo_collection()
    total = await count_matching(collection, query)  # through the index on the embedded store too (store/scoped.py)
    page = min(max(page, 1), 100_000)
    cursor = collection.find(query).sort([("created_at", -1)]).skip((page - 1) * page_size).limit(page_size)
    return [parse_obj(Petition, raw) async for raw in cursor], total


# -- writes ----------------------------------------------------------------------------------------


def _changed_meanwhile() -> Conflict:
    return changed_meanwhile("这件信访件", "this petition")


async def _write(petition: Petition, event_name: str, notify_tenant: str, actor: Principal, now: datetime) -> Petition:
    """One versioned write of the petition in the tenant that holds it, carrying the event that notifies."""
    carry(petition, DomainEvent(event_name, petition.tenant_id, str(petition.id),
                                {"notify_tenant": notify_tenant, "number": petition.number, "actor_id": actor.account_id}), now)
    if not await TenantScope(petition.tenant_id).repo(Petition).replace_versioned(petition):
        raise _changed_meanwhile()
    await hand_over_carried(petition)
    return petition


def _step(tenant_id: str, actor: Principal, action: str, fields: dict[str, str], now: datetime) -> Step:
    return Step(at=now, tenant_id=tenant_id, actor=actor.account_id, actor_name=actor.display_name, action=action,
                public=False, fields=fields)


async def do_report_result(ctx: TenantContext, petition: Petition, actor: Principal, *, text: str,
                           uploads: list[Upload] = (), now: datetime | None = None) -> Petition:
    """办理结果报送: the lower body (``ctx``, holding the case) reports its result to the body that assigned it."""
    _require_role(actor)
    assignment = assignment_of_lower(petition, ctx.tenant_id)
    if assignment is None:
        raise Conflict({"zh": "这件信访件不是上级交办来的，无需报送", "en": "this case was not assigned here by an upper body"})
    if assignment.status == FollowStatus.REPORTED:
        raise Conflict({"zh": "办理结果已报送，正待上级审核", "en": "a result report already awaits the upper body's decision"})
    if assignment.status == FollowStatus.ACCEPTED:
        raise Conflict({"zh": "上级已采纳办理结果，交办已办结", "en": "the upper body already accepted the result"})
    text = bounded_text(text, "text", required=True, limit=MAX_TEXT)
    now = now or utcnow()
    attachments = [Attachment(id=ObjectId(), tenant_id=ctx.tenant_id, petition_id=str(petition.id), filename=u.filename[:200],
                              content_type=u.content_type, size=len(u.data), sha256=hashlib.sha256(u.data).hexdigest(), data=u.data)
                   for u in uploads]
    assignment.reports.append(ResultReport(at=now, tenant_id=ctx.tenant_id, actor=actor.account_id, actor_name=actor.display_name,
                                           text=text, attachment_ids=[str(a.id) for a in attachments]))
    petition.attachment_ids += [str(a.id) for a in attachments]
    petition.steps.append(_step(ctx.tenant_id, actor, "result_reported", {"report": text}, now))
    for attachment in attachments:  # files first: a crash leaves files nothing refers to, never a report without them
        await ctx.scope.repo(Attachment).insert(attachment)
    return await _write(petition, "petition.result_reported", assignment.upper_tenant_id, actor, now)


async def do_decide_report(upper_tenant: Tenant, petition: Petition, actor: Principal, *, accept: bool,
                           reason: str | None = None, now: datetime | None = None) -> Petition:
    """The upper body accepts the pending result report, or returns it with a reason (the lower body reports again)."""
    _require_role(actor)
    upper_id = str(upper_tenant.id)
    assignment = assignment_of_upper(petition, upper_id)
    report = assignment.pending_report()
    if report is None:
        raise Conflict({"zh": "没有待审核的办理结果", "en": "no result report awaits a decision"})
    reason = bounded_text(reason, "reason", required=not accept, limit=MAX_REASON)
    now = now or utcnow()
    report.status = ReportStatus.ACCEPTED if accept else ReportStatus.RETURNED
    report.decided_at, report.decided_by_name, report.reason = now, actor.display_name, reason or None
    petition.steps.append(_step(upper_id, actor, "result_accepted" if accept else "result_returned",
                                {"reason": reason} if reason else {}, now))
    return await _write(petition, "petition.result_accepted" if accept else "petition.result_returned",
                        assignment.lower_tenant_id, actor, now)


NEW_DATE_IN_THE_PAST = {"zh": "新的期限不能早于今天", "en": "the new date cannot be in the past"}


async def do_remind(upper_tenant: Tenant, petition: Petition, actor: Principal, *, message: str,
                    due_on: str | None = None, now: datetime | None = None) -> Petition:
    """督办: the upper body urges the lower one, optionally with a new date for the result report."""
    _require_role(actor)
    upper_id = str(upper_tenant.id)
    assignment = assignment_of_upper(petition, upper_id)
    if assignment.status == FollowStatus.ACCEPTED:
        raise Conflict({"zh": "办理结果已采纳，无需督办", "en": "the result was accepted; nothing to remind"})
    now = now or utcnow()
    message = bounded_text(message, "message", required=True, limit=MAX_REASON)
    new_day = day_from_today(due_on, china_today(now), past=NEW_DATE_IN_THE_PAST)
    new_due = new_day.isoformat() if new_day else None
    assignment.reminders.append(Reminder(at=now, tenant_id=upper_id, actor=actor.account_id, actor_name=actor.display_name,
                                         message=message, due_on=new_due))
    if new_due:
        assignment.report_due_on = new_due
    petition.steps.append(_step(upper_id, actor, "upper_reminder",
                                {"message": message, **({"report_due_on": new_due} if new_due else {})}, now))
    return await _write(petition, "petition.reminded", assignment.lower_tenant_id, actor, now)


# -- notifications ---------------------------------------------------------------------------------


async def notify_for(event) -> None:
    """Tell the other side's handlers and leaders (plugin.xinfang_handle_event); idempotent per event."""
    if event.name not in EVENTS or not event.subject_id:
        return
    notify_tenant = (event.data or {}).get("notify_tenant")
    if not notify_tenant or parse_object_id(notify_tenant) is None:
        return
    from ..notifications.service import do_notify
    from ..notifications.wording import worded

    kind, message = EVENTS[event.name]
    number = str((event.data or {}).get("number", ""))
    # The upper body opens the followed case; the lower body its own case page.
    link = f"/api/followed/{event.subject_id}" if event.name == "petition.result_reported" else f"/api/petitions/{event.subject_id}"
    scope = TenantScope(notify_tenant)  # the receiving body's inbox, in its own wording
    await do_notify(scope, f"upper-level:{event.id}", kind=kind, roles=sorted(STEP_ROLES),
                    text=await worded(scope, message, {"case_number": number}), link=link, subject_id=event.subject_id)


# -- views -----------------------------------------------------------------------------------------


async def _tenants(ids: set[str]) -> dict[str, Tenant]:
    oids = [oid for oid in (parse_object_id(i) for i in ids) if oid is not None]
    return {str(t.id): t for t in await Tenant.find({"_id": {"$in": oids}}).to_list()} if oids else {}


def _tenant_name(tenants: dict[str, Tenant], tenant_id: str) -> dict:
    tenant = tenants.get(tenant_id)
    return tenant.name.model_dump() if tenant else {"zh": "（已撤销的单位）", "en": "(a body no longer active)"}


def _state_name(workflow: Workflow, key: str | None) -> dict | None:
    if key is None:
        return None
    state = next((s for s in workflow.states if s.key == key), None)
    return state.name.model_dump() if state else {"zh": "（其他状态）", "en": "(another state)"}


def _action_name(workflow: Workflow, key: str) -> dict:
    transition = workflow.transition(key)
    if transition:
        return transition.name.model_dump()
    return ACTION_NAMES.get(key) or {"zh": "（其他步骤）", "en": "(another step)"}


def report_view(report: ResultReport, tenants: dict[str, Tenant], files: dict[str, dict]) -> dict:
    return {
        "id": report.id, "at": report.at.isoformat(), "tenant": _tenant_name(tenants, report.tenant_id),
        "actor_name": report.actor_name, "text": report.text,
        "attachments": [files[a] for a in report.attachment_ids if a in files],
        "status": report.status.value, "status_name": REPORT_STATUS_NAMES[report.status],
        "decided_at": report.decided_at.isoformat() if report.decided_at else None,
        "decided_by_name": report.decided_by_name, "reason": report.reason,
    }


def reminder_view(reminder: Reminder, tenants: dict[str, Tenant]) -> dict:
    return {"at": reminder.at.isoformat(), "tenant": _tenant_name(tenants, reminder.tenant_id), "actor_name": reminder.actor_name,
            "message": reminder.message, "due_on": reminder.due_on}


def assignment_view(assignment: DownAssignment, tenants: dict[str, Tenant], files: dict[str, dict], today_iso: str) -> dict:
    last = assignment.reports[-1] if assignment.reports else None
    return {
        "upper_tenant": _tenant_name(tenants, assignment.upper_tenant_id),
        "lower_tenant": _tenant_name(tenants, assignment.lower_tenant_id),
        "assigned_at": assignment.at.isoformat(),
        "report_due_on": assignment.report_due_on,
        "overdue": assignment.overdue(today_iso),
        "status": assignment.status.value,
        "status_name": FOLLOW_STATUS_NAMES[assignment.status],
        "reports": [report_view(r, tenants, files) for r in assignment.reports],
        "last_report": report_view(last, tenants, files) if last else None,
        "reminders": [reminder_view(r, tenants) for r in assignment.reminders],
        "reminder_count": len(assignment.reminders),
    }


async def _workflows(tenant_ids: set[str]) -> dict[str, Workflow]:
    return {tid: await tenant_workflow(TenantScope(tid)) for tid in tenant_ids if parse_object_id(tid) is not None}


async def followed_summary(petition: Petition, upper_tenant_id: str, tenants: dict[str, Tenant], workflows: dict[str, Workflow],
                           today_iso: str) -> dict:
    """One row of the upper body's list: the case, where it is, its state and deadline, the report's status."""
    assignment = assignment_of_upper(petition, upper_tenant_id)
    holder = petition.tenant_id
    return {
        "id": str(petition.id), "number": petition.number, "title": petition.title, "subject_name": petition.subject_name,
        "holder": _tenant_name(tenants, holder),
        "state": petition.state, "state_name": _state_name(workflows[holder], petition.state),
        "due_on": petition.due_on, "overdue": petition.overdue,
        "assignment": assignment_view(assignment, tenants, {}, today_iso),
    }


async def list_view(petitions: list[Petition], upper_tenant_id: str, today_iso: str) -> list[dict]:
    holders = {p.tenant_id for p in petitions}
    involved = holders | {a.lower_tenant_id for p in petitions for a in p.down_assignments} | {upper_tenant_id}
    tenants, workflows = await _tenants(involved), await _workflows(holders)
    return [await followed_summary(p, upper_tenant_id, tenants, workflows, today_iso) for p in petitions]


async def followed_view(petition: Petition, upper_tenant_id: str, principal: Principal, today_iso: str, lang: str = "zh") -> dict:
    """The upper body's read-only page of a case it assigned down: facts, state, deadline, the timeline
    in words, the assignment with its reports and reminders, and the steps it may take. Never the
    petitioner's identity (it stays sealed in the holding tenant)."""
    step_tenants = {s.tenant_id for s in petition.steps}
    involved = step_tenants | {petition.tenant_id, upper_tenant_id} | {a.lower_tenant_id for a in petition.down_assignments}
    tenants, workflows = await _tenants(involved), await _workflows(step_tenants | {petition.tenant_id})
    names = await staff_names(petition)
    bodies = await receiving_body_names(petition)
    files = {row["id"]: {"id": row["id"], "filename": row["filename"], "size": row["size"]} for row in await attachment_rows(petition)}
    report_files = {a for asg in petition.down_assignments for r in asg.reports for a in r.attachment_ids}
    timeline = []
    for step in petition.steps:
        workflow = workflows.get(step.tenant_id) or workflows[petition.tenant_id]
        fields = dict(step.fields)
        for name in STAFF_ID_FIELDS:  # an assignee's id reads as a name
            if fields.get(name):
                fields[name] = names.get((step.tenant_id, fields[name]), UNKNOWN_ACCOUNT[lang])
        if fields.get("channel") in CHANNEL_NAMES:  # codes read as words
            fields["channel"] = CHANNEL_NAMES[fields["channel"]][lang]
        if fields.get("target_tenant") in bodies:
            fields["target_tenant"] = bodies[fields["target_tenant"]][lang]
        timeline.append({"at": step.at.isoformat(), "tenant": _tenant_name(tenants, step.tenant_id), "action": step.action,
                         "action_name": _action_name(workflow, step.action), "state_name": _state_name(workflow, step.to_state),
                         "actor_name": step.actor_name, "fields": fields})
    assignment = assignment_of_upper(petition, upper_tenant_id)
    return {
        "id": str(petition.id), "number": petition.number, "title": petition.title, "subject_name": petition.subject_name,
        "channel": CHANNEL_NAMES[petition.channel], "anonymous": petition.anonymous, "filed_at": petition.created_at.isoformat(),
        "answers": petition.answers,
        "holder": _tenant_name(tenants, petition.tenant_id),
        "state": petition.state, "state_name": _state_name(workflows[petition.tenant_id], petition.state),
        "due_on": petition.due_on, "overdue": petition.overdue,
        "attachments": [f for aid, f in files.items() if aid not in report_files],
        "assignment": assignment_view(assignment, tenants, files, today_iso),
        "timeline": timeline,
        "actions": upper_actions(assignment, principal),
    }


async def lower_view(petition: Petition, tenant_id: str, principal: Principal | None, today_iso: str) -> dict | None:
    """The lower body's side of the assignment (its case page's panel and API): who assigned it, the
    reminders, the reports and decisions, whether it may report now. None: not assigned here."""
    assignment = assignment_of_lower(petition, tenant_id)
    if assignment is None:
        return None
    tenants = await _tenants({assignment.upper_tenant_id, assignment.lower_tenant_id})
    files = {row["id"]: {"id": row["id"], "filename": row["filename"], "size": row["size"]} for row in await attachment_rows(petition)}
    view = assignment_view(assignment, tenants, files, today_iso)
    view["can_report"] = can_report(petition, tenant_id, principal)
    return view
