"""Celery: the request id of the request that sent a task rides in the task's headers; each task run is counted,
timed and logged in one line carrying that id (and every line logged while it runs carries it too).

Signals, not a task base class: they see every task, the platform's and the plugins', sent from the web or from
another task (a task sent while one runs carries the same id: a request's whole trail shares it).
"""

from __future__ import annotations

import logging
import time

from .context import TASK_HEADER, begin, current_request_id
from .metrics import count_store_error, current_metrics

log = logging.getLogger("xinfang.tasks")

_OUTCOMES = {"SUCCESS": "ok", "FAILURE": "failed", "RETRY": "retry"}
_started: dict[str, float] = {}
_installed = False


def _add_request_id(headers=None, **_):
    request_id = current_request_id()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _task_started(task_id=None, task=None, **_):
    request_id = task.request.get(TASK_HEADER) if task is not None else None
    begin(request_id=request_id, task=getattr(task, "name", None), task_id=task_id)
    _started[task_id] = time.perf_counter()


def _task_finished(task_id=None, task=None, state=None, **_):
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "?")
    outcome = _OUTCOMES.get(state or "", "other")
    seconds = time.perf_counter() - started if started is not None else 0.0
    metrics = current_metrics()
    if metrics is not None:
        metrics.tasks.labels(name, outcome).inc()
        metrics.task_duration.labels(name).observe(seconds)
    log.info("task %s %s", name, outcome, extra={"duration_ms": round(seconds * 1000, 1)})
    begin()  # the next task of this process starts with nothing of this one


def _task_failed(exception=None, **_):
    from pymongo.errors import PyMongoError

    if isinstance(exception, PyMongoError):
        count_store_error(exception, "worker")


def install_task_observability() -> None:
    """Connect the signals once per process (they are Celery's, not one app's)."""
    global _installed
    if _installed:
        return
    from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun

    before_task_publish.connect(_add_request_id, weak=False, dispatch_uid="xinfang.observability.publish")
    task_prerun.connect(_task_started, weak=False, dispatch_uid="xinfang.observability.prerun")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="xinfang.observability.postrun")
    task_failure.connect(_task_failed, weak=False, dispatch_uid="xinfang.observability.failure")
    _installed = True
