"""Routes for following a case assigned down (upper_level.py): the upper body's list and read-only case
page with its decisions and reminders, the lower body's result report; a JSON twin for every step.

Upper body (the tenant that assigned the case down), under /t/<its slug>/:
  GET  api/followed                               staff/followed                 the cases it assigned down
  GET  api/followed/<id>                          staff/followed/<id>            the case, read-only
  POST api/followed/<id>/accept                   staff/followed/<id>/accept     accept the pending result report
  POST api/followed/<id>/return  {reason}         staff/followed/<id>/return     return it, with a reason
  POST api/followed/<id>/reminders {message, due_on?}  staff/followed/<id>/remind  督办
  GET  api/followed/<id>/attachments/<aid>                                       a file of the case or of a report
Lower body (the tenant holding the case):
  GET  api/petitions/<id>/upper-level                                            its side: reminders, reports
  POST api/petitions/<id>/result-reports {text} (+ files)  staff/petitions/<id>/result-report  办理结果报送
"""

from __future__ import annotations

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, redirect, render_template, request, url_for
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, NotFound
from ..forms.reading import answer_rows
from ..http import parse_body, refusal_message, staff_page
from ..i18n import current_lang
from ..tenancy.resolution import current_tenant
from . import service, upper_level
from .console import petition_page
from .page_lookups import human_size
from .uploads import attachment_download, read_uploads, request_uploads
from .workflow import FIELD_TITLES

upper_level_bp = Blueprint("upper_level", __name__, url_prefix="/t/<tenant_slug>")

PAGE_SIZE = 20


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT, description="the result of handling (办理结果)")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=upper_level.MAX_REASON)


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=upper_level.MAX_REASON, description="why the report goes back")


class ReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=upper_level.MAX_REASON)
    due_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD: the result report is now due by this day")


def _today() -> str:
    return service.china_today().isoformat()


async def _followed(petition_id: str):
    ctx, principal = current_tenant(), current_principal()
    return ctx, principal, await upper_level.access_followed_case(principal, ctx.tenant, petition_id)


async def _body_or_empty(model):
    """An optional JSON body: none at all reads as {}."""
    if not (await request.get_data()).strip():
        return model()
    return await parse_body(model)


# -- the upper body: JSON ----------------------------------------------------------------------------


@upper_level_bp.get("/api/followed")
@requires(Permission.PETITIONS_READ)
async def list_followed(tenant_slug):
    """The cases this body assigned down (交办下级), wherever they are: state, deadline, result report, reminders."""
    ctx = current_tenant()
    page = request.args.get("page", 1, type=int) or 1
    page_size = min(max(request.args.get("page_size", PAGE_SIZE, type=int) or PAGE_SIZE, 1), 100)
    items, total = await upper_level.followed_cases(ctx.tenant_id, page=page, page_size=page_size)
    return {"items": await upper_level.list_view(items, ctx.tenant_id, _today()), "total": total, "page": page, "page_size": page_size}


@upper_level_bp.get("/api/followed/<petition_id>")
@requires(Permission.PETITIONS_READ)
async def show_followed(tenant_slug, petition_id):
    """A case this body assigned down, read-only: facts (never the petitioner's identity), state, deadline, timeline."""
    ctx, principal, petition = await _followed(petition_id)
    return await upper_level.followed_view(petition, ctx.tenant_id, principal, _today())


@upper_level_bp.post("/api/followed/<petition_id>/accept")
@requires(Permission.PETITIONS_ACT)
@document_request(DecisionIn)
async def accept_report(tenant_slug, petition_id):
    """Accept the lower body's pending result report (optional ``reason`` as a remark)."""
    body = await _body_or_empty(DecisionIn)
    ctx, principal, petition = await _followed(petition_id)
    petition = await upper_level.do_decide_report(ctx.tenant, petition, principal, accept=True, reason=body.reason)
    return await upper_level.followed_view(petition, ctx.tenant_id, principal, _today())


@upper_level_bp.post("/api/followed/<petition_id>/return")
@requires(Permission.PETITIONS_ACT)
@document_request(ReturnIn)
async def return_report(tenant_slug, petition_id):
    """Return the pending result report with a reason: the lower body must report again."""
    body = await parse_body(ReturnIn)
    ctx, principal, petition = await _followed(petition_id)
    petition = await upper_level.do_decide_report(ctx.tenant, petition, principal, accept=False, reason=body.reason)
    return await upper_level.followed_view(petition, ctx.tenant_id, principal, _today())


@upper_level_bp.post("/api/followed/<petition_id>/reminders")
@requires(Permission.PETITIONS_ACT)
@document_request(ReminderIn)
async def remind(tenant_slug, petition_id):
    """督办: remind the lower body, optionally with a new date for the result report."""
    body = await parse_body(ReminderIn)
    ctx, principal, petition = await _followed(petition_id)
    petition = await upper_level.do_remind(ctx.tenant, petition, principal, message=body.message, due_on=body.due_on)
    return await upper_level.followed_view(petition, ctx.tenant_id, principal, _today()), 201


@upper_level_bp.get("/api/followed/<petition_id>/attachments/<attachment_id>")
@requires(Permission.PETITIONS_READ)
async def followed_attachment(tenant_slug, petition_id, attachment_id):
    """A file of a followed case (the citizen's, or one sent with a result report)."""
    _, _, petition = await _followed(petition_id)
    return attachment_download(await service.attachment_of(petition, attachment_id))


