"""Petition verbs: submit, register, move through the workflow, supplement; the only code that changes petitions."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bson import ObjectId

from ..auth.models import Role, StaffAccount
from ..auth.principal import Principal
from ..calendar import TenantCalendarRules, WorkingCalendar
from ..crypto import KeyRing
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..events import DomainEvent, unit_of_work
from ..forms.models import FormVersion
from ..forms.schema_safety import validate_submission
from ..store.cache import tenant_config
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..tenancy.context import TenantContext
from ..tenancy.models import Tenant
from .models import Attachment, CalendarRules, CaseCounter, Channel, Petition, Receipt, Step
from .workflow import CITIZEN, TenantWorkflow, Transition, Workflow, default_workflow

CHINA = ZoneInfo("Asia/Shanghai")
MAX_TEXT = 5000
RECEIPT_DIGITS = 16


def china_today(now: datetime | None = None) -> date:
    """Time limits run in China's calendar days, whatever the server's time zone."""
    return (now or utcnow()).astimezone(CHINA).date()


# -- tenant configuration -------------------------------------------------------------------------


async def tenant_workflow(scope: TenantScope) -> Workflow:
    async def load():
        row = await scope.repo(TenantWorkflow).find_one({})
        return row.definition if row else default_workflow()

    return await tenant_config.get(("workflow", scope.tenant_id), load)


async def tenant_calendar(scope: TenantScope) -> WorkingCalendar:
    async def load():
        row = await scope.repo(CalendarRules).find_one({})
        if row is None:
            return WorkingCalendar()
        return WorkingCalendar(TenantCalendarRules(
            holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
            workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        ))

    return await tenant_config.get(("calendar", scope.tenant_id), load)


async def _deadline(scope: TenantScope, workflow: Workflow, rule: str, start: date) -> str:
    period = workflow.time_limits[rule]
    calendar = await tenant_calendar(scope)
    return calendar.due_date(start, period.amount, period.unit.value).isoformat()


# -- receipts -----------------------------------------------------------------------------------


def new_receipt() -> str:
    return f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def normalise_receipt(text: str) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())[:64]


async def hash_receipt(keyring: KeyRing, receipt: str) -> str:
    return await asyncio.to_thread(keyring.receipt_hash, receipt)


async def find_by_receipt(keyring: KeyRing, receipt_text: str) -> tuple[Receipt, Petition] | None:
    """Always one slow hash and one indexed lookup, whatever the input, so timing tells nothing."""
    digits = normalise_receipt(receipt_text)
    receipt_hash = await hash_receipt(keyring, digits if len(digits) == RECEIPT_DIGITS else "x" + digits)
    row = await Receipt.find_one({"receipt_hash": receipt_hash})
    if row is None or len(digits) != RECEIPT_DIGITS:
        return None
    petition = await TenantScope(row.tenant_id).repo(Petition).get(row.petition_id)
    return (row, petition) if petition else None


# -- submission ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def identity_keys(schema: dict) -> set[str]:
    return {k for k, v in schema.get("properties", {}).items() if isinstance(v, dict) and v.get("x-identity")}


def petitioner_key(keyring: KeyRing, identity: dict) -> str | None:
    """Who sent it, as a keyed hash: the identity number if given (the strongest), else the phone number."""
    for field, kind in (("id_number", "id"), ("phone", "phone")):
        value = identity.get(field)
        if isinstance(value, str):
            canonical = "".join(ch for ch in unicodedata.normalize("NFKC", value).upper() if ch.isalnum())
            if len(canonical) >= 6:
                return keyring.petitioner_hash(f"{kind}:{canonical}")
    return None


def _title_of(answers: dict, form: FormVersion) -> str:
    for key in ("title", "topic"):
        if isinstance(answers.get(key), str) and answers[key].strip():
            return answers[key].strip()[:100]
    content = answers.get("content")
    if isinstance(content, str) and content.strip():
        return content.strip().replace("\n", " ")[:40]
    return form.title()["zh"]


def _subject_of(answers: dict) -> str | None:
    subject = answers.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("name"), str):
        return subject["name"][:100]
    return None


def field_errors(errors) -> InvalidInput:
    fields = {e.path or "body": {"zh": e.zh, "en": e.en} for e in errors}
    return InvalidInput({"zh": "请修改标出的内容后再提交", "en": "please correct the fields marked"}, fields=fields)


async def _next_number(ctx: TenantContext, now: datetime) -> str:
    year = str(china_today(now).year)
    n = await ctx.scope.repo(CaseCounter).increment({"key": year}, "n")
    return f"{ctx.tenant.slug.upper()}-{year}-{n:06d}"


async def do_submit_petition(
    ctx: TenantContext, keyring: KeyRing, form: FormVersion, *, answers: dict, anonymous: bool,
    channel: Channel = Channel.ONLINE, registered_by: Principal | None = None,
    uploads: list[Upload] = (), now: datetime | None = None,
) -> tuple[Petition, str]:
    """Validate, seal the identity, store petition + receipt + event in one transaction.

    Returns the petition and the receipt, which exists in clear only in this
    return value: the database keeps its slow hash.
    """
    errors = validate_submission(form.json_schema, answers, anonymous=anonymous)
    if errors:
        raise field_errors(errors)
    now = now or utcnow()
    secret_keys = identity_keys(form.json_schema)
    identity = {k: v for k, v in answers.items() if k in secret_keys}
    public_answers = {k: v for k, v in answers.items() if k not in secret_keys}
    workflow = await tenant_workflow(ctx.scope)
    petition_id = ObjectId()
    receipt = new_receipt()
    receipt_hash = await hash_receipt(keyring, receipt)
    initial = workflow.state(workflow.initial)
    actor = registered_by
    petition = Petition(
        id=petition_id,
        tenant_id=ctx.tenant_id,
        number=await _next_number(ctx, now),
        origin_tenant_id=ctx.tenant_id,
        form_key=form.key, form_version=form.version, form_digest=form.digest, kind=form.kind,
        channel=channel, anonymous=anonymous, answers=public_answers,
        identity_sealed=await keyring.seal(ctx.tenant_id, str(petition_id), identity) if identity else None,
        petitioner_key=petitioner_key(keyring, identity),
        title=_title_of(public_answers, form), subject_name=_subject_of(public_answers),
        state=initial.key,
        due_on=await _deadline(ctx.scope, workflow, initial.deadline, china_today(now)) if initial.deadline else None,
        due_rule=initial.deadline,
        steps=[Step(
            at=now, tenant_id=ctx.tenant_id, actor=actor.account_id if actor else CITIZEN,
            actor_name=actor.display_name if actor else "信访人 Petitioner",
            action="submitted" if channel == Channel.ONLINE else "registered",
            to_state=initial.key, public=True, fields={"channel": channel.value},
        )],
    )
    attachments = [_attachment(ctx, petition_id, upload) for upload in uploads]
    petition.attachment_ids = [str(a.id) for a in attachments]
    async with unit_of_work() as uow:
        await ctx.scope.repo(Petition).insert(petition, session=uow.session)
        for attachment in attachments:
            await ctx.scope.repo(Attachment).insert(attachment, session=uow.session)
        await Receipt(receipt_hash=receipt_hash, petition_id=str(petition_id), tenant_id=ctx.tenant_id,
                      origin_tenant_id=ctx.tenant_id).insert(session=uow.session)
        uow.record(DomainEvent("petition.submitted", ctx.tenant_id, str(petition_id),
                               {"channel": channel.value, "actor_id": actor.account_id if actor else ""}))
    return petition, receipt


def _attachment(ctx: TenantContext, petition_id, upload: Upload) -> Attachment:
    return Attachment(
        id=ObjectId(), tenant_id=ctx.tenant_id, petition_id=str(petition_id), filename=upload.filename[:200],
        content_type=upload.content_type, size=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
        data=upload.data,
    )


# -- reading ------------------------------------------------------------------------------------


async def access_petition(ctx: TenantContext, petition_id: str) -> Petition:
    """The petition of this tenant, or the same 404 whether it is elsewhere or nowhere."""
    petition = await ctx.scope.repo(Petition).get(petition_id)
    if petition is None:
        raise NotFound({"zh": "没有这件信访件", "en": "no such petition"})
    return petition


async def form_of(ctx: TenantContext, petition: Petition) -> FormVersion | None:
    """The exact form version the petition was validated against (in the tenant that issued it)."""
    row = await TenantScope(petition.origin_tenant_id).repo(FormVersion).find_one({"key": petition.form_key, "version": petition.form_version})
    return row if row and row.digest == petition.form_digest else None


async def open_identity(keyring: KeyRing, petition: Petition) -> dict:
    if not petition.identity_sealed:
        return {}
    return await keyring.open(petition.tenant_id, str(petition.id), petition.identity_sealed)


MAX_PAGE = 100_000
INBOX_FILTERS = ("state", "channel", "overdue", "subject", "due_before", "assignee")


async def inbox(ctx: TenantContext, *, filters: dict, page: int = 1, page_size: int = 20, today: date | None = None) -> tuple[list[Petition], int]:
    query: dict = {}
    if filters.get("state"):
        query["state"] = filters["state"]
    if filters.get("channel"):
        query["channel"] = filters["channel"]
    if filters.get("overdue") in ("1", "true", True):
        query["overdue"] = True
    if filters.get("due_before"):
        query["due_on"] = {"$lte": str(filters["due_before"])}
    if filters.get("assignee"):
        query["assignee_id"] = str(filters["assignee"])
    if filters.get("subject"):
        query["subject_name"] = str(filters["subject"])[:100]
    repo = ctx.scope.repo(Petition)
    total = await repo.count(query)
    page = min(max(page, 1), MAX_PAGE)
    items = await repo.find(query).sort("-created_at").skip((page - 1) * page_size).limit(page_size).to_list()
    return items, total


# -- workflow -----------------------------------------------------------------------------------


def _clean_fields(transition: Transition, given: dict) -> dict[str, str]:
    problems = {}
    fields: dict[str, str] = {}
    for name in transition.fields:
        value = given.get(name)
        value = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
        if len(value) > MAX_TEXT:
            problems[name] = {"zh": f"最多 {MAX_TEXT} 个字", "en": f"at most {MAX_TEXT} characters"}
        if value:
            fields[name] = value
    for name in transition.required:
        if not fields.get(name):
            problems[name] = {"zh": "必填", "en": "required"}
    unknown = set(given) - set(transition.fields)
    for name in unknown:
        problems[name] = {"zh": "此操作没有这一项", "en": "this action takes no such field"}
    if problems:
        raise InvalidInput(fields=problems)
    return fields


async def _check_assignee(ctx: TenantContext, account_id: str) -> StaffAccount:
    account = await ctx.scope.repo(StaffAccount).get(account_id)
    if account is None or not account.active or Role.HANDLER not in account.roles:
        raise InvalidInput(fields={"assignee": {"zh": "请选择本单位的承办人", "en": "choose a handler of this body"}})
    return account


async def _check_target(ctx: TenantContext, transition: Transition, slug: str) -> Tenant:
    target = await Tenant.find_one({"slug": slug, "active": True})
    bad = target is None or str(target.id) == ctx.tenant_id
    if not bad and transition.move == "child" and target.parent_id != ctx.tenant_id:
        bad = True
    if bad:
        wanted = {"zh": "请选择下级单位", "en": "choose a body directly below this one"} if transition.move == "child" else {"zh": "请选择其他有权处理的单位", "en": "choose another competent body"}
        raise InvalidInput(fields={"target_tenant": wanted})
    return target


def actor_roles(actor: Principal | None) -> set[str]:
    return {CITIZEN} if actor is None else set(actor.roles)


def barred_as_reviewer(transition: Transition, petition: Petition, actor: Principal | None) -> bool:
    """The actor took a step this transition reviews (``not_by``): someone else must take it."""
    return actor is not None and any(s.actor == actor.account_id and s.action in transition.not_by for s in petition.steps)


def allowed_transitions(workflow: Workflow, petition: Petition, actor: Principal | None) -> list[Transition]:
    return [t for t in workflow.available(petition.state, actor_roles(actor))
            if not (t.once and t.key in petition.used_once) and not barred_as_reviewer(t, petition, actor)]


async def do_transition(
    ctx: TenantContext, keyring: KeyRing, petition: Petition, key: str, *, actor: Principal | None,
    fields: dict, now: datetime | None = None,
) -> Petition:
    """Move a petition along one transition of the tenant's workflow (``actor`` None: the citizen)."""
    now = now or utcnow()
    workflow = await tenant_workflow(ctx.scope)
    transition = workflow.transition(key)
    if transition is None:
        raise NotFound({"zh": f"没有操作 {key}", "en": f"no action {key!r}"})
    if petition.state not in transition.from_ or (transition.once and key in petition.used_once):
        raise Conflict({"zh": "当前状态下不能执行此操作", "en": "this action is not possible in the current state"})
    if not actor_roles(actor) & set(transition.roles):
        raise Forbidden({"zh": "您的角色不能执行此操作", "en": "your role may not take this action"})
    if barred_as_reviewer(transition, petition, actor):
        raise Forbidden({"zh": "此操作须由未参与被复查答复的另一人办理", "en": "someone who did not give the reply under review must take this action"})
    clean = _clean_fields(transition, fields)
    if "assignee" in clean:
        petition.assignee_id = str((await _check_assignee(ctx, clean["assignee"])).id)
    target = await _check_target(ctx, transition, clean["target_tenant"]) if transition.move else None

    from_state = petition.state
    target_scope = TenantScope(target.id) if target else ctx.scope
    target_workflow = await tenant_workflow(target_scope) if target else workflow
    to_state = transition.to if any(s.key == transition.to for s in target_workflow.states) else target_workflow.initial
    state = target_workflow.state(to_state)
    today = china_today(now)
    if transition.extends:
        base = date.fromisoformat(petition.due_on) if petition.due_on else today
        period = workflow.time_limits[transition.extends]
        petition.due_on = (await tenant_calendar(ctx.scope)).due_date(base, period.amount, period.unit.value).isoformat()
        petition.overdue = False
    elif state.deadline and not (state.keep_deadline and petition.due_rule == state.deadline and not target):
        petition.due_on = await _deadline(target_scope, target_workflow, state.deadline, today)
        petition.due_rule, petition.overdue = state.deadline, False
    elif not state.deadline:
        petition.due_on, petition.due_rule, petition.overdue = None, None, False
    if transition.once:
        petition.used_once.append(key)
    petition.state = to_state
    petition.steps.append(Step(
        at=now, tenant_id=ctx.tenant_id, actor=actor.account_id if actor else CITIZEN,
        actor_name=actor.display_name if actor else "信访人 Petitioner", action=key,
        from_state=from_state, to_state=to_state, public=True, fields=clean,
        public_fields=[f for f in transition.public_fields if f in clean],
    ))
    event = DomainEvent("petition.moved" if target else "petition.transitioned", str(target.id) if target else ctx.tenant_id,
                        str(petition.id), {"transition": key, "from_tenant": ctx.tenant_id, "actor_id": actor.account_id if actor else CITIZEN})
    async with unit_of_work() as uow:
        if target is None:
            if not await ctx.scope.repo(Petition).replace_versioned(petition, session=uow.session):
                raise _changed_meanwhile()
        else:
            await _move(ctx, keyring, petition, target, uow.session)
        uow.record(event)
    return petition


