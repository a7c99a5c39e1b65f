"""Staff console pages for cards and supervision actions: list, create from petitions, one page per
card with the steps this person may take, statistics, and the notifications inbox."""

from __future__ import annotations

import functools

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..archives import service as archives
from ..archives.models import Official
from ..errors import DomainError, Forbidden, InvalidInput
from ..display_words import SUPERVISION_NOTE, SUPERVISION_STATE, SUPERVISION_VERB
from ..records.guard import archived_record_of
from ..http import refusal_message, staff_page
from ..petitions.http import keyring
from ..notifications.http import inbox_page
from ..petitions.models import Petition
from ..tenancy.resolution import current_tenant
from . import service, stats
from .models import ActionKind, ActionType, CardType, Subject, Supervision

supervision_console_bp = Blueprint("supervision_console", __name__, url_prefix="/t/<tenant_slug>/staff")
LIST_FILTERS = ("kind", "type_key", "state", "subject_key")

# The words are the registry's (display_words): one place names a state, a verb, a timeline note.
STATE_NAMES, VERB_NAMES, ACTION_NOTE_NAMES = SUPERVISION_STATE, SUPERVISION_VERB, SUPERVISION_NOTE


_page = functools.partial(staff_page, state_names=STATE_NAMES)


async def _types(scope) -> dict[tuple[str, str], CardType | ActionType]:
    types: dict = {("card", c.key): c async for c in scope.repo(CardType).find({}).sort("rank")}
    types.update({("action", a.key): a async for a in scope.repo(ActionType).find({}).sort("key")})
    return types


@supervision_console_bp.get("/supervisions")
@requires(Permission.PETITIONS_READ)
async def supervisions_page(tenant_slug):
    scope = current_tenant().scope
    filters = {k: request.args[k] for k in LIST_FILTERS if request.args.get(k)}
    query = dict(filters) | ({"overdue": True} if request.args.get("overdue") else {})
    rows = await scope.repo(Supervision).find(query).sort("-created_at").limit(200).to_list()
    return await _page("staff/supervisions.html", items=rows, types=await _types(scope), filters=filters,
                       overdue=bool(request.args.get("overdue")))


@supervision_console_bp.get("/supervisions/new")
@requires(Permission.PETITIONS_ACT)
async def new_supervision_page(tenant_slug):
    return await _new_page(petition_ids=request.args.getlist("petition"), values={})


async def _new_page(*, petition_ids: list[str], values: dict, errors: dict | None = None, status: int = 200):
    scope = current_tenant().scope
    petitions = [p for p in [await scope.repo(Petition).get(pid) for pid in petition_ids[:50]] if p is not None]
    if not values and petitions:
        values = {"subject_name": next((p.subject_name for p in petitions if p.subject_name), "")}
    return await _page("staff/supervision_new.html", status, types=await _types(scope), petitions=petitions, values=values,
                       errors=errors or {})


@supervision_console_bp.post("/supervisions/new")
@requires(Permission.PETITIONS_ACT)
async def create_supervision_submit(tenant_slug):
    submitted = await request.form
    kind, _, type_key = submitted.get("type", "").partition(":")
    petition_ids = submitted.getlist("petition_ids")
    try:
        subject = _subject_from(submitted)
        sup = await service.do_create_supervision(current_tenant().scope, kind=kind if kind in ("card", "action") else "card",
                                                  type_key=type_key, subject=subject, petition_ids=petition_ids, actor=current_principal())
    except DomainError as refused:
        return await _new_page(petition_ids=petition_ids, values=dict(submitted), errors=refused.fields, status=refused.status)
    return redirect(url_for("supervision_console.supervision_page", tenant_slug=tenant_slug, supervision_id=str(sup.id)))


def _subject_from(submitted) -> Subject:
    name = submitted.get("subject_name", "").strip()
    if not name:
        raise InvalidInput(fields={"subject_name": {"zh": "请填写被监督对象（个人或单位）", "en": "name the person or unit"}})
    return Subject(kind="unit" if submitted.get("subject_kind") == "unit" else "person", name=name[:100],
                   position=submitted.get("subject_position", "").strip()[:100] or None,
                   unit=submitted.get("subject_unit", "").strip()[:100] or None)


