"""Single sign-on routes: leave for the provider, come back (the same session a password login opens), log out
(here and at the provider), and the provider's back-channel logout. Tenants under /t/<slug>/sso/, superusers under
/platform/sso/ (the platform's own provider, ``XINFANG_PLATFORM_OIDC_*``)."""

from __future__ import annotations

import hmac
import time

from quart import Blueprint, current_app, redirect, request, session, url_for

from ..auth.access import SESSION_KEY, current_principal, end_session, open_while_restricted, start_session
from ..auth.login_guard import safe_next
from ..auth.permissions import Permission, public, requires, superuser_only
from ..auth.principal import Principal
from ..errors import DomainError
from ..http import staff_page
from ..navigation import allowed_target, staff_home_url
from ..tenancy.context import TenantContext
from ..tenancy.resolution import current_tenant
from . import oidc, service
from .models import PLATFORM_TENANT

sso_bp = Blueprint("sso", __name__, url_prefix="/t/<tenant_slug>/sso")
platform_sso_bp = Blueprint("platform_sso", __name__)

FLOW_KEY = "sso_flow"
FLOW_SECONDS = 600  # a sign-in not finished within ten minutes starts again
NO_STORE = {"Cache-Control": "no-store"}
BAD_STATE = ("登录请求已过期或不是从本页面发起的，请重新点击登录按钮",
             "this sign-in has expired or was not started from this page: press the sign-in button again")


def _settings():
    return current_app.extensions["xinfang.settings"]


def _keyring():
    return current_app.extensions["xinfang.keyring"]


async def _tenant_provider(config) -> oidc.Provider:
    return service.provider_of(config, _keyring(), _settings().sso_allow_insecure_issuers)


async def _leave_for(provider: oidc.Provider, realm: str, callback: str, next_page: str) -> object:
    flow = oidc.new_flow()
    url = await oidc.authorization_url(provider, callback, flow)
    session[FLOW_KEY] = {**flow, "realm": realm, "next": next_page[:2000]}
    return redirect(url)


def _returned_flow(realm: str, issuer: str) -> dict:
    """The flow this browser started for this realm, if the provider's answer belongs to it (state, age, iss)."""
    flow = session.pop(FLOW_KEY, None)
    if not isinstance(flow, dict) or flow.get("realm") != realm or time.time() - flow.get("at", 0) > FLOW_SECONDS:
        raise oidc.refused(*BAD_STATE)
    if not hmac.compare_digest(str(request.args.get("state", "")), str(flow.get("state", ""))):
        raise oidc.refused(*BAD_STATE)
    if request.args.get("iss") not in (None, issuer):  # RFC 9207: the answer names the provider that gave it
        raise oidc.refused("登录响应来自另一个身份认证服务", "the answer came from another provider than the one configured")
    if request.args.get("error"):
        raise oidc.refused("身份认证服务没有完成登录（已取消或被拒绝）", f"the provider did not sign you in ({request.args['error'][:100]})")
    if not request.args.get("code"):
        raise oidc.refused(*BAD_STATE)
    return flow


@sso_bp.get("/start")
@public("staff leave for their body's sign-on provider here")
async def start(tenant_slug):
    config = await service.active_config(current_tenant())
    return await _leave_for(await _tenant_provider(config), current_tenant().tenant_id,
                            url_for("sso.callback", tenant_slug=tenant_slug, _external=True), request.args.get("next", ""))


@sso_bp.get("/callback")
@public("the sign-on provider sends the browser back here")
async def callback(tenant_slug):
    ctx = current_tenant()
    config = await service.active_config(ctx)
    provider = await _tenant_provider(config)
    flow = _returned_flow(ctx.tenant_id, provider.issuer)
    claims, raw = await oidc.exchange_code(provider, url_for("sso.callback", tenant_slug=tenant_slug, _external=True), flow,
                                           request.args["code"])
    account = await service.do_sso_login(ctx, config, claims)
    await start_session(account, second_factor=True)  # the provider authenticated the person, with its own factors
    await service.do_record_session(ctx.tenant_id, session[SESSION_KEY]["sid"], provider.issuer, claims, str(account.id), raw,
                                    _settings().session_ttl_seconds)
    principal = Principal.of_staff(account, "session")
    target = safe_next(flow.get("next"), (f"/t/{tenant_slug}/staff/", f"/t/{tenant_slug}/admin/"))
    if target and not allowed_target(principal, target, ctx.tenant_id):
        target = None
    return redirect(target or staff_home_url(principal, ctx.tenant))


