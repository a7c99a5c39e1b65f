"""The metric objects, in Prometheus' multi-process mode.

Several web processes, the worker's forked children, the indexer and the beat each write their own files
(``<type>_<pid>.db``) into one folder per host under the data directory; whichever process answers a scrape
reads them all (``exposition.py``). The folder is per host because a data directory may be a volume shared by
several machines, where a pid means nothing. prometheus-client decides at its first metric whether it runs in
multi-process mode, from ``PROMETHEUS_MULTIPROC_DIR``: ``setup_metrics`` sets it, then creates the metrics.

Label values come from short fixed sets (a URL rule, a status code, a task name, an error class): never a tenant
slug, an id or a raw path, which would make one series per petition.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SWEEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_DB_FILE = re.compile(r"[a-z_]+_(\d+)\.db")
_ALIVE_FILE = re.compile(r"alive_(\d+)")


@dataclass(frozen=True)
class Metrics:
    folder: Path
    http_requests: object
    http_duration: object
    tasks: object
    task_duration: object
    sweep_duration: object
    store_errors: object


_metrics: Metrics | None = None


def metrics_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "metrics" / socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tidy(folder: Path) -> None:
    """Under the folder's lock, as a process starts: when no process that wrote here is alive any more (a fresh
    start of the deployment), every file goes, as prometheus-client asks; otherwise only the dead processes'
    live gauges go (their counters and histograms stay, or the totals would fall). Then this process says it is here."""
    from prometheus_client import multiprocess

    pids: set[int] = set()
    for entry in folder.iterdir():
        match = _DB_FILE.fullmatch(entry.name) or _ALIVE_FILE.fullmatch(entry.name)
        if match:
            pids.add(int(match.group(1)))
    pids.discard(os.getpid())
    alive = {pid for pid in pids if _pid_alive(pid)}
    if not alive:
        for entry in folder.iterdir():
            if _DB_FILE.fullmatch(entry.name) or _ALIVE_FILE.fullmatch(entry.name):
                entry.unlink(missing_ok=True)
    else:
        for pid in pids - alive:
            multiprocess.mark_process_dead(pid, str(folder))
            (folder / f"alive_{pid}").unlink(missing_ok=True)
    me = os.getpid()
    (folder / f"alive_{me}").touch()
    # Gone when this process ends normally (short-lived ones, such as `xinfang probe` every minute, leave nothing);
    # a forked child inherits the hook but is not the process that said it was here.
    atexit.register(lambda: os.getpid() == me and (folder / f"alive_{me}").unlink(missing_ok=True))


def setup_metrics(data_dir: Path) -> Metrics:
    """Once per process, before any metric exists: the folder, the environment variable, the metrics."""
    global _metrics
    if _metrics is not None:
        return _metrics  # a second app in the same process (tests) writes where the first one does
    folder = metrics_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    from prometheus_client import Counter, Histogram, values

    if not getattr(values.ValueClass, "_multiprocess", False):
        # prometheus-client was imported before the variable was set: choose its value class again.
        values.ValueClass = values.get_value_class()
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _tidy(folder)
    _metrics = Metrics(
        folder=folder,
        http_requests=Counter("xinfang_http_requests", "HTTP requests answered, by method, URL rule and status.",
                              ["method", "route", "status"]),
        http_duration=Histogram("xinfang_http_request_duration_seconds", "Time to answer a request, by method and URL rule.",
                                ["method", "route"], buckets=LATENCY_BUCKETS),
        tasks=Counter("xinfang_celery_tasks", "Celery tasks run, by task name and outcome (ok, failed, retry).",
                      ["task", "outcome"]),
        task_duration=Histogram("xinfang_celery_task_duration_seconds", "Time a Celery task ran, by task name.",
                                ["task"], buckets=SWEEP_BUCKETS),
        sweep_duration=Histogram("xinfang_sweep_duration_seconds",
                                 "Time the beat's sweep (every plugin's xinfang_sweep) took, by outcome.",
                                 ["outcome"], buckets=SWEEP_BUCKETS),
        store_errors=Counter("xinfang_store_errors", "Document store (pymongo) errors, by process role and error class.",
                             ["process", "error"]),
    )
    return _metrics


def current_metrics() -> Metrics | None:
    return _metrics


def count_store_error(error: BaseException, process: str) -> None:
    if _metrics is not None:
        _metrics.store_errors.labels(process, type(error).__name__).inc()


@contextlib.contextmanager
def timed_sweep():
    """Around one sweep: its duration, labelled ok or failed."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        if _metrics is not None:
            _metrics.sweep_duration.labels(outcome).observe(time.perf_counter() - started)
