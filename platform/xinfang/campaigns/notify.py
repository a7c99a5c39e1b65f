"""Who hears of a campaign: each lower body in it when it starts (its handlers and leaders), the running body's
leaders when a unit reports. Keys name the campaign and the unit (and the report's time), so nothing goes twice."""

from __future__ import annotations

from beanie.odm.utils.parsing import parse_obj

from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.service import get_tenant
from .models import Campaign, CampaignUnit, UnitReport

ROLES = ["handler", "leader"]


async def _link(tenant_id: str, campaign: Campaign) -> str | None:
    tenant = await get_tenant(tenant_id)
    return f"/t/{tenant.slug}/staff/campaigns/{campaign.id}" if tenant else None


async def notify_units(campaign: Campaign) -> None:
    from ..notifications.service import do_notify

    owner = await get_tenant(campaign.tenant_id)
    owner_name = owner.name.model_dump() if owner else {"zh": "上级", "en": "the upper body"}
    text = {"zh": f"{owner_name['zh']}开展排查：{campaign.title}（{campaign.period_start} 至 {campaign.period_end}），请按清单报送本单位排查结果",
            "en": f"{owner_name['en']} runs a screening campaign: {campaign.title} ({campaign.period_start} to {campaign.period_end}); report your results"}
    for tenant_id in campaign.unit_tenant_ids:
        await do_notify(TenantScope(tenant_id), f"campaign:{campaign.id}:start", kind="campaign", roles=ROLES, text=text,
                        link=await _link(tenant_id, campaign), subject_id=str(campaign.id))


async def notify_owner(campaign: Campaign, unit: CampaignUnit, report: UnitReport, at: str) -> None:
    from ..notifications.service import do_notify

    risks = len([r for r in report.results if r.risk])
    text = {"zh": f"排查“{campaign.title}”：{unit.name['zh']}已报送结果（发现风险 {risks} 项）",
            "en": f"Campaign “{campaign.title}”: {unit.name['en']} reported ({risks} risk(s) found)"}
    await do_notify(TenantScope(campaign.tenant_id), f"campaign:{campaign.id}:{unit.key}:{at}", kind="campaign",
                    roles=["leader"], text=text, link=await _link(campaign.tenant_id, campaign), subject_id=str(campaign.id))


async def notify_for(event) -> None:
    """plugin.xinfang_handle_event: a campaign started (tell its lower bodies) or a unit reported (tell the owner)."""
    if event.name not in ("campaign.started", "campaign.reported") or not event.subject_id:
        return
    oid = parse_object_id(event.subject_id)
    raw = await Campaign.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None:
        return
    campaign = parse_obj(Campaign, raw)
    if event.name == "campaign.started":
        await notify_units(campaign)
        return
    data = event.data or {}
    unit = campaign.unit(str(data.get("unit_key", "")))
    report = await TenantScope(campaign.tenant_id).repo(UnitReport).find_one({"campaign_id": str(campaign.id), "unit_key": unit.key}) if unit else None
    if report is not None:
        await notify_owner(campaign, unit, report, str(data.get("at", "")))
