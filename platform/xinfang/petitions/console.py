"""The staff console: server-rendered inbox, petition page with the allowed actions, registration."""

from __future__ import annotations

import secrets
from datetime import date

from quart import Blueprint, Response, current_app, redirect, request, url_for

from ..auth.access import current_principal, end_session, start_session
from ..auth.login_guard import check_login_form, login_form_token, safe_next
from ..auth.models import Role, StaffAccount
from ..auth.permissions import Permission, public, requires
from ..auth.principal import Principal
from ..auth.service import authenticate_staff, guarded_login
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..forms.reading import answer_rows, file_field_names
from ..forms.rendering import parse_form, render_form
from ..forms.schema_safety import FieldError
from ..forms.service import list_forms, require_form
from ..i18n import current_lang
from ..http import staff_page
from ..navigation import allowed_target, staff_home_url
from ..plugins import maybe_await
from ..tenancy.resolution import current_tenant
from ..tenancy.service import children_of, grouped_near_first, list_active_tenants
from ..timefmt import local_date, request_zone, zone
from ..store.documents import utcnow
from ..audit.service import do_append_audit
from . import exports, service, upper_level
from .http import keyring
from .models import CHANNEL_NAMES, Channel, Petition
from .page_lookups import (STAFF_ID_FIELDS, account_names, attachment_rows, human_size, receiving_body_names, staff_names,
                           supervisions_from)
from .uploads import request_uploads
from .views import NOTICE_STEPS, staff_view, summary_view
from .workflow import FIELD_TITLES, Workflow

console_bp = Blueprint("console", __name__, url_prefix="/t/<tenant_slug>/staff")


_page = staff_page

# Shown for a staff id in the history whose account no longer exists (never the raw id).
T_UNKNOWN_STAFF = {"zh": "（已删除的账号）", "en": "(deleted account)"}


@console_bp.get("/login")
@public("staff log in here")
async def login_page(tenant_slug):
    return await _page("staff/login.html", message=None, next=request.args.get("next", ""), login_csrf=login_form_token())


@console_bp.post("/login")
@public("staff log in here")
async def login_submit(tenant_slug):
    submitted = await request.form
    ctx = current_tenant()
    username = submitted.get("username", "")
    try:
        check_login_form(submitted)
        account = await guarded_login(ctx.tenant_id, username, request.remote_addr, lambda: authenticate_staff(ctx.scope, username, submitted.get("password", "")))
    except DomainError as refused:
        return await _page("staff/login.html", refused.status, message=refused.message, next=submitted.get("next", ""),
                           login_csrf=login_form_token())
    await start_session(account)
    # Each role lands on a page it may open: a tenant admin on form administration, caseworkers on their inbox;
    # a "next" page the role may not see would only answer 403, so it lands home too.
    principal = Principal.of_staff(account, "session")
    target = safe_next(submitted.get("next", ""), (f"/t/{tenant_slug}/staff/", f"/t/{tenant_slug}/admin/"))
    if target and not allowed_target(principal, target, ctx.tenant_id):
        target = None
    return redirect(target or staff_home_url(principal, ctx.tenant))


@console_bp.post("/logout")
@requires(Permission.TENANT_READ)
async def logout(tenant_slug):
    await end_session()
    return redirect(url_for("console.login_page", tenant_slug=tenant_slug))


def _inbox_filters(principal: Principal) -> tuple[dict, dict]:
    """(what the page shows as chosen, what the inbox query gets): "my cases" is the assignee filter set to me."""
    shown = {k: request.args.get(k) for k in (*service.INBOX_FILTERS, "mine") if request.args.get(k)}
    query = {k: v for k, v in shown.items() if k != "mine"}
    if shown.get("mine"):
        query["assignee"] = principal.account_id
    return shown, query


def _assign_step(workflow: Workflow, principal: Principal):
    """The workflow's step that names a handler (分办), if this person's roles may take it anywhere."""
    return next((t for t in workflow.transitions if "assignee" in t.fields and not t.move and set(principal.roles) & set(t.roles)), None)


async def _handlers(ctx) -> list[StaffAccount]:
    return [a async for a in ctx.scope.repo(StaffAccount).find({"roles": Role.HANDLER.value, "active": True})]


