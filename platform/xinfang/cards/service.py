"""Supervision verbs: create from petitions, approve (报批), issue, answer, decide, rectify, record a talk.

The decision rules of DOMAIN.md are the outcomes of ``do_decide``: close when
explained; must explain; rectify by a deadline; verify further when the same
issue is reported again; escalate on refusal; transfer to case investigation
(立案) only with a leader's approval.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime

from bson import ObjectId

from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..events import DomainEvent, carry, hand_over_carried, register_carrier
from ..petitions.models import Petition
from ..petitions.service import china_today, tenant_calendar
from ..store.documents import utcnow
from ..records.guard import refuse_if_archived
from ..store.scoped import TenantScope
from ..tenancy.service import get_tenant
from .documents import render_document
from .numbers import next_document_no
from .models import ActionType, AutomaticStep, CardType, FollowUp, Period, Subject, Supervision, SupervisionState
from .rules import announce_repeat, apply_repeat_rule, deliver_copies, period_end, repeat_rules

OUTCOMES = ("close", "must_explain", "rectify", "verify_further", "escalate", "transfer")
OUTCOME_NAMES = {  # the decisions in words: console pages and archive entries
    "close": {"zh": "说明清楚，予以了结", "en": "Explained: close"},
    "must_explain": {"zh": "责令重新说明", "en": "Must explain again"},
    "rectify": {"zh": "限期整改", "en": "Rectify by a deadline"},
    "verify_further": {"zh": "再次反映，进一步核实", "en": "Reported again: verify further"},
    "escalate": {"zh": "拒不说明或态度不端正，升级处理", "en": "Refused or evasive: escalate"},
    "transfer": {"zh": "移送立案调查（须领导批准）", "en": "Transfer to case investigation (leader)"},
}
LEADER = "leader"


async def supervision_type(scope: TenantScope, kind: str, key: str) -> CardType | ActionType:
    model = CardType if kind == "card" else ActionType
    row = await scope.repo(model).find_one({"key": key})
    if row is None:
        raise InvalidInput(fields={"type_key": {"zh": f"本单位没有这种{'监督卡' if kind == 'card' else '监督方式'}：{key}",
                                               "en": f"this body has no {kind} type {key!r}"}})
    return row


async def access_supervision(scope: TenantScope, supervision_id: str) -> Supervision:
    row = await scope.repo(Supervision).get(supervision_id)
    if row is None:
        raise NotFound({"zh": "没有这项监督", "en": "no such card or action"})
    return row


def _note(sup: Supervision, actor: Principal | None, action: str, text: str = "", now: datetime | None = None) -> None:
    sup.notes.append({"at": (now or utcnow()).isoformat(), "actor": actor.display_name if actor else "被监督对象 subject",
                      "action": action, "text": text})


async def save_supervision(scope: TenantScope, sup: Supervision, event: str, actor: Principal | None) -> Supervision:
    """One write of the card or action carrying its event: the change and its event never come apart."""
    new = sup.revision == 0 and sup.id is None
    if new:
        sup.id = ObjectId()  # the event names it before the insert
    carry(sup, DomainEvent(event, scope.tenant_id, str(sup.id), {"actor_id": actor.account_id if actor else "subject"}))
    if new:
        await scope.repo(Supervision).insert(sup)
    else:
        await refuse_if_archived(scope, "supervision", sup.id)  # an archived card or action is closed for good (409)
    if not new and not await scope.repo(Supervision).replace_versioned(sup):
        raise changed_meanwhile("这项监督", "this supervision")
    await hand_over_carried(sup)
    return sup


async def derive_supervision_rows(supervisions: list[Supervision]) -> None:
    """What an issued card implies besides itself: its copies and repeat notices (events.materialise_carried).

    ``do_issue`` sends them right after the card's write; if the process died in between,
    they go out here, once: every copy and notice has a deterministic id.
    """
    for sup in supervisions:
        if not any(event.name == "supervision.issued" for event in sup.outbox):
            continue
        scope = TenantScope(sup.tenant_id)
        await deliver_copies(scope, sup, list(sup.copies))
        for rule in await repeat_rules(scope, sup.type_key):
            if rule.key in sup.applied_rules:
                await announce_repeat(scope, rule, sup)


register_carrier(Supervision, derive_supervision_rows)


async def do_create_supervision(scope: TenantScope, *, kind: str, type_key: str, subject: Subject, petition_ids: list[str],
                                actor: Principal, now: datetime | None = None, official_id: str | None = None) -> Supervision:
    kind_type = await supervision_type(scope, kind, type_key)
    for petition_id in petition_ids:
        if await scope.repo(Petition).get(petition_id) is None:
            raise InvalidInput(fields={"petition_ids": {"zh": f"本单位没有信访件 {petition_id}", "en": f"no petition {petition_id} here"}})
    sup = Supervision(tenant_id=scope.tenant_id, kind=kind, type_key=type_key, subject=subject, subject_key=subject.key,
                      petition_ids=list(dict.fromkeys(petition_ids)), state=SupervisionState.DRAFT,
                      needs_approval=getattr(kind_type, "needs_approval", True))
    if official_id:
        from ..archives.models import Official

        if await scope.repo(Official).get(official_id) is None:
            raise InvalidInput(fields={"official_id": {"zh": "本单位没有这名干部", "en": "no such official here"}})
        sup.official_id = official_id
    _authored(sup, actor)
    _note(sup, actor, "created", now=now)
    return await save_supervision(scope, sup, "supervision.created", actor)


def _require(sup: Supervision, *states: SupervisionState) -> None:
    if sup.state not in states:
        raise Conflict({"zh": "当前状态下不能执行此操作", "en": "this action is not possible in the current state"})


async def do_submit_for_approval(scope: TenantScope, sup: Supervision, actor: Principal) -> Supervision:
    _require(sup, SupervisionState.DRAFT, SupervisionState.PROPOSED)
    sup.state = SupervisionState.AWAITING_APPROVAL
    _authored(sup, actor)
    _note(sup, actor, "submitted_for_approval")
    return await save_supervision(scope, sup, "supervision.submitted", actor)


def _authored(sup: Supervision, actor: Principal | None) -> None:
    if actor is not None and actor.account_id not in sup.authored_by:
        sup.authored_by.append(actor.account_id)


SELF_APPROVAL_REFUSED = {"zh": "不能审批自己起草、采纳或报批的监督，须由另一名领导审批",
                         "en": "you wrote or submitted this: another leader must approve it"}


async def self_approval_allowed(scope: TenantScope) -> bool:
    """The tenant's setting for one-person offices (its bundle's [settings]); off unless the operator turned it on."""
    tenant = await get_tenant(scope.tenant_id)
    return bool(tenant and tenant.settings.allow_self_approval)


async def do_approve(scope: TenantScope, sup: Supervision, actor: Principal, note: str = "") -> Supervision:
    """报批: a leader other than its author approves (or the author, where the tenant allows self-approval,
    recorded as such); the handler then issues."""
    if LEADER not in actor.roles:
        raise Forbidden({"zh": "只有领导可以审批", "en": "only a leader approves"})
    _require(sup, SupervisionState.AWAITING_APPROVAL)
    own = actor.account_id in sup.authored_by
    if own and not await self_approval_allowed(scope):
        raise Forbidden(SELF_APPROVAL_REFUSED)
    sup.approved_by, sup.self_approved, sup.state = actor.account_id, own, SupervisionState.DRAFT
    _note(sup, actor, "self_approved" if own else "approved", note)
    return await save_supervision(scope, sup, "supervision.approved", actor)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_answer_token(sup: Supervision) -> str:
    """A fresh one-time answer link for the subject: only its hash is kept, the token is shown once.
    The card remembers it (unsaved) for the page or API answer that shows it (``answer_token_of``)."""
    token = secrets.token_urlsafe(24)
    sup.answer_token_hash, sup.answer_token_used = token_hash(token), False
    sup._answer_token = token
    return token


def answer_token_of(sup: Supervision) -> str | None:
    """The one-time answer token this request made (issue, or "must explain again"), else None."""
    return sup._answer_token


async def do_issue(scope: TenantScope, sup: Supervision, actor: Principal, *, now: datetime | None = None) -> tuple[Supervision, str]:
    """Issue the card or notice: deadlines start, follow-ups are scheduled, copies go out.

    Returns the supervision and the one-time answer token for the subject's link
    (shown once; only its hash is kept).
    """
    _require(sup, SupervisionState.DRAFT)
    if sup.needs_approval and not sup.approved_by:
        raise Conflict({"zh": "尚未经领导审批，不能发出", "en": "not approved yet: nothing un-approved goes out"})
    today = china_today(now)
    kind_type = await supervision_type(scope, sup.kind, sup.type_key)
    calendar = await tenant_calendar(scope)
    sup.state, sup.issued_on = SupervisionState.ISSUED, today.isoformat()
    if kind_type.response_deadline:
        sup.response_due = period_end(calendar, today, kind_type.response_deadline).isoformat()
    for visit in getattr(kind_type, "follow_up_visits", []):
        sup.follow_ups.append(FollowUp(due_on=period_end(calendar, today, visit).isoformat()))
    sup.follow_up_due = min((f.due_on for f in sup.follow_ups), default=None)
    sup.copies = list(getattr(kind_type, "copy_to", []))
    tenant = await get_tenant(scope.tenant_id)
    sup.document_no = sup.document_no or await next_document_no(scope, tenant, today)
    sup.document_html = await render_document(tenant, kind_type, sup)
    token = _new_answer_token(sup)
    _note(sup, actor, "issued", now=now)
    # A repeat (e.g. the second yellow card within two years) is decided as the card goes out.
    applied = [rule for rule in await repeat_rules(scope, sup.type_key) if await apply_repeat_rule(scope, calendar, rule, sup)]
    sup = await save_supervision(scope, sup, "supervision.issued", actor)
    await deliver_copies(scope, sup, list(getattr(kind_type, "copy_to", [])))
    for rule in applied:
        await announce_repeat(scope, rule, sup)
    return sup, token


async def find_by_answer_token(scope: TenantScope, token: str) -> Supervision:
    sup = await scope.repo(Supervision).find_one({"answer_token_hash": token_hash(token or "")})
    if sup is None or sup.answer_token_used or sup.state not in (SupervisionState.ISSUED, SupervisionState.RECTIFYING):
        raise NotFound({"zh": "链接无效或已使用", "en": "this link is invalid or was already used"})
    return sup


async def do_answer_by_link(scope: TenantScope, token: str, text: str) -> Supervision:
    """The subject answers through the one-time link; the link stops working."""
    sup = await find_by_answer_token(scope, token)
    sup.answer_token_used = True
    return await do_record_answer(scope, sup, None, text)


async def do_record_answer(scope: TenantScope, sup: Supervision, actor: Principal | None, text: str) -> Supervision:
    """The subject's written explanation or rectification report: filed by staff, or by the subject (actor None)."""
    _require(sup, SupervisionState.ISSUED, SupervisionState.RECTIFYING)
    if not text.strip():
        raise InvalidInput(fields={"text": {"zh": "请填写答复内容", "en": "the answer is empty"}})
    sup.answer, sup.overdue = text.strip()[:20000], False
    if sup.state == SupervisionState.ISSUED:
        sup.state = SupervisionState.ANSWERED
    _note(sup, actor, "answered", text[:200])
    return await save_supervision(scope, sup, "supervision.answered", actor)


