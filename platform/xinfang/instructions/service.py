"""Instruction verbs (批示): write one on a case or card, report what was done, mark it fulfilled, ask again.

Who may do what (separation of duties):
* a leader (``instructions.write``) writes an instruction on a case or card their body can see: one of its
  own, or a lower body's case it assigned down and follows (``upper_level.access_followed_case``);
  the people named to act are accounts or roles of the body holding the case, never the writer;
* one of the named people (``petitions.act``, of the holding body) reports what was done;
* a leader of the writer's body marks it fulfilled or asks again, but never one who reported the action
  themselves: nobody confirms their own work (403).

Each change is one versioned write of the instruction carrying its event, from which the notices follow
(notify.py, through plugin.xinfang_handle_event). A case also gets a step on its timeline (staff-only), written
after the instruction's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import date, datetime, timedelta

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId

from ..auth.models import Role, StaffAccount
from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..events import DomainEvent, carry, hand_over_carried
from ..petitions import service as petitions
from ..petitions.models import Attachment, Petition, Step
from ..petitions.upper_level import access_followed_case
from ..records.guard import archive_number_of, archived_words
from ..store.documents import utcnow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.context import TenantContext
from .models import Instruction, InstructionState, InstructionStep

log = logging.getLogger(__name__)
MAX_TEXT = 2000
CASE_STEP_TRIES = 5
MAX_WORKING_DAYS = 120
MAX_DAYS_AHEAD = 366
ASSIGNABLE_ROLES = (Role.HANDLER.value, Role.REGISTRAR.value, Role.LEADER.value)
NOT_FOUND = {"zh": "没有这件批示", "en": "no such instruction"}
# The case timeline's words for these steps are display_words.PETITION_ACTION (petitions/views.py PLATFORM_STEPS).
CASE_STEP = {"written": "instruction_written", "acted": "instruction_acted", "fulfilled": "instruction_fulfilled",
             "asked_again": "instruction_asked_again"}


@dataclasses.dataclass
class Target:
    kind: str  # petition | supervision
    id: str
    tenant_id: str  # the body holding it
    label: str
    archived_number: str | None = None  # 归档号 once archived: closed for good, no new instruction on it


# -- access ----------------------------------------------------------------------------------------


async def access_target(ctx: TenantContext, principal: Principal, kind: str, target_id: str) -> Target:
    """A case or card this body may instruct on: its own, or (cases only) one it assigned down and follows."""
    if kind == "supervision":
        from ..cards.service import access_supervision

        card = await access_supervision(ctx.scope, target_id)
        return Target("supervision", str(card.id), ctx.tenant_id, f"{card.subject.name}" + (f"（{card.subject.unit}）" if card.subject.unit else ""),
                      await archive_number_of(ctx.scope, "supervision", card.id))
    try:
        petition = await petitions.access_petition(ctx, target_id)
    except NotFound:
        petition = await access_followed_case(principal, ctx.tenant, target_id)  # the same 404 when it is not followed
    return Target("petition", str(petition.id), petition.tenant_id, f"{petition.number} · {petition.title}",
                  await archive_number_of(TenantScope(petition.tenant_id), "petition", petition.id))


async def access_instruction(principal: Principal, tenant_id: str, instruction_id: str) -> Instruction:
    """An instruction this body holds (its staff act on it) or wrote; the same 404 for anything else."""
    if principal is None or principal.tenant_id != tenant_id:
        raise NotFound(NOT_FOUND)
    oid = parse_object_id(instruction_id)
    raw = await Instruction.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None or tenant_id not in (raw.get("tenant_id"), raw.get("author_tenant_id")):
        raise NotFound(NOT_FOUND)
    return parse_obj(Instruction, raw)


# -- checks ----------------------------------------------------------------------------------------


def _text(value, field: str, *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(fields={field: {"zh": "必填", "en": "required"}})
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={field: {"zh": f"最多 {MAX_TEXT} 个字", "en": f"at most {MAX_TEXT} characters"}})
    return text


async def due_date(holder_id: str, due_on: str | None, working_days: int | str | None, today: date) -> str:
    """The deadline on the holding body's working calendar: a date (a working day, not past) or N working days from today."""
    calendar = await petitions.tenant_calendar(TenantScope(holder_id))
    if working_days not in (None, ""):
        try:
            n = int(working_days)
        except (TypeError, ValueError):
            n = 0
        if not 1 <= n <= MAX_WORKING_DAYS:
            raise InvalidInput(fields={"due_working_days": {"zh": f"应为 1 到 {MAX_WORKING_DAYS} 个工作日",
                                                            "en": f"1 to {MAX_WORKING_DAYS} working days"}})
        return calendar.add_working_days(today, n).isoformat()
    text = (due_on or "").strip() if isinstance(due_on, str) else ""
    if not text:
        raise InvalidInput(fields={"due_on": {"zh": "请填写落实期限（日期或工作日数）", "en": "give a deadline (a date or a number of working days)"}})
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(fields={"due_on": {"zh": "日期格式应为 YYYY-MM-DD", "en": "dates must be YYYY-MM-DD"}}) from None
    if day < today:
        raise InvalidInput(fields={"due_on": {"zh": "期限不能早于今天", "en": "the deadline cannot be in the past"}})
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(fields={"due_on": {"zh": "期限最远一年以后", "en": "at most a year ahead"}})
    if not calendar.is_working_day(day):
        following = calendar.add_working_days(day, 1).isoformat()
        raise InvalidInput(fields={"due_on": {"zh": f"{text} 不是工作日，可选下一个工作日 {following}",
                                              "en": f"{text} is not a working day; the next one is {following}"}})
    return day.isoformat()


