"""Server-side rendering of tenant-defined forms, for pages that work without JavaScript.

* ``render_form(schema, ...)`` returns the fields' HTML (no ``<form>``, no submit button,
  no CSRF field: the page template adds those), Chinese first with English beside it,
  or English first with ``lang="en"``.
* ``parse_form(schema, form)`` turns the submitted fields back into JSON typed per the
  schema, ready for ``validate_submission``.
* ``render_anonymous_choice(...)`` / ``is_anonymous(form)``: the "file anonymously" box
  that decides whether the identity fields are required.

What a field is (its kind, label, help, placeholder, unit, choices, the condition it is asked
under) comes from the form's model, ``xinfang.forms.reading.read_form``. Every kind the form
builder offers has its control: short and long text, single and multiple choice, date, number
and amount (with its unit), region (cascading province / prefecture / county selects over
GB/T 2260 codes), phone, identity number, e-mail, file, the subject-of-report group, the
identity group, section headings and a tick box. A field asked only when another answer says so
carries ``data-when-*`` attributes: ``static/form-fields.js`` hides it until the answer is given,
and without JavaScript it stays in view with a note ("仅当…时填写"); ``parse_form`` drops its answer
when the condition does not hold, and the server checks the condition either way.

Field names are dotted paths ("subject.name"); a multiple choice repeats its name once
per ticked box; a region sends ``<name>~province`` and ``<name>~city`` beside ``<name>`` (the county).
Markup lives in ``xinfang/templates/forms/`` and is autoescaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from xinfang.forms import regions
from xinfang.forms.gate import compile_validator, re2_search
from xinfang.forms.messages import FieldError
from xinfang.forms.model import Field
from xinfang.forms.reading import (
    condition_holds,
    condition_words,
    data_fields,
    help_of,
    label_of,
    placeholder_of,
    read_form,
    unit_of,
)

ANONYMOUS_FIELD = "_anonymous"  # tenant field names start with a letter, so this never collides
RADIO_MAX_OPTIONS = 5
_TRUE_WORDS = frozenset({"true", "on", "1", "yes", "y", "是"})
FILE_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"  # as the portal's attachments
REGION_PARTS = ("province", "city")  # a region also sends <name>~province and <name>~city
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
        "province": "省（自治区、直辖市）",
        "city": "市（地区、自治州）",
        "county": "县（区、县级市）",
        "choose_city_first": "请先选择市",
        "no_county": "本市不设区县",
        "then_required": "（此时必填）",
        "region_no_script": "如果下拉列表没有随选择变化：选好市后先提交一次，页面会列出该市的县（区）。",
        "region_help": "依次选择省、市、县（区）。",
        "file_help": "PDF、JPEG 或 PNG 文件，不超过 5 MB。",
        "id_help": "18 位，最后一位可能是 X。",
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
        "province": "Province",
        "city": "Prefecture or city",
        "county": "County or district",
        "choose_city_first": "Choose the city first",
        "no_county": "This city has no counties",
        "then_required": " (then required)",
        "region_no_script": "If the lists do not follow your choice: choose the city and submit once; the page then lists its counties.",
        "region_help": "Choose the province, then the city, then the county or district.",
        "file_help": "A PDF, JPEG or PNG file of at most 5 MB.",
        "id_help": "18 characters; the last may be X.",
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


def _name_hint(name: str, title: str, kind: str) -> str:
    """Which kind of personal data a field holds, from its kind, name and title (for autocomplete)."""
    lowered = name.lower()
    if kind == "phone":
        return "tel"
    if kind == "email" or "email" in lowered or "邮箱" in title:
        return "email"
    if kind == "id_number" or any(w in lowered for w in ("id_number", "idcard", "id_card", "id_no")) or "身份证" in title:
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
        self.needs_script = False  # conditional fields or regions: static/form-fields.js comes with them

    def dom_id(self, path: str) -> str:
        return "xf-" + _id_part(self.prefix) + path.replace(".", "-")

    def error_for(self, path: str) -> tuple[str, str]:
        error = self.errors.get(path)
        return (error.message(self.lang), self.dom_id(path) + "-error") if error else ("", "")

    # -- building the view model ------------------------------------------------------

    def fields(self) -> list[dict]:
        form = read_form(self.root)
        out: list[dict] = []
        identity_block: dict | None = None
        top = form.fields
        siblings = data_fields(top)
        for f in top:
            members = f.children if f.kind == "identity_group" else [f]
            if f.kind == "section":
                out.append(self.section(f))
                continue
            for m in members:
                if m.identity:
                    if not self.include_identity:
                        continue
                    if identity_block is None:
                        identity_block = self.identity_fieldset()
                        out.append(identity_block)
                    identity_block["children"].append(self.field(m, [m.key], siblings, identity=True))
                    continue
                out.append(self.field(m, [m.key], siblings, identity=False))
        if identity_block is not None:
            identity_block["child_error"] = any(c.get("error") for c in identity_block["children"])
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
            "when": None,
            "child_error": False,
            "wrapper_attrs": [("data-identity", "true")],
            "children": [],
        }

    def section(self, f: Field) -> dict:
        label, help_text = label_of(f), help_of(f)
        return {"kind": "section", "id": self.dom_id("_section-" + f.key), "label": _bilingual(label["zh"], label["en"], self.lang),
                "help": help_text[self.lang]}

    def when(self, f: Field, parts: list[str], siblings: list[Field]) -> dict | None:
        """The condition a field is asked under: the trigger's control name and value, and the note in words."""
        cond = f.shown_when
        words = condition_words(f, siblings)
        if cond is None or words is None:
            return None
        trigger = self.prefix + ".".join(parts[:-1] + [cond.field])
        note = words[self.lang] + (self.ui["then_required"] if f.required and not f.identity else "")
        return {"name": trigger, "value": _as_text(cond.equals), "contains": cond.contains,
                "note": note, "note_id": self.dom_id(".".join(parts)) + "-when"}

    def field(self, f: Field, parts: list[str], siblings: list[Field], *, identity: bool) -> dict:
        path = ".".join(parts)
        dom_id = self.dom_id(path)
        label = label_of(f)
        help_text = help_of(f)[self.lang]
        kind = f.kind
        max_length = f.limits.get("maxLength")
        max_length = max_length if isinstance(max_length, int) and not isinstance(max_length, bool) else None
        if kind == "long_text" and max_length is not None:
            hint = self.ui["max_length"].format(n=max_length)
            help_text = f"{help_text}（{hint}）" if help_text and self.lang == "zh" else (
                f"{help_text} ({hint})" if help_text else hint
            )
        if not help_text and kind in ("region", "file", "id_number"):
            help_text = self.ui[{"region": "region_help", "file": "file_help", "id_number": "id_help"}[kind]]
        error, error_id = self.error_for(path)
        self.rendered_ids[path] = dom_id
        when = self.when(f, parts, siblings)
        self.needs_script = self.needs_script or when is not None or kind == "region"
        required = f.required and not identity
        item = {
            "kind": kind,
            "id": dom_id,
            "name": self.prefix + path,
            "label": _bilingual(label["zh"], label["en"], self.lang),
            "required": required,
            "identity_required": f.required and identity,
            "help": help_text,
            "help_id": dom_id + "-help" if help_text else "",
            "error": error,
            "error_id": error_id,
            "when": when,
            "unit": "",
            "wrapper_attrs": [("data-field", path)]
            + ([("data-identity", "true")] if identity else [])
            + ([("data-required-unless-anonymous", "true")] if identity and f.required else [])
            + ([("data-when-name", when["name"]), ("data-when-value", when["value"]),
                ("data-when-contains", "true" if when["contains"] else None)] if when else []),
        }
        described = " ".join(x for x in (item["help_id"], when["note_id"] if when else "", error_id) if x) or None
        aria = [("aria-describedby", described), ("aria-invalid", "true" if error else None)]
        # a field asked only under a condition is never required in HTML: without JavaScript it is in view
        # whatever the other answer, and the server says when it is missing
        html_required = required and when is None
        value = _lookup(self.values, parts)

        if kind == "group":
            item["kind"] = "fieldset"
            children = data_fields(f.children)
            item["children"] = [
                self.section(c) if c.kind == "section" else self.field(c, parts + [c.key], children, identity=False)
                for c in f.children if c.kind == "section" or c in children
            ]
            # a group whose fields have errors is marked as a whole too (its own message, if any, stays its own)
            item["child_error"] = any(c.get("error") or c.get("child_error") for c in item["children"])
            return item

        if kind in ("single_choice", "multiple_choice"):
            return self.choices(item, kind, f.choices or [], value, aria, html_required)

        if kind == "checkbox":
            must_tick = f.extra.get("const") is True
            checked = value is True or (isinstance(value, str) and value.strip().lower() in _TRUE_WORDS)
            item["required"] = required and must_tick
            item["attrs"] = [
                ("type", "checkbox"), ("id", dom_id), ("name", item["name"]), ("value", "true"),
                ("checked", checked), ("required", html_required and must_tick),
            ] + aria + self.identity_attrs(identity, f.required)
            return item

        if kind == "region":
            return self.region(item, value, aria, html_required)

        text = _as_text(value)
        attrs: list[tuple[str, Any]] = [("id", dom_id), ("name", item["name"])]
        hint = _name_hint(f.key, label["zh"], kind)
        placeholder = placeholder_of(f)[self.lang]
        if kind == "long_text":
            attrs.append(("rows", "8" if (max_length is not None and max_length >= 2000) else "4"))
        elif kind in ("number", "amount"):
            integer = f.json_type == "integer"
            numeric = text == "" or re2_search(_NUMBER_RE, text)
            attrs.append(("type", "number" if numeric else "text"))
            attrs.append(("inputmode", "numeric" if integer else "decimal"))
            attrs.append(("step", "1" if integer else "any"))
            for keyword, attr in (("minimum", "min"), ("maximum", "max")):
                bound = f.limits.get(keyword)
                if isinstance(bound, (int, float)) and not isinstance(bound, bool) and math.isfinite(bound):
                    attrs.append((attr, _as_text(bound)))
            unit = unit_of(f)
            item["unit"] = unit[self.lang] if unit else ""
        elif kind == "date":
            attrs.append(("type", "date" if text == "" or re2_search(_DATE_RE, text) else "text"))
            placeholder = placeholder or "YYYY-MM-DD"
        elif kind == "email":
            attrs += [("type", "email"), ("inputmode", "email"), ("spellcheck", "false")]
        elif kind == "phone":
            attrs += [("type", "tel"), ("inputmode", "tel")]
        elif kind == "file":
            attrs += [("type", "file"), ("accept", FILE_ACCEPT)]
        elif kind == "id_number":
            attrs += [("type", "text"), ("spellcheck", "false"), ("autocapitalize", "characters")]
        else:
            attrs.append(("type", "text"))
        if kind in ("short_text", "long_text", "email", "phone", "id_number") and max_length is not None:
            attrs.append(("maxlength", str(max_length)))
        min_length = f.limits.get("minLength")
        if kind in ("short_text", "long_text") and isinstance(min_length, int) and not isinstance(min_length, bool) and min_length > 1:
            attrs.append(("minlength", str(min_length)))
        if placeholder and kind != "file":
            attrs.append(("placeholder", placeholder))
        if identity and hint in _AUTOCOMPLETE:
            attrs.append(("autocomplete", _AUTOCOMPLETE[hint]))
        elif kind == "id_number":
            attrs.append(("autocomplete", "off"))
        if kind not in ("long_text", "file"):
            attrs.append(("value", text))
        attrs.append(("required", html_required))
        item["kind"] = {"long_text": "textarea", "file": "file"}.get(kind, "input")
        item["value"] = text
        item["attrs"] = attrs + aria + self.identity_attrs(identity, f.required)
        return item

    def region(self, item: dict, value: Any, aria: list, html_required: bool) -> dict:
        """Three selects: province, city, county. Without JavaScript the city select lists every city under its
        province (grouped), and the county select the counties of the chosen city (after a first submit);
        static/form-fields.js narrows each list as the one above it changes."""
        chain = regions.path(value) if isinstance(value, str) else []
        province = chain[0] if chain else ""
        city = chain[1] if len(chain) > 1 else ""
        county = chain[2] if len(chain) > 2 else ""
        if city and regions.is_precise(city):
            county = ""
        name, dom_id = item["name"], item["id"]
        choose = {"value": "", "label": self.ui["choose"], "selected": False}

        def options(pairs, chosen):
            return [{"value": c, "label": n, "selected": c == chosen} for c, n in pairs]

        province_options = [dict(choose, selected=not province)] + options(regions.children(""), province)
        if province:
            city_groups = [{"label": "", "options": [dict(choose, selected=not city)] + options(regions.children(province), city)}]
        else:
            city_groups = [{"label": "", "options": [dict(choose, selected=True)]}] + [
                {"label": pname, "options": options(regions.children(pcode), city)} for pcode, pname in regions.children("")
            ]
        county_pairs = regions.children(city) if city else []
        if county_pairs:
            county_options = [dict(choose, selected=not county)] + options(county_pairs, county)
        elif city:
            county_options = [{"value": "", "label": self.ui["no_county"], "selected": True}]
        else:
            county_options = [{"value": "", "label": self.ui["choose_city_first"], "selected": True}]
        item["kind"] = "region"
        # without JavaScript the counties are listed once a city has been submitted: say so until then
        item["no_script"] = self.ui["region_no_script"] if not county_pairs and not (city and regions.is_precise(city)) else ""
        item["wrapper_attrs"] = item["wrapper_attrs"] + [("data-region", "true")]
        item["selects"] = [
            {"id": dom_id, "label": self.ui["province"], "groups": [{"label": "", "options": province_options}],
             "attrs": [("id", dom_id), ("name", f"{name}~province"), ("data-region-level", "province"),
                       ("autocomplete", "off")] + aria},
            {"id": dom_id + "-city", "label": self.ui["city"], "groups": city_groups,
             "attrs": [("id", dom_id + "-city"), ("name", f"{name}~city"), ("data-region-level", "city"),
                       ("autocomplete", "off")] + aria},
            {"id": dom_id + "-county", "label": self.ui["county"], "groups": [{"label": "", "options": county_options}],
             "attrs": [("id", dom_id + "-county"), ("name", name), ("data-region-level", "county"),
                       ("data-choose", self.ui["choose"]), ("data-choose-city-first", self.ui["choose_city_first"]),
                       ("data-no-county", self.ui["no_county"]),
                       ("autocomplete", "off")] + aria},
        ]
        item["value"] = value if isinstance(value, str) else ""
        return item

    @staticmethod
    def identity_attrs(identity: bool, required: bool) -> list[tuple[str, Any]]:
        if not identity:
            return []
        return [("data-identity", "true")] + ([("data-required-unless-anonymous", "true")] if required else [])

    def choices(self, item: dict, kind: str, choices: list, value: Any, aria: list, html_required: bool) -> dict:
        def label(choice) -> dict:
            zh = choice.label_zh if choice.label_zh is not None else _as_text(choice.value)
            return _bilingual(zh, choice.label_en or zh, self.lang)

        if kind == "multiple_choice":
            chosen = value if isinstance(value, list) else ([value] if value is not None else [])
            item["kind"] = "checkboxes"
            item["options"] = []
            for i, choice in enumerate(choices):
                option_id = f"{item['id']}-{i}"
                item["options"].append({
                    "id": option_id,
                    "label": label(choice),
                    "attrs": [
                        ("type", "checkbox"), ("id", option_id), ("name", item["name"]),
                        ("value", _as_text(choice.value)),
                        ("checked", any(_same(v, choice.value) for v in chosen)),
                    ] + aria,
                })
            return item

        if len(choices) <= RADIO_MAX_OPTIONS:
            item["kind"] = "radios"
            item["options"] = []
            entries = [(label(c), c.value) for c in choices]
            if not item["required"] or item["when"]:
                # Without JavaScript a radio cannot be unticked: offer an explicit "none".
                none = _bilingual(UI_TEXT["zh"]["not_specified"], UI_TEXT["en"]["not_specified"], self.lang)
                entries = [(none, "")] + entries
            matched = any(_same(value, c.value) for c in choices)
            for i, (text, option_value) in enumerate(entries):
                option_id = f"{item['id']}-{i}"
                checked = _same(value, option_value) if option_value != "" else not matched
                item["options"].append({
                    "id": option_id,
                    "label": text,
                    "attrs": [
                        ("type", "radio"), ("id", option_id), ("name", item["name"]),
                        ("value", _as_text(option_value)), ("checked", checked), ("required", html_required),
                    ] + aria,
                })
            return item

        item["kind"] = "select"
        matched = any(_same(value, c.value) for c in choices)
        item["options"] = [{
            "label": {"main": self.ui["choose"], "alt": "", "alt_lang": ""},
            "attrs": [("value", ""), ("selected", not matched)],
        }] + [
            {"label": label(c), "attrs": [("value", _as_text(c.value)), ("selected", _same(value, c.value))]}
            for c in choices
        ]
        item["attrs"] = [("id", item["id"]), ("name", item["name"]), ("required", html_required)] + aria
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
    """The HTML of a form's fields (no ``<form>``, no buttons, no CSRF field), and the ``<script>`` of
    ``static/form-fields.js`` when a field needs it (a condition, a region); forms without such fields
    carry no script at all.

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
        needs_script=renderer.needs_script,
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


def _choice_value(f: Field, text: str, json_type: Any) -> Any:
    """The choice whose value reads as ``text``; else the text typed as the schema says (validation explains)."""
    for c in f.choices or []:
        if _as_text(c.value) == text:
            return c.value
    return _typed(json_type, text)


def _region_answer(form: Any, name: str) -> str:
    """The most precise division chosen that agrees with the ones above it (a county, else the city, else the
    province): without JavaScript a county list from an earlier city may still be on the page."""
    chosen = {part: (_getlist(form, f"{name}~{part}") or [""])[0].strip() for part in REGION_PARTS}
    county = (_getlist(form, name) or [""])[0].strip()
    province, city = chosen["province"], chosen["city"]
    if county and (not city or county[:4] == city[:4]) and (not province or county[:2] == province[:2]):
        return county
    if city and (not province or city[:2] == province[:2]):
        return city
    return province or city or county


def _file_name(files: Any, name: str) -> str:
    uploads = _getlist_any(files, name)
    for upload in uploads:
        filename = getattr(upload, "filename", None)
        if isinstance(filename, str) and filename.strip():
            return " ".join(filename.replace("\\", "/").rsplit("/", 1)[-1].split())[:200]
    return ""


def _getlist_any(form: Any, name: str) -> list:
    try:
        if hasattr(form, "getlist"):
            return list(form.getlist(name))
        if isinstance(form, Mapping):
            raw = form.get(name, [])
            return list(raw) if isinstance(raw, (list, tuple)) else [raw]
    except Exception:
        return []
    return []


def _parse_fields(fields: list[Field], form: Any, files: Any, prefix: str, depth: int) -> dict:
    out: dict = {}
    siblings = data_fields(fields)
    for f in siblings:
        name = f.key
        field_name = prefix + name
        kind = f.kind
        if kind == "group":
            if depth >= 8:
                continue
            inner = _parse_fields(f.children, form, files, field_name + ".", depth + 1)
            if inner or f.required:
                out[name] = inner  # an empty required group still names its missing fields
            continue
        if kind == "region":
            code = _region_answer(form, field_name)
            if code:
                out[name] = code
            continue
        if kind == "file":
            filename = _file_name(files, field_name) if files is not None else ""
            if not filename:  # no new file: keep what an earlier page (or a hidden copy) sent as text
                filename = " ".join(((_getlist(form, field_name) or [""])[0]).split())
            if filename:
                out[name] = filename
            continue
        values = _getlist(form, field_name)
        if kind == "checkbox":
            if values:
                out[name] = values[0].strip().lower() in _TRUE_WORDS
            elif not f.identity:
                out[name] = False  # an unticked box sends nothing
            continue
        if kind == "multiple_choice":
            item_type = f.items_extra.get("type") if isinstance(f.items_extra, dict) else None
            items = [_choice_value(f, v.strip(), item_type) for v in values if v.strip()]
            if items:
                out[name] = items
            continue
        if not values:
            continue
        text = _clean_text(values[0], multiline=(kind == "long_text"))
        if text == "":
            continue  # blank: let "required" report it
        out[name] = _choice_value(f, text, f.json_type) if kind == "single_choice" else _typed(f.json_type, text)
    for f in siblings:
        # a field asked only under a condition: its answer counts only while the condition holds (without
        # JavaScript it stays in view, with the note saying when to fill it in)
        if f.shown_when is not None and f.key in out and not condition_holds(f.shown_when, out):
            del out[f.key]
    return out


def parse_form(schema: dict, form: Any, *, name_prefix: str = "", files: Any = None) -> dict:
    """Submitted fields (a MultiDict-like object with ``getlist()``) -> JSON typed per the schema.

    Integers and numbers are converted (text that is not a number is kept as text so
    that validation explains the problem), a ticked checkbox is ``True`` and an
    unticked one ``False``, a multiple choice becomes a list, dotted names become
    nested objects, a region becomes the code of the most precise division chosen, a
    file field the name of the uploaded file (from ``files``, the request's files), and
    blank answers are dropped so that ``required`` reports them; so is the answer to a
    field whose condition does not hold. Names not in the schema are ignored. Never
    raises on odd input; raises ``SchemaRejected`` if the schema does not pass the gate.
    """
    compile_validator(schema)
    prefix = name_prefix if isinstance(name_prefix, str) else ""
    try:
        return _parse_fields(read_form(schema).fields, form, files, prefix, 0)
    except Exception:
        return {}
