"""Reading instructions: the leader's list (批示件: open, overdue, done), the to-do list of the people named,
the instructions on one case or card, and each as a view with the steps this person may take."""

from __future__ import annotations

from beanie.odm.utils.parsing import parse_obj

from ..auth.permissions import Permission
from ..auth.principal import Principal
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.models import Tenant
from .models import STATE_NAMES, STEP_NAMES, TARGET_NAMES, Instruction, InstructionState

TABS = ("todo", "open", "overdue", "done")
TAB_NAMES = {
    "todo": {"zh": "待我落实", "en": "For me to act on"},
    "open": {"zh": "我的批示：未办结", "en": "My instructions: open"},
    "overdue": {"zh": "我的批示：逾期", "en": "My instructions: overdue"},
    "done": {"zh": "我的批示：已办结", "en": "My instructions: fulfilled"},
}
LIMIT = 200


async def leader_list(tenant_id: str, tab: str, author_id: str | None) -> list[Instruction]:
    """What this body's leaders wrote (``author_id``: one leader's own), wherever the case is held."""
    query: dict = {"author_tenant_id": {"$eq": tenant_id}}
    if author_id:
        query["author_id"] = {"$eq": author_id}
    if tab == "done":
        query["state"] = {"$in": [InstructionState.FULFILLED.value]}
    else:
        query["state"] = {"$in": [InstructionState.OPEN.value, InstructionState.ACTED.value]}
        if tab == "overdue":
            query["overdue"] = True
    order = [("fulfilled_at", -1)] if tab == "done" else [("due_on", 1)]
    cursor = Instruction.get_pymongo_collection().find(query).sort(order).limit(LIMIT)
    rows = [parse_obj(Instruction, raw) async for raw in cursor]
    # Those waiting for a leader's check come first: the list is the leader's to-do as well.
    return sorted(rows, key=lambda row: row.state != InstructionState.ACTED) if tab != "done" else rows


async def todo_list(tenant_id: str, principal: Principal) -> list[Instruction]:
    """Open instructions of this body that name this person (by account or by role), soonest first."""
    rows = await TenantScope(tenant_id).repo(Instruction).find({"state": InstructionState.OPEN.value}).sort("due_on").limit(1000).to_list()
    return [row for row in rows if row.names(principal.account_id, principal.roles) and row.author_id != principal.account_id][:LIMIT]


async def on_target(tenant_id: str, holder_id: str, kind: str, target_id: str) -> list[Instruction]:
    """The instructions on one case or card that this body may see: all, when it holds it; its own, when it follows it."""
    rows = await TenantScope(holder_id).repo(Instruction).find({"target_kind": kind, "target_id": target_id}).sort("created_at").to_list()
    return [row for row in rows if tenant_id in (row.tenant_id, row.author_tenant_id)]


async def tenant_names(instructions: list[Instruction]) -> dict[str, dict]:
    ids = {i.tenant_id for i in instructions} | {i.author_tenant_id for i in instructions}
    oids = [oid for oid in (parse_object_id(i) for i in ids) if oid]
    return {str(t.id): t.name.model_dump() for t in await Tenant.find({"_id": {"$in": oids}}).to_list()} if oids else {}


def view(instruction: Instruction, principal: Principal, tenants: dict[str, dict], today_iso: str, files: dict | None = None) -> dict:
    """One instruction as the pages and the API show it, with the steps ``principal`` may take now."""
    mine = principal.tenant_id
    state = instruction.state
    may_act = (mine == instruction.tenant_id and state == InstructionState.OPEN and Permission.PETITIONS_ACT in principal.permissions
               and instruction.names(principal.account_id, principal.roles) and principal.account_id != instruction.author_id)
    leader_side = (mine == instruction.author_tenant_id and Permission.INSTRUCTIONS_WRITE in principal.permissions
                   and principal.account_id not in instruction.acted_by)
    unknown = {"zh": "（已撤销的单位）", "en": "(a body no longer active)"}
    return {
        "id": str(instruction.id), "tenant_id": instruction.tenant_id, "author_tenant_id": instruction.author_tenant_id,
        "holder": tenants.get(instruction.tenant_id, unknown), "author_body": tenants.get(instruction.author_tenant_id, unknown),
        "held_here": mine == instruction.tenant_id, "written_here": mine == instruction.author_tenant_id,
        "target_kind": instruction.target_kind, "target_kind_name": TARGET_NAMES[instruction.target_kind],
        "target_id": instruction.target_id, "target_label": instruction.target_label,
        "text": instruction.text, "author_name": instruction.author_name, "written_at": instruction.created_at.isoformat(),
        "assignee_ids": instruction.assignee_ids, "assignee_roles": instruction.assignee_roles, "assignee_names": instruction.assignee_names,
        "due_on": instruction.due_on, "state": state.value, "state_name": STATE_NAMES[state],
        "overdue": instruction.overdue or (state == InstructionState.OPEN and instruction.due_on < today_iso),
        "flagged_overdue": instruction.overdue,
        "fulfilled_at": instruction.fulfilled_at.isoformat() if instruction.fulfilled_at else None,
        "steps": [{"at": s.at.isoformat(), "kind": s.kind, "name": STEP_NAMES[s.kind], "body": tenants.get(s.tenant_id, unknown),
                   "actor_name": s.actor_name, "text": s.text, "due_on": s.due_on,
                   "attachments": [(files or {})[a] for a in s.attachment_ids if a in (files or {})]} for s in instruction.steps],
        "may_act": may_act,
        "may_fulfil": leader_side and state == InstructionState.ACTED,
        "may_ask_again": leader_side and state != InstructionState.FULFILLED,
    }


async def views(instructions: list[Instruction], principal: Principal, today_iso: str) -> list[dict]:
    from .service import attachment_rows

    tenants = await tenant_names(instructions)
    return [view(i, principal, tenants, today_iso, await attachment_rows(i)) for i in instructions]
