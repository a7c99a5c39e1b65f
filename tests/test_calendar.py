"""Working-day calendar: deadlines across official holidays, make-up workdays and years without data.

Expected dates come from chinese-calendar 1.11's data for 2026:
  Mid-Autumn Festival  2026-09-25 (Fri) .. 09-27 (Sun) off
  National Day         2026-10-01 (Thu) .. 10-07 (Wed) off
  make-up workdays     2026-09-20 (Sun) and 2026-10-10 (Sat) for National Day;
                       also 01-04 (Sun), 02-14 (Sat), 02-28 (Sat), 05-09 (Sat)
2027 and later: the package raises NotImplementedError, so only weekends and tenant rules apply.
"""

import time
from datetime import date, timedelta

import chinese_calendar
import pytest

from xinfang.calendar import PeriodUnit, TenantCalendarRules, WorkingCalendar

D = date


def every_day(year):
    day = D(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def test_the_package_data_these_tests_rely_on():
    # If a package upgrade changes the 2026 arrangement, fail here first, loudly.
    assert chinese_calendar.get_holiday_detail(D(2026, 9, 25)) == (True, "Mid-autumn Festival")
    assert [chinese_calendar.is_workday(D(2026, 10, d)) for d in range(1, 8)] == [False] * 7
    assert chinese_calendar.get_holiday_detail(D(2026, 10, 10)) == (False, "National Day")
    assert chinese_calendar.get_holiday_detail(D(2026, 9, 20)) == (False, "National Day")
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


def test_15_working_days_across_the_2026_october_holidays():
    # Received Friday 2026-09-25 (itself Mid-Autumn; day 0 never counts).
    # Skipped: 09-26, 09-27 (Mid-Autumn), 10-01..10-07 (National Day), 10-11, 10-17, 10-18 (weekends).
    # Counted: 09-28, 09-29, 09-30 (1-3), 10-08, 10-09 (4-5), Saturday 10-10 make-up workday (6),
    #          10-12..10-16 (7-11), 10-19..10-22 (12-15).
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2026, 9, 25), 15) == D(2026, 10, 22)
    assert calendar.due_date(D(2026, 9, 25), 15, PeriodUnit.WORKING_DAYS) == D(2026, 10, 22)
    assert calendar.due_date(D(2026, 9, 25), 15, "working_days") == D(2026, 10, 22)
    # The start day never counts, working day or not: from Wednesday 09-30 one working day is 10-08.
    assert calendar.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert calendar.add_working_days(D(2026, 9, 25), 0) == D(2026, 9, 25)


def test_a_make_up_workday_counts_as_a_working_day():
    calendar = WorkingCalendar()
    assert D(2026, 10, 10).weekday() == 5 and calendar.is_working_day(D(2026, 10, 10))
    assert D(2026, 9, 20).weekday() == 6 and calendar.is_working_day(D(2026, 9, 20))
    assert not calendar.is_working_day(D(2026, 10, 11))  # the Sunday after is an ordinary weekend
    # Friday 10-09 + 1 working day is the make-up Saturday, not Monday 10-12.
    assert calendar.add_working_days(D(2026, 10, 9), 1) == D(2026, 10, 10)
    # Tenant make-up days are ignored where the official calendar decides.
    ignored = WorkingCalendar(TenantCalendarRules(workdays=frozenset({D(2026, 10, 11)})))
    assert not ignored.is_working_day(D(2026, 10, 11))


def test_tenant_holidays_are_extra_days_off_in_known_years():
    calendar = WorkingCalendar(TenantCalendarRules(holidays=frozenset({D(2026, 10, 12)})))
    assert not calendar.is_working_day(D(2026, 10, 12))
    assert calendar.add_working_days(D(2026, 9, 25), 15) == D(2026, 10, 23)


def test_a_deadline_crossing_into_2027_uses_weekends_and_tenant_holidays():
    without = WorkingCalendar()
    with_new_year = WorkingCalendar(TenantCalendarRules(holidays=frozenset({D(2027, 1, 1)})))
    assert without.knows_official_calendar(D(2026, 12, 31))
    assert not without.knows_official_calendar(D(2027, 1, 1))
    assert not without.knows_official_calendar(D(2003, 12, 31))
    # 12-21..12-25 (5), 12-28..12-31 (9), 01-01 (10 without the tenant holiday), 01-04..01-08 (15).
    assert without.add_working_days(D(2026, 12, 20), 15) == D(2027, 1, 8)
    # With 2027-01-01 off: 01-04..01-08 are 10-14, so 15 is Monday 01-11 (one working day later).
    assert with_new_year.add_working_days(D(2026, 12, 20), 15) == D(2027, 1, 11)
    assert not with_new_year.is_working_day(D(2027, 1, 1))
    assert without.working_days_between(D(2027, 1, 8), D(2027, 1, 11)) == 1


