"""Built-in plugin: accounts, sessions, tokens."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import PlatformAccount, StaffAccount


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("auth", {"zh": "账号与权限", "en": "Accounts and permissions"}, required=True)


@hookimpl
def xinfang_document_models():
    return [StaffAccount, PlatformAccount]


@hookimpl
def xinfang_blueprints():
    from .http import platform_auth_bp, tenant_auth_bp

    return [tenant_auth_bp, platform_auth_bp]
