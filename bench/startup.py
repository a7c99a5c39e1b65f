"""Start-up time and memory of ``xinfang run``, next to a bare baseline measured in the same script.

Baseline: the unavoidable parts alone, started the same way: the nx-27017 store
process and a one-route Quart app under Hypercorn. Ours: the whole platform
(store, worker with beat, web), cold (fresh data directory: loads the demo
bundles) and warm (second start on the same data).

    .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path


from _common import free_port, wait_http  # bench/ is on sys.path when a script here runs

REPO = Path(__file__).resolve().parents[1]


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total_kib, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(current, []))
    return total_kib / 1024


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def measure_platform(data_dir: Path) -> tuple[float, float]:
    port, store_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(XINFANG_DATA_DIR=str(data_dir), XINFANG_PORT=str(port), XINFANG_EMBEDDED_STORE_PORT=str(store_port),
               XINFANG_BOOTSTRAP_PASSWORD="bench-password-1", XINFANG_LOG_LEVEL="WARNING")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "xinfang", "run"], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/t/siyang-edu/api/tenant", timeout=90)
        seconds = time.monotonic() - started
        time.sleep(5)  # let the worker processes settle before reading memory
        return seconds, tree_rss_mib(process.pid)
    finally:
        stop(process)


BARE_APP = textwrap.dedent(
    """
    import asyncio, sys
    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from quart import Quart
    app = Quart("bare")
    @app.get("/")
    async def index():
        return {"ok": True}
    config = Config(); config.bind = [f"127.0.0.1:{sys.argv[1]}"]; config.accesslog = None
    asyncio.run(serve(app, config))
    """
)


def measure_baseline(data_dir: Path) -> tuple[float, float]:
    from xinfang.store.embedded import EmbeddedStore

    port = free_port()
    started = time.monotonic()
    store = EmbeddedStore(data_dir, free_port()).start()
    web = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=90)
        seconds = time.monotonic() - started
        time.sleep(5)
        return seconds, tree_rss_mib(web.pid) + tree_rss_mib(store.process.pid)
    finally:
        stop(web)
        store.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="baseline and one cold start only (what the test suite runs)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_s, base_mib = measure_baseline(tmp / "baseline")
        rows.append(("xinfang run, cold (loads bundles)", *measure_platform(tmp / "platform")))
        if not args.once:
            rows.append(("xinfang run, warm", *measure_platform(tmp / "platform")))
    print(f"{'':34} {'seconds':>8} {'RSS MiB':>8} {'time x':>7} {'mem x':>6}")
    print(f"{'baseline: store + bare Quart':34} {base_s:8.2f} {base_mib:8.0f} {1:7.2f} {1:6.2f}")
    for name, seconds, mib in rows:
        print(f"{name:34} {seconds:8.2f} {mib:8.0f} {seconds / base_s:7.2f} {mib / base_mib:6.2f}")


if __name__ == "__main__":
    main()