@console_bp.get("/")
@requires(Permission.PETITIONS_READ)
async def inbox_page(tenant_slug):
    ctx, principal = current_tenant(), current_principal()
    page = request.args.get("page", 1, type=int) or 1
    shown, query = _inbox_filters(principal)
    items, total = await service.inbox(ctx, filters=query, page=page, page_size=20)
    workflow = await service.tenant_workflow(ctx.scope)
    can_assign = Permission.PETITIONS_ACT in principal.permissions and _assign_step(workflow, principal) is not None
    names = await account_names(ctx.scope, [p.assignee_id for p in items])
    workflows = await service.petition_workflows(ctx.scope, items)  # each case in its own version's words
    from ..supervisors.lookups import relayers_of  # who relayed which case (信访监督员代为反映)

    relayers = await relayers_of([p.id for p in items])
    return await _page("staff/inbox.html", principal=principal, items=[dict(summary_view(p, workflows[p.workflow_version]),
                                                                             assignee_name=names.get(p.assignee_id or ""),
                                                                             relayed_by=relayers.get(str(p.id)))
                                                                        for p in items],
                       total=total, page=page, pages=max(1, -(-total // 20)), filters=shown, workflow=workflow,
                       sources=service.INBOX_SOURCES,
                       channels=CHANNEL_NAMES, can_assign=can_assign, handlers=await _handlers(ctx) if can_assign else [],
                       export_query=request.query_string.decode())


BULK_MAX = 100  # cases in one bulk assignment


@console_bp.post("/bulk-assign")
@requires(Permission.PETITIONS_ACT)
async def bulk_assign_submit(tenant_slug):
    """分办 several cases to one handler: each goes through the workflow's own step and its checks; the page says what happened to each."""
    ctx, principal = current_tenant(), current_principal()
    submitted = await request.form
    ids, assignee = submitted.getlist("petition")[:BULK_MAX], submitted.get("assignee", "")
    if not ids or not assignee:
        raise InvalidInput(fields={"petition" if not ids else "assignee": {"zh": "请勾选信访件并选择承办人", "en": "tick the cases and choose a handler"}})
    workflow = await service.tenant_workflow(ctx.scope)
    outcomes = []
    for petition_id in dict.fromkeys(ids):
        outcomes.append(await _assign_one(ctx, principal, workflow, petition_id, assignee))
    names = await account_names(ctx.scope, [assignee])
    return await _page("staff/bulk_assigned.html", principal=principal, outcomes=outcomes, assignee_name=names.get(assignee),
                       done=sum(1 for o in outcomes if o["ok"]))


async def _assign_one(ctx, principal: Principal, workflow: Workflow, petition_id: str, assignee: str) -> dict:
    try:
        petition = await service.access_petition(ctx, petition_id)
    except NotFound as missing:
        return {"number": None, "title": None, "id": None, "ok": False, "message": missing.message}
    row = {"number": petition.number, "title": petition.title, "id": str(petition.id)}
    workflow = await service.petition_workflow(ctx.scope, petition)  # the version the case runs on
    step = next((t for t in service.allowed_transitions(workflow, petition, principal) if "assignee" in t.fields and not t.move), None)
    if step is None:
        state = next((s.name.model_dump() for s in workflow.states if s.key == petition.state), {"zh": "", "en": ""})
        return dict(row, ok=False, message={"zh": f"当前状态（{state['zh']}）下您不能分办", "en": f"you cannot assign it in its current state ({state['en']})"})
    try:
        await service.do_transition(ctx, keyring(), petition, step.key, actor=principal, fields={"assignee": assignee})
    except DomainError as refused:
        return dict(row, ok=False, message=_with_fields(refused))
    return dict(row, ok=True, message={"zh": "已分办", "en": "assigned"})


def _with_fields(refused: DomainError) -> dict:
    details = {lang: "; ".join(m[lang] for m in refused.fields.values()) for lang in ("zh", "en")}
    return {"zh": refused.message["zh"] + (f"（{details['zh']}）" if details["zh"] else ""),
            "en": refused.message["en"] + (f" ({details['en']})" if details["en"] else "")}


@console_bp.get("/export.<kind>")
@requires(Permission.PETITIONS_READ)
async def export_inbox(tenant_slug, kind):
    """The inbox's current filter as CSV or XLSX (at most exports.EXPORT_MAX rows), in words and in the tenant's zone."""
    if kind not in ("csv", "xlsx"):
        raise NotFound()
    ctx, principal, lang = current_tenant(), current_principal(), current_lang()
    _, query = _inbox_filters(principal)
    items, total = await service.inbox(ctx, filters=query, page=1, page_size=exports.EXPORT_MAX)
    # A list of cases leaving the platform is recorded like an archive read: who, when, which filter, how many.
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="petitions.export",
                          purpose=f"导出信访件清单（{kind.upper()}）/ exported the case list", query=query,
                          tenant_ids=[str(ctx.tenant_id)], result_count=len(items))
    workflows = await service.petition_workflows(ctx.scope, items)
    table = exports.rows(items, workflows, await account_names(ctx.scope, [p.assignee_id for p in items]), request_zone(), lang)
    if total > len(items):  # said in the file itself, where the reader of the export will see it
        table.append([{"zh": f"仅导出前 {len(items)} 条，共 {total} 条：请缩小筛选范围后分批导出。",
                       "en": f"Only the first {len(items)} of {total} cases were exported: narrow the filter and export in parts."}[lang]])
    stamp = utcnow().astimezone(zone(request_zone())).strftime("%Y%m%d-%H%M")
    name = f"{ctx.tenant.slug}-petitions-{stamp}.{kind}"
    if kind == "csv":
        body, mimetype = exports.as_csv(table), "text/csv; charset=utf-8"
    else:
        body = exports.as_xlsx(table, "信访件" if lang == "zh" else "Petitions")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                                                       "X-Content-Type-Options": "nosniff"})