async def _assignees(holder_id: str, author: Principal, ids, roles) -> tuple[list[str], list[str], list[str]]:
    ids = [i for i in dict.fromkeys(ids or []) if isinstance(i, str) and i][:50]
    roles = [r for r in dict.fromkeys(roles or []) if isinstance(r, str) and r][:10]
    bad_roles = [r for r in roles if r not in ASSIGNABLE_ROLES]
    if bad_roles:
        raise InvalidInput(fields={"assignee_roles": {"zh": "只能指定登记员、承办人或领导", "en": "only registrar, handler or leader"}})
    if not ids and not roles:
        raise InvalidInput(fields={"assignees": {"zh": "请指定落实人（人员或角色）", "en": "name who must act (people or roles)"}})
    if author.account_id in ids:
        raise InvalidInput(fields={"assignee_ids": {"zh": "批示人不能指定自己落实", "en": "the writer cannot name themselves to act"}})
    repo = TenantScope(holder_id).repo(StaffAccount)
    names = []
    for account_id in ids:
        account = await repo.get(account_id)
        if account is None or not account.active:
            raise InvalidInput(fields={"assignee_ids": {"zh": "落实人须是办理该件单位的在职人员", "en": "people named must be active staff of the body holding the case"}})
        names.append(account.display_name)
    from ..display_words import words

    names += [words("role")[r]["zh"] + "（全部）" for r in roles]
    return ids, roles, names


def _step(instruction: Instruction, kind: str, actor: Principal | None, now: datetime, text: str = "", due_on: str | None = None,
          attachment_ids: list[str] = ()) -> None:
    instruction.steps.append(InstructionStep(at=now, kind=kind, tenant_id=actor.tenant_id if actor else instruction.tenant_id,
                                             actor_id=actor.account_id if actor else "system",
                                             actor_name=actor.display_name if actor else "系统 system", text=text, due_on=due_on,
                                             attachment_ids=list(attachment_ids)))


def carry_step(instruction: Instruction, kind: str) -> None:
    """The event of the step just appended, carried by the write that records it (its number keys the notices)."""
    carry(instruction, DomainEvent(f"instruction.{kind}", instruction.tenant_id, str(instruction.id),
                                   {"kind": kind, "step": len(instruction.steps)}))


async def _save(instruction: Instruction, kind: str) -> Instruction:
    carry_step(instruction, kind)
    if not await TenantScope(instruction.tenant_id).repo(Instruction).replace_versioned(instruction):
        raise changed_meanwhile("这件批示", "this instruction")
    await hand_over_carried(instruction)
    return instruction


