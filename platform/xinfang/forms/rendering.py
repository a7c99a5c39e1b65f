"""Server-side rendering of tenant-defined forms, for pages that work without JavaScript.

* ``render_form(schema, ...)`` returns the fields' HTML (no ``<form>``, no submit button,
  no CSRF field: the page template adds those), Chinese first with English beside it,
  or English first with ``lang="en"``.
* ``parse_form(schema, form)`` turns the submitted fields back into JSON typed per the
  schema, ready for ``validate_submission``.
* ``render_anonymous_choice(...)`` / ``is_anonymous(form)``: the "file anonymously" box
  that decides whether the identity fields are required.

Field names are dotted paths ("subject.name"); a multiple choice repeats its name once
per ticked box. Markup lives in ``xinfang/templates/forms/`` and is autoescaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from xinfang.forms.schema_safety import (
    FieldError,
    choice_options,
    compile_validator,
    display_descriptions,
    display_titles,
    field_kind,
    identity_names,
    ordered_properties,
    re2_search,
    resolve_node,
)

ANONYMOUS_FIELD = "_anonymous"  # tenant field names start with a letter, so this never collides
RADIO_MAX_OPTIONS = 5
_TRUE_WORDS = frozenset({"true", "on", "1", "yes", "y", "是"})
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"

UI_TEXT = {
    "zh": {
        "required": "必填",
        "identity_note": "匿名时可不填",
        "identity_legend": "您的身份信息",
        "identity_help": "身份信息加密保存，仅用于核实情况和答复您。选择匿名反映时请不要填写。",
        "choose": "请选择",
        "not_specified": "不选择",
        "summary": "请修改以下问题：",
        "max_length": "最多 {n} 字",
        "anonymous": "我选择匿名反映",
        "anonymous_help": "匿名反映时无需填写身份信息。提交后请妥善保存查询码，凭码查询办理进展和答复。",
    },
    "en": {
        "required": "required",
        "identity_note": "optional when anonymous",
        "identity_legend": "Your identity",
        "identity_help": "Stored encrypted and used only to verify the facts and reply to you. Leave it empty if you file anonymously.",
        "choose": "Please choose",
        "not_specified": "Not specified",
        "summary": "Please correct the following:",
        "max_length": "at most {n} characters",
        "anonymous": "I want to file anonymously",
        "anonymous_help": "You need not give your identity. Keep the query code shown after you submit: it lets you follow the handling and read the reply.",
    },
}

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parents[1] / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _lang(lang: str) -> str:
    return "en" if isinstance(lang, str) and lang.lower().startswith("en") else "zh"


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"


def _html_lang(lang: str) -> str:
    return "en" if lang == "en" else "zh-CN"


def _bilingual(zh: str, en: str, lang: str) -> dict:
    """A label in the page's language. A Chinese page carries no English sub-label (a citizen reads one
    language); an English page keeps the Chinese term beside the English one, as staff know it."""
    if lang == "en":
        return {"main": en or zh, "alt": zh if zh and en and zh != en else "", "alt_lang": _html_lang("zh")}
    return {"main": zh or en, "alt": "", "alt_lang": ""}


def _id_part(text: str) -> str:
    return "".join(c if (c.isascii() and (c.isalnum() or c in "_-")) else "_" for c in text)


def _as_text(value: Any) -> str:
    """A submitted or stored value as it goes back into an input."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b or _as_text(a) == _as_text(b)


def _lookup(values: Any, parts: list[str]) -> Any:
    node = values
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _name_hint(name: str, node: dict) -> str:
    """Which kind of personal data a field holds, from its name and title."""
    lowered = name.lower()
    title = node.get("title") if isinstance(node.get("title"), str) else ""
    if any(w in lowered for w in ("phone", "mobile", "tel")) or any(w in title for w in ("电话", "手机")):
        return "tel"
    if "email" in lowered or node.get("format") == "email" or "邮箱" in title:
        return "email"
    if any(w in lowered for w in ("id_number", "idcard", "id_card", "id_no")) or "身份证" in title:
        return "id"
    if "address" in lowered or "地址" in title:
        return "address"
    if "name" in lowered or title in ("姓名", "名字"):
        return "name"
    return ""


