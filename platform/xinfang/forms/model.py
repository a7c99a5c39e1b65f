"""One model of a form: a tenant form's JSON Schema as plain dataclasses, and back.

``Form.from_schema(schema)`` reads a schema written under the conventions of
``form_schemas/README.md``; ``form.to_schema()`` writes it back. Whatever the model does
not understand is kept verbatim (``extra`` on the form, on every field and on every
choice; a field or group the model cannot rebuild exactly is kept whole in ``raw``), so
``Form.from_schema(s).to_schema() == s`` for every schema that passes the gate.

Kinds a builder offers (``KINDS``) and how each is written:

* short_text / long_text: ``"type": "string"`` (long: ``"x-widget": "textarea"``)
* date / email / id_number: string with ``format`` ``date`` / ``email`` / ``cn-id-number``
* phone: a string whose name or title says phone (电话/手机), as the renderer decides
* number: ``integer`` or ``number``; amount: the same, named ``*amount*`` or marked ``"x-kind": "amount"``
* region (GB/T 2260 code), file: a string marked ``"x-kind"`` (shown as text until the
  renderer has their widgets)
* single_choice / multiple_choice: labelled choices (``oneOf`` of ``const``/``title``/``x-en``,
  or a plain ``enum``), the multiple one as an array of them
* checkbox: ``boolean``
* group: an object (the subject of a report); identity_group: the top-level fields marked
  ``"x-identity": true``, which the renderer shows together (written back flat)
* section: a heading between fields, kept in the parent's ``"x-sections"`` annotation
  (``[{"key", "before": field name or null, "title", "description", "x-en"}]``; not shown by the renderer yet)

A placeholder is ``"x-placeholder": {"zh": ..., "en": ...}`` on the field (not shown by the renderer yet).
Limits are the schema's own keywords (``minLength``, ``maxLength``, ``minimum``, ``maximum``,
``minItems``, ``maxItems``, ``pattern``...), kept as a dict under those names.

``"x-kind"`` is written only when the shape alone does not say the kind. A field shown
only when another answer says so (``shown_when``) is written as an ``allOf`` entry of its
parent: ``{"if": {"properties": {F: {"const": V}}, "required": [F]}, "then": {"required": [key]},
"else": {"properties": {key: {"not": {}}}}}`` (``contains`` instead of ``const`` when F is a
multiple choice; ``then`` only when the field is required once shown).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field as dc_field
from typing import Any

KINDS = (
    "short_text", "long_text", "single_choice", "multiple_choice", "date", "number", "amount", "region",
    "phone", "id_number", "email", "file", "group", "identity_group", "section", "checkbox",
)
IDENTITY_GROUP_KEY = "_identity"  # tenant field names start with a letter, so this never collides
LIMIT_KEYS = ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
              "multipleOf", "minItems", "maxItems", "pattern")
_FORMAT_KINDS = {"date": "date", "email": "email", "cn-id-number": "id_number"}
_KIND_FORMATS = {v: k for k, v in _FORMAT_KINDS.items()}
_DEFAULT_TYPES = {"number": "integer", "amount": "number", "checkbox": "boolean", "group": "object",
                  "multiple_choice": "array"}


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


@dataclass
class Choice:
    value: Any
    label_zh: str | None = None
    label_en: str | None = None
    extra: dict = dc_field(default_factory=dict)


@dataclass
class Condition:
    """Shown only when the answer to ``field`` (a sibling) is ``equals`` (or, for a multiple choice, includes it)."""
    field: str
    equals: Any
    contains: bool = False


@dataclass
class Field:
    key: str
    kind: str
    label_zh: str | None = None
    label_en: str | None = None
    help_zh: str | None = None
    help_en: str | None = None
    placeholder_zh: str | None = None
    placeholder_en: str | None = None
    required: bool = False
    identity: bool = False
    json_type: str | None = None
    limits: dict = dc_field(default_factory=dict)
    choices: list[Choice] | None = None
    choices_style: str = "oneOf"  # or "enum" (a plain enum: the value is its own label)
    items_extra: dict = dc_field(default_factory=dict)  # the items node of a multiple choice, beyond its choices
    shown_when: Condition | None = None
    children: list["Field"] = dc_field(default_factory=list)
    extra: dict = dc_field(default_factory=dict)
    kind_declared: bool = False  # the schema said "x-kind" outright
    implicit_key: bool = False  # a section whose x-sections entry named no key (one was made up; not written)
    # groups: which names x-order lists (None: no x-order), the original order of "required",
    # unrecognised allOf entries and a malformed x-sections kept verbatim
    order_listed: list[str] | None = None
    order_full: bool = True
    required_order: list[str] = dc_field(default_factory=list)
    has_required: bool = True
    raw: dict | None = None  # a field the model could not rebuild exactly: written back as is

    @property
    def label(self) -> dict:
        """As shown: missing English falls back to the Chinese, a missing title to the name."""
        return {"zh": self.label_zh or self.key, "en": self.label_en or self.label_zh or self.key}

    @property
    def help(self) -> dict:
        return {"zh": self.help_zh or "", "en": self.help_en or self.help_zh or ""}

    def find(self, key: str) -> "Field | None":
        """A field of this group by name (any depth)."""
        return _find(self.children, key)


@dataclass
class Form:
    title_zh: str | None = None
    title_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    fields: list[Field] = dc_field(default_factory=list)
    extra: dict = dc_field(default_factory=dict)
    order_listed: list[str] | None = None
    order_full: bool = True
    required_order: list[str] = dc_field(default_factory=list)
    has_required: bool = True
    raw: dict | None = None  # a root the model could not rebuild exactly: written back as is, not editable

    # -- reading and writing -------------------------------------------------------------
    @classmethod
    def from_schema(cls, schema: dict) -> "Form":
        schema = _json_copy(schema)
        form = cls()
        form.title_zh, form.title_en, form.description_zh, form.description_en, rest = _take_texts(schema)
        try:
            _read_object(form, rest, top=True)
        except Exception:
            return cls(raw=schema)
        return form

    def to_schema(self) -> dict:
        if self.raw is not None:
            return _json_copy(self.raw)
        out: dict = {}
        _put_texts(out, self.title_zh, self.title_en, self.description_zh, self.description_en)
        out.update(_write_object(self, self.fields, self.extra, top=True))
        return _json_copy(out)

    # -- editing ---------------------------------------------------------------------------
    # A field is named by its path: "title", "subject.name" (identity fields are top-level: "phone").
    def all_fields(self) -> list[Field]:
        out: list[Field] = []

        def walk(fields: list[Field]) -> None:
            for f in fields:
                out.append(f)
                walk(f.children)
        walk(self.fields)
        return out

    def find(self, path: str) -> Field | None:
        try:
            fields, i = self._locate(path)
        except KeyError:
            return None
        return fields[i]

    def container(self, parent: str | None) -> list[Field]:
        """The list a field is added to: the form's (None), a group's, or the identity group's ("_identity")."""
        if parent is None:
            return self.fields
        group = self.find(parent)
        if group is None or group.kind not in ("group", "identity_group"):
            raise KeyError(parent)
        return group.children

    def _locate(self, path: str) -> tuple[list[Field], int]:
        fields = self.fields
        parts = path.split(".")
        for depth, part in enumerate(parts):
            lists = [fields] + ([f.children for f in fields if f.kind == "identity_group"] if fields is self.fields else [])
            hit = next(((lst, i) for lst in lists for i, f in enumerate(lst) if f.key == part), None)
            if hit is None:
                raise KeyError(path)
            if depth == len(parts) - 1:
                return hit
            fields = hit[0][hit[1]].children
        raise KeyError(path)

    def _object(self, fields: list[Field]) -> list[Field]:
        """The list whose object ``fields`` writes its properties into (identity fields are the form's)."""
        if any(fields is f.children for f in self.fields if f.kind == "identity_group"):
            return self.fields
        return fields

    def _taken(self, fields: list[Field]) -> set[str]:
        """Names in use in the object ``fields`` belongs to (sections' keys included)."""
        owner = self._object(fields)
        return {f.key for f in data_fields(owner)} | {f.key for f in owner if f.kind == "section"}

    def add_field(self, new: Field, *, parent: str | None = None, index: int | None = None) -> Field:
        if new.kind not in KINDS or new.kind == "identity_group":
            raise ValueError(f"cannot add a field of kind {new.kind!r}")
        fields = self.container(parent)
        if new.key in self._taken(fields):
            raise ValueError(f"a field {new.key!r} exists already")
        if fields is not self.fields and new.kind == "group":
            raise ValueError("groups do not nest (one level of fieldsets is the convention)")
        new.identity = parent is not None and self.find(parent).kind == "identity_group"
        fields.insert(len(fields) if index is None else index, new)
        return new

    def move_field(self, path: str, index: int, *, parent: str | None | bool = False) -> None:
        """Move a field to ``index`` within its own list (drag and drop, or the keyboard's up and down),
        or into another list when ``parent`` is given: a group's, the identity group's, or None (the form's)."""
        fields, i = self._locate(path)
        moving = fields[i]
        target = fields if parent is False else self.container(parent)
        if self._object(target) is not self._object(fields):
            if moving.key in self._taken(target):
                raise ValueError(f"a field {moving.key!r} exists already there")
            if target is not self.fields and moving.kind == "group":
                raise ValueError("groups do not nest (one level of fieldsets is the convention)")
            moving.shown_when = None  # a condition names an answer beside it: it does not travel
            self._drop_conditions_on(fields, moving.key)
        if target is not fields and moving.kind != "section":
            moving.identity = isinstance(parent, str) and self.find(parent).kind == "identity_group"
        fields.pop(i)
        target.insert(index, moving)

    def _drop_conditions_on(self, fields: list[Field], key: str) -> None:
        for f in data_fields(self._object(fields)):  # a condition on an answer no longer there can never hold
            if f.shown_when and f.shown_when.field == key:
                f.shown_when = None

    def remove_field(self, path: str) -> Field:
        fields, i = self._locate(path)
        gone = fields.pop(i)
        self._drop_conditions_on(fields, gone.key)
        return gone

    def rename_field(self, path: str, new_key: str) -> Field:
        """Give a field another name: conditions on it, the listed order and the order of ``required`` follow."""
        fields, i = self._locate(path)
        f = fields[i]
        if new_key == f.key:
            return f
        if new_key in self._taken(fields):
            raise ValueError(f"a field {new_key!r} exists already")
        owner_fields = self._object(fields)
        owner: Any = self if owner_fields is self.fields else next(g for g in self.all_fields() if g.children is owner_fields)
        if f.kind != "section":
            for g in data_fields(owner_fields):
                if g.shown_when and g.shown_when.field == f.key:
                    g.shown_when.field = new_key
            owner.required_order = [new_key if n == f.key else n for n in owner.required_order]
            if owner.order_listed is not None:
                owner.order_listed = [new_key if n == f.key else n for n in owner.order_listed]
        f.key = new_key
        f.implicit_key = False
        return f

    def duplicate_field(self, path: str, new_key: str | None = None) -> Field:
        fields, i = self._locate(path)
        original = fields[i]
        taken = self._taken(fields)
        if new_key is None:
            n = 2
            while f"{original.key}_{n}" in taken:
                n += 1
            new_key = f"{original.key}_{n}"
        elif new_key in taken:
            raise ValueError(f"a field {new_key!r} exists already")
        twin = copy.deepcopy(original)
        twin.key = new_key
        twin.implicit_key = False
        fields.insert(i + 1, twin)
        return twin


