"""Concurrent citizens submitting petitions through the real HTTP server, next to a bare endpoint.

Both endpoints are served by the same web process (bench/_server.py: the real
``create_app`` plus one plugin blueprint), against the same embedded store,
with events going to the machine's Redis:

* ours: ``POST /t/siyang-edu/api/petitions/submit`` (anonymous petition v1): one write of
  the petition, which carries its receipt hash and its event; the receipt row and the
  OutboxEvent row are derived by a worker, and none runs here (as event handling never
  did in this benchmark): the broker keeps the messages, deleted at the end;
* bare: ``POST /t/siyang-edu/bench/bare``, only the unavoidable work: parse the
  JSON, one argon2 receipt hash off the loop, one durable insert of a
  petition-sized document into ``petitions`` (see bench/_server.py).

Load: N keep-alive HTTP/1.1 clients (httpx.AsyncClient), closed loop. After a
warm-up of each endpoint, the measured time of each endpoint is split into
alternating slices (bare, ours, bare, ours, ...) so that drift hits both alike.
Then each endpoint runs once more under py-spy (not counted in the figures
above) to show where the CPU time of the web process (and of the store) goes.

    /tmp/venv/bin/python bench/submissions.py                  # defaults: 32 clients, 20 s each
    /tmp/venv/bin/python bench/submissions.py --clients 64 --duration 30 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from _common import (
    BARE_PATH, SUBMIT_PATH, TENANT, cpu_seconds, delete_queue, thread_cpu_seconds, free_port, load_tenants, machine_busy_seconds,
    petition_body,
    platform_env, start_server, stop_process, wait_http, web_log_summary,
)

ENDPOINTS = {"bare": BARE_PATH, "ours": SUBMIT_PATH}


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds used during the phase
    commands: Counter = field(default_factory=Counter)  # store commands the web process sent (by name)
    command_micros: Counter = field(default_factory=Counter)  # their round-trip time as the driver saw it

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer (201 or not): what the server spent its CPU on."""
        return self.ok + sum(1 for e in self.errors if e.startswith("HTTP "))

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def merged(self, other: "Phase") -> "Phase":
        cpu = {k: self.cpu.get(k, 0) + other.cpu.get(k, 0) for k in set(self.cpu) | set(other.cpu)}
        return Phase(self.name, self.seconds + other.seconds, self.latencies + other.latencies,
                     self.errors + other.errors, cpu, self.commands + other.commands,
                     self.command_micros + other.command_micros)


