"""The tenant calendar as admins edit it: checks, toggling one day, entering a holiday range, previewing a deadline.

The rules themselves live in ``petitions.models.CalendarRules`` and are written by
``petitions.service.do_set_calendar_rules`` (which records each change as a version of the
configuration area "calendar"); this module decides what an admin's click or form means and
refuses what would not count (a make-up workday on a weekday, a make-up workday in a year the
State Council's arrangement already decides, a day that is both a day off and a workday).
Messages are ``{"zh", "en"}`` at the form field they belong to.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from ..errors import InvalidInput
from ..petitions.models import CalendarRules
from ..petitions.service import do_set_calendar_rules
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, register_config_area
from .workdays import MAX_AMOUNT, DayKind, TenantCalendarRules, WorkingCalendar, describe_day, official_day

FIRST_YEAR, LAST_YEAR = 2000, 2100  # what the page accepts; the official calendar's own years are narrower
MAX_RANGE_DAYS = 31  # one holiday range (春节 is at most 8 or 9 days; a month is plenty)
MAX_MAKEUPS = 3  # make-up workday inputs on the form
MAX_NAME = 20
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_HOLIDAY_NAME = {"zh": "本单位休息日", "en": "day off here"}


@dataclasses.dataclass
class Rules:
    """A draft of the tenant's rules: ISO dates and the names given to them."""

    holidays: set[str]
    workdays: set[str]
    names: dict[str, str]

    @classmethod
    def of(cls, row: CalendarRules | None) -> "Rules":
        if row is None:
            return cls(set(), set(), {})
        return cls(set(row.holidays), set(row.workdays), dict(row.names))

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(TenantCalendarRules(holidays=[date.fromisoformat(d) for d in self.holidays],
                                                   workdays=[date.fromisoformat(d) for d in self.workdays]))

    def content(self) -> dict:
        return {"holidays": sorted(self.holidays), "workdays": sorted(self.workdays),
                "names": {d: n for d, n in sorted(self.names.items()) if d in self.holidays | self.workdays}}


async def current_rules(scope: TenantScope) -> Rules:
    return Rules.of(await scope.repo(CalendarRules).find_one({}))


async def do_save_rules(scope: TenantScope, rules: Rules, actor: ConfigActor, note: str = "") -> CalendarRules:
    content = rules.content()
    return await do_set_calendar_rules(scope, holidays=content["holidays"], workdays=content["workdays"], names=content["names"],
                                       actor_id=actor.account_id, actor=actor, note=note)


