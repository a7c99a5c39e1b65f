"""The form builder's verbs: a draft per form (or archive document type) edited one step at a time, then published.

Every step reads the draft's schema into the model (``forms.model.Form``), changes it, and writes the schema back
into the draft (``forms.drafts.FormDraft``); nothing reaches citizens until ``do_publish_draft``, which goes
through the same writers as the API: ``service.do_publish_form_version`` for a form (a new immutable version,
gate-checked) and ``archives.type_admin.do_save_archive_type`` for an archive document type. Both record a
configuration version (areas ``form:<key>`` and ``archive_type:<key>``), and the ``form`` area registers its
writer here so a rollback or an import publishes the old schema as a new version.

The builder's messages (``builder_problems``) and the gate's are both shown next to the field they are about.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from ..archives.models import ArchiveDocumentType
from ..archives.type_admin import TYPE_KEY, do_save_archive_type
from ..errors import Conflict, InvalidInput, NotFound
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, register_config_area
from . import service
from .config_words import schema_for_version, schema_from_version, schema_path_label
from .drafts import FormDraft
from .model import IDENTITY_GROUP_KEY, Choice, Condition, Field, Form, builder_problems, new_field
from .schema_safety import SchemaRejected, check_tenant_schema, schema_digest

AREAS = ("form", "archive_type")
FORM_AREA = "form"

# What the type picker offers, in its order. "subject" and "identity" add ready-made groups.
PICKER = ("short_text", "long_text", "single_choice", "multiple_choice", "date", "number", "amount", "region", "phone",
          "id_number", "email", "file", "checkbox", "subject", "identity", "section")
KIND_WORDS = {
    "short_text": {"zh": "短文本", "en": "Short text"},
    "long_text": {"zh": "长文本", "en": "Long text"},
    "single_choice": {"zh": "单选", "en": "Single choice"},
    "multiple_choice": {"zh": "多选", "en": "Multiple choice"},
    "date": {"zh": "日期", "en": "Date"},
    "number": {"zh": "数字", "en": "Number"},
    "amount": {"zh": "金额", "en": "Amount"},
    "region": {"zh": "行政区划", "en": "Administrative division"},
    "phone": {"zh": "电话", "en": "Phone"},
    "id_number": {"zh": "身份证号", "en": "Identity number"},
    "email": {"zh": "电子邮箱", "en": "E-mail"},
    "file": {"zh": "附件", "en": "Attachment"},
    "checkbox": {"zh": "勾选项", "en": "Tick box"},
    "group": {"zh": "字段组", "en": "Group of fields"},
    "subject": {"zh": "被反映人（字段组）", "en": "Subject of the report (group)"},
    "identity_group": {"zh": "身份信息（字段组）", "en": "Your identity (group)"},
    "identity": {"zh": "身份信息（字段组）", "en": "Your identity (group)"},
    "section": {"zh": "分节标题", "en": "Section heading"},
}
FORM_KIND_WORDS = {"petition": {"zh": "信访件", "en": "Petition"}, "report": {"zh": "检举控告", "en": "Report"},
                   "suggestion": {"zh": "意见建议", "en": "Suggestion"}}
# Limits the field editor offers per kind (the schema keyword, its words, integer only?)
LIMITS = {
    "text": (("minLength", {"zh": "最少字数", "en": "At least (characters)"}, True),
             ("maxLength", {"zh": "最多字数", "en": "At most (characters)"}, True)),
    "number": (("minimum", {"zh": "最小值", "en": "Smallest value"}, False),
               ("maximum", {"zh": "最大值", "en": "Largest value"}, False)),
    "multiple_choice": (("minItems", {"zh": "至少选几项", "en": "Choose at least"}, True),
                        ("maxItems", {"zh": "最多选几项", "en": "Choose at most"}, True)),
}
_LIMIT_GROUP = {"short_text": "text", "long_text": "text", "phone": "text", "email": "text", "region": "text",
                "number": "number", "amount": "number", "multiple_choice": "multiple_choice"}
_KEY_PREFIX = {"short_text": "text", "long_text": "details", "single_choice": "choice", "multiple_choice": "choices",
               "number": "number", "amount": "amount", "id_number": "id_no", "phone": "tel", "email": "mail", "checkbox": "tick",
               "section": "section"}  # phone, e-mail and identity number names of the identity group stay free
_FIELD_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
FIELD_ERROR = "field"  # where an editor's messages are listed when they name no input of it


def limits_for(kind: str):
    return LIMITS.get(_LIMIT_GROUP.get(kind, ""), ())


@dataclass(frozen=True)
class Target:
    """What a builder page edits: a petition form or an archive document type, by key."""
    area: str
    key: str

    @property
    def config_area(self) -> str:
        return f"{self.area}:{self.key}"


def target(area: str, key: str | None) -> Target:
    rule = service.FORM_KEY if area == FORM_AREA else TYPE_KEY
    if not key or not rule.fullmatch(key):
        raise NotFound({"zh": "没有这个表单", "en": "no such form"})
    return Target(area, key)


# ----------------------------------------------------------------------------- reading


async def published(scope: TenantScope, t: Target) -> tuple[dict | None, int | None, dict | None]:
    """(schema, version, name) of what is published now; (None, None, None) for a form not made yet."""
    if t.area == FORM_AREA:
        row = await service.latest_version(scope, t.key)
        return (copy.deepcopy(row.json_schema), row.version, None) if row else (None, None, None)
    row = await scope.repo(ArchiveDocumentType).find_one({"key": t.key})
    return (copy.deepcopy(row.json_schema), None, row.name.model_dump()) if row else (None, None, None)


async def find_draft(scope: TenantScope, t: Target) -> FormDraft | None:
    return await scope.repo(FormDraft).find_one({"area": t.area, "key": t.key})


async def open_draft(scope: TenantScope, t: Target) -> tuple[FormDraft, bool]:
    """The draft of ``t`` (made from what is published when there is none yet, not stored until a step changes it).

    Returns (draft, stored). A form or type that neither exists nor has a draft is a 404.
    """
    draft = await find_draft(scope, t)
    schema, version, name = await published(scope, t)
    if draft is not None:
        if draft.base_digest and schema is not None and schema_digest(draft.json_schema) == draft.base_digest != schema_digest(schema):
            # nothing changed in the draft, and a newer version was published since (a rollback, the JSON page): follow it
            draft.json_schema, draft.base_version, draft.base_digest = schema, version, schema_digest(schema)
        return draft, True
    if schema is None:
        raise NotFound({"zh": "没有这个表单", "en": "no such form"})
    return FormDraft(tenant_id=scope.tenant_id, area=t.area, key=t.key, json_schema=schema, name=name,
                     base_version=version, base_digest=schema_digest(schema)), False


async def list_targets(scope: TenantScope) -> dict[str, list[dict]]:
    """Every form and archive document type with its name, and whether a draft of it is open."""
    drafts = {(d.area, d.key): d async for d in scope.repo(FormDraft).find({})}
    forms = [{"key": f.key, "name": f.title(), "version": f.version, "draft": ("form", f.key) in drafts}
             for f in sorted(await service.list_forms(scope), key=lambda f: f.key)]
    types = [{"key": r.key, "name": r.name.model_dump(), "draft": ("archive_type", r.key) in drafts}
             async for r in scope.repo(ArchiveDocumentType).find({}).sort("key")]
    known = {("form", f["key"]) for f in forms} | {("archive_type", t["key"]) for t in types}
    for (area, key), d in sorted(drafts.items()):
        if (area, key) not in known:  # a new one, not published yet
            entry = {"key": key, "name": _draft_name(d), "draft": True, "new": True}
            (forms if area == FORM_AREA else types).append(entry)
    return {"form": forms, "archive_type": types}


def _draft_name(d: FormDraft) -> dict:
    if d.area != FORM_AREA and d.name:
        return d.name
    title = d.json_schema.get("title") if isinstance(d.json_schema.get("title"), str) else d.key
    x_en = d.json_schema.get("x-en") if isinstance(d.json_schema.get("x-en"), dict) else {}
    return {"zh": title, "en": x_en.get("title") or title}


def pointer_field(pointer: str) -> str:
    """The dotted field path a gate problem's JSON pointer is about ("" for the form as a whole)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in (pointer or "").split("/")[1:]]
    names = []
    for i, part in enumerate(parts[:-1]):
        if part == "properties" and (i == 0 or parts[i - 1] != "properties"):
            names.append(parts[i + 1])
    return ".".join(names)


