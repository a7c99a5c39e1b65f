"""Staff pages for screening campaigns (排查): the list, starting one (a form: no JSON to type), a campaign's page
(progress and risks by item for the owner; its own unit for a lower body), and a unit's report form."""

from __future__ import annotations

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, NotFound
from ..http import refusal_message, staff_page
from ..petitions.service import china_today
from ..tenancy.resolution import current_tenant
from ..tenancy.service import descendants_of
from . import service, views

campaign_pages_bp = Blueprint("campaign_pages", __name__, url_prefix="/t/<tenant_slug>/staff")


@campaign_pages_bp.get("/campaigns")
@requires(Permission.PETITIONS_READ)
async def campaigns_page(tenant_slug):
    ctx, principal = current_tenant(), current_principal()
    rows = await service.list_campaigns(ctx.tenant_id)
    items = [views.summary(c, ctx.tenant_id, await service.reports_of(c) if c.tenant_id == ctx.tenant_id else None) for c in rows]
    return await staff_page("staff/campaigns.html", items=items, may_start=Permission.CAMPAIGNS_MANAGE in principal.permissions)


async def new_page(values: dict | None = None, errors: dict | None = None, message=None, status: int = 200):
    ctx = current_tenant()
    lower = await descendants_of(ctx.tenant)
    earlier = [c for c in await service.list_campaigns(ctx.tenant_id) if c.tenant_id == ctx.tenant_id]
    today = china_today().isoformat()
    return await staff_page("staff/campaign_new.html", status, lower=lower, earlier=earlier, values=values or {"period_start": today},
                            chosen=set((values or {}).get("unit_tenant_ids", [])), errors=errors or {}, message=message, today=today)


@campaign_pages_bp.get("/campaigns/new")
@requires(Permission.CAMPAIGNS_MANAGE)
async def new_campaign_page(tenant_slug):
    return await new_page()


@campaign_pages_bp.post("/campaigns/new")
@requires(Permission.CAMPAIGNS_MANAGE)
async def new_campaign_submit(tenant_slug):
    form = await request.form
    values = {k: form.get(k, "") for k in ("title", "description", "period_start", "period_end", "checklist", "internal_units", "carry_from",
                                           "report_due_on", "remind_working_days")}
    values["unit_tenant_ids"] = form.getlist("unit_tenant_ids")
    try:
        campaign = await service.do_create_campaign(current_tenant(), current_principal(), **dict(
            values, carry_from=values["carry_from"] or None, report_due_on=values["report_due_on"] or None))
    except DomainError as refused:
        return await new_page(values, refused.fields, refusal_message(refused), refused.status)
    return redirect(url_for("campaign_pages.campaign_page", tenant_slug=tenant_slug, campaign_id=str(campaign.id)))


@campaign_pages_bp.get("/campaigns/<campaign_id>")
@requires(Permission.PETITIONS_READ)
async def campaign_page(tenant_slug, campaign_id, message=None, status=200):
    principal = current_principal()
    campaign = await service.access_campaign(principal, current_tenant().tenant_id, campaign_id)
    return await staff_page("staff/campaign.html", status, view=await views.campaign_view(campaign, principal), message=message,
                            today=china_today().isoformat())


async def _step(tenant_slug, campaign_id, step):
    form, principal = await request.form, current_principal()
    campaign = await service.access_campaign(principal, current_tenant().tenant_id, campaign_id)
    try:
        await step(campaign, principal, form)
    except DomainError as refused:
        return await campaign_page(tenant_slug, campaign_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("campaign_pages.campaign_page", tenant_slug=tenant_slug, campaign_id=campaign_id))


@campaign_pages_bp.post("/campaigns/<campaign_id>/approve")
@requires(Permission.CAMPAIGNS_MANAGE)
async def approve_submit(tenant_slug, campaign_id):
    return await _step(tenant_slug, campaign_id, lambda campaign, principal, form: service.do_approve(campaign, principal))


@campaign_pages_bp.post("/campaigns/<campaign_id>/units/<unit_key>/deadline")
@requires(Permission.CAMPAIGNS_MANAGE)
async def deadline_submit(tenant_slug, campaign_id, unit_key):
    return await _step(tenant_slug, campaign_id, lambda campaign, principal, form: service.do_set_unit_deadline(
        campaign, unit_key, principal, due_on=form.get("due_on", "")))


@campaign_pages_bp.post("/campaigns/<campaign_id>/close")
@requires(Permission.CAMPAIGNS_MANAGE)
async def close_submit(tenant_slug, campaign_id):
    return await _step(tenant_slug, campaign_id, lambda campaign, principal, form: service.do_close(campaign, principal,
                                                                                                    note=form.get("note", "")))


@campaign_pages_bp.get("/campaigns/<campaign_id>/export/<fmt>")
@requires(Permission.PETITIONS_READ)
async def export_download(tenant_slug, campaign_id, fmt):
    from .exports import export_response

    principal = current_principal()
    campaign = await service.access_campaign(principal, current_tenant().tenant_id, campaign_id)
    return await export_response(campaign, principal, fmt)


async def report_page(tenant_slug, campaign_id, unit_key, *, values=None, errors=None, message=None, status=200):
    principal = current_principal()
    campaign = await service.access_campaign(principal, current_tenant().tenant_id, campaign_id)
    view = await views.campaign_view(campaign, principal)
    unit = next((u for u in view["units"] if u["key"] == unit_key), None)
    if unit is None:
        raise NotFound(service.NOT_FOUND)
    if values is None:  # the report as it stands, to revise
        values = (unit["report"] or {}).get("results", {})
    return await staff_page("staff/campaign_report.html", status, view=view, unit=unit, values=values, errors=errors or {}, message=message)


def answers_from(form, view: dict, unit_key: str) -> list[dict]:
    """The report form's fields (risk-<key> yes/no, description-, measures-, resolved-) as the service's answers."""
    unit = next(u for u in view["units"] if u["key"] == unit_key)
    keys = [i["key"] for i in view["checklist"]] + [c["key"] for c in unit["carried"]]
    answers = []
    for key in keys:
        risk = form.get(f"risk-{key}")
        answers.append({"item_key": key, "risk": {"yes": True, "no": False}.get(risk), "description": form.get(f"description-{key}", ""),
                        "measures": form.get(f"measures-{key}", ""), "resolved": form.get(f"resolved-{key}") == "1"})
    return answers


@campaign_pages_bp.get("/campaigns/<campaign_id>/units/<unit_key>/report")
@requires(Permission.PETITIONS_ACT)
async def report_form_page(tenant_slug, campaign_id, unit_key):
    return await report_page(tenant_slug, campaign_id, unit_key)


@campaign_pages_bp.post("/campaigns/<campaign_id>/units/<unit_key>/report")
@requires(Permission.PETITIONS_ACT)
async def report_submit(tenant_slug, campaign_id, unit_key):
    form, principal = await request.form, current_principal()
    campaign = await service.access_campaign(principal, current_tenant().tenant_id, campaign_id)
    view = await views.campaign_view(campaign, principal)
    if not any(u["key"] == unit_key for u in view["units"]):
        raise NotFound(service.NOT_FOUND)
    answers = answers_from(form, view, unit_key)
    try:
        await service.do_report(campaign, unit_key, principal, answers)
    except DomainError as refused:
        values = {a["item_key"]: a for a in answers}
        return await report_page(tenant_slug, campaign_id, unit_key, values=values, errors=refused.fields, message=refusal_message(refused),
                                 status=refused.status)
    return redirect(url_for("campaign_pages.campaign_page", tenant_slug=tenant_slug, campaign_id=campaign_id))