@sso_bp.post("/logout")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def logout(tenant_slug):
    """Log out here; a session opened through the provider is then ended there too (RP-initiated logout)."""
    ctx = current_tenant()
    found = await service.do_forget_session(ctx.tenant_id, (session.get(SESSION_KEY) or {}).get("sid"))
    await end_session()
    config = await service.access_config(ctx)
    if found is not None and config is not None:
        url = await oidc.end_session_url(await _tenant_provider(config), found.id_token,
                                         url_for("sso.logged_out", tenant_slug=tenant_slug, _external=True))
        if url:
            return redirect(url)
    return redirect(url_for("console.login_page", tenant_slug=tenant_slug))


@sso_bp.get("/logged-out")
@public("the sign-on provider sends the browser back here after logging out")
async def logged_out(tenant_slug):
    return await staff_page("sso/logged_out.html", principal=None)


@sso_bp.post("/backchannel-logout")
@public("the sign-on provider ends sessions here (OpenID Connect back-channel logout); the logout token is checked")
async def backchannel_logout(tenant_slug):
    ctx = current_tenant()
    form = await request.form
    try:
        config = await service.active_config(ctx)
        provider = await _tenant_provider(config)
        claims = await oidc.validate_logout_token(provider, form.get("logout_token", ""))
        await service.do_backchannel_logout(ctx.tenant_id, provider.issuer, claims)
    except DomainError as refused:  # the 400 the specification asks for, with the platform's zh/en error body
        return refused.to_json(), 400, NO_STORE
    return "", 200, NO_STORE


# ----------------------------------------------------------------------------- superusers: the platform's provider


def _platform_provider() -> oidc.Provider:
    provider = service.platform_provider(_settings())
    if provider is None:
        raise oidc.refused("平台没有设置统一身份认证", "the platform has no sign-on provider")
    return provider


@platform_sso_bp.get("/platform/sso/start")
@public("superusers leave for the platform's sign-on provider here")
async def platform_start():
    return await _leave_for(_platform_provider(), "platform", url_for("platform_sso.platform_callback", _external=True),
                            request.args.get("next", ""))


@platform_sso_bp.get("/platform/sso/callback")
@public("the platform's sign-on provider sends superusers back here")
async def platform_callback():
    provider = _platform_provider()
    flow = _returned_flow("platform", provider.issuer)
    claims, raw = await oidc.exchange_code(provider, url_for("platform_sso.platform_callback", _external=True), flow, request.args["code"])
    account = await service.do_platform_sso_login(provider, claims, _settings().platform_oidc_username_claim)
    await start_session(account, second_factor=True)
    await service.do_record_session(PLATFORM_TENANT, session[SESSION_KEY]["sid"], provider.issuer, claims, str(account.id), raw,
                                    _settings().session_ttl_seconds)
    return redirect(safe_next(flow.get("next"), ("/platform/",)) or "/platform/")


async def end_platform_session() -> str:
    """A superuser's 退出 (the platform pages' logout calls this): the session ends here; one opened through the
    platform's provider ends there too. Returns where the browser goes next."""
    found = await service.do_forget_session(PLATFORM_TENANT, (session.get(SESSION_KEY) or {}).get("sid"))
    await end_session()
    provider = service.platform_provider(_settings())
    if found is not None and provider is not None:
        url = await oidc.end_session_url(provider, found.id_token, url_for("review_pages.login_page", _external=True))
        if url:
            return url
    return url_for("review_pages.login_page")


@platform_sso_bp.post("/api/platform/tenants/<tenant_slug>/sso/local-passwords")
@superuser_only(Permission.PLATFORM_ADMIN)
async def restore_local_passwords(tenant_slug):
    """Break glass: the tenant's staff may sign in with their passwords again (its provider is down, or its rules lock everyone out)."""
    config = await service.do_restore_local_passwords(current_tenant(), current_principal())
    return {"local_passwords": config.local_passwords}


@platform_sso_bp.post("/api/platform/tenants/<tenant_slug>/sso/approve-rules")
@superuser_only(Permission.PLATFORM_ADMIN)
async def platform_approve_rules(tenant_slug):
    """For an office without a second admin: a superuser puts the proposed role rules in force."""
    config = await service.do_approve_rules(current_tenant(), current_principal())
    return {"rules": [r.model_dump(mode="json") for r in config.rules]}


@sso_bp.app_template_global("sso_sign_in")
async def sso_sign_in(tenant) -> dict | None:
    """For the staff login page: the tenant's sign-on button (url, words) and whether passwords are still accepted."""
    config = await service.access_config(TenantContext.of(tenant)) if tenant is not None else None
    if config is None or not config.enabled:
        return None
    return {"url": url_for("sso.start", tenant_slug=tenant.slug, next=request.args.get("next", "")), "label": config.label,
            "passwords": config.local_passwords}


@platform_sso_bp.app_template_global("platform_sso_sign_in")
def platform_sso_sign_in() -> str | None:
    """For the platform login page: where superusers leave for the platform's provider, if the operator set one."""
    return url_for("platform_sso.platform_start") if service.platform_provider(_settings()) is not None else None
