"""Early-warning alerts: the checks a tenant switched on (alert_settings.py), run on the daily rollups and the
petitions, each crossing kept as one alert that leaders see in-app and get through the sender plugin.

One crossing, one alert: a check's subject (a category, a region, one petitioner, one handler's overdue cases) that
crosses again while its alert is still running (seen within the last ``EPISODE_DAYS``) updates that alert's numbers
instead of raising another one; the alert's id is derived from (tenant, check, subject, first day), so two sweeps
racing on one day write it once, and its notification is keyed by that id (notified once).

The numbers come from ``rollups.daily_counts`` (what every page shows); one person's repeats and a unit's overdue
cases are read from the petitions (``petitioner_key``, ``overdue``, ``assignee_id``), never their identity.

Every category and region of one run is checked together, corrected for how many were checked (``detectors.rising_many``).
Each body is checked on its OWN petitions: a county's surge raises the county's alert, not the prefecture's as well; the
prefecture sees the alerts of the bodies below it as one summarised line per body (``lower_alerts_summary``), or not at
all (the setting ``lower_alerts``). Recipients are roles and named people (``recipient_accounts``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from ..auth.models import StaffAccount
from ..errors import NotFound
from ..notifications.service import do_notify
from ..petitions.models import Petition
from ..store.documents import TenantDocument, UtcDateTime, deterministic_id, stored_moment, utcnow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.models import Tenant
from ..timefmt import zone
from .alert_settings import AlertSettings, alert_settings
from .detectors import FLOOR_PER_WEEK, SENSITIVITY, Crossing, at_least, rising_many, window_sum

log = logging.getLogger(__name__)

EPISODE_DAYS = 7  # a crossing seen again within this many days of the last sighting is the same alert
CHECK_EVERY = timedelta(hours=6)  # the sweep looks at a tenant this often (the rollups are daily)
WINDOW_DAYS = 7
NOTIFICATION_KIND = "analytics_alert"


class Alert(TenantDocument):
    check: str  # category | region | word | collective | repeat_person | overdue_unit
    subject: str  # the category code, the region, the petitioner key, the assignee id; "" for the tenant as a whole
    subject_words: dict[str, str]
    opened_on: str  # ISO day the crossing was first seen (tenant's zone)
    last_seen_on: str
    ended_on: str | None = None
    observed: int  # the count in the window (what crossed the limit)
    limit: float
    baseline_mean: float | None = None
    window_days: int
    baseline_weeks: int | None = None
    method: str
    peak: int
    text: dict[str, str]
    acknowledged_by_id: str | None = None
    acknowledged_by_name: str | None = None
    acknowledged_at: UtcDateTime | None = None

    class Settings:
        name = "analytics_alerts"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("check", ASCENDING), ("subject", ASCENDING), ("opened_on", DESCENDING)]),
                   IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)])]


class AlertCheckMark(TenantDocument):
    """When a tenant's checks last ran (the sweep runs them every ``CHECK_EVERY``)."""

    at: UtcDateTime

    class Settings:
        name = "analytics_alert_marks"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


def alert_id(tenant_id: str, check: str, subject: str, opened_on: str):
    return deterministic_id(tenant_id, "analytics_alert", check, subject, opened_on)


def tenant_today(tenant: Tenant, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone(tenant.settings.time_zone)).date()


