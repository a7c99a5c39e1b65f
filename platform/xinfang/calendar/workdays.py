"""Working-day calendar for petition and card deadlines. Pure: no database, no I/O.

The counting rules below decide when a deadline is legally due, so they are spelled
out here and pinned by tests/test_calendar.py.

Which days are working days
    * Years the ``chinese-calendar`` package has data for (2004-2026 in 1.11): the
      official State Council arrangement decides, including make-up working days
      (调休, a Saturday or Sunday that is a working day). ``rules.holidays`` removes
      further days (local days off a tenant has); ``rules.workdays`` is ignored there,
      because the official arrangement already says which weekend days are worked.
    * Years the package has no data for (it raises ``NotImplementedError``; the limit is
      detected per lookup, never hard-coded): a day is a working day if it is
      Monday-Friday and not in ``rules.holidays``, or if it is in ``rules.workdays``.
      Tenant admins enter the next year's holidays and make-up days as soon as the State
      Council publishes them; until they do, only weekends are days off.

WORKING_DAYS ("within N working days of receipt")
    Day 0 is the start (receipt) day itself and never counts, whether or not it is a
    working day. The deadline is the N-th working day strictly AFTER the start day.
    N = 0 gives the start day itself.

CALENDAR_DAYS, CALENDAR_MONTHS, YEARS
    The nominal last day is start + N days / the same day-of-month N months later /
    the same day N years later. When that day-of-month does not exist, it is clamped to
    the month's end (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 1 year = Feb 28). If the
    nominal last day is not a working day, the deadline moves to the first working day
    after it (期间届满的最后一日是法定节假日的，以节假日后的第一日为期间届满的日期).
    Holidays inside the period are not skipped; only the last day moves.

``working_days_between(start, end)`` counts working days in (start, end], so
``working_days_between(s, add_working_days(s, n)) == n`` for every start ``s``. It is 0
when ``end <= start``.

Amounts must be integers in 0..3650 for every unit; anything else raises ValueError, so
a corrupted record cannot send the deadline sweeper into a near-endless loop.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from bisect import bisect_right
from dataclasses import dataclass
from datetime import MAXYEAR, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import chinese_calendar

MAX_AMOUNT = 3650


class PeriodUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    CALENDAR_MONTHS = "calendar_months"
    YEARS = "years"


# chinese-calendar's own Chinese names are abbreviated ("清明", "中秋"); notices use the
# full names, so map its English names ourselves.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

WEEKEND = {"reason_zh": "周末", "reason_en": "weekend"}
TENANT_HOLIDAY = {"reason_zh": "本单位节假日", "reason_en": "tenant holiday"}
TENANT_WORKDAY = {"reason_zh": "本单位调休上班", "reason_en": "tenant make-up workday"}


def _holiday_name_zh(name_en: str) -> str:
    if name_en in HOLIDAY_NAMES_ZH:
        return HOLIDAY_NAMES_ZH[name_en]
    # A future package release may add a holiday we have not mapped yet; its own Chinese
    # name is better than showing English in a Chinese UI.
    for holiday in chinese_calendar.Holiday:
        if holiday.value == name_en:
            return holiday.chinese
    return name_en


@lru_cache(maxsize=1 << 16)
def _official(day: date) -> tuple[bool, str | None] | None:
    """(is_day_off, holiday_name) from chinese-calendar, or None where it has no data.

    Cached because the package re-scans its whole holiday table on every call to
    validate the year.
    """
    try:
        return chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None


def _as_date(day: date) -> date:
    # datetime is a date subclass but never equals a date, so a datetime would silently
    # miss every set lookup.
    if isinstance(day, datetime):
        return day.date()
    if isinstance(day, date):
        return day
    raise ValueError(f"expected a date, got {type(day).__name__}")


def _check_amount(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"amount must be an integer, got {n!r}")
    if not 0 <= n <= MAX_AMOUNT:
        raise ValueError(f"amount must be between 0 and {MAX_AMOUNT}, got {n}")
    return n


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if year > MAXYEAR:
        raise ValueError("deadline falls beyond the supported date range")
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def _coerce_days(days) -> frozenset[date]:
    return frozenset(_as_date(d) for d in days)


@dataclass(frozen=True)
class TenantCalendarRules:
    # Days off that tenant admins entered: used where the package has no data, and also
    # honoured in known years as extra local days off.
    holidays: frozenset[date] = frozenset()
    # Make-up working days the admins entered; only used where the package has no data.
    workdays: frozenset[date] = frozenset()

    def __post_init__(self):
        # Admin input arrives as lists or sets; freezing it keeps the rules hashable and
        # the per-instance caches of WorkingCalendar valid.
        object.__setattr__(self, "holidays", _coerce_days(self.holidays))
        object.__setattr__(self, "workdays", _coerce_days(self.workdays))


class WorkingCalendar:
    def __init__(self, rules: TenantCalendarRules = TenantCalendarRules()):
        self.rules = rules
        # year -> sorted ordinals of that year's working days; the rules are frozen, so
        # entries never go stale, and bisecting them makes each deadline O(log n).
        self._years: dict[int, list[int]] = {}

    # -- single days --------------------------------------------------------------

    def knows_official_calendar(self, day: date) -> bool:
        return _official(_as_date(day)) is not None

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        return self._is_working(day, _official(day))

    def _is_working(self, day: date, official: tuple[bool, str | None] | None) -> bool:
        if official is None:
            return (day.weekday() < 5 and day not in self.rules.holidays) or day in self.rules.workdays
        return not official[0] and day not in self.rules.holidays

    def _working_ordinals(self, year: int) -> list[int]:
        found = self._years.get(year)
        if found is None:
            if year > MAXYEAR:
                raise ValueError("deadline falls beyond the supported date range")
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            found = []
            for ordinal in range(first, last + 1):
                day = date.fromordinal(ordinal)
                if self._is_working(day, _official(day)):
                    found.append(ordinal)
            self._years[year] = found
        return found

    # -- counting -----------------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> date:
        start = _as_date(start)
        remaining = _check_amount(n)
        if remaining == 0:
            return start
        year = start.year
        ordinals = self._working_ordinals(year)
        i = bisect_right(ordinals, start.toordinal())
        while True:
            available = len(ordinals) - i
            if remaining <= available:
                return date.fromordinal(ordinals[i + remaining - 1])
            remaining -= available
            year += 1
            ordinals = self._working_ordinals(year)
            i = 0

    def working_days_between(self, start: date, end: date) -> int:
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        low, high = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            ordinals = self._working_ordinals(year)
            total += bisect_right(ordinals, high) - bisect_right(ordinals, low)
        return total

    def _first_working_on_or_after(self, day: date) -> date:
        if self.is_working_day(day):
            return day
        return self.add_working_days(day, 1)

    def _nominal(self, start: date, amount: int, unit: PeriodUnit) -> date:
        try:
            if unit is PeriodUnit.CALENDAR_DAYS:
                return start + timedelta(days=amount)
            if unit is PeriodUnit.CALENDAR_MONTHS:
                return _add_months(start, amount)
            return _add_months(start, 12 * amount)
        except OverflowError as exc:
            raise ValueError("deadline falls beyond the supported date range") from exc

    def due_date(self, start: date, amount: int, unit: PeriodUnit | str) -> date:
        start = _as_date(start)
        unit = PeriodUnit(unit)
        _check_amount(amount)
        if unit is PeriodUnit.WORKING_DAYS:
            return self.add_working_days(start, amount)
        return self._first_working_on_or_after(self._nominal(start, amount, unit))

    # -- explanations for the UI --------------------------------------------------

    def _day_off_reason(self, day: date) -> dict:
        official = _official(day)
        if official is not None and official[0] and official[1]:
            return {"reason_zh": _holiday_name_zh(official[1]), "reason_en": official[1]}
        if day in self.rules.holidays:
            return dict(TENANT_HOLIDAY)
        return dict(WEEKEND)

    def _makeup_reason(self, day: date) -> dict | None:
        if day.weekday() < 5:
            return None
        official = _official(day)
        if official is None:
            return dict(TENANT_WORKDAY) if day in self.rules.workdays else None
        if official[0] or day in self.rules.holidays:
            return None
        name = official[1]
        if name is None:
            return {"reason_zh": "调休上班", "reason_en": "make-up workday"}
        return {"reason_zh": f"{_holiday_name_zh(name)}调休上班", "reason_en": f"{name} make-up workday"}

    def explain(self, start: date, amount: int, unit: PeriodUnit | str) -> dict:
        """Why the deadline falls where it does.

        ``skipped`` lists the days that pushed the deadline later: for working days every
        day off in (start, due]; for the calendar units the days off from the nominal last
        day up to the deadline. ``fallback_years`` lists the years whose days were
        consulted without official data, so the UI can ask admins to enter holidays.
        """
        start = _as_date(start)
        unit = PeriodUnit(unit)
        due = self.due_date(start, amount, unit)
        if unit is PeriodUnit.WORKING_DAYS:
            nominal = None
            # The start day never counts, so it is never "skipped" either.
            consulted_from = start + timedelta(days=1) if due > start else None
        else:
            nominal = self._nominal(start, amount, unit)
            consulted_from = nominal

        skipped, makeup, fallback_years = [], [], set()
        day = consulted_from
        while day is not None and day <= due:
            if _official(day) is None:
                fallback_years.add(day.year)
            if not self.is_working_day(day):
                skipped.append({"date": day.isoformat(), **self._day_off_reason(day)})
            elif unit is PeriodUnit.WORKING_DAYS:
                reason = self._makeup_reason(day)
                if reason:
                    makeup.append({"date": day.isoformat(), **reason})
            if day == date.max:
                break
            day += timedelta(days=1)

        return {
            "due": due.isoformat(),
            "unit": unit.value,
            "amount": amount,
            "nominal_due": nominal.isoformat() if nominal else None,
            "skipped": skipped,
            "makeup_workdays": makeup,
            "fallback_years": sorted(fallback_years),
        }


# -- what a day is, for the calendar page --------------------------------------------

class DayKind(StrEnum):
    WORKDAY = "workday"  # 工作日
    WEEKEND = "weekend"  # 周末
    OFFICIAL_HOLIDAY = "official_holiday"  # 法定节假日 (the State Council's arrangement)
    OFFICIAL_MAKEUP = "official_makeup"  # 调休上班 by the State Council's arrangement
    TENANT_HOLIDAY = "tenant_holiday"  # a day off the tenant entered
    TENANT_MAKEUP = "tenant_makeup"  # a make-up workday the tenant entered (years without official data)


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    name_zh: str = ""  # the holiday's name where one is known: 春节
    name_en: str = ""
    official_known: bool = True  # whether the official calendar has data for this day's year

    @property
    def working(self) -> bool:
        return self.kind in (DayKind.WORKDAY, DayKind.OFFICIAL_MAKEUP, DayKind.TENANT_MAKEUP)


def official_years(first: int = 2000, last: int | None = None) -> list[int]:
    """The years the official calendar package has data for (it knows whole years or none)."""
    last = last if last is not None else date.today().year + 3
    return [y for y in range(first, last + 1) if _official(date(y, 7, 1)) is not None]


def official_day(day: date) -> tuple[bool, str | None] | None:
    """(is_day_off, English holiday name) from the official calendar, or None where it has no data."""
    return _official(_as_date(day))


def holiday_name_zh(name_en: str) -> str:
    return _holiday_name_zh(name_en)


def describe_day(calendar: "WorkingCalendar", day: date) -> DayInfo:
    """What ``day`` is under ``calendar``'s rules, in the terms a clerk uses (the same rules as is_working_day)."""
    day = _as_date(day)
    rules = calendar.rules
    weekend = day.weekday() >= 5
    official = _official(day)
    if official is None:
        if day in rules.workdays:
            return DayInfo(day, DayKind.TENANT_MAKEUP if weekend else DayKind.WORKDAY, official_known=False)
        if day in rules.holidays:
            return DayInfo(day, DayKind.TENANT_HOLIDAY, official_known=False)
        return DayInfo(day, DayKind.WEEKEND if weekend else DayKind.WORKDAY, official_known=False)
    off, name = official
    if off:
        if name:
            return DayInfo(day, DayKind.OFFICIAL_HOLIDAY, _holiday_name_zh(name), name)
        return DayInfo(day, DayKind.WEEKEND)
    if day in rules.holidays:
        return DayInfo(day, DayKind.TENANT_HOLIDAY)
    if weekend:
        return DayInfo(day, DayKind.OFFICIAL_MAKEUP, f"{_holiday_name_zh(name)}" if name else "", name or "")
    return DayInfo(day, DayKind.WORKDAY)
