"""Import verbs: upload a file, set its mapping (saved per named source), start a dry run or the real run; and the
run itself (``execute_run``, in a worker), the only code that writes imported petitions.

Exactly once: each row's petition is registered through ``petitions.service.do_submit_petition`` under an
idempotency key derived from (source, the source's own id), so its id and receipt follow from the tenant, the
source and the row: a second run, a run resumed after a crash, or two runs at once meet the first petition (a
duplicate ``_id``) and store nothing new. The petition with its ``petition.submitted`` event is one write, so a row
is either wholly imported or not at all. The ledger row (``ImportedRow``, unique on tenant + source + source id) is
written after it and idempotently; a lost ledger row is found again through the petition's derived id.
"""

from __future__ import annotations

import asyncio
import hashlib
import time as clock
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from beanie.odm.utils.dump import get_dict
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..crypto import KeyRing
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..events import insert_new
from ..forms.service import require_form
from ..petitions.models import Channel, Petition
from ..petitions.service import SubmissionKey, do_submit_petition
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import parse_object_id
from ..tenancy.context import TenantContext
from .mapping import IGNORE, RowReader, guess, mapping_problems
from .models import ImportedRow, ImportRun, ImportSource, RowError, RunState
from .reading import read_table

MAX_LISTED_ERRORS = 2000
BATCH = 25  # rows between two progress reports
ERRORS_EVERY = 8  # batches between two writes of the list of problems
PARALLEL = 4  # petitions registered at once (their receipt hashes run in threads)
STALE_SECONDS = 300  # a running run silent this long lost its task: the sweep sends it again
SYSTEM_ACTOR = "system"  # the first step's actor: analytics reads such a petition as imported (facts._source)

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
        {"$set": {"state": state.value, "processed": 0, "valid": 0, "imported": 0, "already": 0, "invalid": 0, "errors": [],
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
    headings, rows = read_table(run.filename, run.data)
    zone = ctx.tenant.settings.time_zone
    reader = RowReader(form, run.mapping, headings, Channel(run.default_channel), zone, utcnow().astimezone(ZoneInfo(zone)).date())
    counts = {"processed": 0, "valid": 0, "imported": 0, "already": 0, "invalid": 0}
    errors: list[RowError] = []
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
        there = await _already_imported(ctx, keyring, run.source, [o.source_id for o in good])
        fresh = [o for o in good if o.source_id not in there]
        if real and fresh:
            results = await _register_all(ctx, keyring, run, form, fresh)
            for outcome, refused in zip(fresh, results):
                if isinstance(refused, dict):
                    outcome.errors.append(("", refused["zh"], refused["en"]))
            if settle is not None:
                await settle([r for r in results if isinstance(r, str)])
            good = [o for o in outcomes if not o.errors]
            counts["imported"] += sum(1 for o in fresh if not o.errors)
        counts["already"] += len(there)
        counts["valid"] += len(good)
        counts["invalid"] += len(outcomes) - len(good)
        counts["processed"] += len(outcomes)
        for outcome in outcomes:
            errors.extend(RowError(row=outcome.row, column=c, zh=zh, en=en) for c, zh, en in outcome.errors)
        progress = {**counts, "progress_at": utcnow()}
        if written < min(len(errors), MAX_LISTED_ERRORS) and (start // BATCH % ERRORS_EVERY == 0 or start + BATCH >= len(rows)):
            written = min(len(errors), MAX_LISTED_ERRORS)  # the list now and then, and whole at the end (not every batch)
            progress |= {"errors": [e.model_dump() for e in errors[:written]], "errors_cut": len(errors) > MAX_LISTED_ERRORS}
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


async def _already_imported(ctx: TenantContext, keyring: KeyRing, source: str, source_ids: list[str]) -> set[str]:
    """The source ids whose petition exists (by its derived id, wherever the case went since) or whose ledger row does."""
    if not source_ids:
        return set()
    ids = {SubmissionKey(keyring, ctx.tenant_id, submission_key(source, sid)).petition_id: sid for sid in source_ids}
    found = {ids[doc["_id"]] async for doc in Petition.get_pymongo_collection().find({"_id": {"$in": list(ids)}}, projection={"_id": 1})}
    ledger = {row.source_id for row in await ctx.scope.repo(ImportedRow).find({"source": source, "source_id": {"$in": source_ids}}).to_list()}
    return found | ledger


async def _register_all(ctx: TenantContext, keyring: KeyRing, run: ImportRun, form, outcomes) -> list[dict | str]:
    """Register each row's petition (a few at once): its petition's id, or why it was refused."""
    gate = asyncio.Semaphore(PARALLEL)
    actor = importer(ctx, run)

    async def one(outcome) -> dict | str:
        async with gate:
            try:
                petition, _ = await do_submit_petition(
                    ctx, keyring, form, answers=outcome.answers, anonymous=outcome.anonymous, channel=outcome.channel,
                    registered_by=actor, received_on=outcome.received_on,
                    idempotency_key=submission_key(run.source, outcome.source_id))
            except Conflict:
                return {"zh": "这个原系统编号已经以不同的内容导入过，未再导入", "en": "this ID was imported before with other content; not imported again"}
            except InvalidInput as refused:
                first = next(iter(refused.fields.values()), refused.message)
                return {"zh": first["zh"], "en": first["en"]}
            row = ImportedRow(id=deterministic_id(ctx.tenant_id, "import", run.source, outcome.source_id), tenant_id=ctx.tenant_id,
                              source=run.source, source_id=outcome.source_id, petition_id=str(petition.id), run_id=str(run.id))
            await insert_new(ImportedRow.get_pymongo_collection(), [get_dict(row, to_db=True)])
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
