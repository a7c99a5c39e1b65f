"""One official's consolidated integrity opinion across 2,156 tenants and 1,000,000 archive entries,
next to the bare indexed query it cannot avoid, in the same run.

What it does, in one process, on a fresh temporary data directory:

1. starts the embedded store (nx-27017, SQLite-backed) on a free port and opens it
   the way the platform does (``Store.open`` with every plugin's document models);
2. inserts, through the raw collections (``insert_many``, 5,000 a batch), each
   document a real model dumped with Beanie's ``get_dict(..., to_db=True)``:
   * 2,156 ``Tenant``s (the number of petition bodies in the seeds): one national,
     31 provincial, 353 prefecture and the rest county commissions and education
     bureaus, each with its parent and materialised path; slugs bench-0001 ...;
   * about 46 ``Official``s a tenant (100,000): 70 % known by their identity
     number (``person_key`` "id:<hash>"), the rest "official:<id>"; one in ten is
     the same person as an official of another tenant (a transfer);
   * one **target** person registered in 300 tenants (300 officials with the
     same ``person_key``) and 40 namesakes (same ``name_key``, other people);
   * 1,000,000 ``ArchiveEntry``s: 3,000 of the target spread over their 300
     tenants, the rest spread over everybody else (about 10 each); petitions,
     cards, actions and archive documents in a realistic mix, 2012 to 2027,
     inserted in random order (a person's entries are scattered over the table,
     as years of events would leave them);
3. opens an active ``PromotionReview`` of the target for a superuser ``Principal``
   and times, interleaved, median of ``--runs`` (5):
   * **opinion**: ``await reviews.consolidated_opinion(principal, review)``, the
     real platform function: officials of the person, every entry newest first,
     officials of the same name, the tenants' names, the hash-chained audit
     append, the answer as a dict;
   * **baseline**: the bare indexed query it cannot avoid, the person's entries
     newest first through raw pymongo, whole documents (not projected), cursor
     drained, written ``{"person_key": {"$eq": key}}``. The query as the issue
     names it, ``{"person_key": key}``, is timed too: on nx-27017 it is *not*
     answered from the index (neosqlite adds an array-containment ``OR`` to a
     plain equality unless an index *name* ends with ``_person_key``, and the
     index is ``person_key_on``: SQLite scans the table). ``$eq`` means the same
     on MongoDB and keeps the predicate sargable on nx-27017;
   * **what-if**: the opinion with its equalities written ``$eq`` by a wrapper in
     this process (platform code untouched), what that change would give;
   * the PDF (``archives.pdf.opinion_pdf(opinion)``, CPU in the web process) and
     the JSON encoding, separately;
   * where the opinion's time goes: each run is split into phases by light
     wrappers installed in this process only, plus the same queries through raw
     pymongo (and a tenant's own ``read_archive`` query) and Beanie's parsing alone;
   * the CPU of this process, of the store and of everything else meanwhile (a
     warning when other processes used more than 20 % of a core);
4. ``--profile``: one more opinion under cProfile (client side), and the SQL that
   nx-27017 runs for each of the opinion's queries with SQLite's query plan
   (neosqlite opened in this process on the same database file).

    .venv/bin/python bench/archive_opinion.py            # 2,156 tenants, 1,000,000 entries
    .venv/bin/python bench/archive_opinion.py --quick    # 100 tenants, 50,000 entries, with --profile
    .venv/bin/python bench/archive_opinion.py --entries 200000 --profile

The embedded store is a Python wire-protocol server over SQLite and much slower
than a real MongoDB; with 2 cores the store and this process share the machine.
Compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import hashlib
import json
import logging
import os
import platform as stdlib_platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import bson
from beanie.odm.utils.dump import get_dict
from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId

from xinfang.plugins import document_models
from xinfang.archives import pdf as pdf_module
from xinfang.archives import reviews
from xinfang.archives.identity import name_key
from xinfang.archives.models import ArchiveEntry, EntryKind, Official, PromotionReview, ReviewState
from xinfang.archives.service import default_person_key, entry_id
from xinfang.cards.service import OUTCOME_NAMES
from xinfang.audit.models import AuditRecord
from xinfang.auth.permissions import SUPERUSER_PERMISSIONS
from xinfang.auth.principal import Principal
from xinfang.plugins import make_plugin_manager
from xinfang.settings import Settings
from xinfang.store.client import Store
from xinfang.store.embedded import EmbeddedStore
from xinfang.tenancy.models import LocalizedName, Tenant, TenantKind, TenantLevel

from _common import free_port  # bench/ is on sys.path when a script here runs
from sweeper import GIVEN, SURNAMES, Usage, measured, profile_summary, say

REPO = Path(__file__).resolve().parents[1]
DATABASE = "xinfang_bench"
BATCH = 5_000
FIRST_DAY, LAST_DAY = date(2012, 1, 1), date(2027, 6, 15)
TARGET_NAME = "张建国"
NAMESAKES = 40

LABELS = {
    "plain": "the query as the issue names it: find person_key, sort on -1, raw",
    "eq": "baseline: the same with {$eq: key} (index used), whole docs, raw",
    "opinion": "consolidated_opinion (queries, audit append, the answer)",
    "opinion_eq": "what-if: consolidated_opinion with its equalities as $eq",
}
POSITIONS = ["县委书记", "县长", "副县长", "局长", "副局长", "党组书记", "乡镇党委书记", "镇长", "副镇长", "科长",
             "副科长", "主任", "副主任", "校长", "院长", "所长", "站长", "办公室主任"]
UNITS = ["县教育局", "县财政局", "县自然资源局", "县住建局", "县交通运输局", "县卫健委", "县农业农村局", "县水利局",
         "县市场监管局", "县人社局", "县民政局", "县城管局", "县发改委", "县商务局", "县审计局", "县医保局"]
RANKS = ["科员", "副科级", "正科级", "副处级", "正处级", None]
# (kind, type_key, zh, en, colour, weight): what an archive holds (the demo bundles' card, action and document types).
ENTRY_TYPES = [
    ("petition", None, None, None, None, 45),
    ("card", "white", "询问卡", "Inquiry card", "#ffffff", 9), ("card", "green", "提醒卡", "Reminder card", "#2e9d4b", 6),
    ("card", "yellow", "预警卡", "Warning card", "#f2c200", 7), ("card", "red", "警诫卡", "Admonition card", "#d62828", 3),
    ("action", "supervision_notice", "信访监督通知书", "Supervision notice", None, 7),
    ("action", "rectification_notice", "信访整改通知书", "Rectification notice", None, 5),
    ("action", "admonishment_talk", "诫勉谈话", "Admonishment talk", None, 4),
    ("action", "warning_talk", "警示谈话", "Warning talk", None, 4),
    ("document", "integrity_evaluation", "民主评廉", "Democratic integrity evaluation", None, 6),
    ("document", "personal_matters", "个人有关事项报告", "Report on personal matters", None, 4),
]
ANSWER_FIELDS = ["tenant_id", "on", "kind", "type_key", "type_name", "colour", "title", "status", "result"]
PETITION_STATES = ["closed", "closed", "closed", "archived", "replied", "handling", "not_accepted", "reviewed"]
CARD_STATES = ["closed", "closed", "answered", "rectifying", "issued", "transferred"]
PETITION_TOPICS = ["违规收受礼金", "违规发放津补贴", "公车私用", "违规操办婚丧喜庆事宜", "插手工程项目", "优亲厚友",
                   "工作作风粗暴", "违规收费", "侵占集体资金", "违规兼职取酬"]
PROVINCES = ["北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建", "江西",
             "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
             "青海", "宁夏", "新疆"]


# -- the data ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Person:
    """One official as one tenant knows them (cheap to keep 100,000 of)."""

    tenant_id: str
    official_id: str
    name: str
    person_key: str
    id_hash: str | None


class Generator:
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.days = (LAST_DAY - FIRST_DAY).days
        self.now = datetime(2027, 6, 15, 9, tzinfo=UTC)

    def name(self) -> str:
        rnd = self.rnd
        return rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.7 else "")

    def id_hash(self) -> str:
        return hashlib.sha256(self.rnd.randbytes(16)).hexdigest()  # stands for KeyRing.identity_hash(number)

    def tenants(self, n: int) -> list[dict]:
        """A hierarchy of n tenants: national > 31 provincial > prefecture (a sixth of the rest) > county."""
        rnd, docs, ids = self.rnd, [], [ObjectId() for _ in range(n)]
        ancestors: dict[int, list[str]] = {}
        provincial = list(range(1, min(n, 32)))
        prefectures = list(range(32, 32 + max(0, (n - 32) // 6 - 1)))
        for i in range(n):
            if i == 0:
                level, parent, zh, region = TenantLevel.NATIONAL, None, "中央纪委国家监委", "100000"
            elif i in provincial:
                level, parent = TenantLevel.PROVINCIAL, 0
                zh, region = f"{PROVINCES[i - 1]}省纪委监委", f"{10 + i:02d}0000"
            elif prefectures and i <= prefectures[-1]:
                level, parent = TenantLevel.PREFECTURE, rnd.choice(provincial)
                zh, region = f"第{i}地市纪委监委", f"{10 + parent:02d}{i % 100:02d}00"
            else:
                level, parent = TenantLevel.COUNTY, rnd.choice(prefectures or provincial or [0])
                zh, region = f"第{i}县纪委监委", f"{10 + (parent % 90):02d}{parent % 100:02d}{i % 100:02d}"
            kind = TenantKind.EDUCATION_BUREAU if level == TenantLevel.COUNTY and rnd.random() < 0.25 else TenantKind.COMMISSION
            if kind == TenantKind.EDUCATION_BUREAU:
                zh = zh.replace("纪委监委", "教育局纪委")
            ancestors[i] = [] if parent is None else [*ancestors[parent], str(ids[parent])]
            tenant = Tenant(id=ids[i], slug=f"bench-{i + 1:04d}", name=LocalizedName(zh=zh, en=f"Bench {level.value} body {i + 1}"),
                            level=level, kind=kind, region_code=region, parent_id=None if parent is None else str(ids[parent]),
                            ancestor_ids=ancestors[i], bundle_digest=None, created_at=self.now - timedelta(days=rnd.randint(1, 900)))
            docs.append(get_dict(tenant, to_db=True))
        return docs

    def officials(self, tenant_ids: list[str], per_tenant: int) -> list[Person]:
        """Everybody but the target: ~per_tenant a tenant, 70 % with an identity number, 10 % transferred people."""
        rnd, people = self.rnd, []
        for tenant_id in tenant_ids:
            for _ in range(rnd.randint(per_tenant // 2, per_tenant * 3 // 2)):
                official_id = str(ObjectId())
                earlier = people[rnd.randrange(len(people))] if people and rnd.random() < 0.1 else None
                if earlier is not None and earlier.id_hash and earlier.tenant_id != tenant_id:
                    people.append(Person(tenant_id, official_id, earlier.name, earlier.person_key, earlier.id_hash))
                    continue
                id_hash = self.id_hash() if rnd.random() < 0.7 else None
                people.append(Person(tenant_id, official_id, self.name(), default_person_key(official_id, id_hash), id_hash))
        return people

    def target(self, tenant_ids: list[str], n: int) -> list[Person]:
        id_hash = self.id_hash()
        return [Person(t, str(ObjectId()), TARGET_NAME, f"id:{id_hash}", id_hash) for t in self.rnd.sample(tenant_ids, n)]

    def namesakes(self, tenant_ids: list[str], n: int) -> list[Person]:
        out = []
        for tenant_id in self.rnd.sample(tenant_ids, n):
            official_id, id_hash = str(ObjectId()), self.id_hash() if self.rnd.random() < 0.6 else None
            out.append(Person(tenant_id, official_id, TARGET_NAME, default_person_key(official_id, id_hash), id_hash))
        return out

    def official_doc(self, person: Person) -> dict:
        rnd = self.rnd
        official = Official(id=ObjectId(person.official_id), tenant_id=person.tenant_id, name=person.name, name_key=name_key(person.name),
                            position=rnd.choice(POSITIONS), unit=rnd.choice(UNITS), rank_level=rnd.choice(RANKS), id_hash=person.id_hash,
                            person_key=person.person_key, created_at=self.now - timedelta(days=rnd.randint(1, 2000)))
        return get_dict(official, to_db=True)

    def entry_doc(self, person: Person) -> dict:
        rnd = self.rnd
        kind, type_key, zh, en, colour, _ = rnd.choices(ENTRY_TYPES, weights=[t[-1] for t in ENTRY_TYPES])[0]
        on = FIRST_DAY + timedelta(days=rnd.randrange(self.days))
        source_id, data, added_by, result = str(ObjectId()), {}, None, None
        if kind == "petition":
            title = f"{on.year}XF{rnd.randrange(100000):05d} 反映{person.name}{rnd.choice(PETITION_TOPICS)}的问题"
            status = rnd.choice(PETITION_STATES)
        elif kind == "document":
            title, status, added_by = zh, "filed", "干部监督室 Staff"
            data = ({"year": on.year, "score": rnd.randint(70, 100), "rating": rnd.choice(["好", "较好", "一般"])}
                    if type_key == "integrity_evaluation" else {"year": on.year, "complete": rnd.random() < 0.9, "remarks": "按时报告，经抽查核实一致"})
        else:
            title, status = zh, rnd.choice(CARD_STATES)
            result = rnd.choice([name["zh"] for name in OUTCOME_NAMES.values()]) if status in ("closed", "rectifying", "transferred") else None
        entry = ArchiveEntry(
            id=entry_id(person.tenant_id, kind, source_id, person.official_id), tenant_id=person.tenant_id, official_id=person.official_id,
            person_key=person.person_key, kind=EntryKind(kind), source_id=source_id, type_key=type_key,
            type_name=LocalizedName(zh=zh, en=en) if zh else None, colour=colour, on=on.isoformat(), title=title, status=status,
            result=result, data=data, added_by=added_by, created_at=datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=rnd.randint(8, 17)),
        )
        return get_dict(entry, to_db=True)


async def insert_all(collection, count: int, build, label: str, every: int) -> float:
    """insert_many in batches of BATCH; the next batch is built in a thread while the store inserts this one."""
    started = time.perf_counter()
    built = [0.0]

    def timed_build(first: int) -> list[dict]:
        t0 = time.perf_counter()
        docs = build(first, min(count, first + BATCH))
        built[0] += time.perf_counter() - t0
        return docs

    docs, done = await asyncio.to_thread(timed_build, 0), 0
    while docs:
        done += len(docs)
        pending = asyncio.ensure_future(asyncio.to_thread(timed_build, done)) if done < count else None
        await collection.insert_many(docs, ordered=False)
        docs = await pending if pending is not None else []
        if done % every == 0 or done == count:
            elapsed = time.perf_counter() - started
            say(f"    {label}: {done:>9,} of {count:,}  ({elapsed:6.1f} s, {done / elapsed:,.0f} docs/s; building {built[0]:.1f} s in a thread)")
    return time.perf_counter() - started


async def load(args) -> dict:
    gen = Generator(args.seed)
    started = time.perf_counter()
    tenant_docs = gen.tenants(args.tenants)
    tenant_ids = [str(d["_id"]) for d in tenant_docs]
    await insert_all(Tenant.get_pymongo_collection(), len(tenant_docs), lambda a, b: tenant_docs[a:b], "tenants", BATCH)

    per_tenant = max(2, round(args.entries / args.entries_per_person / args.tenants))
    others = gen.officials(tenant_ids, per_tenant)
    target = gen.target(tenant_ids, min(args.target_tenants, args.tenants))
    namesakes = gen.namesakes(tenant_ids, min(NAMESAKES, args.tenants))
    officials = [*others, *target, *namesakes]
    gen.rnd.shuffle(officials)
    await insert_all(Official.get_pymongo_collection(), len(officials),
                     lambda a, b: [gen.official_doc(p) for p in officials[a:b]], "officials", 25_000)

    # Whose each entry is, in random order: the target's spread over their tenants, everybody else's over everybody else.
    target_n = min(args.target_entries, args.entries)
    owners = [gen.rnd.randrange(len(target)) for _ in range(target_n)]
    owners += [len(target) + gen.rnd.randrange(len(others)) for _ in range(args.entries - target_n)]
    gen.rnd.shuffle(owners)
    by_index = [*target, *others]
    seconds = await insert_all(ArchiveEntry.get_pymongo_collection(), len(owners),
                               lambda a, b: [gen.entry_doc(by_index[i]) for i in owners[a:b]], "archive entries",
                               50_000 if args.entries >= 200_000 else 10_000)
    one = ArchiveEntry.get_pymongo_collection()
    sample = await one.find_one({"person_key": target[0].person_key})
    return {
        "seconds": time.perf_counter() - started, "entry_seconds": seconds, "tenants": len(tenant_docs), "officials": len(officials),
        "people": len({p.person_key for p in officials}), "target": target, "namesakes": len(namesakes),
        "same_name": sum(1 for p in officials if p.name == TARGET_NAME), "target_entries": target_n,
        "entry_bytes": len(bson.encode(sample)), "max_other_entries": max(Counter(o for o in owners if o >= len(target)).values(), default=0),
    }


# -- timing --------------------------------------------------------------------------------------


class Phases:
    """Splits one consolidated_opinion run at the calls that start each step (see instrumented())."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.current: str | None = None
        self.since = 0.0

    def mark(self, name: str | None) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self.since
        self.current, self.since = name, now


