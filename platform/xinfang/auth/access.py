"""Steps two and three of every request: who is calling, and may they call this route?"""

from __future__ import annotations

import hmac
import secrets
import time

from quart import current_app, g, request, session, url_for

from ..errors import CsrfFailed, Forbidden, NotAuthenticated
from ..store.scoped import TenantScope, parse_object_id
from .accounts import totp_required
from .permissions import access_of
from .models import PlatformAccount, StaffAccount
from .principal import Principal
from .service import load_staff, load_superuser
from .sessions import PLATFORM_REALM, close_login, live_login, open_login, realm_of, still_current
from .tokens import InvalidToken, TokenService

SESSION_KEY = "xf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
__all__ = ["authenticate", "authorize", "current_principal", "end_session", "issue_token", "revoke_presented_token",
           "start_session"]
LOGGED_OUT = {"zh": "令牌无效、已过期或已撤销", "en": "token invalid, expired or revoked"}
PENDING_SECONDS = 600
OPEN_WHILE_RESTRICTED = "__xinfang_open_while_restricted__"
# Routes of other modules a restricted account may still use (besides those marked with open_while_restricted).
OPEN_ENDPOINTS = {"console.logout"}
RESTRICTIONS = {
    "password": ("password_change_required",
                 {"zh": "请先修改初始密码：在“我的账号”页面（接口：PUT …/me/password）设置您自己的密码后才能继续",
                  "en": "change your initial password first: set your own on your account page (API: PUT .../me/password)"}),
    "totp": ("totp_setup_required",
             {"zh": "请先在“我的账号”页面设置两步验证（验证器应用）后才能继续",
              "en": "set up two-factor sign-in (an authenticator app) on your account page first"}),
}


class ActionRequired(Forbidden):
    """A signed-in person who must first change their password or set up two-factor: pages lead to the account
    page (``redirect_to``, followed by the error handler), the API answers 403 with this code."""

    def __init__(self, restriction: str, redirect_to: str | None):
        code, message = RESTRICTIONS[restriction]
        super().__init__(message)
        self.code = code
        self.redirect_to = redirect_to


def open_while_restricted(view):
    """The route stays open to an account that must first change its password or set up two-factor."""
    setattr(view, OPEN_WHILE_RESTRICTED, True)
    return view


def restriction_of(principal: Principal, tenant=None) -> str | None:
    """What ``principal`` must do before anything else: change the password, or set up two-factor (or None)."""
    if principal.must_change_password:
        return "password"
    if not principal.totp_enabled and totp_required(principal.is_superuser, tenant):
        return "totp"
    return None


def account_page_url(principal: Principal, tenant=None) -> str | None:
    if principal.is_superuser:
        return url_for("account_pages.platform_account_page") if "account_pages.platform_account_page" in current_app.view_functions else None
    if tenant is not None and "account_pages.staff_account_page" in current_app.view_functions:
        return url_for("account_pages.staff_account_page", tenant_slug=tenant.slug)
    return None


def _settings():
    return current_app.extensions["xinfang.settings"]


async def start_session(account: StaffAccount | PlatformAccount, *, second_factor: bool = False) -> str:
    """Log the browser in; returns the CSRF token the page must send back on every change.

    The cookie names a live record in the store (``auth/sessions.py``): logging out deletes it, and the
    cookie, however well signed, is worth nothing after that.

    An account with two-factor on whose code was not checked (``second_factor`` False: the login pages check
    the password only) gets a *pending* login instead, good for ten minutes and for nothing but giving the
    code (``auth/account_pages.py``): until then the browser is anonymous everywhere else.
    """
    pending = account.totp_secret is not None and not second_factor
    ttl = PENDING_SECONDS if pending else _settings().session_ttl_seconds
    sid = await open_login("session", account, ttl, pending=pending)
    await end_session()  # a session this browser had before (another account, say) ends with the new login
    csrf = secrets.token_urlsafe(32)
    session[SESSION_KEY] = {
        "sid": sid,
        "aid": str(account.id),
        "tid": realm_of(account),
        "csrf": csrf,
        "iat": int(time.time()),
    }
    session.permanent = True
    return csrf


async def end_session() -> None:
    data = session.get(SESSION_KEY)
    if isinstance(data, dict):
        await close_login(data.get("sid", ""))
    session.clear()


