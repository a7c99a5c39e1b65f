"""Step one of every request: which tenant is this for? Resolved once, before authentication.

Two ways in: the path prefix ``/t/<slug>/`` and a host mapping (a tenant's own
domain). The host mapping is an ASGI wrapper that rewrites ``/x`` on a mapped
host to ``/t/<slug>/x``, so routing, auth and handlers see one shape only.
"""

from __future__ import annotations

from quart import g, request

from ..errors import NotFound
from .context import TenantContext
from .service import TenantDirectory

TENANT_PREFIX = "/t/"
# Paths that belong to the platform itself, never to the tenant a host name maps to:
# the superusers' API and pages, and the shared static files.
PLATFORM_PREFIXES = ("/api/platform", "/platform/", "/static")


class HostTenantMiddleware:
    def __init__(self, asgi_app, directory: TenantDirectory):
        self.asgi_app = asgi_app
        self.directory = directory

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not scope["path"].startswith(TENANT_PREFIX):
            host = _host_of(scope)
            slug = await self.directory.slug_for_host(host) if host else None
            if slug and not scope["path"].startswith(PLATFORM_PREFIXES):
                path = f"{TENANT_PREFIX}{slug}{scope['path']}"
                scope = dict(scope, path=path, raw_path=path.encode())
        return await self.asgi_app(scope, receive, send)


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
