"""Built-in plugin: screening campaigns (排查) run by a county or prefecture over its lower bodies and internal units."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import Campaign, UnitReport


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("campaigns", {"zh": "排查", "en": "Screening campaigns"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Campaign, UnitReport]


@hookimpl
def xinfang_blueprints():
    from .http import campaigns_api_bp
    from .pages import campaign_pages_bp

    return [campaigns_api_bp, campaign_pages_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A campaign started (its lower bodies are told) or a unit reported (the running body's leaders are told)."""
    from .notify import notify_for

    await notify_for(event)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Report deadlines of the units: a warning before, an overdue flag after, by one indexed query over every tenant."""
    from .service import sweep

    await sweep(now)
