"""Who hears of a campaign: each lower body in it when it starts (its handlers and leaders), the running body's
leaders when a unit reports. Keys name the campaign and the unit (and the report's time), so nothing goes twice."""

from __future__ import annotations

from beanie.odm.utils.parsing import parse_obj

from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.service import get_tenant
from ..timefmt import local_date
from .models import Campaign, CampaignUnit, UnitReport

ROLES = ["handler", "leader"]


async def _link(tenant_id: str, campaign: Campaign) -> str | None:
    tenant = await get_tenant(tenant_id)
    return f"/t/{tenant.slug}/staff/campaigns/{campaign.id}" if tenant else None


async def notify_units(campaign: Campaign) -> None:
    from ..notifications.service import do_notify

    owner = await get_tenant(campaign.tenant_id)
    owner_name = owner.name.model_dump() if owner else {"zh": "上级", "en": "the upper body"}
    start, end = local_date(campaign.period_start), local_date(campaign.period_end)  # 2027年1月6日, as the pages say a day
    text = {"zh": f"{owner_name['zh']}开展排查：{campaign.title}（{start} 至 {end}），请按清单报送本单位排查结果",
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


UNIT_EVENTS = ("campaign.unit_due_soon", "campaign.unit_overdue", "campaign.deadline_changed")


async def notify_unit_step(campaign: Campaign, event) -> None:
    """A unit's deadline: warned before it, flagged overdue after it (the running body's leaders too), or changed.
    A lower body's handlers and leaders are told; for an internal unit, the running body's."""
    from ..notifications.service import do_notify

    data = event.data or {}
    unit = campaign.unit(str(data.get("unit_key", "")))
    if unit is None:
        return
    due = str(data.get("due_on", ""))
    due_zh = local_date(due)
    words = {
        "campaign.unit_due_soon": ({"zh": f"排查“{campaign.title}”：{unit.name['zh']}请于 {due_zh} 前报送排查结果",
                                    "en": f"Campaign “{campaign.title}”: {unit.name['en']}, report by {due}"}, "campaign"),
        "campaign.unit_overdue": ({"zh": f"排查“{campaign.title}”：{unit.name['zh']}已超过报送期限（{due_zh}）未报送",
                                   "en": f"Campaign “{campaign.title}”: {unit.name['en']} did not report by {due}"}, "campaign"),
        "campaign.deadline_changed": ({"zh": f"排查“{campaign.title}”：{unit.name['zh']}的报送期限调整为 {due_zh}",
                                       "en": f"Campaign “{campaign.title}”: {unit.name['en']} now reports by {due}"}, "campaign"),
    }
    text, kind = words[event.name]
    told = [unit.tenant_id or campaign.tenant_id]
    if event.name == "campaign.unit_overdue" and campaign.tenant_id not in told:
        told.append(campaign.tenant_id)
    for tenant_id in told:
        await do_notify(TenantScope(tenant_id), f"campaign:{campaign.id}:{unit.key}:{event.name}:{due}:{tenant_id}", kind=kind,
                        roles=ROLES, text=text, link=await _link(tenant_id, campaign), subject_id=str(campaign.id))


async def notify_owner_leaders(campaign: Campaign, event) -> None:
    """Submitted: the body's leaders hear that one awaits approval. Closed: the lower bodies hear it ended."""
    from ..notifications.service import do_notify

    if event.name == "campaign.submitted":
        text = {"zh": f"排查“{campaign.title}”由{campaign.created_by_name}发起，待另一位领导审批后开展",
                "en": f"Campaign “{campaign.title}” started by {campaign.created_by_name} awaits another leader's approval"}
        await do_notify(TenantScope(campaign.tenant_id), f"campaign:{campaign.id}:submitted", kind="campaign", roles=["leader"], text=text,
                        link=await _link(campaign.tenant_id, campaign), subject_id=str(campaign.id))
        return
    text = {"zh": f"排查“{campaign.title}”已结束", "en": f"Campaign “{campaign.title}” is closed"}
    for tenant_id in campaign.unit_tenant_ids:
        await do_notify(TenantScope(tenant_id), f"campaign:{campaign.id}:closed", kind="campaign", roles=ROLES, text=text,
                        link=await _link(tenant_id, campaign), subject_id=str(campaign.id))


async def notify_for(event) -> None:
    """plugin.xinfang_handle_event: a campaign submitted, started, closed, a unit reported, warned, overdue or given a deadline."""
    if not event.name.startswith("campaign.") or not event.subject_id:
        return
    if event.name not in ("campaign.started", "campaign.reported", "campaign.submitted", "campaign.closed", *UNIT_EVENTS):
        return
    oid = parse_object_id(event.subject_id)
    raw = await Campaign.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None:
        return
    campaign = parse_obj(Campaign, raw)
    if event.name in UNIT_EVENTS:
        await notify_unit_step(campaign, event)
        return
    if event.name in ("campaign.submitted", "campaign.closed"):
        await notify_owner_leaders(campaign, event)
        return
    if event.name == "campaign.started":
        await notify_units(campaign)
        return
    data = event.data or {}
    unit = campaign.unit(str(data.get("unit_key", "")))
    report = await TenantScope(campaign.tenant_id).repo(UnitReport).find_one({"campaign_id": str(campaign.id), "unit_key": unit.key}) if unit else None
    if report is not None:
        await notify_owner(campaign, unit, report, str(data.get("at", "")))
