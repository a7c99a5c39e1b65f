"""What an archived record freezes of a closed case, card or action: one JSON-ready dict, canonical text, its hash.

Frozen: the case's facts and answers, its timeline (every step, with words for the step and the states), the
decisions taken on it (the steps' opinions, replies and reasons, and the leaders' instructions), its official
documents (documents/, when that area is installed) and its attachments' names and SHA-256.
Never frozen: the petitioner's identity. It stays sealed in the live case only, under the case's own record key,
so when retention destroys that key (retention/shredding.py) no identity remains anywhere, the archive included,
while the numbers, dates and outcome stay.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from ..display_words import supervision_state_names, words
from ..petitions.models import Attachment, Petition
from ..store.scoped import TenantScope
from ..timefmt import local_time
from .models import FrozenFile

SNAPSHOT_VERSION = 1
OTHER_FIELD = {"zh": "内容", "en": "Details"}  # a step's field the registry has no word for (another area's step)


def canonical(snapshot: dict) -> tuple[str, str]:
    """(the canonical JSON text, its SHA-256): the text is what is stored and exported byte for byte."""
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


async def official_documents(scope: TenantScope, kind: str, subject_id: str) -> tuple[list[dict], list[FrozenFile]]:
    """The case's official documents (公文) and their issued PDFs. HOOK: documents/ is built beside this area; while it
    is not installed (or fails to import) a record holds none, and says so in its snapshot (``documents_area``)."""
    try:
        from ..documents.models import DocumentScan, IssuedPdf
        from ..documents.service import documents_of
    except ImportError:
        return [], []
    rows, files = [], []
    for doc in await documents_of(scope, kind, subject_id):
        rows.append({"id": str(doc.id), "direction": str(doc.direction), "kind": str(doc.kind), "title": doc.title,
                     "document_no": doc.document_no, "state": str(doc.state), "body": doc.body, "pdf_sha256": doc.pdf_sha256,
                     "issued_at": doc.issued_at.isoformat() if doc.issued_at else None,
                     "received_at": doc.received_at.isoformat() if doc.received_at else None})
        if doc.pdf_sha256:
            pdf = await scope.repo(IssuedPdf).find_one({"document_id": str(doc.id)})
            if pdf is not None:
                files.append(FrozenFile(source="document_pdf", source_id=str(pdf.id), filename=f"{doc.document_no or doc.id}.pdf",
                                        content_type="application/pdf", size=len(pdf.data), sha256=pdf.sha256))
        if doc.scan_id:  # a paper document registered with its scan
            scan = await scope.repo(DocumentScan).get(doc.scan_id)
            if scan is not None:
                files.append(FrozenFile(source="document_scan", source_id=str(scan.id), filename=scan.filename,
                                        content_type=scan.content_type, size=len(scan.data), sha256=scan.sha256))
    return rows, files


def _documents_area_present() -> bool:
    import importlib.util

    return importlib.util.find_spec("xinfang.documents.service") is not None


async def _instructions(tenant_id: str, kind: str, subject_id: str) -> list[dict]:
    from ..instructions.models import STATE_NAMES, Instruction

    rows = await TenantScope(tenant_id).repo(Instruction).find({"target_kind": kind, "target_id": subject_id}).sort("created_at").to_list()
    return [{"author": r.author_name, "text": r.text, "due_on": r.due_on, "state": STATE_NAMES[r.state],
             "steps": [{"at": s.at.isoformat(), "kind": s.kind, "actor": s.actor_name, "text": s.text} for s in r.steps]} for r in rows]


def _field_text(key: str, value: str) -> str:
    """A step's field as words: the channel is a code in the step (letter), a word in the record (来信)."""
    if key == "channel":
        names = words("channel").get(value)
        return f"{names['zh']} {names['en']}" if names else value
    return value


