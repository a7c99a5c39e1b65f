"""Tenant forms: immutable versions of a JSON Schema, one series per form key."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument


class FormVersion(TenantDocument):
    """One version of one tenant form. Never changed after it is written: submissions point at it."""

    key: str  # e.g. "petition", "report", "suggestion"
    version: int
    kind: str  # petition | report | suggestion
    json_schema: dict
    digest: str  # SHA-256 of the canonical JSON of the schema
    based_on: str | None = None  # template key@version it adopted or extended
    created_by: IdRef | None = None

    class Settings:
        name = "form_versions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING), ("version", DESCENDING)], unique=True),
        ]

    def title(self) -> dict:
        return {"zh": self.json_schema.get("title", self.key), "en": self.json_schema.get("x-en", {}).get("title", self.key)}

    def summary(self) -> dict:
        return {"key": self.key, "version": self.version, "kind": self.kind, "title": self.title(),
                "digest": self.digest, "based_on": self.based_on, "created_at": self.created_at.isoformat()}
