"""Who hears of an instruction's steps, in their own body's inbox (notifications/): the people named when it is
written or asked again, the writer when action is reported, both sides when it falls overdue. Each notice has a
key made of the instruction and its step number, so a repeat sends nothing twice. Called from the
event each step's write carries (plugin.xinfang_handle_event)."""

from __future__ import annotations

from beanie.odm.utils.parsing import parse_obj

from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.service import get_tenant
from ..timefmt import local_date
from .models import Instruction

WORDS = {
    "written": ("instruction", "领导批示：{label}。{text}（请于 {due} 前落实）", "A leader's instruction on {label}: {text} (act by {due})"),
    "asked_again": ("instruction", "领导要求继续落实批示：{label}（期限 {due}）", "Asked again to act on the instruction on {label} (by {due})"),
    "acted": ("instruction", "批示落实情况已报告，请确认：{label}", "Action reported on your instruction on {label}; please check it"),
    "fulfilled": ("instruction", "批示已确认落实到位：{label}", "The instruction on {label} was marked fulfilled"),
    "overdue": ("instruction_overdue", "批示逾期未落实：{label}（期限 {due}）", "Instruction overdue: {label} (due {due})"),
}


async def _link(tenant_id: str, instruction: Instruction) -> str | None:
    tenant = await get_tenant(tenant_id)
    return f"/t/{tenant.slug}/staff/instructions/{instruction.id}" if tenant else None


async def notify_instruction(instruction: Instruction, kind: str, step: int) -> None:
    from ..notifications.service import do_notify

    notice_kind, zh, en = WORDS[kind]
    values = {"label": instruction.target_label, "text": instruction.text[:80], "due": instruction.due_on}
    text = {"zh": zh.format(**(values | {"due": local_date(instruction.due_on)})), "en": en.format(**values)}  # 2027年1月6日 in Chinese
    key = f"instruction:{instruction.id}:{step}"
    to_assignees = kind in ("written", "asked_again", "overdue", "fulfilled")
    to_author = kind in ("acted", "overdue")
    if to_assignees:
        scope, link = TenantScope(instruction.tenant_id), await _link(instruction.tenant_id, instruction)
        for account_id in instruction.assignee_ids:
            await do_notify(scope, f"{key}:{account_id}", kind=notice_kind, roles=[], account_id=account_id, text=text, link=link,
                            subject_id=str(instruction.id))
        if instruction.assignee_roles:
            await do_notify(scope, f"{key}:roles", kind=notice_kind, roles=list(instruction.assignee_roles), text=text, link=link,
                            subject_id=str(instruction.id))
    if to_author:
        scope, link = TenantScope(instruction.author_tenant_id), await _link(instruction.author_tenant_id, instruction)
        await do_notify(scope, f"{key}:author", kind=notice_kind, roles=[], account_id=instruction.author_id, text=text, link=link,
                        subject_id=str(instruction.id))


async def notify_for(event) -> None:
    """plugin.xinfang_handle_event: the notices of an instruction's step (``instruction.<step>``), idempotent per step."""
    if not event.name.startswith("instruction.") or not event.subject_id:
        return
    data = event.data or {}
    kind, step = data.get("kind"), data.get("step")
    if kind not in WORDS or not isinstance(step, int):
        return
    raw = await Instruction.get_pymongo_collection().find_one({"_id": parse_object_id(event.subject_id)}) if parse_object_id(event.subject_id) else None
    if raw is not None:
        await notify_instruction(parse_obj(Instruction, raw), kind, step)
