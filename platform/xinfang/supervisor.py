"""The supervisor of ``xinfang run``: start the processes in order, watch them, restart them, stop them in order.

Every part of the single-machine platform (embedded store, worker, indexer,
beat, web server) is a child process of ``xinfang run``, which does nothing
else: it imports none of the platform, so it is small and has nothing to crash
on. A child that dies, however it dies (``kill -9`` included), is reaped at once
(SIGCHLD wakes the loop) and started again after a back-off that doubles with
every early death (0.5 s, 1 s, 2 s ... at most 30 s) and starts over once a
child has run for 30 s. Each restart is a log line in Chinese and English.

Children run in their own sessions, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops them in order (web first, store last); a second
Ctrl-C kills what is left. Each child gets a parent-death signal, so a
``kill -9`` of the supervisor itself takes them down too.

``DATA_DIR/run/status.json`` says what runs (pids, states, restarts), rewritten
on every change; ``/healthz`` reports it. ``DATA_DIR/run/run.lock`` (an flock
held for the supervisor's life) keeps a second ``xinfang run`` off the same data.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .processes import pid_alive, process_argv, signal_name

log = logging.getLogger("xinfang.supervisor")

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0  # a child that ran this long was healthy: its next death restarts quickly again
TICK_SECONDS = 0.5  # readiness checks and due restarts; deaths wake the loop at once

RUN_FOLDER = "run"
STATUS_NAME = "status.json"
LOCK_NAME = "run.lock"


def backoff_seconds(failures: int) -> float:
    """Delay before restart number ``failures`` in a row: 0.5, 1, 2, 4 ... capped."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, failures - 1))


def status_path(data_dir: Path) -> Path:
    return Path(data_dir) / RUN_FOLDER / STATUS_NAME


class SupervisorError(RuntimeError):
    def __init__(self, message: dict[str, str]):
        self.message = message
        super().__init__(message["en"])


@dataclass
class ChildSpec:
    name: str  # store, worker, indexer, beat, web
    zh: str  # its name in Chinese, for log lines
    spawn: Callable[[], subprocess.Popen]
    ready: Callable[[subprocess.Popen], bool] | None = None  # e.g. its port answers; None: ready once started
    stop_timeout: float = 20.0


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen | None = None
    state: str = "stopped"  # starting, running, backoff, stopped
    started_at: float = 0.0  # monotonic
    died_at: float | None = None
    failures: int = 0  # deaths in a row, each within STABLE_AFTER_SECONDS of its start
    restarts: int = 0
    next_start: float = 0.0
    last_exit: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.state in ("starting", "running") else None