_KEY_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def builder_problems(form: Form) -> list[dict]:
    """What the builder says before saving, each as {"path", "zh", "en"} (the gate still decides)."""
    out: list[dict] = []

    def walk(fields: list[Field], prefix: str, siblings: list[Field]) -> None:
        by_key = {f.key: f for f in data_fields(siblings)}
        for f in fields:
            if f.kind == "identity_group":
                walk(f.children, prefix, siblings)
                continue
            if f.kind == "section" or f.raw is not None:
                continue
            path = prefix + f.key
            if not _KEY_RULE.fullmatch(f.key):
                out.append({"path": path, "zh": "字段名只能由英文字母、数字和下划线组成，以字母开头",
                            "en": "a field name uses ASCII letters, digits and underscores and starts with a letter"})
            if not (f.label_zh or "").strip():
                out.append({"path": path, "zh": "请填写字段的中文名称", "en": "give the field a Chinese label"})
            if f.kind in ("single_choice", "multiple_choice"):
                values = [json.dumps(c.value) for c in f.choices or []]
                if not values:
                    out.append({"path": path, "zh": "请至少添加一个选项", "en": "add at least one choice"})
                elif len(set(values)) != len(values):
                    out.append({"path": path, "zh": "选项的取值不能重复", "en": "two choices have the same value"})
            if f.kind == "group" and not f.children:
                out.append({"path": path, "zh": "字段组里至少要有一个字段", "en": "a group needs at least one field"})
            cond = f.shown_when
            if cond is not None:
                other = by_key.get(cond.field)
                if other is None or other is f:
                    out.append({"path": path, "zh": "显示条件所依据的字段不存在", "en": "the condition names a field that is not there"})
                elif other.choices is not None and all(c.value != cond.equals for c in other.choices):
                    out.append({"path": path, "zh": "显示条件所依据的选项不存在", "en": "the condition names a choice that is not there"})
                elif cond.contains != (other.kind == "multiple_choice"):
                    out.append({"path": path, "zh": "显示条件与所依据字段的类型不符", "en": "the condition does not fit the kind of field it names"})
            if f.kind == "group":
                walk(f.children, path + ".", f.children)

    if form.raw is None:
        walk(form.fields, "", form.fields)
    return out


