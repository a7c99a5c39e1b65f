"""The tenant admin's page for card types, action types and escalation rules: plain forms, no code.

Each form is turned into the same definition a bundle holds and saved through
``configuration.do_define``; what is wrong comes back next to its field.
"""

from __future__ import annotations

import re

from bson import ObjectId
from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..calendar import PeriodUnit
from ..display_words import word, words
from ..errors import DomainError, InvalidInput
from ..i18n import current_lang
from ..navigation import staff_home_url
from ..tenancy.models import Tenant
from ..tenancy.resolution import current_tenant
from ..tenancy.service import children_of
from . import configuration
from .copies import copy_target
from .models import ActionKind, ActionType, CardType, EscalationRule

supervision_admin_bp = Blueprint("supervision_admin", __name__, url_prefix="/t/<tenant_slug>/admin/supervision")
ROWS = 3  # follow-up visits and copy targets offered per form
MODELS = {"card": CardType, "action": ActionType, "rule": EscalationRule}
UNIT_NAMES = {unit: words("period_unit")[unit.value] for unit in PeriodUnit}
KIND_NAMES = {kind: words("action_kind")[kind.value] for kind in ActionKind}


FIELD_LABELS = {
    "key": {"zh": "代码", "en": "Key"}, "name": {"zh": "名称", "en": "Name"}, "colour": {"zh": "颜色", "en": "Colour"},
    "colour_name": {"zh": "颜色名称", "en": "Colour name"}, "when": {"zh": "适用情形", "en": "When to use"},
    "consequence": {"zh": "后果", "en": "What follows"}, "rank": {"zh": "严重程度", "en": "Severity"},
    "response_deadline": {"zh": "说明期限", "en": "Answer deadline"}, "follow_up_visits": {"zh": "回访", "en": "Follow-up visits"},
    "copy_to": {"zh": "抄送", "en": "Copied to"}, "reminder_working_days": {"zh": "提前提醒", "en": "Reminder"},
    "document_template": {"zh": "文书模板", "en": "Document template"}, "kind": {"zh": "形式", "en": "Form"},
    "trigger": {"zh": "触发条件", "en": "Trigger"}, "outcome": {"zh": "处理", "en": "Outcome"}, "reason": {"zh": "理由", "en": "Reason"},
    "body": {"zh": "内容", "en": "Content"},
}


def _text(form, name: str) -> str:
    return (form.get(name) or "").strip()


def _name(form, prefix: str) -> dict | None:
    name = {lang: _text(form, f"{prefix}_{lang}") for lang in ("zh", "en") if _text(form, f"{prefix}_{lang}")}
    return name or None


def _int(form, name: str):
    value = _text(form, name)
    try:
        return int(value) if value else None
    except ValueError:
        return value  # the schema says "must be a number" next to the field


def _period(form, prefix: str) -> dict | None:
    amount, unit = _int(form, f"{prefix}_amount"), _text(form, f"{prefix}_unit")
    return {"amount": amount, "unit": unit} if amount is not None or unit else None


def _copies(form, prefix: str) -> list[dict]:
    rows = []
    for i in range(ROWS):
        row = {"kind": _text(form, f"{prefix}_kind_{i}"), "ref": _text(form, f"{prefix}_ref_{i}"), "name": _name(form, f"{prefix}_name_{i}")}
        if row["ref"] or row["name"]:
            rows.append({k: v for k, v in row.items() if v})
    return rows


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def definition_from_form(what: str, form) -> dict:
    """The bundle-shaped definition the admin's form describes (checked by the bundle schema afterwards).
    Never the document wording: it has its own editor (cards/wording_admin.py), see ``keep_wording``."""
    if what == "card":
        return _clean({
            "name": _name(form, "name"), "colour": _text(form, "colour"), "colour_name": _name(form, "colour_name"),
            "when": _name(form, "when"), "consequence": _name(form, "consequence"), "rank": _int(form, "rank"),
            "response_deadline": _period(form, "deadline"),
            "follow_up_visits": [p for i in range(ROWS) if (p := _period(form, f"visit_{i}"))],
            "copy_to": _copies(form, "copy"), "needs_approval": form.get("needs_approval") == "1",
            "reminder_working_days": _int(form, "reminder_working_days"),
        }) | {"needs_approval": form.get("needs_approval") == "1"}
    if what == "action":
        return _clean({
            "name": _name(form, "name"), "kind": _text(form, "kind"), "response_deadline": _period(form, "deadline"),
            "reminder_working_days": _int(form, "reminder_working_days"),
        }) | {"needs_approval": form.get("needs_approval") == "1", "record_required": form.get("record_required") == "1"}
    trigger = _clean({"card_type": _text(form, "trigger_card_type"), "condition": _text(form, "condition"),
                      "period": _period(form, "period"), "count": _int(form, "count")})
    outcome = _clean({"action": _text(form, "action"), "card_type": _text(form, "outcome_card_type"), "copy_to": _copies(form, "copy")})
    return _clean({"trigger": trigger or None, "outcome": outcome or None, "reason": _name(form, "reason")})


