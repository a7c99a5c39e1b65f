"""Tenant routes: the tenant's public profile, its children, plugin settings."""

from __future__ import annotations

from quart import Blueprint, current_app

from ..auth.access import current_principal
from ..auth.permissions import Permission, public, requires
from ..http import parse_body
from .config_versions import ConfigActor
from .schemas import PluginSettingIn
from .plugin_settings import do_configure_plugin, plugin_settings_for
from .resolution import current_tenant
from .service import children_of, list_active_tenants

tenant_bp = Blueprint("tenancy", __name__, url_prefix="/t/<tenant_slug>")
directory_bp = Blueprint("directory", __name__)


@directory_bp.get("/api/tenants")
@public("citizens pick the body they petition from this directory")
async def list_tenants():
    return {"tenants": [t.public_view() for t in await list_active_tenants()]}


@tenant_bp.get("/api/tenant")
@public("the citizen portal shows whose portal this is")
async def show_tenant(tenant_slug):
    return current_tenant().tenant.public_view()


@tenant_bp.get("/api/tenant/children")
@requires(Permission.TENANT_READ)
async def list_children(tenant_slug):
    return {"children": [t.public_view() for t in await children_of(current_tenant().tenant)]}


@tenant_bp.get("/api/plugins")
@requires(Permission.PLUGINS_MANAGE)
async def list_plugins(tenant_slug):
    settings = await plugin_settings_for(current_tenant().scope, current_app.extensions["xinfang.pm"])
    return {"plugins": [s.to_json() for s in settings.values()]}


@tenant_bp.put("/api/plugins/<name>")
@requires(Permission.PLUGINS_MANAGE)
async def configure_plugin(tenant_slug, name):
    body = await parse_body(PluginSettingIn)
    setting = await do_configure_plugin(
        current_tenant().scope, current_app.extensions["xinfang.pm"], name,
        enabled=body.enabled, config=body.config, actor_id=current_principal().account_id, actor=ConfigActor.of(current_principal()),
    )
    return setting.to_json()
