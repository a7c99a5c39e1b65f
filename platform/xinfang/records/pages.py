"""Staff pages of the archive (归档): the list (search by archive number, case number or title; year; kind), one
record as frozen (the read is audited), its export, the 归档 action on a closed case's page (a panel) and on a card's,
and the tenant admin's page for the number rule and retention classes."""

from __future__ import annotations

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..http import refusal_message, staff_page
from ..retention import policy
from ..store.scoped import TenantScope
from ..tenancy.context import TenantContext
from ..tenancy.resolution import current_tenant
from . import rules, service, views
from .http import export_response
from .models import SUBJECT_KINDS, SUBJECT_NAMES

record_pages_bp = Blueprint("record_pages", __name__, url_prefix="/t/<tenant_slug>/staff")
record_admin_bp = Blueprint("record_admin", __name__, url_prefix="/t/<tenant_slug>/admin/records")


def _zone() -> str:
    return current_tenant().tenant.settings.time_zone


@record_pages_bp.get("/records")
@requires(Permission.RECORDS_READ)
async def records_page(tenant_slug):
    args = {k: (request.args.get(k) or "").strip()[:100] for k in ("q", "year", "kind")}
    rows = await service.list_records(current_tenant().scope, **args)
    return await staff_page("staff/records.html", items=[views.row(r, _zone()) for r in rows], args=args, kinds=SUBJECT_NAMES)


@record_pages_bp.get("/records/<record_id>")
@requires(Permission.RECORDS_READ)
async def record_page(tenant_slug, record_id):
    """The record as frozen; the read is in the audit chain before the page is shown."""
    record = await service.access_record(current_tenant(), current_principal(), record_id, purpose=request.args.get("purpose", ""))
    return await staff_page("staff/record.html", item=views.full(record, _zone()),
                            may_export=Permission.RECORDS_EXPORT in current_principal().permissions)


@record_pages_bp.get("/records/<record_id>/export")
@requires(Permission.RECORDS_EXPORT)
async def export_page(tenant_slug, record_id):
    return await export_response(record_id)


async def _archive_submit(tenant_slug, kind: str, subject_id: str):
    ctx, principal = current_tenant(), current_principal()
    try:
        record = await service.do_archive(ctx, principal, kind, subject_id)
    except DomainError as refused:
        if refused.status == 404:
            raise
        return await staff_page("staff/record_refused.html", refused.status, message=refusal_message(refused), kind=kind, subject_id=subject_id)
    return redirect(url_for("record_pages.record_page", tenant_slug=tenant_slug, record_id=str(record.id)), 303)


@record_pages_bp.post("/petitions/<petition_id>/archive-record")
@requires(Permission.RECORDS_ARCHIVE)
async def archive_petition_submit(tenant_slug, petition_id):
    return await _archive_submit(tenant_slug, "petition", petition_id)


@record_pages_bp.post("/supervisions/<supervision_id>/archive-record")
@requires(Permission.RECORDS_ARCHIVE)
async def archive_supervision_submit(tenant_slug, supervision_id):
    return await _archive_submit(tenant_slug, "supervision", supervision_id)


async def petition_panel(tenant, petition, principal) -> Markup | None:
    """The case page: its archive number once archived; the 归档 button when it is closed and this person may archive."""
    return await archive_panel(tenant, "petition", petition, principal)


async def archive_panel(tenant, kind: str, subject, principal) -> Markup | None:
    """A case's, card's or action's page: its archive number once archived; the 归档 button when it is closed and this
    person may archive (the same panel for every kind of subject)."""
    if principal is None or principal.tenant_id != str(tenant.id) or subject.tenant_id != str(tenant.id):
        return None
    may_archive = Permission.RECORDS_ARCHIVE in principal.permissions
    may_read = Permission.RECORDS_READ in principal.permissions
    record = await service.record_of_subject(TenantScope(str(tenant.id)), kind, str(subject.id))
    closed = None
    if record is None and may_archive:
        try:
            closed = await service.closed_on(TenantContext.of(tenant), kind, subject)
        except DomainError:
            closed = None
    if record is None and closed is None:
        return None
    submit = "archive_petition_submit" if kind == "petition" else "archive_supervision_submit"
    key = "petition_id" if kind == "petition" else "supervision_id"
    archive_url = url_for(f"record_pages.{submit}", tenant_slug=tenant.slug, **{key: str(subject.id)})
    return Markup(await render_template("staff/_record_panel.html", tenant=tenant, record=record, closed=closed, may_read=may_read,
                                        may_archive=may_archive, archive_url=archive_url, kind=kind))


# -- the tenant admin's rule -------------------------------------------------------------------------


async def _rule_page(status: int = 200, *, values=None, errors=None, saved=False):
    ctx = current_tenant()
    rule = values or await rules.rule_of(ctx.scope, ctx.tenant)
    example = {k: rules.format_number(rule, str(service.tenant_today(ctx).year), k, 1) for k in SUBJECT_KINDS} if not errors else {}
    return await staff_page("admin/records.html", status, rule=rule, errors=errors or {}, saved=saved, kinds=SUBJECT_NAMES,
                            separators=rules.SEPARATORS, year_choices=rules.YEAR_CHOICES, permanent=policy.PERMANENT, example=example)


@record_admin_bp.get("")
@requires(Permission.RECORDS_CONFIGURE)
async def rule_page(tenant_slug):
    return await _rule_page(saved=request.args.get("saved") == "1")


@record_admin_bp.post("")
@requires(Permission.RECORDS_CONFIGURE)
async def rule_submit(tenant_slug):
    form = await request.form
    try:
        values = rules.parse_form(form)
    except InvalidInput as refused:
        shown = {"prefix": form.get("prefix", ""), "separator": form.get("separator", "-"),
                 "category_codes": {k: form.get(f"code_{k}", "") for k in SUBJECT_KINDS},
                 "width": form.get("width", ""), "retention_years": {k: form.get(f"years_{k}") for k in SUBJECT_KINDS}}
        return await _rule_page(refused.status, values=shown, errors=refused.fields)
    await rules.do_set_rule(current_tenant().scope, values, current_principal().display_name)
    return redirect(url_for("record_admin.rule_page", tenant_slug=tenant_slug, saved="1"), 303)