def as_eq(query):
    """The same filter with each top-level scalar equality written as {"$eq": v} (identical on MongoDB)."""
    if not isinstance(query, dict):
        return query
    return {k: {"$eq": v} if not k.startswith("$") and k != "_id" and isinstance(v, (str, int, bool)) else v for k, v in query.items()}


@contextmanager
def instrumented(phases: Phases, rewrite_eq: bool = False):
    """Mark, in this process only, each query of consolidated_opinion and its audit append (platform code untouched).

    A phase lasts from its call to the next one's, so it includes Beanie's parsing of what the query returned.
    ``rewrite_eq`` is a what-if: the queries' equalities written as ``{"$eq": v}`` (see explain()).
    """
    models = (Official, ArchiveEntry, Tenant)
    own = {model: model.__dict__.get("find") for model in models}
    finds = {model: model.find for model in models}
    original_audit = reviews.do_append_audit

    def wrap(model):
        original = finds[model]

        def find(*args, **kwargs):
            query = args[0] if args else {}
            if model is ArchiveEntry:
                phases.mark("entries: find person_key, sort on/tenant_id, parse")
            elif model is Tenant:
                phases.mark("tenants: find _id $in, parse")
            elif "person_key" in query:
                phases.mark("officials of the person: find person_key, parse")
            else:
                phases.mark("same name: find name_key, parse")
            if rewrite_eq and args:
                args = (as_eq(args[0]), *args[1:])
            return original(*args, **kwargs)
        return find

    async def audit(*args, **kwargs):
        phases.mark("audit append (read head, insert record)")
        try:
            return await original_audit(*args, **kwargs)
        finally:
            phases.mark("answer: the dict of entries")

    for model in models:
        setattr(model, "find", wrap(model))
    reviews.do_append_audit = audit
    try:
        yield
    finally:
        for model, original in own.items():
            if original is None:
                delattr(model, "find")
            else:
                setattr(model, "find", original)
        reviews.do_append_audit = original_audit


