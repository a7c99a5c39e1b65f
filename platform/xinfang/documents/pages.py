"""Staff pages for official documents (公文): the list (发文, 收文, 我的待办) with counts by kind, drafting, registering
paper, one document with its steps and the forms this person may use, the admin's 文号 and approvers page, and the
case page's panel of linked documents."""

from __future__ import annotations

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.models import StaffAccount
from ..auth.permissions import Permission, requires
from ..cards.document_html import document_markup
from ..display_words import words
from ..errors import DomainError
from ..http import refusal_message, staff_page
from ..petitions.models import Petition
from ..store.scoped import parse_object_id
from ..tenancy.models import Tenant
from ..tenancy.resolution import current_tenant
from . import service
from .http import listed
from .models import KIND_NAMES
from .views import view

document_pages_bp = Blueprint("document_pages", __name__, url_prefix="/t/<tenant_slug>/staff")
TABS = {"incoming": {"zh": "收文", "en": "Incoming"}, "outgoing": {"zh": "发文", "en": "Outgoing"},
        "mine": {"zh": "交我办理", "en": "Given to me"}}


def _doc_url(slug: str, document_id: str) -> str:
    return url_for("document_pages.document_page", tenant_slug=slug, document_id=document_id)


async def _other_bodies(tenant_id: str) -> list[dict]:
    rows = await Tenant.find({"active": True}).sort("slug").to_list()
    return [{"slug": t.slug, "name": t.name.model_dump()} for t in rows if str(t.id) != tenant_id]


@document_pages_bp.get("/documents")
@requires(Permission.DOCUMENTS_READ)
async def documents_page(tenant_slug):
    tab = request.args.get("tab", "incoming")
    tab = tab if tab in TABS else "incoming"
    q = (request.args.get("q") or "").strip()[:100]
    items = await (listed(None, None, True, q) if tab == "mine" else listed(tab, None, False, q))
    return await staff_page("staff/documents.html", tab=tab, tabs=TABS, items=items, q=q, stats=await service.counts(current_tenant().scope),
                            kinds=KIND_NAMES, may_write=Permission.DOCUMENTS_WRITE in current_principal().permissions)


async def _case_number(scope, value: str) -> str:
    """The case the case page's link names by its id, shown as the number staff know (an id nobody reads otherwise)."""
    value = value.strip()[:60]
    if parse_object_id(value) is None:
        return value
    row = await scope.repo(Petition).get(value)
    return row.number if row is not None and row.number else ""


async def _draft_form(tenant_slug, *, values=None, errors=None, message=None, status=200):
    ctx = current_tenant()
    reply_to = None
    reply_id = (values or {}).get("reply_to_id") or request.args.get("reply_to")
    if reply_id:
        reply_to = await service.access_document(ctx.scope, reply_id)
    return await staff_page("staff/document_new.html", status, kinds=KIND_NAMES, bodies=await _other_bodies(ctx.tenant_id),
                            values=values or {"link_petition": await _case_number(ctx.scope, request.args.get("petition", ""))}, errors=errors or {},
                            message=message, reply_to=reply_to)


@document_pages_bp.get("/documents/new")
@requires(Permission.DOCUMENTS_WRITE)
async def draft_page(tenant_slug):
    return await _draft_form(tenant_slug)


def _recipients_from(form) -> list[dict]:
    out = [{"kind": "tenant", "tenant": slug} for slug in form.getlist("to_tenant") if slug]
    out += [{"kind": "department", "name": name.strip()} for name in (form.get("to_departments") or "").split("、") if name.strip()]
    if (form.get("to_citizen") or "").strip():
        out.append({"kind": "citizen", "name": form.get("to_citizen").strip()})
    return out


async def _links_from(form) -> list[dict]:
    """The case the form names, by its number (as staff know it) or its id (the case page's link); an unknown one is
    refused by the service (422 on ``links``)."""
    value = (form.get("link_petition") or "").strip()[:60]
    if not value:
        return []
    if parse_object_id(value) is None:
        row = await current_tenant().scope.repo(Petition).find_one({"number": value})
        value = str(row.id) if row else value
    return [{"kind": "petition", "id": value}]


@document_pages_bp.post("/documents/new")
@requires(Permission.DOCUMENTS_WRITE)
async def draft_submit(tenant_slug):
    form = await request.form
    ctx, principal = current_tenant(), current_principal()
    try:
        row = await service.do_draft(ctx.scope, ctx.tenant, principal, kind=form.get("kind"), title=form.get("title"), body=form.get("body"),
                                     recipients=_recipients_from(form), links=await _links_from(form), reply_to_id=form.get("reply_to_id") or None)
    except DomainError as refused:
        return await _draft_form(tenant_slug, values=dict(form), errors=refused.fields, message=refusal_message(refused), status=refused.status)
    return redirect(_doc_url(tenant_slug, str(row.id)))