def form_values(what: str, definition: dict) -> dict[str, str]:
    """A stored definition as the flat field names of its form (the inverse of ``definition_from_form``)."""
    flat: dict[str, str] = {"key": definition.get("key", "")}

    def name(prefix: str, value: dict | None) -> None:
        for lang in ("zh", "en"):
            flat[f"{prefix}_{lang}"] = (value or {}).get(lang, "")

    def period(prefix: str, value: dict | None) -> None:
        flat[f"{prefix}_amount"], flat[f"{prefix}_unit"] = str((value or {}).get("amount", "")), (value or {}).get("unit", "")

    def copies(rows: list[dict]) -> None:
        for i, row in enumerate(rows[:ROWS]):
            flat[f"copy_kind_{i}"], flat[f"copy_ref_{i}"] = row.get("kind", ""), row.get("ref", "")
            name(f"copy_name_{i}", row.get("name"))

    if what == "rule":
        trigger, outcome = definition.get("trigger") or {}, definition.get("outcome") or {}
        flat.update(trigger_card_type=trigger.get("card_type", ""), condition=trigger.get("condition", ""), count=str(trigger.get("count", "")),
                    action=outcome.get("action", ""), outcome_card_type=outcome.get("card_type", ""))
        period("period", trigger.get("period"))
        copies(outcome.get("copy_to") or [])
        name("reason", definition.get("reason"))
        return flat
    for field in ("name", "colour_name", "when", "consequence"):
        name(field, definition.get(field))
    period("deadline", definition.get("response_deadline"))
    for i, visit in enumerate((definition.get("follow_up_visits") or [])[:ROWS]):
        period(f"visit_{i}", visit)
    copies(definition.get("copy_to") or [])
    for field in ("colour", "kind"):
        flat[field] = definition.get(field) or ""
    for field in ("rank", "reminder_working_days"):
        flat[field] = "" if definition.get(field) is None else str(definition[field])
    for field in ("needs_approval", "record_required"):
        flat[field] = "1" if definition.get(field) else ""
    return flat


HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def picker_colour(value) -> str:
    """What the colour picker and its swatch show: the value if it is #rrggbb (the one form a colour input
    takes, and safe in a style attribute), grey for anything else, e.g. a refused submission's text."""
    return value if isinstance(value, str) and HEX_COLOUR.fullmatch(value) else "#888888"


def saved_words(saved: str | None, rows: dict[str, list], lang: str) -> str | None:
    """"card:yellow" (what the redirect after saving carries) as people say it: 监督卡「黄牌」."""
    if not saved:
        return None
    what, _, key = saved.partition(":")
    row = next((r for r in rows.get(what, []) if r.key == key), None)
    names = (row.reason if what == "rule" else row.name).model_dump() if row else {}
    name = names.get(lang) or names.get("zh") or key
    return f"{word('definition_kind', what, lang)}「{name}」" if lang == "zh" else f"{word('definition_kind', what, lang)} “{name}”"


async def _page(status: int = 200, *, editing: str | None = None, values: dict | None = None, errors: dict | None = None,
                saved: str | None = None):
    ctx = current_tenant()
    scope = ctx.scope
    cards = await scope.repo(CardType).find({}).sort("rank").to_list()
    actions = await scope.repo(ActionType).find({}).sort("key").to_list()
    rules = await scope.repo(EscalationRule).find({}).sort("key").to_list()
    what, _, key = (editing or "").partition(":")
    row = await scope.repo(MODELS[what]).find_one({"key": key}) if what in MODELS and key else None
    if values is None and what in MODELS:
        values = form_values(what, row.model_dump(mode="json") if row else {"key": key, "needs_approval": True})
    html = await render_template("admin/supervision.html", tenant=ctx.tenant, principal=current_principal(), cards=cards, actions=actions,
                                 rules=rules, what=what, values=values or {}, errors=errors or {}, existing_key=row.key if row else "",
                                 saved=saved_words(saved, {"card": cards, "action": actions, "rule": rules}, current_lang()), rows=range(ROWS),
                                 units=UNIT_NAMES, kinds=KIND_NAMES, labels=FIELD_LABELS, picker_colour=picker_colour((values or {}).get("colour")),
                                 errs=lambda *prefixes: [m for path, m in (errors or {}).items() if path.split(".")[0] in prefixes],
                                 copy_choices=await copy_suggestions(ctx.tenant), home_url=staff_home_url(current_principal(), ctx.tenant))
    return html, status, {"Cache-Control": "no-store"}


