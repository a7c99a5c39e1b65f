"""Archiving (归档) verbs and readers: archive a closed case, card or action as one frozen, numbered record; read one
(audited, like an integrity-archive read); list and search them; the records whose retention has ended.

Who may do what (separation of duties): ``records.archive`` (registrars and leaders) archives, but never a case one
closed oneself (403): the person who decided the case is not the one who files it. ``records.read`` (registrars,
leaders, auditors) reads; every read is in the audit chain before the record is shown. Tenant admins set the number
rule (``records.configure``) and read no record.

Numbers (归档号) are gapless per tenant, year and record kind: the record is written first (one per case: a unique
index), then its number is claimed (models.ArchiveNumber, claim-then-confirm), then written on the record.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, NotFound
from ..retention.policy import end_of
from ..retention.shredding import ClosedDays
from ..store.documents import utcnow
from ..store.scoped import TenantScope, parse_object_id
from ..store.serials import claim_serial
from ..tenancy.context import TenantContext
from ..timefmt import zone
from . import rules, snapshot
from .models import SUBJECT_KINDS, ArchivedRecord, ArchiveNumber

log = logging.getLogger(__name__)
NOT_FOUND = {"zh": "没有这份归档记录", "en": "no such archived record"}
CLAIM_TRIES = 200
OWN_READ = "本单位查阅归档记录"
LIST_LIMIT = 2000


def tenant_today(ctx: TenantContext, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone(ctx.tenant.settings.time_zone)).date()


# -- the case ---------------------------------------------------------------------------------------


async def access_subject(ctx: TenantContext, kind: str, subject_id: str):
    """The case (petition) or card/action of this body: the same 404 whether it is elsewhere or nowhere."""
    if kind == "supervision":
        from ..cards.service import access_supervision

        return await access_supervision(ctx.scope, subject_id)
    from ..petitions.service import access_petition

    return await access_petition(ctx, subject_id)


async def closed_on(ctx: TenantContext, kind: str, subject) -> date:
    """The day (tenant's zone) the case reached a final state; 409 while it is open (retention's own reckoning)."""
    if kind == "petition":
        raw = await type(subject).get_pymongo_collection().find_one({"_id": subject.id})
        day = await ClosedDays(ctx.tenant_id, ctx.tenant.settings.time_zone).of(raw) if raw else None
    else:
        from ..cards.models import SupervisionState

        day = None
        if subject.state in (SupervisionState.CLOSED, SupervisionState.TRANSFERRED):
            stamps = [n.get("at") for n in subject.notes if n.get("at")]
            moment = datetime.fromisoformat(stamps[-1]) if stamps else subject.created_at
            day = moment.astimezone(zone(ctx.tenant.settings.time_zone)).date() if moment.tzinfo else moment.date()
    if day is None:
        raise Conflict({"zh": "尚未办结，不能归档", "en": "it is not closed yet, so it cannot be archived"})
    return day


def _closer(kind: str, subject) -> str | None:
    if kind != "petition":
        return None
    steps = [s for s in subject.steps if s.action != "archive"]  # the workflow's 归档 step (taken by archiving) is not the closing
    state = steps[-1].to_state if steps and subject.state == "archived" else subject.state
    step = next((s for s in reversed(steps) if s.to_state == state), None)
    return step.actor if step else None


def _label(kind: str, subject) -> tuple[str, str]:
    if kind == "petition":
        return f"{subject.number} · {subject.title}", subject.title
    name = subject.subject.name + (f"（{subject.subject.unit}）" if subject.subject.unit else "")
    return (f"{subject.document_no} · {name}" if subject.document_no else name), name


# -- archiving --------------------------------------------------------------------------------------


async def _claim(scope: TenantScope, record: ArchivedRecord) -> int:
    """The next serial of (year, kind), claimed for this record; the serial already claimed for it, if any."""
    serial = await claim_serial(scope.repo(ArchiveNumber), owner={"record_id": str(record.id)},
                                sequence={"year": record.year, "category": record.subject_kind},
                                claim=lambda n: ArchiveNumber(tenant_id=scope.tenant_id, year=record.year, category=record.subject_kind,
                                                              serial=n, record_id=str(record.id)),
                                tries=CLAIM_TRIES)
    if serial is None:
        raise Conflict({"zh": "归档的人太多，请稍后再试", "en": "too many archiving at once; try again shortly"})
    return serial


async def do_archive(ctx: TenantContext, actor: Principal, kind: str, subject_id: str, now: datetime | None = None) -> ArchivedRecord:
    if kind not in SUBJECT_KINDS:
        raise NotFound(NOT_FOUND)
    now = now or utcnow()
    subject = await access_subject(ctx, kind, subject_id)
    closed = await closed_on(ctx, kind, subject)
    if _closer(kind, subject) == actor.account_id:
        raise Forbidden({"zh": "您本人办结了此件，须由另一位有归档权限的人员归档", "en": "you closed this case yourself: someone else must archive it"})
    repo = ctx.scope.repo(ArchivedRecord)
    record = await repo.find_one({"subject_kind": kind, "subject_id": str(subject.id)})
    if record is None:
        tenant_zone = ctx.tenant.settings.time_zone
        frozen, files = await (snapshot.of_petition(subject, tenant_zone, closed) if kind == "petition"
                               else snapshot.of_supervision(subject, tenant_zone, closed))
        text, digest = snapshot.canonical(frozen)
        rule = await rules.rule_of(ctx.scope, ctx.tenant)
        years = rule["retention_years"][kind]
        label, title = _label(kind, subject)
        record = ArchivedRecord(
            id=ObjectId(), tenant_id=ctx.tenant_id, subject_kind=kind, subject_id=str(subject.id), subject_label=label[:300], title=title[:300],
            year=str(tenant_today(ctx, now).year), closed_on=closed.isoformat(), archived_at=now, archived_by=actor.account_id,
            archived_by_name=actor.display_name, retention_years=years, retention_ends_on=end_of(closed, years).isoformat() if years else None,
            snapshot_json=text, snapshot_sha256=digest, files=files, created_at=now)
        try:
            await repo.insert(record)
        except DuplicateKeyError:  # archived by someone else at the same moment
            record = await repo.find_one({"subject_kind": kind, "subject_id": str(subject.id)})
    if record.number:
        raise Conflict({"zh": f"已归档，归档号 {record.number}", "en": f"already archived as {record.number}"})
    if kind == "petition":
        await _to_archived_state(ctx, actor, subject)
    rule = await rules.rule_of(ctx.scope, ctx.tenant)
    serial = await _claim(ctx.scope, record)
    number = rules.format_number(rule, record.year, kind, serial)
    search_text = " ".join([number, record.subject_label, record.title]).lower()
    await repo.update_one({"_id": record.id, "number": {"$in": [None]}}, {"$set": {"number": number, "serial": serial, "search_text": search_text}})
    record = await repo.get(record.id)
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="records.archived",
                          purpose=f"归档 {record.number}", subject=str(record.id), tenant_ids=[ctx.tenant_id], result_count=1)
    from ..events import DomainEvent, unit_of_work

    async with unit_of_work() as uow:  # the search plugin indexes the record (its number, title, case number, frozen words)
        uow.record(DomainEvent("record.archived", ctx.tenant_id, str(record.id)))
    return record


async def _to_archived_state(ctx: TenantContext, actor: Principal, petition) -> None:
    """The case follows its workflow's own 归档 step (a transition into a terminal state keyed ``archived``, or the one
    keyed ``archive``) when the workflow has one from where the case stands and the archiver's role may take it: the case
    then reads 已归档 everywhere its state is shown. Taken before the number is claimed (the case is not archived yet,
    so the guard lets the step through); a workflow without such a step leaves the state as it is (the archive panel
    and the 409 on any change still say it is archived)."""
    from ..petitions.service import allowed_transitions, do_transition, is_archive_step, petition_workflow

    workflow = await petition_workflow(ctx.scope, petition)
    step = next((t for t in allowed_transitions(workflow, petition, actor, archiving=True)
                 if is_archive_step(t) and not t.move and not t.fields), None)
    if step is None:
        return
    try:
        await do_transition(ctx, None, petition, step.key, actor=actor, fields={}, archiving=True)
    except (Conflict, Forbidden) as refused:  # changed meanwhile, or barred: the record is still made
        log.info("records: the case %s stays in its state (%s)", petition.id, refused)


# -- reading ----------------------------------------------------------------------------------------


async def _record(scope: TenantScope, record_id: str) -> ArchivedRecord:
    record = await scope.repo(ArchivedRecord).get(record_id) if parse_object_id(record_id) else None
    if record is None or not record.number:
        raise NotFound(NOT_FOUND)
    return record


async def access_record(ctx: TenantContext, reader: Principal, record_id: str, *, purpose: str = "", action: str = "records.read") -> ArchivedRecord:
    """One archived record of this body; the read (or export) is in the audit chain before it is returned."""
    record = await _record(ctx.scope, record_id)
    await do_append_audit(actor_id=reader.account_id, actor_username=reader.username, action=action,
                          purpose=(purpose or OWN_READ).strip()[:500], subject=str(record.id), tenant_ids=[ctx.tenant_id], result_count=1)
    return record


async def record_of_subject(scope: TenantScope, kind: str, subject_id: str) -> ArchivedRecord | None:
    """The record a case was archived as (not audited: only its number and id are shown, on the case's page)."""
    record = await scope.repo(ArchivedRecord).find_one({"subject_kind": kind, "subject_id": str(subject_id)})
    return record if record and record.number else None


async def list_records(scope: TenantScope, *, q: str = "", year: str = "", kind: str = "") -> list[ArchivedRecord]:
    """This body's archived records, newest first, by year and kind; ``q`` matches the archive number, the case number
    or the title (a substring, in Python: the embedded store's $text and $regex are not the same as MongoDB's)."""
    query: dict = {"number": {"$type": "string"}}
    if year.isdigit():
        query["year"] = year
    if kind in SUBJECT_KINDS:
        query["subject_kind"] = kind
    rows = await scope.repo(ArchivedRecord).find(query).sort("-archived_at").limit(LIST_LIMIT).to_list()
    needle = q.strip().lower()
    return [r for r in rows if needle in r.search_text] if needle else rows


async def records_past_retention(scope: TenantScope, today: date) -> list[ArchivedRecord]:
    """HOOK for retention/ (its appraisal list, 到期待鉴定): the records whose retention ended by ``today``. Permanent
    records have no end. Not yet called by retention's sweep (see docs: records)."""
    return await scope.repo(ArchivedRecord).find({"retention_ends_on": {"$type": "string", "$lte": today.isoformat()}}).to_list()
