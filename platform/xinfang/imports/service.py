"""Import verbs: upload a file, set its mapping (saved per named source), start a dry run or the real run; and the
run itself (``execute_run``, in a worker), the only code that writes imported petitions.

Exactly once: each row's petition is registered through ``petitions.service.do_submit_petition`` under an
idempotency key derived from (source, the source's own id), so its id follows from the tenant, the
source and the row: a second run, a run resumed after a crash, or two runs at once meet the first petition (a
duplicate ``_id``) and store nothing new. The petition with its ``petition.submitted`` event is one write, so a row
is either wholly imported or not at all. The ledger row (``ImportedRow``, unique on tenant + source + source id) is
written after it and idempotently; a lost ledger row is found again through the petition's derived id.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time as clock
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time as dtime, timedelta
from zoneinfo import ZoneInfo

from beanie.odm.utils.dump import get_dict
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..crypto import KeyRing
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..events import DomainEvent, carry, hand_over_carried, insert_new
from ..forms.reading import path_labels, read_form
from ..forms.service import require_form
from ..petitions.models import CHANNEL_NAMES, Channel, Petition, Step
from ..petitions.service import (SubmissionKey, _subject_of, _title_of, do_submit_petition, identity_keys,
                                 petitioner_key)
from ..petitions.workflow_versions import current_workflow
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import parse_object_id
from ..tenancy.context import TenantContext
from .mapping import IGNORE, RowReader, guess, mapping_problems
from .models import ImportedRow, ImportRun, ImportSource, RowChange, RowError, RunState
from .reading import read_table

MAX_LISTED_ERRORS = 2000
BATCH = 25  # rows between two progress reports
ERRORS_EVERY = 8  # batches between two writes of the list of problems
PARALLEL = 4  # petitions registered at once
# Imported rows get no receipt (do_submit_petition(with_receipt=False)): an old register's petitioner was never given
# one and nobody is ever shown one, so the slow argon2 hash (20-40 ms of CPU a row) is not spent on it.
STALE_SECONDS = 300  # a running run silent this long lost its task: the sweep sends it again
SYSTEM_ACTOR = "system"  # the first step's actor: analytics reads such a petition as imported (facts._source)
IMPORTED_STATE = "imported_state"  # the step that puts an imported case in the state its register gives (已办结)
IMPORT_UPDATED = "import_updated"  # the step that records an update from a later file (with the values before)

RUNNING = (RunState.CHECKING, RunState.IMPORTING)

Send = Callable[[str, str, bool], Awaitable[None]]  # (tenant id, run id, real) -> the task is on its way
# A batch's new petitions -> their carried events materialised and dispatched together (the worker's; see tasks.py)
Settle = Callable[[list[str]], Awaitable[None]]


def importer(ctx: TenantContext, run: ImportRun) -> Principal:
    """Who registers imported petitions: the system, named after the source (staff see it in the history)."""
    return Principal(SYSTEM_ACTOR, SYSTEM_ACTOR, ctx.tenant_id, frozenset(), "import",
                     display_name=f"批量导入：{run.source} Import")


def submission_key(source: str, source_id: str) -> str:
    """The idempotency key of one source row (16-64 characters of A-Z a-z 0-9 _ -, as do_submit_petition asks)."""
    return "imp-" + hashlib.sha256(f"{source}\x00{source_id}".encode()).hexdigest()[:48]


def _source_name(text: str) -> str:
    name = " ".join((text or "").split())[:60]
    if not name:
        raise InvalidInput(fields={"source": {"zh": "请填写数据来源名称（例如：旧信访登记簿）", "en": "name the source (e.g. the old register)"}})
    return name


# -- the pages' verbs ------------------------------------------------------------------------------------------------


async def access_run(ctx: TenantContext, run_id: str) -> ImportRun:
    run = await ctx.scope.repo(ImportRun).get(run_id)
    if run is None:
        raise NotFound({"zh": "没有这次导入", "en": "no such import"})
    return run


LIGHT = {"data": 0}  # the file itself stays in the store unless a run reads it


def _light(doc: dict) -> ImportRun:
    return ImportRun.model_validate({**doc, "id": doc["_id"], "data": b""})


async def run_status(ctx: TenantContext, run_id: str) -> ImportRun:
    """The run without its file: what the page and its progress bar read."""
    oid = parse_object_id(run_id)
    doc = await ImportRun.get_pymongo_collection().find_one({"_id": oid, "tenant_id": ctx.tenant_id}, projection=LIGHT) if oid else None
    if doc is None:
        raise NotFound({"zh": "没有这次导入", "en": "no such import"})
    return _light(doc)


async def recent_runs(ctx: TenantContext, limit: int = 20) -> list[ImportRun]:
    cursor = ImportRun.get_pymongo_collection().find({"tenant_id": ctx.tenant_id}, projection={"data": 0, "errors": 0})
    return [_light(doc) async for doc in cursor.sort("created_at", -1).limit(limit)]


async def sources(ctx: TenantContext) -> list[ImportSource]:
    return await ctx.scope.repo(ImportSource).find({}).sort("name").to_list()


async def do_upload(ctx: TenantContext, principal: Principal, *, source: str, form_key: str, filename: str, data: bytes) -> ImportRun:
    """Read the file (422 if it cannot be), keep it with a first mapping: the source's saved one, else a guess."""
    name = _source_name(source)
    form = await require_form(ctx.scope, form_key or "petition")
    headings, rows = read_table(filename, data)
    saved = await ctx.scope.repo(ImportSource).find_one({"name": name})
    run = ImportRun(
        tenant_id=ctx.tenant_id, source=name, form_key=form.key, filename=(filename or "upload")[:200],
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data, headers=headings, total_rows=len(rows),
        mapping=guess(headings, form, saved.mapping if saved else None),
        default_channel=saved.default_channel if saved else Channel.LETTER.value,
        started_by=principal.account_id, started_by_name=principal.display_name or principal.username,
    )
    return await ctx.scope.repo(ImportRun).insert(run)