def new_field(kind: str, key: str, label_zh: str, label_en: str | None = None, **changes: Any) -> Field:
    """A field as the builder adds it: the shape its kind needs under the conventions."""
    if kind not in KINDS or kind == "identity_group":
        raise ValueError(f"cannot add a field of kind {kind!r}")
    f = Field(key=key, kind=kind, label_zh=label_zh, label_en=label_en)
    if kind in ("single_choice", "multiple_choice"):
        f.choices = []
    if kind == "multiple_choice":
        f.extra = {"uniqueItems": True}
    if kind == "group":
        f.extra = {"additionalProperties": False}
    for name, value in changes.items():
        setattr(f, name, value)
    return f


def _find(fields: list[Field], key: str) -> Field | None:
    for f in fields:
        if f.key == key:
            return f
        inner = _find(f.children, key)
        if inner is not None:
            return inner
    return None


def data_fields(fields: list[Field]) -> list[Field]:
    """The fields that hold answers, in order: the properties (the identity group opened, section headings left out)."""
    out: list[Field] = []
    for f in fields:
        if f.kind == "identity_group":
            out.extend(f.children)
        elif f.kind != "section":
            out.append(f)
    return out


# --------------------------------------------------------------------------- texts


def _take_texts(node: dict) -> tuple[str | None, str | None, str | None, str | None, dict]:
    rest = dict(node)
    zh = rest.pop("title") if isinstance(rest.get("title"), str) else None
    help_zh = rest.pop("description") if isinstance(rest.get("description"), str) else None
    en = help_en = None
    x_en = rest.get("x-en")
    if isinstance(x_en, dict) and x_en and set(x_en) <= {"title", "description"} and all(isinstance(v, str) for v in x_en.values()):
        rest.pop("x-en")
        en, help_en = x_en.get("title"), x_en.get("description")
    return zh, en, help_zh, help_en, rest