async def _case_step(instruction: Instruction, kind: str, actor: Principal, now: datetime, fields: dict[str, str]) -> None:
    """The step on the case's own timeline (staff only), in the body holding it: read, append, versioned write, a few
    tries when a caseworker wrote the case meanwhile. (Not ``$push``: the embedded store turns the array's existing
    subdocuments into strings on a push.)"""
    if instruction.target_kind != "petition":
        return
    if await archive_number_of(TenantScope(instruction.tenant_id), "petition", instruction.target_id):
        return  # archived since: the frozen case is not written to; the instruction keeps its own steps
    step = Step(at=now, tenant_id=actor.tenant_id, actor=actor.account_id, actor_name=actor.display_name, action=CASE_STEP[kind],
                public=False, fields={k: v for k, v in fields.items() if v})
    repo = TenantScope(instruction.tenant_id).repo(Petition)
    for _ in range(CASE_STEP_TRIES):
        petition = await repo.get(instruction.target_id)
        if petition is None:  # moved on to another body since: the instruction keeps its own steps
            return
        petition.steps.append(step)
        if await repo.replace_versioned(petition):
            return
    log.warning("instruction %s: the case %s kept changing; its timeline misses the %s step", instruction.id, instruction.target_id, kind)


# -- verbs -----------------------------------------------------------------------------------------


async def do_write_instruction(author: Principal, target: Target, *, text, assignee_ids=(), assignee_roles=(), due_on=None,
                               due_working_days=None, now: datetime | None = None) -> Instruction:
    if target.archived_number:  # the case or card is closed for good: a new matter is a new case (409 in words)
        raise Conflict(archived_words(target.archived_number))
    now = now or utcnow()
    text = _text(text, "text", required=True)
    ids, roles, names = await _assignees(target.tenant_id, author, assignee_ids, assignee_roles)
    due = await due_date(target.tenant_id, due_on, due_working_days, petitions.china_today(now))
    instruction = Instruction(tenant_id=target.tenant_id, author_tenant_id=author.tenant_id, author_id=author.account_id,
                              author_name=author.display_name, target_kind=target.kind, target_id=target.id, target_label=target.label[:300],
                              text=text, assignee_ids=ids, assignee_roles=roles, assignee_names=names, due_on=due, created_at=now)
    instruction.id = ObjectId()  # its event names it before the insert
    _step(instruction, "written", author, now, text, due)
    carry_step(instruction, "written")
    await TenantScope(target.tenant_id).repo(Instruction).insert(instruction)
    await hand_over_carried(instruction)
    await _case_step(instruction, "written", author, now, {"opinion": f"{text}（落实：{'、'.join(names)}；期限：{due}）"})
    return instruction


async def do_record_action(instruction: Instruction, actor: Principal, *, text, uploads: list[petitions.Upload] = (),
                           now: datetime | None = None) -> Instruction:
    """One of the people named reports what was done, with files if any (checked by their content before this is called:
    petitions/uploads.py); the leader's side then checks it. The files are kept in the holding body's scope under the
    instruction's id (``Attachment.petition_id``: they belong to no case) and reached only through the instruction."""
    if actor.tenant_id != instruction.tenant_id or not instruction.names(actor.account_id, actor.roles):
        raise Forbidden({"zh": "您不是这件批示指定的落实人", "en": "you are not named to act on this instruction"})
    if actor.account_id == instruction.author_id:
        raise Forbidden({"zh": "批示人不能自己报告落实情况", "en": "the writer cannot report action on their own instruction"})
    if instruction.state != InstructionState.OPEN:
        raise Conflict({"zh": "落实情况已报告，正待领导确认" if instruction.state == InstructionState.ACTED else "这件批示已落实办结",
                        "en": "action was already reported" if instruction.state == InstructionState.ACTED else "this instruction is fulfilled"})
    now = now or utcnow()
    text = _text(text, "text", required=True)
    instruction.state = InstructionState.ACTED
    if actor.account_id not in instruction.acted_by:
        instruction.acted_by.append(actor.account_id)
    files = [Attachment(id=ObjectId(), tenant_id=instruction.tenant_id, petition_id=str(instruction.id), filename=u.filename[:200],
                        content_type=u.content_type, size=len(u.data), sha256=hashlib.sha256(u.data).hexdigest(), data=u.data)
             for u in uploads]
    _step(instruction, "acted", actor, now, text, attachment_ids=[str(f.id) for f in files])
    for attachment in files:  # files first: a crash leaves files nothing refers to, never a report without its files
        await TenantScope(instruction.tenant_id).repo(Attachment).insert(attachment)
    await _save(instruction, "acted")
    await _case_step(instruction, "acted", actor, now, {"report": text})
    return instruction


