"""Staff pages for instructions (批示): the list (to do / mine: open, overdue, done), one instruction with its
steps and forms, the instructions of one case or card with the form to write one, and the case page's panel."""

from __future__ import annotations

from markupsafe import Markup
from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.models import StaffAccount
from ..auth.permissions import Permission, requires
from ..display_words import words
from ..errors import DomainError
from ..http import refusal_message, staff_page
from ..petitions.service import china_today
from ..petitions.uploads import attachment_download, request_uploads
from ..records.guard import archive_number_of
from ..store.scoped import TenantScope
from ..tenancy.resolution import current_tenant
from . import lists, service
from .http import listed

instruction_pages_bp = Blueprint("instruction_pages", __name__, url_prefix="/t/<tenant_slug>/staff")


def _today() -> str:
    return china_today().isoformat()


async def _people(holder_id: str, writer_id: str) -> list[dict]:
    """Who may be named to act: the active caseworkers of the body holding the case, the writer apart."""
    accounts = await TenantScope(holder_id).repo(StaffAccount).find({"active": True}).sort("display_name").to_list()
    return [{"id": str(a.id), "name": a.display_name} for a in accounts
            if set(a.roles) & set(service.ASSIGNABLE_ROLES) and str(a.id) != writer_id]


def _roles() -> list[dict]:
    return [{"key": r, "name": words("role")[r]} for r in service.ASSIGNABLE_ROLES]


def _case_url(slug: str, item: dict) -> str | None:
    """Where the case or card of an instruction opens for this body, if it does."""
    if item["target_kind"] == "supervision":
        return url_for("supervision_console.supervision_page", tenant_slug=slug, supervision_id=item["target_id"]) if item["held_here"] else None
    if item["held_here"]:
        return url_for("console.petition_page", tenant_slug=slug, petition_id=item["target_id"])
    return url_for("upper_level.followed_page", tenant_slug=slug, petition_id=item["target_id"])


@instruction_pages_bp.get("/instructions")
@requires(Permission.PETITIONS_READ)
async def instructions_page(tenant_slug):
    principal = current_principal()
    default = "open" if Permission.INSTRUCTIONS_WRITE in principal.permissions else "todo"
    data = await listed(request.args.get("tab", default), request.args.get("who", "mine"))
    return await staff_page("staff/instructions.html", data=data, tabs=lists.TAB_NAMES, case_url=_case_url,
                            may_write=Permission.INSTRUCTIONS_WRITE in principal.permissions)


@instruction_pages_bp.get("/instructions/<instruction_id>")
@requires(Permission.PETITIONS_READ)
async def instruction_page(tenant_slug, instruction_id, message=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    row = await service.access_instruction(principal, ctx.tenant_id, instruction_id)
    item = (await lists.views([row], principal, _today()))[0]
    return await staff_page("staff/instruction.html", status, item=item, message=message, case_url=_case_url(tenant_slug, item))


async def target_page(tenant_slug, kind: str, target_id: str, *, message=None, values=None, errors=None, status=200):
    ctx, principal = current_tenant(), current_principal()
    target = await service.access_target(ctx, principal, kind, target_id)
    items = await lists.views(await lists.on_target(ctx.tenant_id, target.tenant_id, kind, target.id), principal, _today())
    back = (url_for("supervision_console.supervision_page", tenant_slug=tenant_slug, supervision_id=target.id) if kind == "supervision"
            else url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=target.id) if target.tenant_id == ctx.tenant_id
            else url_for("upper_level.followed_page", tenant_slug=tenant_slug, petition_id=target.id))
    return await staff_page("staff/instruction_target.html", status, target=target, items=items, back_url=back, message=message,
                            people=await _people(target.tenant_id, principal.account_id), roles=_roles(), values=values or {}, errors=errors or {},
                            may_write=Permission.INSTRUCTIONS_WRITE in principal.permissions and not target.archived_number, today=_today())


@instruction_pages_bp.get("/petitions/<petition_id>/instructions")
@requires(Permission.PETITIONS_READ)
async def case_instructions_page(tenant_slug, petition_id):
    return await target_page(tenant_slug, "petition", petition_id)


@instruction_pages_bp.get("/supervisions/<supervision_id>/instructions")
@requires(Permission.PETITIONS_READ)
async def card_instructions_page(tenant_slug, supervision_id):
    return await target_page(tenant_slug, "supervision", supervision_id)