async def do_record_talk(scope: TenantScope, sup: Supervision, actor: Principal, record: str) -> Supervision:
    """A talk counts only once its written record is filed (the seeds' known failure: talks not recorded)."""
    if not record.strip():
        raise InvalidInput(fields={"record": {"zh": "请填写谈话记录", "en": "the written record is empty"}})
    sup.record = record.strip()[:20000]
    _note(sup, actor, "talk_recorded")
    return await save_supervision(scope, sup, "supervision.talk_recorded", actor)


async def do_decide(scope: TenantScope, sup: Supervision, actor: Principal, outcome: str, *, note: str = "",
                    rectify_by: str | None = None, now: datetime | None = None) -> Supervision:
    """The handler's decision after the answer, by the rules of DOMAIN.md."""
    if outcome not in OUTCOMES:
        raise InvalidInput(fields={"outcome": {"zh": "未知的处理决定", "en": f"outcome must be one of {', '.join(OUTCOMES)}"}})
    _require(sup, SupervisionState.ANSWERED, SupervisionState.ISSUED, SupervisionState.RECTIFYING)
    today = china_today(now)
    if outcome == "close":
        sup.state = SupervisionState.CLOSED
    elif outcome == "must_explain":
        # The subject answers again: a new deadline, a new one-time link (the first one is used up), and the
        # document re-rendered with the new deadline, since it is what the subject receives with the link.
        kind_type = await supervision_type(scope, sup.kind, sup.type_key)
        period = kind_type.response_deadline or Period(amount=15, unit="working_days")
        sup.state, sup.answer, sup.overdue, sup.reminded_for = SupervisionState.ISSUED, None, False, None
        sup.response_due = period_end(await tenant_calendar(scope), today, period).isoformat()
        sup.document_html = await render_document(await get_tenant(scope.tenant_id), kind_type, sup)
        _new_answer_token(sup)
    elif outcome == "rectify":
        try:
            due = date.fromisoformat(rectify_by or "")
        except ValueError:
            raise InvalidInput(fields={"rectify_by": {"zh": "请填写整改期限（YYYY-MM-DD）", "en": "give the rectification deadline (YYYY-MM-DD)"}}) from None
        if due <= today:
            raise InvalidInput(fields={"rectify_by": {"zh": "整改期限应晚于今天", "en": "the deadline must be after today"}})
        sup.state, sup.rectify_due = SupervisionState.RECTIFYING, due.isoformat()
    elif outcome == "verify_further":
        sup.state = SupervisionState.ANSWERED  # stays open: the same issue came back, check it again
    elif outcome == "escalate":
        sup.state = SupervisionState.CLOSED
        await _propose_stronger(scope, sup, actor, note, today)
    elif outcome == "transfer":
        if LEADER not in actor.roles:
            raise Forbidden({"zh": "转立案调查须经领导批准", "en": "transfer to case investigation needs a leader's approval"})
        sup.state = SupervisionState.TRANSFERRED
    sup.outcome = outcome
    _note(sup, actor, f"decided:{outcome}", note, now=now)
    return await save_supervision(scope, sup, "supervision.decided", actor)