# ----------------------------------------------------------------------------- words


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def crossing_text(check: str, words: dict[str, str], c: Crossing, extra: dict | None = None) -> dict[str, str]:
    """Which numbers crossed which limit, in words."""
    extra = extra or {}
    zh_name, en_name = words.get("zh", ""), words.get("en") or words.get("zh", "")
    if check in ("category", "region"):
        zh_what = f"{zh_name} 类" if check == "category" else f"{zh_name} 地区"
        en_what = f"category {en_name}" if check == "category" else f"region {en_name}"
        mean = c.baseline_mean or 0.0
        if c.method == "cusum":
            many_zh = f"，已按本次共检查的 {c.checked} 个类别和地区校正" if c.checked > 1 else ""
            many_en = f", corrected for the {c.checked} categories and regions checked together" if c.checked > 1 else ""
            return {"zh": f"近{c.window_days}天 {zh_what} {c.count} 件，近两周持续高于往常（过去{c.baseline_weeks}周平均 {mean:.1f} 件/周，累积和超过控制限{many_zh}）",
                    "en": f"Last {c.window_days} days: {c.count} petitions in {en_what}, above usual for two weeks running (past "
                          f"{c.baseline_weeks} weeks: {mean:.1f} a week on average; the cumulative sum crossed its control limit{many_en})"}
        past_zh = f"过去{c.baseline_weeks}周平均 {mean:.1f} 件/周" if mean else f"过去{c.baseline_weeks}周没有"
        past_en = f"past {c.baseline_weeks} weeks: {mean:.1f} a week on average" if mean else f"none in the past {c.baseline_weeks} weeks"
        if c.checked > 1:  # the limit is set for the number of categories and regions checked together
            past_zh += f"；本次共检查 {c.checked} 个类别和地区，上限已按此提高"
            past_en += f"; {c.checked} categories and regions were checked together and the limit allows for it"
        return {"zh": f"近{c.window_days}天 {zh_what} {c.count} 件，超过预期上限 {_num(c.limit)} 件（{past_zh}）",
                "en": f"Last {c.window_days} days: {c.count} petitions in {en_what}, above the expected upper limit of {_num(c.limit)} "
                      f"({past_en})"}
    if check == "word":
        return {"zh": f"近{c.window_days}天 词语「{zh_name}」出现在 {c.count} 件信访中，超过预期上限 {_num(c.limit)} 件（过去{c.baseline_weeks}周平均 "
                      f"{(c.baseline_mean or 0):.1f} 件/周）",
                "en": f"Last {c.window_days} days: the word “{en_name}” in {c.count} petitions, above the expected upper limit of "
                      f"{_num(c.limit)} (past {c.baseline_weeks} weeks: {(c.baseline_mean or 0):.1f} a week on average)"}
    if check == "collective":
        return {"zh": f"近{c.window_days}天 集体访 {c.count} 件，达到提醒件数 {_num(c.limit)} 件",
                "en": f"Last {c.window_days} days: {c.count} collective petitions, at or above the {_num(c.limit)} that raise an alert"}
    if check == "repeat_person":
        numbers = "、".join(extra.get("numbers", [])[:5])
        return {"zh": f"同一信访人近{c.window_days}天信访 {c.count} 次，达到提醒次数 {_num(c.limit)} 次（{numbers}）",
                "en": f"One petitioner filed {c.count} times in the last {c.window_days} days, at or above the {_num(c.limit)} that "
                      f"raise an alert ({numbers.replace('、', ', ')})"}
    return {"zh": f"{zh_name} 名下超期未办结案件 {c.count} 件，达到积压提醒件数 {_num(c.limit)} 件",
            "en": f"{en_name} holds {c.count} overdue open cases, at or above the {_num(c.limit)} that raise an alert"}


async def category_words(scope: TenantScope) -> dict[str, dict[str, str]]:
    """The categories of the tenant's forms as value -> {"zh", "en"} (what the form offered)."""
    from ..forms.reading import choice_labels
    from ..forms.service import list_forms

    out: dict[str, dict[str, str]] = {}
    for form in await list_forms(scope):
        for value, names in choice_labels(form.json_schema or {}, "category").items():
            if isinstance(value, str):
                out.setdefault(value, {"zh": names.get("zh") or value, "en": names.get("en") or names.get("zh") or value})
    return out


def region_words(code: str) -> dict[str, str]:
    from .labels import Labeller

    return Labeller().label("region", code)


# ----------------------------------------------------------------------------- checks


async def _daily(tenant: Tenant, measure: str, start: date, end: date, by: str | None) -> dict[str, dict[date, int]]:
    """The body's OWN counts (not those of the bodies below: their surges are their alerts, summarised above)."""
    from .rollups import daily_counts

    return await daily_counts(tenant, measure, start, end, by=by, include_lower=False)


