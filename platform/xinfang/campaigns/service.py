"""Campaign verbs (排查): start one (period, units, checklist, open items carried over), report a unit's results.

* A leader (``campaigns.manage``) of the body running it starts it. Its units are lower bodies of that body
  (any level below) and internal units named as text; its checklist is given as lines of text.
  ``carry_from`` names an earlier campaign of the same body: every item found there and not resolved, for a unit
  that is in the new campaign too, is carried over, to be reported on again.
* A lower body's caseworker (``petitions.act``) reports for its own unit; the running body's caseworkers report
  for the internal units. A report is one document per unit, stored with the campaign's owner; it can be
  revised until the period ends.
* Approval: a campaign starts only once another leader of the same body approved it (``do_approve``: nobody
  approves their own, 403); until then its units neither see it nor are told.
* Deadlines: each unit reports by the campaign's default deadline or its own (``do_set_unit_deadline``); the beat
  (``sweep``) warns a unit that has not reported a few working days before and flags it overdue once per deadline,
  finding what is due by one indexed question over every tenant (``next_check_on``).
* Closing: the running body closes it (``do_close``); what was still open is kept as its closing summary.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..events import DomainEvent, carry, hand_over_carried
from ..petitions.service import china_today, tenant_calendar
from ..store.documents import utcnow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.context import TenantContext
from ..tenancy.service import descendants_of
from ..timefmt import local_date
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
    campaign = parse_obj(Campaign, raw)
    if campaign.tenant_id != tenant_id and campaign.status == "awaiting_approval":  # units meet it once approved
        raise NotFound(NOT_FOUND)
    return campaign


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
            campaign = parse_obj(Campaign, raw)
            if campaign.tenant_id == tenant_id or campaign.status != "awaiting_approval":
                found[raw["_id"]] = campaign
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
                             unit_tenant_ids=(), internal_units=(), carry_from=None, report_due_on=None, remind_working_days=2,
                             now: datetime | None = None) -> Campaign:
    """A new campaign, awaiting another leader's approval (``do_approve``) before its units are asked."""
    title = _line(title, "title", 100)
    description = (description or "").strip()[:MAX_TEXT] if isinstance(description, str) else ""
    start, end = _day(period_start, "period_start"), _day(period_end, "period_end")
    if end < start:
        raise _problem("period_end", "结束日期不能早于开始日期", "the end cannot be before the start")
    if (end - start).days > MAX_DAYS:
        raise _problem("period_end", "排查期最长三年", "a campaign lasts at most three years")
    due = _within(report_due_on, "report_due_on", start, end) if report_due_on else end
    try:
        warn = int(remind_working_days if remind_working_days not in (None, "") else 2)
    except (TypeError, ValueError):
        warn = -1
    if not 0 <= warn <= 30:
        raise _problem("remind_working_days", "应在 0 到 30 之间", "between 0 and 30")
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
                        carried_from=source_id, created_by=actor.account_id, created_by_name=actor.display_name, created_at=now or utcnow(),
                        status="awaiting_approval", report_due_on=due.isoformat(), remind_working_days=warn)
    campaign.id = ObjectId()  # its event names it before the insert
    carry(campaign, DomainEvent("campaign.submitted", ctx.tenant_id, str(campaign.id), {}))
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
    if campaign.status == "awaiting_approval":
        raise Conflict({"zh": "这次排查尚未批准开展，暂不能报送", "en": "the campaign is not approved yet"})
    if campaign.status == "closed":
        raise Conflict({"zh": "这次排查已结束，不能再报送或修改", "en": "the campaign is closed"})
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



def _within(value, field: str, start: date, end: date) -> date:
    day = _day(value, field)
    if not start <= day <= end:
        raise _problem(field, f"报送期限应在排查期内（{local_date(start)} 至 {local_date(end)}）",
                       f"the deadline must fall within the period ({start.isoformat()} to {end.isoformat()})")
    return day


def _changed_meanwhile() -> Conflict:
    return changed_meanwhile("这次排查", "this campaign")


def _require_owner(campaign: Campaign, actor: Principal, zh: str, en: str) -> None:
    if actor.tenant_id != campaign.tenant_id:
        raise Forbidden({"zh": zh, "en": en})


async def _save(campaign: Campaign) -> Campaign:
    if not await TenantScope(campaign.tenant_id).repo(Campaign).replace_versioned(campaign):
        raise _changed_meanwhile()
    await hand_over_carried(campaign)
    return campaign


async def next_check(campaign: Campaign, reported: set[str], calendar=None) -> str | None:
    """The earliest day the beat has a warning or an overdue flag to raise for a unit that has not reported; None: nothing."""
    if campaign.status != "running":
        return None
    from ..oversight.service import remind_day

    calendar = calendar or await tenant_calendar(TenantScope(campaign.tenant_id))
    start = date.fromisoformat(campaign.period_start)
    days = []
    for unit in campaign.units:
        if unit.key in reported:
            continue
        due = campaign.due_of(unit)
        if unit.reminded_for != due and campaign.remind_working_days > 0:
            days.append(remind_day(calendar, date.fromisoformat(due), campaign.remind_working_days, start) or due)
        if unit.overdue_for != due:
            days.append((date.fromisoformat(due) + timedelta(days=1)).isoformat())
    return min(days) if days else None


async def do_approve(campaign: Campaign, actor: Principal, *, now: datetime | None = None) -> Campaign:
    """Another leader of the running body approves the campaign: it starts, and its lower bodies are told."""
    _require_owner(campaign, actor, "只有开展排查的单位可以审批", "only the body running the campaign approves it")
    if actor.account_id == campaign.created_by:
        raise Forbidden({"zh": "不能审批自己发起的排查，请由本单位另一位领导审批", "en": "you started this campaign: another leader must approve it"})
    if campaign.status != "awaiting_approval":
        raise Conflict({"zh": "这次排查已经审批过", "en": "this campaign was already approved"})
    now = now or utcnow()
    campaign.status, campaign.approved_by_name, campaign.approved_at = "running", actor.display_name, now
    campaign.next_check_on = await next_check(campaign, set())
    carry(campaign, DomainEvent("campaign.started", campaign.tenant_id, str(campaign.id), {}))
    return await _save(campaign)