@console_bp.get("/petitions/<petition_id>")
@requires(Permission.PETITIONS_READ)
async def petition_page(tenant_slug, petition_id, message=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    try:
        petition = await service.access_petition(ctx, petition_id)
    except NotFound as missing:
        # A link to a case this body has since assigned down (a notification's, a bookmark): it now follows the case.
        try:
            await upper_level.access_followed_case(principal, ctx.tenant, petition_id)
        except NotFound:
            raise missing from None  # the case page's own 404, the same for any other id
        return redirect(url_for("upper_level.followed_page", tenant_slug=tenant_slug, petition_id=petition_id))
    workflow = await service.petition_workflow(ctx.scope, petition)
    identity = await service.open_identity(keyring(), petition) if Permission.PETITION_IDENTITY_READ in principal.permissions else None
    view = staff_view(petition, workflow, principal, service.allowed_transitions(
        workflow, petition, principal, lower_bodies=await service.has_lower_bodies(ctx)), identity)
    names, bodies = await staff_names(petition), await receiving_body_names(petition)
    for step in view["timeline"]:  # 分办 stores the assignee's id; people read the name
        for field in STAFF_ID_FIELDS:
            if step["fields"].get(field):
                step["fields"][field] = names.get((step["tenant_id"], step["fields"][field]), T_UNKNOWN_STAFF[current_lang()])
        if step["fields"].get("channel") in CHANNEL_NAMES:  # the submission step records the channel's code
            step["fields"]["channel"] = CHANNEL_NAMES[step["fields"]["channel"]][current_lang()]
        if step["fields"].get("target_tenant") in bodies:  # a move records the receiving body's slug
            step["fields"]["target_tenant"] = bodies[step["fields"]["target_tenant"]][current_lang()]
        if step["fields"].get("received_on"):  # a registration's date received, as a date people read
            step["fields"]["received_on"] = local_date(step["fields"]["received_on"], request_zone(), current_lang())
    # The download route asks for petitions.read; the list is offered only to whoever it would serve.
    attachments = await attachment_rows(petition) if Permission.PETITIONS_READ in principal.permissions else []
    handlers = await _handlers(ctx)
    # The bodies a move may go to, read only when an offered step moves the case (every active tenant is thousands).
    moves = {action["moves_case"] for action in view["actions"]}
    children = await children_of(ctx.tenant) if "child" in moves else []
    others = await list_active_tenants() if "any" in moves else []
    form = await service.form_of(ctx, petition)
    pm = current_app.extensions["xinfang.pm"]
    panels = [await maybe_await(p) for p in pm.hook.xinfang_petition_panels(tenant=ctx.tenant, petition=petition, principal=principal)]
    return await _page("staff/petition.html", status, principal=principal, view=view, field_titles=FIELD_TITLES, message=message,
                       panels=[p for p in panels if p],
                       answer_rows=answer_rows(form.json_schema if form else {}, petition.answers, current_lang()),
                       identity_rows=answer_rows(form.json_schema if form else {}, view.get("identity") or {}, current_lang()),
                       form_title=form.title() if form else None, handlers=handlers, children=children, others=grouped_near_first(others, ctx.tenant),
                       channels=CHANNEL_NAMES, attachments=[dict(a, size_text=human_size(a["size"])) for a in attachments],
                       supervisions=await supervisions_from(ctx.scope, petition), notice=_decision(petition, ctx.tenant_id),
                       may_issue_card=Permission.PETITIONS_ACT in principal.permissions and petition.state not in _settled(workflow),
                       received_on=petition.received_on or petition.created_at, identity_destroyed_on=petition.identity_destroyed_on)


def _settled(workflow: Workflow) -> set[str]:
    """States in which nothing more is issued from a case: closed, archived, or not accepted."""
    return set(workflow.terminal_states()) | {"not_accepted"}


def _decision(petition: Petition, tenant_id: str):
    """The latest accept / refuse decision this tenant took on the case (a notice is printed from it), or None."""
    return next((step for step in reversed(petition.steps) if step.action in NOTICE_STEPS and step.tenant_id == tenant_id), None)


@console_bp.post("/petitions/<petition_id>/transitions/<key>")
@requires(Permission.PETITIONS_ACT)
async def transition_submit(tenant_slug, petition_id, key):
    ctx, principal = current_tenant(), current_principal()
    submitted = await request.form
    fields = {k: v for k, v in submitted.items() if k != "csrf_token" and v != ""}
    await service.access_petition(ctx, petition_id)  # not this body's (or none): the 404 page, not a message on it
    try:
        petition = await service.do_transition_of(ctx, keyring(), petition_id, key, actor=principal, fields=fields)
    except DomainError as refused:
        details = "; ".join(f"{FIELD_TITLES.get(k, {}).get(current_lang(), k)}: {v[current_lang()]}" for k, v in refused.fields.items())
        message = {"zh": refused.message["zh"] + (f"（{details}）" if details else ""), "en": refused.message["en"] + (f" ({details})" if details else "")}
        return await petition_page(tenant_slug, petition_id, message=message, status=refused.status)
    if petition.tenant_id != ctx.tenant_id:
        return redirect(url_for("console.inbox_page", tenant_slug=tenant_slug))
    return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=petition_id))