def problems_of(form: Form, schema: dict) -> list[dict]:
    """The builder's and the gate's messages, each {"path" (a field path, "" for the form), "zh", "en"}."""
    out = [dict(p) for p in builder_problems(form)]
    try:
        check_tenant_schema(schema)
    except SchemaRejected as rejected:
        seen = {(p["path"], p["zh"]) for p in out}
        for p in rejected.problems:
            entry = {"path": pointer_field(p["path"]), "zh": p["zh"], "en": p["en"]}
            if (entry["path"], entry["zh"]) not in seen:
                seen.add((entry["path"], entry["zh"]))
                out.append(entry)
    return out


# ----------------------------------------------------------------------------- writing the draft


async def _store(scope: TenantScope, draft: FormDraft, schema: dict, actor: ConfigActor) -> FormDraft:
    if draft.json_schema and schema != draft.json_schema:
        draft.previous_schema = draft.json_schema
    draft.json_schema, draft.updated_by, draft.updated_at = schema, actor.account_id, utcnow()
    try:
        await scope.repo(FormDraft).save(draft)
    except DuplicateKeyError:
        raise Conflict({"zh": "另一位管理员刚刚开始编辑这个表单，请刷新页面", "en": "another admin has just started editing this form; reload the page"}) from None
    return draft


