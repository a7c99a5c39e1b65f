"""The form builder's server-side draft: one per (tenant, what, key), so nothing is lost between clicks or a reload.

A draft holds the whole JSON Schema being built (what ``Form.to_schema`` wrote after the last step), the
example answer the admin typed into the preview, and what it started from. Publishing (a form) or saving
(an archive document type) deletes it; until then the published form is untouched.
"""

from __future__ import annotations

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..store.documents import UtcDateTime, TenantDocument, utcnow


class FormDraft(TenantDocument):
    area: str  # "form" (a petition form) or "archive_type" (an archive document type)
    key: str
    json_schema: dict
    name: dict | None = None  # archive document types: {"zh", "en"}
    base_version: int | None = None  # the published form version the draft started from (None: a new form)
    base_digest: str | None = None  # the schema digest it started from
    previous_schema: dict | None = None  # the schema before the last step ("撤销上一步" swaps them back)
    example: dict = Field(default_factory=dict)  # the example answer typed into the preview
    anonymous: bool = False  # the example is filed anonymously
    updated_by: str | None = None
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "form_drafts"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("area", ASCENDING), ("key", ASCENDING)], unique=True)]
