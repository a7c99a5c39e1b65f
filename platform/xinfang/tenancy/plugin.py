"""Built-in plugin: tenants and their routes."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import Tenant, TenantPluginSetting


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("tenancy", {"zh": "单位与层级", "en": "Tenants and hierarchy"}, required=True)


@hookimpl
def xinfang_document_models():
    from .config_versions import ConfigVersion

    return [Tenant, TenantPluginSetting, ConfigVersion]


@hookimpl
def xinfang_blueprints():
    from .front_page import front_page_bp
    from .http import directory_bp, tenant_bp

    return [directory_bp, tenant_bp, front_page_bp]
