"""Petition verbs: submit, register, move through the workflow, supplement; the only code that changes petitions."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import secrets
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from beanie.odm.utils.dump import get_dict
from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from ..auth.models import Role, StaffAccount
from ..auth.principal import Principal
from ..calendar import TenantCalendarRules, WorkingCalendar
from ..crypto import KeyRing, RecordKeyGone
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..events import DomainEvent, OutboxEvent, carry, hand_over_carried, insert_new, register_carrier, unit_of_work
from ..forms.models import FormVersion
from ..forms.schema_safety import validate_submission
from ..store.cache import tenant_config
from ..store.documents import deterministic_id, utcnow
from ..records.guard import refuse_if_archived
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version
from ..tenancy.context import TenantContext
from ..tenancy.models import Tenant
from ..tenancy.service import has_lower_bodies as tenant_has_lower_bodies
from .models import Attachment, CalendarRules, Channel, Petition, Receipt, Step
from .titles import title_from_text
from .upper_level_models import open_assignment_down
from .workflow import CITIZEN, RELAY_CONSENT_FIELD, Transition, Workflow
from .workflow_versions import current_workflow, workflow_of_version

CHINA = ZoneInfo("Asia/Shanghai")
MAX_TEXT = 5000
RECEIPT_DIGITS = 16


def china_today(now: datetime | None = None) -> date:
    """Time limits run in China's calendar days, whatever the server's time zone."""
    return (now or utcnow()).astimezone(CHINA).date()


# -- tenant configuration -------------------------------------------------------------------------


async def tenant_workflow(scope: TenantScope) -> Workflow:
    """The tenant's newest workflow: what a new case starts on (a case in flight keeps its own: petition_workflow)."""
    return (await current_workflow(scope))[1]


async def petition_workflow(scope: TenantScope, petition: Petition) -> Workflow:
    """The workflow version ``petition`` runs on, in the tenant that holds it (workflow_versions.py)."""
    return await workflow_of_version(scope, petition.workflow_version)


async def petition_workflows(scope: TenantScope, petitions: list[Petition]) -> dict[int | None, Workflow]:
    """The workflow of each version ``petitions`` run on (a list shows each case's state in its own version's words)."""
    return {v: await workflow_of_version(scope, v) for v in {p.workflow_version for p in petitions}}


async def tenant_calendar(scope: TenantScope) -> WorkingCalendar:
    async def load():
        row = await scope.repo(CalendarRules).find_one({})
        if row is None:
            return WorkingCalendar()
        return WorkingCalendar(TenantCalendarRules(
            holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
            workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        ))

    return await tenant_config.get(("calendar", scope.tenant_id), load)


async def _deadline(scope: TenantScope, workflow: Workflow, rule: str, start: date) -> str:
    period = workflow.time_limits[rule]
    calendar = await tenant_calendar(scope)
    return calendar.due_date(start, period.amount, period.unit.value).isoformat()


# -- receipts -----------------------------------------------------------------------------------


def new_receipt() -> str:
    return f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def normalise_receipt(text: str) -> str:
    """The receipt's digits as ASCII, whatever was typed around them: spaces, dashes, or full-width digits
    (a Chinese input method in full-width mode types ３１８９, which must find the same case as 3189)."""
    return "".join(str(unicodedata.decimal(ch)) for ch in (text or "") if ch.isdecimal())[:64]


async def hash_receipt(keyring: KeyRing, receipt: str) -> str:
    return await asyncio.to_thread(keyring.receipt_hash, receipt)


async def find_by_receipt(keyring: KeyRing, receipt_text: str) -> tuple[Receipt, Petition] | None:
    """Always one slow hash and the same two indexed lookups at once, whatever the input, so timing tells nothing.

    The petition's own ``receipt_hash`` answers first: it is written in the same single write
    as the petition, so it works before the derived Receipt row exists (or if a crash kept it
    from ever being written) and wherever the case has moved. The Receipt row answers for
    petitions from before that field. The answer's Receipt is read from the petition: where
    the case is now, and whose portal issued the receipt.
    """
    digits = normalise_receipt(receipt_text)
    receipt_hash = await hash_receipt(keyring, digits if len(digits) == RECEIPT_DIGITS else "x" + digits)
    carried, row = await asyncio.gather(
        Petition.get_pymongo_collection().find_one({"receipt_hash": {"$eq": receipt_hash}}),
        Receipt.find_one({"receipt_hash": {"$eq": receipt_hash}}),
    )
    if len(digits) != RECEIPT_DIGITS:
        return None
    if carried is not None:
        petition = parse_obj(Petition, carried)
    elif row is not None:
        petition = await _petition_anywhere(row.petition_id)
    else:
        return None
    return (_receipt_of(petition, receipt_hash), petition) if petition else None


async def _petition_anywhere(petition_id: str) -> Petition | None:
    """The petition with this id in whichever tenant holds it now.

    Only for ids the platform itself vouches for (a receipt that matched, a portal session
    set by one): a receipt is platform data and keeps working when the case moves.
    """
    oid = parse_object_id(petition_id)
    raw = await Petition.get_pymongo_collection().find_one({"_id": oid}) if oid else None
    return parse_obj(Petition, raw) if raw else None


def _receipt_of(petition: Petition, receipt_hash: str) -> Receipt:
    """What a receipt stands for, read from the petition itself (never stale, even without its row)."""
    return Receipt(id=petition.id, receipt_hash=receipt_hash, petition_id=str(petition.id), tenant_id=petition.tenant_id,
                   origin_tenant_id=petition.origin_tenant_id)