def _put_texts(out: dict, zh, en, help_zh, help_en) -> None:
    if zh is not None:
        out["title"] = zh
    if help_zh is not None:
        out["description"] = help_zh
    x_en = {k: v for k, v in (("title", en), ("description", help_en)) if v is not None}
    if x_en:
        out["x-en"] = x_en


# --------------------------------------------------------------------------- kinds


def _looks_like_phone(key: str, title: Any) -> bool:
    lowered = key.lower()
    title = title if isinstance(title, str) else ""
    return any(w in lowered for w in ("phone", "mobile", "tel")) or any(w in title for w in ("电话", "手机"))


def _choices_of(node: dict) -> tuple[list[Choice], str] | None:
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and one_of:
        out = []
        for entry in one_of:
            if not isinstance(entry, dict) or "const" not in entry or "$ref" in entry:
                return None
            zh, en, _, help_en, rest = _take_texts(entry)
            if help_en is not None or "description" in entry:
                return None  # described choices: keep the field whole
            value = rest.pop("const")
            out.append(Choice(value, zh, en, rest))
        return out, "oneOf"
    enum = node.get("enum")
    if isinstance(enum, list) and enum and "oneOf" not in node:
        return [Choice(v) for v in enum], "enum"
    return None


def _inferred_kind(key: str, node: dict) -> str | None:
    """The kind the shape says, without any x-kind; None if the conventions do not cover it."""
    t = node.get("type")
    if t == "object":
        return "group" if isinstance(node.get("properties"), dict) and node["properties"] else None
    if t in ("string", "integer", "number") and _choices_of(node) is not None:
        return "single_choice"
    if t == "boolean":
        return "checkbox"
    if t in ("integer", "number"):
        return "amount" if "amount" in key.lower() else "number"
    if t == "string":
        if node.get("format") in _FORMAT_KINDS:
            return _FORMAT_KINDS[node["format"]]
        if node.get("x-widget") == "textarea":
            return "long_text"
        if _looks_like_phone(key, node.get("title")):
            return "phone"
        return "short_text"
    if t == "array":
        items = node.get("items")
        if isinstance(items, dict) and items.get("type") in ("string", "integer", "number") and _choices_of(items):
            return "multiple_choice"
    return None


