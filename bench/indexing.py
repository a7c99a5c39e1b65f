"""How many petitions a second the search indexer drains (issue 18), next to the same drain one petition at a time.

The indexer's whole drain (``xinfang_search.indexer.drain``, what the ``xinfang.search.drain`` task runs) in this
process, against the embedded store (nx-27017, a child of this script) and the demo tenants: the backlog read, the
petitions read, the Whoosh write and commit, word counts, fingerprints, the repeat check (candidates, matters,
collective petitions, the system-wide check) and the statistics refreshed for petitions that found candidates.

Set-up: N petitions of one county (siyang-edu) through the platform's own ``do_submit_petition`` (no receipt hash,
no broker: only the drain is measured), written by bench/search.py's generator: 70 % new matters, 30 % repeats of an
earlier one (reworded, resubmitted, short); a third named by one of N/8 petitioners (so the same person comes back,
and several people on one matter make collective petitions). Each is queued for indexing as the search plugin does.

* **ours**: the first N - 2K petitions drained in batches of ``--batch`` (the default, 500) from an empty index.
* then, at that size, K more **one at a time** (``batch=1``: one backlog read, one commit, one repeat check a batch:
  the baseline), and the last K in batches of ``--batch``: the ratio of the two is printed.

The figures are petitions a second (and the share of the time in the repeat check and the statistics). The load
average of the machine is printed with them: on shared cores the rate moves with it. The drain refreshes the
statistics of the petitions it linked (and of their matters) itself (``analytics_flags.refresh_facts``), timed as
"stats"; ``--no-statistics`` leaves that refresh out, to measure the index, word counts and repeat check alone. If
the drain hands work to analytics' task instead (an earlier version did), the bench stands in for the broker, keeps
those messages and runs their work afterwards as that task does, timed apart ("facts", "task s").

``--dump FILE`` writes every stored link by the petitions' numbers, and beside it (FILE.index-postings,
FILE.index-documents, FILE.word-counts, FILE.fingerprints) every term the index holds with its petitions, frequencies
and positions, each petition's stored fields and field lengths, its counted words and its fingerprint: two versions
of the indexer run on the same seed must write identical files (the same index, counts and repeat decisions).

    .venv/bin/python bench/indexing.py                     # 3,000 petitions, K = 200
    .venv/bin/python bench/indexing.py --petitions 6000 --one-by-one 300
    .venv/bin/python bench/indexing.py --tiny              # 60 petitions, K = 10: what the tests run
    .venv/bin/python bench/indexing.py --profile           # + cProfile of the batched drain (top 40 and 30)
    .venv/bin/python bench/indexing.py --petitions 1000 --one-by-one 50 --no-statistics --dump /tmp/x/after

To measure an earlier version of the indexer with this script, put that version's search/ first on the path:
``git archive REV search | tar -x -C /tmp/before && PYTHONPATH=/tmp/before/search .venv/bin/python bench/indexing.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, TENANT, free_port

PASSWORD = "bench-password-1"
GOAL_PER_SECOND = 100.0
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(rnd: random.Random) -> str:
    body = "320323" + f"{rnd.randint(1960, 1995)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}" + f"{rnd.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def _corpus():
    spec = importlib.util.spec_from_file_location("bench_search_corpus", Path(__file__).with_name("search.py"))
    corpus = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = corpus  # its dataclasses look their module up while it loads
    spec.loader.exec_module(corpus)
    return corpus


def submissions(n: int, seed: int) -> list[dict]:
    """The answers of n petitions: new matters and repeats of them, some named by returning people."""
    corpus, rnd = _corpus(), random.Random(seed)
    locale = corpus.Locale.of(0, 7)
    people = [{"petitioner_name": f"测试人{i:04d}", "id_number": resident_id(rnd), "phone": f"139{rnd.randint(10000000, 99999999)}"}
              for i in range(max(2, n // 8))]
    matters, out = [], []
    for k in range(n):
        if matters and rnd.random() < 0.30:
            matter = rnd.choice(matters[-400:])  # a repeat of a recent matter (most repeats are)
            style = rnd.choices(["reworded", "resubmitted", "short"], [40, 35, 25])[0]
            title, content = corpus.render(matter, rnd, style)
        else:
            matter = corpus.make_matter(f"indexing:{seed}:{k}", locale)
            matters.append(matter)
            title, content = corpus.render(matter)
        answers = {"title": title[:100], "category": "integrity", "content": content}
        if rnd.random() < 0.33:
            answers |= rnd.choice(people)
        out.append(answers)
    return out


def _settings(data_dir: Path, store_uri: str):
    from xinfang.settings import Settings

    return Settings(data_dir=data_dir, mongodb_uri=store_uri, mongodb_database="xinfang", broker_url=None,
                    secret_key="bench-secret-key-" + "x" * 32, bootstrap_password=PASSWORD, log_level="WARNING")


async def _open(settings):
    from xinfang.analytics.facts import use_plugin_manager
    from xinfang.audit.context import configure_audit
    from xinfang.events import configure_dispatch
    from xinfang.plugins import document_models, make_plugin_manager
    from xinfang.store.client import Store

    pm = make_plugin_manager()
    store = await Store.open(settings, document_models(pm))
    configure_audit(settings)  # loading the bundles appends role grants to the audit log
    configure_dispatch(store, None)  # no broker: nothing but the drain runs
    use_plugin_manager(pm)  # the statistics ask the search plugin for repeat / collective flags, as in the worker
    return store


async def _load_tenants() -> None:
    from xinfang.tenancy.bundles import BundleLoader, discover

    platform_bundle, bundles = discover(REPO / "tenants")
    await BundleLoader(PASSWORD).load(platform_bundle, bundles)


async def submit(settings, answers: list[dict]) -> tuple[str, list[str]]:
    from xinfang.crypto import KeyRing
    from xinfang.forms.service import require_form
    from xinfang.petitions.service import do_submit_petition
    from xinfang.secrets_file import resolve_encryption_key
    from xinfang.tenancy.context import TenantContext
    from xinfang.tenancy.models import Tenant

    keyring = KeyRing(resolve_encryption_key(settings))
    ctx = TenantContext.of(await Tenant.find_one({"slug": TENANT}))
    form = await require_form(ctx.scope, "petition")
    ids = []
    for one in answers:  # in order: a repeat is received after its matter
        petition, _ = await do_submit_petition(ctx, keyring, form, answers=one, anonymous="id_number" not in one, with_receipt=False)
        ids.append(str(petition.id))
    return ctx.tenant_id, ids


async def queue(tenant_id: str, ids: list[str]) -> None:
    from xinfang_search.indexer import do_queue_for_indexing

    for pid in ids:
        await do_queue_for_indexing(tenant_id, pid)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


_store_pid: int | None = None  # the embedded store's process, whose CPU is counted apart


def cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, the store's): on shared cores the wall time moves with the load, the CPU a
    petition costs much less."""
    own = os.times()
    store = 0.0
    if _store_pid:
        try:
            fields = Path(f"/proc/{_store_pid}/stat").read_text().rsplit(")", 1)[1].split()
            store = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return own.user + own.system, store