async def followed_petition(petition_id: str) -> tuple[Receipt, Petition] | None:
    """The petition a portal session followed after its receipt matched, wherever the case is now."""
    petition = await _petition_anywhere(petition_id)
    return (_receipt_of(petition, petition.receipt_hash or ""), petition) if petition else None


# -- submission ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def identity_keys(schema: dict) -> set[str]:
    return {k for k, v in schema.get("properties", {}).items() if isinstance(v, dict) and v.get("x-identity")}


def petitioner_key(keyring: KeyRing, identity: dict) -> str | None:
    """Who sent it, as a keyed hash: the identity number if given (the strongest), else the phone number."""
    for field, kind in (("id_number", "id"), ("phone", "phone")):
        value = identity.get(field)
        if isinstance(value, str):
            canonical = "".join(ch for ch in unicodedata.normalize("NFKC", value).upper() if ch.isalnum())
            if len(canonical) >= 6:
                return keyring.petitioner_hash(f"{kind}:{canonical}")
    return None


def _title_of(answers: dict, form: FormVersion) -> str:
    for key in ("title", "topic"):
        if isinstance(answers.get(key), str) and answers[key].strip():
            return answers[key].strip()[:100]
    content = answers.get("content")
    if isinstance(content, str) and content.strip():
        return title_from_text(content)  # whole sentences, never cut inside a quotation
    return form.title()["zh"]


def _subject_of(answers: dict) -> str | None:
    subject = answers.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("name"), str):
        return subject["name"][:100]
    return None


def field_errors(errors) -> InvalidInput:
    fields = {e.path or "body": {"zh": e.zh, "en": e.en} for e in errors}
    return InvalidInput({"zh": "请修改标出的内容后再提交", "en": "please correct the fields marked"}, fields=fields)


# The next case number this process will try, per (issuing tenant, year). The insert of the petition
# claims its number: the unique index (origin_tenant_id, number) refuses a number another process took
# first, and then this process reads the highest number in use and goes on from there. One process
# (the single-machine default) therefore never needs a round trip for its numbers; several web
# replicas pay one refused insert and one indexed read each time another replica numbered last.
_next_serial: dict[tuple[str, str], int] = {}
NUMBER_ATTEMPTS = 20


async def _highest_serial(tenant_id: str, prefix: str) -> int:
    """The highest case number this tenant ever issued with this prefix, wherever the case went since."""
    row = await Petition.get_pymongo_collection().find_one(
        {"origin_tenant_id": {"$eq": tenant_id}, "number": {"$gte": prefix, "$lt": prefix + "~"}},
        projection={"number": 1}, sort=[("number", DESCENDING)],
    )
    tail = row["number"][len(prefix):] if row else ""
    return int(tail) if tail.isdigit() else 0


async def _insert_numbered(ctx: TenantContext, petition: Petition, now: datetime) -> None:
    """Insert ``petition`` under the next free case number: the submission's one store write.

    Raises DuplicateKeyError when the receipt hash is taken (the caller makes a new receipt).
    """
    year = str(china_today(now).year)
    prefix, key = f"{ctx.tenant.slug.upper()}-{year}-", (ctx.tenant_id, year)
    for attempt in range(NUMBER_ATTEMPTS):
        if attempt or key not in _next_serial:
            highest = await _highest_serial(ctx.tenant_id, prefix)
            _next_serial[key] = max(_next_serial.get(key, 1), highest + 1)
        serial = _next_serial[key]
        _next_serial[key] = serial + 1  # taken before the await: concurrent submissions never try the same
        petition.number = f"{prefix}{serial:06d}"
        try:
            await ctx.scope.repo(Petition).insert(petition)
            return
        except DuplicateKeyError as exc:
            if _duplicate_of(exc) == "_id" and _next_serial.get(key) == serial + 1:
                _next_serial[key] = serial  # a retried submission: the number it did not take stays free
            if _duplicate_of(exc) in ("receipt_hash", "_id"):
                raise
    raise Conflict({"zh": "案件编号暂时分配不出，请重新提交", "en": "no case number could be given just now; please submit again"})


def _duplicate_of(exc: DuplicateKeyError) -> str:
    """Which unique key refused a write: "_id", "receipt_hash", or something else (a case number)."""
    pattern = (exc.details or {}).get("keyPattern") or {}
    if pattern:
        return "_id" if "_id" in pattern else "receipt_hash" if "receipt_hash" in pattern else "other"
    # No keyPattern: the embedded store says "petitions._id" or "index 'idx_petitions_<fields>'"; MongoDB "index: _id_ ".
    text = str((exc.details or {}).get("errmsg") or exc)
    return "receipt_hash" if "receipt_hash" in text else "_id" if _ID_INDEX.search(text) else "other"


_ID_INDEX = re.compile(r"\._id\b|index: _id_ ")


# -- idempotent submission: a retry with the same key gets the same petition back ---------------------

SUBMISSION_KEY_FIELD = "Idempotency-Key"
_SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
RECEIPT_CANDIDATES = 4  # receipts one key may try when another petition holds one (1 in 10^16 each)


def check_submission_key(key: str | None) -> str | None:
    """The client's idempotency key, or a 422 if it is not 16-64 characters of A-Z a-z 0-9 _ -."""
    if key is None:
        return None
    if not _SUBMISSION_KEY.fullmatch(key):
        raise InvalidInput(fields={SUBMISSION_KEY_FIELD: {
            "zh": "提交标识须为16至64位字母、数字、下划线或连字符", "en": "must be 16-64 characters of A-Z, a-z, 0-9, _ or -"}})
    return key


