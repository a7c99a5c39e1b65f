"""Frequent words routes: the API and the staff page."""

from __future__ import annotations

from datetime import date

from quart import request

from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.store.documents import utcnow
from xinfang.tenancy.resolution import current_tenant
from xinfang.timefmt import zone

from . import topics
from .blueprints import data_dir, search_api_bp, search_pages_bp
from .choices import filter_choices

MAX_FILTER = 100
WHOLE_PERIOD = "all"  # days=all: from the tenant's first petition to the end (a two-year corpus at once)


@search_api_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words(tenant_slug):
    """Topics (words and phrases) and rising terms in the last N days (days=7..3650, or ``all``: from the
    tenant's first petition; default 30) up to ``end``, against the windows before; ``region`` and ``category``
    narrow both to those petitions."""
    days, end, region, category = _window()
    tenant_id, end = current_tenant().tenant_id, end or tenant_today()
    days = days or await topics.whole_period(data_dir(), tenant_id, end)
    return await topics.frequent_words(data_dir(), tenant_id, days=days, end=end, region=region, category=category)


def date_field_values(end: date | None, today: date) -> dict:
    """The window's end date field: its value (empty: today) and its latest day, as ``<input type="date">`` takes them
    (calendar days of the tenant's zone already, so not a time for ``local_date``)."""
    return {"end_value": end.isoformat() if end else "", "today_value": today.isoformat()}


def tenant_today() -> date:
    """Today in the tenant's time zone: a window without an end ends on the day its staff are living."""
    return utcnow().astimezone(zone(current_tenant().tenant.settings.time_zone)).date()


def _window() -> tuple[int | None, date | None, str | None, str | None]:
    """days (None: the whole period, ``all``), end, region, category as the request gives them."""
    days = request.args.get("days", "30")
    if days != WHOLE_PERIOD and (not days.isdigit() or not 7 <= int(days) <= topics.MAX_DAYS):
        raise InvalidInput(fields={"days": {"zh": f"统计天数应为 7 到 {topics.MAX_DAYS}，或全部", "en": f"days is 7 to {topics.MAX_DAYS}, or all"}})
    try:
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else None
    except ValueError:
        raise InvalidInput(fields={"end": {"zh": "日期格式应为 YYYY-MM-DD", "en": "end is YYYY-MM-DD"}}) from None
    filters = []
    for name, zh in (("region", "地区"), ("category", "类别")):
        value = (request.args.get(name) or "").strip()
        if len(value) > MAX_FILTER:
            raise InvalidInput(fields={name: {"zh": f"{zh}最多 {MAX_FILTER} 个字", "en": f"{name} has {MAX_FILTER} characters at most"}})
        filters.append(value or None)
    return (None if days == WHOLE_PERIOD else int(days)), end, filters[0], filters[1]


@search_pages_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words_page(tenant_slug):
    days, end, region, category = _window()
    tenant, today = current_tenant(), tenant_today()
    whole = days is None
    days = days or await topics.whole_period(data_dir(), tenant.tenant_id, end or today)
    words = await topics.frequent_words(data_dir(), tenant.tenant_id, days=days, end=end or today, region=region, category=category)
    categories = (await filter_choices([tenant.tenant]))["category"]  # value -> {"zh", "en"}: words, never codes
    biggest = max([w["count"] for w in words["top"]] + [1])
    # Windows before the tenant's first petition count as nothing: "rising" against them is said to be so.
    empty_before = sum(1 for n in words["history"]["petitions"] if not n)
    return await staff_page("staff/frequent_words.html", words=words, days=days, whole=whole, end=end, today=today, region=region, category=category,
                            **date_field_values(end, today),
                            region_shown=topics.region_name(region) if region else "", categories=categories, biggest=biggest,
                            empty_before=empty_before)
