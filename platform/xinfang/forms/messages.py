"""What a citizen (or a registrar) is told about a submission: ``validate_submission(schema, data, anonymous=...)``
returns ``FieldError`` objects, each at a dotted field path and phrased in Chinese and English with the
field's label in front ("被反映人 · 姓名：必填"). It never raises on odd data.

The JSON Schema validation itself is the gate's compiled validator (``xinfang.forms.gate``); the words come
from the form's model (``xinfang.forms.reading``): labels, choices, and the conditions of fields asked only when
another answer says so, so a message names the condition that applies ("必填（仅当“问题类别”选择“其他”时填写）").
Region answers (GB/T 2260 codes) are checked against the list of administrative divisions
(``xinfang.forms.regions``), which JSON Schema alone cannot do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import regions
from .gate import MAX_FIELD_ERRORS, MAX_SUBMISSION_DEPTH, MAX_SUBMISSION_NODES, _find_additional_properties, compile_validator
from .reading import condition_words, data_fields, field_at, identity_keys, path_labels, read_form, walk_fields


@dataclass(frozen=True)
class FieldError:
    """One problem with a submission, for a citizen: ``path`` is dotted ("subject.name"), "" for the form."""

    path: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


_TYPE_WORDS = {
    "string": ("应填写文字", "must be text"),
    "integer": ("应填写整数", "must be a whole number"),
    "number": ("应填写数字", "must be a number"),
    "boolean": ("应为“是”或“否”", "must be yes or no"),
    "array": ("应为一组选项", "must be a list of choices"),
    "object": ("应为一组字段", "must be a group of fields"),
    "null": ("应为空", "must be empty"),
}

_FORMAT_WORDS = {
    "date": ("请填写有效日期（如 2024-05-01）", "enter a valid date (e.g. 2024-05-01)"),
    "date-time": (
        "请填写有效的日期和时间（如 2024-05-01T09:30:00+08:00）",
        "enter a valid date and time (e.g. 2024-05-01T09:30:00+08:00)",
    ),
    "email": ("请填写有效的电子邮箱地址", "enter a valid email address"),
    "uri": ("请填写有效的网址", "enter a valid web address (URL)"),
    "uuid": ("格式不正确（应为 UUID）", "invalid format (expected a UUID)"),
    "ipv4": ("请填写有效的 IPv4 地址", "enter a valid IPv4 address"),
    "ipv6": ("请填写有效的 IPv6 地址", "enter a valid IPv6 address"),
    "cn-id-number": (
        "号码不正确，请核对（18 位，最后一位是校验位，可为 X）",
        "not a valid resident ID number; please check it (18 characters, the last is a check digit or X)",
    ),
}

# Lower wins when one field has several problems: a citizen sees the most useful one.
_PRIORITY = {
    "type": 1, "required": 2, "const": 3, "enum": 3, "oneOf": 3, "anyOf": 3,
    "format": 4, "pattern": 5, "minLength": 6, "maxLength": 6, "minimum": 6, "maximum": 6,
    "exclusiveMinimum": 6, "exclusiveMaximum": 6, "minItems": 6, "maxItems": 6, "uniqueItems": 7,
}

ANONYMOUS_IDENTITY_ZH = "匿名信访时请不要填写身份信息"
ANONYMOUS_IDENTITY_EN = "leave identity fields empty when filing anonymously"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe_failure(validator: str, value: Any, instance: Any, schema: Any) -> tuple[str, str]:
    """(zh, en) for one failed keyword, without the field name."""
    if validator == "required":
        return "必填", "required"
    if validator == "type":
        wanted = value[0] if isinstance(value, list) and value else value
        return _TYPE_WORDS.get(wanted, ("类型不正确", "has the wrong type"))
    if validator == "maxLength":
        have = len(instance) if isinstance(instance, str) else 0
        return f"最多 {_num(value)} 个字（现有 {have} 个字）", f"at most {_num(value)} characters (now {have})"
    if validator == "minLength":
        return f"至少 {_num(value)} 个字", f"at least {_num(value)} characters"
    if validator == "pattern":
        return "格式不正确", "invalid format"
    if validator == "format":
        return _FORMAT_WORDS.get(value, ("格式不正确", "invalid format"))
    if validator == "const" and value is True and isinstance(schema, dict) and schema.get("type") == "boolean":
        return "请勾选", "please tick this box"
    if validator in ("enum", "const", "oneOf", "anyOf"):
        return "请从选项中选择", "choose one of the options"
    if validator == "minimum":
        return f"不能小于 {_num(value)}", f"must be at least {_num(value)}"
    if validator == "maximum":
        return f"不能大于 {_num(value)}", f"must be at most {_num(value)}"
    if validator == "exclusiveMinimum":
        return f"必须大于 {_num(value)}", f"must be greater than {_num(value)}"
    if validator == "exclusiveMaximum":
        return f"必须小于 {_num(value)}", f"must be less than {_num(value)}"
    if validator == "multipleOf":
        return f"应为 {_num(value)} 的倍数", f"must be a multiple of {_num(value)}"
    if validator == "maxItems":
        return f"最多选择 {_num(value)} 项", f"choose at most {_num(value)}"
    if validator == "minItems":
        if value == 1:
            return "请至少选择一项", "choose at least one"
        return f"至少选择 {_num(value)} 项", f"choose at least {_num(value)}"
    if validator == "uniqueItems":
        return "选项不能重复", "choices must not repeat"
    return "填写的内容不符合要求", "this value is not acceptable"


def _dotted(parts) -> str:
    return ".".join(str(p) for p in parts if not isinstance(p, int))


def _labelled(form, path: str, zh: str, en: str) -> FieldError:
    if not path:
        return FieldError("", zh, en)
    label_zh, label_en = path_labels(form, path)
    return FieldError(path, f"{label_zh}：{zh}", f"{label_en}: {en}")


def _siblings(form, path: str) -> list:
    parent = path.rpartition(".")[0]
    group = field_at(form, parent) if parent else None
    return data_fields(group.children if group else form.fields)


def _condition_note(form, path: str) -> dict | None:
    f = field_at(form, path)
    return condition_words(f, _siblings(form, path)) if f is not None and f.shown_when is not None else None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


_HUGE_INT = 10**300


def _prepare(value: Any, path: tuple, bad: list[str]) -> Any:
    """A copy of the submission that is safe to validate.

    Blank answers ("", None, [], {}) inside objects count as not given, so ``required``
    reports them; integers too long to print become infinity (still a number, still too
    big for any ``maximum``); text that is not valid Unicode (lone surrogates) is
    reported and then treated as not given.
    """
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            item = _prepare(item, path + (key,), bad)
            if not _is_blank(item):
                cleaned[key] = item
        return cleaned
    if isinstance(value, list):
        return [_prepare(item, path + (i,), bad) for i, item in enumerate(value)]
    if isinstance(value, int) and not isinstance(value, bool) and not -_HUGE_INT < value < _HUGE_INT:
        return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(_dotted(path))
            return ""
    return value


def _submission_too_big(data: Any) -> bool:
    count = 0
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_SUBMISSION_NODES or depth > MAX_SUBMISSION_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1) for v in node)
    return False


def _anonymous_variant(schema: dict) -> dict:
    """The same schema with identity fields no longer required."""
    identity = set(identity_keys(read_form(schema)))
    variant = dict(schema)
    if isinstance(schema.get("required"), list):
        variant["required"] = [n for n in schema["required"] if n not in identity]
    return variant


def validate_submission(schema: dict, data: dict, *, anonymous: bool) -> list[FieldError]:
    """Problems with ``data`` under the tenant ``schema``, phrased for citizens (empty list: valid).

    Blank answers count as not given. When ``anonymous`` is true the identity fields are
    no longer required and any identity value given is itself an error. Never raises on
    odd data; raises ``SchemaRejected`` only if ``schema`` does not pass the gate.
    """
    validator = compile_validator(schema)  # the gate first: nothing below reads a schema it has not passed
    if anonymous and isinstance(schema, dict):
        validator = compile_validator(_anonymous_variant(schema))
    try:
        return _validate(validator, schema, data, anonymous=anonymous)
    except Exception:  # belt and braces: odd data must never become a server error
        return [FieldError(
            "",
            "无法校验提交的内容，请检查后重新提交",
            "the submission could not be checked; please review it and submit again",
        )]


def _validate(validator, schema: dict, data: Any, *, anonymous: bool) -> list[FieldError]:
    form = read_form(schema)
    if not isinstance(data, dict):
        return [FieldError("", "提交的内容应为一组字段", "the submission must be a group of fields")]
    if _submission_too_big(data):
        return [FieldError("", "提交的内容过大或层级过深", "the submission is too large or too deeply nested")]
    unreadable: list[str] = []
    data = _prepare(data, (), unreadable)
    found: dict[str, tuple[int, FieldError]] = {}
    extras: list[FieldError] = []
    for path in unreadable:
        found.setdefault(path, (0, _labelled(form, path, "包含无法识别的字符", "contains characters that cannot be read")))

    if anonymous:
        for name in identity_keys(form):
            if name in data:
                del data[name]
                found[name] = (0, _labelled(form, name, ANONYMOUS_IDENTITY_ZH, ANONYMOUS_IDENTITY_EN))

    def keep(path: str, rank: int, error: FieldError) -> None:
        if path not in found or rank < found[path][0]:
            found[path] = (rank, error)

    for error in validator.iter_errors(data):
        if len(found) + len(extras) >= MAX_FIELD_ERRORS:
            break
        base = list(error.absolute_path)
        if error.validator == "required":
            missing = [
                n for n in (error.validator_value or [])
                if isinstance(n, str) and isinstance(error.instance, dict) and n not in error.instance
            ]
            for name in missing:
                path = _dotted(base + [name])
                group = field_at(form, path)
                inner = [c for c in data_fields(group.children) if c.required and c.shown_when is None] if group and group.kind == "group" else []
                if inner:  # a group left empty: each of its required fields says so, next to it
                    for child in inner:
                        keep(f"{path}.{child.key}", _PRIORITY["required"], _labelled(form, f"{path}.{child.key}", "必填", "required"))
                    continue
                note = _condition_note(form, path)
                if note is not None:  # required because another answer asks for it: say which
                    keep(path, _PRIORITY["required"], _labelled(form, path, f"必填（{note['zh']}）", f"required ({note['en']})"))
                else:
                    keep(path, _PRIORITY["required"], _labelled(form, path, "必填", "required"))
            continue
        if error.validator == "additionalProperties":
            parent = _dotted(base)
            names = sorted(_find_additional_properties(error.instance, error.schema), key=str)
            for name in names[:5]:
                shown = str(name)[:40]
                extras.append(_labelled(form, parent, f"不允许的字段 '{shown}'", f"field '{shown}' is not allowed"))
            continue
        path = _dotted(base)
        if error.validator == "not" and error.validator_value == {}:
            note = _condition_note(form, path)
            if note is not None:  # answered although the answer it depends on does not ask for it
                keep(path, 3, _labelled(form, path, f"{note['zh']}，现在请留空", f"{note['en']}; leave it empty now"))
                continue
        zh, en = describe_failure(error.validator, error.validator_value, error.instance, error.schema)
        keep(path, _PRIORITY.get(error.validator, 9), _labelled(form, path, zh, en))

    for path, f, _ in walk_fields(form):
        if f.kind != "region" or path in found:
            continue
        value = _answer_at(data, path)
        if value is not None:
            problem = regions.region_problem(value)
            if problem is not None:
                keep(path, _PRIORITY["format"], _labelled(form, path, *problem))

    order = _field_order(form)
    ordered = sorted((entry[1] for entry in found.values()), key=lambda e: order.get(e.path, len(order)))
    return ordered + extras


def _field_order(form) -> dict[str, int]:
    """Dotted field path -> position on the form ("" first)."""
    order: dict[str, int] = {"": -1}
    for path, _, _ in walk_fields(form):
        order.setdefault(path, len(order))
    return order


def _answer_at(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
