"""Supervision routes: cards and actions from petitions, approval, issue, answers, decisions, statistics."""

from __future__ import annotations

from quart import Blueprint, render_template, request, url_for
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, public, requires
from ..errors import NotFound
from ..http import json_object_body, parse_body
from ..sandbox.pool import shutdown_template_pool
from ..tenancy.resolution import current_tenant
from . import configuration, service, stats
from .document_html import document_markup
from .models import ActionType, CardType, EscalationRule, Supervision
from .schemas import DecisionIn, DefinitionIn, FollowUpIn, SupervisionIn, TextIn

cards_bp = Blueprint("cards", __name__, url_prefix="/t/<tenant_slug>/api")


@cards_bp.after_app_serving
async def stop_template_workers():
    """The template sandbox's worker processes end with the web server (they start on the first render)."""
    shutdown_template_pool()


def view(sup: Supervision) -> dict:
    return sup.model_dump(mode="json", exclude={"revision", "applied_rules", "answer_token_hash", "document_html"}) | {"id": str(sup.id)}


@cards_bp.get("/card-types")
@requires(Permission.TENANT_READ)
async def list_card_types(tenant_slug):
    """The tenant's cards (colours, deadlines, follow-ups, copies) and supervision action types."""
    scope = current_tenant().scope
    cards = await scope.repo(CardType).find({}).sort("rank").to_list()
    actions = await scope.repo(ActionType).find({}).sort("key").to_list()
    return {"card_types": [c.model_dump(mode="json", exclude={"revision_id"}) | {"id": str(c.id)} for c in cards],
            "action_types": [a.model_dump(mode="json", exclude={"revision_id"}) | {"id": str(a.id)} for a in actions]}


def definition_view(row) -> dict:
    return row.model_dump(mode="json", exclude={"revision_id", "tenant_id"}) | {"id": str(row.id)}