async def rising_words(tenant: Tenant, end: date, days: int, pm=None) -> list[dict]:
    """Rising words from whichever plugin answers ``xinfang_rising_words`` (the search plugin); none when none does
    or it cannot answer now (its index rebuilding, say: the next check asks again)."""
    from ..plugins import maybe_await
    from .facts import _plugin_manager

    pm = pm or _plugin_manager()
    if pm is None:
        return []
    rows: list[dict] = []
    for result in pm.hook.xinfang_rising_words(tenant_id=str(tenant.id), end=end, days=days):
        try:
            rows.extend(await maybe_await(result) or [])
        except Exception:  # noqa: BLE001 - words are one check of several; the others still run
            log.warning("rising words of %s could not be read", tenant.slug, exc_info=True)
    return rows


async def find_crossings(tenant: Tenant, settings: AlertSettings, today: date, only: tuple[str, ...] | None = None,
                         pm=None) -> list[tuple]:
    """(check, subject, words, crossing, extra) for every subject over its limit now."""
    scope = TenantScope(str(tenant.id))
    wanted = list(only) if only is not None else list(settings.checks)  # ``only``: these checks now, whatever is switched on
    found: list[tuple] = []
    start = today - timedelta(days=7 * (settings.baseline_weeks + 1) + 14)
    # Every category and region of this run checked together: the limits allow for how many there are.
    series: dict[tuple[str, str], dict[date, int]] = {}
    for check in ("category", "region"):
        if check in wanted:
            for value, daily in (await _daily(tenant, "received", start, today, check)).items():
                if value and any(daily.values()):  # not given: says nothing about a topic or a place
                    series[(check, value)] = daily
    crossed = rising_many(series, today, window_days=WINDOW_DAYS, baseline_weeks=settings.baseline_weeks,
                          sensitivity=settings.sensitivity, min_count=settings.min_count)
    names = await category_words(scope) if any(check == "category" for check, _ in crossed) else {}
    for (check, value), crossing in sorted(crossed.items()):
        words = names.get(value) or ({"zh": "其他类别", "en": "another category"} if check == "category" else region_words(value))
        found.append((check, value, words, crossing, {}))
    if "word" in wanted:
        from scipy.stats import poisson

        alpha = SENSITIVITY[settings.sensitivity]
        for row in await rising_words(tenant, today, WINDOW_DAYS, pm):
            count, mean, term = int(row.get("count") or 0), float(row.get("previous_mean") or 0), str(row.get("term") or "")
            # the search plugin's burst is a Poisson surprise (-log10 of the probability); this tenant's sensitivity sets the bar
            if term and count >= settings.min_count and float(row.get("surprise") or 0) >= -math.log10(alpha):
                limit = float(poisson.ppf(1 - alpha, max(mean, FLOOR_PER_WEEK)))
                found.append(("word", term, {"zh": term, "en": term},
                              Crossing(count, limit, mean, WINDOW_DAYS, int(row.get("windows") or 0), "poisson"), {}))
    if "collective" in wanted:
        series = await _daily(tenant, "collective", today - timedelta(days=WINDOW_DAYS), today, None)
        crossing = at_least(window_sum(series.get("", {}), today, WINDOW_DAYS), settings.collective_min, window_days=WINDOW_DAYS)
        if crossing:
            found.append(("collective", "", {"zh": "集体访", "en": "collective petitions"}, crossing, {}))
    zone_name = tenant.settings.time_zone
    if "repeat_person" in wanted:
        since = datetime.combine(today - timedelta(days=settings.repeat_days - 1), datetime.min.time(), zone(zone_name))
        cases: dict[str, list[str]] = defaultdict(list)
        async for row in scope.repo(Petition).find({"petitioner_key": {"$ne": None}, "created_at": {"$gte": since}}):
            if row.petitioner_key:
                cases[row.petitioner_key].append(row.number)
        for key, numbers in sorted(cases.items()):
            crossing = at_least(len(numbers), settings.repeat_min, window_days=settings.repeat_days)
            if crossing:
                found.append(("repeat_person", key, {"zh": "同一信访人", "en": "one petitioner"}, crossing, {"numbers": sorted(numbers)}))
    if "overdue_unit" in wanted:
        from ..petitions.workflow_versions import current_workflow

        _, workflow = await current_workflow(scope)
        terminal = set(workflow.terminal_states())
        held: Counter = Counter()
        async for row in scope.repo(Petition).find({"overdue": True}):
            if row.state not in terminal:
                held[str(row.assignee_id or "")] += 1
        people = {str(a.id): a.display_name async for a in scope.repo(StaffAccount).find({})}
        for holder, count in sorted(held.items()):
            crossing = at_least(count, settings.overdue_min, window_days=1)
            if crossing:
                name = people.get(holder) or ""
                words = ({"zh": name, "en": name} if name else {"zh": "尚未分配承办人的案件", "en": "Cases not yet assigned"} if not holder
                         else {"zh": "已停用的账号", "en": "A former account"})
                found.append(("overdue_unit", holder, words, crossing, {}))
    return found


