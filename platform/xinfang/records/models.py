"""What the archive (归档) stores: each tenant's archive number rule and retention classes, the numbers given, and the
archived records themselves.

A record is written once and never rewritten except to set its number right after it was claimed: its snapshot is
canonical JSON text (``snapshot_json``, hashed in ``snapshot_sha256``), so the live case changing afterwards changes
nothing here, and the embedded store cannot turn a nested datetime into a string on the way.
Written only by ``service.py`` (records) and ``rules.py`` (the rule).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow

SUBJECT_KINDS = ("petition", "supervision")
SUBJECT_NAMES = {"petition": {"zh": "信访件", "en": "Case"}, "supervision": {"zh": "监督卡/监督措施", "en": "Card or action"}}


class ArchiveRule(TenantDocument):
    """A tenant's archive number rule (prefix-year-category-sequence) and retention class per record kind.
    Missing: the defaults of rules.py."""

    prefix: str = ""
    separator: str = "-"
    category_codes: dict[str, str] = Field(default_factory=dict)  # subject kind -> the tenant's own category mark
    width: int = 4  # the sequence, zero-padded
    retention_years: dict[str, int | None] = Field(default_factory=dict)  # subject kind -> years; None: permanent
    changed_by_name: str = ""

    class Settings:
        name = "archive_rules"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class ArchiveNumber(TenantDocument):
    """One archive number claimed: (tenant, year, category, serial) unique, and one per record. Claim-then-confirm:
    archiving inserts the next serial naming the record (a duplicate key: someone else took it, try the next), then
    writes the number on the record; a crash in between leaves the claim naming the record, and archiving that case
    again takes the same number back, so numbers are never skipped."""

    year: str
    category: str
    serial: int
    record_id: IdRef

    class Settings:
        name = "archive_numbers"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("year", ASCENDING), ("category", ASCENDING), ("serial", DESCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("record_id", ASCENDING)], unique=True),
        ]


class FrozenFile(BaseModel):
    """An attachment (or an issued document's PDF) as it was when archived: where its bytes are, and their hash."""

    source: str  # attachment | document_pdf (an issued document) | document_scan (a paper document's scan)
    source_id: IdRef
    filename: str
    content_type: str
    size: int
    sha256: str


class ArchivedRecord(TenantDocument):
    subject_kind: str  # petition | supervision
    subject_id: IdRef
    subject_label: str  # "case number · title" or "card: subject", as it read when archived
    title: str
    number: str | None = None  # 归档号, set once right after it is claimed
    year: str  # the year of archiving (tenant's zone): the number's year, the list's filter
    serial: int | None = None
    closed_on: str  # the day (tenant's zone) the case reached its final state
    archived_at: UtcDateTime = Field(default_factory=utcnow)
    archived_by: IdRef
    archived_by_name: str
    retention_years: int | None = None  # None: permanent (永久)
    retention_ends_on: str | None = None  # ISO day; None: permanent
    snapshot_json: str  # canonical JSON of everything frozen (service.snapshot_of)
    snapshot_sha256: str
    files: list[FrozenFile] = Field(default_factory=list)
    search_text: str = ""  # number, case number, title: what the list's search box matches

    class Settings:
        name = "archived_records"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("subject_kind", ASCENDING), ("subject_id", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("year", ASCENDING), ("number", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("retention_ends_on", ASCENDING)]),
        ]