async def _register_form(tenant_slug, *, values=None, errors=None, message=None, status=200):
    return await staff_page("staff/document_register.html", status, kinds=KIND_NAMES, values=values or {}, errors=errors or {}, message=message)


@document_pages_bp.get("/documents/register")
@requires(Permission.DOCUMENTS_WRITE)
async def register_page(tenant_slug):
    return await _register_form(tenant_slug)


@document_pages_bp.post("/documents/register")
@requires(Permission.DOCUMENTS_WRITE)
async def register_submit(tenant_slug):
    form, files = await request.form, await request.files
    ctx, principal = current_tenant(), current_principal()
    upload = files.get("scan")
    scan = None
    if upload is not None and upload.filename:
        scan = (upload.filename, upload.mimetype, upload.read(service.MAX_SCAN_BYTES + 1))
    try:
        row = await service.do_register(ctx.scope, principal, kind=form.get("kind"), title=form.get("title"), body=form.get("body"),
                                        sender_name=form.get("sender_name"), document_no=form.get("document_no") or "",
                                        links=await _links_from(form), scan=scan)
    except DomainError as refused:
        return await _register_form(tenant_slug, values=dict(form), errors=refused.fields, message=refusal_message(refused), status=refused.status)
    return redirect(_doc_url(tenant_slug, str(row.id)))


async def _people(tenant_id: str) -> list[dict]:
    accounts = await current_tenant().scope.repo(StaffAccount).find({"active": True}).sort("display_name").to_list()
    return [{"id": str(a.id), "name": a.display_name} for a in accounts if {"registrar", "handler", "leader"} & set(a.roles)]


@document_pages_bp.get("/documents/<document_id>")
@requires(Permission.DOCUMENTS_READ)
async def document_page(tenant_slug, document_id, message=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    row = await service.access_document(ctx.scope, document_id)
    item = view(row, principal, await service.settings_of(ctx.scope))
    # Stored clean at rendering; cleaned again as it is served (as the card documents are), should the list tighten.
    item["body_markup"] = await document_markup(row.body_html) if row.body_html else None
    return await staff_page("staff/document.html", status, item=item, message=message,
                            people=await _people(ctx.tenant_id) if item["may_distribute"] else [])


async def _step(tenant_slug, document_id, verb):
    form = await request.form
    ctx, principal = current_tenant(), current_principal()
    row = await service.access_document(ctx.scope, document_id)
    try:
        await verb(ctx, row, principal, form)
    except DomainError as refused:
        return await document_page(tenant_slug, document_id, message=refusal_message(refused), status=refused.status)
    return redirect(_doc_url(tenant_slug, document_id))


@document_pages_bp.post("/documents/<document_id>/review")
@requires(Permission.DOCUMENTS_READ)
async def review_submit(tenant_slug, document_id):
    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_review(
        ctx.scope, row, p, approve=form.get("decision") != "return", opinion=form.get("opinion") or ""))


@document_pages_bp.post("/documents/<document_id>/sign")
@requires(Permission.DOCUMENTS_READ)
async def sign_submit(tenant_slug, document_id):
    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_sign(ctx.scope, ctx.tenant, row, p))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@document_pages_bp.post("/documents/<document_id>/delivery")
@requires(Permission.DOCUMENTS_WRITE)
async def delivery_submit(tenant_slug, document_id):
    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_record_delivery(
        ctx.scope, row, p, index=_int(form.get("index")), note=form.get("note") or ""))


@document_pages_bp.post("/documents/<document_id>/distribute")
@requires(Permission.DOCUMENTS_WRITE)
async def distribute_submit(tenant_slug, document_id):
    def entries(form):
        days = _int(form.get("due_working_days"))
        return ([{"account_id": a, "purpose": "act", "due_working_days": days} for a in form.getlist("act") if a]
                + [{"account_id": a, "purpose": "read"} for a in form.getlist("read") if a])

    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_distribute(ctx.scope, row, p, entries=entries(form)))


@document_pages_bp.post("/documents/<document_id>/read")
@requires(Permission.DOCUMENTS_READ)
async def read_submit(tenant_slug, document_id):
    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_mark_read(ctx.scope, row, p))


