"""The supervision sweeper over many open cards and actions, next to a bare indexed query in the same run.

What it does, in one process, on a fresh temporary data directory:

1. starts the embedded store (nx-27017, SQLite-backed) on a free port, opens it
   the way the platform does (``Store.open`` with every plugin's document
   models), lets service code write (``configure_dispatch(store, None)``: events
   are recorded in the outbox, nothing is enqueued) and loads the demo bundles;
2. inserts N ``Supervision`` documents for siyang-edu through the raw collection
   (``insert_many`` in batches of 5,000; each document is a real
   ``Supervision(...)`` dumped with Beanie's ``get_dict(..., to_db=True)``, so it
   looks exactly like one the services wrote). The mix: white/green/yellow/red
   cards and the six action types of siyang-edu; mostly issued/answered/rectifying,
   some closed, a few transferred, drafts and awaiting approval; ``issued_on``
   from 2025-01-02 to the sweep day (issued ones weighted to the last 40 days);
   ``response_due`` computed with the tenant's calendar exactly like ``do_issue``,
   so some are past, some within the reminder horizon, some later; yellow cards
   carry their 3-month follow-up (most done); many distinct subjects with some
   repeats (so ``repeat_within`` finds second yellow cards);
3. simulates a platform whose sweeper has been running: whatever the sweep would
   have done more than ``--backlog-days`` (10) days before the sweep day is
   already done in the documents (overdue flags, ``applied_rules``, second yellow
   cards treated as red). ``--never-swept`` leaves everything to the first run;
4. times, on the sweep day 2027-06-15:
   * ``sweep_tenant(TenantScope(tenant), day)``: the first run (does the work),
     then idempotent runs on the same day (each SweepReport must be all zeros;
     the median is reported);
   * the baseline: the indexed query the sweeper cannot avoid, every open
     supervision of the tenant by ``{"tenant_id", "state": {"$in": open}}``,
     raw pymongo, projected to the fields the rules need, cursor drained;
     median of several runs interleaved with the sweeps;
   * where the sweeper's time goes: each run is split into phases (overdue,
     reminders, follow-ups, each escalation rule) by light wrappers installed in
     this process only (platform code is not changed), with the documents each
     phase's query returns, its writes and notifications; one more idempotent
     run under cProfile, grouped by library;
   * a few "what if" raw queries (not platform code) that show what narrower
     queries would cost on the same data (and which of them nx-27017 answers
     wrongly). cProfile and what-if run by default up to 50,000 supervisions
     only (they add about 3 minutes at 200,000): --profile / --what-if force them.

Docs/s is open supervisions of the tenant per second, for the sweeper and the
baseline alike. The embedded store is a Python wire-protocol server over SQLite
and much slower than a real MongoDB; with 2 cores the store process and this
process share the machine. The ratio is the figure to keep, not the seconds.

    /tmp/venv/bin/python bench/sweeper.py                        # 200,000 supervisions, ~10 min on 2 cores
    /tmp/venv/bin/python bench/sweeper.py --quick                # 20,000, with cProfile and what-if, ~80 s
    /tmp/venv/bin/python bench/sweeper.py --cards 50000 200000   # each size on a fresh store
    /tmp/venv/bin/python bench/sweeper.py --profile --what-if    # 200,000 with everything, ~13 min
    /tmp/venv/bin/python bench/sweeper.py --quick --never-swept  # the first run does the whole backlog
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import hashlib
import io
import logging
import os
import platform as stdlib_platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from dateutil.relativedelta import relativedelta

from xinfang.plugins import document_models
from xinfang.cards import rules as rules_module
from xinfang.cards import sweeper as sweeper_module
from xinfang.cards.models import (
    ActionType, AutomaticStep, CardType, EscalationRule, FollowUp, Subject, Supervision, SupervisionState,
)
from xinfang.cards.service import period_end
from xinfang.cards.sweeper import COUNTED, OPEN, sweep_tenant
from xinfang.events import configure_dispatch
from xinfang.petitions.service import tenant_calendar
from xinfang.plugins import make_plugin_manager
from xinfang.settings import Settings
from xinfang.store.client import Store
from xinfang.store.embedded import EmbeddedStore
from xinfang.store.scoped import ScopedRepository, TenantScope
from xinfang.tenancy.bundles import BundleLoader, discover
from xinfang.tenancy.models import Tenant

from _common import free_port  # bench/ is on sys.path when a script here runs

REPO = Path(__file__).resolve().parents[1]

TENANT = "siyang-edu"
PASSWORD = "bench-password-1"
SWEEP_DAY = date(2027, 6, 15)  # a Tuesday; 2027 is beyond chinese-calendar: weekends + siyang's own holidays
FIRST_DAY = date(2025, 1, 2)
BATCH = 5_000
AUTO_EXTRAS_UP_TO = 50_000  # cProfile and the what-if queries add ~3 minutes at 200,000
OPEN_VALUES = [s.value for s in OPEN]
COUNTED_VALUES = [s.value for s in COUNTED]
# What the rules read: deadlines, flags, follow-ups, grouping keys, the subject's name for the texts.
RULE_FIELDS = {"_id": 1, "kind": 1, "type_key": 1, "state": 1, "subject_key": 1, "subject.name": 1, "issued_on": 1,
               "response_due": 1, "overdue": 1, "rectified_on": 1, "follow_ups": 1, "applied_rules": 1, "revision": 1}

# (kind, type_key, weight): siyang-edu's four cards and six action types.
TYPES = [
    ("card", "white", 20), ("card", "green", 12), ("card", "yellow", 18), ("card", "red", 5),
    ("action", "supervision_notice", 15), ("action", "rectification_notice", 8), ("action", "admonishment_talk", 8),
    ("action", "warning_talk", 6), ("action", "special_meeting", 4), ("action", "briefing_meeting", 4),
]
STATES = [("issued", 40), ("answered", 22), ("rectifying", 16), ("closed", 16), ("transferred", 2),
          ("draft", 2), ("awaiting_approval", 2)]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力波宁斌浩凯鹏飞鑫宇晨欣怡婷雪琳佳慧俊峰亮成志海燕"
POSITIONS = ["校长", "副校长", "党支部书记", "教务处主任", "政教处主任", "总务处主任", "财务人员", "班主任", "教师", "食堂负责人"]
TOWNS = ["众兴镇", "爱园镇", "王集镇", "裴圩镇", "新袁镇", "李口镇", "临河镇", "穿城镇", "张家圩镇", "高渡镇", "卢集镇",
         "庄圩乡", "三庄乡", "南刘集乡", "八集乡", "里仁乡", "城厢街道", "来安街道"]
SCHOOL_KINDS = ["中心小学", "小学", "初级中学", "幼儿园", "中学"]
UNITS = [f"泗阳县{town}第{n}{kind}" for town in TOWNS for kind in SCHOOL_KINDS for n in range(1, 23)]  # ~2,000 schools
ANSWER = "经自查，已就反映的问题作出书面说明：收费依据为学校文件，已全部清退并向家长公开说明，今后严格执行收费公示制度。"
RECORD = "谈话记录：已当面指出反映的问题及其危害，本人表示接受批评，承诺限期整改，并书面报告整改情况。"

log = logging.getLogger("bench.sweeper")


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the data ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Spec:
    """One supervision before it becomes a document (cheap to keep 200,000 of)."""

    kind: str
    type_key: str
    state: str
    subject: tuple[str, str, str | None, str | None]  # kind, name, position, unit
    subject_key: str
    issued_on: date | None
    response_due: str | None = None
    overdue: bool = False
    rectify_due: str | None = None
    rectified_on: str | None = None
    follow_up: tuple[str, str | None] | None = None  # due_on, done_on
    applied_rules: list[str] = dataclasses.field(default_factory=list)
    automatic: list[AutomaticStep] = dataclasses.field(default_factory=list)
    treated_as: str | None = None
    copies_extra: list = dataclasses.field(default_factory=list)  # copies added by a rule
    petition_count: int = 1


class Generator:
    def __init__(self, seed: int, card_types: dict[str, CardType], action_types: dict[str, ActionType],
                 rules: list[EscalationRule], calendar, today: date, backlog_days: int | None):
        self.rnd = random.Random(seed)
        self.card_types, self.action_types, self.rules = card_types, action_types, rules
        self.calendar, self.today, self.backlog_days = calendar, today, backlog_days
        self.cutoff = today - timedelta(days=backlog_days) if backlog_days is not None else None
        self._due_cache: dict[tuple, date] = {}
        self._subject_cache: dict[tuple, str] = {}
        self.leader_id = str(ObjectId())

    def _due(self, start: date, period) -> date:
        key = (start, period.amount, period.unit)
        if key not in self._due_cache:
            self._due_cache[key] = period_end(self.calendar, start, period)
        return self._due_cache[key]

    def _subject_key(self, subject: tuple) -> str:
        if subject not in self._subject_cache:
            kind, name, position, unit = subject
            self._subject_cache[subject] = Subject(kind=kind, name=name, position=position, unit=unit).key
        return self._subject_cache[subject]

    def _new_subject(self) -> tuple:
        rnd = self.rnd
        unit = rnd.choice(UNITS)
        if rnd.random() < 0.05:
            return ("unit", unit, None, None)
        given = rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.7 else "")
        return ("person", rnd.choice(SURNAMES) + given, rnd.choice(POSITIONS), unit)

    def _issued_on(self, state: str) -> date | None:
        if state in ("draft", "awaiting_approval"):
            return None
        span = (self.today - FIRST_DAY).days
        if state == "issued" and self.rnd.random() < 0.45:
            return self.today - timedelta(days=self.rnd.randint(0, 40))  # waiting for an answer: mostly recent
        return FIRST_DAY + timedelta(days=self.rnd.randint(0, span))

    def specs(self, n: int) -> list[Spec]:
        rnd, today = self.rnd, self.today
        types = rnd.choices([(k, t) for k, t, _ in TYPES], weights=[w for *_, w in TYPES], k=n)
        states = rnd.choices([s for s, _ in STATES], weights=[w for _, w in STATES], k=n)
        by_type: dict[str, list[tuple]] = defaultdict(list)
        everyone: list[tuple] = []
        out: list[Spec] = []
        for (kind, type_key), state in zip(types, states):
            roll = rnd.random()
            if roll < 0.12 and by_type[type_key]:
                subject = rnd.choice(by_type[type_key])  # the same subject again, same kind of card or action
            elif roll < 0.16 and everyone:
                subject = rnd.choice(everyone)
            else:
                subject = self._new_subject()
            by_type[type_key].append(subject)
            everyone.append(subject)
            spec = Spec(kind, type_key, state, subject, self._subject_key(subject), self._issued_on(state),
                        petition_count=1 if rnd.random() < 0.8 else 2)
            kind_type = self.card_types[type_key] if kind == "card" else self.action_types[type_key]
            issued = spec.issued_on
            if issued is not None:
                if kind_type.response_deadline:
                    spec.response_due = self._due(issued, kind_type.response_deadline).isoformat()
                if state == "issued" and spec.response_due and self.cutoff and spec.response_due < self.cutoff.isoformat():
                    spec.overdue = True  # flagged by an earlier sweep
                if state == "rectifying":
                    spec.rectify_due = (issued + timedelta(days=rnd.randint(30, 120))).isoformat()
                if state == "closed" and type_key == "yellow" and rnd.random() < 0.6:
                    spec.rectified_on = min(today, issued + timedelta(days=rnd.randint(20, 80))).isoformat()
                for visit in getattr(kind_type, "follow_up_visits", [])[:1]:
                    due_on = self._due(issued, visit)
                    done_on = None
                    if due_on <= today and rnd.random() < 0.85:
                        done_on = min(today, due_on + timedelta(days=rnd.randint(0, 10))).isoformat()
                    spec.follow_up = (due_on.isoformat(), done_on)
            out.append(spec)
        self._pre_apply(out)
        return out

    def _pre_apply(self, specs: list[Spec]) -> None:
        """What earlier sweeps (more than backlog_days ago) already did: the same rules as the sweeper.

        Repeats (``repeat_within``) are decided when a card is issued (cards/rules.py), so every
        issued card already carries its decision, whatever the backlog.
        """
        open_states, counted_states = set(OPEN_VALUES), set(COUNTED_VALUES)
        for rule in self.rules:
            trigger = rule.trigger
            if trigger.condition == "not_rectified_after":
                if self.cutoff is None:
                    continue
                for spec in specs:
                    if (spec.kind == "card" and spec.type_key == trigger.card_type and spec.state in open_states
                            and spec.issued_on and not spec.rectified_on
                            and period_end(self.calendar, spec.issued_on, trigger.period, to_working_day=False) < self.cutoff):
                        spec.applied_rules.append(rule.key)
            else:
                groups: dict[str, list[Spec]] = defaultdict(list)
                for spec in specs:
                    if spec.kind == "card" and spec.type_key == trigger.card_type and spec.state in counted_states and spec.issued_on:
                        groups[spec.subject_key].append(spec)
                for cards in groups.values():
                    cards.sort(key=lambda s: s.issued_on)
                    for index in range(trigger.count - 1, len(cards)):
                        card, first = cards[index], cards[index - trigger.count + 1]
                        if card.issued_on > period_end(self.calendar, first.issued_on, trigger.period, to_working_day=False):
                            continue
                        card.treated_as = rule.outcome.card_type
                        card.applied_rules.append(rule.key)
                        card.automatic.append(AutomaticStep(rule=rule.key, at=card.issued_on.isoformat(), reason=rule.reason,
                                                            facts=[str(ObjectId()) for _ in range(trigger.count)]))
                        card.copies_extra = list(rule.outcome.copy_to)

    def document(self, spec: Spec, tenant_id: str) -> dict:
        rnd = self.rnd
        kind_type = self.card_types[spec.type_key] if spec.kind == "card" else self.action_types[spec.type_key]
        issued = spec.issued_on
        created = datetime.combine(issued or self.today, datetime.min.time(), UTC) - timedelta(days=rnd.randint(1, 6), hours=rnd.randint(0, 9))
        notes = [{"at": created.isoformat(), "actor": "承办人 Handler", "action": "created", "text": ""}]
        needs_approval = getattr(kind_type, "needs_approval", True)
        approved = needs_approval and spec.state != "draft" and spec.state != "awaiting_approval"
        if needs_approval and spec.state != "draft":
            notes.append({"at": (created + timedelta(hours=2)).isoformat(), "actor": "承办人 Handler", "action": "submitted_for_approval", "text": ""})
        if approved:
            notes.append({"at": (created + timedelta(days=1)).isoformat(), "actor": "纪委书记 Leader", "action": "approved", "text": "同意"})
        copies = []
        if issued:
            notes.append({"at": (created + timedelta(days=2)).isoformat(), "actor": "承办人 Handler", "action": "issued", "text": ""})
            copies = list(getattr(kind_type, "copy_to", []))
        answer = ANSWER if spec.state in ("answered", "rectifying", "closed", "transferred") else None
        if answer:
            notes.append({"at": (created + timedelta(days=12)).isoformat(), "actor": "承办人 Handler", "action": "answered", "text": answer[:200]})
        outcome = {"rectifying": "rectify", "closed": "close", "transferred": "transfer"}.get(spec.state)
        if outcome:
            notes.append({"at": (created + timedelta(days=15)).isoformat(), "actor": "承办人 Handler", "action": f"decided:{outcome}", "text": ""})
        copies += [c for c in spec.copies_extra if c not in copies]
        follow_ups = [FollowUp(due_on=spec.follow_up[0], done_on=spec.follow_up[1])] if spec.follow_up else []
        # The sweeper's pointer to the next visit to announce: visits due before the cut-off were announced already.
        follow_up_due = next((v.due_on for v in follow_ups if v.done_on is None
                              and (self.cutoff is None or date.fromisoformat(v.due_on) >= self.cutoff)), None)
        record = RECORD if getattr(kind_type, "record_required", False) and spec.state != "issued" and issued else None
        sup = Supervision(
            id=ObjectId(), tenant_id=tenant_id, kind=spec.kind, type_key=spec.type_key,
            subject=Subject(kind=spec.subject[0], name=spec.subject[1], position=spec.subject[2], unit=spec.subject[3]),
            subject_key=spec.subject_key, petition_ids=[str(ObjectId()) for _ in range(spec.petition_count)],
            state=SupervisionState(spec.state), needs_approval=needs_approval, approved_by=self.leader_id if approved else None,
            issued_on=issued.isoformat() if issued else None, response_due=spec.response_due, rectify_due=spec.rectify_due,
            rectified_on=spec.rectified_on, overdue=spec.overdue, follow_ups=follow_ups, follow_up_due=follow_up_due, copies=copies, treated_as=spec.treated_as,
            automatic=spec.automatic, applied_rules=spec.applied_rules, answer=answer, record=record, outcome=outcome,
            notes=notes, revision=len(notes) + len(spec.applied_rules) - 1, created_at=created,
        )
        return get_dict(sup, to_db=True)


async def load(scope: TenantScope, n: int, seed: int, backlog_days: int | None) -> dict:
    """Insert n supervisions; returns what was made (counts) and the timings."""
    card_types = {c.key: c async for c in scope.repo(CardType).find({})}
    action_types = {a.key: a async for a in scope.repo(ActionType).find({})}
    rules = await scope.repo(EscalationRule).find({}).to_list()
    calendar = await tenant_calendar(scope)
    generator = Generator(seed, card_types, action_types, rules, calendar, SWEEP_DAY, backlog_days)
    started = time.perf_counter()
    specs = generator.specs(n)
    planned = time.perf_counter() - started
    collection = Supervision.get_pymongo_collection()

    build_seconds = [0.0]

    def build(chunk: list[Spec]) -> list[dict]:
        started = time.perf_counter()
        docs = [generator.document(s, scope.tenant_id) for s in chunk]
        build_seconds[0] += time.perf_counter() - started
        return docs

    insert_started = time.perf_counter()
    pending = None
    batches = [specs[i:i + BATCH] for i in range(0, len(specs), BATCH)]
    next_docs = await asyncio.to_thread(build, batches[0])
    done, insert_wait, build_wait = 0, 0.0, 0.0
    for index in range(len(batches)):
        docs = next_docs
        # Build the next batch in a thread while the store (another process) inserts this one.
        pending = asyncio.ensure_future(asyncio.to_thread(build, batches[index + 1])) if index + 1 < len(batches) else None
        started = time.perf_counter()
        await collection.insert_many(docs)
        insert_wait += time.perf_counter() - started
        done += len(docs)
        if pending is not None:
            started = time.perf_counter()
            next_docs = await pending
            build_wait += time.perf_counter() - started
        if done % 25_000 == 0 or done == n:
            say(f"    inserted {done:>7,} of {n:,}  ({time.perf_counter() - insert_started:6.1f} s; building {build_seconds[0]:.1f} s "
                f"in a thread, waiting for insert_many {insert_wait:.1f} s, for the builder {build_wait:.1f} s)")
    inserted = time.perf_counter() - insert_started
    size = len(__import__("bson").encode(docs[-1]))
    by_state = Counter(s.state for s in specs)
    by_type = Counter(s.type_key for s in specs)
    yellow_subjects = Counter(s.subject_key for s in specs if s.type_key == "yellow" and s.state in COUNTED_VALUES and s.issued_on)
    return {
        "plan_seconds": planned, "insert_seconds": inserted, "doc_bytes": size, "by_state": by_state, "by_type": by_type,
        "subjects": len({s.subject_key for s in specs}),
        "yellow_repeat_subjects": sum(1 for c in yellow_subjects.values() if c >= 2),
        "pre_applied": Counter(rule for s in specs for rule in s.applied_rules),
        "pre_flagged_overdue": sum(s.overdue for s in specs),
    }


# -- timing and phases ---------------------------------------------------------------------------


CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """utime + stime of a process, from /proc (seconds)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


