"""2,156 tenants on one deployment against 3, in the same run: the beat's sweep, the idle beat and worker, pages.

Issue 18. On a fresh temporary data directory with nx-27017 on a free port (opened as the platform opens it):

1. the demo bundles (tenants/: siyang-edu, bazhou, korla) are loaded for real, with a few petitions and supervision
   cards due (overdue, reminder, follow-up) in siyang-edu and bazhou: the work every sweep has;
2. measured with those 3 tenants (the baseline), then again after ``--tenants`` tenants in all, the others generated
   as bundles in a hierarchy (26 provinces, 258 prefectures, 1,871 counties at 2,156 below one national body): each a
   copy of siyang-edu's applied bundle (accounts, forms, workflow, card and action types, escalation rules, calendar)
   under its own tenant id, inserted raw (loading 2,153 bundles through the loader would hash 8,600 passwords).
   The generated tenants are idle: the due items are the same in both runs, so a ratio shows what the tenant count
   alone costs;
3. for each tenant count:
   * the beat's sweep (every plugin's ``xinfang_sweep`` as ``dispatch.sweep`` calls them) on the first beat of a
     day (every mark of the day removed; the due items written afresh around today), the beats after it until
     retention is through for every tenant, and normal beats (the same day): seconds and the store commands each
     issued (pymongo command monitoring), also by part;
   * the first beat of a day twice more (and the beats after it until retention is through), the early-warning
     checks (analytics/alerts.py, due every six hours) and retention's walk (retention/sweep.py) as they were
     ("before": every due tenant checked, every tenant walked, ``skip_idle=False``) and as they are ("after": tenants
     whose checks could neither cross nor end anything, and tenants with nothing their periods reach, passed by):
     seconds and store commands of the beat and of the two parts, how many tenants were checked, and retention's beats;
   * idle CPU over ``--idle`` seconds of a real ``xinfang worker --beat`` (beat interval ``--interval``) and of the
     store process, after its first sweep;
   * the request mix: a handler's inbox page and the citizen portal's page of siyang-edu, p50 / p95 ms
     (in-process Quart test client), and the process's resident memory before and after the portal pages of
     ``--pages`` distinct tenants;
4. ratios ``--tenants`` / 3, with the issue's goals: beat and idle CPU within 1.5x, pages within 1.2x.

    .venv/bin/python bench/tenants.py               # 2,156 tenants against 3 (8 min on 2 quiet cores, 25 on busy ones)
    .venv/bin/python bench/tenants.py --tiny        # 30 against 3, seconds (tests/test_benches.py)
The embedded store is a Python server over SQLite, much slower than MongoDB: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import asyncio
import functools
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO / "search"), str(REPO / "plugins")]

from bson import ObjectId  # noqa: E402
from pymongo import monitoring  # noqa: E402
from pymongo.errors import BulkWriteError  # noqa: E402

from _common import REDIS_URL, cpu_seconds, delete_queue, free_port  # noqa: E402

DATABASE = "xinfang_bench_tenants"
PASSWORD = "bench-tenants-1"
TEMPLATE = "siyang-edu"
HIERARCHY = (26, 258, 1871)  # provinces, prefectures, counties below one national body: 2,156 in all
# What applying a bundle writes for a tenant (tenancy/bundles.py), copied for each generated tenant; not what its work
# leaves (cases, notices and their deliveries, activity, the sweeps' marks).
BUNDLE = {"StaffAccount", "CardType", "EscalationRule", "ActionType", "ArchiveDocumentType", "TenantWorkflow", "WorkflowVersion",
          "CalendarRules", "FormVersion", "ConfigVersion"}


def say(text: str = "") -> None:
    print(text, flush=True)


class CommandCount(monitoring.CommandListener):
    """Every command this process sends to the store (registered before the clients exist)."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.slowest: list | None = None  # a list: (milliseconds, command) of each command kept while profiling
        self._started: dict = {}

    def started(self, event):
        self.counts[event.command_name] += 1
        if self.slowest is not None:
            command = event.command
            what = {k: command[k] for k in ("filter", "query", "projection", "updates", "getMore") if k in command}
            self._started[event.request_id] = f"{event.command_name} {command.get(event.command_name)} {str(what)[:240]}"

    def succeeded(self, event):
        if self.slowest is not None and event.request_id in self._started:
            self.slowest.append((event.duration_micros / 1000, self._started.pop(event.request_id)))

    def failed(self, event):
        pass

    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in ("endSessions", "hello", "isMaster", "ismaster"))