@dataclasses.dataclass(frozen=True)
class SubmissionKey:
    """Everything a submission derives from (tenant, idempotency key), under the keyring's own sub-key:
    the petition's id (a second insert is a duplicate), its receipts, and a hash that proves the key."""

    keyring: KeyRing
    tenant_id: str
    key: str

    def _digest(self, purpose: str, *more: str) -> bytes:
        return self.keyring.submission_digest(purpose, self.tenant_id, self.key, *more)

    @property
    def petition_id(self) -> ObjectId:
        return ObjectId(self._digest("petition id")[:12])

    @property
    def key_hash(self) -> str:
        return self._digest("key hash").hex()

    def receipt(self, attempt: int) -> str:
        """Like new_receipt(): 16 decimal digits, here fixed by the key (and the attempt)."""
        number = int.from_bytes(self._digest("receipt", str(attempt)), "big") % 10**RECEIPT_DIGITS
        return f"{number:0{RECEIPT_DIGITS}d}"

    def content_hash(self, content: dict) -> str:
        return self._digest("content", json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)).hex()


def _submitted_content(form: FormVersion, answers: dict, anonymous: bool, channel: Channel,
                       registered_by: Principal | None, uploads, received_on: date | None = None) -> dict:
    """What makes two submissions under one key the same submission."""
    content = {"form": [form.key, form.version, form.digest], "answers": answers, "anonymous": anonymous,
               "channel": channel.value, "by": registered_by.account_id if registered_by else "",
               "files": [[u.filename, hashlib.sha256(u.data).hexdigest()] for u in uploads]}
    if received_on is not None:  # only then: keys used before the field keep matching their petitions
        content["received_on"] = received_on.isoformat()
    return content


EARLIEST_RECEIVED = date(2000, 1, 1)


def check_received_on(ctx: TenantContext, received_on: date | None, now: datetime) -> None:
    """The date received (来信日期/来访日期) staff register: not after today in the tenant's zone, not absurdly early."""
    if received_on is None:
        return
    today = now.astimezone(ZoneInfo(ctx.tenant.settings.time_zone)).date()
    if received_on > today:
        raise InvalidInput(fields={"received_on": {"zh": "收到日期不能晚于今天", "en": "the date received cannot be in the future"}})
    if received_on < EARLIEST_RECEIVED:
        raise InvalidInput(fields={"received_on": {"zh": "收到日期不能早于2000年", "en": "the date received cannot be before 2000"}})


def _key_reused() -> Conflict:
    return Conflict({"zh": "该提交标识已用于内容不同的另一次提交", "en": "this Idempotency-Key was used for a different submission"},
                    field=SUBMISSION_KEY_FIELD)


async def _stored_under_key(keyring: KeyRing, submission: SubmissionKey, content_hash: str) -> tuple[Petition, str] | None:
    """The petition an earlier attempt with this key stored, with its receipt; None if there is none.

    Read wherever the case is now (its id is derived from this tenant and key, so it is this
    submission's or nobody's); a different content under the key is a 409."""
    raw = await Petition.get_pymongo_collection().find_one({"_id": submission.petition_id})
    if raw is None:
        return None
    petition = parse_obj(Petition, raw)
    if petition.submission_key_hash != submission.key_hash:
        raise _key_reused()
    if petition.submission_content_hash != content_hash:
        raise _key_reused()
    if petition.receipt_hash is None:  # stored without a receipt (with_receipt=False): none to give back
        await hand_over_carried(petition)
        return petition, ""
    for attempt in range(RECEIPT_CANDIDATES):
        receipt = submission.receipt(attempt)
        if await hash_receipt(keyring, receipt) == petition.receipt_hash:
            await hand_over_carried(petition)  # if the first attempt died before its hand-over
            return petition, receipt
    raise _key_reused()  # unreachable unless the petition's receipt was changed since


async def _attach(ctx: TenantContext, attachment: Attachment, keyed: bool) -> None:
    """Store one attachment; under a key its id is derived, so an earlier attempt's copy is kept once."""
    try:
        await ctx.scope.repo(Attachment).insert(attachment)
    except DuplicateKeyError:
        if not keyed:
            raise
        earlier = await Attachment.get_pymongo_collection().find_one({"_id": attachment.id}, projection={"sha256": 1})
        if earlier is None or earlier.get("sha256") != attachment.sha256:
            raise _key_reused() from None


