"""Built-in plugin: tenants and their routes."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import Tenant, TenantPluginSetting


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("tenancy", {"zh": "单位与层级", "en": "Tenants and hierarchy"}, required=True)


@hookimpl
def xinfang_document_models():
    from .config_exchange import ConfigBase, ConfigOffer
    from .config_versions import ConfigVersion

    return [Tenant, TenantPluginSetting, ConfigVersion, ConfigOffer, ConfigBase]


@hookimpl
def xinfang_blueprints():
    from .config_exchange_pages import config_exchange_bp
    from .config_pages import config_studio_bp
    from .front_page import front_page_bp
    from .http import directory_bp, tenant_bp
    from .plugin_pages import plugins_admin_bp

    return [directory_bp, tenant_bp, front_page_bp, config_studio_bp, config_exchange_bp, plugins_admin_bp]