COMMANDS = CommandCount()
monitoring.register(COMMANDS)

from xinfang.app import create_app  # noqa: E402
from xinfang.cards.models import Supervision  # noqa: E402
from xinfang.events import OutboxEvent, configure_dispatch  # noqa: E402
from xinfang.petitions.models import Petition  # noqa: E402
from xinfang.plugins import document_models, make_plugin_manager, maybe_await  # noqa: E402
from xinfang.settings import Settings  # noqa: E402
from xinfang.store.client import Store  # noqa: E402
from xinfang.store.documents import TenantDocument  # noqa: E402
from xinfang.store.embedded import EmbeddedStore  # noqa: E402
from xinfang.tenancy.bundles import BundleLoader, discover  # noqa: E402
from xinfang.tenancy.models import Tenant  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- data ------------------------------------------------------------------------------------------


async def make_due_items(day: date) -> None:
    """A few petitions and cards due in siyang-edu and bazhou, around ``day`` (the same in both runs): the sweeps'
    real work. Written raw; the previous run's items are removed first."""
    for model in (Petition, Supervision):
        if WRITTEN[model]:
            await model.get_pymongo_collection().delete_many({"_id": {"$in": WRITTEN[model]}})
        WRITTEN[model] = []
    for slug in (TEMPLATE, "bazhou"):
        tenant = await Tenant.find_one({"slug": slug})
        tid = str(tenant.id)
        petitions, cards = [], []
        for n in range(12):
            due = (day + timedelta(days=n - 4)).isoformat()  # some passed, some within the reminder horizon
            petitions.append({
                "_id": ObjectId(), "tenant_id": tid, "created_at": datetime.now(UTC), "number": f"BENCH-{slug}-{day}-{n:04d}",
                "origin_tenant_id": tid, "form_key": "petition", "form_version": 1, "form_digest": "bench", "kind": "petition",
                "channel": "online", "anonymous": True, "answers": {"content": f"基准测试信访事项 {n}"}, "title": f"基准测试信访事项 {n}",
                "state": "handling", "due_on": due, "due_rule": "bench", "overdue": False, "steps": [], "revision": 0,
                "outbox": [], "outbox_pending": False, "followed_by": [], "down_assignments": [], "used_once": [],
                "attachment_ids": [],
            })
            cards.append({
                "_id": ObjectId(), "tenant_id": tid, "created_at": datetime.now(UTC), "kind": "card", "type_key": "yellow",
                "subject": {"kind": "person", "name": f"某某{n}", "position": "校长", "unit": f"第{n}中学"},
                "subject_key": f"bench:{slug}:{n}:{day}", "petition_ids": [], "state": "issued", "issued_on": (day - timedelta(days=60)).isoformat(),
                "response_due": due, "overdue": False, "follow_up_due": (day + timedelta(days=n % 3)).isoformat(),
                "follow_ups": [{"due_on": (day + timedelta(days=n % 3)).isoformat(), "done_on": None}],
                "applied_rules": [], "revision": 0, "outbox": [], "outbox_pending": False,
            })
        await Petition.get_pymongo_collection().insert_many(petitions)
        await Supervision.get_pymongo_collection().insert_many(cards)
        WRITTEN[Petition] += [row["_id"] for row in petitions]
        WRITTEN[Supervision] += [row["_id"] for row in cards]


WRITTEN: dict = {Petition: [], Supervision: []}  # the due items of the run before


def tenant_models() -> list[type]:
    return [m for m in document_models(make_plugin_manager()) if issubclass(m, TenantDocument)]


def _swap(value, ids: dict):
    """``value`` with every id of the template tenant's rows (and the tenant's own id) replaced by the copy's."""
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    if isinstance(value, ObjectId):
        return ids.get(value, value)
    if isinstance(value, str) and len(value) == 24 and value in ids:
        return str(ids[value])
    return value


