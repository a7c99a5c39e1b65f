"""The village supervisor's pages (信访监督员), made for a phone, under /t/<slug>/staff/:

  relays                  my relays          relays/new   the relay form (consent first)
  relays/<id>             one relay: state, steps, consent, follow-ups, the follow-up form
  supervisor-network      an upper body's statistics of the supervisor network below it
"""

from __future__ import annotations

import secrets
from datetime import date

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, Forbidden, InvalidInput
from ..forms.reading import answer_rows, file_field_names
from ..forms.rendering import parse_form, render_form
from ..forms.schema_safety import FieldError
from ..forms.service import list_forms, require_form
from ..http import refusal_message, staff_page
from ..i18n import current_lang
from ..petitions.http import keyring
from ..petitions.service import china_today, form_of
from ..petitions.uploads import request_uploads
from ..tenancy.context import TenantContext
from ..tenancy.resolution import current_tenant
from . import network, service
from .models import CONSENT_METHODS, FOLLOW_UP_KINDS

supervisor_pages_bp = Blueprint("supervisor_pages", __name__, url_prefix="/t/<tenant_slug>/staff")

SUBMISSION_KEY = "_submission_key"
OWN_FIELDS = ("consent", "consent_method", "received_on", "body")


async def _intake(ctx: TenantContext) -> TenantContext:
    """Whose forms the relay form shows: this body's, or a village's township's (service.intake_context); a body
    that cannot relay shows its own (the page then says it cannot relay)."""
    if not service.relays_here(ctx.tenant):
        return ctx
    try:
        return await service.intake_context(ctx)
    except Forbidden:
        return ctx


@supervisor_pages_bp.get("/relays")
@requires(Permission.RELAYS_WRITE)
async def relays_page(tenant_slug):
    ctx = current_tenant()
    page = request.args.get("page", 1, type=int) or 1
    rows, total = await service.my_relays(ctx, current_principal(), page)
    return await staff_page("staff/supervisor_relays.html", relays=await service.list_views(rows), total=total, page=page,
                            pages=max(1, -(-total // service.PAGE_SIZE)), may_relay=service.relays_here(ctx.tenant))


async def _relay_form(ctx: TenantContext, form, *, values=None, errors=(), consent=False, consent_method="", anonymous=False,
                      received_on="", own_errors=None, general=(), file_errors=(), status=200):
    intake = await _intake(ctx)
    return await staff_page("staff/supervisor_relay_form.html", status, forms=await list_forms(intake.scope), form=form,
                            fields=render_form(form.json_schema, lang=current_lang(), values=values or {}, errors=list(errors)),
                            consent=consent, consent_method=consent_method, anonymous=anonymous, methods=CONSENT_METHODS,
                            received_on=received_on or china_today().isoformat(), today=china_today().isoformat(),
                            own_errors=own_errors or {}, general=list(general), submission_key=secrets.token_urlsafe(16),
                            may_relay=service.relays_here(ctx.tenant), file_errors=list(file_errors),
                            registering_body=intake.tenant if intake.tenant_id != ctx.tenant_id else None)


@supervisor_pages_bp.get("/relays/new")
@requires(Permission.RELAYS_WRITE)
async def new_relay_page(tenant_slug):
    ctx = current_tenant()
    intake = await _intake(ctx)
    forms = await list_forms(intake.scope)
    key = request.args.get("form") or (forms[0].key if forms else "petition")
    return await _relay_form(ctx, await require_form(intake.scope, key))


def _received_on(text: str | None) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(fields={"received_on": {"zh": "日期格式不对", "en": "not a date"}}) from None


@supervisor_pages_bp.post("/relays/new")
@requires(Permission.RELAYS_WRITE)
async def relay_submit(tenant_slug):
    ctx, principal = current_tenant(), current_principal()
    submitted = await request.form
    if not service.relays_here(ctx.tenant):
        raise Forbidden(service.WRONG_LEVEL)
    intake = await service.intake_context(ctx)
    form = await require_form(intake.scope, submitted.get("_form", "petition"))
    answers = parse_form(form.json_schema, submitted, files=await request.files)
    anonymous, consent, method = submitted.get("_anonymous") == "1", submitted.get("consent") == "1", submitted.get("consent_method", "")
    try:
        uploads = await request_uploads(form_fields=file_field_names(form.json_schema))
        petition, receipt, _ = await service.do_relay_petition(
            ctx, keyring(), principal, form, answers=answers, anonymous=anonymous, consent=consent, consent_method=method,
            received_on=_received_on(submitted.get("received_on")), idempotency_key=submitted.get(SUBMISSION_KEY) or None,
            uploads=uploads)
    except DomainError as refused:
        if refused.status not in (409, 422):
            raise
        errors = [FieldError(path, m["zh"], m["en"]) for path, m in refused.fields.items()
                  if path not in OWN_FIELDS and not path.startswith("files")]
        own = {path: m for path, m in refused.fields.items() if path in OWN_FIELDS}
        return await _relay_form(ctx, form, values=answers, errors=errors, consent=consent, consent_method=method, anonymous=anonymous,
                                 received_on=submitted.get("received_on", ""), own_errors=own,
                                 file_errors=[m for path, m in refused.fields.items() if path.startswith("files")],
                                 general=[] if refused.fields else [refused.message], status=refused.status)
    return await staff_page("staff/supervisor_relayed.html", 201, petition=petition, receipt=receipt, petition_id=str(petition.id),
                            track_url=url_for("portal.track", tenant_slug=intake.tenant.slug, _external=True))


@supervisor_pages_bp.get("/relays/<petition_id>")
@requires(Permission.RELAYS_WRITE)
async def relay_page(tenant_slug, petition_id, message=None, status=200, values=None, field_errors=None):
    ctx = current_tenant()
    found, petition = await service.access_relay(ctx, current_principal(), petition_id)
    view = await service.relay_view(ctx, found, petition)
    form = await form_of(ctx, petition)
    return await staff_page("staff/supervisor_relay.html", status, view=view, message=message, kinds=FOLLOW_UP_KINDS,
                            answer_rows=answer_rows(form.json_schema if form else {}, petition.answers, current_lang()),
                            values=values or {}, field_errors=field_errors or {}, today=china_today().isoformat())


@supervisor_pages_bp.post("/relays/<petition_id>/follow-ups")
@requires(Permission.RELAYS_WRITE)
async def follow_up_submit(tenant_slug, petition_id):
    ctx, principal = current_tenant(), current_principal()
    found, _ = await service.access_relay(ctx, principal, petition_id)
    submitted = await request.form
    values = {k: submitted.get(k, "") for k in ("kind", "happened_on", "note")}
    try:
        await service.do_record_follow_up(ctx, principal, found, **values)
    except InvalidInput as refused:
        return await relay_page(tenant_slug, petition_id, message=refusal_message(refused), status=refused.status, values=values,
                                field_errors=refused.fields)
    return redirect(url_for("supervisor_pages.relay_page", tenant_slug=tenant_slug, petition_id=petition_id) + "#follow-ups")


@supervisor_pages_bp.get("/supervisor-network")
@requires(Permission.ANALYTICS_READ)
async def network_page(tenant_slug):
    stats = await network.network_statistics(current_tenant().tenant)
    return await staff_page("staff/supervisor_network.html", stats=stats, measures=network.MEASURES)
