"""Built-in plugin: superuser routes (the audit log's documents are the audit plugin's)."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("superuser", {"zh": "跨单位管理", "en": "Cross-tenant administration"}, required=True)


@hookimpl
def xinfang_blueprints():
    from .http import platform_bp

    return [platform_bp]
