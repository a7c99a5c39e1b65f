"""How an archived record reads in the JSON API and on the pages: words, never codes; times in the tenant's zone."""

from __future__ import annotations

import json

from ..timefmt import local_time
from .models import SUBJECT_NAMES, ArchivedRecord
from .rules import years_words


def row(record: ArchivedRecord, zone_name: str) -> dict:
    """A list row (no snapshot: listing is not reading a record, and is not audited)."""
    return {"id": str(record.id), "number": record.number, "year": record.year, "kind": record.subject_kind,
            "kind_name": SUBJECT_NAMES[record.subject_kind], "subject_id": record.subject_id, "case": record.subject_label,
            "title": record.title, "closed_on": record.closed_on, "archived_at": record.archived_at.isoformat(),
            "archived_at_local": local_time(record.archived_at, zone_name), "archived_by": record.archived_by_name,
            "retention": years_words(record.retention_years), "retention_ends_on": record.retention_ends_on}


def full(record: ArchivedRecord, zone_name: str) -> dict:
    """The whole record as archived: its frozen snapshot exactly, its hash, its files' hashes."""
    return {**row(record, zone_name), "snapshot": json.loads(record.snapshot_json), "snapshot_sha256": record.snapshot_sha256,
            "files": [{"filename": f.filename, "kind": f.source, "size": f.size, "sha256": f.sha256} for f in record.files]}