_AUTOCOMPLETE = {"tel": "tel", "email": "email", "address": "street-address", "name": "name", "id": "off"}


class _Renderer:
    def __init__(self, schema: dict, lang: str, values: Any, errors: list, include_identity: bool, prefix: str):
        self.root = schema
        self.lang = lang
        self.ui = UI_TEXT[lang]
        self.values = values if isinstance(values, Mapping) else {}
        self.errors: dict[str, FieldError] = {}
        self.error_order: list[FieldError] = []
        for error in errors or []:
            if isinstance(error, FieldError):
                self.errors.setdefault(error.path, error)
                self.error_order.append(error)
        self.include_identity = include_identity
        self.prefix = prefix if isinstance(prefix, str) else ""
        self.rendered_ids: dict[str, str] = {}  # error path -> element id

    def dom_id(self, path: str) -> str:
        return "xf-" + _id_part(self.prefix) + path.replace(".", "-")

    def error_for(self, path: str) -> tuple[str, str]:
        error = self.errors.get(path)
        return (error.message(self.lang), self.dom_id(path) + "-error") if error else ("", "")

    # -- building the view model ------------------------------------------------------

    def fields(self) -> list[dict]:
        root = resolve_node(self.root, self.root)
        identity = set(identity_names(self.root))
        required = set(root.get("required") or []) if isinstance(root.get("required"), list) else set()
        out: list[dict] = []
        identity_block: dict | None = None
        for name in ordered_properties(root):
            if name in identity:
                if not self.include_identity:
                    continue
                if identity_block is None:
                    identity_block = self.identity_fieldset()
                    out.append(identity_block)
                identity_block["children"].append(
                    self.field(name, root["properties"][name], [name], required=name in required, identity=True)
                )
                continue
            item = self.field(name, root["properties"][name], [name], required=name in required, identity=False)
            if item is not None:
                out.append(item)
        return out

    def identity_fieldset(self) -> dict:
        zh, en = UI_TEXT["zh"]["identity_legend"], UI_TEXT["en"]["identity_legend"]
        return {
            "kind": "identity",
            "id": self.dom_id("_identity"),
            "label": _bilingual(zh, en, self.lang),
            "required": False,
            "identity_required": False,
            "help": self.ui["identity_help"],
            "help_id": self.dom_id("_identity") + "-help",
            "error": "",
            "error_id": "",
            "wrapper_attrs": [("data-identity", "true")],
            "children": [],
        }

    def field(self, name: str, raw: Any, parts: list[str], *, required: bool, identity: bool) -> dict | None:
        node = resolve_node(self.root, raw)
        kind = field_kind(self.root, node)
        if kind is None or not isinstance(node, dict):
            return None  # the gate refuses such schemas; never guess
        path = ".".join(parts)
        dom_id = self.dom_id(path)
        zh, en = display_titles(node, name)
        help_zh, help_en = display_descriptions(node)
        help_text = help_en if self.lang == "en" else help_zh
        max_length = node.get("maxLength")
        if kind == "textarea" and isinstance(max_length, int) and not isinstance(max_length, bool):
            hint = self.ui["max_length"].format(n=max_length)
            help_text = f"{help_text}（{hint}）" if help_text and self.lang == "zh" else (
                f"{help_text} ({hint})" if help_text else hint
            )
        error, error_id = self.error_for(path)
        self.rendered_ids[path] = dom_id
        item = {
            "kind": kind,
            "id": dom_id,
            "name": self.prefix + path,
            "label": _bilingual(zh, en, self.lang),
            "required": required and not identity,
            "identity_required": required and identity,
            "help": help_text,
            "help_id": dom_id + "-help" if help_text else "",
            "error": error,
            "error_id": error_id,
            "wrapper_attrs": [("data-field", path)]
            + ([("data-identity", "true")] if identity else [])
            + ([("data-required-unless-anonymous", "true")] if identity and required else []),
        }
        described = " ".join(x for x in (item["help_id"], error_id) if x) or None
        aria = [("aria-describedby", described), ("aria-invalid", "true" if error else None)]
        value = _lookup(self.values, parts)

        if kind == "object":
            item["kind"] = "fieldset"
            inner_required = set(node.get("required") or []) if isinstance(node.get("required"), list) else set()
            item["children"] = [
                child
                for child_name in ordered_properties(node)
                if (child := self.field(
                    child_name, node["properties"][child_name], parts + [child_name],
                    required=child_name in inner_required, identity=False,
                )) is not None
            ]
            return item

        if kind in ("choice", "multichoice"):
            options = choice_options(self.root, node if kind == "choice" else resolve_node(self.root, node["items"]))
            return self.choices(item, kind, options, value, aria)

        if kind == "boolean":
            item["kind"] = "checkbox"
            checked = value is True or (isinstance(value, str) and value.strip().lower() in _TRUE_WORDS)
            item["attrs"] = [
                ("type", "checkbox"), ("id", dom_id), ("name", item["name"]), ("value", "true"),
                ("checked", checked), ("required", item["required"] and node.get("const") is True),
            ] + aria + self.identity_attrs(identity, required)
            item["required"] = item["required"] and node.get("const") is True
            return item

        text = _as_text(value)
        attrs: list[tuple[str, Any]] = [("id", dom_id), ("name", item["name"])]
        hint = _name_hint(name, node)
        if kind == "textarea":
            attrs.append(("rows", "8" if (isinstance(max_length, int) and max_length >= 2000) else "4"))
        elif kind == "integer" or kind == "number":
            numeric = text == "" or re2_search(_NUMBER_RE, text)
            attrs.append(("type", "number" if numeric else "text"))
            attrs.append(("inputmode", "numeric" if kind == "integer" else "decimal"))
            attrs.append(("step", "1" if kind == "integer" else "any"))
            for keyword, attr in (("minimum", "min"), ("maximum", "max")):
                bound = node.get(keyword)
                if isinstance(bound, (int, float)) and not isinstance(bound, bool) and math.isfinite(bound):
                    attrs.append((attr, _as_text(bound)))
        elif kind == "date":
            attrs.append(("type", "date" if text == "" or re2_search(_DATE_RE, text) else "text"))
            attrs.append(("placeholder", "YYYY-MM-DD"))
        elif kind == "email":
            attrs += [("type", "email"), ("inputmode", "email"), ("spellcheck", "false")]
        elif hint == "tel":
            attrs += [("type", "tel"), ("inputmode", "tel")]
        else:
            attrs.append(("type", "text"))
        if kind in ("text", "textarea", "email") and isinstance(max_length, int) and not isinstance(max_length, bool):
            attrs.append(("maxlength", str(max_length)))
        min_length = node.get("minLength")
        if kind in ("text", "textarea") and isinstance(min_length, int) and not isinstance(min_length, bool) and min_length > 1:
            attrs.append(("minlength", str(min_length)))
        if identity and hint in _AUTOCOMPLETE:
            attrs.append(("autocomplete", _AUTOCOMPLETE[hint]))
        if identity and hint == "id":
            attrs.append(("autocapitalize", "characters"))
        if kind != "textarea":
            attrs.append(("value", text))
        attrs.append(("required", item["required"]))
        item["kind"] = "textarea" if kind == "textarea" else "input"
        item["value"] = text
        item["attrs"] = attrs + aria + self.identity_attrs(identity, required)
        return item

    @staticmethod
    def identity_attrs(identity: bool, required: bool) -> list[tuple[str, Any]]:
        if not identity:
            return []
        return [("data-identity", "true")] + ([("data-required-unless-anonymous", "true")] if required else [])

    def choices(self, item: dict, kind: str, options: list[dict], value: Any, aria: list) -> dict:
        def label(option: dict) -> dict:
            return _bilingual(option["title"], option["title_en"], self.lang)

        if kind == "multichoice":
            chosen = value if isinstance(value, list) else ([value] if value is not None else [])
            item["kind"] = "checkboxes"
            item["options"] = []
            for i, option in enumerate(options):
                option_id = f"{item['id']}-{i}"
                item["options"].append({
                    "id": option_id,
                    "label": label(option),
                    "attrs": [
                        ("type", "checkbox"), ("id", option_id), ("name", item["name"]),
                        ("value", _as_text(option["value"])),
                        ("checked", any(_same(v, option["value"]) for v in chosen)),
                    ] + aria,
                })
            return item

        if len(options) <= RADIO_MAX_OPTIONS:
            item["kind"] = "radios"
            item["options"] = []
            listed = list(options)
            if not item["required"]:
                # Without JavaScript a radio cannot be unticked: offer an explicit "none".
                none = {"value": "", "title": UI_TEXT["zh"]["not_specified"], "title_en": UI_TEXT["en"]["not_specified"]}
                listed = [none] + listed
            matched = any(_same(value, o["value"]) for o in options)
            for i, option in enumerate(listed):
                option_id = f"{item['id']}-{i}"
                checked = _same(value, option["value"]) if option["value"] != "" else not matched
                item["options"].append({
                    "id": option_id,
                    "label": label(option),
                    "attrs": [
                        ("type", "radio"), ("id", option_id), ("name", item["name"]),
                        ("value", _as_text(option["value"])), ("checked", checked), ("required", item["required"]),
                    ] + aria,
                })
            return item

        item["kind"] = "select"
        matched = any(_same(value, o["value"]) for o in options)
        item["options"] = [{
            "label": {"main": self.ui["choose"], "alt": "", "alt_lang": ""},
            "attrs": [("value", ""), ("selected", not matched)],
        }] + [
            {"label": label(o), "attrs": [("value", _as_text(o["value"])), ("selected", _same(value, o["value"]))]}
            for o in options
        ]
        item["attrs"] = [("id", item["id"]), ("name", item["name"]), ("required", item["required"])] + aria
        return item

    def summary(self) -> list[dict]:
        out = []
        for error in self.error_order:
            dom_id = self.rendered_ids.get(error.path)
            out.append({"text": error.message(self.lang), "href": f"#{dom_id}" if dom_id else ""})
        return out