async def do_set_mapping(ctx: TenantContext, principal: Principal, run: ImportRun, mapping: dict[str, str],
                         default_channel: str) -> ImportRun:
    """Keep the mapping on the run and under the source's name (reused for its next file). 422 with the columns at fault."""
    _not_running(run)
    form = await require_form(ctx.scope, run.form_key)
    mapping = {h: (mapping.get(h) or IGNORE) for h in run.headers}
    problems = mapping_problems(mapping, form)
    if default_channel not in {c.value for c in Channel}:
        problems["default_channel"] = {"zh": "请选择渠道", "en": "choose a channel"}
    if problems:
        raise InvalidInput({"zh": "列的对应关系有问题，请修改标出的列", "en": "the column mapping has problems; see the columns marked"},
                           fields=problems)
    run.mapping, run.default_channel = mapping, default_channel
    await ctx.scope.repo(ImportRun).update_one({"_id": run.id}, {"$set": {"mapping": mapping, "default_channel": default_channel}})
    saved = await ctx.scope.repo(ImportSource).find_one({"name": run.source})
    kept = {**(saved.mapping if saved else {}), **mapping}  # headings of earlier files stay known
    if saved is None:
        try:
            await ctx.scope.repo(ImportSource).insert(ImportSource(
                tenant_id=ctx.tenant_id, name=run.source, form_key=run.form_key, mapping=kept, default_channel=default_channel,
                updated_by=principal.account_id))
            return run
        except DuplicateKeyError:  # saved at the same moment by someone else: update theirs
            pass
    await ctx.scope.repo(ImportSource).update_one({"name": run.source}, {"$set": {
        "mapping": kept, "form_key": run.form_key, "default_channel": default_channel, "updated_by": principal.account_id,
        "updated_at": utcnow()}})
    return run


def _not_running(run: ImportRun) -> None:
    if run.state in RUNNING and not _stale(run):
        raise Conflict({"zh": "这次导入正在运行，请等它完成", "en": "this import is running; wait until it is done"})


def _stale(run: ImportRun, now: datetime | None = None) -> bool:
    last = run.progress_at or run.run_started_at
    return last is None or ((now or utcnow()) - last).total_seconds() > STALE_SECONDS