# --------------------------------------------------------------------------- fields


def _read_field(key: str, node: Any, required: bool) -> Field:
    whole = Field(key=key, kind="short_text", required=required, raw=_json_copy(node))
    if not isinstance(node, dict) or "$ref" in node:
        whole.kind = _raw_kind(key, node)
        return whole
    try:
        parsed = _parse_field(key, node, required)
    except Exception:  # any shape the parser did not foresee: kept whole, never lost
        parsed = None
    if parsed is None or _write_field(parsed) != node:
        whole.kind = _raw_kind(key, node)
        whole.identity = node.get("x-identity") is True
        return whole
    return parsed


def _raw_kind(key: str, node: Any) -> str:
    if isinstance(node, dict):
        declared = node.get("x-kind")
        if declared in KINDS:
            return declared
        return _inferred_kind(key, node) or "short_text"
    return "short_text"


def _parse_field(key: str, node: dict, required: bool) -> Field | None:
    inferred = _inferred_kind(key, node)
    declared = node.get("x-kind")
    if declared is not None and declared not in KINDS:
        return None
    kind = declared or inferred
    if kind is None:
        return None
    zh, en, help_zh, help_en, rest = _take_texts(node)
    f = Field(key=key, kind=kind, label_zh=zh, label_en=en, help_zh=help_zh, help_en=help_en, required=required)
    f.kind_declared = "x-kind" in rest
    rest.pop("x-kind", None)
    if rest.get("x-identity") is True:
        f.identity = True
        rest.pop("x-identity")
    placeholder = rest.get("x-placeholder")
    if isinstance(placeholder, dict) and placeholder and set(placeholder) <= {"zh", "en"}:
        rest.pop("x-placeholder")
        f.placeholder_zh, f.placeholder_en = placeholder.get("zh"), placeholder.get("en")
    f.json_type = rest.pop("type", None)
    for limit in LIMIT_KEYS:
        if limit in rest:
            f.limits[limit] = rest.pop(limit)
    if kind in _KIND_FORMATS and rest.get("format") == _KIND_FORMATS[kind]:
        rest.pop("format")
    if kind == "long_text" and rest.get("x-widget") == "textarea":
        rest.pop("x-widget")
    if inferred == "single_choice":
        got = _choices_of(node)
        if got:
            f.choices, f.choices_style = got
            rest.pop(f.choices_style)
    if inferred == "multiple_choice":
        items = dict(rest.pop("items"))
        f.choices, f.choices_style = _choices_of(items)
        items.pop(f.choices_style)
        f.items_extra = items
    if inferred == "group":
        _read_object(f, rest, top=False)
    else:
        f.extra = rest
    return f


