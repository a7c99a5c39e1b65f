"""How fast a backlog of pending events drains after a restart, next to the bare handler work.

The situation of issue 10: events were written but never handed over (broker down,
worker killed, store restarted), so after a restart the beat sweeper has to find
them and the workers have to run every plugin on each. 520 of them once took
about 13 minutes (1.5 a second).

Set-up: a temporary data directory, the embedded store (nx-27017) as a child of
this script, the demo tenants loaded in-process, and N real petitions submitted
through ``do_submit_petition`` with no broker configured (``configure_dispatch(store,
None)``: every hand-over is lost) and dated an hour ago, so every lease has run out.
Whatever the platform keeps pending for them (``OutboxEvent`` rows, events embedded
in the petitions) is left as a crash would leave it.

* **ours**: ``xinfang worker --beat`` is started as ``xinfang run`` starts it (the
  single-machine default: kombu's filesystem broker, the worker also consumes the
  search queue, ``--concurrency 2``; ``--broker redis`` uses the machine's Redis and
  a separate ``xinfang indexer`` instead). The clock runs from the worker's start
  until nothing is pending any more (no pending ``OutboxEvent``, no petition with an
  event not yet materialised); the drain rate is also given from the first event
  done, which leaves out the wait for the first beat tick.
* **bare** (baseline, same run, a second set of N petitions): the work no dispatcher
  can avoid, in this process, one event after another: each ``petition.submitted``
  event is handed to every enabled plugin's ``xinfang_handle_event`` (the same hook
  implementations the worker runs) and marked done with one update. No broker, no
  sweeper, no claiming, no concurrency.

    .venv/bin/python bench/event_drain.py                 # 520 events each, filesystem broker
    .venv/bin/python bench/event_drain.py --events 2000 --broker redis
    .venv/bin/python bench/event_drain.py --tiny          # 20 events, 1 s sweeps: what the tests run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bson import ObjectId

from _common import PETITION_CONTENT, REDIS_URL, REPO, TENANT, cpu_seconds, delete_queue, free_port

PASSWORD = "bench-password-1"
GOAL_PER_SECOND = 50.0


def _settings(data_dir: Path, store_uri: str, broker: str, sweep_seconds: float, lease_seconds: float, queue: str):
    from xinfang.settings import Settings

    return Settings(
        data_dir=data_dir, mongodb_uri=store_uri, mongodb_database="xinfang",
        broker_url=REDIS_URL if broker == "redis" else None, task_queue=queue,
        secret_key="bench-secret-key-" + "x" * 32, bootstrap_password=PASSWORD,
        sweep_interval_seconds=sweep_seconds, event_lease_seconds=lease_seconds, log_level="WARNING",
    )


def _child_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(settings.to_env())
    return env


async def _open(settings):
    from xinfang.plugins import document_models
    from xinfang.events import configure_dispatch
    from xinfang.plugins import make_plugin_manager
    from xinfang.store.client import Store

    pm = make_plugin_manager()
    store = await Store.open(settings, document_models(pm))
    try:  # loading the bundles appends role grants to the audit log, which needs its keys
        from xinfang.audit.context import configure_audit
    except ImportError:  # a platform from before the keyed audit log
        pass
    else:
        configure_audit(settings)
    configure_dispatch(store, None)  # every hand-over to the broker is lost, as in a crash
    return store, pm


async def _load_tenants() -> None:
    from xinfang.tenancy.bundles import BundleLoader, discover

    platform_bundle, bundles = discover(REPO / "tenants")
    await BundleLoader(PASSWORD).load(platform_bundle, bundles)


def _texts(count: int, tag: str, identical: bool) -> list[tuple[str, str]]:
    """(title, content) of ``count`` petitions: each about its own matter, written by bench/search.py's
    generator (calibrated against the labelled corpus); or, with ``identical``, the one text the
    submission benchmarks send with a number appended, as bench/fault_submissions.py does."""
    if identical:
        return [("学校违规收取资料费", f"{PETITION_CONTENT} 编号 {tag}-{n}") for n in range(count)]
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_search_corpus", Path(__file__).with_name("search.py"))
    corpus = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = corpus  # its dataclasses look their module up while it loads
    spec.loader.exec_module(corpus)
    locale = corpus.Locale.of(0, 7)
    return [corpus.render(corpus.make_matter(f"drain:{tag}:{n}", locale)) for n in range(count)]


async def _submit(settings, count: int, tag: str, identical: bool = False) -> list[str]:
    """``count`` anonymous online petitions through the platform's own verb, dated an hour ago."""
    from xinfang.crypto import KeyRing
    from xinfang.forms.service import require_form
    from xinfang.petitions.service import do_submit_petition
    from xinfang.secrets_file import resolve_encryption_key
    from xinfang.store.documents import utcnow
    from xinfang.tenancy.context import TenantContext
    from xinfang.tenancy.models import Tenant

    keyring = KeyRing(resolve_encryption_key(settings))
    from xinfang.events import OutboxEvent

    # Events of the set-up (tenants, accounts) were handled long ago: only the petitions' are the backlog.
    await OutboxEvent.get_pymongo_collection().update_many({"status": "pending"}, {"$set": {"status": "done"}})
    ctx = TenantContext.of(await Tenant.find_one({"slug": TENANT}))
    form = await require_form(ctx.scope, "petition")
    then = utcnow() - timedelta(hours=1)
    ids: list[str] = []
    gate = asyncio.Semaphore(4)  # the argon2 receipt hash runs in threads: keep both cores busy

    texts = _texts(count, tag, identical)

    async def one(n: int) -> None:
        async with gate:
            title, content = texts[n]
            answers = {"title": title, "category": "integrity", "content": content}
            petition, _ = await do_submit_petition(ctx, keyring, form, answers=answers, anonymous=True, now=then)
            ids.append(str(petition.id))

    await asyncio.gather(*(one(n) for n in range(count)))
    await _age_outbox(then)
    return ids