def render_form(
    schema: dict,
    *,
    lang: str = "zh",
    values: dict | None = None,
    errors: list[FieldError] | None = None,
    include_identity: bool = True,
    name_prefix: str = "",
) -> markupsafe.Markup:
    """The HTML of a form's fields (no ``<form>``, no buttons, no CSRF field).

    ``values`` (typed, as from ``parse_form``) are shown again after an error;
    ``errors`` (from ``validate_submission``) appear next to their fields and in a
    summary at the top. Identity fields sit in ``<fieldset class="identity">`` and are
    never ``required`` in HTML (the petitioner may choose to stay anonymous); with
    ``include_identity=False`` they are left out. Raises ``SchemaRejected`` if the
    schema does not pass the gate.
    """
    compile_validator(schema)  # only gated schemas are rendered
    language = _lang(lang)
    renderer = _Renderer(schema, language, values, list(errors or []), include_identity, name_prefix)
    fields = renderer.fields()
    html = _ENV.get_template("forms/fields.html").render(
        fields=fields, summary=renderer.summary(), ui=renderer.ui, html_lang=_html_lang(language),
    )
    return markupsafe.Markup(html)


def render_anonymous_choice(*, lang: str = "zh", checked: bool = False, name_prefix: str = "") -> markupsafe.Markup:
    """The "file anonymously" checkbox (name ``<prefix>_anonymous``), for pages that offer it."""
    language = _lang(lang)
    prefix = name_prefix if isinstance(name_prefix, str) else ""
    html = _ENV.get_template("forms/anonymous.html").render(
        id="xf-" + _id_part(prefix) + "anonymous",
        name=prefix + ANONYMOUS_FIELD,
        checked=bool(checked),
        ui=UI_TEXT[language],
        ui_alt=UI_TEXT[_other(language)],
        alt_lang=_html_lang(_other(language)),
    )
    return markupsafe.Markup(html)


