"""Scale-out on one machine: several web processes behind a real reverse proxy, two workers, one indexer, one beat,
one store, next to one web process and one worker without a proxy, in the same run (issue 16).

Set-up (all children of this script, on a temporary data directory): the embedded store (nx-27017) on a free port,
the demo tenants loaded with ``xinfang load-tenants``, one ``xinfang indexer`` and one ``xinfang beat`` for the whole
run, and Celery queues of the run's own on the machine's Redis (redis://127.0.0.1:6379, deleted at the end).

1. **baseline**: one ``xinfang serve`` and one ``xinfang worker --concurrency 1``; the load goes to the web process
   directly.
2. **scale-out**: two more ``xinfang serve`` (three, each on its own port), a second worker, and Debian's nginx in
   front of the three (round robin, keep-alive to the upstreams; installed with apt-get on first use as ``./dev``
   installs chromium, or the run stops saying why); the load goes through nginx.

The load of each phase is bounded: ``--submissions`` anonymous petitions from ``--clients`` concurrent citizens
(each with its own Idempotency-Key), while a registrar and a leader, each logged in once through the entry point
(session cookie and CSRF token), accept every third petition and assign it to the handler. Throughput (submissions
per second over the phase's load) and submission latency p50/p95 of both phases are printed with their ratio. The
machine has two cores: one web process already keeps both busy with argon2 receipt hashes off its event loop
(bench/README.md), so more processes on the same cores are not expected to be faster; what this run shows is that
the platform stays correct when it is spread over processes, and what the spreading costs.

Afterwards, when the workers and the indexer have caught up (nothing carrying unhandled events, no search backlog,
no analytics recount pending), the store and the index are checked:

* none lost: every acknowledged submission's receipt resolves to its number (its hash in ``receipts`` points at the
  petition of that number; a few also through ``/api/receipts/lookup`` on the proxy), every petition is in the
  tenant's search index (search caught up);
* none twice: one petition per Idempotency-Key and number, one receipt row and one ``petition.submitted`` event per
  petition, one analytics fact per petition and the month cells' "received" equal to the petitions counted, one
  search document per petition, no repeated step in any petition's step list, exactly one "assigned" notification
  per assigned petition;
* sessions valid on every web process: a cookie obtained through the proxy reads ``/api/me`` on each replica's own
  port, and takes a step (with its CSRF token) on each.

    .venv/bin/python bench/scale_out.py                       # 300 submissions per phase, 16 citizens
    .venv/bin/python bench/scale_out.py --submissions 600 --clients 32 --web 3 --workers 2
    .venv/bin/python bench/scale_out.py --tiny                # 12 submissions, 3 citizens, 2 web: what the test suite runs

Exit status 1 when any check fails or any request failed. Without nginx, and no way to install it, the run says
"scale-out run skipped" and why, and exits 0 (the test suite then skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from _common import (
    LOOKUP_PATH, REDIS_URL, REPO, SUBMIT_PATH, TENANT, delete_queue, free_port, load_tenants, machine_busy_seconds,
    platform_env, stop_process, wait_http, web_log_summary,
)

PASSWORD = "bench-password-1"
# Citizens' own words (the labelled search corpus): a load of one text repeated would make every petition a likely
# repeat of every other, and the indexer's repeat check would grow with the square of their number.
CORPUS = REPO / "tests" / "data" / "search_corpus" / "messages.jsonl"
STAFF_SHARE = 3  # every third acknowledged petition is accepted and assigned by staff


# -- the reverse proxy -----------------------------------------------------------------------------------------


def ensure_nginx() -> tuple[str | None, str]:
    """nginx's path, installing Debian's package on first use; or None and why not."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found:
        return found, "installed"
    if not shutil.which("apt-get"):
        return None, "no nginx and no apt-get to install it (install nginx, then run again)"
    print("installing nginx for the scale-out run (first run only) / 安装 nginx（仅首次）...", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    log = []
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "nginx"]):
        result = subprocess.run(prefix + argv, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        log.append(result.stdout[-2000:] + result.stderr[-2000:])
        if result.returncode != 0 and argv[1] == "install":
            return None, f"apt-get install nginx failed (status {result.returncode}):\n" + "\n".join(log)[-3000:]
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    return (found, "installed now") if found else (None, "nginx installed but not found on PATH")


def nginx_config(tmp: Path, port: int, upstreams: list[int]) -> Path:
    # Run as this user (root: workers as root too, or they could not reach the private temporary directory).
    user = "user root root;\n" if os.geteuid() == 0 else ""
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in upstreams)
    temp = "".join(f"  {kind}_temp_path {tmp / ('nginx-' + kind)};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = tmp / "nginx.conf"
    path.write_text(f"""{user}worker_processes 1;
daemon off;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'nginx-error.log'} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp}  upstream xinfang {{
{servers}    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 20m;
    location / {{
      proxy_pass http://xinfang;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
""")
    return path


# -- processes -------------------------------------------------------------------------------------------------


class Processes:
    """The platform's processes of this run, each logging to its own file, all stopped at the end."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.tmp, self.env = tmp, env
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], **env) -> subprocess.Popen:
        from xinfang.processes import die_with_parent

        log = open(self.tmp / f"{name}.log", "ab")
        process = subprocess.Popen(argv, env={**self.env, **env}, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.running[name] = process
        return process

    def xinfang(self, name: str, *args: str, **env) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "xinfang", *args], **env)

    def web(self, name: str, port: int) -> subprocess.Popen:
        return self.xinfang(name, "serve", XINFANG_PORT=str(port))

    def stop_all(self) -> None:
        for process in reversed(list(self.running.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            stop_process(process, timeout=15)

    def cpu_seconds(self) -> float:
        """CPU of every process of this run and their children (the workers' task processes), from /proc."""
        from _common import CLK_TCK

        parent, cpu = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        roots = {p.pid for p in self.running.values()}
        total = 0.0
        for pid, seconds in cpu.items():
            walk = pid
            while walk > 1 and walk not in roots:
                walk = parent.get(walk, 0)
            if walk in roots:
                total += seconds
        return total


def start_scale_out(processes: Processes, web_ports: list[int], workers: int) -> None:
    """The web processes and workers the scale-out phase adds to the baseline's."""
    for n, port in enumerate(web_ports[1:], 2):
        processes.web(f"web-{n}", port)
    for n in range(2, workers + 1):
        processes.xinfang(f"worker-{n}", "worker", "--concurrency", "1", "--loglevel", "WARNING")


def wait_until(check, timeout: float, what: str, every: float = 0.3):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answer = check()
        if answer:
            return time.monotonic() - started
        time.sleep(every)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def wait_for_roles(env: dict[str, str], processes: Processes) -> float:
    """Until every worker and the indexer of this run answer a Celery ping and the beat has recorded itself.

    Nodes are matched by their process ids (``xinfang-<pid>@host``, cli.py): other Celery workers on the machine's
    Redis answer the same broadcast ping.
    """
    from xinfang.role_probe import probe_beat
    from xinfang.settings import Settings
    from xinfang.worker import make_celery

    settings = Settings.from_env(env)
    app = make_celery(settings)
    expected = {f"xinfang-indexer-{p.pid}" if name == "indexer" else f"xinfang-{p.pid}"
                for name, p in processes.running.items() if name == "indexer" or name.startswith("worker-")}

    def ready() -> bool:
        for name, process in processes.running.items():
            if process.poll() is not None:
                log = (processes.tmp / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with status {process.returncode}: {log}")
        answering = {node.split("@", 1)[0] for reply in app.control.ping(timeout=1.0) for node in reply}
        return expected <= answering and probe_beat(settings).ok

    return wait_until(ready, 120, "workers, indexer and beat answering")


# -- load ------------------------------------------------------------------------------------------------------


@dataclass
class Ack:
    key: str
    number: str
    receipt: str


@dataclass
class Phase:
    name: str
    acks: list[Ack] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    staff_latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)  # petition ids
    assigned: set[str] = field(default_factory=set)
    upstreams: Counter = field(default_factory=Counter)  # which replica answered (the proxy says)
    seconds: float = 0.0
    cpu_ours: float = 0.0
    cpu_machine: float = 0.0
    load_before: str = ""
    load_after: str = ""
    elapsed: float = 0.0  # the whole phase's load, staff included
    cpu_generator: float = 0.0  # this script's CPU meanwhile
    caught_up: float = float("nan")  # seconds from the end of the load until nothing waited for a worker or the indexer


def cookie_header(response: httpx.Response) -> str:
    return "; ".join(c.split(";", 1)[0] for c in response.headers.get_list("set-cookie"))


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Log in through ``client`` (session cookie + CSRF token): the headers a browser would send with a write."""
    response = await client.post(f"/t/{TENANT}/api/session", json={"username": username, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"login of {username}: HTTP {response.status_code} {response.text[:300]}")
    return {"Cookie": cookie_header(response), "X-CSRF-Token": response.json()["csrf_token"]}


def petition_texts() -> list[dict]:
    import json

    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


TEXTS: list[dict] = []
NEXT_TEXT = itertools.count()


def petition_body(key: str) -> dict:
    """An anonymous petition with the next message of the corpus, ending with its Idempotency-Key to find it by."""
    if not TEXTS:
        TEXTS.extend(petition_texts())
    message = TEXTS[next(NEXT_TEXT) % len(TEXTS)]
    return {"form": "petition", "anonymous": True,
            "answers": {"title": message["title"][:100], "category": "integrity", "content": f"{message['text']} 编号 {key}"}}


async def citizens(base: str, phase: Phase, count: int, clients: int) -> None:
    tags = iter(range(count))

    async def citizen() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for _ in tags:
                key = f"scale-{uuid.uuid4().hex}"
                started = time.monotonic()
                try:
                    response = await client.post(SUBMIT_PATH, json=petition_body(key), headers={"Idempotency-Key": key})
                except httpx.HTTPError as exc:
                    phase.errors[f"submit: {type(exc).__name__}"] += 1
                    continue
                if response.status_code != 201:
                    phase.errors[f"submit: HTTP {response.status_code} {response.text[:120]}"] += 1
                    continue
                phase.latencies.append(time.monotonic() - started)
                phase.upstreams[response.headers.get("x-upstream", "direct")] += 1
                body = response.json()
                phase.acks.append(Ack(key, body["number"], body["receipt"]))

    await asyncio.gather(*(citizen() for _ in range(clients)))


async def staff(base: str, phase: Phase, ids_of, citizens_done: asyncio.Event) -> None:
    """A registrar accepts and a leader assigns every STAFF_SHARE-th acknowledged petition, while the citizens file.

    Each logs in once through the entry point; their steps carry the session cookie and the CSRF token, and land on
    whichever replica the proxy picks. (Which petition has which id is read from the store: paging through the inbox
    would cost more as the store fills, and so cost the second phase more than the first.)
    """
    # One client (one browser) each: a second login from the same browser ends the first one's session.
    async with httpx.AsyncClient(base_url=base, timeout=60) as registrar_client, \
            httpx.AsyncClient(base_url=base, timeout=60) as leader_client:
        registrar, leader = await login(registrar_client, "registrar"), await login(leader_client, "leader")
        clients = {id(registrar): registrar_client, id(leader): leader_client}

        async def step(headers: dict, petition_id: str, key: str, fields: dict) -> bool:
            started = time.monotonic()
            response = await clients[id(headers)].post(f"/t/{TENANT}/api/petitions/{petition_id}/transitions/{key}", json={"fields": fields},
                                         headers=headers)
            if response.status_code != 200:
                phase.errors[f"{key}: HTTP {response.status_code} {response.text[:120]}"] += 1
                return False
            phase.staff_latencies.append(time.monotonic() - started)
            phase.upstreams[response.headers.get("x-upstream", "direct")] += 1
            return True

        done: set[str] = set()
        handler_id = await asyncio.to_thread(ids_of.handler)
        while True:
            waiting = [a.number for a in phase.acks if int(a.number.rsplit("-", 1)[1]) % STAFF_SHARE == 0 and a.number not in done]
            if not waiting and citizens_done.is_set():
                return
            if not waiting:
                await asyncio.sleep(0.5)
                continue
            for number, petition_id in (await asyncio.to_thread(ids_of.petitions, waiting)).items():
                done.add(number)
                if await step(registrar, petition_id, "accept", {"opinion": "受理"}):
                    phase.accepted.add(petition_id)
                    if await step(leader, petition_id, "assign", {"assignee": handler_id}):
                        phase.assigned.add(petition_id)
            await asyncio.sleep(0.1)


async def run_load(base: str, phase: Phase, args, ids_of) -> None:
    done = asyncio.Event()
    staff_task = asyncio.create_task(staff(base, phase, ids_of, done))
    started = time.monotonic()
    await citizens(base, phase, args.submissions, args.clients)
    phase.seconds = time.monotonic() - started
    done.set()
    await staff_task


def measure(phase: Phase, processes: Processes, base: str, args, ids_of) -> None:
    phase.load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    ours, machine, own = processes.cpu_seconds(), machine_busy_seconds(), os.times()
    load_started = time.monotonic()
    asyncio.run(run_load(base, phase, args, ids_of))
    phase.elapsed = time.monotonic() - load_started
    after = os.times()
    phase.cpu_ours = processes.cpu_seconds() - ours
    phase.cpu_generator = (after.user + after.system) - (own.user + own.system)
    phase.cpu_machine = machine_busy_seconds() - machine
    phase.load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    line = phase_line(phase)  # at once, before the wait for the background work (which may be long)
    print(f"{phase.name}: {len(phase.acks)} submissions in {phase.seconds:.1f} s, {line['rate']:.1f}/s, p50 {line['p50']:.0f} ms,"
          f" p95 {line['p95']:.0f} ms; {len(phase.staff_latencies)} staff steps, p50 {line['staff_p50']:.0f} ms; other processes"
          f" {line['others'] * 100:.0f} % of a core; load average {phase.load_before} -> {phase.load_after}", flush=True)


# -- after the load --------------------------------------------------------------------------------------------


class Ids:
    """Petition ids by number, and the handler's id, from the store (what staff would have read on their pages)."""

    def __init__(self, db, tenant_id: str):
        self.db, self.tenant_id = db, tenant_id

    def petitions(self, numbers: list[str]) -> dict[str, str]:
        return {p["number"]: str(p["_id"]) for p in self.db["petitions"].find(
            {"tenant_id": self.tenant_id, "number": {"$in": numbers}}, projection={"number": 1})}

    def handler(self) -> str:
        return str(self.db["staff_accounts"].find_one({"tenant_id": self.tenant_id, "username": "handler"})["_id"])


def store_client(store_uri: str):
    from pymongo import MongoClient

    return MongoClient(store_uri, serverSelectionTimeoutMS=10_000)


WAITING = {  # what still waits for a worker, the indexer or a recount: collection and filter
    "petitions carrying unhandled events": ("petitions", lambda tenant_id: {"outbox_pending": True}),
    "search backlog": ("search_backlog", lambda tenant_id: {"tenant_id": tenant_id}),
    "analytics recounts pending": ("analytics_dirty", lambda tenant_id: {"dirty": True}),
}
POLL_SECONDS = 3.0  # the embedded store has one thread: polling it often slows the very work being waited for


def caught_up(db, tenant_id: str, count: bool = False) -> dict[str, int]:
    """What still waits, by kind: counted (slow on the embedded store) or only whether any (one indexed look-up)."""
    out = {}
    for kind, (collection, query) in WAITING.items():
        if count:
            out[kind] = db[collection].count_documents(query(tenant_id))
        else:
            out[kind] = int(db[collection].find_one(query(tenant_id), projection={"_id": 1}) is not None)
    return out


def wait_caught_up(db, tenant_id: str, timeout: float) -> tuple[float, dict[str, int], dict[str, float]]:
    """Seconds until nothing waits for a worker or the indexer, what still waits (if the time ran out), and when each
    kind of work was last seen waiting."""
    started = time.monotonic()
    left = caught_up(db, tenant_id, count=True)
    print(f"  waiting at the end of the load: {', '.join(f'{k} {v}' for k, v in left.items())}", flush=True)
    last_seen = {kind: 0.0 for kind in left}
    while any(left.values()) and time.monotonic() - started < timeout:
        for kind, waiting in left.items():
            if waiting:
                last_seen[kind] = time.monotonic() - started
        time.sleep(POLL_SECONDS)
        left = caught_up(db, tenant_id)
    if any(left.values()):
        left = caught_up(db, tenant_id, count=True)
    return time.monotonic() - started, left, last_seen


def indexed_ids(data_dir: Path, tenant_id: str) -> Counter:
    from xinfang_search.index import TenantIndexDir

    ix = TenantIndexDir(data_dir, tenant_id).open()
    with ix.searcher() as searcher:
        return Counter(fields["id"] for fields in searcher.all_stored_fields())


def verify(db, env: dict[str, str], data_dir: Path, tenant_id: str, phases: list[Phase]) -> list[str]:
    """Every problem found (an empty list: none lost, none twice)."""
    from xinfang.crypto import KeyRing
    from xinfang.secrets_file import resolve_encryption_key
    from xinfang.settings import Settings

    problems: list[str] = []
    acks = [a for p in phases for a in p.acks]
    assigned = set().union(*(p.assigned for p in phases))
    petitions = list(db["petitions"].find({"tenant_id": tenant_id}))
    by_number = Counter(p["number"] for p in petitions)
    problems += [f"number {n} stored {c} times" for n, c in by_number.items() if c > 1]
    if len(petitions) != len(acks):
        problems.append(f"{len(petitions)} petitions stored for {len(acks)} acknowledged submissions")
    by_key = Counter(p["answers"]["content"].rsplit(" ", 1)[-1] for p in petitions)
    problems += [f"Idempotency-Key {k} stored {c} times" for k, c in by_key.items() if c > 1]
    numbers = {p["number"]: p for p in petitions}
    ids = {str(p["_id"]) for p in petitions}

    # Receipts: every acknowledged receipt resolves to the petition of its number, as the look-up resolves it (the
    # petition's own receipt hash first), and once a worker has completed the petition its one receipt row agrees.
    keyring = KeyRing(resolve_encryption_key(Settings.from_env(env)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = list(pool.map(keyring.receipt_hash, (a.receipt for a in acks)))
    receipts = list(db["receipts"].find({"tenant_id": tenant_id}))
    by_hash: dict[str, list[dict]] = {}
    for row in receipts:
        by_hash.setdefault(row["receipt_hash"], []).append(row)
    for ack, receipt_hash in zip(acks, hashes):
        petition = numbers.get(ack.number)
        if petition is None:
            problems.append(f"{ack.number}: acknowledged, not stored (lost)")
            continue
        rows = by_hash.get(receipt_hash, [])
        if petition.get("receipt_hash") != receipt_hash and not any(
                str(r.get("petition_id") or r["_id"]) == str(petition["_id"]) for r in rows):
            problems.append(f"{ack.number}: its receipt resolves to no petition, or another one")
        elif not petition.get("outbox_pending") and (
                len(rows) != 1 or str(rows[0].get("petition_id") or rows[0]["_id"]) != str(petition["_id"])):
            problems.append(f"{ack.number}: completed, with {len(rows)} receipt row(s) for its receipt")
    per_petition = Counter(str(r.get("petition_id") or r["_id"]) for r in receipts)
    problems += [f"petition {pid}: {c} receipt rows" for pid, c in per_petition.items() if c > 1]

    submitted = Counter(str(e.get("subject_id")) for e in db["outbox_events"].find({"name": "petition.submitted", "tenant_id": tenant_id}))
    problems += [f"petition {pid}: {submitted.get(pid, 0)} petition.submitted events" for pid in ids if submitted.get(pid, 0) != 1]

    # Steps: none repeated; the assigned ones went submitted -> accept -> assign once each.
    for petition in petitions:
        actions = [s["action"] for s in petition.get("steps", [])]
        repeated = [a for a, c in Counter(actions).items() if c > 1]
        if repeated:
            problems.append(f"{petition['number']}: step(s) {repeated} recorded more than once")
        if str(petition["_id"]) in assigned and actions[-2:] != ["accept", "assign"]:
            problems.append(f"{petition['number']}: steps {actions}, expected accept then assign last")

    # Notifications: one "assigned" per assigned petition, none for the others.
    told = Counter(n.get("subject_id") for n in db["notifications"].find({"tenant_id": tenant_id, "kind": "assigned"}))
    problems += [f"petition {pid}: {told.get(pid, 0)} 'assigned' notifications" for pid in assigned if told.get(pid, 0) != 1]
    problems += [f"petition {pid}: 'assigned' notification without an assignment" for pid in told if pid not in assigned]

    # Analytics: one fact per petition; the month cells count each petition once.
    facts = Counter(str(f["_id"]) for f in db["analytics_facts"].find({"tenant_id": tenant_id, "subject": "petition"}))
    problems += [f"petition {pid}: {facts.get(pid, 0)} analytics facts" for pid in ids if facts.get(pid, 0) != 1]
    received = sum(c.get("counts", {}).get("received", 0) for c in db["analytics_cells"].find(
        {"tenant_id": tenant_id, "scope": "own", "grain": "month", "slice": ""}))
    if received != len(petitions):
        problems.append(f"the month cells count {received} received petitions, the store holds {len(petitions)}")

    # Search: every petition indexed once (the indexer caught up), nothing else.
    indexed = indexed_ids(data_dir, tenant_id)
    problems += [f"petition {pid}: {indexed.get(pid, 0)} search documents" for pid in ids if indexed.get(pid, 0) != 1]
    problems += [f"search document {pid} of no petition" for pid in indexed if pid not in ids]
    return problems


async def sessions_on_every_replica(proxy: str, ports: list[int], petition_ids: list[str]) -> list[str]:
    """A cookie from a login through the proxy works on each replica's own port: a read, and a step with its CSRF token."""
    problems = []
    async with httpx.AsyncClient(base_url=proxy, timeout=30) as client:
        headers = await login(client, "registrar")
    for port, petition_id in zip(ports, petition_ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as replica:
            me = await replica.get(f"/t/{TENANT}/api/me", headers={"Cookie": headers["Cookie"]})
            if me.status_code != 200 or me.json()["account"].get("username") != "registrar":
                problems.append(f"replica :{port}: /api/me with the proxy's session cookie: HTTP {me.status_code} {me.text[:160]}")
            step = await replica.post(f"/t/{TENANT}/api/petitions/{petition_id}/transitions/accept",
                                      json={"fields": {"opinion": "受理"}}, headers=headers)
            if step.status_code != 200:
                problems.append(f"replica :{port}: a step with the session and its CSRF token: HTTP {step.status_code} {step.text[:160]}")
            without = await replica.post(f"/t/{TENANT}/api/petitions/{petition_id}/transitions/accept",
                                         json={"fields": {"opinion": "受理"}}, headers={"Cookie": headers["Cookie"]})
            if without.status_code < 400:  # the check can fail: a write without the token must be refused
                problems.append(f"replica :{port}: a write without the CSRF token was taken (HTTP {without.status_code})")
    return problems


async def lookups(base: str, acks: list[Ack]) -> list[str]:
    """A few receipts looked up over HTTP through the entry point (the rest are checked in the store: rate limits)."""
    problems = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for ack in acks:
            response = await client.post(LOOKUP_PATH, json={"receipt": ack.receipt})
            if response.status_code != 200 or response.json().get("number") != ack.number:
                problems.append(f"receipt of {ack.number} through {base}: HTTP {response.status_code} {response.text[:160]}")
    return problems


# -- report ----------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def phase_line(phase: Phase) -> dict:
    rate = len(phase.acks) / phase.seconds if phase.seconds else 0.0
    return {
        "rate": rate,
        "p50": percentile(phase.latencies, 50) * 1000,
        "p95": percentile(phase.latencies, 95) * 1000,
        "staff_p50": percentile(phase.staff_latencies, 50) * 1000,
        "others": max(0.0, phase.cpu_machine - phase.cpu_ours - phase.cpu_generator) / max(phase.elapsed, 1e-9),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=300, help="submissions per phase (default 300)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent citizens (default 16)")
    parser.add_argument("--web", type=int, default=None, help="web processes behind the proxy (default 3; --tiny 2)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers in the scale-out phase (default 2)")
    parser.add_argument("--tiny", action="store_true", help="12 submissions per phase, 3 citizens, 2 web processes (the test suite's run)")
    parser.add_argument("--catch-up", type=float, default=900, help="seconds to wait, after each phase's load, for the workers"
                        " and the indexer to finish its work (default 900; on a busy machine the single-threaded embedded store"
                        " makes every round trip wait for a core)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the logs")
    args = parser.parse_args()
    if args.tiny:
        args.submissions, args.clients = 12, 3
    if args.web is None:  # the tiny run: two replicas behind nginx prove the same path as three, one web start less
        args.web = 2 if args.tiny else 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the clean-up below

    nginx, how = ensure_nginx()
    if nginx is None:
        print(f"scale-out run skipped: {how}")
        return 0

    from xinfang.store.embedded import EmbeddedStore

    tmp = Path(tempfile.mkdtemp(prefix="xinfang-scale-"))
    data_dir = tmp / "data"
    store_port, proxy_port = free_port(), free_port()
    web_ports = [free_port() for _ in range(args.web)]
    queue = f"xinfang-scale-{uuid.uuid4().hex[:8]}"
    env = platform_env(data_dir, store_port, web_ports[0], queue)
    env["XINFANG_TRUSTED_PROXY_HOPS"] = "1"  # as in k8s/configmap.yaml: the address is the proxy's X-Forwarded-For
    processes = Processes(tmp, env)
    store = None
    problems: list[str] = []
    phases: list[Phase] = []
    started = time.monotonic()
    try:
        store = EmbeddedStore(data_dir / "store", store_port).start()
        loaded = load_tenants(env)
        db = store_client(store.uri)["xinfang"]
        tenant_id = str(db["tenants"].find_one({"slug": TENANT})["_id"])
        ids_of = Ids(db, tenant_id)
        print(f"load average before the run: {' '.join(Path('/proc/loadavg').read_text().split()[:3])} ({os.cpu_count()} cores)")
        print(f"set-up: store on :{store_port}, tenants loaded in {loaded:.1f} s, Celery queues {queue!r} and {queue + '.search'!r}"
              f" on {REDIS_URL}, nginx {how}")

        # Phase 1: one web process, one worker, no proxy (the indexer and the beat stay for the whole run).
        processes.xinfang("indexer", "indexer", "--loglevel", "WARNING")
        processes.xinfang("beat", "beat", "--loglevel", "WARNING")
        processes.xinfang("worker-1", "worker", "--concurrency", "1", "--loglevel", "WARNING")
        web = processes.web("web-1", web_ports[0])
        ready = wait_http(f"http://127.0.0.1:{web_ports[0]}/healthz?parts=store,broker", web, timeout=300)  # first start loads the tenants; minutes when the machine is shared
        roles = wait_for_roles(env, processes)
        print(f"baseline: web-1 on :{web_ports[0]} ready in {ready:.1f} s, worker, indexer and beat answering after {roles:.1f} s more")
        baseline = Phase("baseline: 1 web, 1 worker, no proxy")
        measure(baseline, processes, f"http://127.0.0.1:{web_ports[0]}", args, ids_of)
        phases.append(baseline)
        if args.tiny:  # the test suite's run: the scale-out's processes start while the baseline's work is finished
            start_scale_out(processes, web_ports, args.workers)
        waited, left, seen = wait_caught_up(db, tenant_id, args.catch_up)
        baseline.caught_up = waited
        print(f"baseline: {len(baseline.acks)} submissions in {baseline.seconds:.1f} s; workers and indexer caught up {waited:.1f} s later"
              f" (last seen waiting: {', '.join(f'{k} {v:.1f} s' for k, v in seen.items())})" + (f" NOT: {left}" if any(left.values()) else ""))

        # Phase 2: more web processes behind nginx, a second worker.
        if not args.tiny:
            start_scale_out(processes, web_ports, args.workers)
        webs = [processes.running[f"web-{n}"] for n in range(1, len(web_ports) + 1)]
        config = nginx_config(tmp, proxy_port, web_ports)
        proxy = processes.start("nginx", [nginx, "-p", str(tmp), "-c", str(config), "-e", str(tmp / "nginx-error.log")])
        for process, port in zip(webs, web_ports):
            wait_http(f"http://127.0.0.1:{port}/healthz?parts=store,broker", process, timeout=300)
        wait_http(f"http://127.0.0.1:{proxy_port}/healthz?parts=store,broker", proxy, timeout=30)
        roles = wait_for_roles(env, processes)
        print(f"scale-out: {args.web} web processes on :{', :'.join(map(str, web_ports))} behind nginx on :{proxy_port},"
              f" {args.workers} workers, all answering ({roles:.1f} s after the web processes)")
        scaled = Phase(f"scale-out: {args.web} web behind nginx, {args.workers} workers")
        measure(scaled, processes, f"http://127.0.0.1:{proxy_port}", args, ids_of)
        phases.append(scaled)
        waited, left, seen = wait_caught_up(db, tenant_id, args.catch_up)
        scaled.caught_up = waited
        print(f"scale-out: {len(scaled.acks)} submissions in {scaled.seconds:.1f} s; workers and indexer caught up {waited:.1f} s later"
              f" (last seen waiting: {', '.join(f'{k} {v:.1f} s' for k, v in seen.items())})" + (f" NOT: {left}" if any(left.values()) else ""))
        if any(left.values()):
            problems.append(f"not caught up after {args.catch_up:.0f} s: {left}")

        # Sessions on every replica: a petition not chosen by the staff (registered) for each replica's step.
        free = [str(p["_id"]) for p in db["petitions"].find({"tenant_id": tenant_id, "state": "registered"}).limit(len(web_ports))]
        session_problems = asyncio.run(sessions_on_every_replica(f"http://127.0.0.1:{proxy_port}", web_ports, free))
        problems += session_problems
        print(f"sessions: a cookie from a login through nginx, sent to each web process's own port (:{', :'.join(map(str, web_ports))}):"
              f" {'read /api/me and took a step with its CSRF token on every one; refused without the token' if not session_problems else 'FAILED'}")
        wait_caught_up(db, tenant_id, args.catch_up)  # the session check's steps are events too
        sample = scaled.acks[:2] + baseline.acks[:1]
        problems += asyncio.run(lookups(f"http://127.0.0.1:{proxy_port}", sample))
        problems += verify(db, env, data_dir, tenant_id, phases)
        for phase in phases:
            problems += [f"{phase.name}: {n} x {text}" for text, n in phase.errors.items()]
    finally:  # clean up first, then report
        processes.stop_all()
        if store is not None:
            store.stop()
        removed = delete_queue(queue)
        logs = {name: web_log_summary(tmp / f"{name}.log") for name in processes.running}
        nginx_errors = (tmp / "nginx-error.log").read_text(errors="replace").strip().splitlines() if (tmp / "nginx-error.log").exists() else []
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    lines = {p.name: phase_line(p) for p in phases}
    print("| phase | submissions | submissions/s | p50 ms | p95 ms | staff steps | staff step p50 ms | caught up after | CPU others | load avg before -> after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for phase in phases:
        line = lines[phase.name]
        print(f"| {phase.name} | {len(phase.acks)} | {line['rate']:.1f} | {line['p50']:.0f} | {line['p95']:.0f} |"
              f" {len(phase.staff_latencies)} | {line['staff_p50']:.0f} | {getattr(phase, 'caught_up', float('nan')):.1f} s |"
              f" {line['others'] * 100:.0f} % of a core | {phase.load_before} -> {phase.load_after} |")
    if len(phases) == 2:
        base, scaled = lines[phases[0].name], lines[phases[1].name]
        print(f"ratio scale-out / baseline: throughput x{scaled['rate'] / base['rate']:.2f}, p50 x{scaled['p50'] / base['p50']:.2f},"
              f" p95 x{scaled['p95'] / base['p95']:.2f}")
        print("answers by replica (through nginx): " + ", ".join(f"{k}: {v}" for k, v in sorted(phases[1].upstreams.items())))
    for name, (count, kinds) in logs.items():
        if count:
            print(f"{name} log: {count} warning/error line(s); most frequent:")
            for text, n in kinds[:5]:
                print(f"  {n:5d} x {text}")
    if nginx_errors:
        print(f"nginx error log: {len(nginx_errors)} line(s), last: {nginx_errors[-1][:200]}")
    print(f"lost or twice: {'none' if not problems else str(len(problems)) + ' problem(s)'}")
    kinds: dict[str, list[str]] = {}
    for problem in problems:  # one line per kind of problem, with its count and first example
        kinds.setdefault(re.sub(r"[0-9a-f]{24}|\d+", "#", problem), []).append(problem)
    for examples in sorted(kinds.values(), key=len, reverse=True)[:20]:
        print(f"  - {len(examples)} x {examples[0]}")
    print(f"Redis keys removed: {', '.join(removed) or 'none'}; total run {time.monotonic() - started:.0f} s")
    if args.keep:
        print(f"kept {tmp}")
    return 1 if problems or len(phases) < 2 else 0


if __name__ == "__main__":
    sys.exit(main())
