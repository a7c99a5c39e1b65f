"""Submissions under load while the store and the web process are killed (SIGKILL) and restarted.

Every petition that got a receipt (HTTP 201) must be stored exactly once, with
exactly one receipt row that its receipt hashes to, and no case number may be
given twice.

Set-up as in bench/submissions.py: the embedded store (nx-27017) is a child of
this script (``EmbeddedStore``, so ``kill -9`` hits the store process itself),
the web server is bench/_server.py in its own process, events go to the
machine's Redis under a queue of this run (removed at the end).

Citizens submit continuously, each petition with a fresh UUID in its content.
A connection error, a timeout or a 5xx is retried with the SAME content (the
citizen presses submit again); 4xx answers are not retried and are reported.
Meanwhile, ``--cycles`` times: kill -9 the store, restart it on the same data
directory and port after ``--store-down`` seconds; later kill -9 the web process
and restart it. Then no new submissions start; pending retries may finish for
up to ``--drain`` seconds. Finally the store is killed once more and restarted,
so that what is checked is what survived a crash, not what a live process
holds in memory, and:

* every acknowledged number is stored exactly once, with the UUID it was sent with;
* the ``receipts`` collection holds exactly one row per acknowledged petition,
  and the receipt returned to the citizen hashes to it (KeyRing.receipt_hash);
* a few acknowledged receipts resolve through POST /t/siyang-edu/api/receipts/lookup
  (fewer than the 10-per-10-minutes rate limit);
* no case number appears twice.

A petition stored by an attempt whose answer was lost, followed by a retry that
stored a second one, is counted as "unacknowledged but stored" (acceptable:
the first attempt never returned a receipt). Petitions without a receipt row or
without their outbox event (a torn transaction) are reported too.

Exit status: 1 when an acknowledged petition was lost or a number was given (or
stored) twice, else 0. With ``--strict``, 3 when there was no loss and no
duplicate but warnings: torn writes (a petition without its receipt row or
outbox event), petitions stored although every attempt was answered 5xx (the
citizen was told it failed), or failed receipt lookups.

    /tmp/venv/bin/python bench/fault_submissions.py                      # 8 clients, 3 cycles
    /tmp/venv/bin/python bench/fault_submissions.py --clients 16 --cycles 5 --settle 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from _common import (
    LOOKUP_PATH, SUBMIT_PATH, TENANT, delete_queue, free_port, load_tenants, petition_body, platform_env,
    start_server, stop_process, wait_http, web_log_summary,
)

UUID_IN_CONTENT = re.compile(r"编号 ([0-9a-f]{32})")
READY_PATH = f"/t/{TENANT}/api/tenant"


@dataclass
class Ack:
    tag: str
    receipt: str
    number: str
    attempts: int
    at: float  # seconds since the load started


@dataclass
class Run:
    acked: dict[str, Ack] = field(default_factory=dict)  # content uuid -> what the citizen got
    abandoned: set[str] = field(default_factory=set)  # never acknowledged before the drain deadline
    rejected: list[str] = field(default_factory=list)  # 4xx answers (not retried)
    attempts: int = 0
    retried: Counter = field(default_factory=Counter)  # why an attempt was retried
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # uuid -> failed attempts' causes
    timeline: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        line = f"  t={time.monotonic() - self.started:6.1f}s  {text}  (acknowledged so far: {len(self.acked)})"
        self.timeline.append(line)
        print(line, flush=True)


class Platform:
    """The store and web processes of the run; both can be killed and restarted in place."""

    def __init__(self, tmp: Path, store_port: int, web_port: int, env: dict[str, str]):
        from xinfang.store.embedded import EmbeddedStore

        self.store = EmbeddedStore(tmp / "data" / "store", store_port)
        self.env = env
        self.web_port = web_port
        self.log_path = tmp / "web.log"
        self.web = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_store(self) -> float:
        # On the main thread on purpose: children die with the *thread* that started them (PR_SET_PDEATHSIG).
        started = time.monotonic()
        for attempt in range(20):
            try:
                self.store.start()
                return time.monotonic() - started
            except Exception as exc:  # e.g. the port still held for a moment
                last = exc
                time.sleep(0.25)
        raise RuntimeError(f"store did not restart: {last}")

    def kill_store(self) -> None:
        process = self.store.process
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.store.process = None

    def start_web(self) -> None:
        self.web = start_server(self.env, self.log_path)

    def kill_web(self) -> None:
        os.kill(self.web.pid, signal.SIGKILL)
        self.web.wait()

    async def wait_web(self, timeout: float = 60) -> float:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - started < timeout:
                if self.web.poll() is not None:
                    raise RuntimeError(f"web process exited with code {self.web.returncode}; see {self.log_path}")
                try:
                    if (await client.get(self.base_url + READY_PATH)).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("web process did not come back")

    def stop(self) -> None:
        stop_process(self.web)
        self.store.stop()


async def citizens(platform: Platform, run: Run, args, no_new: asyncio.Event, give_up: asyncio.Event) -> None:
    async def citizen(number: int) -> None:
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=args.timeout) as client:
            while not no_new.is_set():
                tag = uuid.uuid4().hex
                body = petition_body(tag)
                attempts = 0
                while True:
                    attempts += 1
                    run.attempts += 1
                    try:
                        response = await client.post(SUBMIT_PATH, json=body)
                    except httpx.HTTPError as exc:
                        run.retried[type(exc).__name__] += 1
                        run.failures[tag].append(type(exc).__name__)
                    else:
                        if response.status_code == 201:
                            answer = response.json()
                            run.acked[tag] = Ack(tag, answer["receipt"], answer["number"], attempts, time.monotonic() - run.started)
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

    await asyncio.gather(*(citizen(i) for i in range(args.clients)))


async def chaos(platform: Platform, run: Run, args, no_new: asyncio.Event, give_up: asyncio.Event) -> None:
    for cycle in range(1, args.cycles + 1):
        await asyncio.sleep(args.settle)
        platform.kill_store()
        run.note(f"cycle {cycle}: store killed (SIGKILL)")
        await asyncio.sleep(args.store_down)
        seconds = platform.start_store()
        run.note(f"cycle {cycle}: store restarted on the same data and port ({seconds:.1f} s)")
        await asyncio.sleep(args.settle)
        platform.kill_web()
        run.note(f"cycle {cycle}: web process killed (SIGKILL)")
        await asyncio.sleep(args.web_down)
        platform.start_web()
        seconds = await platform.wait_web()
        run.note(f"cycle {cycle}: web process restarted, answering after {seconds:.1f} s")
    await asyncio.sleep(args.settle)
    no_new.set()
    run.note("no new submissions; pending retries may finish")


async def drive(platform: Platform, run: Run, args) -> None:
    no_new, give_up = asyncio.Event(), asyncio.Event()
    load = asyncio.create_task(citizens(platform, run, args, no_new, give_up))
    await chaos(platform, run, args, no_new, give_up)
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


def verify(platform: Platform, run: Run, args, store_port: int) -> dict:
    from pymongo import MongoClient

    from xinfang.crypto import KeyRing
    from xinfang.secrets_file import resolve_encryption_key
    from xinfang.settings import Settings

    settings = Settings.from_env(platform.env)
    keyring = KeyRing(resolve_encryption_key(settings))
    client = MongoClient(f"mongodb://127.0.0.1:{store_port}/?directConnection=true", serverSelectionTimeoutMS=10_000)
    db = client[settings.mongodb_database]
    tenant = db["tenants"].find_one({"slug": TENANT})
    tenant_id = str(tenant["_id"])
    petitions = [p for p in db["petitions"].find({"tenant_id": tenant_id}) if str(p.get("number", "")).startswith("SIYANG-EDU-")]
    receipts = list(db["receipts"].find({}))
    outbox = list(db["outbox_events"].find({"name": "petition.submitted"}))
    client.close()

    by_number: dict[str, list[dict]] = defaultdict(list)
    by_tag: dict[str | None, list[dict]] = defaultdict(list)
    for petition in petitions:
        by_number[petition["number"]].append(petition)
        match = UUID_IN_CONTENT.search(str(petition.get("answers", {}).get("content", "")))
        by_tag[match.group(1) if match else None].append(petition)
    receipts_by_petition: dict[str, list[dict]] = defaultdict(list)
    receipts_by_hash: dict[str, list[dict]] = defaultdict(list)
    for row in receipts:
        receipts_by_petition[row["petition_id"]].append(row)
        receipts_by_hash[row["receipt_hash"]].append(row)
    events_by_petition = Counter(e.get("subject_id") for e in outbox)

    acks = list(run.acked.values())
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.hash_threads) as pool:
        hashes = list(pool.map(keyring.receipt_hash, (a.receipt for a in acks)))
    hash_seconds = time.monotonic() - started

    lost, wrong_content, receipt_problems, duplicated_acked, lost_times = [], [], [], [], []
    for ack, receipt_hash in zip(acks, hashes):
        stored = by_number.get(ack.number, [])
        elsewhere = [p["number"] for p in by_tag.get(ack.tag, []) if p["number"] != ack.number]
        where = f"; its content is stored under {', '.join(elsewhere)} (unacknowledged attempts)" if elsewhere else "; its content is stored nowhere"
        if not stored:
            lost.append(f"{ack.number} (acknowledged at t={ack.at:.1f}s, uuid {ack.tag}{where})")
            lost_times.append(ack.at)
            continue
        petition = stored[0]
        tag_match = UUID_IN_CONTENT.search(str(petition.get("answers", {}).get("content", "")))
        if not tag_match or tag_match.group(1) != ack.tag:
            wrong_content.append(f"{ack.number} (acknowledged at t={ack.at:.1f}s): now held by another petition"
                                 f" (uuid {tag_match.group(1) if tag_match else None}){where}")
            lost_times.append(ack.at)
        petition_id = str(petition["_id"])
        rows = receipts_by_petition.get(petition_id, [])
        hashed = receipts_by_hash.get(receipt_hash, [])
        if len(rows) != 1 or len(hashed) != 1 or hashed[0]["petition_id"] != petition_id:
            receipt_problems.append(f"{ack.number}: {len(rows)} receipt row(s) for the petition, {len(hashed)} for the receipt's hash")
        if len(stored) > 1:
            duplicated_acked.append(f"{ack.number} stored {len(stored)} times")
    duplicate_numbers = {n: len(docs) for n, docs in by_number.items() if len(docs) > 1}
    acked_numbers = Counter(a.number for a in acks)
    numbers_given_twice = {n: c for n, c in acked_numbers.items() if c > 1}
    acked_tags = set(run.acked)
    unacked_stored = 0
    stored_after_5xx_only = 0  # every failed attempt of that petition got an answer: 5xx, yet it was stored
    unacked_detail = []
    for tag, docs in by_tag.items():
        if tag is None:
            continue
        if tag in acked_tags:
            extra = [d for d in docs if d["number"] != run.acked[tag].number]
        else:
            extra = docs
        unacked_stored += len(extra)
        if extra and all(cause.startswith("HTTP 5") for cause in run.failures.get(tag, [])):
            stored_after_5xx_only += len(extra)
        for doc in extra:
            unacked_detail.append(f"{doc['number']} (uuid {tag}, {'acknowledged as ' + run.acked[tag].number if tag in acked_tags else 'never acknowledged'})")
    petition_ids = {str(p["_id"]) for p in petitions}
    acked_ids = set()
    for ack in acks:
        for petition in by_number.get(ack.number, []):
            match = UUID_IN_CONTENT.search(str(petition.get("answers", {}).get("content", "")))
            if match and match.group(1) == ack.tag:
                acked_ids.add(str(petition["_id"]))
    no_receipt = [p["number"] for p in petitions if not receipts_by_petition.get(str(p["_id"]))]
    no_event = [p["number"] for p in petitions if not events_by_petition.get(str(p["_id"])) and str(p["_id"]) not in acked_ids]
    acked_no_event = [p["number"] for p in petitions if not events_by_petition.get(str(p["_id"])) and str(p["_id"]) in acked_ids]
    orphan_receipts = [r for r in receipts if r["tenant_id"] == tenant_id and r["petition_id"] not in petition_ids]
    orphan_events = [e for e in outbox if e.get("tenant_id") == tenant_id and e.get("subject_id") not in petition_ids]
    return dict(
        petitions=len(petitions), receipts=len(receipts), events=len(outbox), hash_seconds=hash_seconds,
        lost=lost, wrong_content=wrong_content, lost_times=lost_times, receipt_problems=receipt_problems, duplicated_acked=duplicated_acked,
        duplicate_numbers=duplicate_numbers, numbers_given_twice=numbers_given_twice,
        unacked_stored=unacked_stored, stored_after_5xx_only=stored_after_5xx_only, unacked_detail=unacked_detail, untagged=len(by_tag.get(None, [])),
        no_receipt=no_receipt, no_event=no_event, acked_no_event=acked_no_event, orphan_receipts=len(orphan_receipts), orphan_events=len(orphan_events),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent citizens (default 8)")
    parser.add_argument("--cycles", type=int, default=3, help="kill/restart cycles of store and web (default 3)")
    parser.add_argument("--settle", type=float, default=4, help="seconds of load before each kill (default 4)")
    parser.add_argument("--store-down", type=float, default=1.0, help="seconds the store stays dead (default 1)")
    parser.add_argument("--web-down", type=float, default=0.5, help="seconds the web process stays dead (default 0.5)")
    parser.add_argument("--drain", type=float, default=30, help="max seconds for pending retries at the end (default 30)")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per attempt (default 30)")
    parser.add_argument("--retry-pause", type=float, default=0.3, help="pause before a retry (default 0.3)")
    parser.add_argument("--lookups", type=int, default=6, help="receipts checked over HTTP (default 6; with retries at most 10 attempts, the rate limit)")
    parser.add_argument("--hash-threads", type=int, default=2, help="threads recomputing receipt hashes (default 2)")
    parser.add_argument("--strict", action="store_true", help="exit 3 on warnings too (torn writes, 5xx-but-stored, lookups)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the clean-up below

    tmp = Path(tempfile.mkdtemp(prefix="xinfang-fault-"))
    store_port, web_port = free_port(), free_port()
    queue = f"xinfang-fault-{uuid.uuid4().hex[:8]}"
    env = platform_env(tmp / "data", store_port, web_port, queue)
    platform = Platform(tmp, store_port, web_port, env)
    run = Run()
    status = 1
    try:
        platform.start_store()
        loaded = load_tenants(env)
        platform.start_web()
        wait_http(platform.base_url + READY_PATH, platform.web)
        print(f"set-up: store :{store_port}, tenants loaded in {loaded:.1f} s, web :{web_port}, queue {queue!r};"
              f" {args.clients} citizens, {args.cycles} kill cycles")
        run.started = time.monotonic()
        asyncio.run(drive(platform, run, args))

        platform.kill_store()
        run.note("final crash: store killed (SIGKILL) before checking")
        time.sleep(args.store_down)
        platform.start_store()
        run.note("store restarted: checking what survived")
        acks = list(run.acked.values())
        sample = acks[:: max(1, len(acks) // args.lookups)][: args.lookups] if args.lookups else []
        lookup_problems, lookup_5xx = asyncio.run(lookup_sample(platform, sample, budget=10))
        result = verify(platform, run, args, store_port)

        lost = len(result["lost"]) + len(result["wrong_content"])
        duplicated = len(result["duplicate_numbers"]) + len(result["numbers_given_twice"]) + len(result["duplicated_acked"])
        torn = (len(result["no_receipt"]) + len(result["no_event"]) + len(result["acked_no_event"])
                + result["orphan_receipts"] + result["orphan_events"])
        lost_note = (f"  (acknowledged between t={min(result['lost_times']):.1f}s and t={max(result['lost_times']):.1f}s)"
                     if lost else "")
        rows = [
            ("submitted (distinct petitions started)", len(run.acked) + len(run.abandoned) + len(run.rejected)),
            ("attempts (incl. retries)", run.attempts),
            ("acknowledged (201 with a receipt)", len(run.acked)),
            ("  of which after more than one attempt", sum(1 for a in run.acked.values() if a.attempts > 1)),
            ("abandoned unacknowledged at the end", len(run.abandoned)),
            ("rejected (4xx, not retried)", len(run.rejected)),
            ("LOST (must be 0)", f"{lost}{lost_note}"),
            ("DUPLICATED (must be 0)", duplicated),
            ("unacknowledged but stored", result["unacked_stored"]),
            ("  of which every failed attempt was answered 5xx", result["stored_after_5xx_only"]),
            ("acknowledged receipts not resolving to their petition", len(result["receipt_problems"])),
            ("acknowledged petitions without their outbox event", len(result["acked_no_event"])),
            ("torn, unacknowledged: petitions without receipt row", len(result["no_receipt"])),
            ("torn, unacknowledged: petitions without outbox event", len(result["no_event"])),
            ("torn: receipt rows / events without petition", f"{result['orphan_receipts']} / {result['orphan_events']}"),
            ("receipts looked up over HTTP (failed)", f"{len(sample)} ({len(lookup_problems)} failed, {lookup_5xx} 5xx retried)"),
        ]
        print("\nsummary")
        for label, value in rows:
            print(f"  {label:<56} {value}")
        print(f"  stored: {result['petitions']} petitions, {result['receipts']} receipt rows, {result['events']} submitted events;"
              f" {len(run.acked)} receipts re-hashed in {result['hash_seconds']:.1f} s")
        print("  retried attempts by cause: " + (", ".join(f"{k} {v}" for k, v in run.retried.most_common()) or "none"))
        for title, items in (("LOST", result["lost"]), ("LOST, NUMBER REUSED", result["wrong_content"]),
                             ("DUPLICATE NUMBERS", [f"{n} x{c}" for n, c in result["duplicate_numbers"].items()]),
                             ("NUMBER GIVEN TWICE", [f"{n} x{c}" for n, c in result["numbers_given_twice"].items()]),
                             ("ACKNOWLEDGED STORED TWICE", result["duplicated_acked"]),
                             ("RECEIPT PROBLEMS", result["receipt_problems"]), ("LOOKUP PROBLEMS", lookup_problems),
                             ("PETITIONS WITHOUT RECEIPT", result["no_receipt"]), ("PETITIONS WITHOUT EVENT", result["no_event"]),
                             ("ACKNOWLEDGED PETITIONS WITHOUT EVENT", result["acked_no_event"]),
                             ("unacknowledged but stored", result["unacked_detail"]), ("REJECTED", run.rejected)):
            if items:
                shown = 3 if title == "unacknowledged but stored" else 6
                print(f"  {title}: " + "; ".join(items[:shown]) + (f" ... (+{len(items) - shown})" if len(items) > shown else ""))
        count, kinds = web_log_summary(platform.log_path)
        print(f"\nweb server log: {count} warning/error line(s); most frequent:")
        for text, n in kinds:
            print(f"  {n:5d} x {text}")
        warnings = torn + len(result["receipt_problems"]) + len(lookup_problems) + result["stored_after_5xx_only"]
        status = 1 if lost or duplicated else (3 if warnings and args.strict else 0)
        verdict = ("FAILED: acknowledged petitions lost or numbers given twice" if status == 1 else
                   "no loss, no duplicate" + (f"; {warnings} warning(s): torn writes, petitions stored although every"
                                              " attempt was answered 5xx, or failed lookups" if warnings else ""))
        print(f"\nresult: {verdict} (exit {status})")
    finally:  # clean up first, then report
        platform.stop()
        removed = delete_queue(queue)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"Redis keys removed: {', '.join(removed) or 'none'}")
        if args.keep:
            print(f"kept {tmp}")
    return status


if __name__ == "__main__":
    sys.exit(main())