async def _propose_stronger(scope: TenantScope, sup: Supervision, actor: Principal, note: str, today: date) -> None:
    """Refusal or a bad attitude: the next card up is proposed (a person still approves and issues it)."""
    if sup.kind != "card":
        return
    current = await scope.repo(CardType).find_one({"key": sup.type_key})
    stronger = await scope.repo(CardType).find({"rank": {"$gt": current.rank if current else 0}}).sort("rank").first_or_none()
    if stronger is None:
        return
    proposal = Supervision(tenant_id=scope.tenant_id, kind="card", type_key=stronger.key, subject=sup.subject, subject_key=sup.subject_key,
                           petition_ids=sup.petition_ids, state=SupervisionState.PROPOSED, needs_approval=stronger.needs_approval)
    proposal.automatic.append(AutomaticStep(
        rule="escalate_on_refusal", at=today.isoformat(), facts=[str(sup.id)],
        reason={"zh": f"因拒不说明或态度不端正，由{current.name.zh if current else sup.type_key}升级，建议发{stronger.name.zh}",
                "en": f"proposed because the subject refused to answer properly: escalated from {sup.type_key} to {stronger.key}"}))
    _note(proposal, actor, "proposed", note)
    await save_supervision(scope, proposal, "supervision.proposed", actor)