@cards_bp.put("/card-types/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
@document_request(DefinitionIn)
async def define_card_type(tenant_slug, key):
    """Create or change a card type: names, colour, when, consequence, deadline, follow-ups, copies, approval, wording."""
    return definition_view(await configuration.do_define(current_tenant().scope, CardType, key, await json_object_body(), current_principal()))


@cards_bp.put("/action-types/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
@document_request(DefinitionIn)
async def define_action_type(tenant_slug, key):
    """Create or change a supervision action type (notice, rectification, talk, meeting, briefing)."""
    return definition_view(await configuration.do_define(current_tenant().scope, ActionType, key, await json_object_body(), current_principal()))


@cards_bp.get("/escalation-rules")
@requires(Permission.TENANT_READ)
async def list_escalation_rules(tenant_slug):
    rules = await current_tenant().scope.repo(EscalationRule).find({}).sort("key").to_list()
    return {"escalation_rules": [definition_view(r) for r in rules]}


@cards_bp.put("/escalation-rules/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
@document_request(DefinitionIn)
async def define_escalation_rule(tenant_slug, key):
    """Create or change a rule: trigger (card type, condition, period, count), outcome, reason in words."""
    return definition_view(await configuration.do_define(current_tenant().scope, EscalationRule, key, await json_object_body(), current_principal()))


@cards_bp.get("/supervisions")
@requires(Permission.PETITIONS_READ)
async def list_supervisions(tenant_slug):
    """Cards and actions, filtered by kind, type_key, state, subject_key, overdue."""
    query = {k: request.args[k] for k in ("kind", "type_key", "state", "subject_key") if request.args.get(k)}
    if request.args.get("overdue") in ("1", "true"):
        query["overdue"] = True
    rows = await current_tenant().scope.repo(Supervision).find(query).sort("-created_at").limit(200).to_list()
    return {"items": [view(s) for s in rows]}


@cards_bp.post("/supervisions")
@requires(Permission.PETITIONS_ACT)
@document_request(SupervisionIn)
async def create_supervision(tenant_slug):
    """A card or action from one or more petitions, about one subject (a draft until approved and issued)."""
    body = await parse_body(SupervisionIn)
    sup = await service.do_create_supervision(current_tenant().scope, kind=body.kind, type_key=body.type_key, subject=body.subject,
                                              petition_ids=body.petition_ids, actor=current_principal(), official_id=body.official_id)
    return view(sup), 201


@cards_bp.get("/supervisions/<supervision_id>")
@requires(Permission.PETITIONS_READ)
async def show_supervision(tenant_slug, supervision_id):
    return view(await service.access_supervision(current_tenant().scope, supervision_id))


async def _act(supervision_id, verb, *args, **kwargs):
    """One step through its ``do_*`` verb; a step that made a new one-time answer link (issue, "must explain
    again") returns it once, like the issue step, and the answer is not cached."""
    scope = current_tenant().scope
    sup = await service.access_supervision(scope, supervision_id)
    sup = await verb(scope, sup, current_principal(), *args, **kwargs)
    token = service.answer_token_of(sup)
    if token is None:
        return view(sup)
    link = url_for("answers.answer_page", tenant_slug=current_tenant().tenant.slug, token=token)
    return view(sup) | {"answer_link": link}, 200, {"Cache-Control": "no-store"}


@cards_bp.post("/supervisions/<supervision_id>/submit")
@requires(Permission.PETITIONS_ACT)
async def submit_supervision(tenant_slug, supervision_id):
    """Ask a leader's approval (报批)."""
    return await _act(supervision_id, service.do_submit_for_approval)


@cards_bp.post("/supervisions/<supervision_id>/approve")
@requires(Permission.PETITIONS_ACT)
@document_request(TextIn)
async def approve_supervision(tenant_slug, supervision_id):
    """报批: a leader other than its author approves (an optional comment in ``text``); the handler then issues."""
    await service.access_supervision(current_tenant().scope, supervision_id)  # 404 before any word about the body
    raw = (await request.get_data(as_text=True)).strip()
    note = (await parse_body(TextIn)).text if raw not in ("", "null") else ""
    return await _act(supervision_id, service.do_approve, note)


@cards_bp.post("/supervisions/<supervision_id>/issue")
@requires(Permission.PETITIONS_ACT)
async def issue_supervision(tenant_slug, supervision_id):
    """Issue it: the answer deadline, follow-up visits and copies start here; the answer link is shown once."""
    scope = current_tenant().scope
    sup = await service.access_supervision(scope, supervision_id)
    sup, token = await service.do_issue(scope, sup, current_principal())
    link = url_for("answers.answer_page", tenant_slug=tenant_slug, token=token)
    return view(sup) | {"answer_link": link}, 200, {"Cache-Control": "no-store"}


@cards_bp.get("/supervisions/<supervision_id>/document")
@requires(Permission.PETITIONS_READ)
async def supervision_document(tenant_slug, supervision_id):
    """The issued document exactly as it went out, as a printable page."""
    sup = await service.access_supervision(current_tenant().scope, supervision_id)
    if not sup.document_html:
        raise NotFound({"zh": "尚未发出，没有文书", "en": "not issued yet: no document"})
    return await render_template("documents/page.html", tenant=current_tenant().tenant, document=await document_markup(sup.document_html),
                                 home_url=url_for("portal.home", tenant_slug=tenant_slug))


answers_bp = Blueprint("answers", __name__, url_prefix="/t/<tenant_slug>")


@answers_bp.get("/answer/<token>")
@public("the subject of a card or notice answers through the one-time link they were given")
async def answer_page(tenant_slug, token):
    sup = await service.find_by_answer_token(current_tenant().scope, token)
    return await render_template("documents/answer.html", tenant=current_tenant().tenant, document=await document_markup(sup.document_html),
                                 done=False, home_url=url_for("portal.home", tenant_slug=tenant_slug)), 200, {"Cache-Control": "no-store"}


@answers_bp.post("/answer/<token>")
@public("the subject of a card or notice answers through the one-time link they were given")
async def answer_submit(tenant_slug, token):
    text = (await request.form).get("text", "")
    sup = await service.do_answer_by_link(current_tenant().scope, token, text)
    return await render_template("documents/answer.html", tenant=current_tenant().tenant, document=await document_markup(sup.document_html),
                                 done=True, home_url=url_for("portal.home", tenant_slug=tenant_slug)), 200, {"Cache-Control": "no-store"}


@cards_bp.post("/supervisions/<supervision_id>/answer")
@requires(Permission.PETITIONS_ACT)
@document_request(TextIn)
async def answer_supervision(tenant_slug, supervision_id):
    """The subject's written explanation or rectification report, filed by staff."""
    return await _act(supervision_id, service.do_record_answer, (await parse_body(TextIn)).text)


@cards_bp.post("/supervisions/<supervision_id>/talk-record")
@requires(Permission.PETITIONS_ACT)
@document_request(TextIn)
async def record_talk(tenant_slug, supervision_id):
    return await _act(supervision_id, service.do_record_talk, (await parse_body(TextIn)).text)


@cards_bp.post("/supervisions/<supervision_id>/decide")
@requires(Permission.PETITIONS_ACT)
@document_request(DecisionIn)
async def decide_supervision(tenant_slug, supervision_id):
    """close | must_explain | rectify (with rectify_by) | verify_further | escalate | transfer (leader only)."""
    body = await parse_body(DecisionIn)
    return await _act(supervision_id, service.do_decide, body.outcome, note=body.note, rectify_by=body.rectify_by)


@cards_bp.post("/supervisions/<supervision_id>/rectified")
@requires(Permission.PETITIONS_ACT)
async def rectified_supervision(tenant_slug, supervision_id):
    return await _act(supervision_id, service.do_mark_rectified)


@cards_bp.post("/supervisions/<supervision_id>/adopt")
@requires(Permission.PETITIONS_ACT)
async def adopt_supervision(tenant_slug, supervision_id):
    """Take up a rule's proposal: it becomes a draft (approved before it goes out, where its type needs it)."""
    return await _act(supervision_id, service.do_adopt_proposal)


@cards_bp.post("/supervisions/<supervision_id>/dismiss")
@requires(Permission.PETITIONS_ACT)
@document_request(TextIn)
async def dismiss_supervision(tenant_slug, supervision_id):
    """Decline a proposal or withdraw a draft that never went out; ``text`` is the reason (required)."""
    return await _act(supervision_id, service.do_dismiss, (await parse_body(TextIn)).text)


@cards_bp.post("/supervisions/<supervision_id>/return")
@requires(Permission.PETITIONS_ACT)
@document_request(TextIn)
async def return_supervision(tenant_slug, supervision_id):
    """A leader does not approve: back to its author as a draft, with the reason in ``text``."""
    return await _act(supervision_id, service.do_return_for_revision, (await parse_body(TextIn)).text)


@cards_bp.post("/supervisions/<supervision_id>/follow-ups")
@requires(Permission.PETITIONS_ACT)
@document_request(FollowUpIn)
async def record_follow_up(tenant_slug, supervision_id):
    """A follow-up visit (回访) took place: ``due_on`` names the visit that was due, ``text`` what it found."""
    body = await parse_body(FollowUpIn)
    return await _act(supervision_id, service.do_record_follow_up, body.due_on, body.text)


@cards_bp.get("/supervision-stats")
@requires(Permission.PETITIONS_READ)
async def supervision_stats(tenant_slug):
    """Cards by type and colour, actions by form with shares, overdue counts."""
    return await stats.statistics(current_tenant().scope)
