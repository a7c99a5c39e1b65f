"""Times as people read them: in the tenant's time zone, Chinese date style on Chinese pages.

Instants are stored and sent over the APIs in UTC (ISO 8601 with an offset); only pages and printed
documents turn them into local wall-clock time, and all of them do it here, so one event never
shows two clocks. The zone is a tenant setting (``[settings] time_zone``); platform pages
(superuser reviews, the integrity opinion) use ``PLATFORM_ZONE``. Where a page's zone is not
China Standard Time the offset is printed next to the time, so no time is ever unlabelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "Asia/Shanghai"  # a tenant without the setting
PLATFORM_ZONE = DEFAULT_ZONE  # pages that belong to no tenant
UNLABELLED_ZONE = "Asia/Shanghai"  # the zone readers assume; every other one is labelled


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA zone name this machine knows (checked against the list, never used as a file path)."""
    return isinstance(name, str) and name in _known_zones()


@cache
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name if name and is_time_zone(name) else DEFAULT_ZONE)


def as_moment(value) -> datetime | None:
    """A datetime or an ISO 8601 string as an aware instant; naive means UTC (as stored). None if it is neither."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) >= 16 and "T" in value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def as_day(value) -> date | None:
    """A plain date, or a day written as ISO ``2027-10-01``, as a date; None for anything else (an instant too)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _date_words(day: date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def offset_label(moment: datetime, lang: str = "zh") -> str:
    """'（UTC+06:00）' for the zone of an aware local time."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    text = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"（{text}）" if lang == "zh" else f" ({text})"


def local_time(value, tz: str | None = DEFAULT_ZONE, lang: str = "zh") -> str:
    """An instant as wall-clock time in ``tz``: '2026年12月6日 10:05' (zh) or '2026-12-06 10:05' (en),
    with the offset where ``tz`` is not China Standard Time. A plain date is shown as a date;
    anything else (empty, unparsable) is shown as it is."""
    moment = as_moment(value)
    if moment is None:
        day = as_day(value)
        return _date_words(day, lang) if day else ("" if value is None else str(value))
    name = tz if tz and is_time_zone(tz) else DEFAULT_ZONE
    local = moment.astimezone(zone(name))
    text = f"{_date_words(local.date(), lang)} {local:%H:%M}"
    return text if name == UNLABELLED_ZONE else text + offset_label(local, lang)


def local_date(value, tz: str | None = DEFAULT_ZONE, lang: str = "zh") -> str:
    """The calendar day of an instant in ``tz`` (or a plain date as it is), Chinese style on Chinese pages."""
    moment = as_moment(value)
    day = moment.astimezone(zone(tz)).date() if moment is not None else as_day(value)
    if day is None:
        return "" if value is None else str(value)
    return _date_words(day, lang)


def request_zone() -> str:
    """The zone of the page being rendered: the current tenant's setting, else the platform's."""
    from quart import g, has_app_context

    if not has_app_context():
        return PLATFORM_ZONE
    tenant_ctx = g.get("tenant_ctx")
    settings = getattr(tenant_ctx.tenant, "settings", None) if tenant_ctx is not None else None
    return getattr(settings, "time_zone", None) or PLATFORM_ZONE


def register_time_filters(app, page_lang) -> None:
    """``{{ x|local_time }}`` and ``{{ x|local_date }}`` in every template, in the page's zone and
    language (``page_lang()``, passed in by i18n so this module does not import it back)."""
    from quart import has_request_context

    def lang() -> str:
        return page_lang() if has_request_context() else "zh"

    app.add_template_filter(lambda value: local_time(value, request_zone(), lang()), "local_time")
    app.add_template_filter(lambda value: local_date(value, request_zone(), lang()), "local_date")