@dataclasses.dataclass
class Usage:
    """Wall time of a timed part, and the CPU used meanwhile by this process, the store and everything else."""

    wall: float = 0.0
    ours: float = 0.0
    store: float = 0.0
    others: float = 0.0

    def text(self) -> str:
        return (f"CPU: bench {self.ours / self.wall:4.0%}, store {self.store / self.wall:4.0%}, "
                f"other processes {self.others / self.wall:4.0%} of a core")


@contextmanager
def measured(store_pid: int, usage: Usage):
    me = os.getpid()
    cpu0, store0, busy0, t0 = process_cpu(me), process_cpu(store_pid), machine_busy(), time.perf_counter()
    yield usage
    usage.wall = time.perf_counter() - t0
    usage.ours, usage.store = process_cpu(me) - cpu0, process_cpu(store_pid) - store0
    usage.others = max(0.0, machine_busy() - busy0 - usage.ours - usage.store)


@dataclasses.dataclass
class PhaseStat:
    seconds: float = 0.0
    docs: int = 0  # Supervision documents the phase's queries returned (each parsed into a model)
    writes: int = 0  # update_one / replace_versioned / insert of Supervision documents
    write_seconds: float = 0.0
    notify_calls: int = 0
    notify_new: int = 0
    notify_seconds: float = 0.0


