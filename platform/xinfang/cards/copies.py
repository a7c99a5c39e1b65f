"""Which tenants a card or action may be copied to (抄送): its own line, or those that accepted the sender.

A copy puts a notice into another tenant's inbox, so it must not reach any body a tenant
admin happens to name. A copy goes to a tenant in the sender's line (an ancestor or a
descendant, by the materialised path ``Tenant.ancestor_ids``) or to one whose operator
listed the sender in its bundle's ``[settings] accept_copies_from``. Siblings and unrelated
bodies are refused. The rule is checked when a card type or escalation rule is configured
(a 422 naming the copy) and again when a copy is delivered, since a bundle's copies (trusted,
and loaded before the target may exist) and the receiving tenant's list can change later.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import Message
from ..tenancy.models import Tenant


def copy_refusal(sender: Tenant, target: Tenant | None, slug: str) -> Message | None:
    """Why a copy from ``sender`` to ``target`` (found by ``slug``) may not go, or None when it may."""
    if target is None or not target.active:
        return {"zh": f"没有这个单位：{slug}", "en": f"no such body on the platform: {slug}"}
    sender_id, target_id = str(sender.id), str(target.id)
    if sender_id == target_id:
        return {"zh": "抄送本单位请选择角色", "en": "to copy someone in this body, choose a role"}
    if sender_id in target.ancestor_ids or target_id in sender.ancestor_ids:
        return None
    if sender.slug in target.settings.accept_copies_from:
        return None
    return {"zh": f"{target.name.zh}不是本单位的上级或下级，也未接受本单位的抄送",
            "en": f"{target.name.en} is neither above nor below this body and has not accepted its copies"}


async def copy_target(slug: str) -> Tenant | None:
    return await Tenant.find_one({"slug": slug, "active": True})


async def copy_problems(sender: Tenant, copies: Iterable[dict], path: str) -> dict[str, Message]:
    """Field path -> message for every tenant copy in ``copies`` (as configured: dicts) that may not go."""
    problems: dict[str, Message] = {}
    for index, copy in enumerate(copies):
        if not isinstance(copy, dict) or copy.get("kind") != "tenant" or not isinstance(copy.get("ref"), str):
            continue
        refusal = copy_refusal(sender, await copy_target(copy["ref"]), copy["ref"])
        if refusal:
            problems[f"{path}.{index}.ref"] = refusal
    return problems