async def do_mark_rectified(scope: TenantScope, sup: Supervision, actor: Principal, *, now: datetime | None = None) -> Supervision:
    _require(sup, SupervisionState.RECTIFYING, SupervisionState.ANSWERED, SupervisionState.ISSUED)
    sup.rectified_on, sup.state = china_today(now).isoformat(), SupervisionState.CLOSED
    _note(sup, actor, "rectified", now=now)
    return await save_supervision(scope, sup, "supervision.rectified", actor)


async def do_adopt_proposal(scope: TenantScope, sup: Supervision, actor: Principal) -> Supervision:
    """A person takes up a rule's proposal: it becomes a draft (still approved before it goes out, where needed)."""
    _require(sup, SupervisionState.PROPOSED)
    sup.state = SupervisionState.DRAFT
    _authored(sup, actor)
    _note(sup, actor, "adopted")
    return await save_supervision(scope, sup, "supervision.adopted", actor)


async def do_dismiss(scope: TenantScope, sup: Supervision, actor: Principal, reason: str) -> Supervision:
    """Decline a proposal or withdraw a draft that never went out; the reason is kept."""
    _require(sup, SupervisionState.PROPOSED, SupervisionState.DRAFT)
    if not reason.strip():
        raise InvalidInput(fields={"text": {"zh": "请说明不采纳或撤回的理由", "en": "say why it is dismissed"}})
    sup.state = SupervisionState.DISMISSED
    _note(sup, actor, "dismissed", reason.strip()[:2000])
    return await save_supervision(scope, sup, "supervision.dismissed", actor)