class PhaseClock:
    """Splits one sweep_tenant run into phases at the calls that start them (see instrumented())."""

    def __init__(self):
        self.phases: dict[str, PhaseStat] = {}
        self.current: str | None = None
        self.since = 0.0

    def start(self, name: str = "calendar") -> None:
        self.phases, self.current, self.since = {name: PhaseStat()}, name, time.perf_counter()

    def mark(self, name: str | None) -> None:
        if self.current is None:
            return
        now = time.perf_counter()
        self.phases[self.current].seconds += now - self.since
        self.current, self.since = name, now
        if name is not None:
            self.phases.setdefault(name, PhaseStat())

    def stat(self) -> PhaseStat:
        return self.phases[self.current] if self.current is not None else PhaseStat()


class Counted:
    """A Beanie FindMany whose async iteration counts the documents it yields into the current phase."""

    def __init__(self, inner, clock: PhaseClock):
        self._inner, self._clock = inner, clock

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name in ("sort", "limit", "skip", "project"):
            def chain(*args, **kwargs):
                self._inner = attr(*args, **kwargs)
                return self
            return chain
        return attr

    async def __aiter__(self):
        async for item in self._inner:
            self._clock.stat().docs += 1
            yield item


@contextmanager
def instrumented(clock: PhaseClock):
    """Wrap, in this process only, the calls that start each phase of sweep_tenant, its writes and do_notify.

    Phase boundaries: the Supervision queries of the overdue / reminder / follow-up loops (recognised by
    their filter), the EscalationRule listing, and _not_rectified / _repeat_within for each rule. Nothing
    of the platform is edited; the wrappers are removed when the block ends.
    """
    saved = {name: getattr(ScopedRepository, name) for name in ("find", "update_one", "replace_versioned", "insert")}
    original_not_rectified = sweeper_module._not_rectified
    original_repeat = sweeper_module._repeat_within
    original_notify = sweeper_module.do_notify

    def find(self, query=None, **kwargs):
        if clock.current is not None and isinstance(query, dict):
            if self.model is Supervision:  # the rules' own queries are marked by their wrappers below
                if "overdue" in query:
                    clock.mark("overdue")
                elif "response_due" in query:
                    clock.mark("reminders")
                elif "follow_up_due" in query:
                    clock.mark("follow-ups")
            elif self.model is EscalationRule:
                clock.mark("list rules")
        result = saved["find"](self, query, **kwargs)
        return Counted(result, clock) if self.model is Supervision and clock.current is not None else result

    def counting_write(name):
        original = saved[name]

        async def write(self, *args, **kwargs):
            if self.model is not Supervision or clock.current is None:
                return await original(self, *args, **kwargs)
            started = time.perf_counter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                stat = clock.stat()
                stat.writes += 1
                stat.write_seconds += time.perf_counter() - started
        return write

    def rule_of(args, kwargs):
        rule = kwargs.get("rule") or (args[2] if len(args) > 2 else None)
        return getattr(rule, "key", "?")

    async def not_rectified(*args, **kwargs):
        clock.mark(f"rule not_rectified_after [{rule_of(args, kwargs)}]")
        return await original_not_rectified(*args, **kwargs)

    async def repeat_within(*args, **kwargs):
        clock.mark(f"rule repeat_within [{rule_of(args, kwargs)}]")
        return await original_repeat(*args, **kwargs)

    async def notify(*args, **kwargs):
        started = time.perf_counter()
        new = await original_notify(*args, **kwargs)
        stat = clock.stat()
        stat.notify_calls += 1
        stat.notify_new += bool(new)
        stat.notify_seconds += time.perf_counter() - started
        return new

    ScopedRepository.find = find
    for name in ("update_one", "replace_versioned", "insert"):
        setattr(ScopedRepository, name, counting_write(name))
    sweeper_module._not_rectified = not_rectified
    sweeper_module._repeat_within = repeat_within
    sweeper_module.do_notify = notify
    rules_module.do_notify = notify  # repeats are announced from cards/rules.py
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(ScopedRepository, name, original)
        sweeper_module._not_rectified = original_not_rectified
        sweeper_module._repeat_within = original_repeat
        sweeper_module.do_notify = original_notify
        rules_module.do_notify = original_notify