async def generate_tenants(total: int) -> list[str]:
    """Tenants up to ``total`` in all, as copies of the template's applied bundle, in a hierarchy. Their slugs."""
    template = await Tenant.get_pymongo_collection().find_one({"slug": TEMPLATE})
    template_oid = template["_id"]
    new = total - await Tenant.get_pymongo_collection().count_documents({})
    if new <= 0:
        return []
    scale = new / sum(HIERARCHY, 1)
    provinces = max(1, round(HIERARCHY[0] * scale))
    prefectures = max(1, round(HIERARCHY[1] * scale))
    counties = max(1, new - 1 - provinces - prefectures)
    rows, slugs = [], []
    national = {**template, "_id": ObjectId(), "slug": "gen-0000", "name": {"zh": "生成的国家机关", "en": "Generated national"},
                "level": "national", "parent_id": None, "ancestor_ids": [], "hosts": [], "region_code": "100000"}
    rows.append(national)
    layer, parents = [], [national]
    for count, level in ((provinces, "provincial"), (prefectures, "prefecture"), (counties, "county")):
        layer = []
        for i in range(count):
            parent = parents[i % len(parents)]
            n = len(rows)
            rows.append({**template, "_id": ObjectId(), "slug": f"gen-{n:04d}", "name": {"zh": f"生成单位{n}", "en": f"Generated {n}"},
                         "level": level, "parent_id": str(parent["_id"]), "ancestor_ids": [*parent["ancestor_ids"], str(parent["_id"])],
                         "hosts": [], "region_code": template.get("region_code")})
            layer.append(rows[-1])
        parents = layer
    rows = rows[:new]
    await Tenant.get_pymongo_collection().insert_many(rows)
    slugs = [r["slug"] for r in rows]
    copied = Counter()
    for model in tenant_models():
        collection = model.get_pymongo_collection()
        originals = await collection.find({"tenant_id": str(template_oid)}).to_list(None)
        if not originals or model.__name__ not in BUNDLE:
            continue
        batch = []
        for tenant in rows:
            ids = {str(template_oid): tenant["_id"], template_oid: tenant["_id"]}
            for row in originals:
                fresh = ObjectId()
                ids[row["_id"]] = fresh
                ids[str(row["_id"])] = fresh
            for row in originals:
                copy = _swap(row, ids)
                copy["tenant_id"] = str(tenant["_id"])
                if "outbox" in copy:
                    copy["outbox"], copy["outbox_pending"] = [], False
                batch.append(copy)
            if len(batch) >= 5000:
                copied[model.__name__] += await _insert(collection, batch)
                batch = []
        if batch:
            copied[model.__name__] += await _insert(collection, batch)
    say("  copied per generated tenant: " + ", ".join(f"{k} {v // max(1, len(rows))}" for k, v in sorted(copied.items())))
    return slugs


async def _insert(collection, batch) -> int:
    try:
        return len((await collection.insert_many(batch, ordered=False)).inserted_ids)
    except BulkWriteError as exc:
        return exc.details.get("nInserted", 0)


# -- measurements ----------------------------------------------------------------------------------


async def sweep_at(pm, runtime, now: datetime, parts: Counter | None = None) -> tuple[float, int]:
    """Every plugin's sweep part at ``now`` as dispatch.sweep runs them: (seconds, store commands). ``parts``: store
    commands and milliseconds added up by part (its module)."""
    before = COMMANDS.total()
    started = time.perf_counter()
    for impl in reversed(pm.hook.xinfang_sweep.get_hookimpls()):  # pluggy calls the last registered first
        part_commands, part_started = COMMANDS.total(), time.perf_counter()
        try:
            await maybe_await(impl.function(now=now, runtime=runtime))
        except Exception as exc:  # as dispatch.sweep: one part's failure holds back no other
            say(f"  a sweep part failed: {exc!r}")
        if parts is not None:
            name = f"{impl.function.__module__.removeprefix('xinfang.')}.{impl.function.__name__}"
            parts[(name, "commands")] += COMMANDS.total() - part_commands
            parts[(name, "ms")] += (time.perf_counter() - part_started) * 1000
    return time.perf_counter() - started, COMMANDS.total() - before


class Runtime:
    """What the sweep parts use of the worker's runtime: settings, the plugins, and sending (counted, not sent)."""

    def __init__(self, settings, pm, store):
        self.settings, self.pm, self.store = settings, pm, store
        self.sent = 0

    async def send(self, name, args, queue=None):
        self.sent += 1

    async def enqueue(self, event_ids):
        # The worker's part, here: events the sweep hands over are dispatched at once, so both runs start clean.
        from xinfang.dispatch import dispatch_events

        self.sent += 1
        await dispatch_events(self, list(event_ids))


