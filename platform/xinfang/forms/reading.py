"""A form's fields read for showing and checking: ``xinfang.forms.model`` as the renderer, the submission
messages, search and archives read it.

``read_form(schema)`` is the model's ``Form.from_schema`` of the schema with its local ``$ref``s written out
in place, so a field defined once under ``$defs`` reads as the field it is; a field the model keeps whole
(``raw``: a shape it cannot rebuild exactly, such as choices with descriptions) is read leniently here, for
display only. The result is cached per schema and shared: treat it as read-only (edit with
``Form.from_schema`` in the builder instead).

Also here: the words for a condition ("仅当“问题类别”选择“其他”时填写"), a field's unit, the labels of a
dotted path, and the answers of a filed form in words (``answer_rows``), which the staff pages show.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

from . import regions
from .gate import MAX_SCHEMA_DEPTH, SchemaRejected, canonical_json, choice_options, compile_validator, field_kind, resolve_node
from .model import KINDS, LIMIT_KEYS, Choice, Condition, Field, Form, data_fields

_CACHE_SIZE = 256
_cache: OrderedDict[str, Form] = OrderedDict()
_lock = threading.Lock()

DEFAULT_AMOUNT_UNIT = {"zh": "元", "en": "yuan"}


# --------------------------------------------------------------------------- reading


def read_form(schema: dict) -> Form:
    """The model of a (gated) schema, for display and messages. Cached; do not change what it returns."""
    try:
        key = canonical_json(schema)
    except (TypeError, ValueError):
        return Form()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    form = _read(schema)
    with _lock:
        _cache[key] = form
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return form


def _read(schema: dict) -> Form:
    if not isinstance(schema, dict):
        return Form()
    try:
        compile_validator(schema)  # cached: references are written out only where the gate bounds them
        inlined = inline_refs(schema)
    except SchemaRejected:
        inlined = schema  # not a tenant form (an old or partial schema): read as it stands, references unfollowed
    form = Form.from_schema(inlined)
    if form.raw is not None:  # a root the model keeps whole: its fields, read leniently
        root = resolve_node(inlined, inlined)
        form = Form()
        form.title_zh, form.title_en = _texts(root)[:2]
        form.fields = _lenient_children(root)
        return form
    form.fields = [_readable(f) for f in form.fields]
    return form


def inline_refs(schema: dict) -> dict:
    """A copy of ``schema`` with every local ``$ref`` at a field, an item or a choice written out in place
    (keywords beside the ``$ref`` win, as in ``resolve_node``). The gate bounds how far this unfolds."""
    root = schema

    def walk(node: Any, depth: int) -> Any:
        node = resolve_node(root, node)
        if not isinstance(node, dict) or depth > MAX_SCHEMA_DEPTH * 2:
            return copy.deepcopy(node)
        out = dict(node)
        if isinstance(node.get("properties"), dict):
            out["properties"] = {k: walk(v, depth + 1) for k, v in node["properties"].items()}
        if isinstance(node.get("items"), dict):
            out["items"] = walk(node["items"], depth + 1)
        if isinstance(node.get("oneOf"), list):
            out["oneOf"] = [walk(v, depth + 1) for v in node["oneOf"]]
        return copy.deepcopy(out)

    return walk(schema, 0)


def _readable(f: Field) -> Field:
    if f.raw is not None:
        return _lenient(f.key, f.raw, f.required, f.identity, f.shown_when)
    if f.children:
        f.children = [_readable(c) for c in f.children]
    return f


def _texts(node: dict) -> tuple[str | None, str | None, str | None, str | None]:
    x_en = node.get("x-en") if isinstance(node.get("x-en"), dict) else {}
    pick = lambda v: v if isinstance(v, str) else None  # noqa: E731
    return pick(node.get("title")), pick(x_en.get("title")), pick(node.get("description")), pick(x_en.get("description"))


_GATE_KINDS = {"object": "group", "choice": "single_choice", "multichoice": "multiple_choice", "boolean": "checkbox",
               "date": "date", "email": "email", "textarea": "long_text", "text": "short_text"}


def _lenient(key: str, node: Any, required: bool, identity: bool = False, shown_when: Condition | None = None) -> Field:
    """A field the model keeps whole, read for display: its kind, texts, limits, choices and children."""
    f = Field(key=key, kind="short_text", required=required, identity=identity, shown_when=shown_when, raw=node)
    if not isinstance(node, dict):
        return f
    declared = node.get("x-kind")
    shape = field_kind(node, node)
    if declared in KINDS and declared not in ("section", "identity_group"):
        f.kind = declared
    elif shape in ("integer", "number"):
        f.kind = "amount" if "amount" in key.lower() else "number"
    elif shape == "text" and node.get("format") == "cn-id-number":
        f.kind = "id_number"
    elif shape is not None:
        f.kind = _GATE_KINDS[shape]
    f.label_zh, f.label_en, f.help_zh, f.help_en = _texts(node)
    placeholder = node.get("x-placeholder")
    if isinstance(placeholder, dict):
        f.placeholder_zh, f.placeholder_en = placeholder.get("zh"), placeholder.get("en")
    f.json_type = node.get("type") if isinstance(node.get("type"), str) else None
    f.limits = {k: node[k] for k in LIMIT_KEYS if k in node}
    f.identity = identity or node.get("x-identity") is True
    f.extra = {k: v for k, v in node.items() if k.startswith("x-") and k not in ("x-en", "x-kind", "x-placeholder")}
    options_node = node.get("items") if f.kind == "multiple_choice" else node
    options = choice_options(node, options_node) if isinstance(options_node, dict) else None
    if options is not None:
        f.choices = [Choice(o["value"], o["title"], o["title_en"]) for o in options]
        if isinstance(options_node, dict) and "const" in node:
            f.extra["const"] = node["const"]
    if f.kind == "checkbox" and "const" in node:
        f.extra["const"] = node["const"]
    if f.kind == "group":
        f.children = _lenient_children(node)
    return f


def _lenient_children(node: dict) -> list[Field]:
    properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    required = set(node.get("required") or []) if isinstance(node.get("required"), list) else set()
    order = node.get("x-order") if isinstance(node.get("x-order"), list) else []
    names = list(dict.fromkeys([n for n in order if isinstance(n, str) and n in properties] + list(properties)))
    return [_lenient(n, properties[n], n in required) for n in names]


# --------------------------------------------------------------------------- what the model says, in words


def label_of(f: Field) -> dict:
    """{"zh", "en"} as shown: a blank English label falls back to the Chinese, a blank title to the name."""
    zh = f.label_zh.strip() if isinstance(f.label_zh, str) and f.label_zh.strip() else f.key
    en = f.label_en.strip() if isinstance(f.label_en, str) and f.label_en.strip() else zh
    return {"zh": zh, "en": en}


def help_of(f: Field) -> dict:
    zh = f.help_zh if isinstance(f.help_zh, str) else ""
    en = f.help_en if isinstance(f.help_en, str) and f.help_en else zh
    return {"zh": zh, "en": en}


def walk_fields(form: Form) -> list[tuple[str, Field, list[Field]]]:
    """(dotted path, field, its siblings) for every field that holds an answer, groups before their fields."""
    out: list[tuple[str, Field, list[Field]]] = []

    def walk(fields: list[Field], prefix: str) -> None:
        siblings = data_fields(fields)
        for f in siblings:
            out.append((prefix + f.key, f, siblings))
            if f.kind == "group":
                walk(f.children, prefix + f.key + ".")

    walk(form.fields, "")
    return out


def file_field_names(schema: dict) -> list[str]:
    """The input names of a form's own file fields (``evidence``, ``subject.photo``): their uploads are kept
    as attachments like the page's general ``files`` input."""
    return [path for path, f, _ in walk_fields(read_form(schema)) if f.kind == "file"]


