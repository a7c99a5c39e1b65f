"""Submissions under load against ``xinfang run`` while its store, web, worker and beat are killed (SIGKILL).

Nobody restarts anything: ``xinfang run`` (its supervisor) must bring every part
back by itself. Every petition that got a receipt (HTTP 201) must be stored
exactly once, with exactly one receipt row that its receipt hashes to, no case
number may be given twice, and exactly one beat may run after each kill.

Set-up: a temporary data directory and free ports; ``python -m xinfang run`` as
a new user starts it (embedded store, embedded filesystem broker, one worker
that also indexes, one beat, the web server; demo tenants loaded), with a sweep
every 2 s and a 5 s event lease so that work a killed worker dropped is handed
over again during the run. No Redis is needed.

Citizens submit continuously (each waits ``--pause`` after a receipt), each
petition with a fresh UUID in its content and its own ``Idempotency-Key``.
A connection error, a timeout or a 5xx is retried with the SAME content and
the SAME key (the citizen presses submit again on the same page); 4xx answers
are not retried and are reported.
Meanwhile, ``--cycles`` times, each of ``--kill`` (default: store, web, worker,
beat) in turn: ``--settle`` seconds of load, then ``kill -9`` of that child
(its pid from ``DATA_DIR/run/status.json``), and the script measures:

* **restarted**: seconds until the supervisor runs it again under a new pid;
* **back**: seconds until it does its work again: a submission sent after the
  kill is acknowledged (store, web); the new worker process answers a Celery
  broadcast ping (worker: its consumer is up; what it finds queued meanwhile
  shows in the count of petitions waiting for a worker, printed at each kill);
  the new beat, holding the beat lock, records a task sent after the kill
  (beat);
* the beat processes alive on this data directory afterwards (must be 1).

Then no new submissions start, pending retries may finish for up to ``--drain``
seconds, and the store is killed once more (the supervisor restarts it), so
that what is checked is what survived a crash; once no petition is still
waiting to be completed (``outbox_pending``), checked directly in the store:

* **lost**: an acknowledged number that is not stored, or held by a petition
  with another UUID; **twice**: a number stored twice or given to two citizens,
  or an acknowledged petition stored twice. Both must be 0;
* each acknowledged receipt hashes (``KeyRing.receipt_hash``) to its petition's
  ``receipt_hash`` and to exactly one receipt row pointing at it;
* **half-written**: a petition without its receipt row or its
  ``petition.submitted`` event although nothing is pending on it any more (a
  petition still pending is counted apart: the sweeper completes it);
* **stored twice for one key**: more than one petition for one citizen's
  petition (one UUID, one Idempotency-Key). Must be 0;
* **unacknowledged but stored**: an attempt whose answer was lost stored the
  petition (it was stored before the acknowledged attempt was sent, or nothing
  was ever acknowledged). Acceptable, but the retry must have been answered
  with that same petition (its number and receipt), never a second one.

Each figure is also given per kill: a petition belongs to the kill before its
first attempt.

Exit status: 1 when an acknowledged petition was lost, a number given (or
stored) twice, a petition stored twice for one key, a part did not come back within ``--recover-timeout``, or the
number of beats was not 1 after a kill; else 0. With ``--strict``, 3 when there
were warnings only (half-written petitions, petitions stored although every
attempt was answered 5xx, failed receipt lookups).

    .venv/bin/python bench/fault_submissions.py                  # 8 citizens, 2 cycles of 4 kills (about 2-3 min)
    .venv/bin/python bench/fault_submissions.py --quick          # 2 citizens, 1 cycle (about 1 min)
    .venv/bin/python bench/fault_submissions.py --clients 16 --cycles 3 --kill store,web --strict
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from _common import LOOKUP_PATH, REPO, SUBMIT_PATH, TENANT, free_port, petition_body, web_log_summary

UUID_IN_CONTENT = re.compile(r"编号 ([0-9a-f]{32})")
READY_PATH = f"/t/{TENANT}/api/tenant"
KINDS = ("store", "web", "worker", "beat")
PASSWORD = "bench-password-1"


@dataclass
class Ack:
    tag: str
    receipt: str
    number: str
    attempts: int
    at: float  # seconds since the load started, when the 201 came
    sent: float  # when the acknowledged attempt was sent


@dataclass
class Kill:
    kind: str
    at: float  # seconds since the load started
    epoch: float
    pid: int
    restarted: float | None = None
    back: float | None = None
    beats_after: int | None = None


@dataclass
class Run:
    acked: dict[str, Ack] = field(default_factory=dict)  # content uuid -> what the citizen got
    first_sent: dict[str, float] = field(default_factory=dict)  # content uuid -> its first attempt
    abandoned: set[str] = field(default_factory=set)  # never acknowledged before the drain deadline
    rejected: list[str] = field(default_factory=list)  # 4xx answers (not retried)
    attempts: int = 0
    retried: Counter = field(default_factory=Counter)  # why an attempt was retried
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # uuid -> failed attempts' causes
    kills: list[Kill] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    started_epoch: float = field(default_factory=time.time)  # the same moment on the store's clock (same machine)

    def now(self) -> float:
        return time.monotonic() - self.started

    def note(self, text: str) -> None:
        line = f"  t={self.now():6.1f}s  {text}  (acknowledged so far: {len(self.acked)})"
        self.timeline.append(line)
        print(line, flush=True)

    def window(self, at: float) -> str:
        """The kill a moment belongs to: the last one before it ("before" the first)."""
        label = "before any kill"
        for number, kill in enumerate(self.kills, 1):
            if kill.at <= at:
                label = f"{number}. {kill.kind}"
        return label


class Platform:
    """``xinfang run`` in a temporary data directory; its children are found through its status file."""

    def __init__(self, tmp: Path, workers: int):
        self.data_dir = tmp / "data"
        self.store_port, self.web_port = free_port(), free_port()
        self.log_path = tmp / "run.log"
        self.workers = workers
        env = {k: v for k, v in os.environ.items() if not k.startswith("XINFANG_")}
        env.update(
            XINFANG_DATA_DIR=str(self.data_dir),
            XINFANG_EMBEDDED_STORE_PORT=str(self.store_port),
            XINFANG_HOST="127.0.0.1",
            XINFANG_PORT=str(self.web_port),
            XINFANG_BOOTSTRAP_PASSWORD=PASSWORD,
            XINFANG_SWEEP_INTERVAL_SECONDS="2",
            XINFANG_EVENT_LEASE_SECONDS="5",
        )
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def store_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.store_port}/?directConnection=true"

    def start(self, timeout: float = 180) -> float:
        from xinfang.processes import die_with_parent

        started = time.monotonic()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "xinfang", "run", "--workers", str(self.workers)],
                                        env=self.env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"xinfang run exited with code {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.base_url + READY_PATH, timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"xinfang run did not answer within {timeout}s; see {self.log_path}")

    def status(self) -> dict:
        return json.loads((self.data_dir / "run" / "status.json").read_text())

    def child(self, kind: str) -> dict:
        return self.status()["children"][kind]

    def kill(self, kind: str) -> int:
        pid = self.child(kind)["pid"]
        if pid is None:
            raise RuntimeError(f"the {kind} is not running (status: {self.child(kind)})")
        os.kill(pid, signal.SIGKILL)
        return pid

    def beat_processes(self) -> list[int]:
        """Beat schedulers alive on this data directory: `xinfang beat`, or a worker that would fork one (--beat)."""
        from xinfang.processes import is_beat, processes_of_data_dir

        return [pid for pid, argv in processes_of_data_dir(self.data_dir) if is_beat(argv)]

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


# -- load ----------------------------------------------------------------------------------------


async def citizens(platform: Platform, run: Run, args, no_new: asyncio.Event, give_up: asyncio.Event) -> None:
    async def citizen() -> None:
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=args.timeout) as client:
            while not no_new.is_set():
                tag = uuid.uuid4().hex
                body = petition_body(tag)
                # One key per petition, the same on every retry: a retry after a lost answer gets that petition back.
                headers = {"Idempotency-Key": secrets.token_urlsafe(16)}
                run.first_sent[tag] = run.now()
                attempts = 0
                while True:
                    attempts += 1
                    run.attempts += 1
                    sent = run.now()
                    try:
                        response = await client.post(SUBMIT_PATH, json=body, headers=headers)
                    except httpx.HTTPError as exc:
                        run.retried[type(exc).__name__] += 1
                        run.failures[tag].append(type(exc).__name__)
                    else:
                        if response.status_code == 201:
                            answer = response.json()
                            run.acked[tag] = Ack(tag, answer["receipt"], answer["number"], attempts, run.now(), sent)
                            await asyncio.sleep(args.pause)
                            break
                        if response.status_code < 500:
                            run.rejected.append(f"HTTP {response.status_code}: {response.text[:300]}")
                            break
                        run.retried[f"HTTP {response.status_code}"] += 1
                        run.failures[tag].append(f"HTTP {response.status_code}")
                    if give_up.is_set():
                        run.abandoned.add(tag)
                        break
                    await asyncio.sleep(args.retry_pause)

    await asyncio.gather(*(citizen() for _ in range(args.clients)))


# -- kills and recovery --------------------------------------------------------------------------


class Watch:
    """How the script sees each part working again: a fresh acknowledgement, a ping answered, a task sent."""

    def __init__(self, platform: Platform, run: Run):
        from xinfang.settings import Settings
        from xinfang.worker import make_celery

        self.platform, self.run = platform, run
        self.celery = make_celery(Settings.from_env(platform.env))

    async def restarted(self, kind: str, old_pid: int) -> bool:
        child = self.platform.child(kind)
        return child["state"] == "running" and child["pid"] not in (None, old_pid)

    async def back(self, kill: Kill) -> bool:
        if kill.kind in ("store", "web"):  # a submission sent after the kill was acknowledged
            return any(ack.sent >= kill.at for ack in self.run.acked.values())
        if kill.kind == "beat":  # the beat holding the lock sent a task after the kill
            from xinfang.beat_lock import read_beat_record

            record = read_beat_record(self.platform.data_dir)
            return bool(record) and record["pid"] != kill.pid and (record.get("sent") or 0) > kill.epoch
        # worker: the new worker process answers a broadcast ping (its consumer is up; the queue
        # it finds may hold a backlog, which the pending counts show)
        child = self.platform.child("worker")
        if child["state"] != "running" or child["pid"] in (None, kill.pid):
            return False
        try:
            replies = await asyncio.to_thread(self.celery.control.ping, timeout=0.5)
        except Exception:
            return False
        return any(name.startswith(f"xinfang-{child['pid']}@") for reply in replies for name in reply)


async def chaos(platform: Platform, run: Run, args, no_new: asyncio.Event) -> None:
    watch = Watch(platform, run)
    for cycle in range(1, args.cycles + 1):
        for kind in args.kill:
            await asyncio.sleep(args.settle)
            waiting = await asyncio.to_thread(pending_petitions, platform)
            pid = platform.kill(kind)
            kill = Kill(kind, run.now(), time.time(), pid)
            run.kills.append(kill)
            run.note(f"cycle {cycle}: {kind} (pid {pid}) killed (SIGKILL); petitions waiting for a worker: {waiting}")
            deadline = time.monotonic() + args.recover_timeout
            while time.monotonic() < deadline and (kill.restarted is None or kill.back is None):
                if kill.restarted is None and await watch.restarted(kind, pid):
                    kill.restarted = run.now() - kill.at
                if kill.back is None and await watch.back(kill):
                    kill.back = run.now() - kill.at
                await asyncio.sleep(0.05)
            kill.beats_after = len(platform.beat_processes())
            run.note(f"cycle {cycle}: {kind} restarted after {_seconds(kill.restarted)}, working again after"
                     f" {_seconds(kill.back)}; beat processes: {kill.beats_after}")
    await asyncio.sleep(args.settle)
    no_new.set()
    run.note("no new submissions; pending retries may finish")


def _seconds(value: float | None) -> str:
    return "NOT WITHIN THE TIMEOUT" if value is None else f"{value:.1f} s"


async def drive(platform: Platform, run: Run, args) -> None:
    no_new, give_up = asyncio.Event(), asyncio.Event()
    load = asyncio.create_task(citizens(platform, run, args, no_new, give_up))
    await chaos(platform, run, args, no_new)
    try:
        await asyncio.wait_for(asyncio.shield(load), timeout=args.drain)
    except TimeoutError:
        give_up.set()
        await load
    run.note(f"load finished ({len(run.abandoned)} submission(s) abandoned unacknowledged)")


async def lookup_sample(platform: Platform, acks: list[Ack], budget: int) -> tuple[list[str], int]:
    """Look receipts up over HTTP from one address, never more attempts than the rate limit allows.

    A 5xx is retried while the budget lasts (the first requests after a store restart may
    meet connections the restart closed); returns the problems and the number of 5xx seen.
    """
    problems, server_errors, attempts = [], 0, 0
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        for ack in acks:
            while True:
                attempts += 1
                response = await client.post(LOOKUP_PATH, json={"receipt": ack.receipt})
                if response.status_code >= 500 and attempts < budget:
                    server_errors += 1
                    await asyncio.sleep(0.3)
                    continue
                break
            if response.status_code != 200 or response.json().get("number") != ack.number:
                problems.append(f"receipt of {ack.number}: HTTP {response.status_code} {response.text[:200]}")
    return problems, server_errors


# -- what the store holds ------------------------------------------------------------------------


def pending_petitions(platform: Platform) -> int | str:
    """Petitions still carrying their events (not yet completed by a worker), or why that is unknown."""
    from pymongo import MongoClient

    client = MongoClient(platform.store_uri, serverSelectionTimeoutMS=3_000)
    try:
        return client["xinfang"]["petitions"].count_documents({"outbox_pending": True})
    except Exception as exc:  # the store may be the part that was just killed
        return type(exc).__name__
    finally:
        client.close()


def wait_until_completed(platform: Platform, timeout: float) -> tuple[int | str, int | str, float]:
    """Wait for the workers (or the sweeper) to complete every petition still carrying its events.

    Returns how many were pending at first and at the end, and the seconds waited.
    """
    started = time.monotonic()
    first = pending = pending_petitions(platform)
    while pending != 0 and time.monotonic() - started < timeout:
        time.sleep(0.5)
        pending = pending_petitions(platform)
    return first, pending, time.monotonic() - started


def verify(platform: Platform, run: Run, args) -> dict:
    from pymongo import MongoClient

    from xinfang.crypto import KeyRing
    from xinfang.secrets_file import resolve_encryption_key
    from xinfang.settings import Settings

    settings = Settings.from_env(platform.env)
    keyring = KeyRing(resolve_encryption_key(settings))
    client = MongoClient(platform.store_uri, serverSelectionTimeoutMS=10_000)
    db = client[settings.mongodb_database]
    tenant_id = str(db["tenants"].find_one({"slug": TENANT})["_id"])
    petitions = [p for p in db["petitions"].find({"tenant_id": tenant_id}) if str(p.get("number", "")).startswith("SIYANG-EDU-")]
    receipts = list(db["receipts"].find({}))
    outbox = list(db["outbox_events"].find({"name": "petition.submitted"}))
    client.close()

    def tag_of(petition: dict) -> str | None:
        match = UUID_IN_CONTENT.search(str(petition.get("answers", {}).get("content", "")))
        return match.group(1) if match else None

    by_number: dict[str, list[dict]] = defaultdict(list)
    by_tag: dict[str | None, list[dict]] = defaultdict(list)
    for petition in petitions:
        by_number[petition["number"]].append(petition)
        by_tag[tag_of(petition)].append(petition)
    receipts_by_petition: dict[str, list[dict]] = defaultdict(list)
    receipts_by_hash: dict[str, list[dict]] = defaultdict(list)
    for row in receipts:
        receipts_by_petition[str(row.get("petition_id") or row["_id"])].append(row)
        receipts_by_hash[row["receipt_hash"]].append(row)
    events_by_petition = Counter(str(e.get("subject_id")) for e in outbox)

    acks = list(run.acked.values())
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.hash_threads) as pool:
        hashes = list(pool.map(keyring.receipt_hash, (a.receipt for a in acks)))
    hash_seconds = time.monotonic() - started

    # Each finding: (the moment it belongs to, its text), so it can be counted per kill.
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    acked_ids = set()
    for ack, receipt_hash in zip(acks, hashes):
        when = run.first_sent.get(ack.tag, ack.sent)
        stored = by_number.get(ack.number, [])
        elsewhere = [p["number"] for p in by_tag.get(ack.tag, []) if p["number"] != ack.number]
        where = f"; its content is stored under {', '.join(elsewhere)} (unacknowledged attempts)" if elsewhere else "; its content is stored nowhere"
        if not stored:
            found["lost"].append((when, f"{ack.number} (acknowledged at t={ack.at:.1f}s, uuid {ack.tag}{where})"))
            continue
        petition = stored[0]
        if tag_of(petition) != ack.tag:
            found["lost"].append((when, f"{ack.number} (acknowledged at t={ack.at:.1f}s): now held by another petition"
                                        f" (uuid {tag_of(petition)}){where}"))
            continue
        petition_id = str(petition["_id"])
        acked_ids.add(petition_id)
        rows = receipts_by_petition.get(petition_id, [])
        hashed = receipts_by_hash.get(receipt_hash, [])
        own_hash = petition.get("receipt_hash")
        if own_hash is not None and own_hash != receipt_hash:
            found["receipt_problems"].append((when, f"{ack.number}: the petition's receipt hash is not its receipt's"))
        elif not petition.get("outbox_pending") and (
                len(rows) != 1 or len(hashed) != 1 or str(hashed[0].get("petition_id") or hashed[0]["_id"]) != petition_id):
            # (a petition still pending gets its receipt row when a worker completes it)
            found["receipt_problems"].append((when, f"{ack.number}: {len(rows)} receipt row(s) for the petition,"
                                                    f" {len(hashed)} for the receipt's hash"))
        if len(stored) > 1:
            found["twice"].append((when, f"{ack.number} stored {len(stored)} times"))
    for number, docs in by_number.items():
        if len(docs) > 1:
            found["twice"].append((run.first_sent.get(tag_of(docs[0]), 0.0), f"number {number} stored {len(docs)} times"))
    for number, count in Counter(a.number for a in acks).items():
        if count > 1:
            found["twice"].append((0.0, f"number {number} given to {count} citizens"))

    for tag, docs in by_tag.items():
        if tag is None:
            continue
        first = run.first_sent.get(tag, 0.0)
        if len(docs) > 1:  # one uuid is one citizen's petition under one Idempotency-Key
            found["twice_for_one_key"].append((first, f"uuid {tag}: {len(docs)} petitions ({', '.join(d['number'] for d in docs)})"))
        ack = run.acked.get(tag)
        for doc in docs:
            if ack is not None and not (ack.attempts > 1 and _stored_before(doc, run.started_epoch + ack.sent)):
                continue  # stored by the attempt that was acknowledged
            state = f"the retry got {ack.number}" if ack else "never acknowledged"
            found["unacked_stored"].append((first, f"{doc['number']} (uuid {tag}, {state})"))
            if ack is not None and doc["number"] != ack.number:
                found["retry_got_another"].append((first, f"{doc['number']} (uuid {tag}), the retry got {ack.number}"))
            if all(cause.startswith("HTTP 5") for cause in run.failures.get(tag, [])):
                found["stored_after_5xx_only"].append((first, doc["number"]))
    for petition in petitions:
        petition_id = str(petition["_id"])
        when = run.first_sent.get(tag_of(petition), 0.0)
        missing = [what for what, present in (("receipt row", receipts_by_petition.get(petition_id)),
                                               ("event", events_by_petition.get(petition_id))) if not present]
        if not missing:
            continue
        acked = "acknowledged" if petition_id in acked_ids else "unacknowledged"
        kind = "still_pending" if petition.get("outbox_pending") else "half_written"
        found[kind].append((when, f"{petition['number']} ({acked}) without its {' and '.join(missing)}"))
    petition_ids = {str(p["_id"]) for p in petitions}
    orphans = [r for r in receipts if r.get("tenant_id") == tenant_id and str(r.get("petition_id") or r["_id"]) not in petition_ids]
    orphans += [e for e in outbox if e.get("tenant_id") == tenant_id and str(e.get("subject_id")) not in petition_ids]
    for _ in orphans:
        found["half_written"].append((0.0, "a receipt row or event without its petition"))
    return dict(found=found, petitions=len(petitions), receipts=len(receipts), events=len(outbox), hash_seconds=hash_seconds,
                untagged=len(by_tag.get(None, [])))


def _stored_before(petition: dict, epoch: float) -> bool:
    """Whether the petition was written before ``epoch`` (its first step is timed when its write starts)."""
    at = (petition.get("steps") or [{}])[0].get("at")
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if not isinstance(at, datetime):
        return False
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() < epoch


# -- report --------------------------------------------------------------------------------------


def per_kill_table(run: Run, found: dict) -> list[str]:
    windows = ["before any kill"] + [f"{n}. {k.kind}" for n, k in enumerate(run.kills, 1)]
    acked = Counter(run.window(run.first_sent.get(a.tag, a.sent)) for a in run.acked.values())
    counts = {name: Counter(run.window(at) for at, _ in found.get(name, [])) for name in ("lost", "twice", "half_written")}
    lines = ["| kill -9 of | restarted after | working again after | acknowledged | lost | twice | half-written | beats alive after |",
             "|---|---|---|---|---|---|---|---|"]
    for window in windows:
        kill = run.kills[windows.index(window) - 1] if window != "before any kill" else None
        restarted = "" if kill is None else ("-" if kill.restarted is None else f"{kill.restarted:.1f} s")
        back = "" if kill is None else ("-" if kill.back is None else f"{kill.back:.1f} s")
        beats = "" if kill is None else str(kill.beats_after)
        lines.append(f"| {window} | {restarted} | {back} | {acked[window]} | {counts['lost'][window]} |"
                     f" {counts['twice'][window]} | {counts['half_written'][window]} | {beats} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run for the test suite: 2 citizens, 1 cycle, short settles")
    parser.add_argument("--clients", type=int, default=None, help="concurrent citizens (default 8; --quick 2)")
    parser.add_argument("--cycles", type=int, default=None, help="cycles of kills (default 2; --quick 1)")
    parser.add_argument("--kill", default=",".join(KINDS), help=f"what to kill in each cycle, in order (default {','.join(KINDS)})")
    parser.add_argument("--settle", type=float, default=None, help="seconds of load before each kill (default 5; --quick 1.5)")
    parser.add_argument("--pause", type=float, default=None, help="seconds a citizen waits after a receipt before the next petition (default 0.5; --quick 1.0)")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes of xinfang run (default 1)")
    parser.add_argument("--recover-timeout", type=float, default=90, help="seconds a part may take to work again (default 90)")
    parser.add_argument("--drain", type=float, default=30, help="max seconds for pending retries at the end (default 30)")
    parser.add_argument("--complete-timeout", type=float, default=None, help="max seconds for the workers to complete pending petitions before checking (default 120; --quick 30)")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per attempt (default 30)")
    parser.add_argument("--retry-pause", type=float, default=0.3, help="pause before a retry (default 0.3)")
    parser.add_argument("--lookups", type=int, default=None, help="receipts checked over HTTP (default 6, --quick 2; with retries at most 10 attempts, the rate limit)")
    parser.add_argument("--hash-threads", type=int, default=2, help="threads recomputing receipt hashes (default 2)")
    parser.add_argument("--strict", action="store_true", help="exit 3 on warnings too (half-written, 5xx-but-stored, lookups)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and the log")
    args = parser.parse_args()
    defaults = dict(clients=(2, 8), cycles=(1, 2), settle=(1.5, 5.0), lookups=(2, 6), pause=(1.0, 0.5), complete_timeout=(30.0, 120.0))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.kill = [k.strip() for k in args.kill.split(",") if k.strip()]
    if not args.kill or set(args.kill) - set(KINDS):
        parser.error(f"--kill takes a comma-separated list of {', '.join(KINDS)}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the clean-up below

    tmp = Path(tempfile.mkdtemp(prefix="xinfang-fault-"))
    platform = Platform(tmp, args.workers)
    run = Run()
    status = 1
    try:
        seconds = platform.start()
        print(f"set-up: xinfang run answering after {seconds:.1f} s (store :{platform.store_port}, web :{platform.web_port});"
              f" {args.clients} citizens, {args.cycles} cycle(s) of kill -9: {', '.join(args.kill)}")
        run.started = time.monotonic()
        asyncio.run(drive(platform, run, args))

        final_store = platform.kill("store")
        run.note(f"final crash: store (pid {final_store}) killed (SIGKILL) before checking")
        deadline = time.monotonic() + args.recover_timeout
        while time.monotonic() < deadline:
            child = platform.child("store")
            if child["state"] == "running" and child["pid"] != final_store:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the store did not come back after the final crash")
        run.note("store restarted by xinfang run: waiting for pending petitions, then checking what survived")
        pending_first, pending, waited = wait_until_completed(platform, args.complete_timeout)
        run.note(f"petitions waiting for a worker: {pending_first}, after {waited:.0f} s: {pending}")
        acks = list(run.acked.values())
        sample = acks[:: max(1, len(acks) // args.lookups)][: args.lookups] if args.lookups else []
        lookup_problems, lookup_5xx = asyncio.run(lookup_sample(platform, sample, budget=10))
        result = verify(platform, run, args)
        found = result["found"]
        beats_now = len(platform.beat_processes())

        lost, twice = len(found["lost"]), len(found["twice"])
        twice_for_one_key = len(found["twice_for_one_key"]) + len(found["retry_got_another"])
        half_written = len(found["half_written"])
        not_back = [k for k in run.kills if k.restarted is None or k.back is None]
        wrong_beats = [k for k in run.kills if k.beats_after != 1] + ([] if beats_now == 1 else ["now"])
        rows = [
            ("submitted (distinct petitions started)", len(run.acked) + len(run.abandoned) + len(run.rejected)),
            ("attempts (incl. retries)", run.attempts),
            ("acknowledged (201 with a receipt)", len(run.acked)),
            ("  of which after more than one attempt", sum(1 for a in run.acked.values() if a.attempts > 1)),
            ("abandoned unacknowledged at the end", len(run.abandoned)),
            ("rejected (4xx, not retried)", len(run.rejected)),
            ("lost (must be 0)", lost),
            ("twice (must be 0)", twice),
            ("half-written: without receipt row or event, nothing pending", half_written),
            ("waiting for a worker after the load (then after the wait)", f"{pending_first} ({pending} after {waited:.0f} s)"),
            ("  of which without receipt row or event when checked", len(found["still_pending"])),
            ("stored twice for one key (must be 0)", len(found["twice_for_one_key"])),
            ("unacknowledged but stored", len(found["unacked_stored"])),
            ("  of which the retry got another petition (must be 0)", len(found["retry_got_another"])),
            ("  of which every failed attempt was answered 5xx", len(found["stored_after_5xx_only"])),
            ("acknowledged receipts not resolving to their petition", len(found["receipt_problems"])),
            ("receipts looked up over HTTP (failed)", f"{len(sample)} ({len(lookup_problems)} failed, {lookup_5xx} 5xx retried)"),
            ("parts not working again within the timeout", len(not_back)),
            ("beat processes alive now (must be 1)", beats_now),
        ]
        print("\nper kill (a petition belongs to the kill before its first attempt)")
        for line in per_kill_table(run, found):
            print("  " + line)
        print("\nsummary")
        for label, value in rows:
            print(f"  {label:<62} {value}")
        print(f"  stored: {result['petitions']} petitions, {result['receipts']} receipt rows, {result['events']} submitted events;"
              f" {len(run.acked)} receipts re-hashed in {result['hash_seconds']:.1f} s")
        print("  retried attempts by cause: " + (", ".join(f"{k} {v}" for k, v in run.retried.most_common()) or "none"))
        titles = (("LOST", "lost"), ("TWICE", "twice"), ("TWICE FOR ONE KEY", "twice_for_one_key"),
                  ("RETRY GOT ANOTHER", "retry_got_another"), ("HALF-WRITTEN", "half_written"), ("RECEIPT PROBLEMS", "receipt_problems"),
                  ("still pending", "still_pending"), ("unacknowledged but stored", "unacked_stored"))
        for title, name in titles:
            items = [text for _, text in found.get(name, [])]
            if items:
                shown = 3 if name in ("unacked_stored", "still_pending") else 6
                print(f"  {title}: " + "; ".join(items[:shown]) + (f" ... (+{len(items) - shown})" if len(items) > shown else ""))
        for title, items in (("LOOKUP PROBLEMS", lookup_problems), ("REJECTED", run.rejected)):
            if items:
                print(f"  {title}: " + "; ".join(items[:6]))
        count, kinds = web_log_summary(platform.log_path)
        print(f"\nxinfang run log: {count} warning/error line(s); most frequent:")
        for text, n in kinds:
            print(f"  {n:5d} x {text}")
        warnings = half_written + len(found["receipt_problems"]) + len(lookup_problems) + len(found["stored_after_5xx_only"])
        failed = lost or twice or twice_for_one_key or not_back or wrong_beats
        status = 1 if failed else (3 if warnings and args.strict else 0)
        verdict = ("FAILED: " + ", ".join(what for what, bad in (("acknowledged petitions lost", lost), ("numbers given twice", twice),
                                                                   ("petitions stored twice for one key", twice_for_one_key),
                                                                   ("a part did not come back", not_back),
                                                                   ("not exactly one beat", wrong_beats)) if bad)
                   if failed else
                   "every part came back by itself; no loss, no duplicate, one beat"
                   + (f"; {warnings} warning(s): half-written petitions, petitions stored although every attempt"
                      " was answered 5xx, or failed lookups" if warnings else ""))
        print(f"\nresult: {verdict} (exit {status})")
    finally:  # clean up first, then report
        code = platform.stop()
        if code not in (None, 0):
            print(f"xinfang run exited with code {code} on Ctrl-C; see {platform.log_path}")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    return status


if __name__ == "__main__":
    sys.exit(main())
