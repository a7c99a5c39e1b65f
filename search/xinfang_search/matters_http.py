"""Matters routes (同一事项, 集体访): the tenant's clusters of likely-duplicate petitions, as JSON and as a staff page."""

from __future__ import annotations

from datetime import date

from quart import request

from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.tenancy.resolution import current_tenant

from . import clusters, duplicates, matters, repeats
from .blueprints import data_dir, search_api_bp, search_pages_bp
from .topics_http import tenant_today

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


@search_api_bp.get("/matters")
@requires(Permission.PETITIONS_READ)
async def list_matters(tenant_slug):
    """Clusters of likely-duplicate petitions received in the last N days (days=7..365, default 90; end=YYYY-MM-DD),
    with their places, issue words, distinct petitioners and the collective flag (集体访: at least 5 people)."""
    days, end = _window()
    return await matters.tenant_matters(data_dir(), current_tenant().tenant_id, days=days, end=end or tenant_today())


@search_pages_bp.get("/matters")
@requires(Permission.PETITIONS_READ)
async def matters_page(tenant_slug):
    days, end = _window()
    today = tenant_today()
    found = await matters.tenant_matters(data_dir(), current_tenant().tenant_id, days=days, end=end or today)
    for matter in found["matters"]:
        matter["collective_note"] = collective_note(matter)
        matter["places_shown"] = places_shown(matter["places"])
    return await staff_page("staff/matters.html", found=found, days=days, end=end, today=today, windows=WINDOWS,
                            collective_days=repeats.COLLECTIVE_WINDOW_DAYS)


def places_shown(places: list[str]) -> list[str]:
    """A matter's places as a heading: a name inside another listed name says nothing more (螺蛳粉店 beside 柳州螺蛳粉店)."""
    return [p for p in places if not any(p != other and p in other for other in places)]


def collective_note(matter: dict) -> str | None:
    """Why a group's 集体访 flag and its count of people seem to disagree: the flag counts people within
    COLLECTIVE_WINDOW_DAYS of each petition, also before the page's window; the group may span a longer time."""
    enough = matter["petitioners"] >= clusters.COLLECTIVE_MIN_PETITIONERS
    if matter["collective"] and not enough:
        return "earlier"  # the people counted include petitions received before this window
    if enough and not matter["collective"]:
        return "spread"  # that many people, but never that many within the collective window
    return None
