"""The staff console: server-rendered inbox, petition page with the allowed actions, registration."""

from __future__ import annotations

from quart import Blueprint, current_app, redirect, request, url_for

from ..auth.access import current_principal, end_session, start_session
from ..auth.login_guard import check_login_form, login_form_token, safe_next
from ..auth.models import Role, StaffAccount
from ..auth.permissions import Permission, public, requires
from ..auth.principal import Principal
from ..auth.service import authenticate_staff, guarded_login
from ..errors import DomainError
from ..forms.rendering import parse_form, render_form
from ..forms.schema_safety import FieldError
from ..forms.service import list_forms, require_form
from ..i18n import current_lang
from ..http import staff_page
from ..navigation import allowed_target, staff_home_url
from ..plugins import maybe_await
from ..tenancy.models import Tenant
from ..tenancy.resolution import current_tenant
from . import service
from .http import keyring
from .models import CHANNEL_NAMES, Channel
from .page_lookups import STAFF_ID_FIELDS, attachment_rows, human_size, staff_names
from .views import staff_view, summary_view
from .workflow import FIELD_TITLES

console_bp = Blueprint("console", __name__, url_prefix="/t/<tenant_slug>/staff")


_page = staff_page

# Shown for a staff id in the history whose account no longer exists (never the raw id).
T_UNKNOWN_STAFF = {"zh": "（已删除的账号）", "en": "(deleted account)"}


def answer_rows(schema: dict, answers: dict, lang: str, prefix: str = "") -> list[tuple[str, str]]:
    """(field title, shown value) pairs in the form's own order and words, nested fieldsets flattened."""
    rows = []
    properties = schema.get("properties", {})
    for key, value in answers.items():
        spec = properties.get(key, {})
        title = (spec.get("x-en", {}).get("title") if lang == "en" else spec.get("title")) or key
        labels = {c.get("const"): (c.get("x-en", {}).get("title") if lang == "en" else c.get("title")) for c in spec.get("oneOf", []) + spec.get("items", {}).get("oneOf", [])}
        if isinstance(value, dict):
            rows += answer_rows(spec, value, lang, prefix=f"{prefix}{title} · ")
        elif isinstance(value, list):
            rows.append((prefix + title, "、".join(str(labels.get(v) or v) for v in value)))
        else:
            rows.append((prefix + title, str(labels.get(value) or value)))
    return rows


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


