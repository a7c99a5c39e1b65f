"""Import documents: a named source's saved column mapping, one upload and its runs, and the ledger of imported rows."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument, UtcDateTime, utcnow


class ImportSource(TenantDocument):
    """A legacy system files come from (旧登记簿, 留言板导出): its form and which column feeds which field.

    ``mapping``: column heading -> target (a form field's dotted path, or one of ``mapping.SPECIAL`` such as
    ``_source_id``); a heading not in it is not imported. Reused for the next file with the same headings."""

    name: str = Field(min_length=1, max_length=60)
    form_key: str
    mapping: dict[str, str] = Field(default_factory=dict)
    default_channel: str = "letter"  # for rows without a channel column (a message board's export: online)
    updated_by: str = ""
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "import_sources"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("name", ASCENDING)], unique=True)]


class RunState(StrEnum):
    UPLOADED = "uploaded"  # read, waiting for its mapping
    CHECKING = "checking"  # the dry run is under way
    CHECKED = "checked"  # the dry run is done: its errors are listed
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"  # the task stopped (the message says why); running it again resumes


RUN_STATE_WORDS = {
    RunState.UPLOADED: {"zh": "待设置列对应", "en": "waiting for the column mapping"},
    RunState.CHECKING: {"zh": "试运行中", "en": "dry run under way"},
    RunState.CHECKED: {"zh": "试运行完成", "en": "dry run done"},
    RunState.IMPORTING: {"zh": "导入中", "en": "importing"},
    RunState.IMPORTED: {"zh": "已导入", "en": "imported"},
    RunState.FAILED: {"zh": "中断（可重新运行）", "en": "stopped (run it again)"},
}


class RowError(BaseModel):
    row: int  # the row number as the spreadsheet shows it (the heading is row 1)
    column: str  # the file's column heading ("" for the row as a whole)
    zh: str
    en: str


class RowChange(BaseModel):
    row: int
    source_id: str
    fields_zh: str  # 标题、反映内容、办理状态
    fields_en: str
    petition_number: str = ""


class ImportRun(TenantDocument):
    """One uploaded file, its mapping and the outcome of its dry run and real run. The file is kept (bytes, capped)
    so the runs read exactly what was uploaded; a run started again reads it again and skips what is imported."""

    source: str  # ImportSource.name
    form_key: str
    filename: str
    sha256: str
    size: int
    data: bytes
    headers: list[str] = Field(default_factory=list)
    total_rows: int = 0
    mapping: dict[str, str] = Field(default_factory=dict)
    default_channel: str = "letter"
    state: RunState = RunState.UPLOADED
    processed: int = 0  # rows done in the current run (the progress bar)
    valid: int = 0  # rows that pass (dry run) or were imported / already there (real run)
    imported: int = 0  # petitions this run stored
    already: int = 0  # rows whose source id was imported before, unchanged (skipped)
    changed: int = 0  # rows imported before whose content changed in the file: to update (dry run) / updated (real run)
    invalid: int = 0  # rows with errors (never imported)
    errors: list[RowError] = Field(default_factory=list)  # capped at MAX_LISTED_ERRORS
    changes: list[RowChange] = Field(default_factory=list)  # the rows 将更新 / 已更新 and their changed fields (capped too)
    errors_cut: bool = False
    message: dict | None = None  # {"zh", "en"} when the task stopped
    started_by: IdRef | None = None
    started_by_name: str = ""
    run_started_at: UtcDateTime | None = None
    run_finished_at: UtcDateTime | None = None
    rows_per_second: float | None = None
    progress_at: UtcDateTime | None = None  # the task's last word: a run silent for long is sent again (plugin sweep)
    claimed_by: str | None = None  # the execution that took this run (a message sent again finds it taken)
    revision: int = 0

    class Settings:
        name = "import_runs"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)])]


class ImportedRow(TenantDocument):
    """The ledger: this source's row with this id became this petition. ``_id`` is derived from (tenant, source,
    source id) like the petition's own id, and the unique index says the same: a row is imported once."""

    source: str
    source_id: str
    petition_id: IdRef
    run_id: IdRef
    # What the register said last (an update compares with it): the final state it was imported in (None: where new
    # cases start), its closing date, and a keyed digest of the identity (never the identity). None on rows imported
    # before these were kept: their identity is not compared.
    state: str | None = None
    closed_on: str | None = None
    identity_digest: str | None = None
    updated_run_id: IdRef | None = None

    class Settings:
        name = "imported_rows"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("source", ASCENDING), ("source_id", ASCENDING)], unique=True)]