def identity_keys(form: Form) -> list[str]:
    return [f.key for f in data_fields(form.fields) if f.identity]


def field_at(form: Form, path: str) -> Field | None:
    """The field at a dotted path ("subject.name"); identity fields are top-level ("phone")."""
    fields = data_fields(form.fields)
    found = None
    for part in path.split(".") if path else []:
        found = next((f for f in fields if f.key == part), None)
        if found is None:
            return None
        fields = data_fields(found.children)
    return found


def path_labels(form: Form, path: str) -> tuple[str, str]:
    """("被反映人 · 姓名", "Subject of the report · Name") for a dotted path; unknown parts by their name."""
    fields = data_fields(form.fields)
    zh, en = [], []
    for part in path.split("."):
        found = next((f for f in fields if f.key == part), None)
        label = label_of(found) if found else {"zh": part, "en": part}
        zh.append(label["zh"])
        en.append(label["en"])
        fields = data_fields(found.children) if found else []
    return " · ".join(zh), " · ".join(en)


def choice_label(f: Field, value: Any) -> dict | None:
    """{"zh", "en"} of the choice ``value`` of a choice field (plain enum values are their own labels)."""
    for c in f.choices or []:
        if c.value == value and isinstance(c.value, bool) == isinstance(value, bool):
            zh = c.label_zh if c.label_zh is not None else str(c.value)
            return {"zh": zh, "en": c.label_en or zh}
    return None


