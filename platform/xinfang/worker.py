"""Celery: the app factory and the per-process runtime that runs async task code.

Celery 5.7 has no asyncio pool, so each worker process owns one event loop,
created in that process (after fork) together with its own AsyncMongoClient
and Beanie initialisation. Tasks carry ids, never documents; they are
``acks_late`` and idempotent, and their progress lives on the documents, so a
message lost with a killed worker is found again by the sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from celery import Celery
from celery.signals import beat_embedded_init

from .events import Handover
from .settings import Settings

log = logging.getLogger(__name__)

DISPATCH_EVENT = "xinfang.events.dispatch"  # one event id (messages sent by earlier versions)
DISPATCH_EVENTS = "xinfang.events.dispatch_batch"  # a batch of event ids
MATERIALISE = "xinfang.events.materialise"  # [carrier kind, document id]: its carried events, then dispatch them
SWEEP = "xinfang.sweep"


def _create_exchange_tables(control: Path, exchanges: list[str]) -> None:
    """Kombu's filesystem transport creates an exchange's table with open("wb") and writes it after taking the lock,
    so a second process starting at the same moment may read the empty file and die (JSONDecodeError; seen when
    worker and indexer start together). Each table is created here whole, before any process binds: written to a
    temporary file and linked into place, which fails harmlessly if another process did it first."""
    for exchange in exchanges:
        target = control / f"{exchange}.exchange"
        if target.exists():
            continue
        temporary = control / f".{exchange}.{os.getpid()}.tmp"
        temporary.write_text("[]")
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)


def make_celery(settings: Settings, pm=None) -> Celery:
    from .observability.metrics import setup_metrics
    from .observability.tasks import install_task_observability

    setup_metrics(settings.data_dir)
    install_task_observability()  # the request id into the tasks sent, and out of them on the worker
    app = Celery("xinfang", set_as_current=False)
    transport_options: dict = {}
    if settings.embedded_broker:
        # Single-machine default: kombu's filesystem transport, nothing to install.
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Exchange tables; kombu's default is ./control, relative to whatever the
            # working directory is, which would mix up every deployment on the host.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        }
        _create_exchange_tables(folder / "control", [settings.task_queue, settings.search_queue, "celery.pidbox", "reply.celery.pidbox"])
        transport_class = "xinfang.embedded_broker:Transport"  # each message renamed into place whole
    else:
        # Must exceed the longest task; deadlines never ride on ETAs (see the sweeper).
        transport_options = {"visibility_timeout": 3600}
        transport_class = None  # the URL's scheme says
    app.conf.update(
        broker_url=settings.effective_broker_url,
        broker_transport=transport_class,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.task_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": timedelta(seconds=settings.sweep_interval_seconds),
                "options": {"expires": max(1.0, settings.sweep_interval_seconds)},
            }
        },
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        beat_scheduler="xinfang.beat_scheduler:SingleBeatScheduler",  # one beat per deployment (a lock file)
    )
    app.xinfang_settings = settings
    _register_tasks(app, pm)
    return app


@beat_embedded_init.connect(weak=False)
def _embedded_beat_dies_with_its_worker(**_) -> None:
    # `worker --beat` forks the beat without a parent-death signal: a worker killed with
    # SIGKILL would leave its beat running, and the restarted worker would start another.
    from .processes import die_with_parent

    die_with_parent()


class WorkerRuntime:
    """What one worker process needs: its loop, its store, its plugins. Made after fork."""

    def __init__(self, settings: Settings, celery_app: Celery):
        self.settings = settings
        self.celery_app = celery_app
        self._pid: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.store = None
        self.pm = None
        self.handover = BrokerHandover(celery_app)
        self._coalesced: dict[tuple, tuple] | None = None

    def _start(self) -> None:
        from .events import configure_dispatch
        from .plugins import document_models, make_plugin_manager
        from .store.cache import configure_caches
        from .store.client import Store

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.pm = make_plugin_manager()
        configure_caches(self.settings)  # the bounds of this process's caches (store/cache.py), before anything is cached
        self.pm.hook.xinfang_configure(settings=self.settings)
        self.store = self.loop.run_until_complete(Store.open(self.settings, document_models(self.pm)))
        configure_dispatch(self.store, self.handover)
        self._pid = os.getpid()  # only once the store is open: a task that found it down tries again
        log.info("worker process %s ready", self._pid)

    def run(self, coroutine_factory, *args):
        if self._pid != os.getpid():  # first task in this (possibly forked) process
            self._start()
        return self.loop.run_until_complete(coroutine_factory(self, *args))

    async def enqueue(self, event_ids: list[str]) -> None:
        await self.handover.events(event_ids)

    @property
    def in_batch(self) -> bool:
        """Handlers of a batch of events are running: what they ``send`` goes out once, after all of them."""
        return self._coalesced is not None

    async def send(self, name: str, args: list, queue: str | None = None) -> None:
        """Send a plugin's task (ids only) from inside a task or a sweep.

        While a batch of events is handled, identical messages are sent once, when
        the batch's handlers are done (``coalesced_sends``): fifty petitions of one
        tenant ask for one search drain, not fifty. Plugin tasks are idempotent and
        read their work from the store, so one message does what fifty would.
        """
        if self._coalesced is not None:
            self._coalesced.setdefault((name, json.dumps(args, sort_keys=True, default=str), queue), (name, args, queue))
            return
        await send_task_async(self.celery_app, name, args, queue)

    @contextlib.asynccontextmanager
    async def coalesced_sends(self):
        if self._coalesced is not None:  # already inside a batch
            yield
            return
        self._coalesced = {}
        try:
            yield
        finally:
            messages, self._coalesced = list(self._coalesced.values()), None
            for name, args, queue in messages:  # a failure here fails the batch: its events stay pending
                await send_task_async(self.celery_app, name, args, queue)


_current_runtime: WorkerRuntime | None = None


def current_runtime() -> WorkerRuntime | None:
    """This worker process's runtime (None outside a worker): lets an event handler send follow-up tasks."""
    return _current_runtime


