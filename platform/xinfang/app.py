"""``create_app(settings)``: the web application. Nothing happens at import time.

Every request runs the same pipeline before its handler, in this order:
tenant (``/t/<slug>/`` or host) -> identity (token or session + CSRF) ->
permission (declared on the route). Handlers then call services, which are the
only code that changes data.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart, current_app, request

from .auth.access import authenticate, authorize
from .auth.permissions import access_of
from .auth.tokens import TokenService
from .crypto import KeyRing
from .errors import NotFound
from .i18n import register_i18n
from .navigation import register_navigation
from .openapi import register_openapi
from .events import configure_dispatch
from .http import register_error_handlers
from .observability.exposition import MetricsEndpoint
from .observability.metrics import setup_metrics
from .observability.requests import install_request_observability
from .plugins import collect_list, document_models, make_plugin_manager
from .security_headers import SecurityHeadersMiddleware
from .secrets_file import resolve_encryption_key, resolve_secret_key
from .settings import Settings
from .store.cache import configure_caches
from .store.client import Store
from .tenancy.resolution import HostTenantMiddleware, resolve_tenant
from .tenancy.service import TenantDirectory
from .worker import BrokerHandover, make_celery

log = logging.getLogger(__name__)


class UndeclaredAccess(RuntimeError):
    """A route was registered without @public, @requires or @superuser_only."""



def check_route_declarations(app: Quart) -> None:
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and access_of(app.view_functions[rule.endpoint]) is None
    ]
    if missing:
        raise UndeclaredAccess("routes without an access declaration: " + ", ".join(sorted(missing)))


def create_app(settings: Settings | None = None, *, plugins: list | None = None) -> Quart:
    settings = settings or Settings.from_env()
    setup_metrics(settings.data_dir)  # before any metric exists: the multi-process folder of this host
    app = Quart("xinfang")
    secret_key = resolve_secret_key(settings)
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="xinfang_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.session_ttl_seconds),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    pm = make_plugin_manager(plugins)
    configure_caches(settings)  # the bounds of this process's caches, before anything is cached
    pm.hook.xinfang_configure(settings=settings)
    celery_app = make_celery(settings, pm)  # the same plugins register their tasks
    directory = TenantDirectory(lookup_timeout=settings.tenant_lookup_timeout_seconds)
    app.extensions.update(
        {
            "xinfang.settings": settings,
            "xinfang.pm": pm,
            "xinfang.celery": celery_app,
            "xinfang.tokens": TokenService(secret_key, settings.token_ttl_seconds),
            "xinfang.directory": directory,
            "xinfang.keyring": KeyRing(resolve_encryption_key(settings)),
        }
    )
    register_openapi(app)
    for blueprint in collect_list(pm.hook.xinfang_blueprints()):
        app.register_blueprint(blueprint)
    check_route_declarations(app)
    register_error_handlers(app)
    register_i18n(app)
    register_navigation(app)

    @app.before_serving
    async def open_store():
        store = await Store.open(settings, document_models(pm))
        app.extensions["xinfang.store"] = store
        configure_dispatch(store, BrokerHandover(celery_app))

    @app.after_serving
    async def close_store():
        await app.extensions["xinfang.store"].close()

    install_request_observability(app)  # first: a request the pipeline refuses is counted and logged too

    @app.before_request
    async def request_pipeline():
        if request.endpoint == "static":
            if len((request.view_args or {}).get("filename", "")) > 200:
                raise NotFound()  # no file of ours has such a name, and the OS would refuse to look
            return  # stylesheets and scripts are public, like any web page's
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is None:
            return  # 404/405 from routing; the error handler answers
        await resolve_tenant(directory)
        await authenticate()
        await authorize(view)

    app.asgi_app = HostTenantMiddleware(app.asgi_app, directory)
    app.asgi_app = SecurityHeadersMiddleware(app.asgi_app)  # inside the proxy fix: it sees the client's scheme
    if settings.trusted_proxy_hops:
        # Only behind known proxies may X-Forwarded-For name the client (rate limits count it).
        app.asgi_app = ProxyFixMiddleware(app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops)
    if settings.metrics_token:  # /metrics on this port, to the bearer token only (observability/exposition.py)
        app.asgi_app = MetricsEndpoint(app, app.asgi_app, settings.metrics_token)
    return app
