"""The web process's side: a few long-lived template workers, each render under a hard time limit.

A render is handed to a worker process through pipes and awaited from the event
loop through a small thread pool of the pool's own (one thread per worker), so
the loop never blocks. A worker that does not answer in time is killed (SIGKILL)
and reaped; the next render starts a fresh one. Nothing starts at import: the
first render creates the pool, ``shutdown_template_pool`` (the web app's
after-serving hook) and ``atexit`` stop it. A process forked after the pool was
created (Celery's pool children) never touches the parent's workers: pools are
kept per process id.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .frames import FrameTimeout, FrameTooLarge, encode_frame, read_frame_until
from .limits import DEFAULT_BUDGET, Budget, TemplateRefused

GRACE_SECONDS = 0.5  # after the worker's own timer has had its chance, it is killed
START_SECONDS = 15.0  # a fresh worker says it is ready within this (a loaded machine is slow to start Python)
QUEUE_SECONDS = 10.0  # a render waits at most this long for a free worker, then the caller hears "busy"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the xinfang package


class _Worker:
    def __init__(self, budget: Budget):
        # No secrets (XINFANG_*) in its environment: it runs other people's code.
        env = {"PYTHONPATH": _PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xinfang.sandbox.worker", str(budget.memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=_PACKAGE_ROOT, close_fds=True, bufsize=0,
        )
        try:
            ready = read_frame_until(self.process.stdout.fileno(), time.monotonic() + START_SECONDS, 1024)
        except (FrameTimeout, FrameTooLarge, EOFError, ValueError):
            ready = None
        if not (isinstance(ready, dict) and ready.get("ready")):
            self.kill()
            raise TemplateRefused("busy", "a template worker did not start")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict, deadline: float, max_bytes: int) -> dict:
        data = memoryview(encode_frame(request))
        while data:  # a blocking pipe write may still come back short
            data = data[os.write(self.process.stdin.fileno(), data):]
        return read_frame_until(self.process.stdout.fileno(), deadline, max_bytes)

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            pipe.close()

    def stop(self) -> None:
        """Politely: the worker exits when its pipe closes; killed if it does not within a second."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class TemplatePool:
    def __init__(self, size: int, budget: Budget = DEFAULT_BUDGET):
        self.size, self.budget = size, budget
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="xinfang-template")
        self._closed = False

    async def render(self, source: str, context: dict) -> str:
        """The template's output; raises TemplateRefused. The event loop only awaits."""
        if len(source) > self.budget.source_chars:
            raise TemplateRefused("too_long", f"longer than {self.budget.source_chars} characters")
        job = asyncio.get_running_loop().run_in_executor(self._executor, self._render_blocking, source, context, time.monotonic())
        try:
            return await asyncio.wait_for(job, QUEUE_SECONDS + START_SECONDS + self.budget.seconds + GRACE_SECONDS)
        except TimeoutError:
            raise TemplateRefused("busy", "no template worker was free in time") from None

    def _render_blocking(self, source: str, context: dict, queued_at: float) -> str:
        if self._closed or time.monotonic() - queued_at > QUEUE_SECONDS:
            raise TemplateRefused("busy", "no template worker was free in time")
        worker = self._checkout()
        request = {"source": source, "context": context, "max_output": self.budget.output_chars, "seconds": self.budget.seconds}
        # JSON may escape a character into six bytes; anything longer is a worker gone wrong.
        max_bytes = 6 * self.budget.output_chars + 65536
        try:
            answer = worker.ask(request, time.monotonic() + self.budget.seconds + GRACE_SECONDS, max_bytes)
        except FrameTimeout:
            self._discard(worker)
            raise TemplateRefused("timeout", f"ran longer than {self.budget.seconds} s") from None
        except FrameTooLarge:
            self._discard(worker)
            raise TemplateRefused("output", f"more than {self.budget.output_chars} characters of output") from None
        except (EOFError, OSError, ValueError):
            self._discard(worker)
            raise TemplateRefused("crashed", "the template worker died while rendering") from None
        except BaseException:
            self._discard(worker)
            raise
        if answer.get("recycle"):
            self._discard(worker)
        else:
            self._checkin(worker)
        if "error" in answer:
            error = answer["error"]
            raise TemplateRefused(error.get("kind", "runtime"), error.get("detail", ""), error.get("lineno"))
        return answer["html"]

    def _checkout(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                self._workers.discard(worker)
                worker.kill()
        worker = _Worker(self.budget)  # outside the lock: starting Python takes a moment
        with self._lock:
            self._workers.add(worker)
        return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.kill()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers]

    def close(self) -> None:
        if os.getpid() != self._pid:  # inherited across fork: the workers are the parent's
            return
        with self._lock:
            self._closed = True
            workers, self._idle, self._workers = list(self._workers), [], set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.stop()


_pools: dict[int, TemplatePool] = {}
_pools_lock = threading.Lock()
_hooks_registered = False


def _forget_inherited_pools() -> None:
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


def template_pool() -> TemplatePool:
    """This process's pool, created on first use."""
    global _hooks_registered
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            if not _hooks_registered:
                os.register_at_fork(after_in_child=_forget_inherited_pools)
                atexit.register(shutdown_template_pool)
                _hooks_registered = True
            pool = _pools[pid] = TemplatePool(size=max(1, min(2, os.cpu_count() or 1)))
        return pool


async def render_untrusted(source: str, context: dict) -> str:
    """Render a tenant's template in the sandbox, within DEFAULT_BUDGET; raises TemplateRefused."""
    return await template_pool().render(source, context)


def shutdown_template_pool() -> None:
    """Stop this process's workers (a later render starts new ones)."""
    with _pools_lock:
        pool = _pools.pop(os.getpid(), None)
    if pool is not None:
        pool.close()
