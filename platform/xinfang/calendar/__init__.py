"""Working-day calendar for petition and card deadlines (official Chinese holidays plus tenant rules)."""

from xinfang.calendar.workdays import MAX_AMOUNT, PeriodUnit, TenantCalendarRules, WorkingCalendar

__all__ = ["MAX_AMOUNT", "PeriodUnit", "TenantCalendarRules", "WorkingCalendar"]
