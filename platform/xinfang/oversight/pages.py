"""Staff pages of 督办 (service.py): one list with two tabs (督办事项 I issued / 上级督办 I received) and
its statistics, the form to open one, and the record's page with either side's steps.

  GET  staff/oversight?side=issued|received&state=     the list, the statistics, the form (issued side;
                                                       ?subject=<number>&subject_kind=card fills it in)
  POST staff/oversight                                 open an oversight
  GET  staff/oversight/<id>                            the record on this body's side
  POST staff/oversight/<id>/report | accept | return | remind | withdraw
  GET  staff/oversight/<id>/files/<file_id>            a report's file
"""

from __future__ import annotations

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError
from ..http import refusal_message, staff_page
from ..tenancy.resolution import current_tenant
from ..tenancy.service import has_lower_bodies
from . import service
from ..petitions.page_lookups import human_size
from ..petitions.uploads import attachment_download, request_uploads
from .http import PAGE_SIZE, SIDES, today
from .stats import BUCKETS, statistics
from .views import list_rows, record_view

oversight_pages_bp = Blueprint("oversight_pages", __name__, url_prefix="/t/<tenant_slug>/staff")
STATES = ("awaiting_report", "reported", "returned", "accepted", "withdrawn", "overdue")


async def list_page(tenant_slug, message=None, status=200, values=None, errors=None):
    ctx, principal = current_tenant(), current_principal()
    lower = await has_lower_bodies(ctx.tenant_id)
    # A body with none below it issues nothing: its clerk lands on what the upper body asked of it.
    tab = request.args.get("side") if request.args.get("side") in SIDES else ("issued" if lower else "received")
    side, state = SIDES[tab], request.args.get("state") if request.args.get("state") in STATES else None
    page = request.args.get("page", 1, type=int) or 1
    records, total = await service.list_oversights(ctx.tenant_id, side, state=state, page=page, page_size=PAGE_SIZE)
    return await staff_page("staff/oversight_list.html", status, tab=tab, state=state, states=STATES, items=await list_rows(records, today()),
                            total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), stats=await statistics(ctx.tenant_id, side, today()),
                            buckets=BUCKETS, may_open=lower and service.takes_steps(principal),
                            message=message, values=values or _prefill(), errors=errors or {}, today=today())


def _prefill() -> dict:
    """``?subject=<number>&subject_kind=card``: the form filled in, for a link from a case or card page."""
    return {k: request.args[k][:100] for k in ("subject", "subject_kind") if request.args.get(k)}


@oversight_pages_bp.get("/oversight")
@requires(Permission.PETITIONS_READ)
async def oversight_list_page(tenant_slug):
    return await list_page(tenant_slug)


@oversight_pages_bp.post("/oversight")
@requires(Permission.PETITIONS_ACT)
async def open_submit(tenant_slug):
    form = await request.form
    try:
        record = await service.do_open(current_tenant().tenant, current_principal(), subject_kind=form.get("subject_kind", ""),
                                       subject_ref=form.get("subject", ""), requirement=form.get("requirement", ""),
                                       due_on=form.get("due_on"), working_days=form.get("working_days"),
                                       remind_working_days=form.get("remind_working_days") or 2)
    except DomainError as refused:
        return await list_page(tenant_slug, refusal_message(refused), refused.status, dict(form), refused.fields)
    return redirect(url_for("oversight_pages.oversight_page", tenant_slug=tenant_slug, oversight_id=str(record.id)))


@oversight_pages_bp.get("/oversight/<oversight_id>")
@requires(Permission.PETITIONS_READ)
async def oversight_page(tenant_slug, oversight_id, message=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    record, side = await service.access_oversight(principal, ctx.tenant, oversight_id)
    return await staff_page("staff/oversight.html", status, view=await record_view(record, side, principal, today()), message=message,
                            today=today(), human_size=human_size)


async def _step(tenant_slug, oversight_id, step):
    form = await request.form
    ctx, principal = current_tenant(), current_principal()
    record, side = await service.access_oversight(principal, ctx.tenant, oversight_id)
    try:
        await step(record, side, principal, form)
    except DomainError as refused:
        return await oversight_page(tenant_slug, oversight_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("oversight_pages.oversight_page", tenant_slug=tenant_slug, oversight_id=oversight_id))


@oversight_pages_bp.post("/oversight/<oversight_id>/report")
@requires(Permission.PETITIONS_ACT)
async def report_submit(tenant_slug, oversight_id):
    async def report(record, side, principal, form):
        await service.do_report(record, side, principal, text=form.get("text", ""), uploads=await request_uploads())

    return await _step(tenant_slug, oversight_id, report)


@oversight_pages_bp.post("/oversight/<oversight_id>/accept")
@requires(Permission.PETITIONS_ACT)
async def accept_submit(tenant_slug, oversight_id):
    return await _step(tenant_slug, oversight_id, lambda record, side, principal, form: service.do_decide(
        record, side, principal, accept=True, reason=form.get("reason")))


@oversight_pages_bp.post("/oversight/<oversight_id>/return")
@requires(Permission.PETITIONS_ACT)
async def return_submit(tenant_slug, oversight_id):
    return await _step(tenant_slug, oversight_id, lambda record, side, principal, form: service.do_decide(
        record, side, principal, accept=False, reason=form.get("reason")))


@oversight_pages_bp.post("/oversight/<oversight_id>/remind")
@requires(Permission.PETITIONS_ACT)
async def remind_submit(tenant_slug, oversight_id):
    return await _step(tenant_slug, oversight_id, lambda record, side, principal, form: service.do_remind(
        record, side, principal, message=form.get("message", ""), due_on=form.get("due_on")))


@oversight_pages_bp.post("/oversight/<oversight_id>/withdraw")
@requires(Permission.PETITIONS_ACT)
async def withdraw_submit(tenant_slug, oversight_id):
    return await _step(tenant_slug, oversight_id, lambda record, side, principal, form: service.do_withdraw(
        record, side, principal, reason=form.get("reason", "")))


@oversight_pages_bp.get("/oversight/<oversight_id>/files/<file_id>")
@requires(Permission.PETITIONS_READ)
async def file_download(tenant_slug, oversight_id, file_id):
    ctx, principal = current_tenant(), current_principal()
    record, _ = await service.access_oversight(principal, ctx.tenant, oversight_id)
    return attachment_download(await service.report_attachment(record, file_id))