@supervision_console_bp.get("/supervisions/<supervision_id>")
@requires(Permission.PETITIONS_READ)
async def supervision_page(tenant_slug, supervision_id, message=None, status=200, answer_link=None):
    scope = current_tenant().scope
    sup = await service.access_supervision(scope, supervision_id)
    types = await _types(scope)
    kind_type = types.get((sup.kind, sup.type_key))
    record_required = isinstance(kind_type, ActionType) and (kind_type.record_required or kind_type.kind == ActionKind.TALK)
    petitions = [p for p in [await scope.repo(Petition).get(pid) for pid in sup.petition_ids] if p is not None]
    facts = {}
    for step in sup.automatic:
        for fact in step.facts:
            if fact not in facts and fact != str(sup.id):
                facts[fact] = await scope.repo(Supervision).get(fact) or await scope.repo(Petition).get(fact)
    verbs = service.available_verbs(sup, current_principal(), record_required,
                                    self_approval=current_tenant().tenant.settings.allow_self_approval)
    candidates = []
    if sup.subject.kind == "person" and not sup.official_id and Permission.ARCHIVES_WRITE in current_principal().permissions:
        candidates = await archives.find_officials(scope, sup.subject.name)
        verbs.append("official")
    official = await scope.repo(Official).get(sup.official_id) if sup.official_id else None
    archived = await archived_record_of(scope, "supervision", sup.id)  # 已归档: its number, and no step any more (409)
    archive_panel = None
    if archived is not None:
        verbs = []
    else:  # closed: the 归档 button for whoever may archive (the records area's panel, as on a case's page)
        from ..records.pages import archive_panel as records_panel

        archive_panel = await records_panel(current_tenant().tenant, "supervision", sup, current_principal())
    return await _page("staff/supervision.html", status, sup=sup, archived=archived, archive_panel=archive_panel, kind_type=kind_type, types=types, petitions=petitions, facts=facts,
                       candidates=candidates, official=official,
                       verbs=verbs, verb_names=VERB_NAMES,
                       outcome_names=service.OUTCOME_NAMES, note_names=ACTION_NOTE_NAMES, message=message, answer_link=answer_link)


@supervision_console_bp.post("/supervisions/<supervision_id>/steps/<verb>")
@requires(Permission.PETITIONS_ACT)
async def supervision_step(tenant_slug, supervision_id, verb):
    scope, principal, form = current_tenant().scope, current_principal(), await request.form
    sup = await service.access_supervision(scope, supervision_id)
    text = form.get("text", "")
    steps = {
        "adopt": lambda: service.do_adopt_proposal(scope, sup, principal),
        "dismiss": lambda: service.do_dismiss(scope, sup, principal, text),
        "submit": lambda: service.do_submit_for_approval(scope, sup, principal),
        "approve": lambda: service.do_approve(scope, sup, principal, text),
        "return": lambda: service.do_return_for_revision(scope, sup, principal, text),
        "answer": lambda: service.do_record_answer(scope, sup, principal, text),
        "talk_record": lambda: service.do_record_talk(scope, sup, principal, text),
        "decide": lambda: service.do_decide(scope, sup, principal, form.get("outcome", ""), note=text,
                                            rectify_by=form.get("rectify_by") or None),
        "rectified": lambda: service.do_mark_rectified(scope, sup, principal),
        "follow_up": lambda: service.do_record_follow_up(scope, sup, principal, form.get("due_on", ""), text),
        "official": lambda: _link_official(scope, sup, principal, form.get("official_id", "")),
    }
    try:
        if verb == "issue":
            sup, token = await service.do_issue(scope, sup, principal)
            link = url_for("answers.answer_page", tenant_slug=tenant_slug, token=token, _external=True)
            return await supervision_page(tenant_slug, supervision_id, answer_link=link)
        if verb not in steps:
            raise InvalidInput(fields={"verb": {"zh": "未知的操作", "en": f"unknown step {verb!r}"}})
        sup = await steps[verb]()
        token = service.answer_token_of(sup) if isinstance(sup, Supervision) else None
        if token:  # "must explain again": the subject's new one-time link, shown once like at issue
            link = url_for("answers.answer_page", tenant_slug=tenant_slug, token=token, _external=True)
            return await supervision_page(tenant_slug, supervision_id, answer_link=link)
    except DomainError as refused:
        return await supervision_page(tenant_slug, supervision_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("supervision_console.supervision_page", tenant_slug=tenant_slug, supervision_id=supervision_id))


async def _link_official(scope, sup, principal, official_id: str):
    """Name the official this is about: one already registered, or ("new") one registered from the subject now."""
    if Permission.ARCHIVES_WRITE not in principal.permissions:
        raise Forbidden()
    if official_id == "new":
        official = await archives.do_register_official(scope, keyring(), name=sup.subject.name, position=sup.subject.position,
                                                       unit=sup.subject.unit, rank_level=None, id_number=None, actor=principal)
    else:
        official = await archives.access_official(scope, official_id)
    return await archives.do_link_supervision(scope, sup, official, principal)


@supervision_console_bp.get("/supervision-stats")
@requires(Permission.PETITIONS_READ)
async def stats_page(tenant_slug):
    figures = await stats.statistics(current_tenant().scope)
    return await _page("staff/supervision_stats.html", stats=figures, card_max=max((c["count"] for c in figures["cards"]), default=0))


@supervision_console_bp.get("/notifications")
@requires(Permission.TENANT_READ)
async def notifications_page(tenant_slug):
    """My notifications with their read state, mark read, and my e-mail/SMS choice (notifications/http.py)."""
    return await inbox_page()
