"""Campaign verbs (排查): start one (period, units, checklist, open items carried over), report a unit's results.

* A leader (``campaigns.manage``) of the body running it starts it. Its units are lower bodies of that body
  (any level below) and internal units named as text; its checklist is given as lines of text.
  ``carry_from`` names an earlier campaign of the same body: every item found there and not resolved, for a unit
  that is in the new campaign too, is carried over, to be reported on again.
* A lower body's caseworker (``petitions.act``) reports for its own unit; the running body's caseworkers report
  for the internal units. A report is one document per unit, stored with the campaign's owner; it can be
  revised until the period ends.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..events import DomainEvent, carry, hand_over_carried
from ..petitions.service import china_today
from ..store.documents import utcnow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.context import TenantContext
from ..tenancy.service import descendants_of
from .models import Campaign, CampaignUnit, CarriedItem, ChecklistItem, ItemResult, UnitReport

NOT_FOUND = {"zh": "没有这次排查", "en": "no such campaign"}
MAX_ITEMS, MAX_UNITS, MAX_LINE, MAX_TEXT, MAX_DAYS = 50, 300, 200, 2000, 3 * 366


def internal_key(name: str) -> str:
    """The same internal unit (by its name) has the same key in every campaign: open items follow it."""
    return "u-" + hashlib.sha256("".join(name.split()).encode()).hexdigest()[:10]


# -- access ----------------------------------------------------------------------------------------


async def access_campaign(principal: Principal, tenant_id: str, campaign_id: str) -> Campaign:
    """A campaign this body runs, or one it is a unit of; the same 404 for anything else."""
    if principal is None or principal.tenant_id != tenant_id:
        raise NotFound(NOT_FOUND)
    oid = parse_object_id(campaign_id)
    raw = await Campaign.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    if raw is None or (raw.get("tenant_id") != tenant_id and tenant_id not in (raw.get("unit_tenant_ids") or [])):
        raise NotFound(NOT_FOUND)
    return parse_obj(Campaign, raw)


def units_of(campaign: Campaign, tenant_id: str) -> list[CampaignUnit]:
    """The units ``tenant_id`` reports for: its own unit when it is a lower body in it; the internal ones when it runs it."""
    if tenant_id == campaign.tenant_id:
        return [u for u in campaign.units if u.kind == "internal" or u.tenant_id == tenant_id]
    return [u for u in campaign.units if u.kind == "tenant" and u.tenant_id == tenant_id]


async def list_campaigns(tenant_id: str) -> list[Campaign]:
    """The campaigns this body runs and those it is a unit of, newest period first."""
    collection = Campaign.get_pymongo_collection()
    found: dict = {}
    # Two plain questions, merged here (the embedded store's $or is not relied on); each is indexed.
    for query in ({"tenant_id": {"$eq": tenant_id}}, {"unit_tenant_ids": {"$in": [tenant_id]}}):
        async for raw in collection.find(query).sort([("period_start", -1)]).limit(200):
            found[raw["_id"]] = parse_obj(Campaign, raw)
    return sorted(found.values(), key=lambda c: (c.period_start, str(c.id)), reverse=True)[:200]


async def reports_of(campaign: Campaign) -> dict[str, UnitReport]:
    rows = await TenantScope(campaign.tenant_id).repo(UnitReport).find({"campaign_id": str(campaign.id)}).to_list()
    return {r.unit_key: r for r in rows}


# -- checks ----------------------------------------------------------------------------------------


def _problem(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(fields={field: {"zh": zh, "en": en}})


def _line(value, field: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if required and not text:
        raise _problem(field, "必填", "required")
    if len(text) > limit:
        raise _problem(field, f"最多 {limit} 个字", f"at most {limit} characters")
    return text


def _lines(values, field: str, limit: int, most: int) -> list[str]:
    """Lines of text, trimmed, blank ones dropped, the same line once."""
    if isinstance(values, str):
        values = values.splitlines()
    lines = list(dict.fromkeys(_line(v, field, MAX_LINE, required=False) for v in (values or []) if isinstance(v, str)))
    lines = [line for line in lines if line]
    if len(lines) > most:
        raise _problem(field, f"最多 {most} 项", f"at most {most} entries")
    return lines


def _day(value, field: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except (TypeError, ValueError, AttributeError):
        raise _problem(field, "日期格式应为 YYYY-MM-DD", "dates must be YYYY-MM-DD") from None


# -- verbs -----------------------------------------------------------------------------------------


async def do_create_campaign(ctx: TenantContext, actor: Principal, *, title, period_start, period_end, checklist, description="",
                             unit_tenant_ids=(), internal_units=(), carry_from=None, now: datetime | None = None) -> Campaign:
    title = _line(title, "title", 100)
    description = (description or "").strip()[:MAX_TEXT] if isinstance(description, str) else ""
    start, end = _day(period_start, "period_start"), _day(period_end, "period_end")
    if end < start:
        raise _problem("period_end", "结束日期不能早于开始日期", "the end cannot be before the start")
    if (end - start).days > MAX_DAYS:
        raise _problem("period_end", "排查期最长三年", "a campaign lasts at most three years")
    items = _lines(checklist, "checklist", MAX_LINE, MAX_ITEMS)
    if not items:
        raise _problem("checklist", "请至少列出一项排查内容（每行一项）", "list at least one item to check (one per line)")
    lower = {str(t.id): t for t in await descendants_of(ctx.tenant)}
    wanted = [i for i in dict.fromkeys(unit_tenant_ids or []) if isinstance(i, str) and i]
    if any(i not in lower for i in wanted):
        raise _problem("unit_tenant_ids", "只能选择本单位的下级单位", "only bodies below this one")
    units = [CampaignUnit(key=f"t-{i}", kind="tenant", tenant_id=i, name=lower[i].name.model_dump()) for i in wanted]
    units += [CampaignUnit(key=internal_key(name), kind="internal", name={"zh": name, "en": name})
              for name in _lines(internal_units, "internal_units", MAX_LINE, MAX_UNITS)]
    if not units:
        raise _problem("units", "请至少选择一个下级单位或填写一个内部单位", "choose a lower body or name an internal unit")
    if len(units) > MAX_UNITS:
        raise _problem("units", f"最多 {MAX_UNITS} 个单位", f"at most {MAX_UNITS} units")
    carried, source_id = [], None
    if carry_from:
        source = await ctx.scope.repo(Campaign).get(carry_from)
        if source is None:
            raise _problem("carry_from", "本单位没有这次排查", "no such campaign of this body")
        source_id, keys = str(source.id), {u.key for u in units}
        texts = {i.key: i.text for i in source.checklist} | {c.key: c.item_text for c in source.carried}
        for report in sorted((await reports_of(source)).values(), key=lambda r: r.unit_key):
            if report.unit_key not in keys:
                continue
            for result in report.open_items():
                carried.append(CarriedItem(key=f"c{len(carried) + 1}", unit_key=report.unit_key, item_text=texts.get(result.item_key, "—"),
                                           description=result.description, measures=result.measures, from_campaign_id=source_id,
                                           from_title=source.title))
    campaign = Campaign(tenant_id=ctx.tenant_id, title=title, description=description, period_start=start.isoformat(),
                        period_end=end.isoformat(), units=units, unit_tenant_ids=[u.tenant_id for u in units if u.tenant_id],
                        checklist=[ChecklistItem(key=f"i{n}", text=t) for n, t in enumerate(items, 1)], carried=carried,
                        carried_from=source_id, created_by=actor.account_id, created_by_name=actor.display_name, created_at=now or utcnow())
    campaign.id = ObjectId()  # its event names it before the insert
    carry(campaign, DomainEvent("campaign.started", ctx.tenant_id, str(campaign.id), {}))
    await ctx.scope.repo(Campaign).insert(campaign)
    await hand_over_carried(campaign)
    return campaign


def _results(campaign: Campaign, unit_key: str, answers: list[dict]) -> list[ItemResult]:
    """One answer per checklist item and per item carried over for this unit; a risk found needs its description."""
    expected = [i.key for i in campaign.checklist] + [c.key for c in campaign.carried if c.unit_key == unit_key]
    given = {a.get("item_key"): a for a in answers if isinstance(a, dict)}
    problems, results = {}, []
    for key in expected:
        answer = given.get(key)
        if answer is None or not isinstance(answer.get("risk"), bool):
            problems[f"risk-{key}"] = {"zh": "请选择“有”或“无”", "en": "answer yes or no"}
            continue
        description = (answer.get("description") or "").strip()[:MAX_TEXT] if isinstance(answer.get("description"), str) else ""
        measures = (answer.get("measures") or "").strip()[:MAX_TEXT] if isinstance(answer.get("measures"), str) else ""
        if answer["risk"] and not description:
            problems[f"description-{key}"] = {"zh": "发现风险的，请写明情况", "en": "describe the risk found"}
        results.append(ItemResult(item_key=key, risk=answer["risk"], description=description, measures=measures,
                                  resolved=bool(answer.get("resolved")) and answer["risk"]))
    unknown = set(given) - set(expected)
    if unknown:
        problems["results"] = {"zh": "含有不属于本次排查的项目", "en": "answers to items not in this campaign"}
    if problems:
        raise InvalidInput(fields=problems)
    return results


async def do_report(campaign: Campaign, unit_key: str, actor: Principal, answers: list[dict], now: datetime | None = None) -> UnitReport:
    """A unit's results, reported up to the campaign's owner (a new report, or a revision within the period)."""
    unit = campaign.unit(unit_key)
    if unit is None or unit not in units_of(campaign, actor.tenant_id):
        raise Forbidden({"zh": "您所在单位不能替这个单位报送", "en": "your body does not report for this unit"})
    now = now or utcnow()
    if china_today(now).isoformat() > campaign.period_end:
        raise Conflict({"zh": "排查期已结束，不能再报送或修改", "en": "the campaign's period is over"})
    results = _results(campaign, unit_key, answers)
    repo = TenantScope(campaign.tenant_id).repo(UnitReport)
    report = await repo.find_one({"campaign_id": str(campaign.id), "unit_key": unit_key})
    fields = dict(reporter_tenant_id=actor.tenant_id, reported_by=actor.account_id, reported_by_name=actor.display_name,
                  reported_at=now, results=results)
    event = DomainEvent("campaign.reported", campaign.tenant_id, str(campaign.id), {"unit_key": unit_key, "at": now.isoformat()})
    if report is None:
        report = UnitReport(id=ObjectId(), tenant_id=campaign.tenant_id, campaign_id=str(campaign.id), unit_key=unit_key, **fields)
        carry(report, event)
        try:
            await repo.insert(report)
        except DuplicateKeyError:
            raise Conflict({"zh": "这个单位刚由其他人报送，请刷新后再试", "en": "someone else reported for this unit meanwhile; reload"}) from None
    else:
        for name, value in fields.items():
            setattr(report, name, value)
        carry(report, event)
        if not await repo.replace_versioned(report):
            raise Conflict({"zh": "这个单位刚由其他人报送，请刷新后再试", "en": "someone else reported for this unit meanwhile; reload"})
    await hand_over_carried(report)
    return report