def test_tenant_make_up_workdays_count_in_years_without_official_data():
    rules = TenantCalendarRules(holidays=[D(2027, 1, 1)], workdays=[D(2027, 1, 9)])  # lists are accepted
    calendar = WorkingCalendar(rules)
    assert isinstance(rules.workdays, frozenset)
    assert calendar.is_working_day(D(2027, 1, 9))  # a Saturday
    assert calendar.add_working_days(D(2026, 12, 20), 15) == D(2027, 1, 9)


def test_calendar_days_landing_on_a_holiday_move_to_the_next_working_day():
    calendar = WorkingCalendar()
    # 2026-09-01 + 30 days = 10-01 (National Day); 10-01..10-07 are off, so 10-08.
    assert calendar.due_date(D(2026, 9, 1), 30, PeriodUnit.CALENDAR_DAYS) == D(2026, 10, 8)
    # Holidays inside the period do not extend it: 09-20 + 30 days = 10-20, a Tuesday.
    assert calendar.due_date(D(2026, 9, 20), 30, "calendar_days") == D(2026, 10, 20)
    # Landing on the make-up Saturday keeps the date.
    assert calendar.due_date(D(2026, 9, 10), 30, "calendar_days") == D(2026, 10, 10)
    # Landing on an ordinary Sunday moves to Monday.
    assert calendar.due_date(D(2026, 10, 1), 10, "calendar_days") == D(2026, 10, 12)


def test_calendar_months_clamp_to_month_end_and_then_move_off_days_off():
    calendar = WorkingCalendar()
    # Three months after a yellow card.
    assert calendar.due_date(D(2026, 7, 15), 3, PeriodUnit.CALENDAR_MONTHS) == D(2026, 10, 15)  # a Thursday
    assert calendar.due_date(D(2026, 7, 1), 3, "calendar_months") == D(2026, 10, 8)  # 10-01 is National Day
    assert calendar.due_date(D(2026, 7, 10), 3, "calendar_months") == D(2026, 10, 10)  # make-up Saturday
    # Month-end clamping.
    assert calendar.due_date(D(2024, 1, 31), 1, "calendar_months") == D(2024, 2, 29)  # leap year, a Thursday
    assert calendar.due_date(D(2026, 1, 31), 1, "calendar_months") == D(2026, 2, 28)  # Spring Festival make-up Saturday
    assert calendar.due_date(D(2026, 3, 31), 1, "calendar_months") == D(2026, 4, 30)
    # 2026-12-31 + 2 months = 2027-02-28, a Sunday in a year without data, so Monday 03-01.
    assert calendar.due_date(D(2026, 12, 31), 2, "calendar_months") == D(2027, 3, 1)
    # 2026-04-01 + 1 month = 05-01; Labour Day runs 05-01..05-05.
    assert calendar.due_date(D(2026, 4, 1), 1, "calendar_months") == D(2026, 5, 6)


def test_years_clamp_leap_day_and_move_off_days_off():
    calendar = WorkingCalendar()
    assert calendar.due_date(D(2024, 2, 29), 1, PeriodUnit.YEARS) == D(2025, 2, 28)  # a Friday
    assert calendar.due_date(D(2025, 10, 1), 1, "years") == D(2026, 10, 8)
    assert calendar.due_date(D(2026, 6, 1), 1, "years") == D(2027, 6, 1)  # a Tuesday, no official data


def test_working_days_between_agrees_with_add_working_days_over_all_of_2026():
    calendar = WorkingCalendar()
    for start in every_day(2026):
        for n in (1, 5, 15):
            due = calendar.add_working_days(start, n)
            assert calendar.working_days_between(start, due) == n, (start, n)
            # And against a day-by-day reference straight from the package (crossing into 2027).
            day, counted = start, 0
            while counted < n:
                day += timedelta(days=1)
                known = day.year <= 2026
                counted += chinese_calendar.is_workday(day) if known else day.weekday() < 5
            assert due == day, (start, n)
    assert calendar.working_days_between(D(2026, 10, 22), D(2026, 9, 25)) == 0
    assert calendar.working_days_between(D(2026, 9, 25), D(2026, 9, 25)) == 0
    assert calendar.working_days_between(D(2025, 12, 31), D(2027, 1, 1)) == sum(
        chinese_calendar.is_workday(day) for day in every_day(2026)
    ) + 1