async def do_submit_petition(
    ctx: TenantContext, keyring: KeyRing, form: FormVersion, *, answers: dict, anonymous: bool,
    channel: Channel = Channel.ONLINE, registered_by: Principal | None = None,
    uploads: list[Upload] = (), now: datetime | None = None, idempotency_key: str | None = None,
    received_on: date | None = None, relay_consent: str | None = None, with_receipt: bool = True,
) -> tuple[Petition, str]:
    """Validate, seal the identity, and store the petition in ONE write, atomic on every store.

    The petition carries its receipt's hash and its ``petition.submitted`` event; the
    Receipt row and the OutboxEvent row are derived from it afterwards by a worker
    (``derive_petition_rows``, ``events.materialise_carried``), or by the sweeper if
    the hand-over was lost. Attachments, when there are any, are written first: a crash
    before the petition leaves only files nothing refers to.

    Returns the petition and the receipt, which exists in clear only in this
    return value: the database keeps its slow hash.

    With an ``idempotency_key`` (the portal form's hidden key, the API's Idempotency-Key header) the
    petition's id and receipt are derived from (tenant, key): a retry after a lost answer hits the
    first attempt's id, and gets that petition and the same receipt back instead of storing a second.
    The same key with other content is a 409. Without a key, every call stores a new petition.

    ``received_on``: the day a letter, visit or call came in (staff registration); the first time
    limit counts from it, not from the moment of registration. Never after today (a 422).

    ``relay_consent``: a village supervisor (信访监督员) relays the petition on a villager's behalf; the villager's
    consent, in words, is kept on the registration step (RELAY_CONSENT_FIELD), which marks the petition as relayed.

    ``with_receipt=False``: no receipt at all (the returned receipt is ""): for rows of an old register (imports/),
    whose receipts nobody is ever shown; it saves the slow hash. Such a petition opens from no receipt.
    """
    now = now or utcnow()
    check_submission_key(idempotency_key)
    check_received_on(ctx, received_on, now)
    errors = validate_submission(form.json_schema, answers, anonymous=anonymous)
    if errors:
        raise field_errors(errors)
    submission = SubmissionKey(keyring, ctx.tenant_id, idempotency_key) if idempotency_key else None
    content_hash = submission.content_hash(
        _submitted_content(form, answers, anonymous, channel, registered_by, uploads, received_on)) if submission else None
    secret_keys = identity_keys(form.json_schema)
    identity = {k: v for k, v in answers.items() if k in secret_keys}
    public_answers = {k: v for k, v in answers.items() if k not in secret_keys}
    workflow_version, workflow = await current_workflow(ctx.scope, fresh=True)
    petition_id = submission.petition_id if submission else ObjectId()
    receipt = (submission.receipt(0) if submission else new_receipt()) if with_receipt else ""
    receipt_hash = await hash_receipt(keyring, receipt) if with_receipt else None
    initial = workflow.state(workflow.initial)
    actor = registered_by
    petition = Petition(
        id=petition_id,
        tenant_id=ctx.tenant_id,
        number="",  # claimed by the insert (_insert_numbered)
        origin_tenant_id=ctx.tenant_id,
        form_key=form.key, form_version=form.version, form_digest=form.digest, kind=form.kind,
        channel=channel, anonymous=anonymous, answers=public_answers,
        identity_sealed=await keyring.seal_record(ctx.tenant_id, str(petition_id), str(petition_id), identity) if identity else None,
        petitioner_key=petitioner_key(keyring, identity),
        title=_title_of(public_answers, form), subject_name=_subject_of(public_answers),
        received_on=received_on.isoformat() if received_on else None,
        received_zone=ctx.tenant.settings.time_zone if received_on else None,
        state=initial.key, workflow_version=workflow_version,
        due_on=await _deadline(ctx.scope, workflow, initial.deadline, received_on or china_today(now)) if initial.deadline else None,
        due_rule=initial.deadline,
        steps=[Step(
            at=now, tenant_id=ctx.tenant_id, actor=actor.account_id if actor else CITIZEN,
            actor_name=actor.display_name if actor else "信访人 Petitioner",
            action="submitted" if channel == Channel.ONLINE else "registered",
            to_state=initial.key, public=True,
            fields={"channel": channel.value, **({"received_on": received_on.isoformat()} if received_on else {}),
                    **({RELAY_CONSENT_FIELD: relay_consent} if relay_consent else {})},
        )],
        receipt_hash=receipt_hash,
        submission_key_hash=submission.key_hash if submission else None,
        submission_content_hash=content_hash,
    )
    carry(petition, DomainEvent("petition.submitted", ctx.tenant_id, str(petition_id),
                                {"channel": channel.value, "actor_id": actor.account_id if actor else ""}), now)
    attachments = [_attachment(ctx, petition_id, upload, index if submission else None) for index, upload in enumerate(uploads)]
    petition.attachment_ids = [str(a.id) for a in attachments]
    for attachment in attachments:
        await _attach(ctx, attachment, keyed=submission is not None)
    for attempt in range(1, RECEIPT_CANDIDATES + 1):
        try:
            await _insert_numbered(ctx, petition, now)
            break
        except DuplicateKeyError as exc:
            # Under a key, a duplicate _id (or a receipt hash taken by the earlier attempt itself) is a retry.
            if submission and (earlier := await _stored_under_key(keyring, submission, content_hash)):
                return earlier
            if _duplicate_of(exc) != "receipt_hash" or attempt == RECEIPT_CANDIDATES:
                raise
            # another petition has this receipt's hash (1 in 10^16): make another receipt
            receipt = submission.receipt(attempt) if submission else new_receipt()
            petition.receipt_hash = await hash_receipt(keyring, receipt)
    await hand_over_carried(petition)
    return petition, receipt