def condition_words(f: Field, siblings: list[Field]) -> dict | None:
    """When a conditional field is asked, in words: {"zh": "仅当“问题类别”选择“其他”时填写", "en": ...}."""
    cond = f.shown_when
    if cond is None:
        return None
    trigger = next((s for s in siblings if s.key == cond.field), None)
    label = label_of(trigger) if trigger else {"zh": cond.field, "en": cond.field}
    if trigger is not None and trigger.kind == "checkbox" and isinstance(cond.equals, bool):
        if cond.equals:
            return {"zh": f"仅当勾选“{label['zh']}”时填写", "en": f"Fill in only when “{label['en']}” is ticked"}
        return {"zh": f"仅当未勾选“{label['zh']}”时填写", "en": f"Fill in only when “{label['en']}” is not ticked"}
    answer = (choice_label(trigger, cond.equals) if trigger else None) or {"zh": str(cond.equals), "en": str(cond.equals)}
    if cond.contains:
        return {"zh": f"仅当“{label['zh']}”选中“{answer['zh']}”时填写",
                "en": f"Fill in only when “{answer['en']}” is among “{label['en']}”"}
    if trigger is not None and trigger.choices is not None:
        return {"zh": f"仅当“{label['zh']}”选择“{answer['zh']}”时填写",
                "en": f"Fill in only when “{label['en']}” is “{answer['en']}”"}
    return {"zh": f"仅当“{label['zh']}”填写为“{answer['zh']}”时填写",
            "en": f"Fill in only when “{label['en']}” is “{answer['en']}”"}


def condition_holds(cond: Condition, answers: Any) -> bool:
    """Whether the answers beside a conditional field ask for it (as the schema's ``if`` decides)."""
    if not isinstance(answers, dict) or cond.field not in answers:
        return False
    given = answers[cond.field]
    same = lambda a, b: a == b and isinstance(a, bool) == isinstance(b, bool)  # noqa: E731
    if cond.contains:
        return isinstance(given, list) and any(same(v, cond.equals) for v in given)
    return same(given, cond.equals)


def unit_of(f: Field) -> dict | None:
    """{"zh", "en"} shown after a number: ``x-unit``, or 元 for an amount."""
    unit = f.extra.get("x-unit") if isinstance(f.extra, dict) else None
    if isinstance(unit, dict) and (unit.get("zh") or unit.get("en")):
        zh = unit.get("zh") or unit.get("en")
        return {"zh": zh, "en": unit.get("en") or zh}
    return dict(DEFAULT_AMOUNT_UNIT) if f.kind == "amount" else None


def placeholder_of(f: Field) -> dict:
    return {"zh": f.placeholder_zh or "", "en": f.placeholder_en or f.placeholder_zh or ""}


