"""Built-in plugin: village supervisors (信访监督员): their relays and follow-ups, their pages, the network's
statistics, and the relay's panel on the staff case page."""

from __future__ import annotations

from markupsafe import Markup
from quart import render_template

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import FollowUp, Relay


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("supervisors", {"zh": "信访监督员", "en": "Village supervisors"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Relay, FollowUp]


@hookimpl
def xinfang_blueprints():
    from .http import supervisors_bp
    from .pages import supervisor_pages_bp

    return [supervisors_bp, supervisor_pages_bp]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """On the staff case page of a relayed petition: who relayed it, the villager's consent, the follow-ups."""
    from ..store.scoped import TenantScope
    from .service import follow_up_view, follow_ups_of, relay_registered_at

    if principal is None or principal.tenant_id != str(tenant.id):
        return None
    relay = await relay_registered_at(tenant, petition.id)
    if relay is None:
        return None
    follow_ups = [follow_up_view(f) for f in await follow_ups_of(TenantScope(relay.tenant_id), relay.petition_id)]
    return Markup(await render_template("staff/supervisor_panel.html", relay=relay, follow_ups=follow_ups))
