"""An archived record as a self-contained package for a records office: a ZIP holding the case summary and timeline as
a PDF (set like the other printed documents, archives/pdf.py), the attachments and issued documents as they are, the
frozen snapshot as JSON, and ``manifest.json`` with the SHA-256 and size of every other file in the ZIP.

A file whose live bytes no longer match the hash frozen at archiving is left out and listed under ``missing`` with
the hash it should have: the package never carries something other than what was archived.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from ..archives.pdf import Rule, _p, _page_number, chinese_date, fonts
from ..petitions.models import Attachment
from ..petitions.uploads import safe_filename
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..timefmt import local_time
from .models import SUBJECT_NAMES, ArchivedRecord
from .rules import years_words


def _text(names) -> str:
    return names.get("zh", "") if isinstance(names, dict) else str(names or "")


def summary_pdf(record: ArchivedRecord, frozen: dict, issuer: str, zone_name: str) -> bytes:
    """The record's cover: number, case, dates, retention; the decisions; the whole timeline as a table."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
                            title=f"归档记录 {record.number}", author=issuer, initialFontName=fonts()[0])
    retention = years_words(record.retention_years)["zh"] + (f"（至 {record.retention_ends_on}）" if record.retention_ends_on else "")
    story = [
        _p(issuer, "issuer"), _p(f"归档号：{record.number}", "number"), Rule(),
        _p(f"{SUBJECT_NAMES[record.subject_kind]['zh']}归档记录", "title"),
        _p(f"案件：{record.subject_label}", "plain"),
        _p(f"状态：{_text(frozen.get('state'))}　　办结日期：{record.closed_on}", "plain"),
        _p(f"归档：{local_time(record.archived_at, zone_name)}，{record.archived_by_name}", "plain"),
        _p(f"保管期限：{retention}", "plain"),
        _p(f"快照 SHA-256：{record.snapshot_sha256}", "record"),
        Spacer(1, 4 * mm),
    ]
    if frozen.get("answers", {}).get("content"):
        story += [_p("反映内容", "plain"), _p(frozen["answers"]["content"]), Spacer(1, 3 * mm)]
    rows = [[_p(h, "cell") for h in ("时间", "办理人", "步骤", "状态", "意见/内容")]]
    for step in frozen.get("timeline", []):
        change = " → ".join(_text(s) for s in (step.get("from_state"), step.get("to_state")) if s)
        said = "；".join(f"{_text(f['name'])}：{f['text']}" for f in step.get("fields", []))
        rows.append([_p(step.get("at_local", ""), "cell"), _p(step.get("actor", ""), "cell"), _p(_text(step.get("action")), "cell"),
                     _p(change, "cell"), _p(said, "cell")])
    table = Table(rows, colWidths=[32 * mm, 22 * mm, 26 * mm, 30 * mm, 46 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("FONTNAME", (0, 0), (-1, -1), fonts()[0])]))
    story += [_p("办理过程", "plain"), table]
    if frozen.get("documents"):
        story += [Spacer(1, 3 * mm), _p("公文", "plain")]
        story += [_p(f"{d.get('document_no') or '（无文号）'}　{d['title']}", "record") for d in frozen["documents"]]
    if frozen.get("attachments"):
        story += [Spacer(1, 3 * mm), _p("附件（SHA-256）", "plain")]
        story += [_p(f"{a['filename']}　{a['sha256']}", "record") for a in frozen["attachments"]]
    story += [Spacer(1, 8 * mm), _p(issuer, "signature"), _p(chinese_date(record.archived_at), "signature")]
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


async def _file_bytes(scope: TenantScope, source: str, source_id: str) -> bytes | None:
    if source == "attachment":
        row = await scope.repo(Attachment).get(source_id)
        return row.data if row else None
    try:
        from ..documents.models import DocumentScan, IssuedPdf
    except ImportError:
        return None
    row = await scope.repo(IssuedPdf if source == "document_pdf" else DocumentScan).get(source_id)
    return row.data if row else None


async def build(scope: TenantScope, record: ArchivedRecord, issuer: str, zone_name: str) -> bytes:
    frozen = json.loads(record.snapshot_json)
    entries: list[tuple[str, bytes, str]] = [
        # reportlab's CPU off the event loop
        ("summary.pdf", await asyncio.to_thread(summary_pdf, record, frozen, issuer, zone_name), "summary"),
        ("snapshot.json", record.snapshot_json.encode("utf-8"), "snapshot"),
    ]
    missing = []
    for n, frozen_file in enumerate(record.files, 1):
        data = await _file_bytes(scope, frozen_file.source, frozen_file.source_id)
        if data is None or hashlib.sha256(data).hexdigest() != frozen_file.sha256:
            missing.append({"filename": frozen_file.filename, "sha256": frozen_file.sha256, "source": frozen_file.source})
            continue
        folder = "attachments" if frozen_file.source == "attachment" else "documents"
        entries.append((f"{folder}/{n:02d}-{safe_filename(frozen_file.filename)}", data, frozen_file.source))
    manifest = {
        "archive_number": record.number, "kind": record.subject_kind, "case": record.subject_label, "closed_on": record.closed_on,
        "archived_at": record.archived_at.isoformat(), "archived_by": record.archived_by_name,
        "retention": years_words(record.retention_years), "retention_ends_on": record.retention_ends_on,
        "snapshot_sha256": record.snapshot_sha256, "generated_at": utcnow().isoformat(), "algorithm": "SHA-256",
        "files": [{"path": path, "kind": kind, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for path, data, kind in entries],
        "missing": missing,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data, _ in entries:
            archive.writestr(path, data)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()
