"""JSON routes for screening campaigns (排查), under /t/<slug>/api/:

  GET  campaigns                                   the campaigns this body runs and those it is a unit of
  POST campaigns {title, period_start, period_end, checklist: [text], unit_tenant_ids: [id], internal_units: [text],
                  description?, carry_from?}       start one (campaigns.manage)
  GET  campaigns/<id>                              progress (owner), or the campaign and one's own unit (a unit)
  POST campaigns/<id>/units/<unit_key>/report {results: [{item_key, risk, description, measures, resolved}]}
  POST campaigns/<id>/approve                      another leader of the running body approves it: it starts
  POST campaigns/<id>/units/<unit_key>/deadline {due_on}   one unit's own report deadline (running body)
  POST campaigns/<id>/close {note?}                the running body closes it; the open items are summed up
  GET  campaigns/<id>/export/xlsx | csv            the results, one row per unit and item (running body)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import parse_body
from ..tenancy.resolution import current_tenant
from . import service, views

campaigns_api_bp = Blueprint("campaigns", __name__, url_prefix="/t/<tenant_slug>/api")


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=service.MAX_TEXT)
    period_start: str = Field(max_length=10, description="YYYY-MM-DD")
    period_end: str = Field(max_length=10, description="YYYY-MM-DD")
    checklist: list[str] = Field(max_length=service.MAX_ITEMS, description="the risks to check, one text per item")
    unit_tenant_ids: list[str] = Field(default_factory=list, max_length=service.MAX_UNITS, description="lower bodies")
    internal_units: list[str] = Field(default_factory=list, max_length=service.MAX_UNITS, description="internal units, as text")
    carry_from: str | None = Field(default=None, max_length=24, description="an earlier campaign of this body: its open items carry over")
    report_due_on: str | None = Field(default=None, max_length=10, description="the units' default report deadline, within the period")
    remind_working_days: int = Field(default=2, ge=0, le=30, description="warn a unit this many working days before its deadline")


class DeadlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_on: str = Field(max_length=10, description="YYYY-MM-DD, within the period, not in the past")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=service.MAX_TEXT)


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_key: str = Field(max_length=20)
    risk: bool
    description: str = Field(default="", max_length=service.MAX_TEXT)
    measures: str = Field(default="", max_length=service.MAX_TEXT)
    resolved: bool = False


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    results: list[ResultIn] = Field(max_length=service.MAX_ITEMS * 4)


async def one(campaign_id: str):
    ctx, principal = current_tenant(), current_principal()
    return principal, await service.access_campaign(principal, ctx.tenant_id, campaign_id)


@campaigns_api_bp.get("/campaigns")
@requires(Permission.PETITIONS_READ)
async def list_campaigns(tenant_slug):
    ctx = current_tenant()
    rows = await service.list_campaigns(ctx.tenant_id)
    return {"items": [views.summary(c, ctx.tenant_id) for c in rows]}


@campaigns_api_bp.post("/campaigns")
@requires(Permission.CAMPAIGNS_MANAGE)
@document_request(CampaignIn)
async def create_campaign(tenant_slug):
    """Start a screening campaign: its period, its units (lower bodies and internal units), its checklist, carry-over."""
    body = await parse_body(CampaignIn)
    campaign = await service.do_create_campaign(current_tenant(), current_principal(), **body.model_dump())
    return await views.campaign_view(campaign, current_principal()), 201


@campaigns_api_bp.get("/campaigns/<campaign_id>")
@requires(Permission.PETITIONS_READ)
async def show_campaign(tenant_slug, campaign_id):
    principal, campaign = await one(campaign_id)
    return await views.campaign_view(campaign, principal)


@campaigns_api_bp.post("/campaigns/<campaign_id>/units/<unit_key>/report")
@requires(Permission.PETITIONS_ACT)
@document_request(ReportIn)
async def report_unit(tenant_slug, campaign_id, unit_key):
    """A unit's results, item by item (risk found, description, measures, resolved), reported up to the campaign's owner."""
    body = await parse_body(ReportIn)
    principal, campaign = await one(campaign_id)
    await service.do_report(campaign, unit_key, principal, [r.model_dump() for r in body.results])
    return await views.campaign_view(campaign, principal), 201


@campaigns_api_bp.post("/campaigns/<campaign_id>/approve")
@requires(Permission.CAMPAIGNS_MANAGE)
async def approve_campaign(tenant_slug, campaign_id):
    """Another leader of the running body approves the campaign (nobody their own: 403); its units are then told."""
    principal, campaign = await one(campaign_id)
    return await views.campaign_view(await service.do_approve(campaign, principal), principal)


@campaigns_api_bp.post("/campaigns/<campaign_id>/units/<unit_key>/deadline")
@requires(Permission.CAMPAIGNS_MANAGE)
@document_request(DeadlineIn)
async def unit_deadline(tenant_slug, campaign_id, unit_key):
    """One unit's own report deadline (the others keep the campaign's)."""
    body = await parse_body(DeadlineIn)
    principal, campaign = await one(campaign_id)
    return await views.campaign_view(await service.do_set_unit_deadline(campaign, unit_key, principal, due_on=body.due_on), principal)


@campaigns_api_bp.post("/campaigns/<campaign_id>/close")
@requires(Permission.CAMPAIGNS_MANAGE)
@document_request(CloseIn)
async def close_campaign(tenant_slug, campaign_id):
    """The running body closes the campaign; the answer carries the summary of what was still open."""
    body = CloseIn() if not (await request.get_data()).strip() else await parse_body(CloseIn)
    principal, campaign = await one(campaign_id)
    return await views.campaign_view(await service.do_close(campaign, principal, note=body.note), principal)


@campaigns_api_bp.get("/campaigns/<campaign_id>/export/<fmt>")
@requires(Permission.PETITIONS_READ)
async def export_campaign(tenant_slug, campaign_id, fmt):
    """The campaign's results as XLSX (Chinese headings, counts as numbers, a summary sheet) or CSV (UTF-8 with BOM)."""
    from .exports import export_response

    principal, campaign = await one(campaign_id)
    return await export_response(campaign, principal, fmt)