async def timed_sweep(scope: TenantScope, store_pid: int):
    clock, usage = PhaseClock(), Usage()
    with instrumented(clock), measured(store_pid, usage):
        clock.start()
        report = await sweep_tenant(scope, SWEEP_DAY)
        clock.mark(None)
    return usage, report, dict(clock.phases)


async def baseline(tenant_id: str, store_pid: int) -> tuple[Usage, int]:
    """The indexed query the sweeper cannot avoid: every open supervision, projected to what the rules read."""
    collection = Supervision.get_pymongo_collection()
    usage, count = Usage(), 0
    with measured(store_pid, usage):
        async for _ in collection.find({"tenant_id": tenant_id, "state": {"$in": OPEN_VALUES}}, RULE_FIELDS):
            count += 1
    return usage, count


async def drain(query: dict, projection: dict | None = None, sort: list | None = None, limit: int = 0) -> tuple[float, int, list[dict]]:
    collection = Supervision.get_pymongo_collection()
    started = time.perf_counter()
    cursor = collection.find(query, projection, limit=limit)
    if sort:
        cursor = cursor.sort(sort)
    rows = [row async for row in cursor]
    return time.perf_counter() - started, len(rows), rows


def fmt_report(report) -> str:
    return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(report).items())


def print_phases(title: str, runs: list[dict[str, PhaseStat]]) -> None:
    say(f"  {title}")
    say(f"    {'phase':<52} {'seconds':>8} {'share':>6} {'docs read':>10} {'writes':>7} {'write s':>8} "
        f"{'notify calls':>12} {'new':>6} {'notify s':>9}")
    names = list(dict.fromkeys(name for run in runs for name in run))
    total = statistics.median(sum(p.seconds for p in run.values()) for run in runs)

    def med(stats, field):
        return statistics.median(getattr(s, field) for s in stats)

    for name in names:
        stats = [run.get(name, PhaseStat()) for run in runs]
        seconds = med(stats, "seconds")
        say(f"    {name:<52} {seconds:8.2f} {seconds / total:6.1%} {med(stats, 'docs'):>10,.0f} {med(stats, 'writes'):>7,.0f} "
            f"{med(stats, 'write_seconds'):8.2f} {med(stats, 'notify_calls'):>12,.0f} {med(stats, 'notify_new'):>6,.0f} "
            f"{med(stats, 'notify_seconds'):9.2f}")