async def derive_petition_rows(petitions: list[Petition]) -> None:
    """The rows a petition's write implies, written after it and idempotently (events.materialise_carried).

    * its Receipt row (``_id`` = the petition's id: a second write is a duplicate, skipped);
    * after a move (交办/转送), its receipt row and attachments follow it to the new tenant.
    """
    rows = [get_dict(Receipt(id=p.id, receipt_hash=p.receipt_hash, petition_id=str(p.id), tenant_id=p.tenant_id,
                             origin_tenant_id=p.origin_tenant_id), to_db=True) for p in petitions if p.receipt_hash]
    await insert_new(Receipt.get_pymongo_collection(), rows)
    for petition in petitions:
        if not any(event.name == "petition.moved" for event in petition.outbox):
            continue
        await Receipt.get_pymongo_collection().update_many(
            {"petition_id": str(petition.id)}, {"$set": {"tenant_id": petition.tenant_id}})
        attachment_ids = [oid for oid in (parse_object_id(a) for a in petition.attachment_ids) if oid is not None]
        if attachment_ids:
            await Attachment.get_pymongo_collection().update_many(
                {"_id": {"$in": attachment_ids}, "petition_id": str(petition.id)}, {"$set": {"tenant_id": petition.tenant_id}})


PETITIONS = register_carrier(Petition, derive_petition_rows)


@dataclasses.dataclass
class HalfWritten:
    """What ``half_written_petitions`` found. ``torn`` must always be empty; ``pending`` empties within a sweep."""

    pending: list[str]  # numbers of petitions whose carried events / receipt row are not materialised YET
    without_receipt_row: list[str]  # materialised, yet no Receipt row: torn (never expected)
    without_event: list[str]  # materialised, yet no petition.submitted OutboxEvent: torn (never expected)

    @property
    def torn(self) -> list[str]:
        return sorted(set(self.without_receipt_row) | set(self.without_event))


async def half_written_petitions(tenant_id: str | None = None) -> HalfWritten:
    """Petitions that are not yet whole in their derived rows (operators; bench/fault_submissions.py).

    A submission is one write of the petition, so a petition is never half-written in itself;
    its Receipt row and its ``petition.submitted`` OutboxEvent follow. ``pending``: the petition
    still says ``outbox_pending`` (its derived rows are not all written yet; a worker or, after a
    crash, the sweeper writes them within the event lease plus one sweep interval). Anything in
    ``torn`` (materialised but a row is missing) would be a bug. The same by hand, in mongosh:
    ``db.petitions.find({outbox_pending: true})``. Reads every petition: a diagnostic, not a page.
    """
    query = {"tenant_id": {"$eq": tenant_id}} if tenant_id else {}
    fields = {"number": 1, "outbox_pending": 1, "receipt_hash": 1}
    petitions = [doc async for doc in Petition.get_pymongo_collection().find(query, projection=fields)]
    with_row = {doc["petition_id"] async for doc in Receipt.get_pymongo_collection().find({}, projection={"petition_id": 1})}
    with_event = {doc.get("subject_id") async for doc in OutboxEvent.get_pymongo_collection().find(
        {"name": "petition.submitted"}, projection={"subject_id": 1})}
    report = HalfWritten([], [], [])
    for doc in petitions:
        if doc.get("outbox_pending"):
            report.pending.append(doc["number"])
            continue
        if str(doc["_id"]) not in with_row:
            report.without_receipt_row.append(doc["number"])
        if str(doc["_id"]) not in with_event:
            report.without_event.append(doc["number"])
    return report


def _attachment(ctx: TenantContext, petition_id, upload: Upload, keyed_index: int | None = None) -> Attachment:
    """``keyed_index``: under an idempotency key the id follows from the petition's, so a retry writes it once."""
    return Attachment(
        id=deterministic_id(str(petition_id), "attachment", str(keyed_index)) if keyed_index is not None else ObjectId(), tenant_id=ctx.tenant_id, petition_id=str(petition_id), filename=upload.filename[:200],
        content_type=upload.content_type, size=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
        data=upload.data,
    )


# -- reading ------------------------------------------------------------------------------------


async def access_petition(ctx: TenantContext, petition_id: str) -> Petition:
    """The petition of this tenant, or the same 404 whether it is elsewhere or nowhere."""
    petition = await ctx.scope.repo(Petition).get(petition_id)
    if petition is None:
        raise NotFound({"zh": "没有这件信访件", "en": "no such petition"})
    return petition


async def form_of(ctx: TenantContext, petition: Petition) -> FormVersion | None:
    """The exact form version the petition was validated against (in the tenant that issued it)."""
    row = await TenantScope(petition.origin_tenant_id).repo(FormVersion).find_one({"key": petition.form_key, "version": petition.form_version})
    return row if row and row.digest == petition.form_digest else None


async def open_identity(keyring: KeyRing, petition: Petition) -> dict:
    """The petitioner's identity; {} when there is none, or when it was destroyed at the end of retention (retention/)."""
    if not petition.identity_sealed:
        return {}
    try:
        return await keyring.open(petition.tenant_id, str(petition.id), petition.identity_sealed)
    except RecordKeyGone:
        return {}


MAX_PAGE = 100_000
INBOX_FILTERS = ("state", "channel", "overdue", "subject", "due_before", "assignee", "source")
INBOX_SOURCES = {"supervisor": {"zh": "信访监督员代为反映", "en": "Relayed by a village supervisor"}}