@document_pages_bp.post("/documents/<document_id>/acted")
@requires(Permission.DOCUMENTS_READ)
async def acted_submit(tenant_slug, document_id):
    return await _step(tenant_slug, document_id, lambda ctx, row, p, form: service.do_mark_acted(ctx.scope, row, p, note=form.get("note")))


def _roles() -> list[dict]:
    return [{"key": r, "name": words("role")[r]} for r in service.APPROVER_ROLES]


async def _settings_form(*, values=None, errors=None, message=None, saved=False, status=200):
    row = await service.settings_of(current_tenant().scope)
    values = values or {"prefix": row.prefix, "reviewer_roles": row.reviewer_roles, "signer_roles": row.signer_roles}
    return await staff_page("staff/document_settings.html", status, values=values, errors=errors or {}, message=message, saved=saved,
                            roles=_roles(), kinds=KIND_NAMES, custom=set(row.templates))


@document_pages_bp.get("/document-settings")
@requires(Permission.DOCUMENTS_CONFIGURE)
async def settings_page(tenant_slug):
    return await _settings_form()


@document_pages_bp.post("/document-settings")
@requires(Permission.DOCUMENTS_CONFIGURE)
async def settings_submit(tenant_slug):
    form = await request.form
    values = {"prefix": form.get("prefix") or "", "reviewer_roles": form.getlist("reviewer_roles"), "signer_roles": form.getlist("signer_roles")}
    try:
        await service.do_set_settings(current_tenant().scope, prefix=values["prefix"], reviewer_roles=values["reviewer_roles"],
                                      signer_roles=values["signer_roles"])
    except DomainError as refused:
        return await _settings_form(values=values, errors=refused.fields, message=refusal_message(refused), status=refused.status)
    return await _settings_form(saved=True)


async def petition_panel(tenant, petition, principal) -> Markup | None:
    """The case page: the documents linked to the case and a link to draft one about it."""
    if principal is None or principal.tenant_id != str(tenant.id) or Permission.DOCUMENTS_READ not in principal.permissions:
        return None
    from ..store.scoped import TenantScope

    scope = TenantScope(str(tenant.id))
    rows = await service.documents_of(scope, "petition", str(petition.id))
    settings = await service.settings_of(scope)
    return Markup(await render_template("staff/_documents_panel.html", items=[view(r, principal, settings) for r in rows], tenant=tenant,
                                        petition_id=str(petition.id), may_write=Permission.DOCUMENTS_WRITE in principal.permissions))


# -- each kind's template in the studio's wording editor (templates.py: versions, sandbox, allow-list) ----------------


async def _template_page(kind: str, status: int = 200, *, draft: str | None = None, preview=None, errors=None, saved=None):
    from ..tenancy.config_versions import list_config_versions
    from . import templates

    scope = current_tenant().scope
    kind = templates._kind_of(kind)
    stored = await templates.stored_template(scope, kind)
    if draft is None:
        draft = stored or templates.DEFAULT_TEMPLATE
    return await staff_page(
        "staff/document_template.html", status, kind=kind, kind_name=KIND_NAMES[kind], kinds=KIND_NAMES, draft=draft,
        preview=Markup(preview) if preview is not None else None, errors=errors or {}, saved=saved, is_default=not stored,
        placeholders=[{"text": text, "meaning": meaning} for meaning, text in templates.PLACEHOLDERS],
        versions=await list_config_versions(scope, templates.area_of(kind), 20),
        action=url_for("document_pages.template_submit", tenant_slug=current_tenant().tenant.slug, kind=kind))


@document_pages_bp.get("/document-templates/<kind>")
@requires(Permission.DOCUMENTS_CONFIGURE)
async def template_page(tenant_slug, kind):
    return await _template_page(kind, saved=request.args.get("saved"))


@document_pages_bp.post("/document-templates/<kind>")
@requires(Permission.DOCUMENTS_CONFIGURE)
async def template_submit(tenant_slug, kind):
    from ..tenancy.config_pages import answer_wording_form
    from ..tenancy.config_versions import ConfigActor
    from . import templates

    kind = templates._kind_of(kind)
    scope, form, actor = current_tenant().scope, await request.form, ConfigActor.of(current_principal())
    return await answer_wording_form(
        scope, form, area=templates.area_of(kind), draft=(form.get("template") or "")[:20000], actor=actor,
        write=lambda value: templates.do_set_document_template(scope, kind, value, actor),
        preview=lambda draft: templates.preview(scope, kind, draft),
        page=lambda status, **context: _template_page(kind, status, **context),
        done=lambda todo: redirect(url_for("document_pages.template_page", tenant_slug=tenant_slug, kind=kind, saved=todo), 303))