SUBMISSION_KEY = "_submission_key"  # the form's hidden idempotency key, as on the portal (service.do_submit_petition)
REGISTER_CHANNELS = tuple(c for c in Channel if c != Channel.ONLINE)


def _today(ctx) -> date:
    return utcnow().astimezone(zone(ctx.tenant.settings.time_zone)).date()


async def _register_page(ctx, form, *, values=None, errors=(), channel="letter", anonymous=False, received_on="",
                         received_error=None, file_errors=(), general_errors=(), status=200):
    # A fresh key on every render: a double click or a resend after a lost answer repeats it and gets the
    # first registration back; a new page is a new petition.
    return await _page("staff/register.html", status, principal=current_principal(), forms=await list_forms(ctx.scope), form=form,
                       fields=render_form(form.json_schema, lang=current_lang(), values=values or {}, errors=list(errors)),
                       channels={c: CHANNEL_NAMES[c] for c in REGISTER_CHANNELS}, channel=channel, anonymous=anonymous,
                       received_on=received_on or _today(ctx).isoformat(), today=_today(ctx).isoformat(), received_error=received_error,
                       file_errors=list(file_errors), general_errors=list(general_errors), submission_key=secrets.token_urlsafe(16))


@console_bp.get("/register")
@requires(Permission.PETITIONS_REGISTER)
async def register_page(tenant_slug):
    ctx = current_tenant()
    forms = await list_forms(ctx.scope)
    key = request.args.get("form") or (forms[0].key if forms else "petition")
    return await _register_page(ctx, await require_form(ctx.scope, key))


