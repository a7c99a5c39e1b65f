"""Step one of every request: which tenant is this for? Resolved once, before authentication.

Two ways in: the path prefix ``/t/<slug>/`` and a host mapping (a tenant's own
domain). The host mapping is an ASGI wrapper that rewrites ``/x`` on a mapped
host to ``/t/<slug>/x``, so routing, auth and handlers see one shape only.
"""

from __future__ import annotations

import json

from quart import g, request

from ..errors import NotFound
from .context import TenantContext
from .service import StoreUnreachable, TenantDirectory

TENANT_PREFIX = "/t/"
# Paths that belong to the platform itself, never to the tenant a host name maps to: the superusers'
# API and pages, the shared static files and the health checks. They never look the host up, so
# static files and probes are answered without the store, on any host, even while it is down.
PLATFORM_PREFIXES = ("/api/platform", "/platform/", "/static/", "/healthz", "/livez", "/readyz")


class HostTenantMiddleware:
    def __init__(self, asgi_app, directory: TenantDirectory):
        self.asgi_app = asgi_app
        self.directory = directory

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not scope["path"].startswith((TENANT_PREFIX, *PLATFORM_PREFIXES)):
            host = _host_of(scope)
            try:
                slug = await self.directory.slug_for_host(host) if host else None
            except StoreUnreachable as unreachable:
                # Outside the app: its error handlers cannot answer for us.
                return await _unavailable(scope, send, unreachable)
            if slug:
                path = f"{TENANT_PREFIX}{slug}{scope['path']}"
                scope = dict(scope, path=path, raw_path=path.encode())
        return await self.asgi_app(scope, receive, send)


async def _unavailable(scope, send, error: StoreUnreachable) -> None:
    """A 503 in Chinese and English: JSON for the API, a short page for browsers."""
    accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
    if "/api/" in scope["path"] or "text/html" not in accept:
        body, kind = json.dumps(error.to_json(), ensure_ascii=False).encode(), b"application/json"
    else:
        text = f"{error.message['zh']}<br>{error.message['en']}"
        body = (f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>503</title><p>{text}</p></html>').encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(error.retry_after).encode()), (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


def _host_of(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1")
    return None


async def resolve_tenant(directory: TenantDirectory) -> None:
    g.tenant_ctx = None
    slug = (request.view_args or {}).get("tenant_slug")
    if slug is None:
        return
    tenant = await directory.by_slug(slug)
    if tenant is None:
        raise NotFound({"zh": f"没有这个单位：{slug}", "en": f"no such tenant: {slug}"})
    g.tenant_ctx = TenantContext.of(tenant)


def current_tenant() -> TenantContext:
    ctx = g.get("tenant_ctx")
    if ctx is None:
        raise RuntimeError("this route is not under /t/<tenant_slug>")
    return ctx