def _write_field(f: Field) -> dict:
    if f.raw is not None:
        return _json_copy(f.raw)
    out: dict = {}
    json_type = f.json_type or _DEFAULT_TYPES.get(f.kind) or "string"
    out["type"] = json_type
    _put_texts(out, f.label_zh, f.label_en, f.help_zh, f.help_en)
    if f.kind in _KIND_FORMATS:
        out["format"] = _KIND_FORMATS[f.kind]
    if f.kind == "long_text":
        out["x-widget"] = "textarea"
    if f.identity:
        out["x-identity"] = True
    if f.placeholder_zh is not None or f.placeholder_en is not None:
        out["x-placeholder"] = {k: v for k, v in (("zh", f.placeholder_zh), ("en", f.placeholder_en)) if v is not None}
    if f.kind == "multiple_choice":
        items = {"type": f.items_extra.get("type", "string")}
        items.update({k: v for k, v in f.items_extra.items() if k != "type"})
        items.update(_write_choices(f.choices or [], f.choices_style))
        out["items"] = items
    elif f.choices is not None:
        out.update(_write_choices(f.choices, f.choices_style))
    out.update(f.limits)
    if f.kind == "group":
        out.update(_write_object(f, f.children, f.extra, top=False))
    else:
        out.update(f.extra)
    bare = {k: v for k, v in out.items() if k != "x-kind"}
    if f.kind_declared or _inferred_kind(f.key, bare) != f.kind:
        out["x-kind"] = f.kind
    return out


def _write_choices(choices: list[Choice], style: str) -> dict:
    plain = all(c.label_zh is None and c.label_en is None and not c.extra for c in choices)
    if style == "enum" and plain:
        return {"enum": [c.value for c in choices]}
    entries = []
    for c in choices:
        entry: dict = {"const": c.value}
        _put_texts(entry, c.label_zh if c.label_zh is not None else (str(c.value) if style == "enum" else None), c.label_en, None, None)
        entry.update(c.extra)
        entries.append(entry)
    return {"oneOf": entries}


# --------------------------------------------------------------------------- objects (the form, groups)


def _condition_entry(f: Field) -> dict:
    cond = f.shown_when
    test = {"contains": {"const": cond.equals}} if cond.contains else {"const": cond.equals}
    entry: dict = {"if": {"properties": {cond.field: test}, "required": [cond.field]}}
    if f.required:
        entry["then"] = {"required": [f.key]}
    entry["else"] = {"properties": {f.key: {"not": {}}}}
    return entry


def _read_condition(entry: Any) -> tuple[str, Condition, bool] | None:
    """(field key, condition, required once shown) from an allOf entry written by ``_condition_entry``."""
    try:
        (field_key, test), = entry["if"]["properties"].items()
        (target, _), = entry["else"]["properties"].items()
        contains = "contains" in test
        cond = Condition(field_key, (test["contains"] if contains else test)["const"], contains)
        required = "then" in entry
        probe = Field(key=target, kind="short_text", required=required, shown_when=cond)
        if _condition_entry(probe) != entry:
            return None
        return target, cond, required
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _read_object(owner: Any, node: dict, *, top: bool) -> None:
    """Fill ``owner`` (a Form or a group Field): its fields, listed order, order of ``required``, and ``extra``."""
    rest = dict(node)
    properties = rest.pop("properties", {})
    required = rest.pop("required", None)
    required_list = required if isinstance(required, list) else []
    order = rest.pop("x-order", None)
    listed = [n for n in order] if isinstance(order, list) else None
    names = list(dict.fromkeys([n for n in (listed or []) if n in properties] + list(properties)))

    conditions: dict[str, tuple[Condition, bool]] = {}
    all_of = rest.get("allOf")
    if isinstance(all_of, list):
        keep = []
        for entry in all_of:
            got = _read_condition(entry)
            if got and got[0] in properties and got[0] not in conditions and got[1].field in properties:
                conditions[got[0]] = (got[1], got[2])
            else:
                keep.append(entry)
        if conditions:
            if keep:
                rest["allOf"] = keep
            else:
                rest.pop("allOf")

    fields = []
    for name in names:
        f = _read_field(name, properties[name], name in required_list)
        if name in conditions:
            f.shown_when, shown_required = conditions[name]
            f.required = f.required or shown_required
        fields.append(f)

    sections = rest.get("x-sections")
    if isinstance(sections, list) and sections:
        placed = _place_sections(fields, sections)
        if placed is not None:
            fields = placed
            rest.pop("x-sections")

    if top:
        fields = _group_identity(fields)
    owner.has_required = required is not None
    if required is not None and ( any(n not in properties for n in required_list) or len(set(required_list)) != len(required_list) \
            or any(n in conditions and n in required_list for n in required_list)):
        rest["required"] = required  # odd: kept verbatim
    listed_check = listed if (listed is not None and all(isinstance(n, str) for n in listed)
                              and len(set(listed)) == len(listed) and all(n in properties for n in listed)) else None
    if listed is not None and listed_check is None:
        rest["x-order"] = order  # odd: kept verbatim
        listed = None
    if top:
        owner.fields = fields
    else:
        owner.children = fields
    owner.order_listed = listed
    owner.order_full = listed is None or set(listed) == set(properties)
    owner.required_order = list(required_list)
    owner.extra = rest
    if _write_object(owner, fields, rest, top=top) != node:
        raise ValueError("object not rebuilt exactly")


