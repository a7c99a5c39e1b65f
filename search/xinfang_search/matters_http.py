"""Matters routes (同一事项, 集体访): the tenant's matters, filtered (collective only, at least N people) and paged, as JSON and as a staff page."""

from __future__ import annotations

from datetime import date

from quart import request

from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.tenancy.resolution import current_tenant

from . import duplicates, matters, repeats
from .blueprints import data_dir, search_api_bp, search_pages_bp
from .topics_http import date_field_values, tenant_today

WINDOWS = (30, 60, 90, 180, 365)


def _window() -> tuple[int, date | None]:
    days = request.args.get("days", str(duplicates.MATTER_WINDOW_DAYS))
    if not days.isdigit() or not 7 <= int(days) <= 365:
        raise InvalidInput(fields={"days": {"zh": "天数应为 7 到 365", "en": "days is 7 to 365"}})
    try:
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else None
    except ValueError:
        raise InvalidInput(fields={"end": {"zh": "日期格式应为 YYYY-MM-DD", "en": "end is YYYY-MM-DD"}}) from None
    return int(days), end


def _filters() -> dict:
    """collective=1 (only collective petitions), min_people=N (at least N different petitioners), page=N."""
    args, bad = request.args, {}
    min_people, page = args.get("min_people", "1") or "1", args.get("page", "1") or "1"
    if not min_people.isdigit() or not 1 <= int(min_people) <= 1000:
        bad["min_people"] = {"zh": "人数应为 1 到 1000", "en": "min_people is 1 to 1000"}
    if not page.isdigit() or not 1 <= int(page) <= 100000:
        bad["page"] = {"zh": "页码应为正整数", "en": "page is a positive number"}
    if args.get("collective", "") not in ("", "0", "1", "on"):
        bad["collective"] = {"zh": "应为 1 或不填", "en": "collective is 1 or empty"}
    if bad:
        raise InvalidInput(fields=bad)
    return {"collective_only": args.get("collective", "") in ("1", "on"), "min_people": int(min_people), "page": int(page)}


@search_api_bp.get("/matters")
@requires(Permission.PETITIONS_READ)
async def list_matters(tenant_slug):
    """Matters with a petition received in the last N days (days=7..365, default 90; end=YYYY-MM-DD), the most people
    first, then the latest, 20 a page (page=N): their petitions, places, issue words, distinct petitioners and the
    collective flag (集体访: at least 5 people); collective=1 for collective ones only, min_people=N for N people or more."""
    days, end = _window()
    return await matters.tenant_matters(data_dir(), current_tenant().tenant_id, days=days, end=end or tenant_today(), **_filters())


@search_pages_bp.get("/matters")
@requires(Permission.PETITIONS_READ)
async def matters_page(tenant_slug):
    days, end = _window()
    filters = _filters()
    today = tenant_today()
    found = await matters.tenant_matters(data_dir(), current_tenant().tenant_id, days=days, end=end or today, **filters)
    for matter in found["matters"]:
        matter["places_shown"] = places_shown(matter["places"])
    keep = {"days": days, **({"end": end.isoformat()} if end else {}), **({"collective": "1"} if filters["collective_only"] else {}),
            **({"min_people": filters["min_people"]} if filters["min_people"] > 1 else {})}
    return await staff_page("staff/matters.html", found=found, days=days, end=end, today=today, windows=WINDOWS, filters=filters,
                            keep=keep, collective_days=repeats.COLLECTIVE_WINDOW_DAYS, **date_field_values(end, today))


def places_shown(places: list[str]) -> list[str]:
    """A matter's places as a heading: a name inside another listed name says nothing more (螺蛳粉店 beside 柳州螺蛳粉店)."""
    return [p for p in places if not any(p != other and p in other for other in places)]