async def clear_day_marks() -> None:
    """As if nothing were swept today yet: the parts' own marks and the platform's day and gates go."""
    from xinfang.analytics.alerts import AlertCheckMark
    from xinfang.cards.sweeper import SweepMark
    from xinfang.due_sweeps import SWEEP_DAYS
    from xinfang.notifications.models import NoticeSweepMark
    from xinfang.retention.models import RetentionMark

    for model in (SweepMark, NoticeSweepMark, RetentionMark, AlertCheckMark):
        await model.get_pymongo_collection().delete_many({})
    await Tenant.get_pymongo_collection().database[SWEEP_DAYS].delete_many({})


async def time_sweeps(pm, runtime, repeats: int) -> dict:
    """On the real clock (11:00 in China now, say): the first beat of the day (every mark of the day removed, the
    due items written afresh around today, the events the writes before left handed over first), then the beats after
    it until retention (500 records looked at per beat) is through for every tenant, then normal beats."""
    from xinfang.dispatch import recover_stale_work
    from xinfang.petitions.service import china_today

    first, normal, first_cmds, normal_cmds, catch_up = [], [], [], [], []
    first_parts, normal_parts = Counter(), Counter()
    for r in range(repeats):
        await clear_day_marks()
        now = datetime.now(UTC)
        await make_due_items(china_today(now))
        await recover_stale_work(runtime, now=now + timedelta(hours=1))
        seconds, commands = await sweep_at(pm, runtime, now, first_parts)
        first.append(seconds)
        first_cmds.append(commands)
        beats, spent = 0, 0.0
        while not await retention_through(now):  # the first beats of a day at many tenants: retention's budget
            beats += 1
            seconds, _ = await sweep_at(pm, runtime, now + timedelta(seconds=beats))
            spent += seconds
        catch_up.append((beats, spent))
        for k in range(3):
            seconds, commands = await sweep_at(pm, runtime, now + timedelta(seconds=beats + k + 1), normal_parts)
            normal.append(seconds)
            normal_cmds.append(commands)
    return {"first": statistics.median(first), "normal": statistics.median(normal),
            "first_cmds": statistics.median(first_cmds), "normal_cmds": statistics.median(normal_cmds),
            "catch_up_beats": max(b for b, _ in catch_up), "catch_up_seconds": max(s for _, s in catch_up),
            "first_parts": _per_run(first_parts, repeats), "normal_parts": _per_run(normal_parts, repeats * 3)}


async def first_beats_compared(pm, runtime, profile_to: str | None = None) -> dict:
    """The first beat of a day, and the beats after it until retention is through for every tenant, with the
    early-warning checks and retention's walk as they were ("before": every due tenant checked, every tenant walked;
    ``skip_idle=False``) and as they are ("after": tenants with nothing that could cross, end or be due passed by),
    one after the other on the same data: (seconds, commands) of the first beat and of the checks' and retention's
    parts in it, how many tenants were checked (their marks), the beats retention then needed and their seconds.
    Each from a clean day, as ``time_sweeps``."""
    from xinfang.analytics import alerts
    from xinfang.dispatch import recover_stale_work
    from xinfang.petitions.service import china_today
    from xinfang.retention import sweep as retention

    originals = alerts.sweep_alerts, retention.sweep_retention
    out = {}
    for label, skip_idle in (("before", False), ("after", True)):
        await clear_day_marks()
        now = datetime.now(UTC)
        await make_due_items(china_today(now))
        await recover_stale_work(runtime, now=now + timedelta(hours=1))
        parts: Counter = Counter()
        # analytics/plugin.py and retention/plugin.py import them at each call
        alerts.sweep_alerts = functools.partial(originals[0], skip_idle=skip_idle)
        retention.sweep_retention = functools.partial(originals[1], skip_idle=skip_idle)
        try:
            profiler = cProfile.Profile() if profile_to and skip_idle else None
            if profiler is not None:
                COMMANDS.slowest = []
                profiler.enable()
            seconds, commands = await sweep_at(pm, runtime, now, parts)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile_to)
                slowest, COMMANDS.slowest = sorted(COMMANDS.slowest, reverse=True), None
                say(f"  slowest store commands of the profiled first beat ({sum(ms for ms, _ in slowest):.0f} ms in all):")
                for ms, command in slowest[:12]:
                    say(f"    {ms:7.1f} ms  {command}")
            checked = len(await alerts.AlertCheckMark.get_pymongo_collection().find({}, projection={"_id": 1}).to_list(None))
            beats, spent = 0, 0.0
            while not await retention_through(now) and beats < 200:
                beats += 1
                more, _ = await sweep_at(pm, runtime, now + timedelta(seconds=beats))
                spent += more
        finally:
            alerts.sweep_alerts, retention.sweep_retention = originals
        out[label] = {"seconds": seconds, "commands": commands, "checked": checked, "catch_up_beats": beats, "catch_up_seconds": spent,
                      **{f"{name}_{unit}": parts[(part, unit)] for name, part in (("alerts", "analytics.plugin.alerts_sweep"),
                                                                                   ("retention", "retention.plugin.xinfang_sweep"))
                         for unit in ("ms", "commands")}}
    return out