RECEIVED_REQUIRED = {"zh": "请填写收到日期", "en": "enter the date received"}
RECEIVED_FORMAT = {"zh": "日期格式不对", "en": "not a date"}


def _received_on(text: str) -> date:
    if not text.strip():
        raise InvalidInput(fields={"received_on": RECEIVED_REQUIRED})
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(fields={"received_on": RECEIVED_FORMAT}) from None


@console_bp.post("/register")
@requires(Permission.PETITIONS_REGISTER)
async def register_submit(tenant_slug):
    ctx = current_tenant()
    submitted = await request.form
    form = await require_form(ctx.scope, submitted.get("_form", "petition"))
    answers = parse_form(form.json_schema, submitted, files=await request.files)
    anonymous = submitted.get("_anonymous") == "1"
    channel = submitted.get("_channel", "letter")
    received_text = submitted.get("received_on")
    if received_text is None:  # a client that sends no such field (older pages, scripts): received today
        received_text = _today(ctx).isoformat()
    try:
        if channel not in {c.value for c in REGISTER_CHANNELS}:
            raise InvalidInput(fields={"channel": {"zh": "请选择来信、来访或来电", "en": "choose letter, visit or phone call"}})
        received_on = _received_on(received_text)
        uploads = await request_uploads(form_fields=file_field_names(form.json_schema))
        petition, receipt = await service.do_submit_petition(
            ctx, keyring(), form, answers=answers, anonymous=anonymous, channel=Channel(channel),
            registered_by=current_principal(), uploads=uploads, received_on=received_on,
            idempotency_key=submitted.get(SUBMISSION_KEY) or None,
        )
    except (InvalidInput, Conflict) as refused:
        own = ("received_on", "channel", "body", service.SUBMISSION_KEY_FIELD)
        errors = [FieldError(path, m["zh"], m["en"]) for path, m in refused.fields.items() if path not in own and not path.startswith("files")]
        general = [m for path, m in refused.fields.items() if path in ("channel", "body", service.SUBMISSION_KEY_FIELD)]
        if not refused.fields:
            general.append(refused.message)
        return await _register_page(ctx, form, values=answers, errors=errors, channel=channel, anonymous=anonymous, received_on=received_text,
                                    received_error=refused.fields.get("received_on"), general_errors=general,
                                    file_errors=[m for path, m in refused.fields.items() if path.startswith("files")], status=refused.status)
    return await _page("staff/registered.html", 201, principal=current_principal(), petition=petition, number=petition.number,
                       receipt=receipt, petition_id=str(petition.id), channels=CHANNEL_NAMES, track_url=_track_url(ctx))


def _track_url(ctx) -> str:
    return url_for("portal.track", tenant_slug=ctx.tenant.slug, _external=True)


@console_bp.get("/petitions/<petition_id>/notice")
@requires(Permission.PETITIONS_READ)
async def notice_page(tenant_slug, petition_id):
    """受理告知书 / 不予受理告知书, printable, from the accept or refuse decision this body took on the case."""
    ctx, principal = current_tenant(), current_principal()
    petition = await service.access_petition(ctx, petition_id)
    decision = _decision(petition, ctx.tenant_id)
    if decision is None:
        raise NotFound({"zh": "这件信访件尚未作出受理或不予受理的决定", "en": "no decision on acceptance has been taken on this petition yet"})
    addressee = None
    if not petition.anonymous and Permission.PETITION_IDENTITY_READ in principal.permissions:
        identity = await service.open_identity(keyring(), petition)
        addressee = identity.get("petitioner_name") or identity.get("name")
    return await _page("staff/notice.html", principal=principal, petition=petition, kind=NOTICE_STEPS[decision.action], decision=decision,
                       addressee=addressee if isinstance(addressee, str) else None, received_on=petition.received_on or petition.created_at,
                       track_url=_track_url(ctx))