async def do_return_for_revision(scope: TenantScope, sup: Supervision, actor: Principal, reason: str) -> Supervision:
    """A leader does not approve: back to the handler as a draft, with the reason."""
    if LEADER not in actor.roles:
        raise Forbidden({"zh": "只有领导可以审批", "en": "only a leader approves"})
    _require(sup, SupervisionState.AWAITING_APPROVAL)
    sup.state = SupervisionState.DRAFT
    _note(sup, actor, "returned", reason.strip()[:2000])
    return await save_supervision(scope, sup, "supervision.returned", actor)


async def do_record_follow_up(scope: TenantScope, sup: Supervision, actor: Principal, due_on: str, note: str,
                              *, now: datetime | None = None) -> Supervision:
    """A follow-up visit (回访) took place: recorded against the visit that was due."""
    visit = next((v for v in sup.follow_ups if v.due_on == due_on and v.done_on is None), None)
    if visit is None:
        raise InvalidInput(fields={"due_on": {"zh": "没有这次待进行的回访", "en": "no pending follow-up visit on that date"}})
    if not note.strip():
        raise InvalidInput(fields={"text": {"zh": "请填写回访情况", "en": "describe the visit"}})
    visit.done_on, visit.note = china_today(now).isoformat(), note.strip()[:5000]
    if sup.follow_up_due:  # the sweeper's pointer moves past a visit done before it was announced
        sup.follow_up_due = min((v.due_on for v in sup.follow_ups if v.done_on is None and v.due_on >= sup.follow_up_due), default=None)
    _note(sup, actor, "followed_up", note[:200], now=now)
    return await save_supervision(scope, sup, "supervision.followed_up", actor)


def available_verbs(sup: Supervision, principal: Principal, record_required: bool, *, self_approval: bool = False) -> list[str]:
    """What this person may do with this card or action now: the buttons of its page (``self_approval``: the tenant's setting)."""
    leader = LEADER in principal.roles
    state = sup.state
    verbs: list[str] = []
    if state == SupervisionState.PROPOSED:
        verbs += ["adopt", "dismiss"]
    elif state == SupervisionState.DRAFT:
        verbs += ["issue"] if (sup.approved_by or not sup.needs_approval) else ["submit"]
        verbs.append("dismiss")
    elif state == SupervisionState.AWAITING_APPROVAL and leader:
        verbs += ["approve", "return"] if self_approval or principal.account_id not in sup.authored_by else ["return"]
    elif state in (SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING):
        if state != SupervisionState.ANSWERED:
            verbs.append("answer")
        verbs.append("decide")
        if state != SupervisionState.ISSUED:  # rectified follows an answer or a decision to rectify, not the issue itself
            verbs.append("rectified")
        if record_required and not sup.record:
            verbs.append("talk_record")
    if any(v.done_on is None for v in sup.follow_ups) and state not in (SupervisionState.DISMISSED,):
        verbs.append("follow_up")
    return verbs
