"""Shared set-up of the submission benchmarks: store, tenants, web process, clean-up."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SERVER = Path(__file__).resolve().parent / "_server.py"
TENANT = "siyang-edu"
SUBMIT_PATH = f"/t/{TENANT}/api/petitions/submit"
BARE_PATH = f"/t/{TENANT}/bench/bare"
LOOKUP_PATH = f"/t/{TENANT}/api/receipts/lookup"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_env(data_dir: Path, store_port: int, web_port: int, queue: str) -> dict[str, str]:
    """The environment of every platform process of one benchmark run (no other XINFANG_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(
        XINFANG_DATA_DIR=str(data_dir),
        XINFANG_EMBEDDED_STORE_PORT=str(store_port),
        XINFANG_HOST="127.0.0.1",
        XINFANG_PORT=str(web_port),
        XINFANG_BROKER_URL=REDIS_URL,
        XINFANG_TASK_QUEUE=queue,
        XINFANG_BOOTSTRAP_PASSWORD="bench-password-1",
        XINFANG_LOG_LEVEL="WARNING",
    )
    return env


def load_tenants(env: dict[str, str]) -> float:
    """`xinfang load-tenants` against the running store (it talks to the store already on the port)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "xinfang", "load-tenants", str(REPO / "tenants")],
                            env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"load-tenants failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started


def start_server(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    from xinfang.processes import die_with_parent

    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, str(SERVER)], env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def wait_http(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"web process exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop_process(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """utime + stime of every thread of a process, by thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy (not idle, not waiting for I/O), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def delete_queue(queue: str) -> list[str]:
    """Remove the Celery queue (and kombu's binding set) of this run from the machine's Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [queue, f"_kombu.binding.{queue}"] + [k.decode() for k in client.scan_iter(f"*{queue}*")]
    keys = sorted(set(keys))
    existing = [k for k in keys if client.exists(k)]
    if existing:
        client.delete(*existing)
    client.close()
    return existing


def _normalised(text: str) -> str:
    """Ids, ports and hex names replaced, so that one kind of error counts as one line."""
    text = re.sub(r"[0-9a-f]{8,}", "<hex>", text)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)


def web_log_summary(path: Path) -> tuple[int, list[tuple[str, int]]]:
    """Distinct error lines of the web log (tracebacks shortened to their last line), with counts."""
    if not path.exists():
        return 0, []
    lines = path.read_text(errors="replace").splitlines()
    kinds: Counter = Counter()
    for i, line in enumerate(lines):
        if any(level in line for level in (" ERROR ", " WARNING ", " CRITICAL ")):
            text = re.sub(r"^\S+ \S+ ", "", line)  # drop the timestamp
            kinds[_normalised(text)[:160]] += 1
        elif line and not line.startswith((" ", "Traceback", "During handling", "The above exception")) and i > 0 and lines[i - 1].startswith("  "):
            kinds["  -> " + _normalised(line)[:200]] += 1
    return sum(kinds.values()), kinds.most_common(15)


PETITION_CONTENT = (
    "某小学以资料费名义向每名学生收取 200 元，未开具收据，家长多次询问无果。"
    "据了解，收费由学校教务处统一组织，时间为本学期开学第二周，涉及三至六年级约四百名学生。"
    "请求有关部门核实收费依据并予以纠正。"
)


def petition_answers(tag: str) -> dict:
    """A valid anonymous petition (form petition v1: title, category, content)."""
    return {"title": "学校违规收取资料费", "category": "integrity", "content": f"{PETITION_CONTENT} 编号 {tag}"}


def petition_body(tag: str) -> dict:
    return {"form": "petition", "anonymous": True, "answers": petition_answers(tag)}


@asynccontextmanager
async def fresh_store(prefix: str, database: str):
    """A temporary data directory with nx-27017 on a free port, opened as the platform opens it (Beanie bound to
    every plugin's documents); yields the data directory, and removes it all afterwards."""
    import logging
    import shutil
    import tempfile

    from xinfang.plugins import document_models, make_plugin_manager
    from xinfang.settings import Settings
    from xinfang.store.client import Store
    from xinfang.store.embedded import EmbeddedStore

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    try:
        settings = Settings(data_dir=data_dir, mongodb_uri=store.uri, mongodb_database=database, log_level="WARNING")
        opened = await Store.open(settings, document_models(make_plugin_manager()))
        try:
            yield data_dir
        finally:
            await opened.close()
    finally:
        logging.getLogger("xinfang.store.embedded").setLevel(logging.ERROR)
        store.stop(timeout=3)
        shutil.rmtree(data_dir, ignore_errors=True)