async def issue_token(account: StaffAccount | PlatformAccount) -> dict:
    """A bearer token whose jti names a live record (revoked by DELETE .../tokens/current, or all at once)."""
    settings = _settings()
    jti = await open_login("token", account, settings.token_ttl_seconds)
    tid = str(account.tenant_id) if isinstance(account, StaffAccount) else None
    token, ttl = current_app.extensions["xinfang.tokens"].issue(str(account.id), tid, jti=jti)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


async def revoke_presented_token() -> bool:
    """End the bearer token this request came with; False when it came with none."""
    jti = g.get("token_jti")
    if not jti:
        return False
    await close_login(jti)
    return True


async def _account_for(account_id: str, realm: str) -> StaffAccount | PlatformAccount | None:
    if realm == PLATFORM_REALM:
        return await load_superuser(account_id)
    tenant_id = parse_object_id(realm)
    if tenant_id is None:
        return None
    return await load_staff(TenantScope(tenant_id), account_id)


async def _principal_for(kind, opaque, account_id, realm) -> Principal | None:
    """The caller, if ``opaque`` names a live login of an active account that changed nothing since."""
    login = await live_login(kind, opaque, realm, account_id) if isinstance(account_id, str) and isinstance(realm, str) else None
    if login is None:
        return None
    account = await _account_for(account_id, realm)
    if account is None or not still_current(login, account):
        return None
    pending = bool(login.get("pending"))
    if isinstance(account, PlatformAccount):
        return Principal.of_superuser(account, kind, pending)
    return Principal.of_staff(account, kind, pending)


async def authenticate() -> None:
    """Set g.principal from a bearer token or the session cookie (and check CSRF for the cookie)."""
    g.principal = None
    g.pending_login = None
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated({"zh": "只支持 Bearer 令牌", "en": "only Bearer tokens are accepted"})
        tokens: TokenService = current_app.extensions["xinfang.tokens"]
        try:
            claims = tokens.verify(token.strip())
        except InvalidToken:
            raise NotAuthenticated(LOGGED_OUT) from None
        g.principal = await _principal_for("token", claims["jti"], claims["sub"], claims["tid"])
        if g.principal is None or g.principal.second_factor_pending:  # tokens are never pending; refuse one that says so
            g.principal = None
            raise NotAuthenticated(LOGGED_OUT)
        g.token_jti = claims["jti"]
        return
    data = session.get(SESSION_KEY)
    if not data:
        return
    if isinstance(data, dict):
        g.principal = await _principal_for("session", data.get("sid"), data.get("aid"), data.get("tid"))
    if g.principal is not None and g.principal.second_factor_pending:
        g.pending_login, g.principal = g.principal, None  # only the code page sees it (auth/account_pages.py)
        return
    if g.principal is None:
        session.clear()  # logged out elsewhere, expired, or changed: the browser is anonymous again


async def check_csrf() -> None:
    """A change made with the session cookie must carry the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER) or (await request.form).get("csrf_token", "")
    expected = session.get(SESSION_KEY, {}).get("csrf", "")
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise CsrfFailed()


async def authorize(view) -> None:
    """Enforce the route's declared access. A route without one never gets here (see create_app).

    Public routes skip the CSRF check on purpose: a stale session cookie must not
    stop anyone from logging in again.
    """
    access = access_of(view)
    if access is None:
        raise Forbidden()
    if access.public:
        return
    principal: Principal | None = g.principal
    if principal is None:
        raise NotAuthenticated()
    if principal.via == "session":
        await check_csrf()
    tenant_ctx = g.get("tenant_ctx")
    if access.platform:
        if not principal.is_superuser:
            raise Forbidden()
        _check_restriction(principal, view, None)
        if not principal.can(access.permission):
            raise Forbidden()
        return
    if tenant_ctx is None:
        raise Forbidden()
    if principal.is_superuser or principal.tenant_id == tenant_ctx.tenant_id:
        _check_restriction(principal, view, None if principal.is_superuser else tenant_ctx.tenant)
    if not principal.can(access.permission, tenant_ctx.tenant_id):
        raise Forbidden()


def _check_restriction(principal: Principal, view, tenant) -> None:
    """A bootstrap password not yet changed, or two-factor required and not set up: only the account page opens."""
    restriction = restriction_of(principal, tenant)
    if restriction and not getattr(view, OPEN_WHILE_RESTRICTED, False) and request.endpoint not in OPEN_ENDPOINTS:
        raise ActionRequired(restriction, account_page_url(principal, tenant) if request.method == "GET" else None)


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise NotAuthenticated()
    return principal