class Load:
    """N keep-alive clients, kept for the whole run (one connection each)."""

    def __init__(self, base_url: str, clients: int):
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.clients = [httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) for _ in range(clients)]
        self.stats_client = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.tags = itertools.count()
        self.run_id = uuid.uuid4().hex[:8]
        self.tally: Counter = Counter()  # (endpoint, answer) over every phase, warm-up and profile included

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients + [self.stats_client]))

    async def commands(self) -> tuple[Counter, Counter]:
        stats = (await self.stats_client.get("/bench/stats")).json()
        return Counter(stats["count"]), Counter(stats["micros"])

    async def run(self, name: str, path: str, seconds: float, pids: dict[str, int]) -> Phase:
        phase = Phase(name)
        stop_at = time.monotonic() + seconds

        async def citizen(client: httpx.AsyncClient) -> None:
            while time.monotonic() < stop_at:
                body = petition_body(f"{self.run_id}-{next(self.tags)}")
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.HTTPError as exc:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")
                    self.tally[name, type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                self.tally[name, response.status_code] += 1
                if response.status_code in (200, 201):
                    phase.latencies.append(elapsed)
                else:
                    phase.errors.append(f"HTTP {response.status_code}: {response.text[:300]}")

        commands_before, micros_before = await self.commands()
        cpu_before = {k: cpu_seconds(pid) for k, pid in pids.items()}
        machine_before = machine_busy_seconds()
        started = time.monotonic()
        await asyncio.gather(*(citizen(c) for c in self.clients))
        phase.seconds = time.monotonic() - started
        phase.cpu = {k: cpu_seconds(pid) - cpu_before[k] for k, pid in pids.items()}
        phase.cpu["machine"] = machine_busy_seconds() - machine_before
        commands_after, micros_after = await self.commands()
        phase.commands, phase.command_micros = commands_after - commands_before, micros_after - micros_before
        return phase


# -- py-spy -----------------------------------------------------------------------------------------

# Checked from the innermost frame of a sample outwards; the first bucket that matches takes the sample.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("argon2 receipt hash", ("argon2/", "receipt_hash (")),
    ("JSON Schema validation", ("jsonschema/", "referencing/", "schema_safety.py", "re2.py", "rpds")),
    ("AES seal", ("cryptography/", "seal (", "_data_key (")),
    ("Celery enqueue (kombu/redis)", ("celery/", "kombu/", "redis/", "amqp/", "vine/", "billiard/")),
    ("Mongo driver (pymongo/bson)", ("pymongo/", "bson/")),
    ("Beanie/pydantic documents", ("beanie/", "pydantic/", "pydantic_core", "lazy_model/")),
    ("Quart/Hypercorn/h11 HTTP", ("quart/", "quart_schema/", "hypercorn/", "h11/", "h2/", "werkzeug/", "wsproto/",
                                  "jinja2/", "blinker/", "flask/", "markupsafe/")),
    ("error logging (tracebacks of 500s)", ("traceback.py", "logging/__init__.py", "textwrap.py", "ast.py", "linecache.py")),
    ("xinfang platform code", ("xinfang/",)),
    ("bench bare handler", ("_server.py",)),
    ("asyncio loop (epoll, socket I/O, threads)", ("asyncio/", "selectors.py", "concurrent/futures", "threading.py", "queue.py",
                               "socket.py", "contextvars")),
]
STORE_BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("BSON/wire (decode, encode)", ("bson/", "wire_protocol.py")),
    ("neosqlite (query translation, SQLite calls)", ("neosqlite/",)),
    ("nx-27017 command handler", ("nx_27017/",)),
    ("asyncio loop, threads", ("asyncio/", "selectors.py", "concurrent/futures", "threading.py", "socket.py")),
]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Profile:
    """py-spy samples of one process, per thread, turned into CPU time with each thread's real CPU use.

    py-spy counts a thread as active while it is running *or runnable* (waiting for a
    core), so on 2 cores with six argon2 threads its sample counts overstate CPU. Each
    thread's samples are therefore only used as shares, and multiplied by the CPU time
    that thread really used during the phase (``/proc/<pid>/task/<tid>/stat``).
    """

    buckets: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    leaves: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    names: dict[int, str] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # tid -> CPU seconds during the phase

    def _weighted(self, table: dict[int, Counter]) -> Counter:
        out: Counter = Counter()
        for tid, counts in table.items():
            total = sum(counts.values())
            for key, n in counts.items():
                out[key] += self.cpu.get(tid, 0.0) * n / total
        return out

    @property
    def bucket_cpu(self) -> Counter:
        return self._weighted(self.buckets)

    @property
    def leaf_cpu(self) -> Counter:
        return self._weighted(self.leaves)

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.get(tid, 0.0) for tid in self.buckets)

    def thread_groups(self) -> Counter:
        groups: Counter = Counter()
        for tid, name in self.names.items():
            group = "event loop (MainThread)" if name == "MainThread" else (
                "to_thread pool (asyncio_*)" if name.startswith("asyncio_") else f"other ({re.sub(r'[0-9]+', 'N', name)})")
            groups[group] += self.cpu.get(tid, 0.0)
        return groups


def parse_raw(path: Path, buckets, cpu: dict[int, float]) -> Profile:
    profile = Profile(cpu=cpu)
    if not path.exists():
        return profile
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        head = re.match(r"^thread \((?P<tid>[0-9a-fx]+)\): ?(?P<name>.*)$", frames[0])
        if not head:
            continue
        tid, frames = int(head["tid"], 0), frames[1:]
        profile.names[tid] = head["name"]
        leaf = frames[-1] if frames else "?"
        match = FRAME.match(leaf)
        profile.leaves[tid][f"{match['func']} ({match['file']})" if match else leaf] += n
        bucket = "other (stdlib, gc...)"
        for frame in reversed(frames):
            hit = next((name for name, needles in buckets if any(needle in frame for needle in needles)), None)
            if hit:
                bucket = hit
                break
        profile.buckets[tid][bucket] += n
    return profile


