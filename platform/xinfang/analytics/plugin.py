"""Built-in plugin: analysis and early warning (rollups from events, dashboard, reports, maps, forecasts, alerts)."""

from __future__ import annotations

import importlib

from ..hookspecs import hookimpl
from ..plugins import PluginInfo

# Each route module puts its routes on the shared blueprints when imported (one line per module, added by its owner).
ROUTE_MODULES: tuple[str, ...] = (
    "dashboard",  # the leader's dashboard (staff page)
    "report_pages",  # free reports, drill-down, saved reports, exports (staff pages)
    "alert_pages",  # early-warning alerts and their thresholds (staff pages and JSON)
    "forecast_pages",  # intake forecasts with intervals and their backtest (staff page and JSON)
    "maps",  # the map by administrative region (staff page and JSON)
    "api_http",  # JSON: report, drill-down, snapshot (rollups.py)
    "platform_http",  # superusers: counts across tenants, audited
)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("analytics", {"zh": "统计分析与预警", "en": "Analysis and early warning"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import AnalyticsCell, AnalyticsDirty, AnalyticsFact  # the rollups (facts.py, cells.py)
    from .saved_reports import SavedReport  # free reports saved by name (report pages)

    return [AnalyticsFact, AnalyticsCell, AnalyticsDirty, SavedReport]


@hookimpl(specname="xinfang_dashboard_panels")
async def map_dashboard_panel(tenant, principal):
    from .maps import dashboard_panel  # a small map of the tenant's area linking to the map page

    return await dashboard_panel(tenant, principal)


@hookimpl
def xinfang_blueprints():
    from .blueprints import analytics_api_bp, analytics_pages_bp, platform_analytics_bp

    for module in ROUTE_MODULES:
        importlib.import_module(f".{module}", __package__)
    return [analytics_api_bp, analytics_pages_bp, platform_analytics_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A petition or supervision changed: its fact from the entity as it is now, and the cells it counts in. A card type
    published (its colour may have changed): its cards' facts, in a task of their own (facts.card_type_changed)."""
    if event.name == "card_types.defined":
        from .facts import card_type_changed

        await card_type_changed(str(event.tenant_id or ""), str((event.data or {}).get("key") or ""))
        return
    from .service import handle

    await handle(event.name, event.subject_id)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Marks a crash left unsettled; petitions that went overdue without an event."""
    from ..petitions.models import CHINA
    from .service import sweep

    await sweep(now.astimezone(CHINA).date())


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    from . import tasks

    tasks.register(celery_app, runtime)


@hookimpl
def xinfang_cli_commands():
    from .cli import analytics_command

    return [analytics_command]


@hookimpl(specname="xinfang_document_models")
def alert_document_models():
    from .alerts import Alert, AlertCheckMark  # early-warning alerts and when each tenant was last checked

    return [Alert, AlertCheckMark]


@hookimpl(specname="xinfang_sweep")
async def alerts_sweep(now, runtime):
    """Each tenant's early-warning checks, every few hours (alerts.py: one alert per crossing)."""
    from .alerts import sweep_alerts

    await sweep_alerts(now, getattr(runtime, "pm", None))  # the plugins that answer xinfang_rising_words


@hookimpl(specname="xinfang_dashboard_panels")
async def alerts_dashboard_panel(tenant, principal):
    from .alert_pages import open_alerts_panel  # the alerts not yet acknowledged

    return await open_alerts_panel(tenant, principal)