async def keep_wording(scope, what: str, key: str, data: dict) -> dict:
    """``data`` with the type's document wording as it is stored now: the settings form does not carry it, so saving
    the form keeps a wording changed meanwhile in its own editor (another tab) instead of writing an older copy back."""
    if what not in ("card", "action") or not key:
        return data
    row = await scope.repo(MODELS[what]).find_one({"key": key})
    return data | {"document_template": row.document_template} if row is not None and row.document_template else data


@supervision_admin_bp.get("")
@requires(Permission.SUPERVISION_CONFIGURE)
async def supervision_admin_page(tenant_slug):
    return await _page(editing=request.args.get("edit"), saved=request.args.get("saved"))


KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
COPY_ROLES = ("leader", "handler", "registrar", "auditor", "tenant_admin")


async def copy_suggestions(tenant) -> list[dict]:
    """What a copy's box offers to pick from: this body's roles, the bodies above it and those directly below
    (copies.py lets a copy reach its own line; a body that accepted copies can still be typed)."""
    above = await Tenant.find({"_id": {"$in": [ObjectId(i) for i in tenant.ancestor_ids]}, "active": True}).to_list() if tenant.ancestor_ids else []
    below = await children_of(tenant)
    role_words = words("role")
    return ([{"ref": role, "name": role_words[role], "kind": {"zh": "本单位角色", "en": "role here"}} for role in COPY_ROLES]
            + [{"ref": t.slug, "name": t.name.model_dump(), "kind": {"zh": "上级单位", "en": "body above"}} for t in above]
            + [{"ref": t.slug, "name": t.name.model_dump(), "kind": {"zh": "下级单位", "en": "body below"}} for t in below])


async def named_copies(data: dict) -> dict:
    """A copy to a role or a body left without a name is named as the role or the body is (a department's name is
    the admin's to give): the admin picks 领导 or 库尔勒市纪委 and types nothing more."""
    rows = data.get("copy_to") or (data.get("outcome") or {}).get("copy_to") or []
    for row in rows:
        if row.get("name") or not row.get("ref"):
            continue
        if row.get("kind") == "role" and row["ref"] in words("role"):
            row["name"] = dict(words("role")[row["ref"]])
        elif row.get("kind") == "tenant" and (target := await copy_target(row["ref"])) is not None:
            row["name"] = target.name.model_dump()
    return data


async def unused_key(scope, what: str, form) -> str:
    """A key for a new definition the admin left without one (as form designers name a field from its label): its
    English name in lower case with ``_`` (``Orange card`` -> ``orange_card``), else ``card_2``; never one in use."""
    english = _text(form, "reason_en" if what == "rule" else "name_en").lower()
    base = re.sub(r"[^a-z0-9]+", "_", english).strip("_")[:40].strip("_")
    base = base if KEY_PATTERN.fullmatch(base) else what
    taken = {row.key for row in await scope.repo(MODELS[what]).find({}).to_list()}
    if base != what and base not in taken:
        return base
    return next(f"{base}_{n}" for n in range(2 if base != what else 1, len(taken) + 3) if f"{base}_{n}" not in taken)


@supervision_admin_bp.post("/<what>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def define_from_form(tenant_slug, what):
    form = await request.form
    what = what if what in MODELS else "card"
    scope = current_tenant().scope
    # Editing keeps the definition's key (a changed key would be another definition); a new one may leave it out.
    key = _text(form, "existing_key") or _text(form, "key") or await unused_key(scope, what, form)
    data = await keep_wording(scope, what, key, await named_copies(definition_from_form(what, form)))
    try:
        if _text(form, "new") and await scope.repo(MODELS[what]).find_one({"key": key}):  # the new form's, not an edit
            raise InvalidInput(fields={"key": {"zh": "这个代码已有定义在用，请换一个，或留空由系统生成",
                                               "en": "this key is in use by another definition: choose another or leave it empty"}})
        await configuration.do_define(scope, MODELS[what], key, data, current_principal())
    except DomainError as refused:
        editing = f"{what}:{_text(form, 'existing_key')}"
        return await _page(refused.status, editing=editing, values=dict(form), errors=refused.fields)
    return redirect(url_for("supervision_admin.supervision_admin_page", tenant_slug=tenant_slug, saved=f"{what}:{key}"))