def test_explain_names_the_skipped_holidays_and_the_fallback_years():
    calendar = WorkingCalendar(TenantCalendarRules(holidays=frozenset({D(2027, 1, 1)})))
    explained = calendar.explain(D(2026, 9, 25), 15, "working_days")
    assert explained["due"] == "2026-10-22"
    assert explained["unit"] == "working_days" and explained["amount"] == 15
    assert explained["fallback_years"] == []
    skipped = {entry["date"]: (entry["reason_zh"], entry["reason_en"]) for entry in explained["skipped"]}
    assert skipped == {
        "2026-09-26": ("中秋节", "Mid-autumn Festival"),
        "2026-09-27": ("中秋节", "Mid-autumn Festival"),
        **{f"2026-10-0{d}": ("国庆节", "National Day") for d in range(1, 8)},
        "2026-10-11": ("周末", "weekend"),
        "2026-10-17": ("周末", "weekend"),
        "2026-10-18": ("周末", "weekend"),
    }
    assert explained["makeup_workdays"] == [
        {"date": "2026-10-10", "reason_zh": "国庆节调休上班", "reason_en": "National Day make-up workday"}
    ]

    crossing = calendar.explain(D(2026, 12, 20), 15, PeriodUnit.WORKING_DAYS)
    assert crossing["due"] == "2027-01-11"
    assert crossing["fallback_years"] == [2027]
    assert {"date": "2027-01-01", "reason_zh": "本单位节假日", "reason_en": "tenant holiday"} in crossing["skipped"]

    moved = calendar.explain(D(2026, 9, 1), 30, "calendar_days")
    assert moved["due"] == "2026-10-08" and moved["nominal_due"] == "2026-10-01"
    assert [entry["date"] for entry in moved["skipped"]] == [f"2026-10-0{d}" for d in range(1, 8)]

    # New Year 2026: 01-01..01-03 off, then Sunday 01-04 is a make-up workday.
    new_year = WorkingCalendar().explain(D(2025, 12, 31), 1, "working_days")
    assert new_year["due"] == "2026-01-04"
    assert new_year["skipped"] == [
        {"date": f"2026-01-0{d}", "reason_zh": "元旦", "reason_en": "New Year's Day"} for d in (1, 2, 3)
    ]
    assert new_year["makeup_workdays"] == [
        {"date": "2026-01-04", "reason_zh": "元旦调休上班", "reason_en": "New Year's Day make-up workday"}
    ]


def test_bad_input_is_rejected():
    calendar = WorkingCalendar()
    for amount in (-1, 100000, 3651, 1.5, True, None):
        with pytest.raises(ValueError):
            calendar.add_working_days(D(2026, 1, 5), amount)
    for unit in PeriodUnit:
        with pytest.raises(ValueError):
            calendar.due_date(D(2026, 1, 5), -1, unit)
        with pytest.raises(ValueError):
            calendar.due_date(D(2026, 1, 5), 100000, unit)
    with pytest.raises(ValueError):
        calendar.due_date(D(2026, 1, 5), 5, "fortnights")
    with pytest.raises(ValueError):
        calendar.explain(D(2026, 1, 5), 5, "weeks")
    with pytest.raises(ValueError):
        calendar.due_date(D(9999, 6, 1), 1, "years")
    # The bounds themselves are accepted.
    assert calendar.add_working_days(D(2026, 1, 5), 3650) > D(2040, 1, 1)
    assert calendar.due_date(D(2026, 1, 5), 0, "calendar_days") == D(2026, 1, 5)


def test_a_hundred_thousand_deadlines_take_well_under_three_seconds():
    calendar = WorkingCalendar(TenantCalendarRules(holidays=frozenset({D(2027, 1, 1)})))
    starts = list(every_day(2026))
    began = time.perf_counter()
    for i in range(100_000):
        calendar.add_working_days(starts[i % len(starts)], 15)
    elapsed = time.perf_counter() - began
    print(f"100,000 add_working_days(..., 15) calls: {elapsed:.3f}s")
    assert elapsed < 3.0