async def run_alert_checks(tenant: Tenant, today: date | None = None, *, only: tuple[str, ...] | None = None, pm=None) -> list[Alert]:
    """Run the tenant's checks once; returns the alerts raised now (new crossings), each notified once."""
    scope = TenantScope(str(tenant.id))
    today = today or tenant_today(tenant)
    settings = await alert_settings(scope)
    raised = []
    seen: set[tuple[str, str]] = set()
    for check, subject, words, crossing, extra in await find_crossings(tenant, settings, today, only, pm):
        seen.add((check, subject))
        alert = await _record(scope, tenant, settings, today, check, subject, words, crossing, extra)
        if alert is not None:
            raised.append(alert)
    await _end_quiet(scope, today, seen, only or tuple(settings.checks))
    return raised


async def _record(scope: TenantScope, tenant: Tenant, settings: AlertSettings, today: date, check: str, subject: str,
                  words: dict, crossing: Crossing, extra: dict) -> Alert | None:
    text = crossing_text(check, words, crossing, extra)
    repo = scope.repo(Alert)
    running = await repo.find({"check": check, "subject": subject, "ended_on": None}).sort("-opened_on").first_or_none()
    iso = today.isoformat()
    if running is not None and running.last_seen_on >= (today - timedelta(days=EPISODE_DAYS)).isoformat():
        await repo.update_one({"_id": running.id}, {"$set": {
            "last_seen_on": max(iso, running.last_seen_on), "observed": crossing.count, "limit": crossing.limit,
            "baseline_mean": crossing.baseline_mean, "method": crossing.method, "peak": max(running.peak, crossing.count), "text": text}})
        return None
    row = Alert(id=alert_id(scope.tenant_id, check, subject, iso), tenant_id=scope.tenant_id, check=check, subject=subject,
                subject_words=words, opened_on=iso, last_seen_on=iso, observed=crossing.count, limit=crossing.limit,
                baseline_mean=crossing.baseline_mean, window_days=crossing.window_days, baseline_weeks=crossing.baseline_weeks,
                method=crossing.method, peak=crossing.count, text=text)
    try:
        await repo.insert(row)
    except DuplicateKeyError:
        return None  # another sweep of the same day raised it
    await notify_recipients(scope, tenant, settings, row)
    return row


async def notify_recipients(scope: TenantScope, tenant: Tenant, settings: AlertSettings, row: Alert) -> None:
    """The recipient roles (one notification), and each named person who holds none of them (one each); only people
    who may read the alerts (a role with ``analytics.read``) are notified: a notice they could not open says nothing."""
    from .alert_settings import readers_roles

    roles = [r for r in settings.recipients if r in readers_roles()]
    words = {"zh": f"预警：{row.text['zh']}", "en": f"Alert: {row.text['en']}"}
    link = f"/t/{tenant.slug}/staff/analytics/alerts"
    if roles:
        await do_notify(scope, f"{NOTIFICATION_KIND}:{row.id}", kind=NOTIFICATION_KIND, roles=roles, text=words,
                        subject_id=str(row.id), link=link)
    if settings.recipient_accounts:
        oids = [oid for oid in (parse_object_id(a) for a in settings.recipient_accounts) if oid is not None]
        async for account in scope.repo(StaffAccount).find({"_id": {"$in": oids}, "active": True}):
            held = {r.value for r in account.roles}
            if held & set(roles) or not held & readers_roles():
                continue  # told through their role already, or no longer one who may read alerts
            await do_notify(scope, f"{NOTIFICATION_KIND}:{row.id}:{account.id}", kind=NOTIFICATION_KIND, roles=[], text=words,
                            subject_id=str(row.id), link=link, account_id=str(account.id))