class Supervisor:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        (self.data_dir / RUN_FOLDER).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.children: dict[str, Child] = {}
        self.stop_requests = 0
        self._lock_fd: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._saved_signals: dict[int, object] = {}
        self._started_epoch = time.time()

    # -- set-up ----------------------------------------------------------------------------------

    def claim(self) -> None:
        """Take the data directory for this supervisor, or raise: two would run two stores on the same files."""
        fd = os.open(self.data_dir / RUN_FOLDER / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 100, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SupervisorError({
                "zh": f"另一个 xinfang run（pid {holder}）正在使用数据目录 {self.data_dir}",
                "en": f"another xinfang run (pid {holder}) is using the data directory {self.data_dir}",
            }) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def install_signals(self) -> None:
        """Ctrl-C and SIGTERM ask for an orderly stop (twice: at once); SIGCHLD wakes the loop to reap."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._saved_signals[signum] = signal.signal(signum, self._on_stop_signal)
        self._saved_signals[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)
        self._saved_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

    def restore_signals(self) -> None:
        if not self._saved_signals:
            return
        for signum, handler in self._saved_signals.items():
            signal.signal(signum, handler)
        self._saved_signals.clear()
        signal.set_wakeup_fd(self._saved_wakeup)

    def _on_stop_signal(self, signum, frame) -> None:
        self.stop_requests += 1

    @property
    def stopping(self) -> bool:
        return self.stop_requests > 0

    def add(self, spec: ChildSpec) -> Child:
        self.children[spec.name] = Child(spec)
        return self.children[spec.name]

    # -- starting --------------------------------------------------------------------------------

    def start(self, name: str, *, raise_errors: bool = False) -> bool:
        """Spawn a child now. A spawn that fails is retried after the back-off (or raised, if asked)."""
        child = self.children[name]
        try:
            child.process = child.spec.spawn()
        except Exception as exc:
            if raise_errors:
                raise
            self._schedule_restart(child, f"could not start: {exc}")
            return False
        child.state = "starting" if child.spec.ready else "running"
        child.started_at = time.monotonic()
        log.info("已启动 %s / started %s (pid %s)", child.spec.zh, name, child.process.pid)
        self._write_status()
        return True

    def wait_ready(self, name: str, timeout: float) -> bool:
        """Supervise until ``name`` is ready (True), a stop is asked for, or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            self.tick()
            if self.children[name].state == "running":
                return True
            self._sleep(0.05)
        return False

    def run_once(self, argv: list[str], **popen_kwargs) -> int | None:
        """Run a one-off command (loading the tenants) while supervising; None if a stop interrupted it."""
        process = subprocess.Popen(argv, **popen_kwargs)
        while process.poll() is None:
            if self.stopping:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                return None
            self.tick()
            self._sleep(0.1)
        return process.returncode

    # -- watching --------------------------------------------------------------------------------

    def supervise(self) -> None:
        """Watch every child until a stop is asked for."""
        while not self.stopping:
            self.tick()
            self._sleep(self._next_tick_in())

    def _next_tick_in(self) -> float:
        """Soon while a child is starting or due for a restart; deaths wake the loop anyway."""
        now, wait = time.monotonic(), TICK_SECONDS
        for child in self.children.values():
            if child.state == "starting":
                wait = min(wait, 0.1)
            elif child.state == "backoff":
                wait = min(wait, max(0.0, child.next_start - now))
        return wait

    def tick(self) -> None:
        now = time.monotonic()
        for name, child in self.children.items():
            if child.state in ("starting", "running"):
                code = child.process.poll()  # reaps it: no zombie keeps its pid "alive"
                if code is not None:
                    self._on_death(child, code)
                elif child.state == "starting" and child.spec.ready(child.process):
                    child.state = "running"
                    if child.restarts:
                        down = now - child.died_at if child.died_at else 0.0
                        log.warning("%s 已恢复（停止 %.1f 秒）/ %s is back after %.1f s down (pid %s)",
                                    child.spec.zh, down, name, down, child.process.pid)
                    self._write_status()
            if child.state == "backoff" and now >= child.next_start and not self.stopping:
                child.restarts += 1
                self.start(name)

    def _on_death(self, child: Child, code: int) -> None:
        how = signal_name(code)
        self._schedule_restart(child, how, pid=child.process.pid)

    def _schedule_restart(self, child: Child, how: str, pid: int | None = None) -> None:
        now = time.monotonic()
        if child.state in ("starting", "running") and now - child.started_at >= STABLE_AFTER_SECONDS:
            child.failures = 0
        if child.state == "running" or child.died_at is None:  # the outage starts here; failed starts belong to it
            child.died_at = now
        child.failures += 1
        delay = backoff_seconds(child.failures)
        child.state, child.next_start, child.last_exit = "backoff", now + delay, how
        name = child.spec.name
        log.warning("%s（pid %s）意外退出：%s；%.1f 秒后第 %d 次重启 / %s (pid %s) died: %s; restart %d in %.1f s",
                    child.spec.zh, pid or "-", how, delay, child.restarts + 1, name, pid or "-", how, child.restarts + 1, delay)
        self._write_status()

    def _sleep(self, seconds: float) -> None:
        """Sleep, woken early by any signal (a child's death, Ctrl-C)."""
        try:
            readable, _, _ = select.select([self._wake_r], [], [], seconds)
        except InterruptedError:
            return
        if readable:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass

    # -- stopping --------------------------------------------------------------------------------

    def stop_all(self, order: list[str]) -> None:
        """Stop the children in ``order`` (those not named last), each with SIGTERM, then SIGKILL."""
        names = [n for n in order if n in self.children] + [n for n in self.children if n not in order]
        for name in names:
            self._stop_child(self.children[name])
        self._write_status()

    def _stop_child(self, child: Child) -> None:
        process, was = child.process, child.state
        child.state = "stopped"
        if process is None or was not in ("starting", "running") or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        asked_at = self.stop_requests
        deadline = time.monotonic() + child.spec.stop_timeout
        while process.poll() is None:
            if time.monotonic() >= deadline or self.stop_requests > max(1, asked_at):
                log.warning("%s 未按时停止，强制结束 / %s did not stop in time; killing it", child.spec.zh, child.spec.name)
                process.kill()
                process.wait()
                break
            self._sleep(0.1)
        log.info("已停止 %s / stopped %s (%s)", child.spec.zh, child.spec.name, signal_name(process.returncode))

    def close(self) -> None:
        self.restore_signals()
        try:
            status_path(self.data_dir).unlink()
        except FileNotFoundError:
            pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    # -- what runs -------------------------------------------------------------------------------

    def _write_status(self) -> None:
        now_mono, now = time.monotonic(), time.time()
        children = {}
        for name, child in self.children.items():
            children[name] = {
                "state": child.state,
                "pid": child.pid,
                "restarts": child.restarts,
                "last_exit": child.last_exit,
                "since": now - (now_mono - child.started_at) if child.state in ("starting", "running") else None,
                "next_start_in": round(max(0.0, child.next_start - now_mono), 1) if child.state == "backoff" else None,
            }
        path = status_path(self.data_dir)
        temporary = path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps({"supervisor_pid": os.getpid(), "started": self._started_epoch,
                                             "updated": now, "children": children}))
            os.replace(temporary, path)
        except OSError:  # a full disk must not stop the supervision itself
            log.warning("could not write %s", path, exc_info=True)


def read_status(data_dir: Path) -> dict | None:
    """What ``xinfang run`` says runs, if a live supervisor wrote it (a file left by a dead one is ignored)."""
    try:
        status = json.loads(status_path(data_dir).read_text())
        pid = int(status["supervisor_pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    argv = process_argv(pid)
    if not pid_alive(pid) or "run" not in argv or not any("xinfang" in part for part in argv):
        return None
    return status