# --------------------------------------------------------------------------- parsing


def _getlist(form: Any, name: str) -> list[str]:
    try:
        if hasattr(form, "getlist"):
            raw = form.getlist(name)
        elif isinstance(form, Mapping):
            raw = form.get(name, [])
        else:
            return []
    except Exception:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        raw = [raw]
    out = []
    for item in raw:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if isinstance(item, str):
            out.append(item)
    return out


def is_anonymous(form: Any, *, name_prefix: str = "") -> bool:
    """Whether the "file anonymously" box was ticked."""
    values = _getlist(form, (name_prefix if isinstance(name_prefix, str) else "") + ANONYMOUS_FIELD)
    return any(v.strip().lower() in _TRUE_WORDS for v in values)


def _clean_text(text: str, multiline: bool) -> str:
    text = text.replace("\x00", "")
    if multiline:
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text.strip()


def _to_integer(text: str) -> Any:
    try:
        return int(text)  # also accepts full-width digits typed with a Chinese IME
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text  # validation reports "must be a whole number"
    return int(number) if math.isfinite(number) and number.is_integer() else text


def _to_number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _typed(kind_type: Any, text: str) -> Any:
    if kind_type == "integer":
        return _to_integer(text)
    if kind_type == "number":
        return _to_number(text)
    return text