async def inbox(ctx: TenantContext, *, filters: dict, page: int = 1, page_size: int = 20, today: date | None = None) -> tuple[list[Petition], int]:
    query: dict = {}
    if filters.get("state"):
        query["state"] = filters["state"]
    if filters.get("channel"):
        query["channel"] = filters["channel"]
    if filters.get("overdue") in ("1", "true", True):
        query["overdue"] = True
    if filters.get("due_before"):
        query["due_on"] = {"$lte": str(filters["due_before"])}
    if filters.get("assignee"):
        query["assignee_id"] = str(filters["assignee"])
    if str(filters.get("subject") or "").strip():  # any part of the name: 王 finds 王五, 教育局 finds 泗阳县教育局
        query["subject_name"] = {"$regex": re.escape(str(filters["subject"]).strip()[:100])}
    if filters.get("source") and filters["source"] not in INBOX_SOURCES:
        raise InvalidInput(fields={"source": {"zh": "请选择来源：信访监督员代为反映", "en": "choose a source: relayed by a village supervisor"}})
    repo = ctx.scope.repo(Petition)
    if filters.get("source") == "supervisor":  # relayed by a village supervisor (信访监督员): the relay rows name the cases
        from ..supervisors.lookups import relayed_petition_ids

        query["_id"] = {"$in": await relayed_petition_ids(ctx.tenant)}
    total = await repo.count(query)  # through the index on both stores; ObjectIds in the filter counted as ids (store/scoped.py)
    page = min(max(page, 1), MAX_PAGE)
    items = await repo.find(query).sort("-created_at").skip((page - 1) * page_size).limit(page_size).to_list()
    return items, total


# -- workflow -----------------------------------------------------------------------------------


def _clean_fields(transition: Transition, given: dict) -> dict[str, str]:
    problems = {}
    fields: dict[str, str] = {}
    for name in transition.fields:
        value = given.get(name)
        value = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
        if len(value) > MAX_TEXT:
            problems[name] = {"zh": f"最多 {MAX_TEXT} 个字", "en": f"at most {MAX_TEXT} characters"}
        if value:
            fields[name] = value
    for name in transition.required:
        if not fields.get(name):
            problems[name] = {"zh": "必填", "en": "required"}
    unknown = set(given) - set(transition.fields)
    for name in unknown:
        problems[name] = {"zh": "此操作没有这一项", "en": "this action takes no such field"}
    if problems:
        raise InvalidInput(fields=problems)
    return fields


async def _check_assignee(ctx: TenantContext, account_id: str) -> StaffAccount:
    account = await ctx.scope.repo(StaffAccount).get(account_id)
    if account is None or not account.active or Role.HANDLER not in account.roles:
        raise InvalidInput(fields={"assignee": {"zh": "请选择本单位的承办人", "en": "choose a handler of this body"}})
    return account


async def _check_target(ctx: TenantContext, transition: Transition, slug: str) -> Tenant:
    target = await Tenant.find_one({"slug": slug, "active": True})
    bad = target is None or str(target.id) == ctx.tenant_id
    if not bad and transition.move == "child" and target.parent_id != ctx.tenant_id:
        bad = True
    if bad:
        wanted = {"zh": "请选择下级单位", "en": "choose a body directly below this one"} if transition.move == "child" else {"zh": "请选择其他有权处理的单位", "en": "choose another competent body"}
        raise InvalidInput(fields={"target_tenant": wanted})
    return target


def actor_roles(actor: Principal | None) -> set[str]:
    return {CITIZEN} if actor is None else set(actor.roles)


def barred_as_reviewer(transition: Transition, petition: Petition, actor: Principal | None) -> bool:
    """The actor took a step this transition reviews (``not_by``): someone else must take it."""
    return actor is not None and any(s.actor == actor.account_id and s.action in transition.not_by for s in petition.steps)


def is_archive_step(transition: Transition) -> bool:
    """The workflow's 归档 step: the archive record (records/) takes it when it freezes and numbers the case, so it is
    never offered or taken on its own (a case reading 已归档 without a record and a 归档号 would be a lie)."""
    return transition.key == "archive" or transition.to == "archived"


ARCHIVE_THROUGH_RECORD = {"zh": "归档请在案件页面的“归档并编归档号”办理：由归档记录冻结案卷、编号后进入已归档",
                          "en": "archive a case with 'Archive and number it' on its page: the archive record freezes and numbers it"}


def allowed_transitions(workflow: Workflow, petition: Petition, actor: Principal | None, *,
                        lower_bodies: bool = True, archiving: bool = False) -> list[Transition]:
    """The steps ``actor`` may take now. ``lower_bodies`` False (see ``has_lower_bodies``): a move down
    (交办下级) is not offered, since with nobody below it could only fail. The 归档 step only when ``archiving``
    (the archive record asks)."""
    return [t for t in workflow.available(petition.state, actor_roles(actor))
            if not (t.once and t.key in petition.used_once) and not barred_as_reviewer(t, petition, actor)
            and (lower_bodies or t.move != "child") and (archiving or not is_archive_step(t))]


async def has_lower_bodies(ctx: TenantContext) -> bool:
    """Whether an active tenant sits directly below this one (a case can be assigned down to it)."""
    return await tenant_has_lower_bodies(ctx.tenant_id)


