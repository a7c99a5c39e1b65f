"""The analytics dashboard's "top topics" panel (hook ``xinfang_dashboard_panels``): the words and phrases petitions
of the last 30 days are most about (``topics.frequent_words``), as bars; each topic leads to the search for it and
the panel to the frequent-words page, where the person's role may open them."""

from __future__ import annotations

import logging
from datetime import timedelta

from markupsafe import Markup, escape
from quart import url_for

from xinfang.analytics.charts import Bar, bar_chart
from xinfang.i18n import current_lang
from xinfang.navigation import may_open
from xinfang.store.documents import utcnow
from xinfang.timefmt import zone

from . import topics
from .blueprints import data_dir

log = logging.getLogger(__name__)
DAYS = 30
TOP = 8


async def topics_panel(tenant, principal) -> Markup | None:
    lang = current_lang()
    tenant_id = str(tenant.id)
    today = utcnow().astimezone(zone(tenant.settings.time_zone)).date()
    words = await topics.frequent_words(data_dir(), tenant_id, days=DAYS, end=today, top=TOP)
    searchable = may_open(principal, "search_pages.search_page", tenant_id)
    start = (today - timedelta(days=DAYS - 1)).isoformat()

    def href(entry: dict) -> str | None:
        if not searchable:
            return None
        return url_for("search_pages.search_page", tenant_slug=tenant.slug, q=entry["query"], **{"from": start, "to": today.isoformat()})

    def note(entry: dict) -> str:
        if entry.get("previous") is None:
            return ""
        return (f"上期 {entry['previous']}" if lang == "zh" else f"before: {entry['previous']}")

    title = f"近 {DAYS} 天热点话题" if lang == "zh" else f"Top topics, last {DAYS} days"
    bars = [Bar(entry["term"], entry["count"], "#9a6700", href(entry), note(entry)) for entry in words.get("top", [])[:TOP]]
    empty = "近期信访件太少，尚无热点" if lang == "zh" else "too few petitions lately for topics"
    more = ""
    if may_open(principal, "search_pages.frequent_words_page", tenant_id):
        more = (f'<p class="xf-help"><a href="{escape(url_for("search_pages.frequent_words_page", tenant_slug=tenant.slug))}">'
                f'{escape("查看全部频发词汇与上升词" if lang == "zh" else "All frequent and rising words")}</a></p>')
    counted = ((f"{words.get('petitions', 0)} 件信访件中，每个话题出现的件数" if lang == "zh"
                else f"petitions mentioning each topic, of {words.get('petitions', 0)}") if bars else "")
    return Markup(f'<section class="top-topics"><h2>{escape(title)}</h2>{bar_chart(title, bars, empty=empty)}'
                  + (f'<p class="xf-help">{escape(counted)}</p>' if counted else "") + f'{more}</section>')