class Timed:
    """Wall time spent in the repeat check and the statistics refresh during a drain (wrapped where the drain finds them)."""

    def __init__(self, statistics: bool = True):
        self.seconds = {"repeat check": 0.0, "statistics": 0.0}
        self.statistics = statistics
        self._undo = []

    def wrap(self, module, name: str, label: str, skip: bool = False):
        original = getattr(module, name)

        async def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return None if skip else await original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
        setattr(module, name, timed)
        self._undo.append((module, name, original))

    def __enter__(self):
        from xinfang_search import analytics_flags, repeats

        self.wrap(repeats, "check_new_petitions", "repeat check")
        self.wrap(analytics_flags, "refresh_facts", "statistics", skip=not self.statistics)  # --no-statistics: the index alone
        return self

    def __exit__(self, *exc):
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)


class Broker:
    """Stands for the worker's broker: the messages the drain sends (the statistics' refresh, analytics' task) are kept
    and their work is done afterwards, timed apart, exactly as the analytics task does it (analytics/tasks.py)."""

    def __init__(self):
        self.messages: list[tuple[str, list]] = []

    async def send(self, name: str, args: list, queue: str | None = None) -> None:
        self.messages.append((name, args))

    async def work(self) -> tuple[int, float]:
        """(facts refreshed, seconds): every REFRESH message as the analytics worker runs it."""
        from xinfang.analytics.cells import settle_all
        from xinfang.analytics.facts import refresh
        from xinfang.analytics.task_names import REFRESH

        started, done = time.perf_counter(), 0
        messages, self.messages = self.messages, []
        for name, args in messages:
            if name != REFRESH:
                continue
            subject, entity_ids = args
            for entity_id in entity_ids[:500]:
                await refresh(subject, entity_id, settle=False)
                done += 1
            await settle_all()
        return done, time.perf_counter() - started


