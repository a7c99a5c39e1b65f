"""Per request: its id (X-Request-Id, echoed), its counters and latency, one access line.

Labels and log fields name the URL rule (``/t/<tenant_slug>/api/petitions/<petition_id>``), never the raw
path: a path holds tenant slugs and ids (one series each), and a query string may hold what a person typed.
"""

from __future__ import annotations

import logging
import time

from quart import g, request

from .context import REQUEST_ID_HEADER, accepted_request_id, begin
from .metrics import current_metrics

access_log = logging.getLogger("xinfang.access")

UNMATCHED = "(unmatched)"  # no route: a 404 or 405 from routing, whatever the path was
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Asked every few seconds by load balancers and Kubernetes: counted, but logged only when debugging.
QUIET_ROUTES = frozenset({"/healthz", "/livez", "/readyz"})


def route_of_request() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def install_request_observability(app) -> None:
    """Register before the request pipeline (tenant, identity, permission), so a refused request is counted too."""

    @app.before_request
    async def observe_request_start():
        g.observed_since = time.perf_counter()
        g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        begin(request_id=g.request_id, route=route_of_request(), method=request.method)

    @app.after_request
    async def observe_request_end(response):
        started = g.get("observed_since")
        if started is None:  # a response made before our start hook ran
            return response
        response.headers[REQUEST_ID_HEADER] = g.request_id
        seconds = time.perf_counter() - started
        route = route_of_request()
        method = request.method if request.method in METHODS else "OTHER"
        metrics = current_metrics()
        if metrics is not None:
            metrics.http_requests.labels(method, route, str(response.status_code)).inc()
            metrics.http_duration.labels(method, route).observe(seconds)
        access_log.log(logging.DEBUG if route in QUIET_ROUTES else logging.INFO, "%s %s %s", method, route, response.status_code,
                       extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 1)})
        return response