def start_py_spy(pid: int, seconds: float, out: Path, rate: int) -> subprocess.Popen | None:
    exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if exe is None:
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(round(seconds))), "--rate", str(rate),
                             "--format", "raw", "--threads", "--nonblocking", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def profiled_phase(load: Load, name: str, seconds: float, pids: dict[str, int], tmp: Path, rate: int):
    web_out, store_out = tmp / f"py-spy-web-{name}.txt", tmp / f"py-spy-store-{name}.txt"
    spies = [start_py_spy(pids["web"], seconds, web_out, rate), start_py_spy(pids["store"], seconds, store_out, rate)]
    if spies[0] is None:
        return None
    await asyncio.sleep(0.3)  # let py-spy attach before the load starts
    before = {k: thread_cpu_seconds(pids[k]) for k in ("web", "store")}
    phase = await load.run(name, ENDPOINTS[name], seconds - 0.6, pids)
    cpu = {k: _delta(thread_cpu_seconds(pids[k]), before[k]) for k in ("web", "store")}
    problems = []
    for spy in spies:
        _, stderr = spy.communicate(timeout=30)
        if spy.returncode != 0:
            problems.append(stderr.decode(errors="replace").strip()[-500:])
    return phase, parse_raw(web_out, BUCKETS, cpu["web"]), parse_raw(store_out, STORE_BUCKETS, cpu["store"]), problems


def _delta(after: dict[int, float], before: dict[int, float]) -> dict[int, float]:
    return {tid: value - before.get(tid, 0.0) for tid, value in after.items()}


# -- output -----------------------------------------------------------------------------------------


def phase_row(label: str, phase: Phase) -> str:
    per_req = {k: (v * 1000 / phase.answered if phase.answered else float("nan")) for k, v in phase.cpu.items()}
    ours_cpu = phase.cpu.get("web", 0) + phase.cpu.get("store", 0) + phase.cpu.get("client", 0)
    return (f"{label:<14} {phase.rps:8.1f} {phase.pct(0.50):8.1f} {phase.pct(0.99):8.1f} {phase.ok:7d} {len(phase.errors):6d}"
            f" {per_req.get('web', 0):8.1f} {per_req.get('store', 0):8.1f} {per_req.get('client', 0):8.1f}"
            f" {ours_cpu / phase.seconds * 100:6.0f}% {(phase.cpu.get('machine', 0) - ours_cpu) / phase.seconds * 100:6.0f}%")


def print_commands(ours: Phase, bare: Phase) -> None:
    """Store round trips per request, from pymongo's command monitoring in the web process."""
    names = sorted(set(ours.commands) | set(bare.commands), key=lambda n: -ours.commands.get(n, 0))
    print("\nstore commands per answered request (pymongo command monitoring in the web process):")
    print(f"  {'command':<32} {'ours':>7} {'bare':>7}   {'ours ms':>8} {'bare ms':>8}  (ms: round trip as the driver saw it)")
    for name in names + ["total"]:
        row = []
        for phase in (ours, bare):
            n = sum(phase.commands.values()) if name == "total" else phase.commands.get(name, 0)
            us = sum(phase.command_micros.values()) if name == "total" else phase.command_micros.get(name, 0)
            row.append((n / phase.answered if phase.answered else 0, us / 1000 / phase.answered if phase.answered else 0))
        print(f"  {name:<32} {row[0][0]:7.2f} {row[1][0]:7.2f}   {row[0][1]:8.2f} {row[1][1]:8.2f}")
    writes = ("insert", "update", "delete", "findAndModify")
    summary = []
    for label, phase in (("ours", ours), ("bare", bare)):
        total = sum(phase.commands.values()) / phase.answered if phase.answered else 0
        written = sum(n for name, n in phase.commands.items() if name.split()[0] in writes) / phase.answered if phase.answered else 0
        summary.append(f"{label} {total:.2f} round trips ({written:.2f} writes)")
    print("  per request: " + ", ".join(summary))