def _parse_object(root: dict, node: dict, form: Any, prefix: str, skip: set[str], depth: int) -> dict:
    out: dict = {}
    required = set(node.get("required") or []) if isinstance(node.get("required"), list) else set()
    for name in ordered_properties(node):
        if name in skip:
            continue
        field_name = prefix + name
        raw = node["properties"][name]
        sub = resolve_node(root, raw)
        kind = field_kind(root, sub)
        if kind is None or not isinstance(sub, dict):
            continue
        if kind == "object":
            if depth >= 8:
                continue
            inner = _parse_object(root, sub, form, field_name + ".", set(), depth + 1)
            if inner or name in required:
                out[name] = inner  # an empty required group still names its missing fields
            continue
        values = _getlist(form, field_name)
        if kind == "boolean":
            is_identity = isinstance(raw, dict) and raw.get("x-identity") is True
            if values:
                out[name] = values[0].strip().lower() in _TRUE_WORDS
            elif not is_identity:
                out[name] = False  # an unticked box sends nothing
            continue
        if kind == "multichoice":
            item_type = resolve_node(root, sub.get("items")).get("type")
            items = [_typed(item_type, v.strip()) for v in values if v.strip()]
            if items:
                out[name] = items
            continue
        if not values:
            continue
        text = _clean_text(values[0], multiline=(kind == "textarea"))
        if text == "":
            continue  # blank: let "required" report it
        out[name] = _typed(sub.get("type"), text)
    return out


def parse_form(schema: dict, form: Any, *, name_prefix: str = "") -> dict:
    """Submitted fields (a MultiDict-like object with ``getlist()``) -> JSON typed per the schema.

    Integers and numbers are converted (text that is not a number is kept as text so
    that validation explains the problem), a ticked checkbox is ``True`` and an
    unticked one ``False``, a multiple choice becomes a list, dotted names become
    nested objects, and blank answers are dropped so that ``required`` reports them.
    Names not in the schema are ignored. Never raises on odd input; raises
    ``SchemaRejected`` if the schema does not pass the gate.
    """
    compile_validator(schema)
    prefix = name_prefix if isinstance(name_prefix, str) else ""
    try:
        return _parse_object(schema, resolve_node(schema, schema), form, prefix, set(), 0)
    except Exception:
        return {}
