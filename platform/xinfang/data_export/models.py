"""Export documents: one requested export, and its ZIP kept in chunks (a document holds at most 16 MB)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


EXPORT_STATE_WORDS = {
    ExportState.QUEUED: {"zh": "排队中", "en": "queued"},
    ExportState.RUNNING: {"zh": "生成中", "en": "being made"},
    ExportState.DONE: {"zh": "可下载", "en": "ready"},
    ExportState.FAILED: {"zh": "失败（可重新生成）", "en": "failed (make it again)"},
}


class DataExport(TenantDocument):
    state: ExportState = ExportState.QUEUED
    with_identity: bool = False  # petitioners' identity opened into the file (needs tenant.data_export.identity)
    requested_by: IdRef
    requested_by_name: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    size: int = 0
    sha256: str | None = None  # of the whole ZIP
    filename: str = ""
    chunks: int = 0
    message: dict | None = None
    finished_at: UtcDateTime | None = None
    seconds: float | None = None
    resent: bool = False  # its message was sent again by the sweep (service.lost_exports)

    class Settings:
        name = "data_exports"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)])]


class ExportChunk(TenantDocument):
    export_id: IdRef
    n: int
    data: bytes

    class Settings:
        name = "data_export_chunks"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("export_id", ASCENDING), ("n", ASCENDING)], unique=True)]
