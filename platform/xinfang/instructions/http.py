"""JSON routes for instructions (批示), under /t/<slug>/api/:

  GET  instructions?tab=todo|open|overdue|done&who=mine|all      the to-do list, or this body's instructions
  GET  petitions/<id>/instructions     supervisions/<id>/instructions   the instructions on a case or card
  POST petitions/<id>/instructions     supervisions/<id>/instructions   write one {text, assignee_ids, assignee_roles,
                                                                        due_on | due_working_days}
  GET  instructions/<id>
  POST instructions/<id>/actions {text}                  a person named reports what was done (JSON, or multipart with a
                                                         ``payload`` JSON field and ``files``)
  GET  instructions/<id>/files/<file_id>                 a file of an action report, for either body
  POST instructions/<id>/fulfil {note?}                  a leader of the writing body confirms
  POST instructions/<id>/ask-again {text, due_on?, due_working_days?}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import parse_body
from ..petitions.service import china_today
from ..petitions.uploads import attachment_download, read_uploads
from ..tenancy.resolution import current_tenant
from . import lists, service

instructions_api_bp = Blueprint("instructions", __name__, url_prefix="/t/<tenant_slug>/api")


class InstructionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT, description="the instruction (批示内容)")
    assignee_ids: list[str] = Field(default_factory=list, max_length=50, description="accounts of the body holding the case")
    assignee_roles: list[str] = Field(default_factory=list, max_length=3, description="registrar, handler or leader")
    due_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD, a working day")
    due_working_days: int | None = Field(default=None, ge=1, le=service.MAX_WORKING_DAYS, description="or N working days from today")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT, description="what was done (落实情况)")


class FulfilIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=service.MAX_TEXT)


class AskAgainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT, description="what is still missing")
    due_on: str | None = Field(default=None, max_length=10)
    due_working_days: int | None = Field(default=None, ge=1, le=service.MAX_WORKING_DAYS)


def _today() -> str:
    return china_today().isoformat()


async def listed(tab: str, who: str) -> dict:
    """The list a tab shows: the to-do list of this person, or this body's (or this leader's) instructions."""
    ctx, principal = current_tenant(), current_principal()
    tab = tab if tab in lists.TABS else "todo"
    rows = (await lists.todo_list(ctx.tenant_id, principal) if tab == "todo"
            else await lists.leader_list(ctx.tenant_id, tab, None if who == "all" else principal.account_id))
    return {"tab": tab, "who": "all" if who == "all" else "mine", "items": await lists.views(rows, principal, _today())}


async def on_target(kind: str, target_id: str) -> dict:
    ctx, principal = current_tenant(), current_principal()
    target = await service.access_target(ctx, principal, kind, target_id)
    rows = await lists.on_target(ctx.tenant_id, target.tenant_id, kind, target.id)
    return {"target": {"kind": kind, "id": target.id, "label": target.label}, "items": await lists.views(rows, principal, _today())}


async def write(kind: str, target_id: str) -> tuple[dict, int]:
    body = await parse_body(InstructionIn)
    ctx, principal = current_tenant(), current_principal()
    target = await service.access_target(ctx, principal, kind, target_id)
    row = await service.do_write_instruction(principal, target, **body.model_dump())
    return (await lists.views([row], principal, _today()))[0], 201


async def one(instruction_id: str):
    ctx, principal = current_tenant(), current_principal()
    return principal, await service.access_instruction(principal, ctx.tenant_id, instruction_id)


async def shown(row, principal) -> dict:
    return (await lists.views([row], principal, _today()))[0]


@instructions_api_bp.get("/instructions")
@requires(Permission.PETITIONS_READ)
async def list_instructions(tenant_slug):
    """``tab=todo`` (default): open instructions naming me; open / overdue / done: this body's, ``who=mine`` (default) or all."""
    return await listed(request.args.get("tab", "todo"), request.args.get("who", "mine"))


@instructions_api_bp.get("/petitions/<petition_id>/instructions")
@requires(Permission.PETITIONS_READ)
async def case_instructions(tenant_slug, petition_id):
    """The instructions on a case of this body, or on a case it assigned down (its own only)."""
    return await on_target("petition", petition_id)


@instructions_api_bp.get("/supervisions/<supervision_id>/instructions")
@requires(Permission.PETITIONS_READ)
async def card_instructions(tenant_slug, supervision_id):
    return await on_target("supervision", supervision_id)


@instructions_api_bp.post("/petitions/<petition_id>/instructions")
@requires(Permission.INSTRUCTIONS_WRITE)
@document_request(InstructionIn)
async def instruct_case(tenant_slug, petition_id):
    """批示 on a case: who must act (accounts or roles of the body holding it), by when."""
    return await write("petition", petition_id)


@instructions_api_bp.post("/supervisions/<supervision_id>/instructions")
@requires(Permission.INSTRUCTIONS_WRITE)
@document_request(InstructionIn)
async def instruct_card(tenant_slug, supervision_id):
    """批示 on a supervision card or action of this body."""
    return await write("supervision", supervision_id)


@instructions_api_bp.get("/instructions/<instruction_id>")
@requires(Permission.PETITIONS_READ)
async def show_instruction(tenant_slug, instruction_id):
    principal, row = await one(instruction_id)
    return await shown(row, principal)


@instructions_api_bp.post("/instructions/<instruction_id>/actions")
@requires(Permission.PETITIONS_ACT)
@document_request(ActionIn)
async def record_action(tenant_slug, instruction_id):
    """落实情况: one of the people named reports what was done (JSON, or multipart with a `payload` JSON field and `files`:
    PDF, JPEG or PNG by their content, at most 5 of 5 MB)."""
    body, uploads = await read_uploads(ActionIn)
    principal, row = await one(instruction_id)
    return await shown(await service.do_record_action(row, principal, text=body.text, uploads=uploads), principal)


@instructions_api_bp.get("/instructions/<instruction_id>/files/<file_id>")
@requires(Permission.PETITIONS_READ)
async def instruction_file(tenant_slug, instruction_id, file_id):
    """A file attached to an action report, for the body holding the case and the body that wrote the instruction."""
    _, row = await one(instruction_id)
    return attachment_download(await service.action_attachment(row, file_id))


@instructions_api_bp.post("/instructions/<instruction_id>/fulfil")
@requires(Permission.INSTRUCTIONS_WRITE)
@document_request(FulfilIn)
async def fulfil(tenant_slug, instruction_id):
    """A leader of the writing body confirms it fulfilled (never one who reported the action: 403)."""
    body = FulfilIn() if not (await request.get_data()).strip() else await parse_body(FulfilIn)
    principal, row = await one(instruction_id)
    return await shown(await service.do_fulfil(row, principal, note=body.note), principal)


@instructions_api_bp.post("/instructions/<instruction_id>/ask-again")
@requires(Permission.INSTRUCTIONS_WRITE)
@document_request(AskAgainIn)
async def ask_again(tenant_slug, instruction_id):
    body = await parse_body(AskAgainIn)
    principal, row = await one(instruction_id)
    return await shown(await service.do_ask_again(row, principal, text=body.text, due_on=body.due_on,
                                                  due_working_days=body.due_working_days), principal)
