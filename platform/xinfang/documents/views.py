"""One document as the API and the pages show it: words beside every code, and what this person may do with it."""

from __future__ import annotations

from ..auth.permissions import Permission
from ..auth.principal import Principal
from .models import DIRECTION_NAMES, KIND_NAMES, PURPOSE_NAMES, STATE_NAMES, STEP_NAMES, SUBJECT_NAMES, DocumentSettings, OfficialDocument


def view(document: OfficialDocument, principal: Principal, settings: DocumentSettings) -> dict:
    roles = set(principal.roles)
    writer = Permission.DOCUMENTS_WRITE in principal.permissions
    mine = next((d for d in document.distribution if d.account_id == principal.account_id), None)
    outgoing = document.direction == "outgoing"
    return {
        "id": str(document.id), "tenant_id": str(document.tenant_id), "direction": document.direction.value, "direction_name": DIRECTION_NAMES[document.direction.value],
        "kind": document.kind, "kind_name": KIND_NAMES[document.kind], "title": document.title, "body": document.body,
        "body_html": document.body_html, "state": document.state.value, "state_name": STATE_NAMES[document.state.value],
        "document_no": document.document_no, "created_at": document.created_at.isoformat(),
        "drafted_by_name": document.drafted_by_name, "reviewed_by_name": document.reviewed_by_name, "signed_by_name": document.signed_by_name,
        "issued_at": document.issued_at.isoformat() if document.issued_at else None,
        "received_at": document.received_at.isoformat() if document.received_at else None,
        "sender_name": document.sender_name, "pdf_sha256": document.pdf_sha256, "has_scan": bool(document.scan_id),
        "reply_to_id": document.reply_to_id, "reply_ids": list(document.reply_ids),
        "links": [{"kind": link.kind, "kind_name": SUBJECT_NAMES[link.kind], "id": link.id, "label": link.label} for link in document.links],
        "recipients": [{"kind": r.kind, "name": r.name, "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
                        "delivered_by_name": r.delivered_by_name, "delivery_note": r.delivery_note, "on_platform": r.kind == "tenant",
                        "kind_name": {"tenant": {"zh": "平台内单位", "en": "Body on the platform"},
                                      "department": {"zh": "外部部门", "en": "Department outside"},
                                      "citizen": {"zh": "信访人", "en": "Citizen"}}[r.kind]} for r in document.recipients],
        "distribution": [{"account_id": d.account_id, "name": d.name, "purpose": d.purpose, "purpose_name": PURPOSE_NAMES[d.purpose],
                          "due_on": d.due_on, "read_at": d.read_at.isoformat() if d.read_at else None,
                          "done_at": d.done_at.isoformat() if d.done_at else None, "done_note": d.done_note} for d in document.distribution],
        "steps": [{"at": s.at.isoformat(), "kind": s.kind, "name": STEP_NAMES[s.kind], "actor_name": s.actor_name, "text": s.text}
                  for s in document.steps],
        "may_review": outgoing and document.state == "draft" and bool(roles & set(settings.reviewer_roles))
                      and principal.account_id != document.drafted_by,
        "may_sign": outgoing and document.state == "reviewed" and bool(roles & set(settings.signer_roles))
                    and principal.account_id not in (document.drafted_by, document.reviewed_by),
        "may_record_delivery": outgoing and writer and document.state == "issued",
        "may_distribute": not outgoing and writer and document.state != "done",
        "may_mark_read": mine is not None and mine.read_at is None,
        "may_mark_acted": mine is not None and mine.purpose == "act" and mine.done_at is None,
        "may_answer": not outgoing and writer and not document.reply_ids,
    }