async def of_petition(petition: Petition, zone_name: str, closed_on: date) -> tuple[dict, list[FrozenFile]]:
    from ..petitions.workflow_versions import workflow_of_version

    scope = TenantScope(petition.tenant_id)
    workflow = await workflow_of_version(scope, petition.workflow_version)
    states = {s.key: s.name.model_dump() for s in workflow.states}
    actions = {**words("petition_action"), **{t.key: t.name.model_dump() for t in workflow.transitions}}
    field_words = words("step_field")
    timeline, decisions = [], []
    for step in petition.steps:
        row = {"at": step.at.isoformat(), "at_local": local_time(step.at, zone_name), "actor": step.actor_name,
               "action": actions.get(step.action, {"zh": step.action, "en": step.action}),
               "from_state": states.get(step.from_state) if step.from_state else None,
               "to_state": states.get(step.to_state) if step.to_state else None,
               "fields": [{"name": field_words.get(k) or OTHER_FIELD, "text": _field_text(k, v)} for k, v in step.fields.items()
                          if v and not k.endswith("_id")]}  # ids are links for the software, not words for a reader
        timeline.append(row)
        if row["fields"]:
            decisions.append(row)
    attachments = await scope.repo(Attachment).find({"petition_id": str(petition.id)}).sort("created_at").to_list()
    files = [FrozenFile(source="attachment", source_id=str(a.id), filename=a.filename, content_type=a.content_type, size=a.size,
                        sha256=a.sha256) for a in attachments]
    documents, document_files = await official_documents(scope, "petition", str(petition.id))
    snapshot = {
        "version": SNAPSHOT_VERSION, "kind": "petition", "id": str(petition.id), "number": petition.number, "title": petition.title,
        "form_kind": words("form_kind").get(petition.kind, {"zh": petition.kind, "en": petition.kind}),
        "channel": words("channel").get(str(petition.channel), {"zh": str(petition.channel), "en": str(petition.channel)}),
        "anonymous": petition.anonymous, "identity": "not archived (sealed in the live case only)",
        "subject_name": petition.subject_name, "received_at": petition.received_at.isoformat(),
        "received_local": local_time(petition.received_at, zone_name), "state": states.get(petition.state, {"zh": petition.state, "en": petition.state}),
        "closed_on": closed_on.isoformat(), "answers": petition.answers, "timeline": timeline, "decisions": decisions,
        "instructions": await _instructions(petition.tenant_id, "petition", str(petition.id)),
        "documents": documents, "documents_area": _documents_area_present(),
        "attachments": [f.model_dump() for f in files],
    }
    return snapshot, files + document_files


async def of_supervision(sup, zone_name: str, closed_on: date) -> tuple[dict, list[FrozenFile]]:
    scope = TenantScope(sup.tenant_id)
    documents, document_files = await official_documents(scope, "supervision", str(sup.id))
    timeline = [{"at": n.get("at"), "at_local": local_time(n.get("at"), zone_name) if n.get("at") else "", "actor": n.get("actor", ""),
                 "action": words("supervision_note").get(n.get("action"), {"zh": str(n.get("action")), "en": str(n.get("action"))}),
                 "fields": [{"name": {"zh": "说明", "en": "Note"}, "text": n["text"]}] if n.get("text") else []} for n in sup.notes]
    snapshot = {
        "version": SNAPSHOT_VERSION, "kind": "supervision", "id": str(sup.id), "number": sup.document_no or "",
        "title": f"{words('supervision_kind')[sup.kind]['zh']}：{sup.subject.name}", "type_key": sup.type_key,
        "supervision_kind": words("supervision_kind")[sup.kind], "subject": sup.subject.model_dump(),
        "state": supervision_state_names(sup),
        "issued_on": sup.issued_on, "closed_on": closed_on.isoformat(), "document_no": sup.document_no, "document_html": sup.document_html,
        "answer": sup.answer, "talk_record": sup.record, "outcome": sup.outcome, "petition_ids": sup.petition_ids,
        "follow_ups": [f.model_dump() for f in sup.follow_ups], "timeline": timeline,
        "decisions": [row for row in timeline if row["fields"]] + ([{"action": {"zh": "处理结果", "en": "Outcome"}, "fields": [
            {"name": {"zh": "结果", "en": "Outcome"}, "text": sup.outcome}]}] if sup.outcome else []),
        "instructions": await _instructions(sup.tenant_id, "supervision", str(sup.id)),
        "documents": documents, "documents_area": _documents_area_present(), "attachments": [],
    }
    return snapshot, document_files
