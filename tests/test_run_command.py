"""The README's run command, end to end: embedded store, embedded broker, worker, beat, web.

Started exactly as a new user would (``xinfang run`` with nothing configured but
a data directory and free ports), then stopped with Ctrl-C (SIGINT) and started
again on the same data, with a stale pid file in it: that second start is the
platform of the supervision tests (one start fewer). Its supervision, with real processes killed by
SIGKILL: the store, the worker and the beat come back without anyone's help,
submissions succeed again, exactly one beat runs, a second beat refuses to
start, a stale pid file does not stop a start, ``/healthz`` says what is down,
and what the platform writes under its data directory is private.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from xinfang.beat_lock import ANOTHER_BEAT_EXIT
from xinfang.processes import die_with_parent, is_beat, pid_alive, processes_of_data_dir
from xinfang.store.embedded import port_is_open
from tests.conftest import REPO_ROOT, free_port, wait_until

pytestmark = pytest.mark.slow

PASSWORD = "run-command-password"


def _env(data_dir, web_port, store_port) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(
        XINFANG_DATA_DIR=str(data_dir),
        XINFANG_PORT=str(web_port),
        XINFANG_EMBEDDED_STORE_PORT=str(store_port),
        XINFANG_BOOTSTRAP_PASSWORD=PASSWORD,
        XINFANG_SWEEP_INTERVAL_SECONDS="2",
    )
    return env


def _start(data_dir, web_port, store_port, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "xinfang", "run", "--workers", "1"], env=_env(data_dir, web_port, store_port),
                            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=die_with_parent)


def _stop(process) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=40)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _private_problems(data_dir: Path) -> list[str]:
    """Every file or folder under ``data_dir`` (itself included) that its group or others could read."""
    problems = []
    for path in [data_dir, *data_dir.rglob("*")]:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # broker messages come and go
            continue
        if not stat.S_ISLNK(mode) and mode & 0o077:
            problems.append(f"{path.relative_to(data_dir.parent)} {stat.filemode(mode)}")
    return problems


@dataclass
class FreshStart:
    """What the first start on an empty data directory showed (module-wide: its data directory is started again,
    with a stale pid file in it, as the platform of the supervision tests below)."""

    data_dir: Path
    web_port: int
    store_port: int
    log_path: Path
    startup_seconds: float
    exit_code: int
    store_port_open_after: bool
    web_port_open_after: bool


@pytest.fixture(scope="module")
def fresh_start(tmp_path_factory) -> FreshStart:
    """``xinfang run`` on an empty data directory, exactly as a new user starts it: the demo tenants answer, an account
    made through the API reaches the worker (activity) and a petition the search index, through the embedded broker;
    what it wrote is private; then Ctrl-C."""
    tmp = tmp_path_factory.mktemp("run")
    web_port, store_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    log_path = tmp / "run.log"
    data_dir = tmp / "data"
    process = _start(data_dir, web_port, store_port, log_path)
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

        # A fresh data directory: keys, passwords, store, broker, search index, logs are this user's only.
        written = {p.relative_to(data_dir).parts[0] for p in data_dir.iterdir()}
        assert {"secret.key", "encryption.key", "bootstrap-credentials.txt", "store", "broker", "search", "run"} <= written
        assert _private_problems(data_dir) == []
    finally:
        code = _stop(process)
    return FreshStart(data_dir, web_port, store_port, log_path, startup_seconds, code,
                      port_is_open("127.0.0.1", store_port), port_is_open("127.0.0.1", web_port))


def test_run_serves_the_demo_tenants_and_stops_cleanly(fresh_start):
    print(f"start-up to first answer: {fresh_start.startup_seconds:.1f}s")
    assert fresh_start.exit_code == 0, fresh_start.log_path.read_text()
    assert not fresh_start.store_port_open_after, "the embedded store outlived the platform"
    assert not fresh_start.web_port_open_after


def test_started_again_on_the_same_data_nothing_is_loaded_twice(running):
    """The second start (the supervision tests' platform) on the first start's data: what was written is still there."""
    token = httpx.post(f"{running.base}/t/bazhou/api/tokens", json={"username": "first-user", "password": "long-enough-pw"})
    assert token.status_code == 200
    log = running.log_until_up  # both clean starts, before any kill below
    assert "tenants.unchanged=3" in log and "accounts.kept=" in log
    assert "Traceback" not in log, log


# -- supervision: kill -9 under `xinfang run` ----------------------------------------------------


@dataclass
class Running:
    process: subprocess.Popen
    base: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    log_until_up: str = ""  # the log of both starts, as it was once this one answered

    def status(self) -> dict:
        return json.loads((self.data_dir / "run" / "status.json").read_text())

    def child_pid(self, name: str) -> int:
        return self.status()["children"][name]["pid"]

    def wait_for_new(self, name: str, old_pid: int, timeout: float = 30) -> int:
        """The pid of ``name`` once the supervisor has it running again under a new pid."""
        def restarted():
            child = self.status()["children"][name]
            return child["pid"] if child["state"] == "running" and child["pid"] not in (None, old_pid) else None

        return wait_until(restarted, timeout=timeout, message=f"the supervisor to restart the {name}; log: {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _beat_processes(data_dir: Path) -> list[int]:
    """Beat schedulers on this data directory: `xinfang beat`, or a worker that would fork one (--beat)."""
    return [pid for pid, argv in processes_of_data_dir(data_dir) if is_beat(argv)]


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid and pid_alive(int(entry)):
                children.append(int(entry))
    return children


def _petition(word: str) -> dict:
    return {"form": "petition", "anonymous": True, "answers": {
        "title": f"{word}食堂收费", "content": f"{word}：学校食堂多收伙食费。", "category": "other"}}


def _submit_until_accepted(base: str, word: str, timeout: float) -> tuple[float, list]:
    """Submit as a citizen would, again after a 5xx or a dropped connection; seconds until a receipt."""
    started, answers = time.monotonic(), []
    while time.monotonic() - started < timeout:
        try:
            answer = httpx.post(f"{base}/t/bazhou/api/petitions/submit", json=_petition(word), timeout=10)
            answers.append(answer.status_code)
            if answer.status_code == 201:
                return time.monotonic() - started, answers
            assert answer.status_code >= 500, answer.text
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)
        time.sleep(0.2)
    raise AssertionError(f"no submission accepted within {timeout}s: {answers}")


@pytest.fixture(scope="module")
def running(fresh_start):
    """``xinfang run`` started again on the first start's data directory (one start fewer than a platform of its own),
    with a pid file left in the store's folder."""
    data_dir, web_port, store_port, log_path = fresh_start.data_dir, fresh_start.web_port, fresh_start.store_port, fresh_start.log_path
    (data_dir / "store").mkdir(parents=True, exist_ok=True)
    # A pid file as a crash leaves it, naming a live process that is no store (this test): nx-27017
    # itself would refuse to start ("already running"); the platform sees it is not ours.
    (data_dir / "store" / "nx-27017.pid").write_text(f"{os.getpid()}\n")
    base = f"http://127.0.0.1:{web_port}"
    process = _start(data_dir, web_port, store_port, log_path)
    platform = Running(process, base, data_dir, log_path, _env(data_dir, web_port, store_port))
    try:
        wait_until(lambda: _up(base), timeout=90, message=f"the web server; log: {log_path}")
        platform.log_until_up = platform.log()
        yield platform
    finally:
        try:
            os.kill(process.pid, signal.SIGCONT)  # in case a test stopped it
        except ProcessLookupError:
            pass
        code = _stop(process)
    assert code == 0, platform.log()[-3000:]
    assert processes_of_data_dir(data_dir) == [], "a child outlived `xinfang run`"


def test_a_stale_pid_file_does_not_stop_a_start(running):
    store_pid = running.child_pid("store")
    assert (running.data_dir / "store" / "nx-27017.pid").read_text().strip() == str(store_pid)
    assert "removed a stale pid file" in running.log()


def test_a_killed_store_comes_back_and_submissions_succeed_without_anyone(running):
    store_pid = running.child_pid("store")
    os.kill(store_pid, signal.SIGKILL)
    seconds, answers = _submit_until_accepted(running.base, "存储重启", timeout=20)
    assert running.wait_for_new("store", store_pid) != store_pid
    assert "store (pid %d) died: SIGKILL; restart 1 in 0.5 s" % store_pid in running.log()
    print(f"a submission succeeded {seconds:.1f}s after the store's kill -9 (answers meanwhile: {answers})")


def test_healthz_says_the_store_is_down_then_up_and_non_tenant_paths_answer_503_fast(running):
    supervisor = running.process.pid
    store_pid = running.child_pid("store")
    # Pause the supervisor, so the store stays down until we let it go on.
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(store_pid, signal.SIGKILL)

        def store_down():
            answer = httpx.get(f"{running.base}/healthz", timeout=5)
            return answer if answer.status_code == 503 and "store" in answer.json()["down"] else None

        answer = wait_until(store_down, timeout=15, message="/healthz to report the store down")
        body = answer.json()
        assert body["parts"]["store"]["ok"] is False and body["parts"]["broker"]["ok"] is True
        assert body["parts"]["store"]["message"] == {"zh": "数据库无法连接", "en": "document store unreachable"}
        assert "数据库" in body["message"]["zh"] and "document store" in body["message"]["en"]
        assert answer.headers["Retry-After"]

        # A request waits at most 1.5 s for the store (store/client.py); a submission first hashes its receipt.
        for method, path, body, limit in (("GET", "/api/tenants", None, 2.0), ("GET", "/api/tenants", None, 2.0),
                                          ("POST", "/t/bazhou/api/petitions/submit", _petition("停库"), 3.0)):
            started = time.monotonic()
            refused = httpx.request(method, running.base + path, json=body, timeout=10)
            seconds = time.monotonic() - started
            assert refused.status_code == 503, (path, refused.status_code, refused.text)
            assert seconds < limit, f"{path} took {seconds:.2f}s to answer 503"
            assert refused.headers["Retry-After"] and refused.json()["error"]["message"]["zh"]
        # What needs only the tenant itself is answered from what the web process remembers.
        assert httpx.get(f"{running.base}/t/bazhou/api/tenant", timeout=10).json()["slug"] == "bazhou"
    finally:
        os.kill(supervisor, signal.SIGCONT)
    wait_until(lambda: _up(running.base), timeout=30, message="/healthz to report every part up again")
    assert httpx.get(f"{running.base}/healthz").json()["parts"]["store"]["ok"] is True
    assert running.child_pid("store") != store_pid


def test_a_killed_worker_is_replaced_with_its_pool_and_one_beat_runs(running, tmp_path):
    worker = running.child_pid("worker")
    pool = _children_of(worker)
    assert pool, "a Celery worker has pool processes"
    assert len(_beat_processes(running.data_dir)) == 1
    os.kill(worker, signal.SIGKILL)
    new_worker = running.wait_for_new("worker", worker)
    wait_until(lambda: not any(pid_alive(pid) for pid in pool), timeout=15, message="the old pool processes to die")
    assert _beat_processes(running.data_dir) == [running.child_pid("beat")]

    # The new worker does the work: a petition submitted now is indexed and found.
    word = f"换岗{uuid.uuid4().hex[:6]}"
    _submit_until_accepted(running.base, word, timeout=20)
    token = httpx.post(f"{running.base}/t/bazhou/api/tokens", json={"username": "handler", "password": PASSWORD}).json()
    handler = {"Authorization": f"Bearer {token['access_token']}"}

    def found():
        answer = httpx.get(f"{running.base}/t/bazhou/api/search", headers=handler, params={"q": word})
        return answer.status_code == 200 and answer.json()["total"] == 1

    wait_until(found, timeout=60, message="the restarted worker to index the petition")
    assert running.child_pid("worker") == new_worker


def test_a_killed_beat_is_replaced_and_a_second_beat_refuses_to_start(running):
    beat = running.child_pid("beat")
    os.kill(beat, signal.SIGKILL)
    new_beat = running.wait_for_new("beat", beat)
    assert _beat_processes(running.data_dir) == [new_beat]

    second = subprocess.run([sys.executable, "-m", "xinfang", "beat", "--loglevel", "WARNING"], env=running.env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == ANOTHER_BEAT_EXIT, second.stderr
    assert "another beat scheduler is running" in second.stderr and "已有一个定时调度进程" in second.stderr
    assert f"pid {new_beat}" in second.stderr  # names the one that holds the lock
    assert _beat_processes(running.data_dir) == [new_beat]
    # The one that runs still sweeps: the heartbeat it leads to is fresh.
    wait_until(lambda: httpx.get(f"{running.base}/healthz").json()["parts"]["background"]["ok"] is True, timeout=30,
               message="a fresh sweep heartbeat")


def test_a_second_run_on_the_same_data_directory_refuses_to_start(running):
    env = dict(running.env, XINFANG_PORT=str(free_port()), XINFANG_EMBEDDED_STORE_PORT=str(free_port()))
    second = subprocess.run([sys.executable, "-m", "xinfang", "run"], env=env, cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1 and "another xinfang run" in second.stderr, second.stderr
    assert f"pid {running.process.pid}" in second.stderr
    assert _up(running.base)  # the first one is untouched


def test_what_the_platform_wrote_under_its_data_directory_is_private(running):
    assert _private_problems(running.data_dir) == []


def test_a_child_that_keeps_dying_is_restarted_with_a_growing_capped_back_off(tmp_path, caplog):
    from xinfang.supervisor import BACKOFF_MAX_SECONDS, ChildSpec, Supervisor, backoff_seconds, status_path

    supervisor = Supervisor(tmp_path)
    supervisor.add(ChildSpec("flaky", "测试进程", lambda: subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])))
    caplog.set_level("WARNING", logger="xinfang.supervisor")
    try:
        supervisor.start("flaky")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            supervisor.tick()
            time.sleep(0.05)
        status = json.loads(status_path(tmp_path).read_text())["children"]["flaky"]
    finally:
        supervisor.stop_all([])
        supervisor.close()
    delays = [float(d) for d in re.findall(r"restart \d+ in ([\d.]+) s", caplog.text)]
    assert delays[:3] == [0.5, 1.0, 2.0], caplog.text
    assert "测试进程（pid" in caplog.text and "exit 3" in caplog.text  # one line, in Chinese and English
    assert status["restarts"] >= 2 and status["last_exit"] == "exit 3"
    assert backoff_seconds(30) == BACKOFF_MAX_SECONDS == 30.0
