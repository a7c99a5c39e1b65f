"""Shared fixtures: a real document-store server, real Redis, a real Celery worker.

Nothing here is mocked. The store is the embedded nx-27017 server started as a
separate process (or the MongoDB named by XINFANG_TEST_MONGODB_URI, so the same
suite can be pointed at real MongoDB); the broker is the machine's Redis; the
worker is ``xinfang worker --beat`` in a child process. Every fixture set has
two tenants (泗阳县教育局纪委 and 巴州纪委, with 库尔勒市纪委 under 巴州).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from xinfang.processes import die_with_parent
from xinfang.settings import Settings
from xinfang.store.embedded import EmbeddedStore

REPO_ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "test-password-0123"


def _cheap_password_hashing() -> None:
    """Account passwords hashed and checked at argon2id's cheapest cost in the test process.

    Production's cost (argon2-cffi's default: 64 MiB, 3 passes, 4 lanes) is about 0.2 s of CPU per hash and per
    login on purpose; the suite logs in thousands of times (every staff and superuser fixture, every crawl, the
    bundles' accounts at each start). Same argon2id, same code path (``hash_password``, ``verify_password``, the
    dummy hash unknown usernames are checked against), only the parameters are small; a hash records its own
    parameters, so a ``xinfang serve`` of the tests checks the accounts made here at the same small cost.
    Production code is unchanged (its hasher is argon2-cffi's default). No test measures login timing.
    XINFANG_TEST_PASSWORD_COST=production keeps production's cost (to measure what this saves).
    """
    if os.environ.get("XINFANG_TEST_PASSWORD_COST") == "production":
        return
    from argon2 import PasswordHasher

    from xinfang.auth import passwords

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("xinfang-no-such-account")


_cheap_password_hashing()
REDIS_URL = os.environ.get("XINFANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


async def eventually(probe, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    """Await ``probe()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


async def in_one_window(window_seconds: int, needs: float = 15.0) -> None:
    """Rate limits count in fixed windows (xinfang/ratelimit.py): wait, if need be, until the current window has
    ``needs`` seconds left, so the burst a test sends next is counted in one window (a burst across the boundary
    starts counting again and the expected 429 never comes: one CI run of the Open311 limit)."""
    left = window_seconds - time.time() % window_seconds
    if left < needs:
        await asyncio.sleep(left + 0.1)


@pytest.fixture(scope="session")
def store_uri(tmp_path_factory):
    external = os.environ.get("XINFANG_TEST_MONGODB_URI")
    if external:
        yield external
        return
    store = EmbeddedStore(tmp_path_factory.mktemp("store"), free_port()).start()
    _cpu_processes["store"] = store.process.pid
    # The whole suite shares two cores with a store, workers and browsers per test process: the store may take longer
    # than the platform's 1.5 s (store/client.py) to answer, which is load here, not an outage to report as 503.
    yield store.uri + "&serverSelectionTimeoutMS=20000&connectTimeoutMS=20000"
    store.stop()


@pytest.fixture(scope="session")
def redis_available():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the tests at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def settings(tmp_path_factory, store_uri, redis_available) -> Settings:
    run_id = uuid.uuid4().hex[:10]
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        mongodb_uri=store_uri,
        mongodb_database=f"xinfang_test_{run_id}",
        broker_url=redis_available,
        task_queue=f"xinfang-test-{run_id}",  # our own queue: tests never eat another run's tasks
        secret_key="test-secret-key-" + run_id * 3,
        sweep_interval_seconds=1.0,
        event_lease_seconds=3.0,
        bootstrap_password=PASSWORD,
        log_level="WARNING",
        # Tests log superusers in with a password; tests/test_accounts.py turns two-factor on where it is tested.
        superuser_totp_required=False,
        # Above the per-address login limit (10), so the tests of the limits (test_auth.py, test_login_limits.py)
        # see the limits; tests/test_accounts.py tests the default lockout (5) with the setting changed there.
        login_lockout_failures=11,
        # Outbound webhooks (exchange/) reach the tests' own receivers on 127.0.0.1, and retry within seconds.
        webhook_allow_private_addresses=True,
        webhook_retry_seconds=1.0,
        # The store answers in seconds while the suite's two processes and their workers share two cores: an unknown
        # slug (not remembered) waited 1 s and answered 503 in the API fuzz.
        tenant_lookup_timeout_seconds=10.0,
    )


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(settings.to_env())
    return env


_background_processes: dict[str, subprocess.Popen] = {}
_background_log: list[Path] = []
_first_failure: list[str] = []  # the background processes as they were when the first test failed


def _background_state() -> list[str]:
    from xinfang.beat_lock import read_beat_record

    lines = []
    for name, process in _background_processes.items():
        code = process.poll()
        lines.append(f"{name} pid {process.pid}: " + ("running" if code is None else f"exited with {code}"))
    for log_path in _background_log:
        record = read_beat_record(log_path.parent)
        last = float((record or {}).get("sent") or (record or {}).get("started") or 0)
        lines.append(f"beat record: {record}" + (f" (last sent {time.time() - last:.0f} s ago)" if record else ""))
    return lines


# XINFANG_TEST_CPU_LOG=<file>: one line per test with its wall time and the CPU seconds it cost this process, the store
# and the background processes (for finding what makes the suite slow; a loaded machine stretches wall time, not CPU).
_CPU_LOG = os.environ.get("XINFANG_TEST_CPU_LOG")
_cpu_processes: dict[str, int] = {}