def _bucket_table(title: str, width: int, bucket_names: list[str], profiles: dict, which: int) -> None:
    names = list(profiles)
    header = f"{title:<{width}}" + "".join(f" {n + ' %':>8} {n + ' ms/req':>12}" for n in names)
    print(header)
    print("-" * len(header))
    for bucket in bucket_names:
        values = []
        for n in names:
            phase, prof = profiles[n][0], profiles[n][which]
            cpu, total = prof.bucket_cpu.get(bucket, 0.0), prof.total_cpu
            values.append((cpu / total * 100 if total else 0.0, cpu * 1000 / phase.answered if phase.answered else 0.0))
        if any(share >= 0.05 for share, _ in values):
            print(f"{bucket:<{width}}" + "".join(f" {share:8.1f} {ms:12.2f}" for share, ms in values))
    print(f"{'total':<{width}}" + "".join(
        f" {100.0:8.1f} {profiles[n][which].total_cpu * 1000 / profiles[n][0].answered if profiles[n][0].answered else 0:12.2f}"
        for n in names))


def print_profiles(profiles: dict[str, tuple[Phase, Profile, Profile]]) -> None:
    names = list(profiles)
    print("\nWhere the time goes: CPU of the web process by bucket (py-spy samples of each thread, weighted by the"
          " CPU that thread used;\nbucket of the innermost recognisable frame; ms/req: CPU ms per answered request)")
    _bucket_table("web process", 36, [b for b, _ in BUCKETS] + ["other (stdlib, gc...)"], profiles, 1)
    for n in names:
        phase, web, _ = profiles[n]
        groups = ", ".join(f"{k} {v / web.total_cpu * 100:.0f}%" for k, v in web.thread_groups().most_common()) if web.total_cpu else "-"
        print(f"  {n}: {phase.ok} ok + {phase.answered - phase.ok} HTTP errors in {phase.seconds:.1f} s under py-spy"
              f" ({phase.rps:.1f} ok/s); web CPU by thread: {groups}")
    for n in names:
        _, web, _ = profiles[n]
        print(f"\nTop self-time functions, web process, {n} (share of its CPU):")
        for leaf, cpu in web.leaf_cpu.most_common(12):
            print(f"  {cpu / web.total_cpu * 100:5.1f}%  {leaf}")
    print("\nStore process (nx-27017):")
    _bucket_table("store process", 46, [b for b, _ in STORE_BUCKETS] + ["other (stdlib, gc...)"], profiles, 2)
    for n in names:
        _, _, store = profiles[n]
        print(f"\nTop self-time functions, store process, {n} (share of its CPU):")
        for leaf, cpu in store.leaf_cpu.most_common(8):
            print(f"  {cpu / store.total_cpu * 100:5.1f}%  {leaf}")


