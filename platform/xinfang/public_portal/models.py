"""What the integrity portal stores: publications (drafted, approved by a second person, public, withdrawn),
citizens' suggestions, and the theme's logo image."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow

# What a publication is; the public page each kind appears on (pages.py) follows this order.
KINDS = ("notice", "case", "policy", "suggestion")
KIND_WORDS = {
    "notice": {"zh": "通知公告", "en": "Announcements"},
    "case": {"zh": "曝光台", "en": "Cases made public"},
    "policy": {"zh": "政策法规", "en": "Policies and regulations"},
    "suggestion": {"zh": "人民建议征集", "en": "Public suggestions"},
}
ONE_KIND_WORDS = {
    "notice": {"zh": "通知公告", "en": "announcement"},
    "case": {"zh": "典型案例", "en": "typical case"},
    "policy": {"zh": "政策法规", "en": "policy or regulation"},
    "suggestion": {"zh": "建议与答复", "en": "suggestion and reply"},
}

# draft -> pending (sent for approval) -> published -> unpublished; a pending one returned goes back to draft.
STATES = ("draft", "pending", "published", "unpublished")
STATE_WORDS = {
    "draft": {"zh": "草稿", "en": "Draft"},
    "pending": {"zh": "待审核", "en": "Awaiting approval"},
    "published": {"zh": "已发布", "en": "Public"},
    "unpublished": {"zh": "已撤下", "en": "Withdrawn"},
}


class Step(BaseModel):
    """One thing done to a publication: who, when, what (shown on its console page)."""

    action: str  # created, edited, submitted, approved, returned, unpublished
    by_id: str
    by_name: str
    at: UtcDateTime = Field(default_factory=utcnow)
    note: str = ""


class Publication(TenantDocument):
    kind: str
    title: str
    body: str = ""  # what staff typed, never HTML: plain paragraphs or Markdown, as ``format`` says (richtext.py)
    format: str = "plain"  # "plain" (each line a paragraph; every item written before formatting) or "markdown"
    source: str = ""  # a policy's issuing body and document number; a case's unit
    reply: str = ""  # a suggestion's published reply
    suggestion_id: IdRef | None = None
    state: str = "draft"
    author_id: str
    author_name: str = ""
    submitted_by_id: str | None = None
    approved_by_id: str | None = None
    approved_by_name: str = ""
    published_at: UtcDateTime | None = None
    updated_at: UtcDateTime = Field(default_factory=utcnow)
    steps: list[Step] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)  # search terms of title, source and body (text.search_terms)
    revision: int = 0  # two people acting at once: the second gets a 409, never a write over the first

    class Settings:
        name = "portal_publications"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("kind", ASCENDING), ("state", ASCENDING), ("published_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("updated_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("terms", ASCENDING)]),
        ]


class PortalFile(TenantDocument):
    """A PDF or image attached to a publication (recognised by its bytes), public only while the publication is."""

    publication_id: IdRef
    filename: str
    description: str  # what it is, in words: the link's text and an image's alternative text
    content_type: str
    size: int
    digest: str  # SHA-256 of the bytes
    data: bytes
    added_by_id: str
    added_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "portal_files"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("publication_id", ASCENDING), ("added_at", ASCENDING)])]


class Suggestion(TenantDocument):
    """A citizen's suggestion (人民建议). Private until staff publish a copy of it with a reply (a Publication)."""

    title: str
    text: str
    name: str = ""  # optional, never shown in public
    contact: str = ""  # optional, never shown in public
    publication_id: IdRef | None = None

    class Settings:
        name = "portal_suggestions"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)])]


class PortalLogo(TenantDocument):
    """An uploaded logo, named by the SHA-256 of its bytes (the theme refers to it by that digest)."""

    digest: str
    content_type: str
    data: bytes
    width: int = 0
    height: int = 0

    class Settings:
        name = "portal_logos"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("digest", ASCENDING)], unique=True)]