async def timed_opinion(principal: Principal, review: PromotionReview, store_pid: int,
                        rewrite_eq: bool = False) -> tuple[Usage, dict, dict]:
    phases, usage = Phases(), Usage()
    with instrumented(phases, rewrite_eq), measured(store_pid, usage):
        phases.mark("grant check")
        opinion = await reviews.consolidated_opinion(principal, review)
        phases.mark(None)
    return usage, opinion, phases.seconds


async def drain(query: dict, sort: list, projection: dict | None = None) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    rows = [row async for row in ArchiveEntry.get_pymongo_collection().find(query, projection).sort(sort)]
    return time.perf_counter() - started, rows


async def timed_baseline(person_key: str, store_pid: int, eq: bool = False) -> tuple[Usage, int]:
    """The bare query: the person's entries, newest first, whole documents, raw pymongo, drained.

    ``eq``: the filter written {"person_key": {"$eq": key}}, the form nx-27017 answers from the index.
    """
    usage = Usage()
    with measured(store_pid, usage):
        _, rows = await drain({"person_key": {"$eq": person_key} if eq else person_key}, [("on", -1)])
    return usage, len(rows)


def timed_pdf(opinion: dict) -> tuple[float, bytes]:
    started = time.perf_counter()
    data = pdf_module.opinion_pdf(opinion)
    return time.perf_counter() - started, data