def stored_check(store_port: int, tally: Counter) -> list[str]:
    """What the store holds after the run, next to what the clients were told; and the document sizes."""
    import bson
    from pymongo import MongoClient

    client = MongoClient(f"mongodb://127.0.0.1:{store_port}/?directConnection=true", serverSelectionTimeoutMS=5000)
    lines = []
    try:
        db = client["xinfang"]
        real = [p for p in db["petitions"].find({}) if str(p.get("number", "")).startswith("SIYANG-EDU-")]
        bare = [p for p in db["petitions"].find({}) if str(p.get("number", "")).startswith("BARE-")]
        receipts = {r["petition_id"] for r in db["receipts"].find({})}
        events = {e.get("subject_id") for e in db["outbox_events"].find({"name": "petition.submitted"})}
        numbers = Counter(p["number"] for p in real)
        answers = ", ".join(f"{answer}: {n}" for (endpoint, answer), n in sorted(tally.items(), key=str) if endpoint == "ours")
        ours_201 = tally.get(("ours", 201), 0)
        # A petition carries its receipt hash and its event in its one write; the receipt row and the
        # OutboxEvent row are derived later by a worker (none runs here), so they are counted apart.
        carried = sum(1 for p in real if p.get("receipt_hash") and any(e.get("name") == "petition.submitted" for e in p.get("outbox") or []))
        lines.append(f"ours, every phase: answers {answers}; stored {len(real)} petitions"
                     f" ({sum(1 for p in real if p.get('receipt_hash'))} with their receipt hash,"
                     f" {carried} carrying their submitted event not yet materialised (no worker runs here),"
                     f" {sum(1 for p in real if str(p['_id']) in receipts)} with a receipt row,"
                     f" {sum(1 for p in real if str(p['_id']) in events)} with an outbox event row,"
                     f" {sum(1 for c in numbers.values() if c > 1)} numbers twice)")
        if len(real) != ours_201:
            lines.append(f"  -> {len(real) - ours_201:+d} stored petitions compared with the 201 answers:"
                         f" citizens were told the submission failed although it was stored" if len(real) > ours_201 else
                         f"  -> {len(real) - ours_201:+d}: acknowledged petitions missing from the store")
        lines.append(f"bare, every phase: {tally.get(('bare', 201), 0)} answered 201; stored {len(bare)}")
        if real and bare:
            diff = sorted(set(real[0]) ^ set(bare[0]))
            lines.append(f"document sizes (BSON): real petition {len(bson.encode(real[0]))} B, bare {len(bson.encode(bare[0]))} B;"
                         f" fields only in one of them: {diff or 'none'}")
    finally:
        client.close()
    return lines