async def do_start(ctx: TenantContext, principal: Principal, run: ImportRun, *, real: bool, send: Send) -> ImportRun:
    """Start the dry run or the real run in a worker. The real run needs a mapping the dry run accepted."""
    _not_running(run)
    if real and run.state not in (RunState.CHECKED, RunState.IMPORTED, RunState.FAILED):
        raise Conflict({"zh": "请先试运行，查看每一行的问题", "en": "make a dry run first and look at each row's problems"})
    if not run.mapping:
        raise Conflict({"zh": "请先设置列的对应关系", "en": "set the column mapping first"})
    now = utcnow()
    state = RunState.IMPORTING if real else RunState.CHECKING
    changed = await ctx.scope.repo(ImportRun).update_one(
        {"_id": run.id, "revision": run.revision},
        {"$set": {"state": state.value, "processed": 0, "valid": 0, "imported": 0, "already": 0, "changed": 0, "invalid": 0,
                  "errors": [], "changes": [],
                  "errors_cut": False, "message": None, "claimed_by": None, "run_started_at": now, "progress_at": now,
                  "run_finished_at": None, "started_by": principal.account_id,
                  "started_by_name": principal.display_name or principal.username}, "$inc": {"revision": 1}})
    if not changed:
        raise Conflict({"zh": "这次导入刚被别人启动了，请刷新", "en": "someone else just started this import; reload"})
    if real:  # a bulk write of petitions: who, from which file, into the chain before it starts
        await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="petitions.import",
                              purpose=f"批量导入 {run.source}"[:500], subject=str(run.id),
                              query={"source": run.source, "file": run.filename, "sha256": run.sha256}, tenant_ids=[ctx.tenant_id],
                              result_count=run.total_rows)
    await send(ctx.tenant_id, str(run.id), real)
    return await access_run(ctx, str(run.id))


# -- the run, in a worker --------------------------------------------------------------------------------------------


async def execute_run(ctx: TenantContext, keyring: KeyRing, run_id: str, real: bool, settle: Settle | None = None) -> None:
    """Check every row; in the real run, register the valid ones not yet imported. Idempotent: run it again at will.

    ``settle``: called with each batch's new petitions, so their events are handled a batch at a time (one index
    drain, one analytics recount per batch instead of one per petition); without it each petition's own
    hand-over message does it."""
    run = await ctx.scope.repo(ImportRun).get(run_id)
    if run is None or run.state not in RUNNING or not await _claim(ctx, run):
        return
    started = clock.monotonic()
    try:
        await _execute(ctx, keyring, run, real, started, settle)
    except DomainError as refused:
        await _finish(ctx, run, RunState.FAILED, message=refused.message)
    except Exception:
        await _finish(ctx, run, RunState.FAILED, message={"zh": "导入中断，请重新运行（已导入的行不会重复）",
                                                          "en": "the import stopped; run it again (rows already imported are not repeated)"})
        raise