async def _age_outbox(then) -> None:
    """Whatever OutboxEvent rows exist are dated back too: their leases have run out, as after a restart."""
    from xinfang.events import OutboxEvent

    await OutboxEvent.get_pymongo_collection().update_many({"status": "pending"}, {"$set": {"dispatched_at": then}})


async def _pending(db) -> tuple[int, int]:
    """(pending OutboxEvent rows, petitions whose embedded events are not materialised yet)."""
    rows = await db["outbox_events"].count_documents({"status": "pending"})
    carried = await db["petitions"].count_documents({"outbox_pending": True})
    return rows, carried


async def _backlog(db) -> int:
    return await db["search_backlog"].count_documents({})


async def bare_drain(pm, petition_ids: list[str]) -> float:
    """The baseline: every enabled plugin's handler on each event, one after another, then one update."""
    from xinfang.events import OutboxEvent
    from xinfang.plugins import maybe_await, plugin_name_of
    from xinfang.store.documents import utcnow
    from xinfang.tenancy.context import TenantContext
    from xinfang.tenancy.models import Tenant
    from xinfang.tenancy.plugin_settings import plugin_settings_for

    tenant = TenantContext.of(await Tenant.find_one({"slug": TENANT}))
    rows = [OutboxEvent(id=ObjectId(), name="petition.submitted", tenant_id=tenant.tenant_id, subject_id=pid,
                        data={"channel": "online", "actor_id": ""}, dispatched_at=utcnow()) for pid in petition_ids]
    await OutboxEvent.insert_many(rows)
    collection = OutboxEvent.get_pymongo_collection()
    settings = await plugin_settings_for(tenant.scope, pm)
    warm_up, rows = rows[0], rows[1:]  # the first call imports what the handlers need (jieba: about a second)
    for impl in pm.hook.xinfang_handle_event.get_hookimpls():
        await maybe_await(impl.function(event=warm_up, tenant=tenant, config={}))
    started = time.perf_counter()
    per_plugin: dict[str, float] = {}
    for event in rows:
        for impl in pm.hook.xinfang_handle_event.get_hookimpls():
            name = plugin_name_of(pm, impl.plugin)
            setting = settings.get(name)
            if setting is not None and not setting.enabled:
                continue
            begun = time.perf_counter()
            await maybe_await(impl.function(event=event, tenant=tenant, config=setting.config if setting else {}))
            per_plugin[name] = per_plugin.get(name, 0.0) + time.perf_counter() - begun
        await collection.update_one({"_id": event.id}, {"$set": {"status": "done", "finished_at": utcnow()}})
    elapsed = time.perf_counter() - started
    print("bare: handler time per event, by plugin: " + ", ".join(
        f"{name} {seconds * 1000 / len(rows):.2f} ms" for name, seconds in sorted(per_plugin.items(), key=lambda kv: -kv[1])))
    return elapsed


