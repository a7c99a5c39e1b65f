"""Built-in plugin: accounts, sessions, tokens."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import PlatformAccount, RoleGrantRequest, StaffAccount
from .sessions import LiveLogin
from .sessions import forget_expired as forget_expired_logins


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("auth", {"zh": "账号与权限", "en": "Accounts and permissions"}, required=True)


@hookimpl
def xinfang_document_models():
    return [StaffAccount, PlatformAccount, RoleGrantRequest, LiveLogin]


@hookimpl
async def xinfang_sweep(now, runtime):
    """Expired logins go (MongoDB's TTL index does it too; the embedded store's may not)."""
    await forget_expired_logins(now.timestamp())


@hookimpl
def xinfang_blueprints():
    from .account_pages import account_pages_bp
    from .grant_http import platform_role_grants_bp, role_grants_bp
    from .http import platform_auth_bp, tenant_auth_bp

    return [tenant_auth_bp, platform_auth_bp, role_grants_bp, platform_role_grants_bp, account_pages_bp]