async def _execute(ctx: TenantContext, keyring: KeyRing, run: ImportRun, real: bool, started: float, settle: Settle | None) -> None:
    form = await require_form(ctx.scope, run.form_key)
    _, workflow = await current_workflow(ctx.scope, fresh=True)
    headings, rows = read_table(run.filename, run.data)
    zone = ctx.tenant.settings.time_zone
    reader = RowReader(form, run.mapping, headings, Channel(run.default_channel), zone, utcnow().astimezone(ZoneInfo(zone)).date(),
                       workflow)
    counts = {"processed": 0, "valid": 0, "imported": 0, "already": 0, "changed": 0, "invalid": 0}
    errors: list[RowError] = []
    changes: list[RowChange] = []
    first_row: dict[str, int] = {}
    written = 0
    for start in range(0, len(rows), BATCH):
        outcomes = [reader.read(start + i + 2, cells) for i, cells in enumerate(rows[start:start + BATCH])]
        for outcome in outcomes:
            if outcome.source_id:
                if outcome.source_id in first_row:
                    outcome.errors.append((_source_column(run), f"原系统编号与第 {first_row[outcome.source_id]} 行重复",
                                           f"the same ID as row {first_row[outcome.source_id]}"))
                else:
                    first_row[outcome.source_id] = outcome.row
        good = [o for o in outcomes if not o.errors]
        before = await _imported_before(ctx, keyring, run.source, [o.source_id for o in good])
        fresh = [o for o in good if o.source_id not in before]
        differ = []
        for outcome in good:
            if outcome.source_id in before:
                doc, ledger = before[outcome.source_id]
                found = _changes(ctx, keyring, form, run.source, outcome, doc, ledger) if doc is not None else []
                blocked = _blocked(ctx, workflow, doc, ledger, outcome, found) if found else None
                if blocked is not None:  # said by the dry run too, not only when the real run meets it
                    outcome.errors.append(("", blocked["zh"], blocked["en"]))
                elif found:
                    differ.append((outcome, doc, ledger, found))
        if real and fresh:
            results = await _register_all(ctx, keyring, run, form, fresh)
            for outcome, refused in zip(fresh, results):
                if isinstance(refused, dict):
                    outcome.errors.append(("", refused["zh"], refused["en"]))
            if settle is not None:
                await settle([r for r in results if isinstance(r, str)])
            counts["imported"] += sum(1 for o in fresh if not o.errors)
        if real and differ:
            for outcome, doc, ledger, found in differ:
                refused = await _update(ctx, keyring, run, form, workflow, outcome, doc, ledger, found)
                if refused is not None:
                    outcome.errors.append(("", refused["zh"], refused["en"]))
            if settle is not None:  # the updates' events (search re-indexes, analytics recounts) a batch at a time
                await settle([str(doc["_id"]) for outcome, doc, *_ in differ if not outcome.errors])
        for outcome, doc, _, found in differ:
            if not outcome.errors and len(changes) < MAX_LISTED_ERRORS:
                changes.append(RowChange(row=outcome.row, source_id=outcome.source_id, petition_number=doc.get("number", ""),
                                         fields_zh="、".join(f[1] for f in found), fields_en=", ".join(f[2] for f in found)))
        good = [o for o in outcomes if not o.errors]
        changed = sum(1 for o, *_ in differ if not o.errors)
        counts["changed"] += changed
        counts["already"] += sum(1 for o in good if o.source_id in before) - changed
        counts["valid"] += len(good)
        counts["invalid"] += len(outcomes) - len(good)
        counts["processed"] += len(outcomes)
        for outcome in outcomes:
            errors.extend(RowError(row=outcome.row, column=c, zh=zh, en=en) for c, zh, en in outcome.errors)
        progress = {**counts, "progress_at": utcnow()}
        if written < min(len(errors), MAX_LISTED_ERRORS) and (start // BATCH % ERRORS_EVERY == 0 or start + BATCH >= len(rows)):
            written = min(len(errors), MAX_LISTED_ERRORS)  # the list now and then, and whole at the end (not every batch)
            progress |= {"errors": [e.model_dump() for e in errors[:written]], "errors_cut": len(errors) > MAX_LISTED_ERRORS}
        if changes and (start // BATCH % ERRORS_EVERY == 0 or start + BATCH >= len(rows)):
            progress["changes"] = [c.model_dump() for c in changes]
        await ctx.scope.repo(ImportRun).update_one({"_id": run.id}, {"$set": progress})
    elapsed = max(clock.monotonic() - started, 1e-6)
    await _finish(ctx, run, RunState.IMPORTED if real else RunState.CHECKED, rows_per_second=round(len(rows) / elapsed, 1))


async def _claim(ctx: TenantContext, run: ImportRun) -> bool:
    """Take the run for this execution, unless another took it and is still reporting progress (a message the
    sweep sent again while the first was only waiting in the queue finds it taken)."""
    now = utcnow()
    token = uuid.uuid4().hex
    running = {"_id": run.id, "state": {"$in": [s.value for s in RUNNING]}}
    for free in ({"claimed_by": {"$eq": None}}, {"progress_at": {"$lt": now - timedelta(seconds=STALE_SECONDS)}}):
        # two plain questions, not one $or (the embedded store's $or is not relied on)
        if await ctx.scope.repo(ImportRun).update_one(running | free, {"$set": {"claimed_by": token, "progress_at": now}}):
            return True
    return False


def _source_column(run: ImportRun) -> str:
    return next((h for h, t in run.mapping.items() if t == "_source_id"), "")


async def _finish(ctx: TenantContext, run: ImportRun, state: RunState, *, message: dict | None = None,
                  rows_per_second: float | None = None) -> None:
    fields = {"state": state.value, "message": message, "run_finished_at": utcnow(), "progress_at": utcnow()}
    if rows_per_second is not None:
        fields["rows_per_second"] = rows_per_second
    await ctx.scope.repo(ImportRun).update_one({"_id": run.id}, {"$set": fields})


async def _imported_before(ctx: TenantContext, keyring: KeyRing, source: str,
                           source_ids: list[str]) -> dict[str, tuple[dict | None, ImportedRow | None]]:
    """The source ids imported before: their petition (by its derived id, wherever the case went since) and ledger row."""
    if not source_ids:
        return {}
    ids = {SubmissionKey(keyring, ctx.tenant_id, submission_key(source, sid)).petition_id: sid for sid in source_ids}
    docs = {ids[doc["_id"]]: doc async for doc in Petition.get_pymongo_collection().find({"_id": {"$in": list(ids)}})}
    ledger = {row.source_id: row for row in await ctx.scope.repo(ImportedRow).find({"source": source, "source_id": {"$in": source_ids}}).to_list()}
    return {sid: (docs.get(sid), ledger.get(sid)) for sid in set(docs) | set(ledger)}


def identity_digest(keyring: KeyRing, ctx: TenantContext, source: str, source_id: str, identity: dict) -> str:
    """A keyed digest of a row's identity values: tells a later file's change without keeping the identity."""
    return keyring.submission_digest("import identity", ctx.tenant_id, submission_key(source, source_id),
                                     json.dumps(identity, ensure_ascii=False, sort_keys=True, default=str)).hex()


def _plain(value) -> str:
    return "" if value in (None, "", [], {}) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _changes(ctx: TenantContext, keyring: KeyRing, form, source: str, outcome, doc: dict,
             ledger: ImportedRow | None) -> list[tuple[str, str, str]]:
    """(key, zh, en) of what a row imported before says differently now: the form's fields (compared with the
    petition), the date received, channel, anonymity, the identity (by its digest) and the register's state."""
    secret = identity_keys(form.json_schema)
    model = read_form(form.json_schema)
    public = {k: v for k, v in outcome.answers.items() if k not in secret}
    old = doc.get("answers") or {}
    found = []
    for key in sorted(set(public) | set(old)):
        if _plain(public.get(key)) != _plain(old.get(key)):
            zh, en = path_labels(model, key)
            found.append((key, zh or key, en or key))
    if outcome.received_on and outcome.received_on.isoformat() != doc.get("received_on"):
        found.append(("_received_on", "收到日期", "date received"))
    if outcome.channel.value != doc.get("channel"):
        found.append(("_channel", "渠道", "channel"))
    if bool(outcome.anonymous) != bool(doc.get("anonymous")):
        found.append(("_anonymous", "是否匿名", "anonymous"))
    identity = {k: v for k, v in outcome.answers.items() if k in secret}
    if ledger is not None and ledger.identity_digest and \
            ledger.identity_digest != identity_digest(keyring, ctx, source, outcome.source_id, identity):
        found.append(("_identity", "信访人身份信息", "the petitioner's identity"))
    said = (ledger.state, ledger.closed_on) if ledger is not None else (None, None)
    if (outcome.state, outcome.closed_on.isoformat() if outcome.closed_on and outcome.state else None) != said:
        found.append(("_state", "办理状态", "state"))
    return found


def _short(value) -> str:
    text = value if isinstance(value, str) else _plain(value)
    return (text[:200] + "…") if len(text) > 200 else (text or "（空）")


def _closing_step(ctx: TenantContext, actor: Principal, petition: Petition, outcome, now: datetime) -> Step:
    """Dated the day the register says it closed (noon, the tenant's zone): analytics counts it closed that day, and
    closed late only if that day is after its time limit; the timeline shows when it really closed."""
    closed_at = datetime.combine(outcome.closed_on, dtime(12, 0), ZoneInfo(ctx.tenant.settings.time_zone)).astimezone(UTC)
    return Step(at=min(closed_at, now), tenant_id=ctx.tenant_id, actor=SYSTEM_ACTOR, actor_name=actor.display_name, action=IMPORTED_STATE,
                from_state=petition.state, to_state=outcome.state, public=False,
                fields={"state_in_source": outcome.state_text, "closed_on": outcome.closed_on.isoformat()})


def _close_as_imported(ctx: TenantContext, actor: Principal, petition: Petition, outcome, now: datetime) -> None:
    """The register says the case was closed (on ``outcome.closed_on``): its final state, no running time limit (so
    not overdue), the step recorded as imported. The time limit that ran stays as ``last_due_on`` (analytics)."""
    petition.steps = [*petition.steps, _closing_step(ctx, actor, petition, outcome, now)]
    # carried in the same write: analytics recounts it closed, search re-indexes it (any petition.* event does)
    carry(petition, DomainEvent("petition.import_closed", ctx.tenant_id, str(petition.id),
                                {"state": outcome.state, "closed_on": outcome.closed_on.isoformat()}), now)
    petition.last_due_on = petition.due_on or petition.last_due_on
    petition.state, petition.due_on, petition.due_rule, petition.overdue = outcome.state, None, None, False


# A petition changed under the import every time it tried to write it (each write is versioned, a few tries).
PETITION_BUSY = {"zh": "信访件正被同时修改，请重新运行导入", "en": "the petition was being changed at the same moment; run the import again"}


async def _put_in_register_state(ctx: TenantContext, actor: Principal, petition_id, outcome) -> None:
    """A just-imported petition moved to the state its register gives (read, change, versioned replace; a few tries)."""
    repo = ctx.scope.repo(Petition)
    for _ in range(6):
        petition = await repo.get(petition_id)
        if petition is None or petition.state == outcome.state:
            return
        _close_as_imported(ctx, actor, petition, outcome, utcnow())
        if await repo.replace_versioned(petition):
            await hand_over_carried(petition)
            return
    raise Conflict(PETITION_BUSY)


def _blocked(ctx: TenantContext, workflow, doc: dict, ledger: ImportedRow | None, outcome, found) -> dict | None:
    """Why a changed row cannot update its petition (said in the dry run already), or None."""
    if doc.get("tenant_id") != ctx.tenant_id:
        return {"zh": "该信访件已转往其他单位办理，未按文件更新", "en": "the case has moved to another body; not updated"}
    if any(key == "_state" for key, _, _ in found):
        ledger_state = ledger.state if ledger is not None else None
        if doc.get("state") != (ledger_state or workflow.initial):
            return {"zh": "该信访件在平台上已有办理，不按文件更改，请人工核对",
                    "en": "the case has been handled on the platform since; it is not changed from the file: check it by hand"}
        if outcome.state is None and ledger_state is not None:
            return {"zh": "文件改为未办结：已办结的信访件不会被重新打开，请人工核对",
                    "en": "the file now says open: a closed case is not reopened by an import; check it by hand"}
    return None


async def _update(ctx: TenantContext, keyring: KeyRing, run: ImportRun, form, workflow, outcome, doc: dict,
                  ledger: ImportedRow | None, found: list[tuple[str, str, str]]) -> dict | None:
    """Bring a petition imported before in line with the row as the file says it now; the step keeps the values
    before (identity excepted: it is resealed, never written out), the audit chain gets the change. None, or why not."""
    keys = {key for key, _, _ in found}
    repo = ctx.scope.repo(Petition)
    actor = importer(ctx, run)
    secret = identity_keys(form.json_schema)
    public = {k: v for k, v in outcome.answers.items() if k not in secret}
    identity = {k: v for k, v in outcome.answers.items() if k in secret}
    for _ in range(6):
        petition = await repo.get(doc["_id"])
        if petition is None:
            return {"zh": "找不到原先导入的信访件", "en": "the petition imported before is gone"}
        blocked = _blocked(ctx, workflow, {"tenant_id": petition.tenant_id, "state": petition.state}, ledger, outcome, found)
        if blocked is not None:  # staff moved it on since the dry run
            return blocked
        now = utcnow()
        previous = [f"{zh}：{_short(petition.answers.get(key))}" for key, zh, _ in found if not key.startswith("_")]
        if "_received_on" in keys:
            previous.append(f"收到日期：{petition.received_on or '（空）'}")
            petition.received_on, petition.received_zone = outcome.received_on.isoformat(), ctx.tenant.settings.time_zone
        if "_channel" in keys:
            previous.append(f"渠道：{CHANNEL_NAMES[petition.channel]['zh']}")
            petition.channel = outcome.channel
        if "_anonymous" in keys:
            previous.append(f"是否匿名：{'是' if petition.anonymous else '否'}")
            petition.anonymous = outcome.anonymous
        if "_identity" in keys or "_anonymous" in keys:
            petition.identity_sealed = await keyring.seal_record(ctx.tenant_id, str(petition.id), str(petition.id), identity) \
                if identity else None
            petition.petitioner_key = petitioner_key(keyring, identity)
        petition.answers = public
        petition.title, petition.subject_name = _title_of(public, form), _subject_of(public)
        petition.steps = [*petition.steps, Step(
            at=now, tenant_id=ctx.tenant_id, actor=SYSTEM_ACTOR, actor_name=actor.display_name, action=IMPORT_UPDATED,
            public=False, fields={"changed": "、".join(zh for _, zh, _ in found),
                                  **({"previous": "；".join(previous)[:4000]} if previous else {})})]
        carry(petition, DomainEvent("petition.import_updated", ctx.tenant_id, str(petition.id),
                                    {"fields": sorted(keys), "source": run.source}), now)
        if "_state" in keys and outcome.state is not None:
            _close_as_imported(ctx, actor, petition, outcome, now)
        if await repo.replace_versioned(petition):
            await hand_over_carried(petition)
            break
    else:
        return PETITION_BUSY
    await do_append_audit(actor_id=run.started_by or SYSTEM_ACTOR, actor_username=run.started_by_name or SYSTEM_ACTOR,
                          action="petitions.import.update", purpose=f"批量导入 {run.source}：按文件更新"[:500], subject=str(petition.id),
                          query={"source": run.source, "source_id": outcome.source_id, "run": str(run.id), "fields": sorted(keys)},
                          tenant_ids=[ctx.tenant_id], result_count=1)
    await _write_ledger(ctx, keyring, run, outcome, str(petition.id), secret, updated=True)
    return None


async def _write_ledger(ctx: TenantContext, keyring: KeyRing, run: ImportRun, outcome, petition_id: str, secret: set[str], *,
                        updated: bool = False) -> None:
    """The ledger row of a source row: which petition it became and what the register said (compared next time)."""
    identity = {k: v for k, v in outcome.answers.items() if k in secret}
    said = {"state": outcome.state, "closed_on": outcome.closed_on.isoformat() if outcome.closed_on and outcome.state else None,
            "identity_digest": identity_digest(keyring, ctx, run.source, outcome.source_id, identity)}
    row = ImportedRow(id=deterministic_id(ctx.tenant_id, "import", run.source, outcome.source_id), tenant_id=ctx.tenant_id,
                      source=run.source, source_id=outcome.source_id, petition_id=petition_id, run_id=str(run.id), **said)
    if updated:
        said["updated_run_id"] = str(run.id)
        if await ctx.scope.repo(ImportedRow).update_one({"_id": row.id}, {"$set": said}):
            return
    await insert_new(ImportedRow.get_pymongo_collection(), [get_dict(row, to_db=True)])


async def _register_all(ctx: TenantContext, keyring: KeyRing, run: ImportRun, form, outcomes) -> list[dict | str]:
    """Register each row's petition (a few at once): its petition's id, or why it was refused."""
    gate = asyncio.Semaphore(PARALLEL)
    actor = importer(ctx, run)
    secret = identity_keys(form.json_schema)

    async def one(outcome) -> dict | str:
        async with gate:
            try:
                petition, _ = await do_submit_petition(
                    ctx, keyring, form, answers=outcome.answers, anonymous=outcome.anonymous, channel=outcome.channel,
                    registered_by=actor, received_on=outcome.received_on, with_receipt=False,
                    idempotency_key=submission_key(run.source, outcome.source_id))
            except Conflict:
                return {"zh": "这个原系统编号已经以不同的内容导入过，未再导入", "en": "this ID was imported before with other content; not imported again"}
            except InvalidInput as refused:
                first = next(iter(refused.fields.values()), refused.message)
                return {"zh": first["zh"], "en": first["en"]}
            if outcome.state is not None:  # 已办结 in the register: closed here too, not overdue
                await _put_in_register_state(ctx, actor, petition.id, outcome)
            await _write_ledger(ctx, keyring, run, outcome, str(petition.id), secret)
            return str(petition.id)

    results = await asyncio.gather(*(one(o) for o in outcomes), return_exceptions=True)
    for result in results:  # a failure (the store gone, a bug) stops the run once its neighbours are settled
        if isinstance(result, BaseException):
            raise result
    return results


async def stale_runs(now: datetime) -> list[tuple[str, str, bool]]:
    """(tenant id, run id, real) of runs that say they are running but whose task has been silent too long."""
    out = []
    async for doc in ImportRun.get_pymongo_collection().find({"state": {"$in": [s.value for s in RUNNING]}},
                                                               projection={"data": 0, "errors": 0}):
        run = _light(doc)
        if _stale(run, now):  # marked as sent again now: the next sweep waits for this message's task
            await ImportRun.get_pymongo_collection().update_one({"_id": doc["_id"]}, {"$set": {"progress_at": now}})
            out.append((run.tenant_id, str(run.id), run.state == RunState.IMPORTING))
    return out