@console_bp.get("/")
@requires(Permission.PETITIONS_READ)
async def inbox_page(tenant_slug):
    ctx = current_tenant()
    page = request.args.get("page", 1, type=int) or 1
    filters = {k: request.args.get(k) for k in service.INBOX_FILTERS if request.args.get(k)}
    items, total = await service.inbox(ctx, filters=filters, page=page, page_size=20)
    workflow = await service.tenant_workflow(ctx.scope)
    return await _page("staff/inbox.html", principal=current_principal(), items=[summary_view(p, workflow) for p in items],
                       total=total, page=page, pages=max(1, -(-total // 20)), filters=filters, workflow=workflow,
                       channels=CHANNEL_NAMES)


@console_bp.get("/petitions/<petition_id>")
@requires(Permission.PETITIONS_READ)
async def petition_page(tenant_slug, petition_id, message=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    petition = await service.access_petition(ctx, petition_id)
    workflow = await service.tenant_workflow(ctx.scope)
    identity = await service.open_identity(keyring(), petition) if Permission.PETITION_IDENTITY_READ in principal.permissions else None
    view = staff_view(petition, workflow, principal, service.allowed_transitions(
        workflow, petition, principal, lower_bodies=await service.has_lower_bodies(ctx)), identity)
    names = await staff_names(petition)
    for step in view["timeline"]:  # 分办 stores the assignee's id; people read the name
        for field in STAFF_ID_FIELDS:
            if step["fields"].get(field):
                step["fields"][field] = names.get((step["tenant_id"], step["fields"][field]), T_UNKNOWN_STAFF[current_lang()])
        if step["fields"].get("channel") in CHANNEL_NAMES:  # the submission step records the channel's code
            step["fields"]["channel"] = CHANNEL_NAMES[step["fields"]["channel"]][current_lang()]
    # The download route asks for petitions.read; the list is offered only to whoever it would serve.
    attachments = await attachment_rows(petition) if Permission.PETITIONS_READ in principal.permissions else []
    handlers = [a async for a in ctx.scope.repo(StaffAccount).find({"roles": Role.HANDLER.value, "active": True})]
    children = await Tenant.find({"parent_id": ctx.tenant_id, "active": True}).to_list()
    others = await Tenant.find({"active": True}).to_list()
    form = await service.form_of(ctx, petition)
    pm = current_app.extensions["xinfang.pm"]
    panels = [await maybe_await(p) for p in pm.hook.xinfang_petition_panels(tenant=ctx.tenant, petition=petition, principal=principal)]
    return await _page("staff/petition.html", status, principal=principal, view=view, field_titles=FIELD_TITLES, message=message,
                       panels=[p for p in panels if p],
                       answer_rows=answer_rows(form.json_schema if form else {}, petition.answers, current_lang()),
                       identity_rows=answer_rows(form.json_schema if form else {}, view.get("identity") or {}, current_lang()),
                       form_title=form.title() if form else None, handlers=handlers, children=children, others=[t for t in others if str(t.id) != ctx.tenant_id],
                       channels=CHANNEL_NAMES, attachments=[dict(a, size_text=human_size(a["size"])) for a in attachments])


@console_bp.post("/petitions/<petition_id>/transitions/<key>")
@requires(Permission.PETITIONS_ACT)
async def transition_submit(tenant_slug, petition_id, key):
    ctx, principal = current_tenant(), current_principal()
    submitted = await request.form
    fields = {k: v for k, v in submitted.items() if k != "csrf_token" and v != ""}
    petition = await service.access_petition(ctx, petition_id)
    try:
        petition = await service.do_transition(ctx, keyring(), petition, key, actor=principal, fields=fields)
    except DomainError as refused:
        details = "; ".join(f"{FIELD_TITLES.get(k, {}).get(current_lang(), k)}: {v[current_lang()]}" for k, v in refused.fields.items())
        message = {"zh": refused.message["zh"] + (f"（{details}）" if details else ""), "en": refused.message["en"] + (f" ({details})" if details else "")}
        return await petition_page(tenant_slug, petition_id, message=message, status=refused.status)
    if petition.tenant_id != ctx.tenant_id:
        return redirect(url_for("console.inbox_page", tenant_slug=tenant_slug))
    return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=petition_id))


@console_bp.get("/register")
@requires(Permission.PETITIONS_REGISTER)
async def register_page(tenant_slug):
    ctx = current_tenant()
    forms = await list_forms(ctx.scope)
    key = request.args.get("form") or (forms[0].key if forms else "petition")
    form = await require_form(ctx.scope, key)
    return await _page("staff/register.html", principal=current_principal(), forms=forms, form=form,
                       fields=render_form(form.json_schema, lang=current_lang()), channels=CHANNEL_NAMES, channel="letter", anonymous=False)


@console_bp.post("/register")
@requires(Permission.PETITIONS_REGISTER)
async def register_submit(tenant_slug):
    ctx = current_tenant()
    submitted = await request.form
    form = await require_form(ctx.scope, submitted.get("_form", "petition"))
    answers = parse_form(form.json_schema, submitted)
    anonymous = submitted.get("_anonymous") == "1"
    channel = submitted.get("_channel", "letter")
    try:
        petition, receipt = await service.do_submit_petition(
            ctx, keyring(), form, answers=answers, anonymous=anonymous,
            channel=Channel(channel) if channel in Channel._value2member_map_ else Channel.LETTER,
            registered_by=current_principal(),
        )
    except DomainError as refused:
        errors = [FieldError(path if path != "body" else "", m["zh"], m["en"]) for path, m in refused.fields.items()]
        return await _page("staff/register.html", 422, principal=current_principal(), forms=await list_forms(ctx.scope), form=form,
                           fields=render_form(form.json_schema, lang=current_lang(), values=answers, errors=errors),
                           channels=CHANNEL_NAMES, channel=channel, anonymous=anonymous)
    return await _page("staff/registered.html", 201, principal=current_principal(), number=petition.number, receipt=receipt,
                       petition_id=str(petition.id))
