"""Built-in plugin: single sign-on (OpenID Connect) per tenant and for superusers."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import PluginInfo


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("sso", {"zh": "统一身份认证登录", "en": "Single sign-on"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import SsoConfig, SsoIdentity, SsoLogoutToken, SsoSession

    return [SsoConfig, SsoIdentity, SsoSession, SsoLogoutToken]


@hookimpl
def xinfang_blueprints():
    from .http import platform_sso_bp, sso_bp
    from .pages import sso_pages_bp

    return [sso_bp, platform_sso_bp, sso_pages_bp]


@hookimpl
async def xinfang_password_login_refused(tenant_id):
    from .service import password_login_refusal

    return await password_login_refusal(tenant_id)