def _place_sections(fields: list[Field], sections: list) -> list[Field] | None:
    out = list(fields)
    for entry in sections:
        if not isinstance(entry, dict) or set(entry) - {"before", "title", "description", "x-en", "key"}:
            return None
        zh, en, help_zh, help_en, rest = _take_texts(entry)
        before = rest.get("before")
        if set(rest) - {"before", "key"}:
            return None
        if "key" in rest and not isinstance(rest["key"], str):
            return None
        heading = Field(key=rest.get("key") or f"section_{len(out) + 1}", kind="section", implicit_key="key" not in rest,
                        label_zh=zh, label_en=en, help_zh=help_zh, help_en=help_en)
        if before is None:
            out.append(heading)
            continue
        positions = [i for i, f in enumerate(out) if f.kind != "section" and f.key == before]
        if not positions:
            return None
        out.insert(positions[0], heading)
    return out


def _group_identity(fields: list[Field]) -> list[Field]:
    """Top-level identity fields become one identity group, when they stand together (as the renderer shows them)."""
    positions = [i for i, f in enumerate(fields) if f.identity and f.kind != "section"]
    if not positions or positions != list(range(positions[0], positions[-1] + 1)):
        return fields
    group = Field(key=IDENTITY_GROUP_KEY, kind="identity_group", label_zh="您的身份信息", label_en="Your identity",
                  children=[fields[i] for i in positions])
    return fields[:positions[0]] + [group] + fields[positions[-1] + 1:]


def _write_object(owner: Any, fields: list[Field], extra: dict, *, top: bool) -> dict:
    rest = dict(extra)
    listed, order_full = owner.order_listed, owner.order_full
    flat: list[Field] = []
    sections: list[dict] = []
    pending: list[Field] = []
    for f in fields:
        if f.kind == "section":
            pending.append(f)
            continue
        members = f.children if f.kind == "identity_group" else [f]
        for m in members:
            if f.kind == "identity_group" and m.raw is None:
                m.identity = True
            for heading in pending:
                sections.append(_section_entry(heading, m.key))
            pending = []
            flat.append(m)
    for heading in pending:
        sections.append(_section_entry(heading, None))

    out: dict = {}
    out["properties"] = {f.key: _write_field(f) for f in flat}
    keys = [f.key for f in flat]
    plain = [f.key for f in flat if f.required and f.shown_when is None]
    if "required" not in rest and (owner.has_required or plain):
        kept = [n for n in owner.required_order if n in plain]
        out["required"] = kept + [n for n in plain if n not in kept]
    if listed is not None and "x-order" not in rest:
        if order_full:
            out["x-order"] = keys
        else:
            # x-order listed only some names: list the longest start of the display order made of them;
            # the rest follow in declared order (properties are written in display order), as before.
            chosen, prefix = set(listed), []
            for k in keys:
                if k not in chosen:
                    break
                prefix.append(k)
            out["x-order"] = prefix
    conditions = [_condition_entry(f) for f in flat if f.shown_when is not None]
    if conditions:
        rest["allOf"] = list(rest.get("allOf", [])) + conditions
    if sections:
        rest["x-sections"] = sections
    out.update(rest)
    return out


def _section_entry(heading: Field, before: str | None) -> dict:
    entry: dict = {} if heading.implicit_key else {"key": heading.key}
    entry["before"] = before
    _put_texts(entry, heading.label_zh, heading.label_en, heading.help_zh, heading.help_en)
    return entry