def _bad(path: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput({"zh": "请修改标出的内容", "en": "please correct what is marked"}, fields={path: {"zh": zh, "en": en}})


def _text(data: Any, name: str) -> str:
    value = data.get(name) if hasattr(data, "get") else None
    return value.strip() if isinstance(value, str) else ""


def _unique_key(form: Form, fields: list[Field], prefix: str) -> str:
    taken = form._taken(fields)
    if prefix not in taken:
        return prefix
    n = 2
    while f"{prefix}_{n}" in taken:
        n += 1
    return f"{prefix}_{n}"


def _subject_group(key: str) -> Field:
    group = new_field("group", key, "被反映人", "Subject of the report", required=True,
                      help_zh="被检举控告的个人或单位。", help_en="The person or unit being reported.")
    kind = new_field("single_choice", "kind", "类型", "Kind", required=True)
    kind.choices = [Choice("person", "个人", "Person"), Choice("unit", "单位", "Unit")]
    group.children = [
        kind,
        new_field("short_text", "name", "姓名或单位名称", "Name (person or unit)", required=True, limits={"maxLength": 100}),
        new_field("short_text", "unit", "工作单位", "Employer", limits={"maxLength": 100}),
        new_field("short_text", "position", "职务", "Position", limits={"maxLength": 100}),
    ]
    return group


def _identity_group() -> Field:
    children = [
        new_field("short_text", "petitioner_name", "姓名", "Name", required=True, limits={"maxLength": 50}),
        new_field("id_number", "id_number", "身份证号", "Identity number", required=True,
                  help_zh="18 位居民身份证号码。", help_en="18-character resident identity number."),
        new_field("phone", "phone", "联系电话", "Phone", required=True, limits={"maxLength": 20}),
    ]
    for c in children:
        c.identity = True
    return Field(key=IDENTITY_GROUP_KEY, kind="identity_group", label_zh="您的身份信息", label_en="Your identity", children=children)


def _add(form: Form, data: Any) -> str:
    """Add a field of the kind picked; returns its path (the editor opens on it)."""
    kind = _text(data, "kind")
    if kind not in PICKER:
        raise _bad("kind", "请选择要添加的字段类型", "choose the kind of field to add")
    parent = _text(data, "parent") or None
    if parent is not None and (form.find(parent) is None or form.find(parent).kind not in ("group", "identity_group")):
        parent = None
    if kind == "identity":
        if form.find(IDENTITY_GROUP_KEY) is not None:
            raise _bad("kind", "表单里已有身份信息", "the form has its identity fields already")
        group = _identity_group()
        for c in group.children:
            c.key = _unique_key(form, form.fields, c.key)
        form.fields.append(group)
        return IDENTITY_GROUP_KEY
    if kind == "subject" and parent is not None:
        parent = None  # groups do not nest
    fields = form.container(parent)
    word = KIND_WORDS[kind]
    if kind == "subject":
        field = _subject_group(_unique_key(form, fields, "subject"))
    else:
        field = new_field(kind, _unique_key(form, fields, _KEY_PREFIX.get(kind, kind)), word["zh"], word["en"])
        if kind in ("single_choice", "multiple_choice"):
            field.choices = [Choice("option_1", "选项一", "Option 1"), Choice("option_2", "选项二", "Option 2")]
        if kind in ("short_text", "phone", "email"):
            field.limits = {"maxLength": {"phone": 20, "email": 100}.get(kind, 100)}
        if kind == "long_text":
            field.limits = {"maxLength": 2000}
    index = None
    after = _text(data, "after")
    if after:
        try:
            where, i = form._locate(after)
            if where is fields:
                index = i + 1
        except KeyError:
            pass
    try:
        form.add_field(field, parent=parent, index=index)
    except ValueError:
        raise _bad("kind", "这里不能添加这种字段", "this kind of field cannot be added here") from None
    return f"{parent}.{field.key}" if parent and parent != IDENTITY_GROUP_KEY else field.key


def _locate(form: Form, path: str) -> tuple[list[Field], int]:
    try:
        return form._locate(path)
    except KeyError:
        raise _bad("path", "没有这个字段（可能已被删除），请刷新页面", "no such field (it may have been removed); reload the page") from None


def _move(form: Form, op: str, data: Any) -> str:
    path = _text(data, "path")
    fields, i = _locate(form, path)
    if op == "up":
        to = max(i - 1, 0)
    elif op == "down":
        to = min(i + 1, len(fields) - 1)
    else:
        try:
            to = int(_text(data, "to"))
        except ValueError:
            raise _bad("to", "请指明移动到哪里", "say where to move the field") from None
    parent: str | None | bool = False
    into = _text(data, "into")
    if into:
        parent = None if into == "_form" else into
    try:
        target_list = fields if parent is False else form.container(parent)
        to = max(0, min(to, len(target_list) - (1 if target_list is fields else 0)))
        form.move_field(path, to, parent=parent)
    except (KeyError, ValueError):
        raise _bad("path", "字段不能移到那里", "the field cannot be moved there") from None
    moved = fields[to] if parent is False else form.container(parent)[to]
    if parent is False or parent is None or parent == IDENTITY_GROUP_KEY:
        prefix = path.rpartition(".")[0] if parent is False else ""
        return f"{prefix}.{moved.key}" if prefix else moved.key
    return f"{parent}.{moved.key}"


def condition_options(form: Form, path: str) -> list[dict]:
    """The answers a field may be shown after: every choice of a choice field beside it, a ticked box."""
    try:
        fields, i = form._locate(path)
    except KeyError:
        return []
    me = fields[i]
    out = []
    for other in _siblings(form, fields):
        if other is me or other.raw is not None:
            continue
        if other.kind in ("single_choice", "multiple_choice"):
            for c in other.choices or []:
                out.append({"value": condition_value(Condition(other.key, c.value, other.kind == "multiple_choice")),
                            "field": other.label, "answer": {"zh": c.label_zh or str(c.value), "en": c.label_en or c.label_zh or str(c.value)},
                            "contains": other.kind == "multiple_choice"})
        elif other.kind == "checkbox":
            out.append({"value": condition_value(Condition(other.key, True)), "field": other.label,
                        "answer": {"zh": "已勾选", "en": "ticked"}, "contains": False})
    return out


def _siblings(form: Form, fields: list[Field]) -> list[Field]:
    owner = form._object(fields)
    out = []
    for f in owner:
        out.extend(f.children if f.kind == "identity_group" else ([] if f.kind == "section" else [f]))
    return out


def condition_value(cond: Condition | None) -> str:
    return "" if cond is None else f"{cond.field}={json.dumps(cond.equals, ensure_ascii=False)}"


def _number(text: str, integer: bool) -> int | float:
    value = float(text)
    if integer or value.is_integer():
        if not value.is_integer():
            raise ValueError(text)
        return int(value)
    return value


def _assign(f: Any, attr: str, posted: str | None) -> None:
    """Set a text attribute from a posted value, leaving it untouched when the page showed it unchanged."""
    if posted is None:
        return
    current = getattr(f, attr)
    if posted == (current or ""):
        return
    setattr(f, attr, posted or None)


def _edit_field(form: Form, path: str, data: Any) -> str:
    """The field editor's form: names, texts, required, limits, choices, condition; then a choice row's step."""
    fields, i = _locate(form, path)
    f = fields[i]
    if f.raw is not None:
        raise _bad(FIELD_ERROR, "这个字段只能在高级（JSON）视图中修改", "this field can only be changed in the advanced (JSON) view")
    problems: dict[str, dict] = {}
    for attr in ("label_zh", "label_en", "help_zh", "help_en", "placeholder_zh", "placeholder_en"):
        if attr in data:
            _assign(f, attr, _text(data, attr))
    if f.kind not in ("section", "identity_group", "group") or "required" in data or "required_shown" in data:
        if "required_shown" in data:
            f.required = data.get("required") == "1"
    for name, words, integer in limits_for(f.kind):
        if name not in data:
            continue
        posted = _text(data, name)
        current = f.limits.get(name)
        if posted == ("" if current is None else str(current)):
            continue
        if not posted:
            f.limits.pop(name, None)
            continue
        try:
            f.limits[name] = _number(posted, integer)
        except ValueError:
            problems[name] = {"zh": f"{words['zh']}应为{'整数' if integer else '数字'}", "en": f"{words['en']}: give a {'whole ' if integer else ''}number"}
    if f.kind in ("number", "amount") and ("unit_zh" in data or "unit_en" in data):
        unit = f.extra.get("x-unit") if isinstance(f.extra.get("x-unit"), dict) else {}
        posted = {lang: _text(data, f"unit_{lang}") for lang in ("zh", "en")}
        if posted != {lang: unit.get(lang) or "" for lang in ("zh", "en")}:
            unit = {lang: text for lang, text in posted.items() if text}
            if unit:
                f.extra["x-unit"] = unit
            else:
                f.extra.pop("x-unit", None)
    if f.choices is not None and "choice_count" in data:
        try:
            count = max(0, min(int(_text(data, "choice_count")), 500))
        except ValueError:
            count = len(f.choices)
        kept = []
        for n in range(count):
            old = f.choices[n] if n < len(f.choices) else Choice(f"option_{n + 1}")
            value_text = _text(data, f"choice_value_{n}")
            if value_text and value_text != str(old.value):
                old.value = value_text
            _assign(old, "label_zh", _text(data, f"choice_zh_{n}"))
            _assign(old, "label_en", _text(data, f"choice_en_{n}"))
            kept.append(old)
        f.choices = kept
    if "shown_when" in data:
        posted = _text(data, "shown_when")
        if posted != condition_value(f.shown_when):
            if not posted:
                f.shown_when = None
            else:
                options = {o["value"]: o for o in condition_options(form, path)}
                if posted not in options:
                    problems["shown_when"] = {"zh": "请从列表中选择显示条件", "en": "choose the condition from the list"}
                else:
                    other, _, value = posted.partition("=")
                    f.shown_when = Condition(other, json.loads(value), options[posted]["contains"])
    new_key = _text(data, "new_key")
    if new_key and new_key != f.key:
        if not _FIELD_KEY.fullmatch(new_key):
            problems["new_key"] = {"zh": "字段名只能由英文字母、数字和下划线组成，以字母开头",
                                   "en": "a field name uses ASCII letters, digits and underscores and starts with a letter"}
        else:
            try:
                form.rename_field(path, new_key)
                path = f"{path.rpartition('.')[0]}.{new_key}" if "." in path else new_key
            except ValueError:
                problems["new_key"] = {"zh": "已有同名字段", "en": "a field of this name exists already"}
    if problems:
        raise InvalidInput({"zh": "请修改标出的内容", "en": "please correct what is marked"}, fields=problems)
    row = _text(data, "row")
    if row and f.choices is not None:
        step, _, n_text = row.partition(":")
        n = int(n_text) if n_text.isdigit() else -1
        if step == "add":
            values = {str(c.value) for c in f.choices}
            m = len(f.choices) + 1
            while f"option_{m}" in values:
                m += 1
            f.choices.append(Choice(f"option_{m}", f"选项{m}", f"Option {m}"))
        elif 0 <= n < len(f.choices):
            if step == "remove":
                f.choices.pop(n)
            elif step == "up" and n > 0:
                f.choices[n - 1], f.choices[n] = f.choices[n], f.choices[n - 1]
            elif step == "down" and n < len(f.choices) - 1:
                f.choices[n + 1], f.choices[n] = f.choices[n], f.choices[n + 1]
    return path


def _edit_form(form: Form, draft: FormDraft, data: Any) -> None:
    for attr in ("title_zh", "title_en", "description_zh", "description_en"):
        if attr in data:
            _assign(form, attr, _text(data, attr))
    if draft.area != FORM_AREA and ("name_zh" in data or "name_en" in data):
        draft.name = {"zh": _text(data, "name_zh") or (draft.name or {}).get("zh", ""),
                      "en": _text(data, "name_en") or (draft.name or {}).get("en", "")}


STEPS = ("add", "up", "down", "move", "duplicate", "remove", "field", "form", "undo")


async def do_builder_step(scope: TenantScope, t: Target, data: Any, *, actor: ConfigActor) -> tuple[FormDraft, str | None]:
    """One step of the builder on the draft: returns (the stored draft, the field path the editor shows next)."""
    op = _text(data, "op")
    if op not in STEPS:
        raise _bad("op", "不明白要做什么，请刷新页面后重试", "unknown step; reload the page and try again")
    draft, _ = await open_draft(scope, t)
    if op == "undo":  # the schema before the last step; a second undo brings the step back
        if draft.previous_schema is None:
            raise _bad("op", "没有可以撤销的步骤", "there is no step to undo")
        return await _store(scope, draft, draft.previous_schema, actor), None
    form = Form.from_schema(draft.json_schema)
    if form.raw is not None:
        raise _bad(FIELD_ERROR, "这个表单只能在高级（JSON）视图中修改", "this form can only be changed in the advanced (JSON) view")
    focus: str | None = _text(data, "path") or None
    if op == "add":
        focus = _add(form, data)
    elif op in ("up", "down", "move"):
        focus = _move(form, op, data)
    elif op == "duplicate":
        try:
            twin = form.duplicate_field(_text(data, "path"))
        except KeyError:
            _locate(form, _text(data, "path"))
            raise
        parent = _text(data, "path").rpartition(".")[0]
        focus = f"{parent}.{twin.key}" if parent else twin.key
    elif op == "remove":
        _locate(form, _text(data, "path"))
        form.remove_field(_text(data, "path"))
        focus = None
    elif op == "field":
        path, new_key = _text(data, "path"), _text(data, "new_key")
        renamed = f"{path.rpartition('.')[0]}.{new_key}".lstrip(".") if new_key else ""
        if form.find(path) is None and renamed and form.find(renamed) is not None:
            path = renamed  # the same editor sent twice (saved as typed, then the button): it was renamed already
        focus = _edit_field(form, path, data)
    elif op == "form":
        _edit_form(form, draft, data)
        focus = None
    return await _store(scope, draft, form.to_schema(), actor), focus


async def do_save_example(scope: TenantScope, t: Target, example: dict, anonymous: bool, *, actor: ConfigActor) -> FormDraft:
    """Keep the example answer typed into the preview with the draft (it is checked again after each step)."""
    draft, _ = await open_draft(scope, t)
    draft.example, draft.anonymous = example, anonymous
    return await _store(scope, draft, draft.json_schema, actor)


async def do_save_json(scope: TenantScope, t: Target, text: str, *, actor: ConfigActor) -> FormDraft:
    """The advanced view's JSON, read into the model: refused (422, each problem at its place) unless the gate takes it."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise InvalidInput({"zh": "不是有效的 JSON", "en": "not valid JSON"},
                           fields={"schema": {"zh": f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列",
                                              "en": f"not valid JSON: line {exc.lineno}, column {exc.colno}"}}) from None
    if not isinstance(schema, dict):
        raise InvalidInput(fields={"schema": {"zh": "表单定义应为一个 JSON 对象", "en": "the schema must be a JSON object"}})
    try:
        check_tenant_schema(schema)
    except SchemaRejected as rejected:
        raise service.rejection(rejected.problems) from None
    draft, _ = await open_draft(scope, t)
    return await _store(scope, draft, Form.from_schema(schema).to_schema(), actor)


async def do_start(scope: TenantScope, area: str, data: Any, *, actor: ConfigActor) -> Target:
    """A new form (key, name, kind, optionally a template to start from) or archive document type, as a draft."""
    key = _text(data, "key")
    rule = service.FORM_KEY if area == FORM_AREA else TYPE_KEY
    problems: dict[str, dict] = {}
    if not rule.fullmatch(key):
        problems["key"] = {"zh": "标识只能用小写字母、数字和下划线，以字母开头，如 township_report",
                           "en": "a key is lowercase letters, digits and underscores, starting with a letter, e.g. township_report"}
    name_zh, name_en = _text(data, "name_zh"), _text(data, "name_en")
    if not name_zh:
        problems["name_zh"] = {"zh": "请填写中文名称", "en": "give the Chinese name"}
    kind = _text(data, "kind") or "petition"
    template = _text(data, "template")
    from .templates_library import load_templates
    templates = load_templates()
    if area == FORM_AREA and kind not in service.KINDS:
        problems["kind"] = {"zh": "请选择表单类型", "en": "choose the kind of form"}
    if template and template not in templates:
        problems["template"] = {"zh": "没有这个模板", "en": "no such template"}
    if problems:
        raise InvalidInput({"zh": "请修改标出的内容", "en": "please correct what is marked"}, fields=problems)
    t = Target(area, key)
    schema_now, _, _ = await published(scope, t)
    if schema_now is not None or await find_draft(scope, t) is not None:
        raise InvalidInput(fields={"key": {"zh": "已有这个标识的表单，请换一个", "en": "a form with this key exists already; choose another"}
                                   if area == FORM_AREA else {"zh": "已有这个标识的档案材料类型，请换一个",
                                                              "en": "an archive document type with this key exists already; choose another"}})
    if template:
        schema = templates[template]
    else:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {},
                  "required": [], "additionalProperties": False}
    if area == FORM_AREA:
        schema["x-form"] = {"kind": kind} if not template else dict(schema.get("x-form", {}), kind=kind)
        schema.get("x-form", {}).pop("key", None)
        schema.get("x-form", {}).pop("version", None)
    form = Form.from_schema(schema)
    form.title_zh, form.title_en = name_zh, name_en or None
    draft = FormDraft(tenant_id=scope.tenant_id, area=area, key=key, json_schema={},
                      name={"zh": name_zh, "en": name_en or name_zh} if area != FORM_AREA else None)
    await _store(scope, draft, form.to_schema(), actor)
    return t


async def do_discard_draft(scope: TenantScope, t: Target) -> None:
    await scope.repo(FormDraft).delete_many({"area": t.area, "key": t.key})


async def do_publish_draft(scope: TenantScope, t: Target, *, actor: ConfigActor, note: str = "") -> dict:
    """Publish the draft: a form becomes a new immutable version, an archive type is saved; the draft is deleted.

    Returns {"version": n or None, "created": bool}. Refused (422, messages by field) while the builder or the
    gate finds a problem.
    """
    draft, _ = await open_draft(scope, t)
    schema = draft.json_schema
    problems = problems_of(Form.from_schema(schema), schema)
    if problems:
        fields = {}
        for p in problems:
            fields.setdefault(("schema." + p["path"]).rstrip("."), {"zh": p["zh"], "en": p["en"]})
        raise InvalidInput({"zh": "表单还有问题，未发布", "en": "the form still has problems; nothing was published"}, fields=fields)
    if t.area == FORM_AREA:
        out = await publish_form(scope, t.key, schema, actor=actor, note=note or "用表单设计器发布 / published from the form builder")
    else:
        name = draft.name or {"zh": t.key, "en": t.key}
        await do_save_archive_type(scope, t.key, name, schema, actor=actor, note=note or "用表单设计器保存 / saved from the form builder")
        out = {"version": None, "created": True}
    await do_discard_draft(scope, t)
    return out


async def publish_form(scope: TenantScope, key: str, schema: dict, *, actor: ConfigActor, note: str) -> dict:
    """A form's schema published as a new version (unless the newest is the same) and recorded as a configuration version."""
    row, created = await service.do_publish_form_version(scope, key, schema=schema, actor_id=actor.account_id)
    await record_form_version(scope, row, actor=actor, note=note)
    return {"version": row.version, "created": created}


async def record_form_version(scope: TenantScope, row, *, actor: ConfigActor, note: str) -> None:
    """A published form version as the configuration version of ``form:<key>`` (whichever way it was published)."""
    await do_record_config_version(scope, f"{FORM_AREA}:{row.key}", {"key": row.key, "json_schema": schema_for_version(row.json_schema)},
                                   actor=actor, note=note)


async def _apply_form(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    if not isinstance(content, dict) or not isinstance(content.get("json_schema"), dict) or not content.get("key"):
        raise InvalidInput(fields={"content": {"zh": "这一版的内容不完整", "en": "this version's content is incomplete"}})
    await publish_form(scope, content["key"], schema_from_version(content["json_schema"]), actor=actor, note=note)


def _check_form(scope: TenantScope, area: str, content: dict) -> dict:
    """What an import or a rollback of ``form:<key>`` would be refused for, by path, in zh/en."""
    key = area.partition(":")[2]
    if not isinstance(content, dict) or content.get("key") != key or not isinstance(content.get("json_schema"), dict):
        return {"content": {"zh": "这一版的内容不完整", "en": "this version's content is incomplete"}}
    if not service.FORM_KEY.fullmatch(key):
        return {"key": {"zh": "表单标识只能用小写字母、数字和下划线，以字母开头", "en": "a form key is lowercase letters, digits and underscores"}}
    try:
        schema = schema_from_version(content["json_schema"])
        check_tenant_schema(schema)
    except SchemaRejected as rejected:
        return {("json_schema" + p["path"].replace("/", ".")).rstrip("."): {"zh": p["zh"], "en": p["en"]} for p in rejected.problems}
    kind = (schema.get("x-form") or {}).get("kind", "petition") if isinstance(schema.get("x-form"), dict) else "petition"
    if kind not in service.KINDS:
        return {"json_schema.x-form.kind": {"zh": "表单类型应为信访件、检举控告或意见建议", "en": "the kind of form must be petition, report or suggestion"}}
    return {}


async def _current_forms(scope: TenantScope) -> dict:
    return {f"{FORM_AREA}:{row.key}": {"key": row.key, "json_schema": schema_for_version(row.json_schema)} for row in await service.list_forms(scope)}


async def _form_subject(scope: TenantScope, key: str, lang: str) -> str | None:
    row = await service.latest_version(scope, key)
    return (row.title().get(lang) or row.title().get("zh")) if row else None


register_config_area(FORM_AREA, {"zh": "表单", "en": "Forms"}, _apply_form, check=_check_form, current=_current_forms,
                     path_label=schema_path_label, subject=_form_subject)


def pretty(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2)


def condition_words(form: Form) -> dict[str, dict]:
    """"仅当「问题类别」包含「其他」时显示" for every field shown only after another answer, by path."""
    out: dict[str, dict] = {}

    def walk(fields: list[Field], prefix: str, siblings: list[Field]) -> None:
        by_key = {f.key: f for f in _siblings(form, siblings)}
        for f in fields:
            if f.kind == "identity_group":
                walk(f.children, prefix, siblings)
                continue
            path = prefix + f.key
            cond = f.shown_when
            if cond is not None:
                other = by_key.get(cond.field)
                label = other.label if other else {"zh": cond.field, "en": cond.field}
                answer = {"zh": str(cond.equals), "en": str(cond.equals)}
                if other is not None and other.kind == "checkbox":
                    answer = {"zh": "已勾选", "en": "ticked"}
                for c in (other.choices or []) if other else []:
                    if c.value == cond.equals:
                        answer = {"zh": c.label_zh or str(c.value), "en": c.label_en or c.label_zh or str(c.value)}
                verb = ("包含", "includes") if cond.contains else ("为", "is")
                out[path] = {"zh": f"仅当「{label['zh']}」{verb[0]}「{answer['zh']}」时显示",
                             "en": f"shown only when “{label['en']}” {verb[1]} “{answer['en']}”"}
            if f.kind == "group":
                walk(f.children, path + ".", f.children)

    walk(form.fields, "", form.fields)
    return out