def _cpu_seconds(pid: int, with_children: bool = True) -> float:
    """CPU of the process and (a Celery worker's pool, a browser's renderers) of its living children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if with_children else []
    except (OSError, IndexError, ValueError):
        return 0.0
    return own + sum(_cpu_seconds(int(child), with_children) for child in children)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _CPU_LOG:
        yield
        return
    # "all": this process and every process under it (store, worker pool, indexer, beat, web server, browser)
    pids = {"all": os.getpid(), **_cpu_processes, **{name: p.pid for name, p in _background_processes.items()}}
    before, began = {name: _cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
    yield
    spent = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    with open(_CPU_LOG, "a") as log:
        log.write(f"{item.nodeid}\t{time.monotonic() - began:.2f}\t" + " ".join(f"{name}={cpu:.2f}" for name, cpu in spent.items()) + "\n")


def pytest_runtest_logreport(report):
    if report.failed and not _first_failure and _background_processes:
        _first_failure.extend([f"when {report.nodeid} failed ({report.when}):", *_background_state()])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """When a run fails, say whether the session's worker, beat and indexer were alive, with their log's errors.

    A test waiting for a sweep or for /healthz fails far from the cause when a background process died;
    this section names it, in CI's output too.
    """
    if not _first_failure:
        return
    write = terminalreporter.write_line
    terminalreporter.section("background processes of this run")
    for line in _first_failure:
        write(line)
    for log_path in _background_log:
        try:
            lines = log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        notable = [line for line in lines if any(w in line for w in ("ERROR", "CRITICAL", "Traceback", "Error", "exited", "signal"))]
        write(f"{log_path}: {len(lines)} lines, {len(notable)} notable; the last 40:")
        for line in notable[-40:]:
            write("  " + line[:300])


@pytest.fixture(scope="session")
def worker(settings):
    """A real Celery worker, the search indexer and the beat, each its own process as `xinfang run` and k8s/
    start them (never `worker --beat`), on this run's own Redis queues."""
    log_path = settings.data_dir / "worker.log"
    commands = {
        "worker": ["worker", "--concurrency", "1"],
        "indexer": ["indexer"],  # the one writer of the search indexes, on its own queue (concurrency 1)
        "beat": ["beat"],
    }
    with open(log_path, "ab") as log:
        started = {
            name: subprocess.Popen([sys.executable, "-m", "xinfang", *argv, "--loglevel", "WARNING"],
                                   env=child_env(settings), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=die_with_parent)
            for name, argv in commands.items()
        }
    _background_processes.update(started)
    _background_log.append(log_path)
    yield started["worker"]
    for child in started.values():
        child.terminate()
    for child in started.values():
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    redis.Redis.from_url(REDIS_URL).delete(settings.task_queue, settings.search_queue)


@pytest.fixture(scope="session")
async def app(settings, worker):
    from xinfang.app import create_app
    from xinfang.tenancy.bundles import BundleLoader, discover

    application = create_app(settings)
    # Quart gives startup 6 s by default; on a loaded CI machine connecting to the store and reading the plugins can take longer.
    async with application.test_app_class(application, startup_timeout=120, shutdown_timeout=60) as test_app:
        platform_bundle, bundles = discover(REPO_ROOT / "tenants")
        await BundleLoader(PASSWORD).load(platform_bundle, bundles)
        yield test_app


@pytest.fixture
def client(app):
    return app.test_client()


class Tenants:
    """The two tenants every test has, plus the child tenant under 巴州."""

    A = "siyang-edu"
    B = "bazhou"
    CHILD_OF_B = "korla"


@pytest.fixture(scope="session")
def tenants():
    return Tenants


async def login_token(client, tenant: str | None, username: str, password: str = PASSWORD) -> dict:
    path = f"/t/{tenant}/api/tokens" if tenant else "/api/platform/tokens"
    response = await client.post(path, json={"username": username, "password": password})
    assert response.status_code == 200, await response.get_data(as_text=True)
    token = (await response.get_json())["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin_a(client, tenants):
    return await login_token(client, tenants.A, "admin")


@pytest.fixture
async def admin_b(client, tenants):
    return await login_token(client, tenants.B, "admin")


@pytest.fixture
async def superuser(client):
    return await login_token(client, None, "org-reviewer")


def serve_in_background(settings: Settings, log_dir: Path, **extra_env: str):
    """Generator for a fixture: a real ``xinfang serve`` on a free port; yields its base URL once /healthz answers 200."""
    import httpx

    port = free_port()
    env = child_env(settings)
    env["XINFANG_PORT"] = str(port)
    env.update(extra_env)
    with open(log_dir / "serve.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "xinfang", "serve"], env=env, cwd=REPO_ROOT,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    base = f"http://127.0.0.1:{port}"

    def up():  # the web answering and its store reachable: what a page test needs (not the beat's health)
        try:
            return httpx.get(f"{base}/healthz?parts=web,store", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=120, message="the web server")  # a loaded CI machine can take a minute to start it
    yield base
    process.terminate()
    process.wait(timeout=20)


# Browser tests: one real `xinfang serve` and one Debian Chromium (never a downloaded one) for the whole run;
# each test opens its own browser context (cookies, viewport, locale), so tests share no session.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server(settings, app, worker, tmp_path_factory):
    yield from serve_in_background(settings, tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
async def _chromium():
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required (./dev test installs it)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def browser(_chromium):
    """The run's Chromium; contexts a test leaves open are closed after it."""
    before = set(_chromium.contexts)
    yield _chromium
    for context in set(_chromium.contexts) - before:
        await context.close()
