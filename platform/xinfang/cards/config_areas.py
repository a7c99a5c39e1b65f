"""Card types, action types and escalation rules as configuration areas (issue 12: versions, rollback, export, import).

Areas ``card_type:<key>``, ``action_type:<key>``, ``escalation_rule:<key>``; a version's content is the definition as
``GET /api/card-types`` shows it (what ``PUT`` accepts) without ``document_template``, which is the area
``card_wording:<key>`` / ``action_wording:<key>`` of its own (cards/wording.py): applying a definition keeps the
wording stored now, so rolling back one never undoes the other. The writer is ``configuration.do_define``.

Import: ``check`` runs the checks ``do_define`` runs, without writing. A rule's card types must exist here already:
the check is given one area's content, not the rest of the import, so a rule naming a card type that arrives in the
same import is refused until that card type has been imported (import it first, then the rule).
"""

from __future__ import annotations

import re
from functools import partial

from ..errors import InvalidInput
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, register_config_area
from .configuration import DEFINITION_AREAS, definition_content, definition_problems_here, do_define

MODELS = {prefix: model for model, prefix in DEFINITION_AREAS.items()}
TITLES = {"card_type": {"zh": "监督卡", "en": "Card type"}, "action_type": {"zh": "监督措施", "en": "Action type"},
          "escalation_rule": {"zh": "升级规则", "en": "Escalation rule"}}
NOT_THIS_ONE = {"zh": "这一版的内容与这项配置不符", "en": "this content does not belong to this definition"}


def _key_of(area: str, content) -> str | None:
    key = area.partition(":")[2]
    return key if isinstance(content, dict) and content.get("key") == key else None


async def _apply(prefix: str, scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """The whole definition again through ``do_define``, with the wording the type has now."""
    model = MODELS[prefix]
    key = content.get("key") if isinstance(content, dict) else None
    if not isinstance(key, str):
        raise InvalidInput(fields={"key": NOT_THIS_ONE})
    data = {name: value for name, value in content.items() if name != "document_template"}
    row = await scope.repo(model).find_one({"key": key})
    if row is not None and getattr(row, "document_template", None):
        data["document_template"] = row.document_template
    await do_define(scope, model, key, data, actor, note=note)


async def _check(prefix: str, scope: TenantScope, area: str, content: dict) -> dict:
    """What ``do_define`` would refuse in ``content``, by path, in Chinese and English; nothing is written."""
    key = _key_of(area, content)
    if key is None:
        return {"key": NOT_THIS_ONE}
    data = {name: value for name, value in content.items() if name != "document_template"}
    _, problems = await definition_problems_here(scope, MODELS[prefix], key, data)
    return problems


async def _current(prefix: str, scope: TenantScope) -> dict:
    """Every definition of this kind the tenant has (export; an area with versions is exported from its newest)."""
    return {f"{prefix}:{row.key}": definition_content(row) async for row in scope.repo(MODELS[prefix]).find({})}


def _in(name, lang: str) -> str:
    names = name.model_dump() if hasattr(name, "model_dump") else (name or {})
    return names.get(lang) or names.get("zh") or ""


async def _subject(prefix: str, scope: TenantScope, key: str, lang: str) -> str | None:
    """The type's name (黄牌, 提醒函); a rule by the words it is shown with."""
    row = await scope.repo(MODELS[prefix]).find_one({"key": key})
    if row is None:
        return None
    text = _in(row.reason if prefix == "escalation_rule" else row.name, lang)
    return (text[:40] + "…" if len(text) > 40 else text) or None


WORDS = {
    "key": ("代码", "key"), "name": ("名称", "name"), "colour": ("颜色", "colour"), "colour_name": ("颜色名称", "colour name"),
    "when": ("适用情形", "when to use"), "consequence": ("后果", "what follows"), "rank": ("严重程度", "severity"),
    "response_deadline": ("说明期限", "answer deadline"), "response_form": ("说明表单", "answer form"),
    "follow_up_visits": ("回访", "follow-up visits"), "copy_to": ("抄送", "copied to"), "needs_approval": ("需要报批", "needs approval"),
    "reminder_working_days": ("提前提醒（工作日）", "reminder (working days before)"), "kind": ("形式", "form"),
    "record_required": ("须有谈话记录", "written record required"), "trigger": ("触发条件", "trigger"), "outcome": ("处理", "outcome"),
    "reason": ("理由", "reason"), "card_type": ("监督卡", "card type"), "condition": ("条件", "condition"), "period": ("期间", "period"),
    "count": ("次数", "count"), "action": ("处理方式", "what is done"), "amount": ("数量", "amount"), "unit": ("单位", "unit"),
    "ref": ("对象", "whom"), "zh": ("中文", "Chinese"), "en": ("英文", "English"),
}
_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


def _path_label(path: str, lang: str) -> str | None:
    """``response_deadline.amount`` -> 说明期限 · 数量; ``copy_to[1].name.zh`` -> 抄送 · 第 1 项 · 名称 · 中文."""
    parts = []
    for item, plain in _SEGMENT.findall(path):
        if item:
            if not item.isdigit():
                return None
            parts.append(f"第 {item} 项" if lang == "zh" else f"item {item}")
        elif plain in WORDS:
            parts.append(WORDS[plain][0 if lang == "zh" else 1])
        else:
            return None
    return " · ".join(parts) or None


def register_definition_areas() -> None:
    """Called once from cards/plugin.py (again on a reload: a second registration replaces the first)."""
    for prefix in MODELS:
        register_config_area(prefix, TITLES[prefix], partial(_apply, prefix), check=partial(_check, prefix),
                             current=partial(_current, prefix), path_label=_path_label, subject=partial(_subject, prefix))