# -- the lower body: JSON ----------------------------------------------------------------------------


@upper_level_bp.get("/api/petitions/<petition_id>/upper-level")
@requires(Permission.PETITIONS_READ)
async def show_upper_level(tenant_slug, petition_id):
    """This case's assignment from above: who assigned it, reminders, result reports and decisions (404: not assigned here)."""
    ctx, principal = current_tenant(), current_principal()
    petition = await service.access_petition(ctx, petition_id)
    view = await upper_level.lower_view(petition, ctx.tenant_id, principal, _today())
    if view is None:
        raise NotFound({"zh": "这件信访件不是上级交办来的", "en": "this case was not assigned here by an upper body"})
    return view


@upper_level_bp.post("/api/petitions/<petition_id>/result-reports")
@requires(Permission.PETITIONS_ACT)
@document_request(ReportIn)
async def report_result(tenant_slug, petition_id):
    """办理结果报送 to the body that assigned the case here (JSON, or multipart with a `payload` JSON field and `files`)."""
    ctx, principal = current_tenant(), current_principal()
    body, uploads = await read_uploads(ReportIn)
    petition = await service.access_petition(ctx, petition_id)
    petition = await upper_level.do_report_result(ctx, petition, principal, text=body.text, uploads=uploads)
    return await upper_level.lower_view(petition, ctx.tenant_id, principal, _today()), 201


# -- pages ---------------------------------------------------------------------------------------------


@upper_level_bp.get("/staff/followed")
@requires(Permission.PETITIONS_READ)
async def followed_list_page(tenant_slug):
    ctx = current_tenant()
    page = request.args.get("page", 1, type=int) or 1
    items, total = await upper_level.followed_cases(ctx.tenant_id, page=page, page_size=PAGE_SIZE)
    return await staff_page("staff/followed_list.html", items=await upper_level.list_view(items, ctx.tenant_id, _today()),
                            total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)))


@upper_level_bp.get("/staff/followed/<petition_id>")
@requires(Permission.PETITIONS_READ)
async def followed_page(tenant_slug, petition_id, message=None, status=200, ok=None):
    ctx, principal, petition = await _followed(petition_id)
    view = await upper_level.followed_view(petition, ctx.tenant_id, principal, _today(), current_lang())
    form = await service.form_of(ctx, petition)
    return await staff_page("staff/followed.html", status, view=view, message=message, ok=ok, field_titles=FIELD_TITLES,
                            answer_rows=answer_rows(form.json_schema if form else {}, petition.answers, current_lang()),
                            human_size=human_size, today=_today())


async def _page_step(tenant_slug, petition_id, step):
    submitted = await request.form
    ctx, principal, petition = await _followed(petition_id)
    try:
        await step(ctx, principal, petition, submitted)
    except DomainError as refused:
        return await followed_page(tenant_slug, petition_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("upper_level.followed_page", tenant_slug=tenant_slug, petition_id=petition_id))


@upper_level_bp.post("/staff/followed/<petition_id>/accept")
@requires(Permission.PETITIONS_ACT)
async def accept_submit(tenant_slug, petition_id):
    return await _page_step(tenant_slug, petition_id, lambda ctx, principal, petition, form: upper_level.do_decide_report(
        ctx.tenant, petition, principal, accept=True, reason=form.get("reason")))


@upper_level_bp.post("/staff/followed/<petition_id>/return")
@requires(Permission.PETITIONS_ACT)
async def return_submit(tenant_slug, petition_id):
    return await _page_step(tenant_slug, petition_id, lambda ctx, principal, petition, form: upper_level.do_decide_report(
        ctx.tenant, petition, principal, accept=False, reason=form.get("reason")))


@upper_level_bp.post("/staff/followed/<petition_id>/remind")
@requires(Permission.PETITIONS_ACT)
async def remind_submit(tenant_slug, petition_id):
    return await _page_step(tenant_slug, petition_id, lambda ctx, principal, petition, form: upper_level.do_remind(
        ctx.tenant, petition, principal, message=form.get("message"), due_on=form.get("due_on")))


@upper_level_bp.post("/staff/petitions/<petition_id>/result-report")
@requires(Permission.PETITIONS_ACT)
async def report_submit(tenant_slug, petition_id):
    """办理结果报送 from the lower body's case page (the panel staff/_upper_level.html)."""
    ctx, principal = current_tenant(), current_principal()
    submitted = await request.form
    petition = await service.access_petition(ctx, petition_id)
    try:
        uploads = await request_uploads()
        await upper_level.do_report_result(ctx, petition, principal, text=submitted.get("text", ""), uploads=uploads)
    except DomainError as refused:
        return await petition_page(tenant_slug, petition_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=petition_id))


async def petition_panel(tenant, petition, principal) -> Markup | None:
    """The lower body's case page: the assignment from above, its reminders and reports, the report form."""
    if principal is None or principal.tenant_id != str(tenant.id):
        return None
    view = await upper_level.lower_view(petition, str(tenant.id), principal, _today())
    if view is None:
        return None
    return Markup(await render_template("staff/_upper_level.html", follow=view, petition_id=str(petition.id), tenant=tenant,
                                        human_size=human_size))