def _changed_meanwhile() -> Conflict:
    return Conflict({"zh": "这件信访件刚被其他人处理过，请刷新后再试", "en": "someone else changed this petition meanwhile; reload and retry"})


async def _move(ctx: TenantContext, keyring: KeyRing, petition: Petition, target: Tenant, session) -> None:
    """交办 / 转送: the petition, its attachments and its receipt go to ``target``; the history goes with it."""
    target_id = str(target.id)
    if petition.identity_sealed:
        identity = await keyring.open(ctx.tenant_id, str(petition.id), petition.identity_sealed)
        petition.identity_sealed = await keyring.seal(target_id, str(petition.id), identity)
    petition.assignee_id = None
    petition.number = f"{petition.number}"  # the case keeps its number wherever it goes
    if not await ctx.scope.repo(Petition).move_to(petition, target_id, session=session):
        raise _changed_meanwhile()
    async for attachment in ctx.scope.repo(Attachment).find({"petition_id": str(petition.id)}):
        await ctx.scope.repo(Attachment).move_to(attachment, target_id, session=session)
    await Receipt.get_pymongo_collection().update_one(
        {"petition_id": str(petition.id)}, {"$set": {"tenant_id": target_id}}, session=session
    )


async def do_add_supplement(ctx: TenantContext, petition: Petition, *, text: str, uploads: list[Upload] = (), now: datetime | None = None) -> Petition:
    """The citizen adds information (补充材料); it joins the history as a public step."""
    text = (text or "").strip()
    if not text and not uploads:
        raise InvalidInput(fields={"text": {"zh": "请填写补充内容或上传附件", "en": "write something or attach a file"}})
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={"text": {"zh": f"最多 {MAX_TEXT} 个字", "en": f"at most {MAX_TEXT} characters"}})
    now = now or utcnow()
    attachments = [_attachment(ctx, petition.id, upload) for upload in uploads]
    petition.attachment_ids += [str(a.id) for a in attachments]
    petition.steps.append(Step(at=now, tenant_id=ctx.tenant_id, actor=CITIZEN, actor_name="信访人 Petitioner",
                               action="supplement", public=True, fields={"text": text} if text else {},
                               public_fields=["text"] if text else []))
    async with unit_of_work() as uow:
        for attachment in attachments:
            await ctx.scope.repo(Attachment).insert(attachment, session=uow.session)
        if not await ctx.scope.repo(Petition).replace_versioned(petition, session=uow.session):
            raise _changed_meanwhile()
        uow.record(DomainEvent("petition.supplemented", ctx.tenant_id, str(petition.id), {"actor_id": CITIZEN}))
    return petition