def _register_tasks(app: Celery, pm=None) -> None:
    from . import dispatch

    global _current_runtime
    runtime = WorkerRuntime(app.xinfang_settings, app)
    app.xinfang_runtime = runtime
    _current_runtime = runtime
    options = dict(acks_late=True, reject_on_worker_lost=True, ignore_result=True)

    @app.task(name=DISPATCH_EVENT, **options)
    def dispatch_event(event_id: str) -> str:
        return runtime.run(dispatch.dispatch_event, event_id)

    @app.task(name=DISPATCH_EVENTS, **options)
    def dispatch_events(event_ids: list[str]) -> None:
        runtime.run(dispatch.dispatch_events, event_ids)

    @app.task(name=MATERIALISE, **options)
    def materialise(kind: str, document_id: str) -> None:
        runtime.run(dispatch.materialise_and_dispatch, kind, document_id)

    @app.task(name=SWEEP, **options)
    def sweep() -> None:
        from .observability.metrics import timed_sweep

        with timed_sweep():
            runtime.run(dispatch.sweep)

    from .plugins import make_plugin_manager

    (pm or make_plugin_manager()).hook.xinfang_celery_tasks(celery_app=app, runtime=runtime)


# Threads of their own: in the web process the default executor is busy with argon2 receipt hashes
# (tens of milliseconds each), and a hand-over queued behind them would hold the answer up for nothing.
# One pool per process (a forked worker process must not inherit its parent's dead threads).
_broker_threads: tuple[int, ThreadPoolExecutor] | None = None


def _broker_executor() -> ThreadPoolExecutor:
    global _broker_threads
    if _broker_threads is None or _broker_threads[0] != os.getpid():
        _broker_threads = (os.getpid(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="broker-send"))
    return _broker_threads[1]


async def send_task_async(celery_app: Celery, name: str, args: list, queue: str | None = None) -> None:
    """Celery's send is blocking I/O; keep it off the web server's event loop.

    Sent in this context (run_in_executor would not carry it): the request id goes into the task's headers."""
    await asyncio.get_running_loop().run_in_executor(
        _broker_executor(), contextvars.copy_context().run, functools.partial(celery_app.send_task, name, args=args, queue=queue))


class BrokerHandover(Handover):
    """Hands ids to Celery: events in batches of ``dispatch.DISPATCH_BATCH``, a carried document as one message."""

    def __init__(self, celery_app: Celery):
        self.celery_app = celery_app

    async def events(self, event_ids: list[str]) -> None:
        from .dispatch import DISPATCH_BATCH

        for start in range(0, len(event_ids), DISPATCH_BATCH):
            await send_task_async(self.celery_app, DISPATCH_EVENTS, [event_ids[start:start + DISPATCH_BATCH]])

    async def carried(self, kind: str, document_id: str) -> None:
        await send_task_async(self.celery_app, MATERIALISE, [kind, document_id])