async def write_submit(tenant_slug, kind: str, target_id: str):
    form = await request.form
    ctx, principal = current_tenant(), current_principal()
    target = await service.access_target(ctx, principal, kind, target_id)
    try:
        await service.do_write_instruction(principal, target, text=form.get("text"), assignee_ids=form.getlist("assignee_ids"),
                                           assignee_roles=form.getlist("assignee_roles"), due_on=form.get("due_on"),
                                           due_working_days=form.get("due_working_days") or None)
    except DomainError as refused:
        return await target_page(tenant_slug, kind, target_id, message=refusal_message(refused), values=dict(form),
                                 errors=refused.fields, status=refused.status)
    if form.get("back") == "case" and kind == "petition" and target.tenant_id == ctx.tenant_id:
        return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=target.id) + "#instructions")
    return redirect(url_for(f"instruction_pages.{'case' if kind == 'petition' else 'card'}_instructions_page", tenant_slug=tenant_slug,
                            **{f"{kind}_id": target.id}))


@instruction_pages_bp.post("/petitions/<petition_id>/instructions")
@requires(Permission.INSTRUCTIONS_WRITE)
async def instruct_case_submit(tenant_slug, petition_id):
    return await write_submit(tenant_slug, "petition", petition_id)


@instruction_pages_bp.post("/supervisions/<supervision_id>/instructions")
@requires(Permission.INSTRUCTIONS_WRITE)
async def instruct_card_submit(tenant_slug, supervision_id):
    return await write_submit(tenant_slug, "supervision", supervision_id)


async def step_submit(tenant_slug, instruction_id, step):
    form = await request.form
    ctx, principal = current_tenant(), current_principal()
    row = await service.access_instruction(principal, ctx.tenant_id, instruction_id)
    try:
        await step(row, principal, form)
    except DomainError as refused:
        return await instruction_page(tenant_slug, instruction_id, message=refusal_message(refused), status=refused.status)
    if form.get("back") == "case" and row.target_kind == "petition" and row.tenant_id == ctx.tenant_id:
        return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=row.target_id) + "#instructions")
    return redirect(url_for("instruction_pages.instruction_page", tenant_slug=tenant_slug, instruction_id=instruction_id))


@instruction_pages_bp.post("/instructions/<instruction_id>/act")
@requires(Permission.PETITIONS_ACT)
async def act_submit(tenant_slug, instruction_id):
    async def act(row, p, form):
        await service.do_record_action(row, p, text=form.get("text"), uploads=await request_uploads())

    return await step_submit(tenant_slug, instruction_id, act)


@instruction_pages_bp.get("/instructions/<instruction_id>/files/<file_id>")
@requires(Permission.PETITIONS_READ)
async def file_download(tenant_slug, instruction_id, file_id):
    ctx, principal = current_tenant(), current_principal()
    row = await service.access_instruction(principal, ctx.tenant_id, instruction_id)
    return attachment_download(await service.action_attachment(row, file_id))


@instruction_pages_bp.post("/instructions/<instruction_id>/fulfil")
@requires(Permission.INSTRUCTIONS_WRITE)
async def fulfil_submit(tenant_slug, instruction_id):
    return await step_submit(tenant_slug, instruction_id, lambda row, p, form: service.do_fulfil(row, p, note=form.get("note")))


@instruction_pages_bp.post("/instructions/<instruction_id>/ask-again")
@requires(Permission.INSTRUCTIONS_WRITE)
async def ask_again_submit(tenant_slug, instruction_id):
    return await step_submit(tenant_slug, instruction_id, lambda row, p, form: service.do_ask_again(
        row, p, text=form.get("text"), due_on=form.get("due_on"), due_working_days=form.get("due_working_days") or None))


async def petition_panel(tenant, petition, principal) -> Markup | None:
    """The case page of the body holding the case: its instructions, their steps, and the forms this person may use."""
    if principal is None or principal.tenant_id != str(tenant.id):
        return None
    rows = await lists.on_target(str(tenant.id), petition.tenant_id, "petition", str(petition.id))
    may_write = (Permission.INSTRUCTIONS_WRITE in principal.permissions
                 and not await archive_number_of(TenantScope(petition.tenant_id), "petition", petition.id))  # archived: closed for good
    if not rows and not may_write:
        return None
    items = await lists.views(rows, principal, _today())
    return Markup(await render_template("staff/_instructions_panel.html", items=items, tenant=tenant, petition_id=str(petition.id),
                                        may_write=may_write, people=await _people(petition.tenant_id, principal.account_id) if may_write else [],
                                        roles=_roles(), values={}, errors={}, today=_today()))