async def decomposition(review: PromotionReview, target: list[Person]) -> list[tuple[str, float, str]]:
    """The opinion's queries one by one through raw pymongo, Beanie's parsing alone, and a tenant's own
    archive read (``service.read_archive``'s query), each as the platform writes it and with ``$eq`` (not platform code)."""
    rows: list[tuple[str, float, str]] = []
    key = review.person_key
    tenant_ids = sorted({p.tenant_id for p in target})
    for form, value in (("", key), (", $eq", {"$eq": key})):
        seconds, docs = await drain({"person_key": value}, [("on", -1), ("tenant_id", 1)])
        rows.append((f"entries with the opinion's sort [on -1, tenant_id 1]{form}", seconds, f"{len(docs):,} docs"))
    seconds, projected = await drain({"person_key": {"$eq": key}}, [("on", -1), ("tenant_id", 1)],
                                      {"_id": 0, **{f: 1 for f in ANSWER_FIELDS}})
    rows.append(("the same, $eq, projected to the fields the answer uses", seconds, f"{len(projected):,} docs"))
    started = time.perf_counter()
    for doc in docs:
        parse_obj(ArchiveEntry, doc)
    parse_seconds = time.perf_counter() - started
    rows.append(("parse them into ArchiveEntry (beanie parse_obj), CPU", parse_seconds, f"{parse_seconds / max(1, len(docs)) * 1e6:.0f} us each"))
    one = target[0]
    for form, make in (("", lambda v: v), (", $eq", lambda v: {"$eq": v})):
        seconds, docs = await drain({"tenant_id": make(one.tenant_id), "official_id": make(one.official_id)}, [("on", -1)])
        rows.append((f"one tenant's archive of one official (read_archive's query){form}", seconds, f"{len(docs):,} docs"))
    queries = [
        ("officials of the person (person_key)", Official, {"person_key": key}),
        ("officials of the same name (name_key)", Official, {"name_key": name_key(review.official_name)}),
        (f"tenants by _id $in ({len(tenant_ids)} ids)", Tenant, {"_id": {"$in": [ObjectId(t) for t in tenant_ids]}}),
        ("tenants, all of them (no filter)", Tenant, {}),
    ]
    for label, model, query in queries:
        started = time.perf_counter()
        n = len([d async for d in model.get_pymongo_collection().find(query)])
        rows.append((label, time.perf_counter() - started, f"{n:,} docs"))
    started = time.perf_counter()
    await AuditRecord.get_pymongo_collection().find_one({"seq": {"$exists": True}}, {"seq": 1, "hash": 1}, sort=[("seq", -1)])
    rows.append(("audit chain head (find_one seq $exists, sort seq -1)", time.perf_counter() - started, "1 doc"))
    return rows