async def do_transition(
    ctx: TenantContext, keyring: KeyRing, petition: Petition, key: str, *, actor: Principal | None,
    fields: dict, now: datetime | None = None, archiving: bool = False,
) -> Petition:
    """Move a petition along one transition of the tenant's workflow (``actor`` None: the citizen). The 归档 step
    only for the archive record (``archiving``): anyone else gets a 409 that says where to archive."""
    now = now or utcnow()
    await refuse_if_archived(ctx.scope, "petition", petition.id)  # an archived case is closed for good (409 in words)
    workflow = await petition_workflow(ctx.scope, petition)
    transition = workflow.transition(key)
    if transition is None:
        raise NotFound({"zh": f"没有操作 {key}", "en": f"no action {key!r}"})
    if is_archive_step(transition) and not archiving:
        raise Conflict(ARCHIVE_THROUGH_RECORD)
    if petition.state not in transition.from_ or (transition.once and key in petition.used_once):
        raise Conflict({"zh": "当前状态下不能执行此操作", "en": "this action is not possible in the current state"})
    if not actor_roles(actor) & set(transition.roles):
        raise Forbidden({"zh": "您的角色不能执行此操作", "en": "your role may not take this action"})
    if barred_as_reviewer(transition, petition, actor):
        raise Forbidden({"zh": "此操作须由未参与被复查答复的另一人办理", "en": "someone who did not give the reply under review must take this action"})
    clean = _clean_fields(transition, fields)
    if "assignee" in clean:
        petition.assignee_id = str((await _check_assignee(ctx, clean["assignee"])).id)
    target = await _check_target(ctx, transition, clean["target_tenant"]) if transition.move else None

    from_state = petition.state
    target_scope = TenantScope(target.id) if target else ctx.scope
    # A case moved to another body runs on that body's newest workflow from then on.
    target_version, target_workflow = await current_workflow(target_scope, fresh=True) if target else (petition.workflow_version, workflow)
    to_state = transition.to if any(s.key == transition.to for s in target_workflow.states) else target_workflow.initial
    state = target_workflow.state(to_state)
    today = china_today(now)
    if transition.extends:
        base = date.fromisoformat(petition.due_on) if petition.due_on else today
        period = workflow.time_limits[transition.extends]
        petition.due_on = (await tenant_calendar(ctx.scope)).due_date(base, period.amount, period.unit.value).isoformat()
        petition.overdue = False
    elif state.deadline and not (state.keep_deadline and petition.due_rule == state.deadline and not target):
        petition.due_on = await _deadline(target_scope, target_workflow, state.deadline, today)
        petition.due_rule, petition.overdue = state.deadline, False
    elif not state.deadline:
        petition.last_due_on = petition.due_on or petition.last_due_on  # what analytics reads a late close by
        petition.due_on, petition.due_rule, petition.overdue = None, None, False
    if transition.once:
        petition.used_once.append(key)
    petition.state, petition.workflow_version = to_state, target_version
    petition.steps.append(Step(
        at=now, tenant_id=ctx.tenant_id, actor=actor.account_id if actor else CITIZEN,
        actor_name=actor.display_name if actor else "信访人 Petitioner", action=key,
        from_state=from_state, to_state=to_state, public=True, fields=clean,
        public_fields=[f for f in transition.public_fields if f in clean],
    ))
    if target is not None and transition.move == "child":  # 交办下级: the assigning body follows it (upper_level.py)
        open_assignment_down(petition.followed_by, petition.down_assignments, upper_tenant_id=ctx.tenant_id,
                             lower_tenant_id=str(target.id), transition=key, at=now, report_due_on=petition.due_on)
    # One write of the petition, carrying its event: the step and the event never come apart.
    carry(petition, DomainEvent("petition.moved" if target else "petition.transitioned", str(target.id) if target else ctx.tenant_id,
                                str(petition.id), {"transition": key, "from_tenant": ctx.tenant_id,
                                                   "actor_id": actor.account_id if actor else CITIZEN}), now)
    if target is None:
        if not await ctx.scope.repo(Petition).replace_versioned(petition):
            raise _changed_meanwhile()
    else:
        await _move(ctx, keyring, petition, target)
    await hand_over_carried(petition)
    return petition


class ChangedMeanwhile(Conflict):
    """The petition was written between this request's read and its write (optimistic concurrency)."""


def _changed_meanwhile() -> Conflict:
    return changed_meanwhile("这件信访件", "this petition", ChangedMeanwhile)


TRANSITION_ATTEMPTS = 3


async def do_transition_of(ctx: TenantContext, keyring: KeyRing, petition_id: str, key: str, *, actor: Principal | None,
                           fields: dict) -> Petition:
    """``do_transition`` on the petition as it is now. A write between this request's read and its write (the beat
    flagging the case overdue, a reminder noted, another person's action) makes it read the petition again and try
    again, up to ``TRANSITION_ATTEMPTS`` times: the request carries no revision of a page its person saw, and the action
    is checked again against the new state (a step someone else took first is refused in words). Nothing is written
    before the petition's one versioned write, so trying again repeats nothing."""
    for attempt in range(1, TRANSITION_ATTEMPTS + 1):
        petition = await access_petition(ctx, petition_id)
        try:
            return await do_transition(ctx, keyring, petition, key, actor=actor, fields=fields)
        except ChangedMeanwhile:
            if attempt == TRANSITION_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def _move(ctx: TenantContext, keyring: KeyRing, petition: Petition, target: Tenant) -> None:
    """交办 / 转送: the petition goes to ``target`` with its history, in one write.

    Its attachments and its receipt row follow afterwards (``derive_petition_rows``, from the
    ``petition.moved`` event it carries); until then nothing is missing: attachments are
    read through the petition (``attachment_of``) and receipts through its ``receipt_hash``.
    """
    target_id = str(target.id)
    try:
        identity = await keyring.open(ctx.tenant_id, str(petition.id), petition.identity_sealed) if petition.identity_sealed else None
    except RecordKeyGone:  # destroyed at the end of retention: the unreadable bytes go along as they are
        identity = None
    if identity is not None:
        # Under the petition's own record key in the target tenant: retention destroys the keys of every tenant.
        petition.identity_sealed = await keyring.seal_record(target_id, str(petition.id), str(petition.id), identity)
    petition.assignee_id = None  # the case keeps its number wherever it goes
    if not await ctx.scope.repo(Petition).move_to(petition, target_id):
        raise _changed_meanwhile()


