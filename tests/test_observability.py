"""Observability with real parts: a `xinfang serve` with its metrics port, a `xinfang worker`, JSON logs, the probes.

One fixture starts two processes at once on this run's store and Redis: a web server (JSON logs, a metrics port,
a metrics token) and a worker on a queue of its own (JSON logs at INFO: the line of each task; its own metrics
port). A second app whose broker points nowhere answers /readyz in this process. The session's worker, indexer and
beat write their metrics into the same folder of this host, and so does this test process's own app: one scrape
reads them all (multi-process mode).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PASSWORD, REDIS_URL, REPO_ROOT, child_env, free_port, wait_until
from xinfang.processes import die_with_parent

NAME, PHONE, ID_NUMBER = "欧阳锦绣", "13912345678", "321323198501011238"
METRICS_TOKEN = "obs-metrics-token-" + "x" * 20


def _start(settings, argv: list[str], log_path):
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "xinfang", *argv], env=child_env(settings), cwd=REPO_ROOT,
                                stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@dataclasses.dataclass
class Deployment:
    web: str
    metrics: str
    web_log: object
    worker_log: object
    worker_metrics: str
    search_queue: str


@pytest.fixture(scope="module")
def deployment(settings, app, worker, tmp_path_factory):
    logs = tmp_path_factory.mktemp("observability")
    own = dataclasses.replace(settings, task_queue=settings.task_queue + "-obs", log_format="json", log_level="INFO",
                              port=free_port(), metrics_port=free_port(), metrics_token=METRICS_TOKEN)
    own_worker = dataclasses.replace(own, metrics_port=free_port())  # a worker pod's metrics port
    processes = [_start(own, ["serve"], logs / "web.log"),
                 _start(own_worker, ["worker", "--concurrency", "1", "--loglevel", "INFO"], logs / "worker.log")]
    web = f"http://127.0.0.1:{own.port}"
    try:
        wait_until(lambda: _answers(f"{web}/livez"), timeout=120, message="the web server")
        yield Deployment(web, f"http://127.0.0.1:{own.metrics_port}", logs / "web.log", logs / "worker.log",
                         f"http://127.0.0.1:{own_worker.metrics_port}", own.search_queue)
    finally:
        processes[1].send_signal(signal.SIGQUIT)  # the worker: a cold shutdown (its queue is this test's own, deleted below)
        processes[0].terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.Redis.from_url(REDIS_URL).delete(own.task_queue, own.search_queue, own.search_queue + "\x06\x163")


def _scrape(url: str, **headers) -> dict:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _samples(families: dict, family: str, sample: str | None = None, **labels) -> list:
    return [s for s in families[family].samples
            if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items())]


def _value(families: dict, family: str, sample: str, **labels) -> float:
    return sum(s.value for s in _samples(families, family, sample, **labels))


def _json_lines(path) -> list[dict]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line that is not JSON in {path.name}: {line[:300]}") from None
    return parsed


def _lines_of(path, request_id: str) -> list[dict]:
    return [line for line in _json_lines(path) if line.get("request_id") == request_id]


async def test_metrics_logs_and_request_ids_across_web_and_worker(deployment, client, tenants):
    web, rid = deployment.web, "obs-" + uuid.uuid4().hex
    before = _scrape(f"{deployment.metrics}/metrics")
    livez_before = _value(before, "xinfang_http_requests", "xinfang_http_requests_total", route="/livez", status="200")

    # Two processes write the same counter: this test process's app and the web server; one scrape adds them up.
    for _ in range(3):
        assert (await client.get("/livez")).status_code == 200
    for _ in range(2):
        assert httpx.get(f"{web}/livez").status_code == 200

    token = httpx.post(f"{web}/t/{tenants.A}/api/tokens", json={"username": "registrar", "password": PASSWORD}).json()["access_token"]
    report = {"content": "反映某校食堂账目不清。", "category": ["integrity"],
              "subject": {"kind": "person", "name": "某校长", "position": "校长", "unit": "某中学"},
              "petitioner_name": NAME, "id_number": ID_NUMBER, "phone": PHONE}
    created = httpx.post(f"{web}/t/{tenants.A}/api/petitions", json={"form": "report", "answers": report, "channel": "letter"},
                         headers={"Authorization": f"Bearer {token}", "X-Request-Id": rid}, timeout=30)
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-Id"] == rid  # a well-formed id is kept and echoed
    petition_id = httpx.get(f"{web}/t/{tenants.A}/api/petitions", params={"subject": "某校长"},
                            headers={"Authorization": f"Bearer {token}"}).json()["items"][0]["id"]
    assert httpx.get(f"{web}/t/{tenants.A}/api/petitions/{petition_id}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert httpx.get(f"{web}/t/{tenants.A}/no-such-page/{petition_id}").status_code == 404

    # The worker's line for the task the request sent carries the request's id.
    task_lines = wait_until(lambda: [line for line in _lines_of(deployment.worker_log, rid) if line["logger"] == "xinfang.tasks"],
                            timeout=60, message="the worker's line for the request's task")
    assert task_lines[0]["task"] == "xinfang.events.materialise" and task_lines[0]["message"] == "task xinfang.events.materialise ok"
    assert {"time", "level", "logger", "message", "task", "task_id", "duration_ms"} <= set(task_lines[0])

    after = _scrape(f"{deployment.metrics}/metrics")
    assert _value(after, "xinfang_http_requests", "xinfang_http_requests_total", route="/livez", status="200") - livez_before == 5
    create_route = "/t/<tenant_slug>/api/petitions"
    assert _value(after, "xinfang_http_requests", "xinfang_http_requests_total", route=create_route, method="POST", status="201") >= 1
    assert _value(after, "xinfang_http_request_duration_seconds", "xinfang_http_request_duration_seconds_count",
                  route=create_route, method="POST") >= 1
    assert _value(after, "xinfang_http_request_duration_seconds", "xinfang_http_request_duration_seconds_bucket",
                  route=create_route, method="POST", le="+Inf") >= 1
    assert _value(after, "xinfang_http_requests", "xinfang_http_requests_total", route="(unmatched)", status="404") >= 1
    # Scrape-time readings: the two queues (nobody consumes this test's search queue: what is put there stays,
    # on kombu's plain list and on a priority list), event lag.
    depths = {s.labels["queue"]: s.value for s in _samples(after, "xinfang_queue_depth")}
    assert set(depths) == {"tasks", "search"}
    broker = redis.Redis.from_url(REDIS_URL)
    waiting = broker.llen(deployment.search_queue) + broker.llen(deployment.search_queue + "\x06\x163")
    broker.rpush(deployment.search_queue, "m1", "m2")
    broker.rpush(deployment.search_queue + "\x06\x163", "m3")
    assert _value(_scrape(f"{deployment.metrics}/metrics"), "xinfang_queue_depth", "xinfang_queue_depth", queue="search") == waiting + 3
    assert _samples(after, "xinfang_event_lag_seconds") and _samples(after, "xinfang_events_pending")
    assert _samples(after, "xinfang_search_backlog") and _samples(after, "xinfang_search_backlog_age_seconds")
    assert _value(after, "xinfang_dependency_up", "xinfang_dependency_up", dependency="store") == 1
    assert _value(after, "xinfang_dependency_up", "xinfang_dependency_up", dependency="broker") == 1
    # Written by other processes: the worker's tasks, the session beat's sweeps (run by the session's worker).
    assert _value(after, "xinfang_celery_tasks", "xinfang_celery_tasks_total", task="xinfang.events.materialise", outcome="ok") >= 1
    assert wait_until(lambda: _value(_scrape(f"{deployment.metrics}/metrics"), "xinfang_sweep_duration_seconds",
                                     "xinfang_sweep_duration_seconds_count") >= 1, timeout=60, message="a sweep measured")
    # No tenant slug, id or raw path in any label value.
    label_values = {value for family in after.values() for sample in family.samples for value in sample.labels.values()}
    for forbidden in (tenants.A, tenants.B, petition_id, "no-such-page"):
        assert not [value for value in label_values if forbidden in value], forbidden

    # The web's lines: JSON, the access line of the request with its id, tenant, account, route, status, duration.
    access = [line for line in _lines_of(deployment.web_log, rid) if line["logger"] == "xinfang.access"]
    assert len(access) == 1
    assert access[0]["tenant"] == tenants.A and access[0]["route"] == create_route and access[0]["status"] == 201
    assert access[0]["user"] and access[0]["user"] != "registrar" and access[0]["duration_ms"] > 0
    # No petitioner's identity anywhere in the logs.
    for path in (deployment.web_log, deployment.worker_log):
        text = path.read_text(encoding="utf-8")
        assert NAME not in text and PHONE not in text and ID_NUMBER not in text, path.name

    # /metrics on the main port: the bearer token only.
    assert httpx.get(f"{web}/metrics").status_code == 401
    assert httpx.get(f"{web}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "xinfang_http_requests" in _scrape(f"{web}/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert httpx.get(f"{deployment.metrics}/").status_code == 404  # the metrics port answers nothing else
    # The worker's own metrics port (a worker pod's): this host's files, the task counters among them.
    assert _value(_scrape(f"{deployment.worker_metrics}/metrics"), "xinfang_celery_tasks", "xinfang_celery_tasks_total",
                  task="xinfang.events.materialise", outcome="ok") >= 1
    # A request id that is not well-formed (it would forge a log line) is replaced by one of ours.
    forged = httpx.get(f"{web}/livez", headers={"X-Request-Id": 'forged id"}, {"level": "x'})
    assert forged.headers["X-Request-Id"] != "forged id" and len(forged.headers["X-Request-Id"]) == 32


async def test_probes_say_which_dependency_is_down(deployment, app, settings, client):
    from xinfang import worker as worker_module
    from xinfang.app import create_app

    assert (await client.get("/metrics")).status_code == 404  # no token configured: never public on the main port
    # A second app whose broker URL points nowhere, on the session's open store (the store is up).
    runtime = worker_module.current_runtime()
    try:
        bad = create_app(dataclasses.replace(settings, broker_url="redis://127.0.0.1:1/0"))
    finally:
        worker_module._current_runtime = runtime  # a new app's Celery becomes the process's runtime: give it back
    bad.extensions["xinfang.store"] = app.app.extensions["xinfang.store"]
    bad_client = bad.test_client()
    live = await bad_client.get("/livez")
    assert live.status_code == 200 and (await live.get_json())["parts"]["web"]["ok"] is True
    ready = await bad_client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    body = await ready.get_json()
    assert body["down"] == ["broker"] and body["parts"]["store"]["ok"] is True
    assert "消息队列" in body["message"]["zh"] and "message broker" in body["message"]["en"]
    good = httpx.get(f"{deployment.web}/readyz")
    assert good.status_code == 200 and set(good.json()["parts"]) == {"store", "broker"}


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # exited and reaped: no process has this pid now (not reused within this test)


def test_a_starting_process_tidies_the_metrics_folder_of_dead_processes(tmp_path):
    from xinfang.observability.metrics import _tidy

    dead, alive = _dead_pid(), os.getppid()
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"gauge_livesum_{dead}.db", f"alive_{dead}", f"counter_{alive}.db"):
        (tmp_path / name).write_bytes(b"")
    _tidy(tmp_path)  # another process still runs: the dead one's counters stay (totals never fall), its live gauges go
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{dead}.db", f"histogram_{dead}.db", f"counter_{alive}.db", f"alive_{os.getpid()}"])
    (tmp_path / f"counter_{alive}.db").unlink()
    (tmp_path / f"alive_{os.getpid()}").rename(tmp_path / f"alive_{dead}")
    _tidy(tmp_path)  # nobody that wrote here is alive: a fresh start, every file goes
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"alive_{os.getpid()}"]