def answer_text(f: Field | None, value: Any, lang: str) -> str:
    """One answer in words: a choice by its label, a region by its name, yes/no, an amount with its unit."""
    en = lang == "en"
    if f is None:
        return "" if value is None else str(value)
    if f.kind == "region" and isinstance(value, str):
        return regions.full_name(value) or value
    if isinstance(value, bool):
        return ("Yes" if value else "No") if en else ("是" if value else "否")
    if isinstance(value, list):
        return "、".join(answer_text(f, v, lang) for v in value) if not en else ", ".join(answer_text(f, v, lang) for v in value)
    label = choice_label(f, value)
    if label:
        return label["en" if en else "zh"]
    if isinstance(value, dict):
        return "; ".join(f"{path_labels_of(f, k, en)}: {answer_text(f.find(k), v, lang)}" for k, v in value.items())
    if value is None:
        return ""
    unit = unit_of(f) if isinstance(value, (int, float)) else None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return f"{text} {unit['en' if en else 'zh']}" if unit else text


def path_labels_of(group: Field, key: str, en: bool) -> str:
    child = group.find(key)
    return label_of(child)["en" if en else "zh"] if child else key


def answer_rows(schema: dict, data: Any, lang: str) -> list[tuple[str, str]]:
    """A filed form's answers as (field label, answer in words) in the reader's language, in the form's order,
    the fields of a group flattened ("被反映人 · 姓名"); answers to fields the form no longer has come last,
    by their name. Choices read as their labels, regions as their names, yes/no in words, amounts with units."""
    if not isinstance(data, dict):
        return []
    form = read_form(schema) if isinstance(schema, dict) else Form()
    return _rows(data_fields(form.fields), data, lang, "")


def _rows(fields: list[Field], data: dict, lang: str, prefix: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    seen = set()
    for f in fields:
        if f.key not in data:
            continue
        seen.add(f.key)
        title = prefix + label_of(f)["en" if lang == "en" else "zh"]
        value = data[f.key]
        if f.kind == "group" and isinstance(value, dict):
            rows += _rows(data_fields(f.children), value, lang, title + " · ")
        else:
            rows.append((title, answer_text(f, value, lang)))
    for key, value in data.items():
        if key not in seen:
            rows.append((prefix + key, answer_text(None, value, lang)))
    return rows


def choice_labels(schema: dict, key: str) -> dict[Any, dict]:
    """The choices of the top-level field ``key`` (single or multiple) as value -> {"zh", "en"}; {} if none."""
    f = field_at(read_form(schema), key) if isinstance(schema, dict) else None
    if f is None or not f.choices:
        return {}
    return {c.value: choice_label(f, c.value) for c in f.choices if isinstance(c.value, (str, int, float))}


# --------------------------------------------------------------------------- schema texts (kept for old callers)


def display_titles(node: Any, fallback: str) -> tuple[str, str]:
    """(Chinese title, English title) of a schema node."""
    if not isinstance(node, dict):
        return fallback, fallback
    zh = node.get("title") if isinstance(node.get("title"), str) and node["title"].strip() else fallback
    x_en = node.get("x-en") if isinstance(node.get("x-en"), dict) else {}
    en = x_en.get("title") if isinstance(x_en.get("title"), str) and x_en["title"].strip() else zh
    return zh, en


def display_descriptions(node: Any) -> tuple[str, str]:
    if not isinstance(node, dict):
        return "", ""
    zh = node.get("description") if isinstance(node.get("description"), str) else ""
    x_en = node.get("x-en") if isinstance(node.get("x-en"), dict) else {}
    en = x_en.get("description") if isinstance(x_en.get("description"), str) else ""
    return zh, en or zh


def property_node(root: dict, parts: list[str]) -> Any:
    """The (resolved) schema of the property at ``parts`` (["subject", "name"]), or None."""
    node: Any = resolve_node(root, root)
    for part in parts:
        node = resolve_node(root, node)
        if not isinstance(node, dict):
            return None
        if node.get("type") == "array":
            node = resolve_node(root, node.get("items"))
            if not isinstance(node, dict):
                return None
        properties = node.get("properties")
        if not isinstance(properties, dict) or part not in properties:
            return None
        node = properties[part]
    return resolve_node(root, node)