async def attachment_of(petition: Petition, attachment_id: str) -> Attachment | None:
    """One of the petition's attachments, whichever tenant's row it still is in right after a move.

    The caller has the petition through its own tenant's scope; the attachment is read
    only if the petition lists it and it names the petition.
    """
    oid = parse_object_id(attachment_id)
    if oid is None or str(oid) not in petition.attachment_ids:
        return None
    raw = await Attachment.get_pymongo_collection().find_one({"_id": oid, "petition_id": str(petition.id)})
    return parse_obj(Attachment, raw) if raw else None


async def do_add_supplement(ctx: TenantContext, petition: Petition, *, text: str, uploads: list[Upload] = (), now: datetime | None = None) -> Petition:
    """The citizen adds information (补充材料); it joins the history as a public step."""
    text = (text or "").strip()
    if not text and not uploads:
        raise InvalidInput(fields={"text": {"zh": "请填写补充内容或上传附件", "en": "write something or attach a file"}})
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={"text": {"zh": f"最多 {MAX_TEXT} 个字", "en": f"at most {MAX_TEXT} characters"}})
    now = now or utcnow()
    await refuse_if_archived(ctx.scope, "petition", petition.id)
    attachments = [_attachment(ctx, petition.id, upload) for upload in uploads]
    petition.attachment_ids += [str(a.id) for a in attachments]
    petition.steps.append(Step(at=now, tenant_id=ctx.tenant_id, actor=CITIZEN, actor_name="信访人 Petitioner",
                               action="supplement", public=True, fields={"text": text} if text else {},
                               public_fields=["text"] if text else []))
    carry(petition, DomainEvent("petition.supplemented", ctx.tenant_id, str(petition.id), {"actor_id": CITIZEN}), now)
    # Files first, then the one write that refers to them and carries the event: a crash in between
    # leaves only files nothing refers to, never a step whose files or event are missing.
    for attachment in attachments:
        await ctx.scope.repo(Attachment).insert(attachment)
    if not await ctx.scope.repo(Petition).replace_versioned(petition):
        raise _changed_meanwhile()
    await hand_over_carried(petition)
    return petition


REPEAT_STEPS = ("repeat_confirmed", "repeat_withdrawn")


async def do_note_repeat(scope: TenantScope, petition_id: str, *, other_number: str, confirmed: bool,
                         actor_id: str, actor_name: str, now: datetime | None = None) -> Petition | None:
    """Staff confirmed this petition a repeat (重信重访) of ``other_number``, or withdrew that: a staff-only step
    in its history. None when the petition is not (or no longer) this tenant's."""
    for _ in range(3):
        petition = await scope.repo(Petition).get(petition_id)
        if petition is None:
            return None
        petition.steps.append(Step(at=now or utcnow(), tenant_id=scope.tenant_id, actor=actor_id or "staff", actor_name=actor_name,
                                   action=REPEAT_STEPS[0] if confirmed else REPEAT_STEPS[1], fields={"repeat_of": other_number[:100]}))
        if await scope.repo(Petition).replace_versioned(petition):
            return petition
    raise _changed_meanwhile()


# -- time limits --------------------------------------------------------------------------------


async def flag_overdue(scope: TenantScope, today: date) -> int:
    """Mark petitions whose time limit has passed. Idempotent: a flagged one is not touched again."""
    return await scope.repo(Petition).update_many(
        {"overdue": False, "due_on": {"$lt": today.isoformat()}}, {"$set": {"overdue": True}, "$inc": {"revision": 1}}
    )



async def do_set_calendar_rules(scope: TenantScope, *, holidays: list[str], workdays: list[str], actor_id: str | None = None,
                                names: dict[str, str] | None = None, actor: ConfigActor | None = None, note: str = "") -> CalendarRules:
    """The tenant's days off and make-up workdays (and the names given to them: ``names``, kept for days still listed
    when None); every change is a version of the configuration area "calendar"."""
    problems = {}
    for name, values in (("holidays", holidays), ("workdays", workdays)):
        for value in values:
            try:
                date.fromisoformat(value)
            except (TypeError, ValueError):
                problems[name] = {"zh": f"日期格式应为 YYYY-MM-DD：{value}", "en": f"dates must be YYYY-MM-DD: {value!r}"}
                break
    if problems:
        raise InvalidInput(fields=problems)
    repo = scope.repo(CalendarRules)
    async with unit_of_work() as uow:
        row = await repo.find_one({}, session=uow.session) or CalendarRules(tenant_id=scope.tenant_id)
        row.holidays, row.workdays = sorted(set(holidays)), sorted(set(workdays))
        listed = set(row.holidays) | set(row.workdays)
        row.names = {d: str(n)[:40] for d, n in sorted((row.names if names is None else names).items()) if d in listed and n}
        await repo.save(row, session=uow.session)
        uow.record(DomainEvent("calendar.changed", scope.tenant_id, str(row.id), {"actor_id": actor_id or ""}))
    tenant_config.drop(("calendar", scope.tenant_id))
    actor = actor or (ConfigActor(actor_id, "") if actor_id else BUNDLE_ACTOR)
    await do_record_config_version(scope, "calendar", {"holidays": row.holidays, "workdays": row.workdays, "names": row.names},
                                   actor=actor, note=note)
    return row
