"""Publishing in the staff console: drafts, approval by a second person, withdrawal; received suggestions;
the tenant admin's theme page. Every handler fetches and checks through ``access_*`` and writes through ``do_*``."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..http import refusal_message, staff_page
from ..tenancy.config_versions import ConfigActor, list_config_versions
from ..tenancy.resolution import current_tenant
from . import queries, richtext, service, theme as theme_mod
from .models import KIND_WORDS, KINDS, ONE_KIND_WORDS, STATE_WORDS, STATES
from .pages import SECTION_OF, file_response
from .text import paragraphs

portal_console_bp = Blueprint("portal_console", __name__, url_prefix="/t/<tenant_slug>")

STEP_WORDS = {"created": {"zh": "起草", "en": "drafted"}, "edited": {"zh": "修改", "en": "changed"},
              "submitted": {"zh": "送审", "en": "sent for approval"}, "approved": {"zh": "审核发布", "en": "approved and published"},
              "returned": {"zh": "退回修改", "en": "returned"}, "unpublished": {"zh": "撤下", "en": "withdrawn"},
              "file_added": {"zh": "添加附件", "en": "added a file"}, "file_removed": {"zh": "删除附件", "en": "removed a file"}}
WORDS = dict(kind_words=KIND_WORDS, one_kind_words=ONE_KIND_WORDS, state_words=STATE_WORDS, step_words=STEP_WORDS,
             kinds=KINDS, states=STATES, section_of=SECTION_OF, paragraphs=paragraphs, rich=richtext.render,
             formats=richtext.FORMAT_WORDS, max_file_mb=service.MAX_FILE_BYTES // (1024 * 1024))


def _slug() -> str:
    return current_tenant().tenant.slug


def _item_url(row) -> str:
    return url_for("portal_console.item_page", tenant_slug=_slug(), item_id=str(row.id))


def _form_fields(form) -> dict:
    fields = {name: form.get(name, "") for name in service.LIMITS}
    if form.get("format") is not None:
        fields["format"] = form.get("format")
    return fields


@portal_console_bp.get("/staff/portal/")
@requires(Permission.PORTAL_PUBLISH)
async def items_page(tenant_slug):
    state = request.args.get("state") if request.args.get("state") in STATES else None
    rows = await queries.console_items(current_tenant().scope, state)
    return await staff_page("public/console/items.html", rows=rows, state=state, **WORDS)


@portal_console_bp.get("/staff/portal/new")
@requires(Permission.PORTAL_PUBLISH)
async def new_item_page(tenant_slug):
    kind = request.args.get("kind") if request.args.get("kind") in KINDS[:3] else "notice"
    return await staff_page("public/console/edit.html", row=None, kind=kind, values={"format": "markdown"}, errors={}, message=None, **WORDS)


@portal_console_bp.post("/staff/portal/new")
@requires(Permission.PORTAL_PUBLISH)
async def create_item_submit(tenant_slug):
    form = await request.form
    kind = form.get("kind", "")
    try:
        row = await service.do_create_publication(current_tenant().scope, current_principal(), kind, _form_fields(form))
    except InvalidInput as refused:
        return await staff_page("public/console/edit.html", refused.status, row=None, kind=kind if kind in KINDS else "notice",
                                values=_form_fields(form), errors=refused.fields, message=refusal_message(refused), **WORDS)
    return redirect(_item_url(row))


async def _item(row, *, values=None, errors=None, message=None, notice=None, status=200):
    principal = current_principal()
    tenant_id = current_tenant().tenant_id
    files = await service.files_of(current_tenant().scope, str(row.id))
    return await staff_page("public/console/item.html", status, row=row, values=values or row.model_dump(), errors=errors or {},
                            message=message, notice=notice, may_approve=principal.can(Permission.PORTAL_APPROVE, tenant_id), files=files,
                            is_author=principal.account_id in service.authors_of(row), **WORDS)


@portal_console_bp.get("/staff/portal/items/<item_id>")
@requires(Permission.PORTAL_PUBLISH)
async def item_page(tenant_slug, item_id):
    row = await service.access_publication(current_tenant().scope, item_id)
    return await _item(row, notice=STEP_WORDS.get(request.args.get("done", "")))


async def _act(item_id: str, change, done: str, values_of=None):
    """Fetch the item (404 for another tenant's), apply ``change``; a refusal re-shows the page with its words."""
    scope = current_tenant().scope
    row = await service.access_publication(scope, item_id)
    form = await request.form
    try:
        row = await change(scope, row, current_principal(), form)
    except DomainError as refused:
        row = await service.access_publication(scope, item_id)
        return await _item(row, values=values_of(form) if values_of else None, errors=refused.fields,
                           message=refusal_message(refused), status=refused.status)
    return redirect(url_for("portal_console.item_page", tenant_slug=_slug(), item_id=item_id, done=done))


@portal_console_bp.post("/staff/portal/items/<item_id>")
@requires(Permission.PORTAL_PUBLISH)
async def edit_item_submit(tenant_slug, item_id):
    return await _act(item_id, lambda s, r, p, f: service.do_edit_publication(s, r, p, _form_fields(f)), "edited", _form_fields)


@portal_console_bp.post("/staff/portal/items/<item_id>/submit")
@requires(Permission.PORTAL_PUBLISH)
async def submit_item(tenant_slug, item_id):
    return await _act(item_id, lambda s, r, p, f: service.do_submit_publication(s, r, p), "submitted")


@portal_console_bp.post("/staff/portal/items/<item_id>/approve")
@requires(Permission.PORTAL_APPROVE)
async def approve_item(tenant_slug, item_id):
    return await _act(item_id, lambda s, r, p, f: service.do_approve_publication(s, r, p), "approved")


@portal_console_bp.post("/staff/portal/items/<item_id>/return")
@requires(Permission.PORTAL_APPROVE)
async def return_item(tenant_slug, item_id):
    return await _act(item_id, lambda s, r, p, f: service.do_return_publication(s, r, p, f.get("note", "")), "returned")


@portal_console_bp.post("/staff/portal/items/<item_id>/unpublish")
@requires(Permission.PORTAL_APPROVE)
async def unpublish_item(tenant_slug, item_id):
    return await _act(item_id, lambda s, r, p, f: service.do_unpublish_publication(s, r, p, f.get("note", "")), "unpublished")


@portal_console_bp.post("/staff/portal/items/<item_id>/files")
@requires(Permission.PORTAL_PUBLISH)
async def add_file_submit(tenant_slug, item_id):
    """Attach a PDF or image (checked by its bytes) with a description, to a draft or withdrawn item."""
    async def add(scope, row, principal, form):
        upload = (await request.files).get("file")
        data = upload.read(service.MAX_FILE_BYTES + 1) if upload is not None and upload.filename else b""
        await service.do_add_file(scope, row, principal, filename=upload.filename if upload else "", data=data,
                                  description=form.get("description", ""))
        return row

    return await _act(item_id, add, "file_added")


@portal_console_bp.post("/staff/portal/items/<item_id>/files/<file_id>/remove")
@requires(Permission.PORTAL_PUBLISH)
async def remove_file_submit(tenant_slug, item_id, file_id):
    async def remove(scope, row, principal, form):
        await service.do_remove_file(scope, row, principal, await service.access_file(scope, row, file_id))
        return row

    return await _act(item_id, remove, "file_removed")


@portal_console_bp.get("/staff/portal/items/<item_id>/files/<file_id>")
@requires(Permission.PORTAL_PUBLISH)
async def file_download(tenant_slug, item_id, file_id) -> Response:
    """A file of any item of this body, for the staff who check it before approval (never cached)."""
    scope = current_tenant().scope
    row = await service.access_publication(scope, item_id)
    return file_response(await service.access_file(scope, row, file_id), public=False)


@portal_console_bp.get("/staff/portal/suggestions")
@requires(Permission.PORTAL_PUBLISH)
async def suggestions_page(tenant_slug):
    rows = await queries.received_suggestions(current_tenant().scope)
    return await staff_page("public/console/suggestions.html", rows=rows, **WORDS)


@portal_console_bp.post("/staff/portal/suggestions/<suggestion_id>/take-up")
@requires(Permission.PORTAL_PUBLISH)
async def take_up_suggestion(tenant_slug, suggestion_id):
    scope = current_tenant().scope
    suggestion = await service.access_suggestion(scope, suggestion_id)
    return redirect(_item_url(await service.do_take_up_suggestion(scope, suggestion, current_principal())))


# ----------------------------------------------------------------------------- theme (tenant admin)


async def _theme_page(values=None, errors=None, message=None, saved=False, status=200):
    scope = current_tenant().scope
    current = await theme_mod.portal_theme(scope)
    versions = await list_config_versions(scope, theme_mod.AREA, limit=10)
    return await staff_page("public/console/theme.html", status, theme=current, values=values or current.model_dump(), errors=errors or {},
                            message=message, saved=saved, versions=versions, max_logo_kb=theme_mod.MAX_LOGO_BYTES // 1024,
                            max_logo_side=theme_mod.MAX_LOGO_SIDE)


@portal_console_bp.get("/admin/portal-theme")
@requires(Permission.PORTAL_THEME)
async def theme_page(tenant_slug):
    return await _theme_page(saved=request.args.get("saved") == "1")


@portal_console_bp.post("/admin/portal-theme")
@requires(Permission.PORTAL_THEME)
async def theme_submit(tenant_slug):
    scope = current_tenant().scope
    form, files = await request.form, await request.files
    current = await theme_mod.portal_theme(scope)
    content = {"display_name": {"zh": form.get("name_zh", "").strip(), "en": form.get("name_en", "").strip()},
               "primary": form.get("primary", "").strip(), "accent": form.get("accent", "").strip(),
               "logo": "" if form.get("remove_logo") == "1" else current.logo}
    try:
        upload = files.get("logo")
        data = upload.read(theme_mod.MAX_LOGO_BYTES + 1) if upload is not None and upload.filename else b""
        if data:
            content["logo"] = (await theme_mod.do_store_logo(scope, data)).digest
        await theme_mod.do_set_portal_theme(scope, content, ConfigActor.of(current_principal()))
    except DomainError as refused:
        return await _theme_page(content, refused.fields, refusal_message(refused), status=refused.status)
    return redirect(url_for("portal_console.theme_page", tenant_slug=_slug(), saved=1))
