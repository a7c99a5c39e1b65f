"""What a case carries about its assignment down (交办下级): who assigned it, the lower body's result
reports (办理结果报送) with the upper body's decisions, and the upper body's reminders (督办).

Kept inside the petition (``Petition.down_assignments``), like its steps, so it travels with the case;
``Petition.followed_by`` lists the tenants that assigned it down, the one field the upper body's
list and access check (``upper_level.access_followed_case``) ask for. Written only by
``upper_level.py`` and by ``service.do_transition`` (which opens an assignment on a move down).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bson import ObjectId
from pydantic import BaseModel, Field

from ..store.documents import IdRef, UtcDateTime, utcnow


class ReportStatus(StrEnum):
    PENDING = "pending"  # sent up, awaiting the upper body's decision
    ACCEPTED = "accepted"  # the upper body accepted the result: the assignment is done
    RETURNED = "returned"  # sent back with a reason: the lower body must report again


class FollowStatus(StrEnum):
    AWAITING_REPORT = "awaiting_report"
    REPORTED = "reported"
    RETURNED = "returned"
    ACCEPTED = "accepted"


FOLLOW_STATUS_NAMES = {
    FollowStatus.AWAITING_REPORT: {"zh": "待下级报送结果", "en": "Awaiting the result report"},
    FollowStatus.REPORTED: {"zh": "结果已报送，待审核", "en": "Result reported, awaiting decision"},
    FollowStatus.RETURNED: {"zh": "已退回，待重新报送", "en": "Returned, awaiting a new report"},
    FollowStatus.ACCEPTED: {"zh": "结果已采纳，交办办结", "en": "Result accepted, assignment done"},
}

REPORT_STATUS_NAMES = {
    ReportStatus.PENDING: {"zh": "待审核", "en": "Awaiting decision"},
    ReportStatus.ACCEPTED: {"zh": "已采纳", "en": "Accepted"},
    ReportStatus.RETURNED: {"zh": "已退回", "en": "Returned"},
}


class ResultReport(BaseModel):
    """办理结果报送: the lower body's account of how it handled the case, and the upper body's decision."""

    id: str = Field(default_factory=lambda: str(ObjectId()))
    at: UtcDateTime = Field(default_factory=utcnow)
    tenant_id: IdRef  # the lower body that reported
    actor: str
    actor_name: str
    text: str
    attachment_ids: list[IdRef] = Field(default_factory=list)
    status: ReportStatus = ReportStatus.PENDING
    decided_at: UtcDateTime | None = None
    decided_by_name: str | None = None
    reason: str | None = None  # why it was returned


class Reminder(BaseModel):
    """督办: the upper body urges the lower one, optionally with a new date for the result report."""

    at: UtcDateTime = Field(default_factory=utcnow)
    tenant_id: IdRef  # the upper body that reminded
    actor: str
    actor_name: str
    message: str
    due_on: str | None = None  # ISO date: the result report is now due by this day


class DownAssignment(BaseModel):
    """One 交办下级: ``upper_tenant_id`` handed the case to ``lower_tenant_id`` and follows it."""

    upper_tenant_id: IdRef
    lower_tenant_id: IdRef
    transition: str  # the workflow transition that moved it (assign_down in the default workflow)
    at: UtcDateTime = Field(default_factory=utcnow)
    report_due_on: str | None = None  # ISO date the result report is due (the handling deadline, or a reminder's)
    reports: list[ResultReport] = Field(default_factory=list)
    reminders: list[Reminder] = Field(default_factory=list)

    @property
    def status(self) -> FollowStatus:
        last = self.reports[-1] if self.reports else None
        if last is None:
            return FollowStatus.AWAITING_REPORT
        return {ReportStatus.PENDING: FollowStatus.REPORTED, ReportStatus.RETURNED: FollowStatus.RETURNED,
                ReportStatus.ACCEPTED: FollowStatus.ACCEPTED}[last.status]

    def pending_report(self) -> ResultReport | None:
        return self.reports[-1] if self.reports and self.reports[-1].status == ReportStatus.PENDING else None

    def overdue(self, today_iso: str) -> bool:
        """The result report is late: not accepted, and its due day has passed."""
        return self.status != FollowStatus.ACCEPTED and bool(self.report_due_on) and self.report_due_on < today_iso


def open_assignment_down(followed_by: list[str], assignments: list[DownAssignment], *, upper_tenant_id: str,
                         lower_tenant_id: str, transition: str, at: datetime, report_due_on: str | None) -> None:
    """Record a move down on the petition's two lists (called by ``service.do_transition`` before its one write)."""
    assignments.append(DownAssignment(upper_tenant_id=upper_tenant_id, lower_tenant_id=lower_tenant_id,
                                      transition=transition, at=at, report_due_on=report_due_on))
    if upper_tenant_id not in followed_by:
        followed_by.append(upper_tenant_id)