async def retention_through(now: datetime) -> bool:
    from xinfang.due_sweeps import SWEEP_DAYS
    from xinfang.retention.sweep import GATE

    row = await Tenant.get_pymongo_collection().database[SWEEP_DAYS].find_one({"_id": GATE})
    return bool(row) and row.get("until", 0) > now.timestamp()


def _per_run(parts: Counter, runs: int) -> dict:
    return {key: value / runs for key, value in parts.items()}


def print_parts(label: str, parts: dict) -> None:
    names = sorted({name for name, _ in parts}, key=lambda n: -parts[(n, "ms")])
    say(f"  {label}, by part (mean per sweep): " + "; ".join(
        f"{n} {parts[(n, 'ms')]:.0f} ms / {parts[(n, 'commands')]:.0f} cmd" for n in names if parts[(n, "ms")] >= 1 or parts[(n, "commands")] >= 2))


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:
            pass
    return pids


def tree_cpu(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


async def idle_cpu(settings, store, queue: str, seconds: float, interval: float, data_dir: Path) -> dict:
    """A real `xinfang worker --beat` (and the store) over ``seconds`` of idling, after its first sweep."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
    env.update(XINFANG_DATA_DIR=str(data_dir), XINFANG_MONGODB_URI=store.uri, XINFANG_MONGODB_DATABASE=DATABASE,
               XINFANG_BROKER_URL=REDIS_URL, XINFANG_TASK_QUEUE=queue, XINFANG_SWEEP_INTERVAL_SECONDS=str(interval),
               XINFANG_LOG_LEVEL="WARNING", XINFANG_BOOTSTRAP_PASSWORD=PASSWORD,
               PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO / "search"), str(REPO / "plugins")]))
    log = open(data_dir / f"worker-{queue}.log", "ab")
    worker = subprocess.Popen([sys.executable, "-m", "xinfang", "worker", "--beat"], env=env, cwd=REPO,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Its first sweep (the first of the day for the real clock) and a second one: then it idles.
        await asyncio.sleep(interval + 10)
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {log.name}")
        w0, s0, m0, t0 = tree_cpu(worker.pid), cpu_seconds(store.process.pid), machine_load(), time.monotonic()
        await asyncio.sleep(seconds)
        w1, s1, t1 = tree_cpu(worker.pid), cpu_seconds(store.process.pid), time.monotonic()
        return {"worker": (w1 - w0) / (t1 - t0), "store": (s1 - s0) / (t1 - t0), "load": m0}
    finally:
        os.killpg(worker.pid, 15)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
            worker.wait()
        log.close()
        delete_queue(queue)


def machine_load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def requests(test_app, slugs: list[str], runs: int, profile_to: str | None = None) -> dict:
    client = test_app.test_client()
    response = await client.post(f"/t/{TEMPLATE}/api/tokens", json={"username": "handler", "password": PASSWORD})
    assert response.status_code == 200, await response.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {(await response.get_json())['access_token']}"}
    inbox, portal = [], []
    profiler = cProfile.Profile() if profile_to else None
    if profiler is not None:
        COMMANDS.slowest = []
    for _ in range(runs):
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        page = await client.get(f"/t/{TEMPLATE}/staff/", headers=headers)
        if profiler is not None:
            profiler.disable()
        inbox.append((time.perf_counter() - started) * 1000)
        assert page.status_code == 200, page.status_code
        started = time.perf_counter()
        page = await client.get(f"/t/{TEMPLATE}/")
        portal.append((time.perf_counter() - started) * 1000)
        assert page.status_code == 200, page.status_code
    if profiler is not None:
        profiler.dump_stats(profile_to)
        slowest, COMMANDS.slowest = sorted(COMMANDS.slowest, reverse=True), None
        say(f"  inbox page, {runs} requests: {len(slowest)} store commands, {sum(ms for ms, _ in slowest):.0f} ms in all; slowest:")
        for ms, command in slowest[:8]:
            say(f"    {ms:7.1f} ms  {command}")
    before = rss_mb()
    for slug in slugs:
        page = await client.get(f"/t/{slug}/")
        assert page.status_code == 200, (slug, page.status_code)
    return {"inbox50": percentile(inbox, 0.5), "inbox95": percentile(inbox, 0.95), "portal50": percentile(portal, 0.5),
            "portal95": percentile(portal, 0.95), "rss_before": before, "rss_after": rss_mb(), "pages": len(slugs)}


async def measure(label: str, n: int, settings, pm, runtime, store, test_app, args, data_dir: Path, slugs) -> dict:
    say(f"\n=== {label}: {n:,} tenants (load average {machine_load()}) ===")
    compared = await first_beats_compared(pm, runtime, args.profile_first_beat if n > 3 else None)
    for label, words in (("before", "every due tenant checked, every tenant walked"), ("after", "idle tenants passed by")):
        c = compared[label]
        say(f"  first beat of a day, early warnings and retention {label} ({words}): {c['seconds']:.3f} s, {c['commands']:.0f} store "
            f"commands; early warnings {c['alerts_ms'] / 1000:.3f} s, {c['alerts_commands']:.0f} commands, {c['checked']} tenant(s) "
            f"checked; retention {c['retention_ms'] / 1000:.3f} s, {c['retention_commands']:.0f} commands, then {c['catch_up_beats']} more "
            f"beat(s) of {c['catch_up_seconds']:.1f} s until through (load average {machine_load()})")
    sweeps = await time_sweeps(pm, runtime, args.repeats)
    say(f"  sweep, first beat of a day: {sweeps['first']:.3f} s, {sweeps['first_cmds']:.0f} store commands")
    say(f"  then {sweeps['catch_up_beats']} more beat(s) of {sweeps['catch_up_seconds']:.1f} s in all until retention was through for every tenant")
    say(f"  sweep, a normal beat:       {sweeps['normal']:.3f} s, {sweeps['normal_cmds']:.0f} store commands")
    events = Counter()
    async for row in OutboxEvent.get_pymongo_collection().find({}, projection={"status": 1, "name": 1, "last_error": 1}):
        events[(row.get("status"), row.get("name"), (row.get("last_error") or "")[:80])] += 1
    say("  events: " + "; ".join(f"{k} x{v}" for k, v in events.most_common(6)))
    print_parts("first beat of a day", sweeps["first_parts"])
    print_parts("normal beat", sweeps["normal_parts"])
    pages = await requests(test_app, slugs[: args.pages], args.runs, args.profile_inbox if n > 3 else None)
    say(f"  inbox page p50 {pages['inbox50']:.1f} ms p95 {pages['inbox95']:.1f} ms; citizen page p50 {pages['portal50']:.1f} ms "
        f"p95 {pages['portal95']:.1f} ms")
    say(f"  resident memory {pages['rss_before']:.0f} MB, after the citizen pages of {pages['pages']} tenants {pages['rss_after']:.0f} MB")
    idle = await idle_cpu(settings, store, f"bench-tenants-{os.getpid()}-{n}", args.idle, args.interval, data_dir)
    say(f"  idle over {args.idle:.0f} s (beat every {args.interval:.0f} s): worker + beat {idle['worker']:.3f} of a core, "
        f"store {idle['store']:.3f} of a core (load average {idle['load']})")
    return {**sweeps, **pages, "idle_worker": idle["worker"], "idle_store": idle["store"],
            **{f"{key}_{label}": value for label, c in compared.items() for key, value in c.items()}}


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf") if a > 0 else 1.0


async def run(args) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="xinfang-bench-tenants-"))
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    queue = f"bench-tenants-web-{os.getpid()}"
    try:
        settings = Settings(data_dir=data_dir, mongodb_uri=store.uri, mongodb_database=DATABASE, bootstrap_password=PASSWORD,
                            broker_url=REDIS_URL, task_queue=queue, log_level="WARNING")
        app = create_app(settings)
        async with app.test_app_class(app, startup_timeout=120, shutdown_timeout=60) as test_app:
            pm = make_plugin_manager()
            opened = await Store.open(settings, document_models(pm))
            configure_dispatch(opened, None)  # the bench's own writes: events recorded, nothing enqueued
            runtime = Runtime(settings, pm, opened)
            started = time.perf_counter()
            platform_bundle, bundles = discover(REPO / "tenants")
            await BundleLoader(PASSWORD).load(platform_bundle, bundles)
            say(f"demo bundles loaded in {time.perf_counter() - started:.1f} s")
            base = await measure("baseline", 3, settings, pm, runtime, store, test_app, args, data_dir, [b.slug for b in bundles])
            started = time.perf_counter()
            slugs = await generate_tenants(args.tenants)
            say(f"\n{len(slugs):,} tenants generated as bundles in {time.perf_counter() - started:.1f} s")
            many = await measure("many", args.tenants, settings, pm, runtime, store, test_app, args, data_dir, slugs)
            await opened.close()
        say(f"\n=== ratios {args.tenants:,} / 3 tenants (goals: beat and idle CPU <= 1.5x, pages <= 1.2x) ===")
        for name, key, goal in (("first sweep of a day", "first", None),
                                ("first sweep, alerts before", "seconds_before", None), ("first sweep, alerts after", "seconds_after", None),
                                ("alerts part ms, before", "alerts_ms_before", None), ("alerts part ms, after", "alerts_ms_after", None),
                                ("alerts part cmd, before", "alerts_commands_before", None),
                                ("alerts part cmd, after", "alerts_commands_after", None),
                                ("retention part ms, before", "retention_ms_before", None), ("retention part ms, after", "retention_ms_after", None),
                                ("retention beats after, before", "catch_up_beats_before", None),
                                ("retention beats after, after", "catch_up_beats_after", None), ("normal beat", "normal", 1.5),
                                ("store commands, first sweep", "first_cmds", None), ("store commands, normal beat", "normal_cmds", 1.5),
                                ("idle CPU, worker + beat", "idle_worker", 1.5), ("idle CPU, store", "idle_store", 1.5),
                                ("inbox page p50", "inbox50", 1.2), ("citizen page p50", "portal50", 1.2)):
            r = ratio(many[key], base[key])
            verdict = "" if goal is None else (" (goal met)" if r <= goal else f" (goal {goal}x NOT met)")
            say(f"  {name:<30} {many[key]:10.3f} / {base[key]:10.3f} = {r:5.2f} ratio{verdict}")
        say(f"  web memory: {base['rss_after'] - base['rss_before']:+.0f} MB over {base['pages']} portals, "
            f"{many['rss_after'] - many['rss_before']:+.0f} MB over {many['pages']} portals")
    finally:
        logging.getLogger("xinfang.store.embedded").setLevel(logging.ERROR)
        store.stop(timeout=5)
        delete_queue(queue)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=2156)
    parser.add_argument("--repeats", type=int, default=1, help="days swept (each a first beat and three normal beats)")
    parser.add_argument("--runs", type=int, default=20, help="requests of each page")
    parser.add_argument("--pages", type=int, default=300, help="distinct tenants whose citizen page is asked for")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle worker and beat measured")
    parser.add_argument("--interval", type=float, default=30.0, help="the beat's interval (XINFANG_SWEEP_INTERVAL_SECONDS)")
    parser.add_argument("--tiny", action="store_true", help="30 tenants against 3, a few seconds each (the test suite's run)")
    parser.add_argument("--profile-inbox", metavar="FILE", help="cProfile statistics of the inbox page requests at the larger "
                        "tenant count, written to FILE (pstats), and their slowest store commands")
    parser.add_argument("--profile-first-beat", metavar="FILE", help="cProfile statistics of the first beat with idle tenants "
                        "passed by, at the larger tenant count, written to FILE (pstats)")
    args = parser.parse_args()
    if args.tiny:
        args.tenants, args.repeats, args.runs, args.pages, args.idle, args.interval = 30, 1, 3, 10, 5.0, 3.0
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
