"""Campaigns as the pages and the API show them: the owner sees every unit, its progress and the risks found by
item; a lower body in it sees the campaign, its checklist and its own unit only."""

from __future__ import annotations

from ..auth.permissions import Permission
from ..auth.principal import Principal
from ..petitions.service import china_today
from ..tenancy.service import get_tenant
from .models import STATUS_NAMES, Campaign, UnitReport
from .service import reports_of, units_of


def report_view(report: UnitReport | None) -> dict | None:
    if report is None:
        return None
    return {"reported_at": report.reported_at.isoformat(), "reported_by_name": report.reported_by_name,
            "results": {r.item_key: r.model_dump() for r in report.results},
            "risks": sum(1 for r in report.results if r.risk), "open": len(report.open_items())}


def summary(campaign: Campaign, tenant_id: str, reports: dict[str, UnitReport] | None = None) -> dict:
    today = china_today().isoformat()
    row = {"id": str(campaign.id), "tenant_id": campaign.tenant_id, "title": campaign.title, "description": campaign.description,
           "period_start": campaign.period_start, "period_end": campaign.period_end, "runs_here": campaign.tenant_id == tenant_id,
           "phase": "before" if today < campaign.period_start else "after" if today > campaign.period_end else "during",
           "units_total": len(campaign.units), "created_by_name": campaign.created_by_name,
           "status": campaign.status, "status_name": STATUS_NAMES[campaign.status], "report_due_on": campaign.report_due_on or campaign.period_end}
    if reports is not None:
        row["units_reported"] = sum(1 for u in campaign.units if u.key in reports)
    return row


async def campaign_view(campaign: Campaign, principal: Principal) -> dict:
    tenant_id = principal.tenant_id
    reports = await reports_of(campaign)
    owner = await get_tenant(campaign.tenant_id)
    view = summary(campaign, tenant_id, reports) | {
        "owner": owner.name.model_dump() if owner else {"zh": "（已撤销的单位）", "en": "(a body no longer active)"},
        "checklist": [i.model_dump() for i in campaign.checklist],
        "carried_from": campaign.carried_from,
    }
    manage = Permission.CAMPAIGNS_MANAGE in principal.permissions and view["runs_here"]
    view.update({"approved_by_name": campaign.approved_by_name, "approved_at": campaign.approved_at.isoformat() if campaign.approved_at else None,
                 "closed_by_name": campaign.closed_by_name, "closed_at": campaign.closed_at.isoformat() if campaign.closed_at else None,
                 "closing_note": campaign.closing_note, "closing_summary": campaign.closing_summary,
                 "remind_working_days": campaign.remind_working_days,
                 "may_approve": manage and campaign.status == "awaiting_approval" and principal.account_id != campaign.created_by,
                 "awaits_other_leader": manage and campaign.status == "awaiting_approval" and principal.account_id == campaign.created_by,
                 "may_close": manage and campaign.status == "running", "may_set_deadlines": manage and campaign.status != "closed",
                 "may_export": view["runs_here"] and campaign.status != "awaiting_approval"})
    today = china_today().isoformat()
    may_report = Permission.PETITIONS_ACT in principal.permissions and view["phase"] != "after" and campaign.status == "running"
    mine = {u.key for u in units_of(campaign, tenant_id)}
    shown = campaign.units if view["runs_here"] else [u for u in campaign.units if u.key in mine]
    view["units"] = [{"key": u.key, "kind": u.kind, "name": u.name, "reported": u.key in reports,
                      "due_on": campaign.due_of(u), "own_deadline": u.due_on is not None,
                      "overdue": u.key not in reports and u.overdue_for == campaign.due_of(u),
                      "late_now": u.key not in reports and campaign.status == "running" and today > campaign.due_of(u),
                      "report": report_view(reports.get(u.key)), "may_report": may_report and u.key in mine,
                      "carried": [c.model_dump() for c in campaign.carried if c.unit_key == u.key]} for u in shown]
    if view["runs_here"]:
        view["by_item"] = [{"key": i.key, "text": i.text,
                            "risks": sum(1 for r in reports.values() for x in r.results if x.item_key == i.key and x.risk),
                            "open": sum(1 for r in reports.values() for x in r.results if x.item_key == i.key and x.risk and not x.resolved)}
                           for i in campaign.checklist]
        view["carried_open"] = sum(1 for c in campaign.carried
                                   if not (reports.get(c.unit_key) and any(x.item_key == c.key and (not x.risk or x.resolved)
                                                                           for x in reports[c.unit_key].results)))
        view["carried_total"] = len(campaign.carried)
    return view
