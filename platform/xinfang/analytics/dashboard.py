"""The leader's dashboard of a tenant (staff page): today's intake, open and overdue cases, deadlines this week, cards
by colour (each in its card type's own colour), the supervision form mix (talks / notices / meetings), the last 30
days' intake, for a body with bodies below it a table of itself and each of them, and the panels other features add
(hook ``xinfang_dashboard_panels``: alerts, the map, top topics).

Every number comes from ``rollups`` (``snapshot`` and ``run_report``) and links to the cases behind it, or to the
inbox filtered the same way where the number is a stock the reports do not list; a link is shown only when the
person's role may follow it (``navigation.may_open``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from markupsafe import Markup
from quart import current_app, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import staff_page
from ..i18n import current_lang
from ..navigation import may_open
from ..plugins import maybe_await
from ..tenancy.models import Tenant
from ..tenancy.resolution import current_tenant
from ..tenancy.service import has_lower_bodies
from . import charts, exports
from .blueprints import analytics_pages_bp
from .report_pages import _rollups, drill_url, spec_query, tenant_today
from .reports import ReportSpec

log = logging.getLogger(__name__)
TREND_DAYS = 30
BODY_MEASURES = ["received", "closed", "overdue", "open_now", "cards_issued", "actions_taken"]


async def dashboard_panels(tenant, principal) -> list[Markup]:
    """The sections other features add; one that fails is left out (and logged), never the whole dashboard."""
    panels = []
    for result in current_app.extensions["xinfang.pm"].hook.xinfang_dashboard_panels(tenant=tenant, principal=principal):
        try:
            panel = await maybe_await(result)
        except Exception:  # noqa: BLE001 - a panel's failure must not take the leader's morning page down
            log.exception("a dashboard panel failed")
            continue
        if panel:
            panels.append(Markup(panel))
    return panels


def _tile(key: str, figure: dict, lang: str, href: str | None, warn: bool = False, note: dict | None = None) -> dict:
    return {"key": key, "count": figure.get("count", 0), "label": figure.get("label") or {}, "href": href, "warn": warn and figure.get("count", 0) > 0,
            "note": note}


async def dashboard_view(tenant_slug: str, today: date) -> dict:
    ctx, lang, principal = current_tenant(), current_lang(), current_principal()
    viewer = ctx.tenant
    rollups = _rollups()
    tenant_id = str(viewer.id)
    year_start = today.replace(month=1, day=1)
    # Past the time limit this year: open ones and those closed late (超期办结) together, as the reports count it.
    late_spec = ReportSpec(measures=["overdue"], start=year_start, end=today)
    trend_spec = ReportSpec(measures=["received", "closed"], dimensions=["day"], start=today - timedelta(days=TREND_DAYS - 1), end=today)
    # The reads are independent: asked at once, the page waits for the slowest, not for their sum.
    snap, lower, late_result, trend = await asyncio.gather(rollups.snapshot(viewer, today), has_lower_bodies(tenant_id),
                                                           rollups.run_report(viewer, late_spec), rollups.run_report(viewer, trend_spec))
    # The inbox lists this body's own cases: its list is the number only where nobody below is counted with them.
    inbox = may_open(principal, "console.inbox_page", tenant_id) and not lower
    long_ago = today.replace(year=today.year - 10)

    def drill(measure: str, start: date, end: date, key: dict | None = None, dims: list[str] | None = None) -> str:
        spec = ReportSpec(measures=[measure], dimensions=dims or [], start=start, end=end)
        return drill_url(tenant_slug, spec, measure, key or {})

    inbox_url = url_for("console.inbox_page", tenant_slug=tenant_slug) if inbox else None
    tiles = [
        _tile("intake_today", snap["intake_today"], lang, drill("received", today, today)),
        _tile("open", snap["open"], lang, drill("open_now", long_ago, today)),
        _tile("overdue", snap["overdue"], lang, f"{inbox_url}?overdue=1" if inbox_url else None, warn=True,
              note={"zh": "现在", "en": "now"}),
        _tile("due_this_week", snap["due_this_week"], lang, f"{inbox_url}?due_before={(today + timedelta(days=6)).isoformat()}" if inbox_url else None,
              note={"zh": f"至{(today + timedelta(days=6)).month}月{(today + timedelta(days=6)).day}日",
                    "en": f"by {(today + timedelta(days=6)).isoformat()}"}),
    ]
    late = late_result.totals.values.get("overdue", 0)
    tiles.append(_tile("overdue_year", {"count": late, "label": {"zh": f"{year_start.year}年以来超期", "en": f"Overdue since 1 January {year_start.year}"}},
                       lang, drill_url(tenant_slug, late_spec, "overdue", {}), warn=True,
                       note={"zh": "含超期办结", "en": "closed late included"}))
    cards_total = sum(c["count"] for c in snap.get("cards_by_colour", []))
    card_bars = [charts.Bar(c["label"].get(lang) or c["label"].get("zh", ""), c["count"], c["colour"],
                            drill("cards_issued", year_start, today, {"colour": c["colour"]}, ["colour"]),
                            f"{round(100 * c['count'] / cards_total)}%" if cards_total else "")
                 for c in snap.get("cards_by_colour", [])]
    forms = snap.get("action_forms", {})
    form_parts = [charts.Bar(f["label"].get(lang) or f["label"].get("zh", ""), f["count"], None,
                             drill("actions_taken", year_start, today, {"action_form": group}, ["action_form"]) if group != "other" else None)
                  for group, f in forms.items()]
    no_cards = "今年还没有发出监督卡" if lang == "zh" else "No cards issued this year yet"
    no_actions = "今年还没有监督措施（谈话须录入记录）" if lang == "zh" else "No supervision actions this year yet"
    year_words = {"zh": f"{year_start.year} 年以来", "en": f"since 1 January {year_start.year}"}
    cards_title = "监督卡（按颜色）" if lang == "zh" else "Cards by colour"
    forms_title = "监督措施形式占比" if lang == "zh" else "Supervision actions by form"

    by_day = {c.key.get("day"): c.values for c in trend.rows}
    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    labels = [f"{d.month}/{d.day}" for d in days]
    series = [charts.Series(exports.MEASURE_NAMES[m][lang], [by_day.get(d.isoformat(), {}).get(m, 0) for d in days], colour)
              for m, colour in (("received", "#b3261e"), ("closed", "#1f6feb"))]
    trend_title = f"近 {TREND_DAYS} 天受理与办结" if lang == "zh" else f"Received and closed, last {TREND_DAYS} days"

    bodies = None
    if lower:
        spec = ReportSpec(measures=BODY_MEASURES, dimensions=["tenant"], start=year_start, end=today)
        # Every body below is listed, a quiet one with its zeros: the leader sees who has nothing as well as who has much.
        result, children = await asyncio.gather(rollups.run_report(viewer, spec),
                                                Tenant.find({"parent_id": tenant_id, "active": True}).sort("slug").to_list())
        counted = {c.key.get("tenant"): c for c in result.rows}
        named = [(tenant_id, viewer.name.model_dump())] + [(str(c.id), c.name.model_dump()) for c in children]
        named += [(t, None) for t in counted if t not in {n for n, _ in named}]

        def name_of(t: str, names: dict | None) -> str:
            return exports.cell_words(counted[t], "tenant", lang) if t in counted else (names or {}).get(lang) or (names or {}).get("zh", "")

        bodies = {"measures": [exports.MEASURE_NAMES[m] for m in BODY_MEASURES],
                  "rows": [{"name": name_of(t, names), "own": t == tenant_id, "key": t,
                            "numbers": [{"value": counted[t].values.get(m, 0) if t in counted else 0,
                                         "href": drill_url(tenant_slug, spec, m, {"tenant": t}), "measure": m, "kind": "value"}
                                        for m in BODY_MEASURES]}
                           for t, names in named],
                  "totals": [{"value": result.totals.values.get(m, 0), "href": drill_url(tenant_slug, spec, m, {}), "measure": m, "kind": "value"}
                             for m in BODY_MEASURES],
                  "report_url": url_for("analytics_pages.reports_page", tenant_slug=tenant_slug) + "?" + spec_query(spec)}

    return {
        "snap": snap, "tiles": tiles, "year_words": year_words,
        "cards_chart": charts.bar_chart(cards_title, card_bars, empty=no_cards), "cards_title": cards_title,
        "forms_chart": charts.donut(forms_title, form_parts, empty=no_actions), "forms_title": forms_title,
        "forms": [{"label": p.label, "count": p.value, "href": p.href,
                   "share": round(100 * p.value / max(1, sum(x.value for x in form_parts)))} for p in form_parts]
        if any(p.value for p in form_parts) else [],
        "trend_chart": charts.line_chart(trend_title, labels, series), "trend_title": trend_title,
        "trend_report": url_for("analytics_pages.reports_page", tenant_slug=tenant_slug) + "?" + spec_query(trend_spec),
        "bodies": bodies,
    }


@analytics_pages_bp.get("/")
@requires(Permission.ANALYTICS_READ)
async def dashboard_page(tenant_slug):
    today = tenant_today()
    view, panels = await asyncio.gather(dashboard_view(tenant_slug, today), dashboard_panels(current_tenant().tenant, current_principal()))
    return await staff_page("staff/analytics/dashboard.html", today=today, panels=panels, **view)
