"""Official documents (公文): outgoing (发文) and incoming (收文), one collection, one row per document per body.

An outgoing document is drafted from the tenant's template (``DocumentSettings.templates``), reviewed (核稿),
signed for issue (签发, which gives it its 文号 and freezes its PDF with the PDF's SHA-256), then sent. Sending to
another tenant on the platform creates that tenant's incoming row (``source_*`` fields point back); a department
outside gets a delivery to record; the citizen gets the printable PDF.

An incoming document is registered (automatically from another tenant, or from paper by a registrar with a scan),
distributed to people to read (传阅) or act (承办) by a working-day deadline, and answered by a 复函 (an outgoing
document whose ``reply_to_id`` is the incoming one; when it reaches the original sender it is linked to the
sender's document as ``replies``).

STABLE for other areas (records/ links archived records to documents): the fields ``direction``, ``kind``,
``title``, ``document_no``, ``state``, ``links``, ``pdf_sha256``, ``issued_at``, ``received_at`` and the reader
``service.documents_of(scope, subject_kind, subject_id)``. Written only by ``service.py``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow


class Direction(StrEnum):
    OUTGOING = "outgoing"  # 发文
    INCOMING = "incoming"  # 收文


DIRECTION_NAMES = {"outgoing": {"zh": "发文", "en": "Outgoing"}, "incoming": {"zh": "收文", "en": "Incoming"}}

KIND_NAMES = {
    "supervision_letter": {"zh": "督办函", "en": "Supervision letter"},
    "assignment_letter": {"zh": "交办函", "en": "Assignment letter"},
    "acceptance_notice": {"zh": "受理告知书", "en": "Notice of acceptance"},
    "rectification_notice": {"zh": "整改通知书", "en": "Rectification notice"},
    "reply": {"zh": "复函", "en": "Reply"},
    "other": {"zh": "其他公文", "en": "Other document"},
}
DocumentKind = Literal["supervision_letter", "assignment_letter", "acceptance_notice", "rectification_notice", "reply", "other"]


class DocumentState(StrEnum):
    DRAFT = "draft"  # outgoing: being written
    REVIEWED = "reviewed"  # outgoing: 核稿 done, awaiting 签发
    ISSUED = "issued"  # outgoing: 签发 done, numbered, PDF frozen, sent
    RECEIVED = "received"  # incoming: registered, not yet distributed
    DISTRIBUTED = "distributed"  # incoming: handed to people to read or act
    DONE = "done"  # incoming: everyone named to act has acted (or it was answered)


STATE_NAMES = {
    "draft": {"zh": "草稿（待核稿）", "en": "Draft (to review)"},
    "reviewed": {"zh": "已核稿（待签发）", "en": "Reviewed (to sign)"},
    "issued": {"zh": "已签发", "en": "Issued"},
    "received": {"zh": "已登记（待分发）", "en": "Registered (to distribute)"},
    "distributed": {"zh": "办理中", "en": "In hand"},
    "done": {"zh": "已办结", "en": "Done"},
}

SubjectKind = Literal["petition", "supervision", "archive_entry"]
SUBJECT_NAMES = {"petition": {"zh": "信访件", "en": "Case"}, "supervision": {"zh": "监督卡/措施", "en": "Card or action"},
                 "archive_entry": {"zh": "廉政档案", "en": "Archive entry"}}


class Link(BaseModel):
    """What the document concerns: a case, a card or action, an archive entry (of the body holding the row)."""

    kind: SubjectKind
    id: IdRef
    label: str = ""


def link_key(kind: str, subject_id: str) -> str:
    """How ``OfficialDocument.link_keys`` names one link (documents_of looks documents up by it)."""
    return f"{kind}:{subject_id}"


class Recipient(BaseModel):
    """One addressee (主送/抄送) of an outgoing document."""

    kind: Literal["tenant", "department", "citizen"]
    name: str
    tenant_id: IdRef | None = None  # kind == tenant: the receiving body
    incoming_id: IdRef | None = None  # kind == tenant: the row it created there
    delivered_at: UtcDateTime | None = None  # department / citizen: when staff recorded the delivery
    delivered_by_name: str = ""
    delivery_note: str = ""


class Distribution(BaseModel):
    """An incoming document handed to one person: to read (传阅) or to act (承办) by a working day."""

    account_id: IdRef
    name: str
    purpose: Literal["read", "act"]
    due_on: str | None = None  # ISO date on the tenant's working calendar (act only)
    read_at: UtcDateTime | None = None
    done_at: UtcDateTime | None = None
    done_note: str = ""
    reminded_on: str | None = None  # the last day a reminder went out (the sweep reminds once a day at most)


PURPOSE_NAMES = {"read": {"zh": "传阅", "en": "To read"}, "act": {"zh": "承办", "en": "To act"}}

StepKind = Literal["drafted", "edited", "reviewed", "returned", "signed", "sent", "delivered", "received", "registered",
                   "distributed", "read", "acted", "answered", "reply_received"]

STEP_NAMES = {
    "drafted": {"zh": "起草", "en": "Drafted"}, "edited": {"zh": "修改", "en": "Edited"},
    "reviewed": {"zh": "核稿", "en": "Reviewed"}, "returned": {"zh": "退回修改", "en": "Returned"},
    "signed": {"zh": "签发", "en": "Signed and issued"}, "sent": {"zh": "发送", "en": "Sent"},
    "delivered": {"zh": "登记送达", "en": "Delivery recorded"}, "received": {"zh": "收到来文", "en": "Received"},
    "registered": {"zh": "登记收文", "en": "Registered"}, "distributed": {"zh": "分发", "en": "Distributed"},
    "read": {"zh": "已阅", "en": "Read"}, "acted": {"zh": "承办完毕", "en": "Acted on"},
    "answered": {"zh": "复函", "en": "Answered"}, "reply_received": {"zh": "收到复函", "en": "Reply received"},
}


class DocumentStep(BaseModel):
    at: UtcDateTime = Field(default_factory=utcnow)
    kind: StepKind
    actor_id: str  # a staff account id, or "system"
    actor_name: str
    text: str = ""


class OfficialDocument(TenantDocument):
    direction: Direction
    kind: DocumentKind
    title: str
    body: str  # the text as written (outgoing) or as registered (incoming): what search indexes
    body_html: str = ""  # outgoing: the tenant template's rendering, through the official-document allow-list
    state: DocumentState
    document_no: str | None = None  # 文号: outgoing from 签发; incoming: the sender's number
    year: str | None = None
    serial: int | None = None
    links: list[Link] = Field(default_factory=list)
    # "kind:id" of each link, kept from ``links``: the embedded store answers a dotted path into an array of
    # sub-documents (``links.id``) with nothing, an ``$in`` on a flat array of strings rightly on both stores
    link_keys: list[str] = Field(default_factory=list)
    # outgoing
    drafted_by: IdRef | None = None
    drafted_by_name: str = ""
    reviewed_by: IdRef | None = None
    reviewed_by_name: str = ""
    signed_by: IdRef | None = None
    signed_by_name: str = ""
    issued_at: UtcDateTime | None = None
    recipients: list[Recipient] = Field(default_factory=list)
    reply_to_id: IdRef | None = None  # a 复函: the incoming row it answers (same body)
    pdf_sha256: str | None = None  # of the issued PDF (IssuedPdf), unchanged from 签发 on
    # incoming
    sender_name: str = ""
    source_tenant_id: IdRef | None = None  # from another tenant: the issuing body and its outgoing row
    source_document_id: IdRef | None = None
    received_at: UtcDateTime | None = None
    registered_by_name: str = ""
    scan_id: IdRef | None = None  # from paper: the scan in the attachment store (DocumentScan)
    distribution: list[Distribution] = Field(default_factory=list)
    reply_ids: list[IdRef] = Field(default_factory=list)  # incoming: the 复函 written here; outgoing: replies received
    steps: list[DocumentStep] = Field(default_factory=list)
    revision: int = 0

    @model_validator(mode="after")
    def _keep_link_keys(self):
        self.link_keys = [link_key(link.kind, link.id) for link in self.links]
        return self

    class Settings:
        name = "official_documents"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("direction", ASCENDING), ("state", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("link_keys", ASCENDING)]),  # documents_of
            IndexModel([("tenant_id", ASCENDING), ("distribution.account_id", ASCENDING), ("state", ASCENDING)]),  # my to-do
            IndexModel([("state", ASCENDING), ("distribution.due_on", ASCENDING)]),  # the reminder sweep, across tenants
        ]


class DocumentNumber(TenantDocument):
    """One 文号 given: (tenant, year, serial) unique, and one per document. Claim-then-confirm: 签发 inserts the next
    serial naming the document (a duplicate key means someone else took it: try the next), then writes it on the
    document. A crash in between leaves the claim pointing at the document, and the next 签发 of that document
    takes the same number back: numbers are never skipped."""

    year: str
    serial: int
    document_id: IdRef

    class Settings:
        name = "official_document_numbers"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("year", ASCENDING), ("serial", DESCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("document_id", ASCENDING)], unique=True),
        ]


class IssuedPdf(TenantDocument):
    """The issued PDF as it went out, byte for byte; never rewritten."""

    document_id: IdRef
    sha256: str
    data: bytes

    class Settings:
        name = "official_document_pdfs"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("document_id", ASCENDING)], unique=True)]


class DocumentScan(TenantDocument):
    """A paper document's scan, registered with an incoming row."""

    document_id: IdRef | None = None
    filename: str
    content_type: str
    sha256: str
    data: bytes

    class Settings:
        name = "official_document_scans"


class DocumentSettings(TenantDocument):
    """A tenant's 文号 rule and approvers, set by its admin (one row per tenant).

    文号 = ``prefix`` + 〔year〕 + serial + 号, e.g. 泗纪信〔2026〕18号; the serial restarts each year.
    ``reviewer_roles`` may 核稿 and ``signer_roles`` may 签发 (never the drafter; never the reviewer for 签发).
    ``templates``: kind -> a tenant-written body template (sandboxed Jinja, see templates.py); empty: the default."""

    prefix: str = ""
    reviewer_roles: list[str] = Field(default_factory=lambda: ["leader"])
    signer_roles: list[str] = Field(default_factory=lambda: ["leader"])
    templates: dict[str, str] = Field(default_factory=dict)
    revision: int = 0

    class Settings:
        name = "official_document_settings"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
