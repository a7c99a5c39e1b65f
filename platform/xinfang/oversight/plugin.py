"""Built-in plugin: 督办, oversight from above of a lower body's case or card (service.py)."""

from __future__ import annotations

import logging

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import Oversight
from .service import OVERSIGHTS

log = logging.getLogger(__name__)
CARRIER_KIND = OVERSIGHTS  # importing service registered the record as an event carrier, in every process


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("oversight", {"zh": "上级督办", "en": "Oversight from above"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Oversight]


@hookimpl
def xinfang_blueprints():
    from .http import oversight_bp
    from .pages import oversight_pages_bp

    return [oversight_bp, oversight_pages_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """Tell the body an oversight step concerns (notify.py)."""
    from .notify import notify_for

    await notify_for(event)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Warnings before an oversight's deadline and the overdue escalation, by one indexed query over every tenant."""
    from .sweep import sweep

    report = await sweep(now)
    if report.warned or report.escalated:
        log.info("oversight sweep: %s", report)


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """The supervised body's case page: the open oversights from above, with a link to report."""
    from .panel import petition_panel

    return await petition_panel(tenant, petition, principal)