# -- what nx-27017 runs (--profile) --------------------------------------------------------------


def explain(store_dir: Path, review: PromotionReview, target: list[Person]) -> None:
    """The SQL neosqlite runs for each query of the opinion, and SQLite's plan for it.

    neosqlite (the library inside nx-27017) is opened in this process on the same database file (the
    server keeps running; WAL lets both read); SQL is captured with sqlite3's trace callback.
    """
    import neosqlite
    from neosqlite.objectid import ObjectId as NeoObjectId

    path = next((p for p in store_dir.rglob(f"{DATABASE}*") if p.suffix in (".db", ".sqlite", ".sqlite3")), None)
    if path is None:
        say(f"  (no database file for {DATABASE} under {store_dir})")
        return
    connection = neosqlite.Connection(str(path))
    raw: sqlite3.Connection = connection.db
    statements: list[str] = []
    raw.set_trace_callback(statements.append)
    key, one = review.person_key, target[0]
    tenant_ids = sorted({p.tenant_id for p in target})
    queries = [
        ("entries: the opinion's query", "archive_entries", {"person_key": key}, [("on", -1), ("tenant_id", 1)]),
        ("entries: the same with $eq", "archive_entries", {"person_key": {"$eq": key}}, [("on", -1), ("tenant_id", 1)]),
        ("officials of the person", "officials", {"person_key": key}, None),
        ("officials of the same name", "officials", {"name_key": name_key(review.official_name)}, None),
        ("tenants by _id $in", "tenants", {"_id": {"$in": [NeoObjectId(t) for t in tenant_ids]}}, None),
        ("audit head", "audit_records", {"seq": {"$exists": True}}, [("seq", -1)]),
        ("read_archive's query (a tenant's own)", "archive_entries", {"tenant_id": one.tenant_id, "official_id": one.official_id}, [("on", -1)]),
        ("read_archive's query with $eq", "archive_entries",
         {"tenant_id": {"$eq": one.tenant_id}, "official_id": {"$eq": one.official_id}}, [("on", -1)]),
    ]
    say(f"  what nx-27017 runs (neosqlite {version('neosqlite')} in this process on {path.name}):")
    for label, name, query, sort in queries:
        statements.clear()
        cursor = connection[name].find(query)
        if sort:
            cursor = cursor.sort(sort)
        if name == "audit_records":
            cursor = cursor.limit(1)
        started = time.perf_counter()
        try:
            n = len(list(cursor))
        except Exception as exc:  # noqa: BLE001 - a gap of the library is a finding, not a crash
            say(f"    {label}: failed in-process: {exc!r}")
            continue
        seconds = time.perf_counter() - started
        selects = [s for s in statements if re.search(rf'FROM "?{name}"?\b', s)]
        say(f"    {label}: {n:,} docs in {seconds:.3f} s in-process")
        for sql in selects[:1]:
            short = re.sub(r"\s+", " ", sql)
            short = re.sub(r"'[0-9a-f]{24}'(, '[0-9a-f]{24}')+", "'<ids>'", short)
            short = re.sub(r"'id:[0-9a-f]{64}'", "'id:<hash>'", short)
            say(f"      SQL:  {short[:330]}")
            plan = raw.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            say("      plan: " + " | ".join(row[-1] for row in plan))
        if not selects:
            say("      (no SELECT on the table seen: answered another way)")
    raw.set_trace_callback(None)
    say("  indexes nx-27017 made (neosqlite keeps an equality sargable only if an index name ends with _<field>):")
    for table, name in raw.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                                   "('archive_entries', 'officials', 'tenants', 'audit_records') ORDER BY tbl_name, name"):
        say(f"    {table}: {name}")
    connection.close()