async def do_set_unit_deadline(campaign: Campaign, unit_key: str, actor: Principal, *, due_on, now: datetime | None = None) -> Campaign:
    """The running body gives one unit a deadline of its own (within the period, not in the past); the unit is told."""
    _require_owner(campaign, actor, "只有开展排查的单位可以调整报送期限", "only the body running the campaign sets deadlines")
    unit = campaign.unit(unit_key)
    if unit is None:
        raise NotFound(NOT_FOUND)
    if campaign.status == "closed":
        raise Conflict({"zh": "这次排查已结束", "en": "the campaign is closed"})
    now = now or utcnow()
    day = _within(due_on, "due_on", date.fromisoformat(campaign.period_start), date.fromisoformat(campaign.period_end))
    if day < china_today(now):
        raise _problem("due_on", "期限不能早于今天", "the deadline cannot be in the past")
    unit.due_on = day.isoformat()
    campaign.next_check_on = await next_check(campaign, set(await reports_of(campaign)))
    if campaign.status == "running" and unit.tenant_id:
        carry(campaign, DomainEvent("campaign.deadline_changed", campaign.tenant_id, str(campaign.id),
                                    {"unit_key": unit.key, "due_on": unit.due_on}))
    return await _save(campaign)


def closing_summary(campaign: Campaign, reports: dict[str, UnitReport]) -> dict:
    """What was still open when the campaign closed: units that never reported, risks found and not resolved."""
    texts = {i.key: i.text for i in campaign.checklist} | {c.key: c.item_text for c in campaign.carried}
    missing = [u.name for u in campaign.units if u.key not in reports]
    open_items = [{"unit": u.name, "item": texts.get(r.item_key, "—"), "description": r.description, "measures": r.measures}
                  for u in campaign.units if u.key in reports for r in reports[u.key].open_items()]
    return {"units_total": len(campaign.units), "units_reported": len(campaign.units) - len(missing), "units_missing": missing,
            "open_items": open_items, "risks": sum(1 for r in reports.values() for x in r.results if x.risk)}


async def do_close(campaign: Campaign, actor: Principal, *, note="", now: datetime | None = None) -> Campaign:
    """The running body closes the campaign: no more reports; the open items are summed up and kept; units are told."""
    _require_owner(campaign, actor, "只有开展排查的单位可以结束排查", "only the body running the campaign closes it")
    if campaign.status == "closed":
        raise Conflict({"zh": "这次排查已经结束", "en": "this campaign is already closed"})
    if campaign.status == "awaiting_approval":
        raise Conflict({"zh": "这次排查尚未批准开展", "en": "this campaign was never approved"})
    now = now or utcnow()
    campaign.closing_note = note.strip()[:MAX_TEXT] if isinstance(note, str) else ""
    campaign.closing_summary = closing_summary(campaign, await reports_of(campaign))
    campaign.status, campaign.closed_at, campaign.closed_by_name, campaign.next_check_on = "closed", now, actor.display_name, None
    carry(campaign, DomainEvent("campaign.closed", campaign.tenant_id, str(campaign.id), {}))
    return await _save(campaign)


async def sweep(now: datetime) -> dict:
    """The beat: one indexed question over every tenant (``next_check_on <= today``), then per campaign found a warning
    to each unit that has not reported and whose warning day came, and an overdue flag once its deadline passed, each
    once per deadline (the unit's ``reminded_for`` / ``overdue_for`` hold it), in one versioned write carrying the events."""
    today = china_today(now).isoformat()
    counts = {"warned": 0, "flagged": 0}
    cursor = Campaign.get_pymongo_collection().find({"next_check_on": {"$lte": today}}).limit(1000)
    async for raw in cursor:
        if not isinstance(raw.get("next_check_on"), str):
            continue
        campaign = parse_obj(Campaign, raw)
        reported = set(await reports_of(campaign))
        calendar = await tenant_calendar(TenantScope(campaign.tenant_id))
        from ..oversight.service import remind_day

        start, events = date.fromisoformat(campaign.period_start), []
        for unit in campaign.units if campaign.status == "running" else []:
            if unit.key in reported:
                continue
            due = campaign.due_of(unit)
            warn_on = remind_day(calendar, date.fromisoformat(due), campaign.remind_working_days, start) if campaign.remind_working_days else None
            if unit.reminded_for != due and warn_on and warn_on <= today:
                unit.reminded_for = due
                if today <= due:  # a warning after the deadline would say nothing the overdue flag does not
                    events.append(("campaign.unit_due_soon", unit, due))
            if unit.overdue_for != due and today > due:
                unit.overdue_for = due
                events.append(("campaign.unit_overdue", unit, due))
        campaign.next_check_on = await next_check(campaign, reported, calendar)
        for name, unit, due in events:
            carry(campaign, DomainEvent(name, campaign.tenant_id, str(campaign.id), {"unit_key": unit.key, "due_on": due}))
        if not await TenantScope(campaign.tenant_id).repo(Campaign).replace_versioned(campaign):
            continue  # changed meanwhile (another sweep, a report, a new deadline): the next round looks again
        await hand_over_carried(campaign)
        counts["warned"] += sum(1 for e in events if e[0] == "campaign.unit_due_soon")
        counts["flagged"] += sum(1 for e in events if e[0] == "campaign.unit_overdue")
    return counts