def start_worker(settings, broker: str, log_path: Path, wait_for: Path | None = None) -> list[subprocess.Popen]:
    from xinfang.processes import die_with_parent

    env = _child_env(settings)
    log = open(log_path, "ab")
    single = broker != "redis"  # as `xinfang run`: on the filesystem broker one worker also indexes
    worker = subprocess.Popen(
        [sys.executable, "-m", "xinfang", "worker", "--beat", "--concurrency", "2", "--loglevel", os.environ.get("DRAIN_LOGLEVEL", "WARNING"),
         *(["--with-indexer"] if single else [])],
        env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    children = [worker]
    if not single:
        children.append(subprocess.Popen([sys.executable, "-m", "xinfang", "indexer", "--loglevel", "WARNING"], env=env,
                                         cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))
    deadline = time.monotonic() + 60
    while wait_for is not None and not any(wait_for.parent.glob(wait_for.name + "*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    if wait_for is not None:
        time.sleep(2)  # let it settle before it is stopped
    return children


def stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its living children (the worker's pool processes)."""
    total = 0.0
    try:
        total += cpu_seconds(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(tree_cpu(int(child)) for child in children)


async def _work_started(db, rows_before: int) -> bool:
    """The sweeper has begun: an event was claimed, or a carried one materialised (a new OutboxEvent row)."""
    if await db["outbox_events"].count_documents({"claimed_by": {"$type": "string"}}):
        return True
    return await db["outbox_events"].count_documents({}) > rows_before


async def ours_drain(settings, broker: str, db, total: int, log_path: Path, timeout: float, poll: float = 0.02) -> dict:
    rows_before = await db["outbox_events"].count_documents({})
    children = start_worker(settings, broker, log_path)
    started = time.monotonic()
    first_work = None
    last_report = started
    cpu = 0.0
    try:
        while True:
            rows, carried = await _pending(db)
            left = rows + carried
            now = time.monotonic()
            cpu = max(cpu, sum(tree_cpu(c.pid) for c in children))
            if first_work is None and (left < total or await _work_started(db, rows_before)):
                first_work = now
            if left == 0:
                break
            if now - last_report > 10:
                print(f"  ... {now - started:5.0f} s: {left} pending ({rows} rows, {carried} petitions not materialised)", flush=True)
                last_report = now
            if now - started > timeout:
                raise TimeoutError(f"{left} of {total} events still pending after {timeout:.0f} s")
            if any(c.poll() is not None for c in children):
                raise RuntimeError(f"the worker exited with {children[0].returncode}; see {log_path}")
            await asyncio.sleep(poll)  # three store queries a round: the store's CPU is the run's too
        done_at = time.monotonic()
        while await _backlog(db) and time.monotonic() - done_at < timeout:
            await asyncio.sleep(0.1)
        indexed_at = time.monotonic()
        cpu = max(cpu, sum(tree_cpu(c.pid) for c in children))
    finally:
        stop_children(children)
    first_work = first_work or done_at
    return {"total": done_at - started, "draining": max(done_at - first_work, 0.02), "first": first_work - started,
            "indexed": indexed_at - started, "cpu": cpu}


async def run(args, tmp: Path) -> int:
    from xinfang.store.embedded import EmbeddedStore

    data_dir = tmp / "data"
    queue = f"xinfang-drain-{uuid.uuid4().hex[:8]}"
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    settings = _settings(data_dir, store.uri, args.broker, args.sweep_seconds, args.lease_seconds, queue)
    handle = None
    try:
        handle, pm = await _open(settings)
        db = handle.database
        await _load_tenants()
        # The platform ran before: its beat has a schedule on disk, as at a real restart (a fresh beat
        # would first wait a whole sweep interval; one that ran before sweeps at once when a sweep is overdue).
        before = time.monotonic()
        stop_children(start_worker(settings, args.broker, tmp / "worker-before.log", wait_for=data_dir / "celerybeat-schedule"))
        started = time.monotonic()
        ours_ids = await _submit(settings, args.events, "ours", args.identical)
        await asyncio.sleep(max(0.0, args.sweep_seconds + 1 - (time.monotonic() - before)))  # the next sweep is due
        print(f"set-up: store {store.uri}; {len(ours_ids)} petitions submitted with every hand-over lost in"
              f" {time.monotonic() - started:.1f} s; pending now: {await _pending(db)} (rows, petitions);"
              f" broker {args.broker}, sweep every {args.sweep_seconds:g} s, lease {args.lease_seconds:g} s", flush=True)
        ours = await ours_drain(settings, args.broker, db, args.events, tmp / "worker.log", args.timeout, args.poll_seconds)

        bare_ids = await _submit(settings, args.events + 1, "bare", args.identical)
        await db["search_backlog"].delete_many({})
        bare_seconds = await bare_drain(pm, bare_ids)
        await db["search_backlog"].delete_many({})
    finally:
        if handle is not None:
            await handle.close()
        store.stop()
        if args.broker == "redis":
            delete_queue(queue)

    n = args.events
    ours_rate, ours_draining, bare_rate = n / ours["total"], n / ours["draining"], n / bare_seconds
    print(f"\n{n} pending petition.submitted events, {os.cpu_count()} cores")
    print(f"{'':44} {'seconds':>8} {'events/s':>9} {'x bare':>7}")
    print(f"{'bare: handlers in one loop, no broker':44} {bare_seconds:8.2f} {bare_rate:9.1f} {1.0:7.2f}")
    print(f"{'ours: worker start -> nothing pending':44} {ours['total']:8.2f} {ours_rate:9.1f} {ours_rate / bare_rate:7.2f}")
    print(f"{'ours: sweeper starts -> nothing pending':44} {ours['draining']:8.2f} {ours_draining:9.1f}"
          f" {ours_draining / bare_rate:7.2f}")
    print(f"  the sweeper started {ours['first']:.2f} s after the worker was restarted (Celery start-up, beat's first tick);"
          f" search backlog empty after {ours['indexed']:.2f} s; worker CPU {ours['cpu']:.1f} s"
          f" ({ours['cpu'] * 1000 / n:.1f} ms per event, start-up included)")
    met = ours_draining >= GOAL_PER_SECOND
    print(f"goal >= {GOAL_PER_SECOND:g} events/s while draining: {'met' if met else 'NOT met'}")
    return 0 if met or args.tiny else 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=520, help="pending events in each run (default 520)")
    parser.add_argument("--broker", choices=("filesystem", "redis"), default="filesystem",
                        help="filesystem: the single-machine default (default); redis: the machine's Redis")
    parser.add_argument("--sweep-seconds", type=float, default=30.0, help="XINFANG_SWEEP_INTERVAL_SECONDS (default 30)")
    parser.add_argument("--lease-seconds", type=float, default=60.0, help="XINFANG_EVENT_LEASE_SECONDS (default 60)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds (default 1800)")
    parser.add_argument("--identical", action="store_true",
                        help="every petition the same text plus a number (as bench/fault_submissions.py sends them)"
                             " instead of petitions about different matters")
    parser.add_argument("--tiny", action="store_true", help="20 events, 1 s sweeps, no goal check: for the tests")
    parser.add_argument("--poll-seconds", type=float, default=0.02,
                        help="how often the pending events are counted while the worker drains (default 0.02; --tiny 0.25)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the worker log")
    args = parser.parse_args()
    if args.tiny:  # a coarser poll: the tiny run only has to finish, its seconds are not the figure
        args.events, args.sweep_seconds, args.lease_seconds, args.timeout, args.poll_seconds = 20, 1.0, 2.0, 120, 0.25
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="xinfang-drain-"))
    try:
        return asyncio.run(run(args, tmp))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