def warm_up() -> float:
    """What the indexer's worker process loads once, at its first drain, and keeps: jieba's dictionary (with the
    domain words), its IDF table and part-of-speech tags, the traditional-to-simplified table. Loaded before the
    timing (unless --cold), so the figures are those of a running indexer, not of its first batch (about 2 s)."""
    from xinfang_search import duplicates, terms

    started = time.perf_counter()
    duplicates.fingerprint(petition_id="warm-up", tenant_id="warm-up", title="物業公司亂收費", content="小区物业公司乱收停车费。",
                           subject_name="某物业公司", petitioner=None)
    terms.petition_terms("物業公司亂收費", "小区物业公司乱收停车费，业主多次反映。")
    return time.perf_counter() - started


async def drained(settings, tenant_id: str, ids: list[str], batch: int, profile: bool = False, statistics: bool = True,
                  profile_out: str | None = None) -> dict:
    """Queue these petitions and drain them until the backlog is empty; petitions a second. Then the statistics'
    refresh the drain asked of analytics' task (none when the drain refreshed them itself, as before issue 18)."""
    from xinfang import worker
    from xinfang_search.indexer import drain

    await queue(tenant_id, ids)
    profiler = cProfile.Profile() if profile else None
    load = load_average()
    broker = Broker()
    worker._current_runtime = broker  # the drain's follow-up messages go here, as from the indexer's worker process
    try:
        with Timed(statistics) as timed:
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            report = await drain(settings.data_dir, tenant_id, batch=batch)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            cpu = [after - before for after, before in zip(cpu_seconds(), cpu_before)]
    finally:
        worker._current_runtime = None
    if profiler and profile_out:
        profiler.dump_stats(profile_out)
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(text.getvalue())
    facts, task_seconds = await broker.work()
    return {"n": len(ids), "seconds": seconds, "rate": len(ids) / seconds, "report": report, "load": load, **timed.seconds,
            "facts": facts, "task": task_seconds, "cpu_ms": 1000 * cpu[0] / len(ids), "store_ms": 1000 * cpu[1] / len(ids)}


async def dump(settings, tenant_id: str, path: Path) -> None:
    """Every link the drains stored, by the petitions' numbers (the same from run to run with the same seed): two
    versions of the indexer given the same petitions must store the same links with the same reasons and scores."""
    from xinfang.petitions.models import Petition
    from xinfang.store.scoped import TenantScope
    from xinfang_search.models import DuplicateCandidate

    scope = TenantScope(tenant_id)
    numbers = {str(p.id): p.number async for p in scope.repo(Petition).find({})}
    rows = sorted(f"{numbers.get(c.petition_id, c.petition_id)} {numbers.get(c.other_id, c.other_id)} {','.join(c.reasons)}"
                  f" {c.score:.3f} {c.similarity:.3f} {c.status}" for c in await scope.repo(DuplicateCandidate).find({}).to_list())
    path.write_text("\n".join(rows) + "\n")
    print(f"  {len(rows)} links written to {path}")
    written = {name: rows for name, rows in (await _derived(settings, tenant_id, numbers)).items()}
    for name, rows in written.items():
        Path(f"{path}.{name}").write_text("\n".join(rows) + "\n")
    print(f"  and {', '.join(f'{len(rows)} {name}' for name, rows in written.items())} written beside it ({path}.<name>)")


