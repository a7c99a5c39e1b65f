"""Frequent words routes: the API and the staff page."""

from __future__ import annotations

from datetime import date

from quart import request

from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.tenancy.resolution import current_tenant

from . import topics
from .blueprints import data_dir, search_api_bp, search_pages_bp


@search_api_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words(tenant_slug):
    """Top and rising words in the last N days (days=7..365, default 30) against the N days before."""
    days, end = _window()
    return await topics.frequent_words(data_dir(), current_tenant().tenant_id, days=days, end=end)


def _window() -> tuple[int, date | None]:
    days = request.args.get("days", "30")
    if not days.isdigit() or not 7 <= int(days) <= 365:
        raise InvalidInput(fields={"days": {"zh": "统计天数应为 7 到 365", "en": "days is 7 to 365"}})
    try:
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else None
    except ValueError:
        raise InvalidInput(fields={"end": {"zh": "日期格式应为 YYYY-MM-DD", "en": "end is YYYY-MM-DD"}}) from None
    return int(days), end


@search_pages_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words_page(tenant_slug):
    days, end = _window()
    words = await topics.frequent_words(data_dir(), current_tenant().tenant_id, days=days, end=end)
    biggest = max([w["count"] for w in words["top"]] + [1])
    return await staff_page("staff/frequent_words.html", words=words, days=days, biggest=biggest)