def profile_summary(profile: cProfile.Profile, wall: float) -> None:
    stats = pstats.Stats(profile)
    groups: Counter = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        if "epoll" in name or ("select" in name and filename == "~"):
            group = "idle: event loop waiting for the store (nx-27017 works meanwhile)"
        elif "socket" in name:
            group = "socket send/recv"
        elif "pydantic" in filename or "validate_python" in name or "pydantic" in name or "lazy_model" in filename:
            group = "pydantic (parsing documents into models, dumping them)"
        elif "/beanie/" in filename:
            group = "beanie (query building, parsing, encoding)"
        elif "/bson/" in filename or "bson" in name:
            group = "bson encode/decode"
        elif "/pymongo/" in filename:
            group = "pymongo (driver)"
        elif "/asyncio/" in filename:
            group = "asyncio machinery"
        elif "/xinfang/" in filename:
            group = "xinfang code (sweeper, scoped repo, calendar, notify)"
        elif "dateutil" in filename:
            group = "dateutil (relativedelta in period_end)"
        else:
            group = "other (stdlib, builtins, the bench's wrappers)"
        groups[group] += tottime
    say(f"  where the time goes (cProfile, exclusive time grouped by library; profiled run {wall:.2f} s wall):")
    for group, seconds in groups.most_common():
        say(f"    {group:<66} {seconds:8.2f} s {seconds / wall:6.1%}")
    for sort, limit in (("tottime", 14), ("cumulative", 24)):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats(sort).print_stats(limit)
        lines = buffer.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        say(f"  top functions by {sort}:")
        for line in lines[start:]:
            if line.strip():
                for prefix in (sys.prefix + "/lib/python3.13/site-packages/", str(REPO / "platform") + "/",
                               str(REPO) + "/", sys.base_prefix + "/lib/python3.13/"):
                    line = line.replace(prefix, "")
                say("    " + line[:170])