# What differs from run to run by construction (object ids, the moment of submission), left out of the dump.
_RUN_FIELDS = ("id", "tenant_id", "received")


async def _derived(settings, tenant_id: str, numbers: dict[str, str]) -> dict[str, list[str]]:
    """What the drains derived besides the links, by petition number: the index (every field's terms with their
    petitions, frequencies and positions; each petition's field lengths and stored fields), the word counts and the
    fingerprints (weighted words, subject, places, issues, LSH bands). Ids and times of this run left out."""
    from xinfang_search.index import TenantIndexDir
    from xinfang_search.side_stores import stores

    index, side = TenantIndexDir(settings.data_dir, tenant_id).open(), stores(settings.data_dir)
    postings, documents = [], []
    with index.reader() as reader:
        number = {}
        for docnum, stored in reader.iter_docs():  # live documents only
            number[docnum] = numbers.get(stored["id"], stored["id"])
            kept = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in sorted(stored.items()) if k not in _RUN_FIELDS}
            lengths = {name: reader.doc_field_length(docnum, name) for name in reader.schema.scorable_names()}
            documents.append(f"{number[docnum]} {json.dumps(kept, ensure_ascii=False, sort_keys=True)} {json.dumps(lengths, sort_keys=True)}")
        for field, text in reader.all_terms():
            if field in _RUN_FIELDS:
                continue
            matcher = reader.postings(field, text)
            with_positions = matcher.supports("positions")
            while matcher.is_active():
                docnum = matcher.id()
                if docnum in number:
                    where = matcher.value_as("positions") if with_positions else ""
                    postings.append(f"{field} {text!r} {number[docnum]} {matcher.weight():g} {where}")
                matcher.next()
    counted = [f"{numbers.get(pid, pid)} {region} {cats!r} {terms}" for pid, region, cats, terms in side.terms._db.execute(
        "SELECT pid, region, cats, terms FROM term_petitions WHERE tenant = ?", (tenant_id,))]
    prints = []
    for pid, subject, terms, places, issues, region in side.fingerprints._db.execute(
            "SELECT pid, subject, terms, places, issues, region FROM docs WHERE tenant = ?", (tenant_id,)).fetchall():
        bands = sorted(k for (k,) in side.fingerprints._db.execute("SELECT key FROM bands WHERE pid = ?", (pid,)))
        keys = sorted(k for (k,) in side.fingerprints._db.execute("SELECT key FROM places WHERE pid = ?", (pid,)))
        prints.append(f"{numbers.get(pid, pid)} {subject} {terms} {places} {issues} {region} {bands} {keys}")
    return {"index-postings": sorted(postings), "index-documents": sorted(documents), "word-counts": sorted(counted),
            "fingerprints": sorted(prints)}


async def counts(tenant_id: str) -> tuple[int, int]:
    from xinfang.store.scoped import TenantScope
    from xinfang_search.models import DuplicateCandidate, SearchBacklog

    scope = TenantScope(tenant_id)
    return await scope.repo(DuplicateCandidate).count({}), await scope.repo(SearchBacklog).count({})


def line(name: str, row: dict, base: float) -> str:
    share = lambda label: f"{100 * row[label] / row['seconds']:4.0f} %"  # noqa: E731
    return (f"{name:40} {row['n']:6d} {row['seconds']:9.1f} {row['rate']:9.1f} {row['rate'] / base:8.2f}"
            f" {share('repeat check'):>8} {share('statistics'):>8} {row['cpu_ms']:8.1f} {row['store_ms']:8.1f}"
            f" {row['facts']:6d} {row['task']:7.1f}   {row['load']}")