async def _end_quiet(scope: TenantScope, today: date, seen: set[tuple[str, str]], checks: tuple[str, ...]) -> None:
    """Running alerts of the checks that ran, not seen for ``EPISODE_DAYS``: ended on the day last seen."""
    cutoff = (today - timedelta(days=EPISODE_DAYS)).isoformat()
    # The checks that ran are picked here, not in the query: the embedded store answered nothing for the tenant, a
    # None, an $in and a range together (each pair of them answers right), so no alert ever ended there.
    async for row in scope.repo(Alert).find({"ended_on": None, "last_seen_on": {"$lt": cutoff}}):
        if row.check in checks and (row.check, row.subject) not in seen:
            await scope.repo(Alert).update_one({"_id": row.id, "ended_on": None}, {"$set": {"ended_on": row.last_seen_on}})


# ----------------------------------------------------------------------------- reading and acknowledging


async def list_alerts(scope: TenantScope, *, open_only: bool = False, limit: int = 200) -> list[Alert]:
    query = {"acknowledged_at": None} if open_only else {}
    return await scope.repo(Alert).find(query).sort("-created_at").limit(limit).to_list()


async def do_acknowledge(scope: TenantScope, alert_id_: str, account_id: str, name: str, now: datetime | None = None) -> Alert:
    """Say the alert was seen and is being dealt with: who and when, once (a second acknowledgement changes nothing)."""
    oid = parse_object_id(alert_id_)
    row = await scope.repo(Alert).get(oid) if oid is not None else None
    if row is None:
        raise NotFound({"zh": "没有这条预警", "en": "no such alert"})
    if row.acknowledged_at is None:
        await scope.repo(Alert).update_one({"_id": row.id, "acknowledged_at": None}, {"$set": {
            "acknowledged_at": now or utcnow(), "acknowledged_by_id": account_id, "acknowledged_by_name": name}})
        row = await scope.repo(Alert).get(oid)
    return row


async def lower_alerts_summary(tenant: Tenant, limit: int = 50) -> list[dict]:
    """The alerts of the bodies below this one not yet acknowledged, one line per body: its name, how many of each
    check, the newest day. Counts and words only: each body's leaders deal with their own alerts (bookkeeping read
    across the tenants below, as the rollups' tree sums are)."""
    from ..tenancy.service import descendants_of

    below = {str(t.id): t for t in await descendants_of(tenant)}
    if not below:
        return []
    lines: dict[str, dict] = {}
    async for row in Alert.get_pymongo_collection().find(
            {"tenant_id": {"$in": list(below)}, "acknowledged_at": None, "ended_on": None},
            projection={"tenant_id": 1, "check": 1, "last_seen_on": 1}).sort("last_seen_on", -1).limit(2000):
        line = lines.setdefault(str(row["tenant_id"]), {"tenant": below[str(row["tenant_id"])], "checks": Counter(), "last_seen_on": ""})
        line["checks"][row.get("check", "")] += 1
        line["last_seen_on"] = max(line["last_seen_on"], row.get("last_seen_on") or "")
    ordered = sorted(lines.values(), key=lambda line: (-sum(line["checks"].values()), line["tenant"].slug))
    return [{"tenant": line["tenant"], "name": line["tenant"].name.model_dump(), "count": sum(line["checks"].values()),
             "checks": sorted(line["checks"].items()), "last_seen_on": line["last_seen_on"]} for line in ordered[:limit]]


# ----------------------------------------------------------------------------- the sweep


