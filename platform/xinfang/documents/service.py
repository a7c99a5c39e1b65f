"""Official-document verbs (公文) and readers.

STABLE reader for other areas (records/ reads it): ``documents_of(scope, subject_kind, subject_id)``.

Outgoing (发文): ``do_draft`` (from the tenant's template) -> ``do_review`` (核稿, by a reviewer role) -> ``do_sign``
(签发, by a signer role: gives the 文号, freezes the PDF and its SHA-256, sends). Separation of duties: nobody reviews
or signs their own draft, and the reviewer does not sign (403). Recipients on the platform get an incoming row at once;
a department outside and the citizen get a delivery for staff to record (``do_record_delivery``).

Incoming (收文): created by the sender's 签发, or ``do_register`` from paper (with a scan); ``do_distribute`` to people
to read (传阅) or act (承办) by a working day of this body's calendar; ``do_mark_read`` / ``do_mark_acted``; answered by
drafting a 复函 with ``reply_to_id`` (signed, it marks the incoming done and, sent back, lands at the sender linked to
the sender's document). Each write is versioned (409 when someone else changed the document meanwhile).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..auth.models import Role, StaffAccount
from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..petitions.models import Petition, Step
from ..petitions.service import china_today, tenant_calendar
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import TenantScope
from ..store.serials import claim_serial
from ..tenancy.models import Tenant
from ..tenancy.service import get_tenant
from ..cards.documents import date_words
from . import templates
from .models import (KIND_NAMES, Direction, DocumentNumber, DocumentScan, DocumentSettings, DocumentState, DocumentStep,
                     Distribution, IssuedPdf, Link, OfficialDocument, Recipient, link_key)
from .pdf import document_pdf

log = logging.getLogger(__name__)
MAX_TITLE = 200
MAX_BODY = 20000
MAX_RECIPIENTS = 30
MAX_LINKS = 10
MAX_PREFIX = 20
MAX_SCAN_BYTES = 10 * 1024 * 1024
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")
NUMBER_TRIES = 200
CASE_STEP_TRIES = 5
MAX_WORKING_DAYS = 120
APPROVER_ROLES = (Role.LEADER.value, Role.HANDLER.value, Role.REGISTRAR.value, Role.TENANT_ADMIN.value)
NOT_FOUND = {"zh": "没有这份公文", "en": "no such document"}
def _changed_meanwhile() -> Conflict:
    return changed_meanwhile("这份公文", "this document")


# -- readers ---------------------------------------------------------------------------------------


async def documents_of(scope: TenantScope, subject_kind: str, subject_id: str) -> list[OfficialDocument]:
    """Every document of this body linked to one case (``petition``), card or action (``supervision``) or archive entry
    (``archive_entry``), oldest first: drafts included (filter on ``state`` if only issued/received ones matter)."""
    key = link_key(subject_kind, str(subject_id))
    return await scope.repo(OfficialDocument).find({"link_keys": {"$in": [key]}}).sort("created_at").to_list()


async def access_document(scope: TenantScope, document_id: str) -> OfficialDocument:
    """A document of this body; the same 404 whether it is another body's or nobody's."""
    row = await scope.repo(OfficialDocument).get(document_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def settings_of(scope: TenantScope) -> DocumentSettings:
    row = await scope.repo(DocumentSettings).find_one({})
    return row or DocumentSettings(tenant_id=scope.tenant_id)


async def issued_pdf(scope: TenantScope, document: OfficialDocument) -> IssuedPdf:
    row = await scope.repo(IssuedPdf).find_one({"document_id": str(document.id)})
    if row is None:
        raise NotFound({"zh": "这份公文还没有签发，没有正式文本", "en": "this document is not issued yet"})
    return row


async def scan_of(scope: TenantScope, document: OfficialDocument) -> DocumentScan:
    row = await scope.repo(DocumentScan).get(document.scan_id) if document.scan_id else None
    if row is None:
        raise NotFound({"zh": "这份收文没有扫描件", "en": "this document has no scan"})
    return row


async def counts(scope: TenantScope) -> list[dict]:
    """How many documents of each kind, each direction (the documents page's statistics)."""
    repo = scope.repo(OfficialDocument)
    rows = []
    for kind in KIND_NAMES:
        out = await repo.count({"kind": kind, "direction": Direction.OUTGOING.value})
        out_issued = await repo.count({"kind": kind, "direction": Direction.OUTGOING.value, "state": DocumentState.ISSUED.value})
        inc = await repo.count({"kind": kind, "direction": Direction.INCOMING.value})
        if out or inc:
            rows.append({"kind": kind, "outgoing": out, "outgoing_issued": out_issued, "incoming": inc})
    return rows


# -- checks ----------------------------------------------------------------------------------------


def _text(value, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(fields={field: {"zh": "必填", "en": "required"}})
    if len(text) > limit:
        raise InvalidInput(fields={field: {"zh": f"最多 {limit} 个字", "en": f"at most {limit} characters"}})
    return text


def _kind(value) -> str:
    if value not in KIND_NAMES:
        raise InvalidInput(fields={"kind": {"zh": "请选择公文种类", "en": "choose a kind of document"}})
    return value


async def _links(scope: TenantScope, links) -> list[Link]:
    """Links to a case, card or archive entry of this body (each checked to exist here: else 422)."""
    from ..archives.models import ArchiveEntry
    from ..cards.models import Supervision

    out = []
    for item in list(links or [])[:MAX_LINKS]:
        kind, subject_id = (item.get("kind"), item.get("id")) if isinstance(item, dict) else (None, None)
        model = {"petition": Petition, "supervision": Supervision, "archive_entry": ArchiveEntry}.get(kind)
        row = await scope.repo(model).get(subject_id) if model and isinstance(subject_id, str) else None
        if row is None:
            raise InvalidInput(fields={"links": {"zh": "关联的信访件、监督卡或档案不存在", "en": "the linked case, card or archive entry does not exist here"}})
        label = (f"{row.number} · {row.title}" if kind == "petition" else
                 getattr(getattr(row, "subject", None), "name", "") if kind == "supervision" else getattr(row, "title", "") or str(row.id))
        out.append(Link(kind=kind, id=str(row.id), label=str(label)[:300]))
    return out


async def _recipients(ctx_tenant: Tenant, recipients) -> list[Recipient]:
    out = []
    for item in list(recipients or [])[:MAX_RECIPIENTS]:
        if not isinstance(item, dict) or item.get("kind") not in ("tenant", "department", "citizen"):
            raise InvalidInput(fields={"recipients": {"zh": "收件方应为平台内单位、外部部门或信访人", "en": "a recipient is a body on the platform, a department outside or the citizen"}})
        if item["kind"] == "tenant":
            from ..tenancy.models import Tenant as TenantModel

            target = await TenantModel.find_one({"slug": item.get("tenant")}) if isinstance(item.get("tenant"), str) else None
            if target is None or not target.active or str(target.id) == str(ctx_tenant.id):
                raise InvalidInput(fields={"recipients": {"zh": "收文单位不在平台上（或是本单位）", "en": "the receiving body is not on the platform (or is this body)"}})
            out.append(Recipient(kind="tenant", name=target.name.zh, tenant_id=str(target.id)))
        else:
            name = _text(item.get("name"), "recipients", 100)
            out.append(Recipient(kind=item["kind"], name=name))
    if not out:
        raise InvalidInput(fields={"recipients": {"zh": "请填写主送单位", "en": "name at least one recipient"}})
    return out


def _step(document: OfficialDocument, kind: str, actor: Principal | None, now: datetime, text: str = "") -> None:
    document.steps.append(DocumentStep(at=now, kind=kind, actor_id=actor.account_id if actor else "system",
                                       actor_name=(actor.display_name or actor.username) if actor else "系统 system", text=text))


async def _save(scope: TenantScope, document: OfficialDocument) -> OfficialDocument:
    if not await scope.repo(OfficialDocument).replace_versioned(document):
        raise _changed_meanwhile()
    await _written(scope.tenant_id, document)
    return document


async def _written(tenant_id: str, document: OfficialDocument) -> None:
    """Event ``document.written`` after a document was written (drafted, issued, received, changed): the search
    plugin indexes it again (its title, body, 文号, parties). Lost in a crash right after the write: a rebuild
    (``xinfang search rebuild``) brings it back."""
    from ..events import DomainEvent, unit_of_work

    async with unit_of_work() as uow:
        uow.record(DomainEvent("document.written", tenant_id, str(document.id)))


def _day(iso: str | None) -> str:
    """A deadline as people write it (2026年12月10日), for step texts and notices."""
    return date_words(iso)["day"]


def _name(principal: Principal) -> str:
    return principal.display_name or principal.username


# -- settings ----------------------------------------------------------------------------------------


async def do_set_settings(scope: TenantScope, *, prefix, reviewer_roles, signer_roles, templates_by_kind=None) -> DocumentSettings:
    """The tenant admin's 文号 rule and approvers (and the body template of each kind, tried on sample values first)."""
    row = await settings_of(scope)
    prefix = _text(prefix, "prefix", MAX_PREFIX)
    if any(ch in prefix for ch in "〔〕[]{}<>"):
        raise InvalidInput(fields={"prefix": {"zh": "机关代字不能含括号", "en": "the prefix cannot contain brackets"}})
    for field, roles in (("reviewer_roles", reviewer_roles), ("signer_roles", signer_roles)):
        if not isinstance(roles, list) or not roles or any(r not in APPROVER_ROLES for r in roles):
            raise InvalidInput(fields={field: {"zh": "请至少选择一个角色（领导、承办人、登记员或管理员）", "en": "choose at least one role (leader, handler, registrar or admin)"}})
    cleaned = {}
    for kind, text in (templates_by_kind or {}).items():
        _kind(kind)
        text = text if isinstance(text, str) else ""
        if text.strip():
            await templates.check_template(text)
            cleaned[kind] = text
    row.prefix, row.reviewer_roles, row.signer_roles = prefix, list(dict.fromkeys(reviewer_roles)), list(dict.fromkeys(signer_roles))
    if templates_by_kind is not None:
        row.templates = cleaned
    if row.id is None:
        try:
            await scope.repo(DocumentSettings).insert(row)
        except DuplicateKeyError:
            raise _changed_meanwhile() from None
    elif not await scope.repo(DocumentSettings).replace_versioned(row):
        raise _changed_meanwhile()
    return row


# -- outgoing --------------------------------------------------------------------------------------


async def _body_html(scope: TenantScope, tenant: Tenant, document: OfficialDocument, issued_on: str) -> str:
    settings = await settings_of(scope)
    values = templates.context(tenant_name=tenant.name.zh, kind=document.kind, title=document.title, body=document.body,
                               recipients=[r.name for r in document.recipients], document_no=document.document_no or "",
                               issued_on=issued_on)
    return await templates.render_body(settings.templates.get(document.kind), values)


async def do_draft(scope: TenantScope, tenant: Tenant, principal: Principal, *, kind, title, body, recipients, links=(),
                   reply_to_id=None, now: datetime | None = None) -> OfficialDocument:
    now = now or utcnow()
    reply_to = None
    if reply_to_id:
        reply_to = await access_document(scope, reply_to_id)
        if reply_to.direction != Direction.INCOMING:
            raise InvalidInput(fields={"reply_to_id": {"zh": "只能对收文复函", "en": "only an incoming document can be answered"}})
        kind = "reply"
        if not recipients and reply_to.source_tenant_id:
            source = await get_tenant(reply_to.source_tenant_id)
            recipients = [{"kind": "tenant", "tenant": source.slug}] if source else []
        links = list(links or []) or [link.model_dump() for link in reply_to.links]
    document = OfficialDocument(
        tenant_id=scope.tenant_id, direction=Direction.OUTGOING, kind=_kind(kind), title=_text(title, "title", MAX_TITLE),
        body=_text(body, "body", MAX_BODY), state=DocumentState.DRAFT, recipients=await _recipients(tenant, recipients),
        links=await _links(scope, links), drafted_by=principal.account_id, drafted_by_name=_name(principal),
        reply_to_id=str(reply_to.id) if reply_to else None, created_at=now)
    document.body_html = await _body_html(scope, tenant, document, "")  # a template that fails, fails now, not at 签发
    _step(document, "drafted", principal, now)
    await scope.repo(OfficialDocument).insert(document)
    await _written(scope.tenant_id, document)
    return document


async def do_review(scope: TenantScope, document: OfficialDocument, principal: Principal, *, opinion="", approve=True,
                    now: datetime | None = None) -> OfficialDocument:
    """核稿: a reviewer role, never the drafter. ``approve=False`` returns it to draft with the opinion."""
    settings = await settings_of(scope)
    if document.direction != Direction.OUTGOING or document.state != DocumentState.DRAFT:
        raise Conflict({"zh": "只有草稿可以核稿", "en": "only a draft can be reviewed"})
    if not set(principal.roles) & set(settings.reviewer_roles):
        raise Forbidden({"zh": "本单位未授权您的角色核稿", "en": "your role may not review documents here"})
    if principal.account_id == document.drafted_by:
        raise Forbidden({"zh": "不能核自己起草的公文（请另一人核稿）", "en": "you drafted it: someone else must review it"})
    now = now or utcnow()
    opinion = _text(opinion, "opinion", 2000, required=not approve)
    if approve:
        document.state, document.reviewed_by, document.reviewed_by_name = DocumentState.REVIEWED, principal.account_id, _name(principal)
        _step(document, "reviewed", principal, now, opinion)
    else:
        _step(document, "returned", principal, now, opinion)
    return await _save(scope, document)


async def _claim_number(scope: TenantScope, document: OfficialDocument, year: str) -> int:
    """The document's serial in its year: its own earlier claim, else the next free one (see models.DocumentNumber)."""
    serial = await claim_serial(scope.repo(DocumentNumber), owner={"document_id": str(document.id)}, sequence={"year": year},
                                claim=lambda n: DocumentNumber(tenant_id=scope.tenant_id, year=year, serial=n, document_id=str(document.id)),
                                tries=NUMBER_TRIES)
    if serial is None:
        raise Conflict({"zh": "文号分配繁忙，请稍后再试", "en": "numbers are busy being given; try again"})
    return serial


async def do_sign(scope: TenantScope, tenant: Tenant, document: OfficialDocument, principal: Principal,
                  now: datetime | None = None) -> OfficialDocument:
    """签发: a signer role, neither the drafter nor the reviewer. The 文号, the PDF and its hash, then the sending."""
    settings = await settings_of(scope)
    if document.direction != Direction.OUTGOING or document.state != DocumentState.REVIEWED:
        raise Conflict({"zh": "核稿后才能签发" if document.state == DocumentState.DRAFT else "这份公文已签发",
                        "en": "review it before signing" if document.state == DocumentState.DRAFT else "already issued"})
    if not set(principal.roles) & set(settings.signer_roles):
        raise Forbidden({"zh": "本单位未授权您的角色签发", "en": "your role may not sign documents here"})
    if principal.account_id in (document.drafted_by, document.reviewed_by):
        raise Forbidden({"zh": "起草人和核稿人不能签发同一份公文（请另一位领导签发）", "en": "the drafter and the reviewer cannot sign it: another person must"})
    now = now or utcnow()
    issued_on = china_today(now).isoformat()
    year = issued_on[:4]
    serial = await _claim_number(scope, document, year)
    prefix = (settings.prefix or tenant.name.zh).strip()
    document.year, document.serial, document.document_no = year, serial, f"{prefix}〔{year}〕{serial}号"
    document.body_html = await _body_html(scope, tenant, document, issued_on)
    main = [r.name for r in document.recipients[:1]] or []
    pdf = await asyncio.to_thread(document_pdf, issuer=tenant.name.zh, document_no=document.document_no, title=document.title, main_recipients=main,
                       copies=[r.name for r in document.recipients[1:]], paragraphs=templates.paragraphs_of(document.body),
                       issued_on=issued_on)
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        await scope.repo(IssuedPdf).insert(IssuedPdf(tenant_id=scope.tenant_id, document_id=str(document.id), sha256=digest, data=pdf))
    except DuplicateKeyError:  # an earlier 签发 of this document stopped after its PDF: keep that one, unchanged
        digest = (await issued_pdf(scope, document)).sha256
    document.pdf_sha256, document.state = digest, DocumentState.ISSUED
    document.signed_by, document.signed_by_name, document.issued_at = principal.account_id, _name(principal), now
    _step(document, "signed", principal, now, document.document_no)
    await _save(scope, document)
    await _send(scope, tenant, document, principal, now)
    await _case_steps(scope, document, principal, now, "document_issued")
    if document.reply_to_id:
        await _answered(scope, document, principal, now)
    return document


async def _send(scope: TenantScope, tenant: Tenant, document: OfficialDocument, principal: Principal, now: datetime) -> None:
    """Each body on the platform gets its incoming row (one per document and body, whatever retries happen)."""
    for recipient in document.recipients:
        if recipient.kind != "tenant" or recipient.incoming_id:
            continue
        incoming_id = deterministic_id(str(document.id), "incoming", recipient.tenant_id)
        target = TenantScope(recipient.tenant_id)
        original = None
        if document.reply_to_id:  # a 复函 reaching the body whose document it answers: link it to that document
            answered = await scope.repo(OfficialDocument).get(document.reply_to_id)
            if answered and answered.source_tenant_id == recipient.tenant_id:
                original = answered.source_document_id
        incoming = OfficialDocument(
            id=incoming_id, tenant_id=recipient.tenant_id, direction=Direction.INCOMING, kind=document.kind, title=document.title,
            body=document.body, body_html=document.body_html, state=DocumentState.RECEIVED, document_no=document.document_no,
            year=document.year, sender_name=tenant.name.zh, source_tenant_id=scope.tenant_id, source_document_id=str(document.id),
            received_at=now, registered_by_name="系统（平台内来文） system", pdf_sha256=document.pdf_sha256,
            reply_to_id=original, created_at=now)
        _step(incoming, "received", None, now, f"{tenant.name.zh} {document.document_no}")
        try:
            await target.repo(OfficialDocument).insert(incoming)
        except DuplicateKeyError:
            pass  # delivered by an earlier try
        await _written(target.tenant_id, incoming)
        recipient.incoming_id = str(incoming_id)
        await _notify_roles(target, f"document:{incoming_id}:received", incoming,
                            {"zh": f"收到来文：{tenant.name.zh} {document.document_no}《{document.title}》，请登记分发",
                             "en": f"Incoming document from {tenant.name.en or tenant.name.zh}: {document.document_no}, to distribute"})
        if original:
            await _reply_reached(target, original, str(incoming_id), document, now)
    _step(document, "sent", principal, now, "、".join(r.name for r in document.recipients))
    await _save(scope, document)


async def _reply_reached(scope: TenantScope, original_id: str, incoming_id: str, reply: OfficialDocument, now: datetime) -> None:
    repo = scope.repo(OfficialDocument)
    for _ in range(CASE_STEP_TRIES):
        original = await repo.get(original_id)
        if original is None or incoming_id in original.reply_ids:
            return
        original.reply_ids.append(incoming_id)
        _step(original, "reply_received", None, now, reply.document_no or "")
        if await repo.replace_versioned(original):
            return


async def _answered(scope: TenantScope, reply: OfficialDocument, principal: Principal, now: datetime) -> None:
    repo = scope.repo(OfficialDocument)
    for _ in range(CASE_STEP_TRIES):
        incoming = await repo.get(reply.reply_to_id)
        if incoming is None or str(reply.id) in incoming.reply_ids:
            return
        incoming.reply_ids.append(str(reply.id))
        incoming.state = DocumentState.DONE
        _step(incoming, "answered", principal, now, reply.document_no or "")
        if await repo.replace_versioned(incoming):
            return


async def do_record_delivery(scope: TenantScope, document: OfficialDocument, principal: Principal, *, index, note="",
                             now: datetime | None = None) -> OfficialDocument:
    """A department outside, or the citizen: staff record when and how the issued document reached them."""
    if document.state != DocumentState.ISSUED:
        raise Conflict({"zh": "签发后才能登记送达", "en": "record delivery after issue"})
    if not isinstance(index, int) or not 0 <= index < len(document.recipients) or document.recipients[index].kind == "tenant":
        raise InvalidInput(fields={"index": {"zh": "请选择要登记送达的外部收件方", "en": "choose a recipient outside the platform"}})
    now = now or utcnow()
    recipient = document.recipients[index]
    if recipient.delivered_at:
        raise Conflict({"zh": "已登记送达", "en": "delivery already recorded"})
    recipient.delivered_at, recipient.delivered_by_name, recipient.delivery_note = now, _name(principal), _text(note, "note", 500, required=False)
    _step(document, "delivered", principal, now, f"{recipient.name} {recipient.delivery_note}".strip())
    return await _save(scope, document)


# -- incoming --------------------------------------------------------------------------------------


async def do_register(scope: TenantScope, principal: Principal, *, kind, title, body, sender_name, document_no="", links=(),
                      scan=None, now: datetime | None = None) -> OfficialDocument:
    """A paper document registered by a registrar, with its scan (``scan``: filename, content_type, data) if any."""
    now = now or utcnow()
    document = OfficialDocument(
        tenant_id=scope.tenant_id, direction=Direction.INCOMING, kind=_kind(kind), title=_text(title, "title", MAX_TITLE),
        body=_text(body, "body", MAX_BODY, required=False), state=DocumentState.RECEIVED,
        document_no=_text(document_no, "document_no", 60, required=False) or None, sender_name=_text(sender_name, "sender_name", 100),
        links=await _links(scope, links), received_at=now, registered_by_name=_name(principal), created_at=now)
    document.id = ObjectId()
    if scan is not None:
        filename, content_type, data = scan
        if content_type not in SCAN_TYPES or not data or len(data) > MAX_SCAN_BYTES:
            raise InvalidInput(fields={"scan": {"zh": "扫描件应为 PDF、JPEG 或 PNG，不超过 10 MB", "en": "a scan is a PDF, JPEG or PNG of at most 10 MB"}})
        row = DocumentScan(tenant_id=scope.tenant_id, document_id=str(document.id), filename=(filename or "scan")[:200],
                           content_type=content_type, sha256=hashlib.sha256(data).hexdigest(), data=data)
        await scope.repo(DocumentScan).insert(row)
        document.scan_id = str(row.id)
    _step(document, "registered", principal, now, document.sender_name)
    await scope.repo(OfficialDocument).insert(document)
    await _written(scope.tenant_id, document)
    await _case_steps(scope, document, principal, now, "document_received")
    return document


async def do_distribute(scope: TenantScope, document: OfficialDocument, principal: Principal, *, entries,
                        now: datetime | None = None) -> OfficialDocument:
    """Hand an incoming document to people: ``entries`` [{account_id, purpose: read|act, due_working_days | due_on}]."""
    if document.direction != Direction.INCOMING or document.state == DocumentState.DONE:
        raise Conflict({"zh": "只有办理中的收文可以分发", "en": "only an incoming document in hand can be distributed"})
    now = now or utcnow()
    today = china_today(now)
    calendar = await tenant_calendar(scope)
    added = []
    for entry in list(entries or [])[:50]:
        if not isinstance(entry, dict) or entry.get("purpose") not in ("read", "act"):
            raise InvalidInput(fields={"entries": {"zh": "请选择传阅或承办", "en": "choose read or act"}})
        account = await scope.repo(StaffAccount).get(entry.get("account_id")) if isinstance(entry.get("account_id"), str) else None
        if account is None or not account.active:
            raise InvalidInput(fields={"entries": {"zh": "分发对象须是本单位在职人员", "en": "people must be active staff of this body"}})
        due = None
        if entry["purpose"] == "act":
            days = entry.get("due_working_days")
            if isinstance(days, int) and 1 <= days <= MAX_WORKING_DAYS:
                due = calendar.add_working_days(today, days).isoformat()
            elif isinstance(entry.get("due_on"), str) and entry["due_on"]:
                from datetime import date

                try:
                    day = date.fromisoformat(entry["due_on"])
                except ValueError:
                    day = None
                if day is None or day < today or not calendar.is_working_day(day):
                    raise InvalidInput(fields={"due_on": {"zh": "期限应为今天以后的工作日（YYYY-MM-DD）", "en": "the deadline is a working day from today on (YYYY-MM-DD)"}})
                due = day.isoformat()
            else:
                raise InvalidInput(fields={"due_working_days": {"zh": f"承办须有期限（1 到 {MAX_WORKING_DAYS} 个工作日）", "en": f"acting needs a deadline (1 to {MAX_WORKING_DAYS} working days)"}})
        document.distribution = [d for d in document.distribution if d.account_id != str(account.id)]
        item = Distribution(account_id=str(account.id), name=account.display_name, purpose=entry["purpose"], due_on=due)
        document.distribution.append(item)
        added.append(item)
    if not added:
        raise InvalidInput(fields={"entries": {"zh": "请至少分发给一人", "en": "give it to at least one person"}})
    document.state = DocumentState.DISTRIBUTED
    _step(document, "distributed", principal, now, "；".join(f"{d.name}（{'承办，期限 ' + _day(d.due_on) if d.purpose == 'act' else '传阅'}）" for d in added))
    await _save(scope, document)
    for item in added:
        text = ({"zh": f"请承办来文《{document.title}》（{document.document_no or document.sender_name}），期限 {_day(item.due_on)}",
                 "en": f"Act on the incoming document “{document.title}” by {item.due_on}"} if item.purpose == "act" else
                {"zh": f"请阅来文《{document.title}》（{document.document_no or document.sender_name}）",
                 "en": f"Please read the incoming document “{document.title}”"})
        await _notify_account(scope, f"document:{document.id}:{len(document.steps)}:{item.account_id}", document, item.account_id, text)
    return document


def _mine(document: OfficialDocument, principal: Principal) -> Distribution:
    for item in document.distribution:
        if item.account_id == principal.account_id:
            return item
    raise Forbidden({"zh": "这份收文没有分发给您", "en": "this document was not given to you"})


async def do_mark_read(scope: TenantScope, document: OfficialDocument, principal: Principal, now: datetime | None = None) -> OfficialDocument:
    item, now = _mine(document, principal), now or utcnow()
    if item.read_at is None:
        item.read_at = now
        _step(document, "read", principal, now)
        await _save(scope, document)
    return document


async def do_mark_acted(scope: TenantScope, document: OfficialDocument, principal: Principal, *, note,
                        now: datetime | None = None) -> OfficialDocument:
    item, now = _mine(document, principal), now or utcnow()
    if item.purpose != "act":
        raise Conflict({"zh": "这份收文交您传阅，不需承办", "en": "it was given to you to read, not to act on"})
    if item.done_at:
        raise Conflict({"zh": "已报承办完毕", "en": "already reported done"})
    item.done_at, item.done_note, item.read_at = now, _text(note, "note", 2000), item.read_at or now
    _step(document, "acted", principal, now, item.done_note)
    if all(d.done_at for d in document.distribution if d.purpose == "act"):
        document.state = DocumentState.DONE
    return await _save(scope, document)


# -- timeline, notices, reminders ------------------------------------------------------------------


async def _case_steps(scope: TenantScope, document: OfficialDocument, principal: Principal, now: datetime, action: str) -> None:
    """A step on each linked case's own timeline (staff only): read, append, versioned write, a few tries."""
    words = f"{KIND_NAMES[document.kind]['zh']}《{document.title}》{document.document_no or ''}"
    repo = scope.repo(Petition)
    for link in document.links:
        if link.kind != "petition":
            continue
        step = Step(at=now, tenant_id=scope.tenant_id, actor=principal.account_id, actor_name=_name(principal), action=action,
                    public=False, fields={"document": words})
        for _ in range(CASE_STEP_TRIES):
            petition = await repo.get(link.id)
            if petition is None:
                break
            petition.steps.append(step)
            if await repo.replace_versioned(petition):
                break
        else:
            log.warning("document %s: case %s kept changing; its timeline misses %s", document.id, link.id, action)


async def _link_of(tenant_id: str, document: OfficialDocument) -> str | None:
    tenant = await get_tenant(tenant_id)
    return f"/t/{tenant.slug}/staff/documents/{document.id}" if tenant else None


async def _notify_roles(scope: TenantScope, key: str, document: OfficialDocument, text: dict) -> None:
    from ..notifications.service import do_notify

    await do_notify(scope, key, kind="document", roles=[Role.REGISTRAR.value, Role.LEADER.value], text=text,
                    link=await _link_of(scope.tenant_id, document), subject_id=str(document.id))


async def _notify_account(scope: TenantScope, key: str, document: OfficialDocument, account_id: str, text: dict) -> None:
    from ..notifications.service import do_notify

    await do_notify(scope, key, kind="document", roles=[], account_id=account_id, text=text,
                    link=await _link_of(scope.tenant_id, document), subject_id=str(document.id))


async def remind_due(now: datetime | None = None) -> int:
    """The beat: people to act on an incoming document due within one working day (or overdue) hear of it once a day."""
    now = now or utcnow()
    today = china_today(now)
    sent = 0
    async for raw in OfficialDocument.get_pymongo_collection().find({"state": DocumentState.DISTRIBUTED.value}).limit(2000):
        document = parse_obj(OfficialDocument, raw)
        scope = TenantScope(document.tenant_id)
        calendar = await tenant_calendar(scope)
        horizon = calendar.add_working_days(today, 1).isoformat()
        due_items = [d for d in document.distribution if d.purpose == "act" and not d.done_at and d.due_on and d.due_on <= horizon
                     and d.reminded_on != today.isoformat()]
        if not due_items:
            continue
        for item in due_items:
            item.reminded_on = today.isoformat()
        if not await scope.repo(OfficialDocument).replace_versioned(document):
            continue
        for item in due_items:
            late = item.due_on < today.isoformat()
            text = {"zh": f"{'已逾期' if late else '即将到期'}：来文《{document.title}》承办期限 {_day(item.due_on)}",
                    "en": f"{'Overdue' if late else 'Due soon'}: act on “{document.title}” by {item.due_on}"}
            await _notify_account(scope, f"document:{document.id}:remind:{today.isoformat()}:{item.account_id}", document, item.account_id, text)
            sent += 1
    return sent