# -- what-if queries (not platform code): narrower filters and projections on the same data -----


async def what_if(tenant_id: str, rules: list[EscalationRule], calendar) -> None:
    iso = SWEEP_DAY.isoformat()
    base = {"tenant_id": tenant_id}
    counted = {**base, "state": {"$in": COUNTED_VALUES}}
    say("  what-if queries (raw pymongo on the same data after the sweeps, for the suggestions below; not platform code):")

    seconds, n, rows = await drain(counted, limit=5_000)
    started = time.perf_counter()
    for row in rows:
        Supervision.model_validate(row)
    per_doc = (time.perf_counter() - started) / max(1, n)
    say(f"    {'parse one full Supervision (model_validate; Beanie adds more)':<66} {per_doc * 1e6:7.0f} us each")

    # follow-ups: today every counted supervision is read whole and parsed, to look at follow_ups in Python.
    seconds, n, rows = await drain(counted, {"follow_ups": 1, "subject.name": 1})
    due = sum(1 for r in rows for v in r.get("follow_ups", []) if v.get("done_on") is None and v["due_on"] <= iso)
    say(f"    {'follow-ups: same filter, projected to follow_ups + name, raw':<66} {seconds:7.2f} s {n:>8,} docs, {due:,} visits due")
    for label, query in (("follow-ups: + {'follow_ups.due_on': {'$lte': today}}", {"follow_ups.due_on": {"$lte": iso}}),
                         ("follow-ups: + $elemMatch {done_on: null, due_on <= today}",
                          {"follow_ups": {"$elemMatch": {"done_on": None, "due_on": {"$lte": iso}}}})):
        seconds, n, rows = await drain({**counted, **query}, {"follow_ups": 1, "subject.name": 1})
        found = sum(1 for r in rows for v in r.get("follow_ups", []) if v.get("done_on") is None and v["due_on"] <= iso)
        verdict = "right" if found == due else f"WRONG on this store: {found:,} visits, should be {due:,}"
        say(f"    {label:<66} {seconds:7.2f} s {n:>8,} docs ({verdict})")

    for rule in rules:
        t = rule.trigger
        if t.condition == "not_rectified_after":
            query = {**base, "kind": "card", "type_key": t.card_type, "state": {"$in": OPEN_VALUES}}
            seconds, n, rows = await drain(query, {"_id": 1, "issued_on": 1, "rectified_on": 1, "applied_rules": 1})
            to_act = {r["_id"] for r in rows if not r.get("rectified_on") and rule.key not in r.get("applied_rules", [])
                      and r.get("issued_on") and SWEEP_DAY > period_end(calendar, date.fromisoformat(r["issued_on"]), t.period, to_working_day=False)}
            applied = sum(1 for r in rows if rule.key in r.get("applied_rules", []))
            say(f"    {rule.key + ': same filter, 4 fields':<66} {seconds:7.2f} s {n:>8,} docs ({applied:,} already applied, {len(to_act):,} to act on)")
            # A card can be due only if issued before today - period (+ a day of slack for month ends); the rest
            # is re-checked in Python as now. $nin (not $ne): nx-27017 answers $ne on arrays wrongly.
            cutoff = (SWEEP_DAY - relativedelta(**{str(t.period.unit).split("_")[-1]: t.period.amount}) + timedelta(days=1)).isoformat()
            for label, extra in ((f"+ issued_on < {cutoff}", {"issued_on": {"$lt": cutoff}}),
                                 (f"+ issued_on < {cutoff}, applied_rules $nin", {"issued_on": {"$lt": cutoff}, "applied_rules": {"$nin": [rule.key]}})):
                seconds, n, rows = await drain({**query, **extra}, {"_id": 1, "issued_on": 1, "rectified_on": 1, "applied_rules": 1})
                verdict = "covers them" if {r["_id"] for r in rows} >= to_act else "WRONG: misses cards"
                say(f"    {rule.key + ': ' + label:<66} {seconds:7.2f} s {n:>8,} docs ({verdict})")
        else:
            query = {**base, "kind": "card", "type_key": t.card_type, "state": {"$in": COUNTED_VALUES}}
            seconds, n, _ = await drain(query, {"_id": 1, "subject_key": 1, "issued_on": 1, "applied_rules": 1},
                                        sort=[("subject_key", 1), ("issued_on", 1)])
            say(f"    {rule.key + ': same filter and sort, 4 fields':<66} {seconds:7.2f} s {n:>8,} docs")
            collection = Supervision.get_pymongo_collection()
            started = time.perf_counter()
            try:
                cursor = await collection.aggregate([
                    {"$match": query},
                    {"$group": {"_id": "$subject_key", "n": {"$sum": 1}}},
                    {"$match": {"n": {"$gte": t.count}}},
                ])
                groups = [g async for g in cursor]
                say(f"    {rule.key + f': $group by subject_key, n >= {t.count}':<66} {time.perf_counter() - started:7.2f} s "
                    f"{len(groups):>8,} subjects with repeats")
            except Exception as exc:  # noqa: BLE001 - a gap of the store is a finding, not a crash
                say(f"    {rule.key}: $group failed on this store: {exc!r}")