async def sweep_alerts(now: datetime, pm=None, *, skip_idle: bool = True) -> int:
    """Each active tenant's checks, when last run longer than ``CHECK_EVERY`` ago. Returns the alerts raised.

    Once every tenant is checked, nothing is asked until the first of them is due again (or a tenant is added): the
    beats in between read one document, not every tenant and mark (issue 18; due_sweeps.py).

    A due tenant whose checks could neither cross nor end anything (``tenants_that_may_move``: a few reads across all
    tenants, not one per tenant) is not checked (``skip_idle``): it is passed by as if checked with nothing found, its
    moment kept in one platform document (``due_sweeps.skipped_at``) instead of its own mark, so it is due again
    ``CHECK_EVERY`` later like a checked tenant, and the gate closes the same. At 2,156 idle tenants the checks cost
    about 13 store commands each (28,000 commands, 87 s every six hours; bench/tenants.py)."""
    from ..due_sweeps import close_gate, gate_closed, record_skipped, skipped_at, tenant_count
    from ..tenancy.roster import active_tenant_ids

    tenants = await tenant_count()
    if await gate_closed(ALERTS_GATE, now.timestamp(), tenants):
        return 0
    raised, failed, next_due = 0, False, None
    fresh = {str(row["tenant_id"]): stored_moment(row["at"]) async for row in AlertCheckMark.get_pymongo_collection().find(
        {"at": {"$gt": now - CHECK_EVERY}}, projection={"tenant_id": 1, "at": 1})}  # one read per beat, not one per tenant
    # Passed by within the interval (a clock set back makes a moment ahead of now: asked again, which is cheap).
    stored = await skipped_at(ALERTS_GATE)
    passed = {t: at for t, at in stored.items() if (now - CHECK_EVERY).timestamp() < at <= now.timestamp()}
    due: list[str] = []
    # The active tenants' ids from the roster (their whole documents only for those checked below: at 2,156 tenants
    # reading and parsing every one was most of the first beat's time).
    for tenant_id in await active_tenant_ids():
        last = _later(fresh.get(tenant_id), passed.get(tenant_id))
        if last is not None:
            next_due = _earlier(next_due, last + CHECK_EVERY)
        else:
            due.append(tenant_id)
    may_move = await tenants_that_may_move(now) if skip_idle and due else None
    skipped: dict[str, float] = {}
    to_check: list[str] = []
    for tenant_id in due:
        if may_move is not None and tenant_id not in may_move:
            skipped[tenant_id] = now.timestamp()  # checked, as it were, now: nothing could cross or end
            next_due = _earlier(next_due, now + CHECK_EVERY)
        else:
            to_check.append(tenant_id)
    for tenant in await _active_tenants_by_id(to_check):
        scope = TenantScope(str(tenant.id))
        mark = await scope.repo(AlertCheckMark).find_one({})
        if mark is not None and now - mark.at < CHECK_EVERY:
            next_due = _earlier(next_due, mark.at + CHECK_EVERY)
            continue
        try:
            raised += len(await run_alert_checks(tenant, tenant_today(tenant, now), pm=pm))
        except Exception:  # one tenant's failure holds back no other; the next sweep tries again
            log.exception("early-warning checks of %s failed", tenant.slug)
            failed = True
            continue
        next_due = _earlier(next_due, now + CHECK_EVERY)
        if mark is None:
            try:
                await scope.repo(AlertCheckMark).insert(AlertCheckMark(tenant_id=scope.tenant_id, at=now))
            except DuplicateKeyError:
                pass
        else:
            await scope.repo(AlertCheckMark).update_one({"_id": mark.id}, {"$set": {"at": now}})
    if skipped or len(passed) != len(stored):
        await record_skipped(ALERTS_GATE, {**passed, **skipped})  # the moments still within the interval, and now's
    if not failed and next_due is not None:
        await close_gate(ALERTS_GATE, now.timestamp(), next_due.timestamp(), tenants)
    return raised


async def _active_tenants_by_id(tenant_ids: list[str]) -> list[Tenant]:
    """These tenants' documents, active ones only, by slug (the order the checks always ran in)."""
    from bson import ObjectId

    oids = [ObjectId(t) for t in tenant_ids if ObjectId.is_valid(t)]
    found: list[Tenant] = []
    for start in range(0, len(oids), 500):
        found += await Tenant.find({"_id": {"$in": oids[start:start + 500]}, "active": True}).to_list()
    return sorted(found, key=lambda tenant: tenant.slug)


