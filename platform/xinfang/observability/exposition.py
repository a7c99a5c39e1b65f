"""The /metrics text, and where it is served.

Two ways, both off until configured, neither public:

* ``XINFANG_METRICS_PORT``: a listener of its own in each web process (bound to ``XINFANG_METRICS_HOST``,
  127.0.0.1 unless set), answering only ``GET /metrics``. What Kubernetes wants: Prometheus scrapes the pod's
  metrics port, the Service and the Ingress never name it, and a NetworkPolicy admits only the monitoring
  namespace to it. Preferred.
* ``XINFANG_METRICS_TOKEN``: ``GET /metrics`` on the main port, to ``Authorization: Bearer <token>`` only (where
  a second port cannot be opened, e.g. behind a PaaS router). Answered before the request pipeline, in front of
  the app: the token is not an account's and must never be mistaken for one. Unset: /metrics is 404 there.

Whichever process answers reads every process's files of this host (multi-process mode) and adds the readings
taken now (``readings.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import defaultdict

from .metrics import current_metrics
from .readings import Reading, collect_readings

log = logging.getLogger(__name__)


class _ReadingsCollector:
    def __init__(self, readings: list[Reading]):
        self.readings = readings

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        grouped: dict[str, list[Reading]] = defaultdict(list)
        for reading in self.readings:
            grouped[reading.name].append(reading)
        for name, readings in grouped.items():
            labels = sorted({key for reading in readings for key in reading.labels})
            family = GaugeMetricFamily(name, readings[0].documentation, labels=labels)
            for reading in readings:
                family.add_metric([reading.labels.get(key, "") for key in labels], reading.value)
            yield family


async def metrics_text(settings, pm) -> tuple[bytes, str]:
    """(body, content type): every process's metrics of this host, and the readings taken now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    metrics = current_metrics()
    readings = await collect_readings(settings, pm)
    registry = CollectorRegistry()
    if metrics is not None:
        MultiProcessCollector(registry, path=str(metrics.folder))
    registry.register(_ReadingsCollector(readings))
    return await asyncio.to_thread(generate_latest, registry), CONTENT_TYPE_LATEST  # reads a file per process


_UNAUTHORISED = {"error": {"code": "unauthorized", "message": {"zh": "需要监控令牌", "en": "the metrics bearer token is required"}}}
_NOT_FOUND = {"error": {"code": "not_found", "message": {"zh": "未找到", "en": "Not Found"}}}
_NOT_ALLOWED = {"error": {"code": "method_not_allowed", "message": {"zh": "不支持此请求方法", "en": "Method Not Allowed"}}}


class MetricsEndpoint:
    """An ASGI app answering ``GET /metrics`` for the Quart ``app`` of this process.

    ``inner``: the app it stands in front of on the main port (every other path goes there), with ``token`` the
    bearer token asked for; None on the metrics port, which answers /metrics to anyone who reaches it and 404 to
    anything else.
    """

    def __init__(self, app, inner=None, token: str | None = None):
        self.app = app
        self.inner = inner
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await self._metrics(scope, send)
        elif self.inner is not None:
            await self.inner(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await _answer(send, 404, _NOT_FOUND)

    def _authorised(self, scope) -> bool:
        if self.inner is None:
            return True  # the metrics port: reachable only where the deployment lets it be
        supplied = dict(scope.get("headers") or []).get(b"authorization", b"")
        expected = b"Bearer " + self.token.encode()
        return hmac.compare_digest(supplied, expected)

    async def _metrics(self, scope, send) -> None:
        if not self._authorised(scope):
            await _answer(send, 401, _UNAUTHORISED, [(b"www-authenticate", b'Bearer realm="metrics"')])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, _NOT_ALLOWED, [(b"allow", b"GET, HEAD")])
            return
        try:
            body, content_type = await metrics_text(self.app.extensions["xinfang.settings"], self.app.extensions["xinfang.pm"])
        except Exception:
            log.exception("metrics: the scrape failed")
            await _answer(send, 500, {"error": {"code": "internal", "message": {"zh": "指标读取失败", "en": "reading the metrics failed"}}})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _answer(send, status: int, body: dict, headers: list | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"cache-control", b"no-store"), *(headers or [])]})
    await send({"type": "http.response.body", "body": json.dumps(body, ensure_ascii=False).encode()})


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def metrics_port_server(app, settings, shutdown_trigger):
    """The coroutine serving the metrics port next to the app (``xinfang serve``), or None when it is off."""
    if not settings.metrics_port:
        return None
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    host = f"[{settings.metrics_host}]" if ":" in settings.metrics_host else settings.metrics_host
    config.bind = [f"{host}:{settings.metrics_port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 1
    return serve(MetricsEndpoint(app), config, shutdown_trigger=shutdown_trigger)


def start_worker_metrics_server(settings) -> None:
    """``xinfang worker`` / ``indexer`` in a pod of their own (Kubernetes): this host's metric files on the metrics
    port, from a thread of the main process. No readings: queue depths and lags are the same wherever they are read,
    and the web pods report them. Under ``xinfang run`` the web process reads every process's files (one host), so
    the supervisor starts these without the port."""
    if not settings.metrics_port:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    from .metrics import setup_metrics

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(setup_metrics(settings.data_dir).folder))
    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
