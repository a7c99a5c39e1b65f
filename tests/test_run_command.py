"""The README's run command, end to end: embedded store, embedded broker, worker, beat, web.

Started exactly as a new user would (``xinfang run`` with nothing configured but
a data directory and free ports), then stopped with Ctrl-C (SIGINT) and started
again on the same data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from xinfang.processes import die_with_parent
from xinfang.store.embedded import port_is_open
from tests.conftest import REPO_ROOT, free_port, wait_until

pytestmark = pytest.mark.slow


def _start(data_dir, web_port, store_port, log_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(
        XINFANG_DATA_DIR=str(data_dir),
        XINFANG_PORT=str(web_port),
        XINFANG_EMBEDDED_STORE_PORT=str(store_port),
        XINFANG_BOOTSTRAP_PASSWORD="run-command-password",
        XINFANG_SWEEP_INTERVAL_SECONDS="2",
    )
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "xinfang", "run", "--workers", "1"], env=env, cwd=REPO_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)


def _stop(process) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=40)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_serves_the_demo_tenants_and_stops_cleanly(tmp_path):
    web_port, store_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    log_path = tmp_path / "run.log"
    process = _start(tmp_path / "data", web_port, store_port, log_path)
    try:
        started = time.monotonic()
        wait_until(lambda: _up(base), timeout=60, message=f"the web server; log: {log_path}")
        startup_seconds = time.monotonic() - started
        slugs = {t["slug"] for t in httpx.get(f"{base}/api/tenants").json()["tenants"]}
        assert {"siyang-edu", "bazhou", "korla"} <= slugs
        tenant = httpx.get(f"{base}/t/siyang-edu/api/tenant").json()
        assert tenant["name"]["zh"] == "泗阳县教育局纪委"

        token = httpx.post(f"{base}/t/bazhou/api/tokens", json={"username": "admin", "password": "run-command-password"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{base}/t/bazhou/api/accounts", headers=headers,
                             json={"username": "first-user", "display_name": "新用户", "roles": ["handler"], "password": "long-enough-pw"})
        assert created.status_code == 201
        account_id = created.json()["id"]

        def activity_seen():
            entries = httpx.get(f"{base}/t/bazhou/api/activity", headers=headers).json()["entries"]
            return [e for e in entries if e["subject_id"] == account_id]

        # Through the embedded (filesystem) broker to the worker process and back into the store.
        wait_until(activity_seen, timeout=30, message="the worker to handle the event")
        filed = httpx.post(f"{base}/t/bazhou/api/petitions/submit", json={"form": "petition", "anonymous": True, "answers": {
            "title": "运行测试食堂收费", "content": "运行测试：学校食堂多收伙食费。", "category": "other"}})
        assert filed.status_code == 201, filed.text

        handler_token = httpx.post(f"{base}/t/bazhou/api/tokens", json={"username": "handler", "password": "run-command-password"}).json()
        handler = {"Authorization": f"Bearer {handler_token['access_token']}"}

        def searchable():
            answer = httpx.get(f"{base}/t/bazhou/api/search", headers=handler, params={"q": "运行测试"})
            return answer.status_code == 200 and answer.json()["total"] == 1

        # ... and through the same worker's search queue into the tenant's index.
        wait_until(searchable, timeout=30, message="the petition to be searchable")
        print(f"start-up to first answer: {startup_seconds:.1f}s")
    finally:
        code = _stop(process)
    assert code == 0, log_path.read_text()
    assert not port_is_open("127.0.0.1", store_port), "the embedded store outlived the platform"
    assert not port_is_open("127.0.0.1", web_port)

    # Same data directory again: nothing is loaded twice, what was written is still there.
    process = _start(tmp_path / "data", web_port, store_port, log_path)
    try:
        wait_until(lambda: _up(base), timeout=60, message="the second start")
        token = httpx.post(f"{base}/t/bazhou/api/tokens", json={"username": "first-user", "password": "long-enough-pw"})
        assert token.status_code == 200
    finally:
        assert _stop(process) == 0
    log = log_path.read_text()
    assert "tenants.unchanged=3" in log and "accounts.kept=" in log
    assert "Traceback" not in log, log