async def benchmark(args, base_url: str, pids: dict[str, int], tmp: Path) -> int:
    load = Load(base_url, args.clients)
    try:
        for name in ("bare", "ours"):
            warm = await load.run(name, ENDPOINTS[name], args.warmup, pids)
            if warm.errors:
                print(f"warm-up {name}: {len(warm.errors)} error(s), first: {warm.errors[0]}")
        slices: list[Phase] = []
        slice_seconds = args.duration / args.rounds
        for round_no in range(args.rounds):
            for name in ("bare", "ours"):
                phase = await load.run(name, ENDPOINTS[name], slice_seconds, pids)
                phase.name = f"{name} #{round_no + 1}"
                slices.append(phase)
        profiles = {}
        if args.profile > 0:
            for name in ("ours", "bare"):
                result = await profiled_phase(load, name, args.profile, pids, tmp, args.py_spy_rate)
                if result is None:
                    print("\npy-spy not found: /tmp/venv/bin/pip install py-spy (profile skipped)")
                    break
                phase, web, store, problems = result
                for problem in problems:
                    print(f"py-spy: {problem}")
                profiles[name] = (phase, web, store)
    finally:
        await load.close()

    totals: dict[str, Phase] = {}
    for phase in slices:
        key = phase.name.split()[0]
        totals[key] = totals[key].merged(phase) if key in totals else Phase(key).merged(phase)
    bare, ours = totals["bare"], totals["ours"]

    print(f"\n{args.clients} concurrent clients, HTTP/1.1 keep-alive; {args.duration:g} s per endpoint in {args.rounds} alternating"
          f" slices after {args.warmup:g} s warm-up each; {os.cpu_count()} cores")
    print(f"{'':14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>7} {'errors':>6}"
          f" {'web ms':>8} {'store ms':>8} {'clnt ms':>8} {'bench':>7} {'others':>7}")
    print(f"{'':14} {'':>8} {'':>8} {'':>8} {'':>7} {'':>6} {'CPU/req':>8} {'CPU/req':>8} {'CPU/req':>8} {'CPU':>7} {'CPU':>7}")
    for phase in slices:
        print(phase_row(phase.name, phase))
    print(phase_row("bare (all)", bare))
    print(phase_row("ours (all)", ours))
    print("  (CPU/req: CPU ms per answered request of the web process, the store and this load generator;"
          " bench CPU: % of one core used by those three; others CPU: the rest of the machine)")
    busy = [p.name for p in slices if (p.cpu.get("machine", 0) - sum(p.cpu.get(k, 0) for k in ("web", "store", "client"))) / p.seconds > 0.2]
    if busy:
        print(f"  WARNING: other processes used more than 20% of a core during {', '.join(busy)}: the comparison is unreliable; rerun on a quiet machine")
    throughput = ours.rps / bare.rps if bare.rps else float("nan")
    p99 = ours.pct(0.99) / bare.pct(0.99)
    print(f"\nours / bare: throughput {throughput:.2f} (goal >= 0.90: {'met' if throughput >= 0.9 else 'NOT met'}),"
          f" p50 latency x{ours.pct(0.5) / bare.pct(0.5):.2f}, p99 latency x{p99:.2f}"
          f" (goal < 1.30: {'met' if p99 < 1.3 else 'NOT met'})")
    cpu_ours = sum(ours.cpu.get(k, 0) for k in ("web", "store", "client")) * 1000 / ours.answered if ours.answered else float("nan")
    cpu_bare = sum(bare.cpu.get(k, 0) for k in ("web", "store", "client")) * 1000 / bare.answered if bare.answered else float("nan")
    print(f"CPU per request (web + store + load generator): ours {cpu_ours:.1f} ms, bare {cpu_bare:.1f} ms;"
          f" with every core busy the throughput ratio tends to bare/ours = {cpu_bare / cpu_ours:.2f}")
    print_commands(ours, bare)
    errors = bare.errors + ours.errors
    print(f"errors: {len(errors)} (bare {len(bare.errors)}, ours {len(ours.errors)})")
    for text, count in Counter(errors).most_common(10):
        print(f"  {count} x {text}")
    if profiles:
        print_profiles(profiles)
    return len(errors), load.tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per endpoint (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating slices per endpoint (default 2)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint (default 3)")
    parser.add_argument("--profile", type=float, default=6, help="py-spy seconds per endpoint, 0 to skip (default 6)")
    parser.add_argument("--py-spy-rate", type=int, default=100, help="py-spy samples per second (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the clean-up below

    from xinfang.store.embedded import EmbeddedStore

    tmp = Path(tempfile.mkdtemp(prefix="xinfang-bench-"))
    data_dir = tmp / "data"
    store_port, web_port = free_port(), free_port()
    queue = f"xinfang-bench-{uuid.uuid4().hex[:8]}"
    env = platform_env(data_dir, store_port, web_port, queue)
    log_path = tmp / "web.log"
    store = server = None
    failures = 1
    started = time.monotonic()
    try:
        store = EmbeddedStore(data_dir / "store", store_port).start()
        loaded = load_tenants(env)
        server = start_server(env, log_path)
        ready = wait_http(f"http://127.0.0.1:{web_port}/t/{TENANT}/api/tenant", server)
        print(f"load average before the run: {Path('/proc/loadavg').read_text().split()[:3]}")
        print(f"set-up: store on :{store_port}, tenants loaded in {loaded:.1f} s, web on :{web_port} ready in {ready:.1f} s,"
              f" Celery queue {queue!r} on the machine's Redis")
        pids = {"web": server.pid, "store": store.process.pid, "client": os.getpid()}
        failures, tally = asyncio.run(benchmark(args, f"http://127.0.0.1:{web_port}", pids, tmp))
        print()
        for line in stored_check(store_port, tally):
            print(line)
    finally:  # clean up first, then report (a closed stdout must not leave processes or files behind)
        stop_process(server)
        if store is not None:
            store.stop()
        removed = delete_queue(queue)
        count, kinds = web_log_summary(log_path)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"web server log: {count} warning/error line(s)" + ("; most frequent:" if kinds else ""))
        for text, n in kinds:
            print(f"  {n:5d} x {text}")
        print(f"Redis keys removed: {', '.join(removed) or 'none'}; total run {time.monotonic() - started:.0f} s")
        if args.keep:
            print(f"kept {tmp}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