# -- time limits --------------------------------------------------------------------------------


async def flag_overdue(scope: TenantScope, today: date) -> int:
    """Mark petitions whose time limit has passed. Idempotent: a flagged one is not touched again."""
    return await scope.repo(Petition).update_many(
        {"overdue": False, "due_on": {"$lt": today.isoformat()}}, {"$set": {"overdue": True}, "$inc": {"revision": 1}}
    )



async def do_set_calendar_rules(scope: TenantScope, *, holidays: list[str], workdays: list[str], actor_id: str | None = None) -> CalendarRules:
    problems = {}
    for name, values in (("holidays", holidays), ("workdays", workdays)):
        for value in values:
            try:
                date.fromisoformat(value)
            except (TypeError, ValueError):
                problems[name] = {"zh": f"日期格式应为 YYYY-MM-DD：{value}", "en": f"dates must be YYYY-MM-DD: {value!r}"}
                break
    if problems:
        raise InvalidInput(fields=problems)
    repo = scope.repo(CalendarRules)
    async with unit_of_work() as uow:
        row = await repo.find_one({}, session=uow.session) or CalendarRules(tenant_id=scope.tenant_id)
        row.holidays, row.workdays = sorted(set(holidays)), sorted(set(workdays))
        await repo.save(row, session=uow.session)
        uow.record(DomainEvent("calendar.changed", scope.tenant_id, str(row.id), {"actor_id": actor_id or ""}))
    tenant_config.drop(("calendar", scope.tenant_id))
    return row