async def run(args, tmp: Path) -> int:
    from xinfang.store.embedded import EmbeddedStore

    data_dir = tmp / "data"
    global _store_pid
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    _store_pid = store.process.pid if store.process else None
    settings = _settings(data_dir, store.uri)
    handle = None
    try:
        handle = await _open(settings)
        await _load_tenants()
        started = time.monotonic()
        tenant_id, ids = await submit(settings, submissions(args.petitions, args.seed))
        print(f"set-up: {len(ids)} petitions in {time.monotonic() - started:.1f} s; {os.cpu_count()} cores,"
              f" load average {load_average()}", flush=True)
        if not args.cold:
            print(f"warm-up (jieba, its IDF table and tags, loaded once per indexer process): {warm_up():.1f} s", flush=True)
        k = args.one_by_one
        first, single, last = ids[:-2 * k], ids[-2 * k:-k], ids[-k:]
        ours = await drained(settings, tenant_id, first, args.batch, profile=args.profile or bool(args.profile_out),
                             statistics=args.statistics, profile_out=args.profile_out)
        print(f"  ours: {ours['n']} in {ours['seconds']:.1f} s ({ours['rate']:.1f}/s, {ours['cpu_ms']:.1f} ms CPU a petition),"
              f" {ours['report']};"
              f" analytics' task: {ours['facts']} facts in {ours['task']:.1f} s", flush=True)
        base = await drained(settings, tenant_id, single, 1, statistics=args.statistics)
        print(f"  one at a time: {base['n']} in {base['seconds']:.1f} s ({base['rate']:.1f}/s), {base['report']}", flush=True)
        again = await drained(settings, tenant_id, last, args.batch, statistics=args.statistics)
        print(f"  ours at that size: {again['n']} in {again['seconds']:.1f} s ({again['rate']:.1f}/s), {again['report']}", flush=True)
        candidates, left = await counts(tenant_id)
        if args.dump:
            await dump(settings, tenant_id, Path(args.dump))
    finally:
        if handle is not None:
            await handle.close()
        store.stop()

    print(f"\nthe search indexer's drain, {args.petitions} petitions of one county, batches of {args.batch}; {candidates} candidate"
          f" links stored, {left} left in the backlog")
    print(f"{'':40} {'n':>6} {'seconds':>9} {'pet./s':>9} {'x base':>8} {'repeats':>8} {'stats':>8} {'cpu ms/p':>8} {'store ms':>8}"
          f" {'facts':>6} {'task s':>7}"
          f"   load average")
    print(line("baseline: one at a time (batch 1)", base, base["rate"]))
    print(line(f"ours: batches of {args.batch}, from empty", ours, base["rate"]))
    print(line(f"ours: batches of {args.batch}, same size as base", again, base["rate"]))
    print("cpu ms/p: CPU of this process (the drain) per petition; store ms: the embedded store's CPU per petition")
    print("repeats / stats: share of the drain's time in the repeat check and in the statistics' part of the drain;"
          " facts, task s: the statistics facts the drain left to analytics' task, and that task's time (afterwards)")
    verdict = "met" if ours["rate"] >= GOAL_PER_SECOND else "MISSED"
    print(f"ratio ours / baseline: {again['rate'] / base['rate']:.2f}; goal >= {GOAL_PER_SECOND:.0f} petitions/s: {verdict}"
          f" ({ours['rate']:.1f}/s)")
    return 0 if left == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--petitions", type=int, default=3000)
    parser.add_argument("--one-by-one", type=int, default=200, help="K: petitions drained one at a time (and K again batched)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cold", action="store_true", help="no warm-up: the first drain loads jieba and its tables (as a new process)")
    parser.add_argument("--profile-out", help="also write the batched drain's cProfile statistics to this file (pstats)")
    parser.add_argument("--dump", help="write every stored link (by petition numbers) to this file, to compare two versions")
    parser.add_argument("--no-statistics", dest="statistics", action="store_false",
                        help="leave out the statistics' refresh of linked petitions (the index, counts and repeat check alone)")
    parser.add_argument("--tiny", action="store_true", help="60 petitions, K = 10 (the test suite's run)")
    args = parser.parse_args()
    if args.tiny:
        args.petitions, args.one_by_one = 60, 10
    if args.petitions < 3 * args.one_by_one:
        parser.error("--petitions must be at least three times --one-by-one")
    with tempfile.TemporaryDirectory(prefix="xinfang-indexing-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
