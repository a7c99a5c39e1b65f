"""Steps two and three of every request: who is calling, and may they call this route?"""

from __future__ import annotations

import hmac
import secrets
import time

from quart import current_app, g, request, session

from ..errors import CsrfFailed, Forbidden, NotAuthenticated
from ..store.scoped import TenantScope, parse_object_id
from .permissions import access_of
from .principal import Principal
from .service import load_staff, load_superuser
from .tokens import InvalidToken, TokenService

SESSION_KEY = "xf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def start_session(account_id, tenant_id) -> str:
    """Log the browser in; returns the CSRF token the page must send back on every change."""
    csrf = secrets.token_urlsafe(32)
    session.clear()
    session[SESSION_KEY] = {
        "aid": str(account_id),
        "tid": str(tenant_id) if tenant_id else "platform",
        "csrf": csrf,
        "iat": int(time.time()),
    }
    session.permanent = True
    return csrf


def end_session() -> None:
    session.clear()


async def _principal_for(account_id: str, tenant_claim: str, via: str) -> Principal | None:
    if tenant_claim == "platform":
        account = await load_superuser(account_id)
        return Principal.of_superuser(account, via) if account else None
    tenant_id = parse_object_id(tenant_claim)
    if tenant_id is None:
        return None
    account = await load_staff(TenantScope(tenant_id), account_id)
    return Principal.of_staff(account, via) if account else None


async def authenticate() -> None:
    """Set g.principal from a bearer token or the session cookie (and check CSRF for the cookie)."""
    g.principal = None
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated({"zh": "只支持 Bearer 令牌", "en": "only Bearer tokens are accepted"})
        tokens: TokenService = current_app.extensions["xinfang.tokens"]
        try:
            claims = tokens.verify(token.strip())
        except InvalidToken:
            raise NotAuthenticated({"zh": "令牌无效或已过期", "en": "token invalid or expired"}) from None
        g.principal = await _principal_for(claims["sub"], claims["tid"], "token")
        if g.principal is None:
            raise NotAuthenticated({"zh": "账号不存在或已停用", "en": "account missing or disabled"})
        return
    data = session.get(SESSION_KEY)
    if not data:
        return
    g.principal = await _principal_for(data.get("aid", ""), data.get("tid", ""), "session")
    if g.principal is None:
        end_session()


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
    if access.platform:
        if not principal.is_superuser or not principal.can(access.permission):
            raise Forbidden()
        return
    tenant_ctx = g.get("tenant_ctx")
    if tenant_ctx is None or not principal.can(access.permission, tenant_ctx.tenant_id):
        raise Forbidden()


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise NotAuthenticated()
    return principal