async def _apply_version(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """Rollback and import: the whole calendar content of a version, through the same writer."""
    await do_set_calendar_rules(scope, holidays=list(content.get("holidays") or []), workdays=list(content.get("workdays") or []),
                                names=dict(content.get("names") or {}), actor_id=actor.account_id, actor=actor, note=note)


async def _current(scope: TenantScope) -> dict:
    row = await scope.repo(CalendarRules).find_one({})
    return {"calendar": Rules.of(row).content()} if row else {}


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    """What an import would refuse: dates that are not dates, a day that is both a day off and a workday."""
    problems: dict = {}
    lists = {}
    for key in ("holidays", "workdays"):
        values = (content or {}).get(key, [])
        days = set()
        for value in values if isinstance(values, list) else [None]:
            try:
                days.add(date.fromisoformat(value).isoformat())
            except (TypeError, ValueError):
                problems[key] = _msg(f"日期格式应为 年-月-日：{value}", f"dates are year-month-day: {value!r}")
                break
        lists[key] = days
    both = sorted(lists.get("holidays", set()) & lists.get("workdays", set()))
    if both and not problems:
        problems["workdays"] = _msg(f"{both[0]} 不能既是休息日又是调休上班日", f"{both[0]} cannot be both a day off and a make-up workday")
    return problems


def _path_label(path: str, lang: str) -> str | None:
    """A diff row's name: the holidays' names, one day's name (节日名称 › 2027年10月1日（星期五）)."""
    names = "节日名称" if lang == "zh" else "holiday names"
    if path == "names":
        return names
    if path.startswith("names."):
        try:
            return f"{names} › {day_words(date.fromisoformat(path.removeprefix('names.')), lang)}"
        except ValueError:
            return None
    return None


register_config_area("calendar", {"zh": "工作日历（节假日与调休）", "en": "Working-day calendar (holidays and make-up days)"}, _apply_version,
                     check=_check, current=_current, path_label=_path_label)


# ----------------------------------------------------------------------------- words


def day_words(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日（星期{WEEKDAYS_ZH[day.weekday()]}）"
    return f"{WEEKDAYS_EN[day.weekday()]} {day.isoformat()}"


def short_day(day: date, lang: str) -> str:
    return f"{day.month}月{day.day}日" if lang == "zh" else day.strftime("%b %-d")


def _msg(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


def parse_day(text: str | None, field: str, errors: dict, *, required: bool = False) -> date | None:
    text = (text or "").strip()
    if not text:
        if required:
            errors[field] = _msg("请填写日期", "enter a date")
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = _msg("日期格式应为 年-月-日，如 2027-02-06", "a date is year-month-day, e.g. 2027-02-06")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors[field] = _msg(f"日期应在 {FIRST_YEAR} 年到 {LAST_YEAR} 年之间", f"a date between {FIRST_YEAR} and {LAST_YEAR}")
        return None
    return day


def _known(day: date) -> bool:
    return official_day(day) is not None


# ----------------------------------------------------------------------------- one click


async def do_toggle_day(scope: TenantScope, text: str, name: str, actor: ConfigActor) -> tuple[date, bool]:
    """A click on a day: a working day becomes a day off for this tenant, a day off a working day.

    Returns (day, whether it is now a working day). Refused (422 at ``day``): an official day off in a year
    the State Council's arrangement decides (only a tenant's own extra days off count there)."""
    errors: dict = {}
    day = parse_day(text, "day", errors, required=True)
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        errors["name"] = _msg(f"名称最多 {MAX_NAME} 个字", f"a name has at most {MAX_NAME} characters")
    if errors:
        raise InvalidInput(fields=errors)
    rules = await current_rules(scope)
    iso = day.isoformat()
    info = describe_day(rules.calendar(), day)
    if info.kind is DayKind.TENANT_HOLIDAY:
        rules.holidays.discard(iso)
        rules.names.pop(iso, None)
        note = f"{iso} 改为工作日 / made a working day"
    elif info.kind is DayKind.TENANT_MAKEUP:
        rules.workdays.discard(iso)
        rules.names.pop(iso, None)
        note = f"{iso} 改为休息日 / made a day off"
    elif info.working:
        rules.holidays.add(iso)
        if name:
            rules.names[iso] = name
        note = f"{iso} 改为休息日 / made a day off"
    elif not info.official_known and day.weekday() >= 5:
        rules.workdays.add(iso)
        if name:
            rules.names[iso] = name
        note = f"{iso} 改为调休上班 / made a make-up workday"
    else:
        raise InvalidInput(fields={"day": _msg(
            f"{day_words(day, 'zh')}是国务院安排的休息日，本单位不能改为工作日",
            f"{day_words(day, 'en')} is a day off by the State Council's arrangement; it cannot be made a working day here")})
    await do_save_rules(scope, rules, actor, note)
    return day, not info.working


async def do_remove_days(scope: TenantScope, texts: list[str], actor: ConfigActor) -> list[str]:
    """Take days this tenant entered (a holiday run, a make-up workday) off its calendar again."""
    rules = await current_rules(scope)
    removed = sorted({t for t in texts if t in rules.holidays or t in rules.workdays})
    if not removed:
        raise InvalidInput(fields={"day": _msg("这些日期不在本单位录入的日期中", "these days are not among the days entered here")})
    for iso in removed:
        rules.holidays.discard(iso)
        rules.workdays.discard(iso)
        rules.names.pop(iso, None)
    span = removed[0] if len(removed) == 1 else f"{removed[0]}—{removed[-1]}"
    await do_save_rules(scope, rules, actor, f"删除 {span} / removed")
    return removed


# ----------------------------------------------------------------------------- a holiday range and its make-up days


@dataclasses.dataclass
class Entry:
    """What the bulk form asks for, checked: the draft rules it gives, and warnings that do not stop it."""

    rules: Rules
    warnings: list[dict]
    added_holidays: list[date]
    added_workdays: list[date]


BULK_FIELDS = ("holiday_from", "holiday_to", "holiday_name", *(f"makeup_{i}" for i in range(1, MAX_MAKEUPS + 1)))


def has_entry(form) -> bool:
    return any((form.get(name) or "").strip() for name in BULK_FIELDS)


def check_entry(saved: Rules, form) -> Entry:
    """The form's holiday range (``holiday_from``..``holiday_to`` named ``holiday_name``) and make-up workdays
    (``makeup_1``..) merged into ``saved``; raises InvalidInput with a message at each wrong field."""
    errors: dict = {}
    first = parse_day(form.get("holiday_from"), "holiday_from", errors)
    last = parse_day(form.get("holiday_to"), "holiday_to", errors)
    name = " ".join((form.get("holiday_name") or "").split())
    if len(name) > MAX_NAME:
        errors["holiday_name"] = _msg(f"名称最多 {MAX_NAME} 个字", f"a name has at most {MAX_NAME} characters")
    if first and not last and "holiday_to" not in errors:
        last = first  # one day off: the end may stay empty
    if last and not first and "holiday_from" not in errors:
        errors["holiday_from"] = _msg("请填写放假的第一天", "enter the first day off")
    holidays: list[date] = []
    if first and last:
        if last < first:
            errors["holiday_to"] = _msg("结束日期不能早于开始日期", "the last day cannot be before the first")
        elif (last - first).days + 1 > MAX_RANGE_DAYS:
            errors["holiday_to"] = _msg(f"一次最多录入 {MAX_RANGE_DAYS} 天", f"at most {MAX_RANGE_DAYS} days at a time")
        else:
            holidays = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    makeups: list[date] = []
    for i in range(1, MAX_MAKEUPS + 1):
        field = f"makeup_{i}"
        day = parse_day(form.get(field), field, errors)
        if day is None:
            continue
        iso = day.isoformat()
        if day.weekday() < 5:
            errors[field] = _msg(f"{day_words(day, 'zh')}本来就是工作日；调休上班日应是周六或周日",
                                 f"{day_words(day, 'en')} is a working day anyway; a make-up workday is a Saturday or Sunday")
        elif _known(day):
            errors[field] = _msg(f"{day.year} 年的调休上班日已由国务院安排决定，无需录入",
                                 f"{day.year}'s make-up workdays are set by the State Council's arrangement; nothing to enter")
        elif day in holidays or iso in saved.holidays:
            errors[field] = _msg(f"{day_words(day, 'zh')}已是休息日，不能同时是调休上班日",
                                 f"{day_words(day, 'en')} is a day off; it cannot also be a make-up workday")
        elif day in makeups:
            errors[field] = _msg("这一天已在上面填写过", "this day is already entered above")
        else:
            makeups.append(day)
    if not holidays and not makeups and not errors:
        errors["holiday_from"] = _msg("请填写放假日期或调休上班日", "enter the days off or a make-up workday")
    warnings: list[dict] = []
    for day in holidays:
        if day.isoformat() in saved.workdays:
            errors.setdefault("holiday_from", _msg(f"{day_words(day, 'zh')}已录入为调休上班日，请先在日历上点击取消",
                                                   f"{day_words(day, 'en')} is entered as a make-up workday; click it on the calendar first"))
    if errors:
        raise InvalidInput(fields=errors)
    weekend = [d for d in holidays if d.weekday() >= 5]
    if weekend:
        listed_zh, listed_en = "、".join(short_day(d, "zh") for d in weekend), ", ".join(short_day(d, "en") for d in weekend)
        warnings.append(_msg(f"{listed_zh}是周末，本来就休息；一并记入这次假期",
                             f"{listed_en} fall on a weekend and are days off anyway; recorded with the holiday"))
    official = [d for d in holidays if (o := official_day(d)) is not None and o[0]]
    if official:
        warnings.append(_msg(f"{'、'.join(short_day(d, 'zh') for d in official)}已是国务院安排的休息日",
                             f"{', '.join(short_day(d, 'en') for d in official)} are days off by the State Council's arrangement already"))
    again = [d for d in holidays if d.isoformat() in saved.holidays]
    if again:
        warnings.append(_msg(f"{'、'.join(short_day(d, 'zh') for d in again)}已录入过（名称按这次填写的更新）",
                             f"{', '.join(short_day(d, 'en') for d in again)} were entered before (their name is updated)"))
    draft = Rules(set(saved.holidays), set(saved.workdays), dict(saved.names))
    for day in holidays:
        draft.holidays.add(day.isoformat())
        if name:
            draft.names[day.isoformat()] = name
    for day in makeups:
        draft.workdays.add(day.isoformat())
        draft.names[day.isoformat()] = f"{name}调休" if name else "调休上班"
    return Entry(draft, warnings, holidays, makeups)


async def do_add_entry(scope: TenantScope, form, actor: ConfigActor) -> Entry:
    entry = check_entry(await current_rules(scope), form)
    label = " ".join((form.get("holiday_name") or "").split()) or "节假日"
    await do_save_rules(scope, entry.rules, actor, f"录入{label} / holidays entered")
    return entry


# ----------------------------------------------------------------------------- the deadline preview


def preview(rules: Rules, start_text: str | None, amount_text: str | None, today: date) -> tuple[dict | None, dict]:
    """The working-day deadline from a typed start day and amount under ``rules``: (explanation, errors)."""
    errors: dict = {}
    start = parse_day(start_text, "preview_start", errors) or (today if not (start_text or "").strip() else None)
    amount_text = (amount_text or "").strip() or "15"
    if not (amount_text.isascii() and amount_text.isdigit()) or not 1 <= int(amount_text) <= MAX_AMOUNT:
        errors["preview_amount"] = _msg(f"工作日数应为 1 到 {MAX_AMOUNT} 的整数", f"a whole number of working days, 1 to {MAX_AMOUNT}")
    if errors or start is None:
        return None, errors
    calendar = rules.calendar()
    explained = calendar.explain(start, int(amount_text), "working_days")
    due = date.fromisoformat(explained["due"])
    skipped = []
    for row in explained["skipped"]:
        day = date.fromisoformat(row["date"])
        info = describe_day(calendar, day)
        own = rules.names.get(row["date"])
        skipped.append({"day": day, "kind": info.kind.value, "name": {"zh": own or row["reason_zh"], "en": own or row["reason_en"]}})
    return {"start": start, "amount": int(amount_text), "due": due, "skipped": skipped,
            "holidays": [s for s in skipped if s["kind"] != DayKind.WEEKEND.value],
            "fallback_years": [y for y in explained["fallback_years"]
                               if not any(d.startswith(f"{y}-") for d in rules.holidays)]}, {}
