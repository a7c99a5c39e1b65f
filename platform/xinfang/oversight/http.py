"""JSON routes of 督办 (service.py), for both sides, under /t/<slug>/:

  GET  api/oversight?side=issued|received&state=&page=     督办事项 I issued / 上级督办 I received
  POST api/oversight {subject_kind, subject, requirement, due_on | working_days, remind_working_days?}   open (upper)
  GET  api/oversight/<id>                                  the record and its subject, on my side
  POST api/oversight/<id>/reports {text}                   the supervised body reports its result (lower); JSON, or
                                                           multipart with a ``payload`` JSON field and ``files``
  GET  api/oversight/<id>/files/<file_id>                  a file of a report, for either side
  POST api/oversight/<id>/withdraw {reason}                a leader of the upper body withdraws it (已撤销)
  POST api/oversight/<id>/accept {reason?}                 accept the pending report: closed (upper)
  POST api/oversight/<id>/return {reason}                  return it: report again (upper)
  POST api/oversight/<id>/reminders {message, due_on?}     催办, optionally with a new deadline (upper)
  GET  api/oversight-stats?side=issued|received            counts by state, on time / overdue, per body
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import parse_body
from ..petitions.service import china_today
from ..petitions.uploads import attachment_download, read_uploads
from ..tenancy.resolution import current_tenant
from . import service
from .stats import statistics
from .views import list_rows, record_view

oversight_bp = Blueprint("oversight", __name__, url_prefix="/t/<tenant_slug>")

PAGE_SIZE = 20
SIDES = {"issued": "upper", "received": "lower"}


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_kind: Literal["petition", "card"]
    subject: str = Field(min_length=1, max_length=100, description="the case's id or number, or the card's id or document number")
    requirement: str = Field(min_length=1, max_length=service.MAX_TEXT, description="督办要求")
    due_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD; or give working_days")
    working_days: int | None = Field(default=None, ge=1, le=service.MAX_WORKING_DAYS, description="deadline in working days from today")
    remind_working_days: int = Field(default=2, ge=0, le=30, description="warn the lower body this many working days before")


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT)


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why the oversight is withdrawn")


class RemindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=2000)
    due_on: str | None = Field(default=None, max_length=10)


def today() -> str:
    return china_today().isoformat()


def side_arg() -> str:
    return SIDES.get(request.args.get("side", "issued"), "upper")


async def mine(oversight_id: str):
    """(tenant context, principal, record, side): the record on this body's side, or 404."""
    ctx, principal = current_tenant(), current_principal()
    record, side = await service.access_oversight(principal, ctx.tenant, oversight_id)
    return ctx, principal, record, side


async def optional_body(model):
    return model() if not (await request.get_data()).strip() else await parse_body(model)


async def listing(tenant_id: str, side: str) -> dict:
    page = request.args.get("page", 1, type=int) or 1
    size = min(max(request.args.get("page_size", PAGE_SIZE, type=int) or PAGE_SIZE, 1), 100)
    records, total = await service.list_oversights(tenant_id, side, state=request.args.get("state"), page=page, page_size=size)
    return {"side": side, "items": await list_rows(records, today()), "total": total, "page": page, "page_size": size}


@oversight_bp.get("/api/oversight")
@requires(Permission.PETITIONS_READ)
async def list_oversight(tenant_slug):
    """督办事项 this body issued (side=issued) or received from above (side=received), newest first."""
    return await listing(current_tenant().tenant_id, side_arg())


@oversight_bp.post("/api/oversight")
@requires(Permission.PETITIONS_ACT)
@document_request(OpenIn)
async def open_oversight(tenant_slug):
    """督办 a case or card held by a body below this one, with a requirement and a deadline."""
    body = await parse_body(OpenIn)
    record = await service.do_open(current_tenant().tenant, current_principal(), subject_kind=body.subject_kind, subject_ref=body.subject,
                                   requirement=body.requirement, due_on=body.due_on, working_days=body.working_days,
                                   remind_working_days=body.remind_working_days)
    return await record_view(record, "upper", current_principal(), today()), 201


@oversight_bp.get("/api/oversight/<oversight_id>")
@requires(Permission.PETITIONS_READ)
async def show_oversight(tenant_slug, oversight_id):
    """An oversight item on this body's side: the subject (never the petitioner's identity), reports, reminders."""
    _, principal, record, side = await mine(oversight_id)
    return await record_view(record, side, principal, today())


@oversight_bp.post("/api/oversight/<oversight_id>/reports")
@requires(Permission.PETITIONS_ACT)
@document_request(ReportIn)
async def report_oversight(tenant_slug, oversight_id):
    """办理结果报送: the supervised body reports its result up (JSON, or multipart with a `payload` JSON field and `files`:
    PDF, JPEG or PNG by their content, at most 5 of 5 MB)."""
    body, uploads = await read_uploads(ReportIn)
    _, principal, record, side = await mine(oversight_id)
    return await record_view(await service.do_report(record, side, principal, text=body.text, uploads=uploads), side, principal,
                             today()), 201


@oversight_bp.get("/api/oversight/<oversight_id>/files/<file_id>")
@requires(Permission.PETITIONS_READ)
async def oversight_file(tenant_slug, oversight_id, file_id):
    """A file attached to a result report, for the supervising and the supervised body alike."""
    _, _, record, _ = await mine(oversight_id)
    return attachment_download(await service.report_attachment(record, file_id))


@oversight_bp.post("/api/oversight/<oversight_id>/withdraw")
@requires(Permission.PETITIONS_ACT)
@document_request(WithdrawIn)
async def withdraw_oversight(tenant_slug, oversight_id):
    """撤销督办: a leader of the supervising body withdraws an open oversight with a reason; the lower body is told."""
    body = await parse_body(WithdrawIn)
    _, principal, record, side = await mine(oversight_id)
    return await record_view(await service.do_withdraw(record, side, principal, reason=body.reason), side, principal, today())


@oversight_bp.post("/api/oversight/<oversight_id>/accept")
@requires(Permission.PETITIONS_ACT)
@document_request(AcceptIn)
async def accept_oversight(tenant_slug, oversight_id):
    """Accept the pending result report: the oversight is closed."""
    body = await optional_body(AcceptIn)
    _, principal, record, side = await mine(oversight_id)
    return await record_view(await service.do_decide(record, side, principal, accept=True, reason=body.reason), side, principal, today())


@oversight_bp.post("/api/oversight/<oversight_id>/return")
@requires(Permission.PETITIONS_ACT)
@document_request(ReturnIn)
async def return_oversight(tenant_slug, oversight_id):
    """Return the pending result report with a reason: the lower body reports again."""
    body = await parse_body(ReturnIn)
    _, principal, record, side = await mine(oversight_id)
    return await record_view(await service.do_decide(record, side, principal, accept=False, reason=body.reason), side, principal, today())


@oversight_bp.post("/api/oversight/<oversight_id>/reminders")
@requires(Permission.PETITIONS_ACT)
@document_request(RemindIn)
async def remind_oversight(tenant_slug, oversight_id):
    """催办 the lower body, optionally with a new deadline."""
    body = await parse_body(RemindIn)
    _, principal, record, side = await mine(oversight_id)
    return await record_view(await service.do_remind(record, side, principal, message=body.message, due_on=body.due_on), side, principal,
                             today()), 201


@oversight_bp.get("/api/oversight-stats")
@requires(Permission.PETITIONS_READ)
async def oversight_stats(tenant_slug):
    """Counts by state, on time against overdue, and per lower (issued) or upper (received) body."""
    return await statistics(current_tenant().tenant_id, side_arg(), today())