# -- the run -------------------------------------------------------------------------------------


@asynccontextmanager
async def fresh_store(keep: bool):
    """A temporary data directory and nx-27017 on a free port, opened as the platform opens it; removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="xinfang-bench-opinion-"))
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    try:
        settings = Settings(data_dir=data_dir, mongodb_uri=store.uri, mongodb_database=DATABASE, log_level="WARNING")
        opened = await Store.open(settings, document_models(make_plugin_manager()))
        try:
            yield data_dir, store
        finally:
            await opened.close()
    finally:
        logging.getLogger("xinfang.store.embedded").setLevel(logging.ERROR)  # killed after an ignored SIGTERM: fine here
        store.stop(timeout=3)
        if keep:
            say(f"  data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def run(args) -> dict:
    async with fresh_store(args.keep) as (data_dir, store):
        store_pid = store.process.pid
        say(f"\n=== {args.tenants:,} tenants, {args.entries:,} archive entries (data in {data_dir}, nx-27017 on port {store.port}) ===")
        say(f"  loading (insert_many through the raw collections, batches of {BATCH:,}) ...")
        load_usage = Usage()
        with measured(store_pid, load_usage):
            made = await load(args)
        target = made["target"]
        key = target[0].person_key
        say(f"  load: {made['seconds']:.1f} s ({made['entry_seconds']:.1f} s of it the archive entries: "
            f"{args.entries / made['entry_seconds']:,.0f} entries/s); {load_usage.text()}")
        say(f"  {made['tenants']:,} tenants; {made['officials']:,} officials, {made['people']:,} distinct people; one entry ~{made['entry_bytes']} bytes of BSON")
        say(f"  target {TARGET_NAME} ({key[:15]}...): {len(target)} officials in {len(target)} tenants, {made['target_entries']:,} entries; "
            f"{made['same_name'] - len(target):,} officials of the same name but other people ({made['namesakes']} planted); "
            f"the busiest other person has {made['max_other_entries']:,} entries")

        now = datetime.now(UTC)
        principal = Principal(account_id=str(ObjectId()), username="org-bench", tenant_id=None, permissions=SUPERUSER_PERMISSIONS,
                              via="bench", display_name="基准审查员")
        review = PromotionReview(
            person_key=key, official_name=TARGET_NAME, purpose="promotion", reference_no="组干〔2027〕15号",
            justification="拟提拔为副县级领导干部，征求廉政意见", requested_by=principal.account_id, requested_by_name=principal.display_name,
            approved_by=str(ObjectId()), approved_by_name="第二审批人", state=ReviewState.ACTIVE, granted_at=now, expires_at=now + timedelta(hours=72),
        )
        await review.insert()

        # One of each first, not counted: the cold runs after the load (page cache, Beanie's first parse).
        cold_base, n_base = await timed_baseline(key, store_pid)
        cold_eq, _ = await timed_baseline(key, store_pid, eq=True)
        cold, opinion, _ = await timed_opinion(principal, review, store_pid)
        say(f"  cold (first) runs, not counted: baseline {cold_base.wall:.3f} s, baseline $eq {cold_eq.wall:.3f} s, opinion {cold.wall:.3f} s")
        if opinion["summary"]["entries"] != n_base or n_base != made["target_entries"]:
            say(f"  !! the opinion has {opinion['summary']['entries']:,} entries, the baseline {n_base:,}, "
                f"{made['target_entries']:,} were inserted")

        # Interleaved: the query as the issue names it, the same with $eq (what the index gives on nx-27017),
        # the opinion; then the opinion with its equalities written as $eq (a what-if, wrappers in this process).
        parts = {"plain": [], "eq": [], "opinion": [], "opinion_eq": []}
        phase_runs, phase_runs_eq = [], []
        for i in range(args.runs):
            parts["plain"].append((await timed_baseline(key, store_pid))[0])
            parts["eq"].append((await timed_baseline(key, store_pid, eq=True))[0])
            usage, opinion, phases = await timed_opinion(principal, review, store_pid)
            parts["opinion"].append(usage)
            phase_runs.append(phases)
            usage, _, phases = await timed_opinion(principal, review, store_pid, rewrite_eq=True)
            parts["opinion_eq"].append(usage)
            phase_runs_eq.append(phases)
            say(f"  run {i + 1}: " + "; ".join(f"{name} {runs[-1].wall:.3f} s" for name, runs in parts.items()))
        pdf_seconds = []
        for _ in range(max(1, args.runs // 2)):
            seconds, document = timed_pdf(opinion)
            pdf_seconds.append(seconds)
        started = time.perf_counter()
        encoded = json.dumps(opinion, ensure_ascii=False).encode()
        json_seconds = time.perf_counter() - started
        busiest = max(u.others / u.wall for runs in parts.values() for u in runs)
        if busiest > 0.2:
            say(f"  !! other processes used up to {busiest:.0%} of a core during a timed part: the machine was shared, "
                "seconds are unreliable (the ratios less so: the parts are interleaved)")

        med = {name: statistics.median(u.wall for u in runs) for name, runs in parts.items()}
        base, pdf = med["eq"], statistics.median(pdf_seconds)
        summary = opinion["summary"]
        say("")
        say(f"  {'':<66} {'seconds':>8} {'x baseline':>11} {'CPU s: bench':>13} {'store':>6} {'others':>7}")
        for name, label in LABELS.items():
            cpu = [statistics.median(getattr(u, field) for u in parts[name]) for field in ("ours", "store", "others")]
            say(f"  {label:<66} {med[name]:8.3f} {med[name] / base:11.2f} {cpu[0]:13.2f} {cpu[1]:6.2f} {cpu[2]:7.2f}")
        say(f"  {'opinion_pdf (reportlab, CPU in the web process)':<66} {pdf:8.3f} {pdf / base:11.2f}")
        say(f"  {'the opinion as JSON (json.dumps, ' + format(len(encoded), ',') + ' bytes)':<66} {json_seconds:8.3f} {json_seconds / base:11.2f}")
        say(f"  (median of {args.runs} interleaved runs each; the PDF: {len(pdf_seconds)} runs, {len(document):,} bytes, "
            f"{document.count(b'/Type /Page') - document.count(b'/Type /Pages')} pages)")
        say(f"  the opinion against the query exactly as the issue names it (plain equality): {med['opinion'] / med['plain']:.2f}x")
        say(f"  the opinion: {summary['entries']:,} entries from {summary['tenants']} tenants ({summary['by_kind']}), "
            f"{len(opinion['person']['records'])} records of the person, {len(opinion['possible_matches'])} possible matches")

        for title, runs in (("as the platform queries", phase_runs), ("what-if: equalities as $eq", phase_runs_eq)):
            say("")
            say(f"  where the opinion's time goes, {title} (median of {len(runs)} runs, wrappers in this process):")
            total = statistics.median(sum(p.values()) for p in runs)
            for name in dict.fromkeys(n for p in runs for n in p):
                seconds = statistics.median(p.get(name, 0.0) for p in runs)
                say(f"    {name:<62} {seconds:8.3f} s {seconds / total:6.1%}")
        say("  the same queries alone (raw pymongo, whole documents unless said) and Beanie's parsing alone:")
        for label, seconds, note in await decomposition(review, target):
            say(f"    {label:<72} {seconds:8.3f} s  {note}")

        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            started = time.perf_counter()
            await reviews.consolidated_opinion(principal, review)
            wall = time.perf_counter() - started
            profile.disable()
            say("")
            say(f"  one more opinion under cProfile (this process only; the store works in its own): {wall:.3f} s")
            profile_summary(profile, wall)
            say("")
            await asyncio.to_thread(explain, data_dir / "store", review, target)
        records = await AuditRecord.get_pymongo_collection().count_documents({})
        say(f"\n  audit records in the chain: {records} (one per opinion: cold, timed, what-if and, with --profile, the profiled one)")
        return {"load": made["seconds"], "baseline": base, "plain": med["plain"], "opinion": med["opinion"], "opinion_eq": med["opinion_eq"],
                "pdf": pdf, "entries": summary["entries"],
                "tenants": args.tenants, "all_entries": args.entries}


def environment() -> None:
    try:
        head, changed = (subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip() for cmd in (
            ["rev-parse", "--short", "HEAD"],
            ["status", "--porcelain", "--", "platform/xinfang/archives", "platform/xinfang/audit", "platform/xinfang/store"]))
    except (OSError, subprocess.SubprocessError):
        head, changed = "?", "?"
    say(f"xinfang consolidated-opinion bench - {datetime.now().isoformat(timespec='seconds')}")
    say(f"  git {head}; uncommitted changes in archives/audit/store: {changed.replace(chr(10), '; ') or 'none'}")
    versions = ", ".join(f"{name} {version(name)}" for name in ("nx-27017", "neosqlite", "pymongo", "beanie", "reportlab"))
    say(f"  {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}); Python {stdlib_platform.python_version()}; {versions}")
    say("  NOTE: nx-27017 is a Python wire-protocol server over SQLite (neosqlite) in its own process, much slower than MongoDB,")
    say("  sharing the 2 cores with this process: compare ratios, not seconds.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=2_156, help="tenants (the seeds have 2,156 petition bodies)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="archive entries in all")
    parser.add_argument("--target-tenants", type=int, default=300, help="tenants the target person is registered in")
    parser.add_argument("--target-entries", type=int, default=3_000, help="archive entries of the target person")
    parser.add_argument("--entries-per-person", type=float, default=10.0, help="sets how many officials there are")
    parser.add_argument("--quick", action="store_true", help="100 tenants (the target in 60), 50,000 entries, with --profile")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the opinion and of the baseline; the median is reported")
    parser.add_argument("--profile", action="store_true", help="one more opinion under cProfile, and the SQL nx-27017 runs")
    parser.add_argument("--seed", type=int, default=2156)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.entries, args.target_tenants, args.profile = 100, 50_000, 60, True
    logging.basicConfig(level=logging.WARNING)
    environment()
    started = time.perf_counter()
    r = asyncio.run(run(args))
    say("\n=== summary ===")
    say(f"  {'tenants':>8} {'entries':>10} {'load s':>7} {'person':>6} {'baseline s':>10} {'plain s':>8} {'opinion s':>9} "
        f"{'x base':>6} {'x plain':>7} {'$eq opinion s':>13} {'x base':>6} {'PDF s':>6}")
    say(f"  {r['tenants']:>8,} {r['all_entries']:>10,} {r['load']:>7.0f} {r['entries']:>6,} {r['baseline']:>10.3f} {r['plain']:>8.3f} "
        f"{r['opinion']:>9.3f} {r['opinion'] / r['baseline']:>6.2f} {r['opinion'] / r['plain']:>7.2f} {r['opinion_eq']:>13.3f} "
        f"{r['opinion_eq'] / r['baseline']:>6.2f} {r['pdf']:>6.2f}")
    say(f"  whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