async def tenants_that_may_move(now: datetime) -> set[str]:
    """The tenants whose checks could raise, update or end an alert at ``now``; every other tenant's checks would find
    nothing and write nothing. Asked across all tenants with the tenant on each row (four reads, none per tenant):

    * a running alert (``ended_on`` None): it may be seen again or end;
    * an overdue petition (``overdue_unit`` counts open overdue cases, whatever their age; ``overdue_min`` >= 1);
    * a petition filed within the last ``WINDOW_DAYS`` (and two days for the zones): the rises (category, region, word)
      and collective petitions need at least one petition (``min_count``, ``collective_min`` >= 1) received in the
      window of the tenant's today, and a petition's day received is never after the day it was filed
      (``petitions.service.check_received_on``), so it was filed within the window too;
    * ``repeat_min`` petitions of one petitioner filed within the tenant's ``repeat_days`` (and two days): the repeat
      check. Each tenant's own settings, read with one read of every tenant's alert settings versions.
    """
    from ..tenancy.config_versions import ConfigVersion
    from .alert_settings import AREA

    found: set[str] = set()
    async for row in Alert.get_pymongo_collection().find({"ended_on": None}, projection={"tenant_id": 1}):
        found.add(str(row.get("tenant_id") or ""))
    async for row in Petition.get_pymongo_collection().find({"overdue": True}, projection={"tenant_id": 1}):
        found.add(str(row.get("tenant_id") or ""))
    newest: dict[str, tuple[int, dict]] = {}
    async for row in ConfigVersion.get_pymongo_collection().find({"area": AREA}, projection={"tenant_id": 1, "number": 1, "content": 1}):
        tenant_id, number = str(row.get("tenant_id") or ""), int(row.get("number") or 0)
        if tenant_id not in newest or number > newest[tenant_id][0]:
            newest[tenant_id] = (number, row.get("content") or {})
    default = AlertSettings()
    repeats = {tenant_id: _repeat_limits(content, default) for tenant_id, (_, content) in newest.items()}
    longest = max([days for days, _ in repeats.values()] + [default.repeat_days, WINDOW_DAYS])
    recent = now - timedelta(days=WINDOW_DAYS + 2)
    per_person: dict[str, Counter] = defaultdict(Counter)
    async for row in Petition.get_pymongo_collection().find({"created_at": {"$gte": now - timedelta(days=longest + 2)}},
                                                            projection={"tenant_id": 1, "created_at": 1, "petitioner_key": 1}):
        tenant_id = str(row.get("tenant_id") or "")
        filed = stored_moment(row.get("created_at"))
        if tenant_id in found or filed is None:
            continue
        if filed >= recent:
            found.add(tenant_id)
            continue
        days, least = repeats.get(tenant_id, (default.repeat_days, default.repeat_min))
        if row.get("petitioner_key") and filed >= now - timedelta(days=days + 2):
            per_person[tenant_id][row["petitioner_key"]] += 1
            if per_person[tenant_id][row["petitioner_key"]] >= least:
                found.add(tenant_id)
    found.discard("")
    return found


def _repeat_limits(content: dict, default: AlertSettings) -> tuple[int, int]:
    """(repeat_days, repeat_min) of one tenant's newest alert settings, read as ``alert_settings`` reads them (the
    defaults when they no longer validate)."""
    from pydantic import ValidationError

    try:
        settings = AlertSettings.model_validate(content)
    except ValidationError:
        settings = default
    return settings.repeat_days, settings.repeat_min


ALERTS_GATE = "alerts"  # due_sweeps.py: every tenant checked until the first is due again


def _later(mark, passed: float | None):
    """The later of a tenant's own mark (a datetime) and the moment it was passed by (a timestamp), as a datetime."""
    from datetime import UTC

    moments = [m for m in (stored_moment(mark),
                           datetime.fromtimestamp(passed, UTC) if passed is not None else None) if m is not None]
    return max(moments) if moments else None


def _earlier(current, moment):
    """The earlier of two aware moments (current may be None)."""
    return moment if current is None or moment < current else current