# -- one size ------------------------------------------------------------------------------------


async def run_size(n: int, args) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="xinfang-bench-sweeper-"))
    store = EmbeddedStore(data_dir / "store", free_port()).start()
    store_pid = store.process.pid
    settings = Settings(data_dir=data_dir, mongodb_uri=store.uri, mongodb_database="xinfang_bench",
                        bootstrap_password=PASSWORD, log_level="WARNING")
    opened = None
    try:
        say(f"\n=== {n:,} supervisions (data in {data_dir}, nx-27017 on port {store.port}) ===")
        opened = await Store.open(settings, document_models(make_plugin_manager()))
        configure_dispatch(opened, None)
        started = time.perf_counter()
        platform_bundle, bundles = discover(REPO / "tenants")
        await BundleLoader(PASSWORD).load(platform_bundle, bundles)
        say(f"  demo bundles loaded in {time.perf_counter() - started:.1f} s")
        tenant = await Tenant.find_one({"slug": TENANT})
        tenant_id = str(tenant.id)
        scope = TenantScope(tenant_id)
        rules = await scope.repo(EscalationRule).find({}).to_list()

        say(f"  loading {n:,} supervisions for {TENANT} (insert_many, batches of {BATCH:,}) ...")
        load_usage = Usage()
        with measured(store_pid, load_usage):
            made = await load(scope, n, args.seed, None if args.never_swept else args.backlog_days)
        load_seconds = made["plan_seconds"] + made["insert_seconds"]
        say(f"  load: {load_seconds:.1f} s ({made['plan_seconds']:.1f} s planning, {made['insert_seconds']:.1f} s building + inserting: "
            f"{n / made['insert_seconds']:,.0f} docs/s); {load_usage.text()}")
        say(f"  one document is ~{made['doc_bytes']:,} bytes of BSON (the last one inserted)")
        say("  states: " + ", ".join(f"{k} {v:,}" for k, v in made["by_state"].most_common()))
        say("  types:  " + ", ".join(f"{k} {v:,}" for k, v in made["by_type"].most_common()))
        say(f"  subjects: {made['subjects']:,} distinct; {made['yellow_repeat_subjects']:,} of them with two or more yellow cards")
        if args.never_swept:
            say("  never swept: no flags or applied rules in the data; the first run does the whole backlog")
        else:
            say(f"  already done by 'earlier sweeps' (> {args.backlog_days} days before {SWEEP_DAY}): "
                f"{made['pre_flagged_overdue']:,} overdue flags, "
                + ", ".join(f"{k} on {v:,} cards" for k, v in made["pre_applied"].items()))

        base_runs: list[Usage] = []
        usage, open_count = await baseline(tenant_id, store_pid)
        base_runs.append(usage)
        say(f"  open supervisions (issued/answered/rectifying): {open_count:,}; sweep day {SWEEP_DAY}")
        say(f"  baseline:                 {usage.wall:8.2f} s   {usage.text()}")
        first, first_report, first_phases = await timed_sweep(scope, store_pid)
        say(f"  sweep 1 (does the work):  {first.wall:8.2f} s   {fmt_report(first_report)}")
        say(f"                                         {first.text()}")
        again: list[tuple[Usage, object, dict]] = []
        for _ in range(args.repeats):
            usage, _ = await baseline(tenant_id, store_pid)
            base_runs.append(usage)
            say(f"  baseline:                 {usage.wall:8.2f} s   {usage.text()}")
            usage, report, phases = await timed_sweep(scope, store_pid)
            again.append((usage, report, phases))
            say(f"  sweep again, same day:    {usage.wall:8.2f} s   {fmt_report(report)}")
            say(f"                                         {usage.text()}")
            if report.total():
                say("  !! NOT IDEMPOTENT: a second sweep on the same day changed something")
        busiest = max(u.others / u.wall for u in [*base_runs, first, *(u for u, _, _ in again)])
        if busiest > 0.2:
            say(f"  !! other processes used up to {busiest:.0%} of a core during a timed part: the machine was shared, "
                "seconds are unreliable (ratios less so: parts are interleaved)")

        base = statistics.median(u.wall for u in base_runs)
        second = statistics.median(u.wall for u, _, _ in again)
        say("")
        say(f"  {'':<44} {'seconds':>8} {'open docs/s':>12} {'x baseline':>11}")
        say(f"  {'baseline: indexed query, projected, drained':<44} {base:8.2f} {open_count / base:12,.0f} {1.0:11.2f}")
        say(f"  {'sweep_tenant, first run (does the work)':<44} {first.wall:8.2f} {open_count / first.wall:12,.0f} {first.wall / base:11.2f}")
        say(f"  {'sweep_tenant, again the same day (no-op)':<44} {second:8.2f} {open_count / second:12,.0f} {second / base:11.2f}")
        say(f"  (median of {len(base_runs)} baseline runs and {len(again)} repeated sweeps, interleaved; the first run happens once)")
        say("")
        print_phases("phases of the first run:", [first_phases])
        print_phases(f"phases of the repeated runs (median of {len(again)}):", [p for _, _, p in again])

        extras = {name: getattr(args, name) if getattr(args, name) is not None else n <= AUTO_EXTRAS_UP_TO
                  for name in ("profile", "what_if")}
        skipped = [f"--{name.replace('_', '-')}" for name, on in extras.items() if not on]
        if skipped:
            say(f"\n  ({' and '.join(skipped)} skipped: by default only up to {AUTO_EXTRAS_UP_TO:,} supervisions, "
                f"to keep a 200,000 run near 10 minutes; pass {' '.join(skipped)} to run them)")
        if extras["profile"]:
            profile = cProfile.Profile()
            profile.enable()
            started = time.perf_counter()
            report = await sweep_tenant(scope, SWEEP_DAY)
            wall = time.perf_counter() - started
            profile.disable()
            say("")
            say(f"  one more repeated run under cProfile: {wall:.2f} s (profiler overhead included), {fmt_report(report)}")
            profile_summary(profile, wall)
        if extras["what_if"]:
            say("")
            await what_if(tenant_id, rules, await tenant_calendar(scope))
        return {"n": n, "open": open_count, "load": load_seconds, "baseline": base, "first": first.wall, "again": second,
                "first_report": first_report}
    finally:
        if opened is not None:
            await opened.close()
        logging.getLogger("xinfang.store.embedded").setLevel(logging.ERROR)  # "ignored SIGTERM; killing it" is fine here
        store.stop(timeout=3)  # temporary data: no need to wait for a clean shutdown
        if args.keep:
            say(f"  data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def environment() -> None:
    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    sweeper_path = REPO / "platform/xinfang/cards/sweeper.py"
    digest = hashlib.sha256(sweeper_path.read_bytes()).hexdigest()[:12]
    changed = git("status", "--porcelain", "--", "platform/xinfang/cards", "platform/xinfang/store", "platform/xinfang/notifications")
    say(f"xinfang sweeper bench - {datetime.now().isoformat(timespec='seconds')}")
    say(f"  git {git('rev-parse', '--short', 'HEAD')}; cards/sweeper.py sha256 {digest}; "
        f"uncommitted changes in cards/store/notifications: {changed.replace(chr(10), '; ') or 'none'}")
    say(f"  {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python {stdlib_platform.python_version()}, "
        f"nx-27017 {version('nx-27017')}, pymongo {version('pymongo')}, beanie {version('beanie')}")
    say("  NOTE: the store is the embedded nx-27017 (a Python wire-protocol server over SQLite, its own process),")
    say("  much slower than a real MongoDB; it shares the 2 cores with this process. Compare ratios, not seconds.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, nargs="+", default=[200_000], help="supervisions to load (several: each on a fresh store)")
    parser.add_argument("--quick", action="store_true", help="20,000 supervisions")
    parser.add_argument("--repeats", type=int, default=2, help="repeated (idempotent) sweeps to time; the median is reported")
    parser.add_argument("--backlog-days", type=int, default=10, help="what the sweep would have done before this many days is already done")
    parser.add_argument("--never-swept", action="store_true", help="nothing done before: the first run does the whole backlog")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help=f"one more sweep under cProfile (default: only up to {AUTO_EXTRAS_UP_TO:,} supervisions)")
    parser.add_argument("--what-if", action=argparse.BooleanOptionalAction, default=None,
                        help=f"the what-if queries (default: only up to {AUTO_EXTRAS_UP_TO:,} supervisions)")
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    sizes = [20_000] if args.quick else args.cards
    logging.basicConfig(level=logging.WARNING)
    environment()
    results = []
    overall = time.perf_counter()
    for n in sizes:
        results.append(asyncio.run(run_size(n, args)))
    say("\n=== summary ===")
    say(f"  {'supervisions':>12} {'open':>9} {'load s':>8} {'baseline s':>11} {'sweep 1 s':>10} {'x base':>7} {'again s':>8} {'x base':>7}")
    for r in results:
        say(f"  {r['n']:>12,} {r['open']:>9,} {r['load']:>8.1f} {r['baseline']:>11.2f} {r['first']:>10.2f} "
            f"{r['first'] / r['baseline']:>7.2f} {r['again']:>8.2f} {r['again'] / r['baseline']:>7.2f}")
    say(f"  whole run {time.perf_counter() - overall:.0f} s")


if __name__ == "__main__":
    main()