def _require_leader_side(instruction: Instruction, actor: Principal) -> None:
    if actor.tenant_id != instruction.author_tenant_id:
        raise Forbidden({"zh": "只有作出批示的单位的领导可以确认", "en": "only a leader of the body that wrote it may decide"})
    if actor.account_id in instruction.acted_by:
        raise Forbidden({"zh": "您报告了这件批示的落实情况，不能由您本人确认（请另一位领导确认）",
                         "en": "you reported the action yourself: another leader must confirm it"})


async def do_fulfil(instruction: Instruction, actor: Principal, *, note=None, now: datetime | None = None) -> Instruction:
    """The leader's side: the action reported is enough; the instruction is fulfilled."""
    _require_leader_side(instruction, actor)
    if instruction.state != InstructionState.ACTED:
        raise Conflict({"zh": "还没有报告落实情况，不能确认办结" if instruction.state == InstructionState.OPEN else "这件批示已落实办结",
                        "en": "no action reported yet" if instruction.state == InstructionState.OPEN else "already fulfilled"})
    now = now or utcnow()
    note = _text(note, "note", required=False)
    instruction.state, instruction.fulfilled_at, instruction.overdue = InstructionState.FULFILLED, now, False
    _step(instruction, "fulfilled", actor, now, note)
    await _save(instruction, "fulfilled")
    await _case_step(instruction, "fulfilled", actor, now, {"opinion": note})
    return instruction


async def do_ask_again(instruction: Instruction, actor: Principal, *, text, due_on=None, due_working_days=None,
                       now: datetime | None = None) -> Instruction:
    """The leader's side: not enough yet (or nothing reported): act again, optionally by a new date."""
    _require_leader_side(instruction, actor)
    if instruction.state == InstructionState.FULFILLED:
        raise Conflict({"zh": "这件批示已落实办结", "en": "this instruction is fulfilled"})
    now = now or utcnow()
    text = _text(text, "text", required=True)
    if (isinstance(due_on, str) and due_on.strip()) or due_working_days not in (None, ""):
        instruction.due_on = await due_date(instruction.tenant_id, due_on, due_working_days, petitions.china_today(now))
        instruction.overdue = False  # a new date: the beat may flag it again once this one passes
    instruction.state = InstructionState.OPEN
    _step(instruction, "asked_again", actor, now, text, instruction.due_on)
    await _save(instruction, "asked_again")
    await _case_step(instruction, "asked_again", actor, now, {"reason": f"{text}（期限：{instruction.due_on}）"})
    return instruction


async def action_attachment(instruction: Instruction, attachment_id: str) -> Attachment:
    """A file of an action report, for the holding and the writing body alike; the same 404 for anything else."""
    from ..petitions.page_lookups import listed_file

    listed = any(attachment_id in s.attachment_ids for s in instruction.steps)
    return await listed_file(instruction.tenant_id, str(instruction.id), attachment_id, listed)


async def attachment_rows(instruction: Instruction) -> dict[str, dict]:
    """id -> {id, filename, size, size_text} of the instruction's files, without their bytes (one indexed find)."""
    if not any(s.attachment_ids for s in instruction.steps):
        return {}
    from ..petitions.page_lookups import files_kept_under, human_size

    files = await files_kept_under(instruction.tenant_id, str(instruction.id))
    return {key: {**row, "size_text": human_size(row["size"])} for key, row in files.items()}
