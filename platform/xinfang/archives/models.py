"""Officials, their archive entries, tenant-defined archive document types, and promotion reviews."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument, TenantDocument, UtcDateTime
from ..tenancy.models import LocalizedName


class Official(TenantDocument):
    """A cadre as one tenant knows them. The identity number is never stored, only its keyed hash."""

    name: str = Field(min_length=1, max_length=100)
    name_key: str  # NFKC, whitespace-free, lower-case: names compare equal however they were typed
    position: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    rank_level: str | None = Field(default=None, max_length=50)  # 科级, 处级, ...
    id_hash: str | None = None  # HMAC-SHA256 of the normalised identity number (KeyRing.identity_hash)
    # Who this official is across tenants: "id:<id_hash>" when the number is known, otherwise
    # "official:<own id>"; a superuser's audited manual link sets it to another official's key.
    person_key: str
    linked_by_hand: bool = False
    revision: int = 0

    class Settings:
        name = "officials"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("name_key", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("id_hash", ASCENDING)]),
            IndexModel([("person_key", ASCENDING)]),
            IndexModel([("name_key", ASCENDING)]),
        ]

    def public_view(self) -> dict:
        return {"id": str(self.id), "name": self.name, "position": self.position, "unit": self.unit, "rank_level": self.rank_level,
                "has_id_number": self.id_hash is not None, "linked_by_hand": self.linked_by_hand}


class EntryKind(StrEnum):
    PETITION = "petition"  # a report about the official
    CARD = "card"
    ACTION = "action"
    DOCUMENT = "document"  # a tenant-defined archive document (民主评廉, declarations, conclusions)


class ArchiveEntry(TenantDocument):
    """One fact in an official's archive, kept up to date from the events of what it stands for.

    Petitioners' identities never enter an entry: only the petition's public title and state.
    """

    official_id: IdRef
    person_key: str  # copied from the official, so one indexed query finds a person across tenants
    kind: EntryKind
    source_id: str  # the petition, supervision or document this entry stands for
    type_key: str | None = None  # card / action / document type
    type_name: LocalizedName | None = None
    colour: str | None = None
    on: str  # ISO date the fact happened (received, issued, dated)
    title: str = ""
    status: str = ""
    result: str | None = None  # outcome, treated-as, transfer to investigation, ...
    data: dict = Field(default_factory=dict)  # a document's answers (validated by its type's schema)
    added_by: str | None = None

    class Settings:
        name = "archive_entries"
        indexes = [
            IndexModel([("person_key", ASCENDING), ("on", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("official_id", ASCENDING), ("on", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("source_id", ASCENDING)]),
        ]


class ArchiveDocumentType(TenantDocument):
    """A kind of archive document a tenant keeps, defined by its admins as a JSON Schema."""

    key: str
    name: LocalizedName
    json_schema: dict
    schema_digest: str

    class Settings:
        name = "archive_document_types"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True)]


class ReviewState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVE = "active"
    REJECTED = "rejected"
    CLOSED = "closed"


class PromotionReview(PlatformDocument):
    """A purpose-bound, time-boxed grant to read one person's integrity archive across all tenants."""

    person_key: str
    official_name: str
    purpose: Literal["promotion", "transfer"]
    reference_no: str = Field(min_length=1, max_length=100)
    justification: str = Field(min_length=1, max_length=2000)
    covers: str = "integrity_archive"  # what the grant names: the consolidated integrity opinion of this person
    requested_by: IdRef
    requested_by_name: str
    approved_by: IdRef | None = None
    approved_by_name: str | None = None
    state: ReviewState
    granted_at: UtcDateTime | None = None
    expires_at: UtcDateTime | None = None
    revision: int = 0

    class Settings:
        name = "promotion_reviews"
        indexes = [IndexModel([("person_key", ASCENDING)]), IndexModel([("created_at", DESCENDING)])]
