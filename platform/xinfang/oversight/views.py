"""The oversight record in words, for either side's pages and JSON (what the handlers return)."""

from __future__ import annotations

from ..auth.principal import Principal
from ..petitions.upper_level_models import REPORT_STATUS_NAMES, ReportStatus
from .models import STATE_NAMES, SUBJECT_KIND_NAMES, Oversight
from .service import Side, attachment_rows, can_report, upper_actions
from .subjects import GONE, read_subject, subject_view, tenant_names


UNDECIDED = {"zh": "督办已撤销，未审核", "en": "Not decided: the oversight was withdrawn"}


def _involved(records: list[Oversight]) -> set[str]:
    return {r.tenant_id for r in records} | {r.lower_tenant_id for r in records}


def row(record: Oversight, names: dict[str, dict], today_iso: str) -> dict:
    """One line of a list: what, who supervises whom, the deadline, the state."""
    return {
        "id": str(record.id), "subject_kind": record.subject_kind, "subject_kind_name": SUBJECT_KIND_NAMES[record.subject_kind],
        "subject_label": record.subject_label, "requirement": record.requirement,
        "upper_tenant": names.get(record.tenant_id, GONE), "lower_tenant": names.get(record.lower_tenant_id, GONE),
        "opened_at": record.created_at.isoformat(), "opened_by_name": record.opened_by_name,
        "due_on": record.due_on, "overdue": record.overdue or record.late_now(today_iso),
        "state": record.state.value, "state_name": STATE_NAMES[record.state], "open": record.open,
        "on_time": record.on_time(), "finished_on": record.finished_on,
        "report_count": len(record.reports), "reminder_count": len(record.reminders), "escalation_count": len(record.escalations),
        "withdrawn": record.withdrawn, "withdraw_reason": record.withdraw_reason, "withdrawn_by_name": record.withdrawn_by_name,
        "closed_at": record.closed_at.isoformat() if record.closed_at else None,
    }


async def list_rows(records: list[Oversight], today_iso: str) -> list[dict]:
    names = await tenant_names(_involved(records))
    return [row(r, names, today_iso) for r in records]


async def record_view(record: Oversight, side: Side, principal: Principal | None, today_iso: str) -> dict:
    """The whole record for its page: the subject as it is now, reports with decisions, reminders, escalations,
    and the steps this side may take now. Never the petitioner's identity."""
    subject = await read_subject(record.subject_kind, record.subject_id)
    names = await tenant_names(_involved([record]) | ({subject.tenant_id} if subject is not None else set()))
    view = row(record, names, today_iso)
    files = await attachment_rows(record)
    view.update({
        "side": side,
        "subject": await subject_view(record.subject_kind, subject, names),
        "remind_working_days": record.remind_working_days, "remind_on": record.remind_on,
        "reports": [{"at": r.at.isoformat(), "actor_name": r.actor_name, "text": r.text, "status": r.status.value,
                     "status_name": UNDECIDED if record.withdrawn and r.status == ReportStatus.PENDING else REPORT_STATUS_NAMES[r.status], "decided_at": r.decided_at.isoformat() if r.decided_at else None,
                     "decided_by_name": r.decided_by_name, "reason": r.reason,
                     "attachments": [files[a] for a in r.attachment_ids if a in files]} for r in record.reports],
        "reminders": [{"at": m.at.isoformat(), "actor_name": m.actor_name, "message": m.message, "due_on": m.due_on}
                      for m in record.reminders],
        "escalations": [{"at": e.at.isoformat(), "due_on": e.due_on} for e in record.escalations],
        "actions": upper_actions(record, side, principal),
        "can_report": can_report(record, side, principal),
    })
    return view
