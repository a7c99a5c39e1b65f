"""The gate for tenant-defined form schemas (JSON Schema 2020-12), which are untrusted input.

Three public entry points:

* ``check_tenant_schema(schema)`` refuses schemas that are unsafe (remote ``$ref``,
  regexes RE2 cannot run in linear time, huge or deeply nested documents, unknown
  formats) or that break the form conventions in ``form_schemas/README.md``; it raises
  ``SchemaRejected`` with every problem found, each naming a JSON pointer and saying
  what is wrong in Chinese and English (for the tenant admin who wrote the schema).
* ``compile_validator(schema)`` gates the schema, then builds (and caches by the
  SHA-256 of its canonical JSON) a Draft 2020-12 validator whose ``pattern``,
  ``patternProperties`` and ``additionalProperties`` use RE2, whose registry is empty
  (nothing is ever fetched) and which checks the allowed ``format`` values.
* ``validate_submission(schema, data, anonymous=...)`` validates what a citizen (or a
  registrar) submitted and returns ``FieldError`` objects phrased for citizens, in
  Chinese and English; it never raises on odd data.

The small schema-reading helpers at the bottom (``resolve_node``, ``field_kind``,
``ordered_properties``, ``identity_names``, ``display_titles``) are shared with
``xinfang.forms.rendering`` so that the gate, the validator and the renderer agree on
what a field is.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry

from ..id_numbers import is_resident_id_number

# --------------------------------------------------------------------------- limits

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_BYTES = 64 * 1024  # compact canonical JSON, UTF-8
MAX_SCHEMA_DEPTH = 8  # containers below the root object (the root is depth 0)
MAX_CHOICES = 200  # items in any enum / oneOf / anyOf
MAX_MAX_LENGTH = 100_000
MAX_REF_HOPS = 16  # length of a chain of $ref -> $ref -> ...
MAX_UNFOLDED_NODES = 20_000  # schema nodes once every $ref is expanded in place
ALLOWED_FORMATS = frozenset({"date", "date-time", "email", "uri", "uuid", "ipv4", "ipv6", "cn-id-number"})
ALLOWED_WIDGETS = frozenset({"textarea"})
RESERVED_PROPERTY_NAMES = frozenset({"tenant_id", "_id", "channel", "receipt"})
PROPERTY_NAME_RULE = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
FORBIDDEN_KEYWORDS = {
    "$id": ("不允许使用 $id（表单定义不能声明或引用外部资源）",
            "$id is not allowed (a form schema may not declare or reference outside resources)"),
    "$dynamicRef": ("不允许使用 $dynamicRef", "$dynamicRef is not allowed"),
    "$recursiveRef": ("不允许使用 $recursiveRef", "$recursiveRef is not allowed"),
    "unevaluatedProperties": (
        "不支持 unevaluatedProperties，请使用 additionalProperties: false",
        "unevaluatedProperties is not supported; use additionalProperties: false",
    ),
    "unevaluatedItems": ("不支持 unevaluatedItems", "unevaluatedItems is not supported"),
}

# Submissions: forms are small; anything bigger is refused before validation.
MAX_SUBMISSION_DEPTH = 32
MAX_SUBMISSION_NODES = 5_000
MAX_FIELD_ERRORS = 100
VALIDATOR_CACHE_SIZE = 512

# Where subschemas sit, by keyword (2020-12 plus the legacy names jsonschema still reads).
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_KEYWORDS = (
    "items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else",
    "additionalItems", "contentSchema", "unevaluatedProperties", "unevaluatedItems",
)
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")


# --------------------------------------------------------------------------- results


class SchemaRejected(ValueError):
    """A tenant schema failed the gate. ``problems`` lists ``{"path", "zh", "en"}`` dicts."""

    def __init__(self, problems: list[dict]):
        self.problems = list(problems)
        summary = "; ".join(f"{p['path'] or '/'}: {p['en']}" for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"tenant schema rejected: {summary}{more}")


@dataclass(frozen=True)
class FieldError:
    """One problem with a submission, for a citizen: ``path`` is dotted ("subject.name"), "" for the form."""

    path: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


def _problem(path: tuple | str, zh: str, en: str) -> dict:
    return {"path": path if isinstance(path, str) else to_pointer(path), "zh": zh, "en": en}


def to_pointer(parts) -> str:
    """JSON pointer for a path of keys / indexes ("" is the root)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# --------------------------------------------------------------------------- RE2


def _to_re2_syntax(pattern: str) -> str:
    r"""Translate the one ECMA-262 escape RE2 lacks: ``\uXXXX`` becomes ``\x{XXXX}``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            hex4 = pattern[i + 2 : i + 6]
            if pattern[i + 1] == "u" and len(hex4) == 4 and all(c in "0123456789abcdefABCDEF" for c in hex4):
                out.append("\\x{" + hex4 + "}")
                i += 6
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _re2_options():
    options = re2.Options()
    options.log_errors = False  # RE2 otherwise logs every refused pattern to stderr
    options.max_mem = 8 << 20  # huge compiled programs fail to compile instead of eating memory
    return options


_RE2_OPTIONS = _re2_options()


@functools.lru_cache(maxsize=2048)
def _compile_re2(pattern: str):
    """Compile with RE2 (raises on backreferences, lookarounds, oversized programs...)."""
    return re2.compile(_to_re2_syntax(pattern), _RE2_OPTIONS)


def re2_error(pattern: Any) -> str | None:
    """None if RE2 accepts ``pattern``, else why not."""
    if not isinstance(pattern, str):
        return "not a string"
    try:
        _compile_re2(pattern)
    except Exception as exc:  # re2.error, UnicodeEncodeError (lone surrogates), ...
        return str(exc) or type(exc).__name__
    return None


def re2_search(pattern: str, text: Any) -> bool:
    """Linear-time search; a pattern RE2 refuses or a text it cannot encode never matches."""
    try:
        return _compile_re2(pattern).search(text if isinstance(text, str) else str(text)) is not None
    except Exception:
        return False


# --------------------------------------------------------------------------- formats

_DATE_TIME_RE = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_EMAIL_RE = r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$"
_URI_RE = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]*$"


def _check_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not re2_search(_DATE_TIME_RE, instance):
        return False
    text = instance[:19].replace("t", "T")
    datetime.datetime.fromisoformat(text)  # range checks; raises ValueError
    return True


def _check_email(instance: object) -> bool:
    return not isinstance(instance, str) or (len(instance) <= 254 and re2_search(_EMAIL_RE, instance))


def _check_uri(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not re2_search(_URI_RE, instance):
        return False
    urllib.parse.urlsplit(instance)  # raises ValueError on e.g. bad IPv6 brackets
    return True


def _check_regex(instance: object) -> bool:
    return not isinstance(instance, str) or re2_error(instance) is None


def _check_cn_id_number(instance: object) -> bool:
    """A PRC resident identity number with the right GB 11643 check character (the officials' registry uses the same check)."""
    return not isinstance(instance, str) or is_resident_id_number(instance)


def _build_format_checker() -> FormatChecker:
    """Draft 2020-12's own checkers for the allowed formats, plus the ones missing here.

    jsonschema only checks ``date-time`` and ``uri`` when the optional packages
    rfc3339-validator / rfc3987 are installed (they are not), and its ``email`` check
    is just "contains @"; those three are implemented here instead.
    """
    checker = FormatChecker(formats=())
    for name, entry in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        if name in ALLOWED_FORMATS:
            checker.checkers[name] = entry
    checker.checks("date-time", raises=ValueError)(_check_date_time)
    checker.checks("email")(_check_email)
    checker.checks("uri", raises=ValueError)(_check_uri)
    checker.checks("cn-id-number")(_check_cn_id_number)
    return checker


FORMAT_CHECKER = _build_format_checker()

# The metaschema checks ``pattern`` values with format "regex": use RE2's dialect, not Python's.
_META_FORMAT_CHECKER = FormatChecker(formats=())
_META_FORMAT_CHECKER.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
_META_FORMAT_CHECKER.checks("regex")(_check_regex)


# --------------------------------------------------------------------------- the RE2 validator


def _find_additional_properties(instance: Mapping, schema: Mapping) -> Iterator:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for name in instance:
        if name in properties:
            continue
        if any(re2_search(p, name) for p in patterns):
            continue
        yield name


def _kw_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re2_search(pattern, instance):
        yield ValidationError(f"the value does not match {pattern!r}")


def _kw_pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if re2_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _kw_additional_properties(validator, additional, instance, schema):
    # jsonschema's own version runs patternProperties through Python's ``re``.
    if not validator.is_type(instance, "object"):
        return
    extras = sorted(set(_find_additional_properties(instance, schema)), key=str)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        shown = ", ".join(repr(str(e)[:40]) for e in extras[:5])
        yield ValidationError(f"additional properties are not allowed ({shown})")


TenantSchemaValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _kw_pattern,
        "patternProperties": _kw_pattern_properties,
        "additionalProperties": _kw_additional_properties,
    },
    format_checker=FORMAT_CHECKER,
)


# --------------------------------------------------------------------------- the gate


def canonical_json(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _scan_structure(schema: dict) -> list[dict]:
    """Depth and JSON-ness, iteratively (safe on self-referencing or absurdly deep input)."""
    stack: list[tuple[Any, int, tuple]] = [(schema, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(node, dict) and not isinstance(key, str):
                return [_problem(path, f"键 {key!r} 不是字符串", f"key {key!r} is not a string")]
            if isinstance(value, (dict, list)):
                if depth + 1 > MAX_SCHEMA_DEPTH:
                    return [_problem(
                        path + (key,),
                        f"嵌套层级超过 {MAX_SCHEMA_DEPTH} 层",
                        f"nested more than {MAX_SCHEMA_DEPTH} levels deep",
                    )]
                stack.append((value, depth + 1, path + (key,)))
            elif isinstance(value, float) and not math.isfinite(value):
                return [_problem(path + (key,), "数值无效（NaN 或无穷大）", "invalid number (NaN or infinity)")]
            elif not isinstance(value, (str, int, float, bool, type(None))):
                return [_problem(
                    path + (key,),
                    f"不是 JSON 值（{type(value).__name__}）",
                    f"not a JSON value ({type(value).__name__})",
                )]
    return []


def _unquote_pointer(pointer: str) -> list[str]:
    return [urllib.parse.unquote(p).replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


_MISSING = object()


def _pointer_get(root: Any, ref: str) -> Any:
    """Target of a local ``#/...`` reference, or ``_MISSING``."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return _MISSING
    node = root
    for part in _unquote_pointer(ref[1:]):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _subschemas(node: dict) -> Iterator[tuple[tuple, Any]]:
    """(relative path, subschema) for every schema position directly under ``node``."""
    for keyword in _SCHEMA_MAP_KEYWORDS:
        value = node.get(keyword)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield (keyword, name), sub
    for keyword in _SCHEMA_KEYWORDS:
        if keyword in node:
            value = node[keyword]
            if isinstance(value, list):  # legacy array-form "items"; the metaschema reports it
                for i, sub in enumerate(value):
                    yield (keyword, i), sub
            else:
                yield (keyword,), value
    for keyword in _SCHEMA_LIST_KEYWORDS:
        value = node.get(keyword)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield (keyword, i), sub


def _normalized_name(name: str) -> str:
    """"tenantId", "Tenant-ID", " TENANT_ID " all become "tenant_id"."""
    out: list[str] = []
    stripped = name.strip()
    for i, ch in enumerate(stripped):
        if ch.isupper() and i > 0 and (stripped[i - 1].islower() or stripped[i - 1].isdigit()):
            out.append("_")
        out.append(ch)
    return "".join(out).replace("-", "_").lower()


class _Stop(Exception):
    """Ends the $ref expansion walk with one problem."""


class _Gate:
    def __init__(self, root: dict):
        self.root = root
        self.problems: list[dict] = []

    def add(self, path, zh: str, en: str) -> None:
        self.problems.append(_problem(path, zh, en))

    # -- every schema position ------------------------------------------------------

    def visit(self, node: Any, path: tuple) -> None:
        if not isinstance(node, dict):
            return  # booleans are valid schemas; other types are reported by the metaschema
        for keyword, (zh, en) in FORBIDDEN_KEYWORDS.items():
            if keyword in node:
                self.add(path + (keyword,), zh, en)
        if "$schema" in node:
            if path:
                self.add(path + ("$schema",), "只能在最外层声明 $schema", "$schema is only allowed at the root")
            elif node["$schema"] not in (SCHEMA_DIALECT, SCHEMA_DIALECT + "#"):
                self.add(("$schema",), f"$schema 必须是 {SCHEMA_DIALECT}", f"$schema must be {SCHEMA_DIALECT}")
        if "$ref" in node:
            self.check_ref(node["$ref"], path + ("$ref",))
        if "pattern" in node and isinstance(node["pattern"], str):
            why = re2_error(node["pattern"])
            if why is not None:
                self.add(
                    path + ("pattern",),
                    f"正则表达式无法使用（不支持反向引用、环视等）：{why}",
                    f"regular expression refused by RE2 (no backreferences or lookarounds): {why}",
                )
        if isinstance(node.get("patternProperties"), dict):
            for pattern in node["patternProperties"]:
                why = re2_error(pattern)
                if why is not None:
                    self.add(
                        path + ("patternProperties", pattern),
                        f"正则表达式无法使用（不支持反向引用、环视等）：{why}",
                        f"regular expression refused by RE2 (no backreferences or lookarounds): {why}",
                    )
        if "format" in node and (not isinstance(node["format"], str) or node["format"] not in ALLOWED_FORMATS):
            allowed = ", ".join(sorted(ALLOWED_FORMATS))
            self.add(
                path + ("format",),
                f"不支持的格式 {str(node['format'])[:40]!r}，可用：{allowed}",
                f"format {str(node['format'])[:40]!r} is not allowed; allowed: {allowed}",
            )
        for keyword in ("enum", "oneOf", "anyOf"):
            value = node.get(keyword)
            if isinstance(value, list) and len(value) > MAX_CHOICES:
                self.add(
                    path + (keyword,),
                    f"{keyword} 最多 {MAX_CHOICES} 项（现有 {len(value)} 项）",
                    f"{keyword} may have at most {MAX_CHOICES} entries (has {len(value)})",
                )
        max_length = node.get("maxLength")
        if isinstance(max_length, (int, float)) and not isinstance(max_length, bool) and max_length > MAX_MAX_LENGTH:
            self.add(
                path + ("maxLength",),
                f"maxLength 不能超过 {MAX_MAX_LENGTH}",
                f"maxLength may not exceed {MAX_MAX_LENGTH}",
            )
        if "x-identity" in node:
            if not (len(path) == 2 and path[0] == "properties"):
                self.add(
                    path + ("x-identity",),
                    "身份信息标记（x-identity）只能用于最外层字段",
                    "identity marks (x-identity) are only allowed on top-level properties",
                )
            elif not isinstance(node["x-identity"], bool):
                self.add(path + ("x-identity",), "x-identity 必须是 true 或 false", "x-identity must be true or false")
        if "x-en" in node:
            x_en = node["x-en"]
            if not isinstance(x_en, dict) or any(
                k not in ("title", "description") or not isinstance(v, str) for k, v in x_en.items()
            ):
                self.add(
                    path + ("x-en",),
                    "x-en 只能包含字符串 title 和 description",
                    "x-en may only hold the strings title and description",
                )
        if "x-widget" in node and (not isinstance(node["x-widget"], str) or node["x-widget"] not in ALLOWED_WIDGETS):
            self.add(
                path + ("x-widget",),
                f"不支持的控件 {str(node['x-widget'])[:40]!r}，可用：textarea",
                f"widget {str(node['x-widget'])[:40]!r} is not supported; available: textarea",
            )
        if isinstance(node.get("properties"), dict):
            for name in node["properties"]:
                self.check_property_name(name, path + ("properties", name))
        for rel, sub in _subschemas(node):
            self.visit(sub, path + rel)

    def check_ref(self, ref: Any, path: tuple) -> None:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            self.add(
                path,
                "只允许引用本表单内部的定义（以 #/ 开头），不允许外部或远程引用",
                "only local references starting with #/ are allowed; remote or relative references are refused",
            )
        elif _pointer_get(self.root, ref) is _MISSING:
            self.add(path, f"引用的位置不存在：{ref[:80]}", f"the referenced location does not exist: {ref[:80]}")

    def check_property_name(self, name: str, path: tuple) -> None:
        if _normalized_name(name) in RESERVED_PROPERTY_NAMES or name.strip().lower() in RESERVED_PROPERTY_NAMES:
            self.add(
                path,
                f"字段名 {name!r} 由平台保留，不能自定义",
                f"the field name {name!r} is reserved for the platform",
            )
        elif not re2_search(PROPERTY_NAME_RULE, name):
            self.add(
                path,
                "字段名只能由英文字母、数字和下划线组成，以字母开头，最长 64 个字符",
                "field names use ASCII letters, digits and underscores, start with a letter, at most 64 characters",
            )

    # -- the form shape -------------------------------------------------------------

    def check_form_object(self, node: dict, path: tuple) -> None:
        properties = node.get("properties")
        if not isinstance(properties, dict) or not properties:
            self.add(path + ("properties",), "表单至少需要一个字段（properties）", "a form needs at least one field (properties)")
            return
        if node.get("additionalProperties") is not False:
            self.add(
                path + ("additionalProperties",),
                "必须设置 additionalProperties: false",
                "additionalProperties must be false",
            )
        required = node.get("required", [])
        if isinstance(required, list):
            for i, name in enumerate(required):
                if isinstance(name, str) and name not in properties:
                    self.add(path + ("required", i), f"必填字段 {name!r} 未定义", f"required field {name!r} is not defined")
        order = node.get("x-order")
        if order is not None:
            if not isinstance(order, list) or any(not isinstance(n, str) for n in order):
                self.add(path + ("x-order",), "x-order 必须是字段名列表", "x-order must be a list of field names")
            else:
                for i, name in enumerate(order):
                    if name not in properties:
                        self.add(path + ("x-order", i), f"x-order 中的字段 {name!r} 未定义", f"x-order names an undefined field {name!r}")
                if len(set(order)) != len(order):
                    self.add(path + ("x-order",), "x-order 中有重复的字段", "x-order repeats a field")
        for name, sub in properties.items():
            kind = field_kind(self.root, sub)
            if kind is None:
                self.add(
                    path + ("properties", name),
                    "该字段的类型无法在表单中显示（支持：文字、多行文字、日期、邮箱、整数、数字、勾选、单选、多选、字段组）",
                    "this field's type cannot be shown on a form (supported: text, textarea, date, email, "
                    "integer, number, checkbox, choice, multiple choice, group of fields)",
                )
            elif kind == "object":
                self.check_form_object(resolve_node(self.root, sub), path + ("properties", name))

    # -- references: no recursion, no exponential fan-out ----------------------------

    def check_ref_expansion(self) -> bool:
        """Every $ref expanded in place stays finite and small; False (with the problem added) when not.

        Runs before anything that follows references (the form shape, rendering), which
        would otherwise recurse without end on ``a -> a`` or ``a -> b -> a``.
        """
        memo: dict[str, int] = {}
        active: dict[str, None] = {}  # the pointers being expanded, in order: the cycle is its tail

        def size(node: Any, pointer: str, hops: int) -> int:
            if pointer in memo:
                return memo[pointer]
            if pointer in active:
                chain = list(active)
                cycle = " → ".join(p or "/" for p in chain[chain.index(pointer):] + [pointer])
                raise _Stop(pointer, f"不允许循环引用（$ref 指回自身）：{cycle}", f"recursive references ($ref cycles) are not allowed: {cycle}")
            if not isinstance(node, dict):
                return 1
            active[pointer] = None
            total = 1
            ref = node.get("$ref")
            target = _pointer_get(self.root, ref) if isinstance(ref, str) else _MISSING
            if target is not _MISSING:
                if hops + 1 > MAX_REF_HOPS:
                    raise _Stop(pointer, f"$ref 引用链超过 {MAX_REF_HOPS} 层", f"$ref chain longer than {MAX_REF_HOPS}")
                total += size(target, to_pointer(_unquote_pointer(ref[1:])), hops + 1)
            for rel, sub in _subschemas(node):
                total += size(sub, pointer + to_pointer(rel), hops)
            if total > MAX_UNFOLDED_NODES:
                raise _Stop(
                    pointer,
                    "展开全部 $ref 后表单定义过大",
                    f"the schema is too large once its $refs are expanded (over {MAX_UNFOLDED_NODES} nodes)",
                )
            active.pop(pointer, None)
            memo[pointer] = total
            return total

        try:
            size(self.root, "", 0)
        except _Stop as stop:
            self.add(*stop.args)
            return False
        return True

    # -- the metaschema -------------------------------------------------------------

    def check_metaschema(self) -> None:
        try:
            Draft202012Validator.check_schema(self.root, format_checker=_META_FORMAT_CHECKER)
        except SchemaError as error:
            path = to_pointer(error.absolute_path)
            if any(p["path"] == path for p in self.problems):
                return  # already explained above, in words a tenant admin understands
            self.add(
                path,
                f"不符合 JSON Schema 2020-12 规范：{_metaschema_words(error)}",
                f"not valid under the JSON Schema 2020-12 metaschema: {error.message[:300]}",
            )


_SIMPLE_TYPES = "string、number、integer、boolean、object、array 或 null"
_METASCHEMA_WORDS = {"type": "取值的类型不对", "enum": "不是允许的取值", "const": "不是允许的取值", "minimum": "数值太小",
                     "exclusiveMinimum": "数值太小", "maximum": "数值太大", "required": "缺少必需的项", "pattern": "格式不对",
                     "format": "格式不对", "uniqueItems": "有重复的项", "minItems": "项太少", "minLength": "太短"}


def _metaschema_words(error: SchemaError) -> str:
    """The metaschema's complaint in Chinese (jsonschema words it in English): what is wrong, and the value."""
    value = json.dumps(error.instance, ensure_ascii=False)
    value = value if len(value) <= 60 else value[:57] + "…"
    if error.absolute_path and error.absolute_path[-1] == "type":
        return f"没有 {value} 这种类型，应为 {_SIMPLE_TYPES}"
    return f"{_METASCHEMA_WORDS.get(error.validator, '写法不对')}（{value}）"


def check_tenant_schema(schema: dict) -> None:
    """Raise ``SchemaRejected`` unless ``schema`` is a safe form schema under the conventions."""
    if not isinstance(schema, dict):
        raise SchemaRejected([_problem("", "表单定义必须是 JSON 对象", "a form schema must be a JSON object")])
    problems = _scan_structure(schema)
    if problems:
        raise SchemaRejected(problems)
    try:
        size = len(canonical_json(schema).encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SchemaRejected([_problem("", f"无法序列化为 JSON：{exc}", f"cannot be serialized as JSON: {exc}")]) from None
    if size > MAX_SCHEMA_BYTES:
        raise SchemaRejected([_problem(
            "",
            f"表单定义过大（{size} 字节，上限 {MAX_SCHEMA_BYTES} 字节）",
            f"schema too large ({size} bytes; the limit is {MAX_SCHEMA_BYTES})",
        )])
    gate = _Gate(schema)
    if schema.get("type") != "object":
        gate.add(("type",), "最外层必须是 \"type\": \"object\"", 'the root must be "type": "object"')
    try:
        gate.visit(schema, ())
        if gate.check_ref_expansion():  # the form shape follows $refs: only once they are known to end
            gate.check_form_object(schema, ())
        gate.check_metaschema()
    except RecursionError:  # a shape no check above foresaw: refused, never a 500
        gate.add("", "表单定义嵌套或引用过深，无法检查", "the schema nests or refers too deeply to be checked")
    if gate.problems:
        raise SchemaRejected(gate.problems)


# --------------------------------------------------------------------------- compiled validators

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()


def schema_digest(schema: dict) -> str:
    return hashlib.sha256(canonical_json(schema).encode("utf-8")).hexdigest()


def compile_validator(schema: dict):
    """A cached RE2-backed Draft 2020-12 validator for a schema that passes ``check_tenant_schema``.

    Raises ``SchemaRejected`` for a schema that does not pass the gate. The validator
    holds its own copy of the schema (``validator.schema``), so later changes to the
    caller's dict do not leak into it.
    """
    if not isinstance(schema, dict):
        check_tenant_schema(schema)  # raises
    try:
        canonical = canonical_json(schema)
    except (ValueError, TypeError):
        check_tenant_schema(schema)  # raises with the reason
        raise
    try:
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        check_tenant_schema(schema)
        raise
    with _cache_lock:
        validator = _cache.get(digest)
        if validator is not None:
            _cache.move_to_end(digest)
            return validator
    check_tenant_schema(schema)
    private_copy = json.loads(json.dumps(schema, ensure_ascii=False))  # keeps the declared key order
    validator = TenantSchemaValidator(private_copy, registry=Registry(), format_checker=FORMAT_CHECKER)
    with _cache_lock:
        validator = _cache.setdefault(digest, validator)
        _cache.move_to_end(digest)
        while len(_cache) > VALIDATOR_CACHE_SIZE:
            _cache.popitem(last=False)
    return validator


# --------------------------------------------------------------------------- schema reading helpers


def resolve_node(root: dict, node: Any, hops: int = MAX_REF_HOPS) -> Any:
    """Follow local ``$ref``s; keywords beside a ``$ref`` win over the target's (titles etc.)."""
    while isinstance(node, dict) and "$ref" in node and hops > 0:
        target = _pointer_get(root, node["$ref"])
        if not isinstance(target, dict):
            break
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        hops -= 1
    return node


def choice_options(root: dict, node: dict) -> list[dict] | None:
    """``[{"value", "title", "title_en"}]`` for a labelled-choice (or enum) node, else None."""
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and one_of:
        options = []
        for entry in one_of:
            entry = resolve_node(root, entry)
            if not isinstance(entry, dict) or "const" not in entry:
                return None
            title = entry.get("title") if isinstance(entry.get("title"), str) else str(entry["const"])
            x_en = entry.get("x-en") if isinstance(entry.get("x-en"), dict) else {}
            options.append({"value": entry["const"], "title": title, "title_en": x_en.get("title") or title})
        return options
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return [{"value": v, "title": str(v), "title_en": str(v)} for v in enum]
    return None


def field_kind(root: dict, node: Any) -> str | None:
    """What a property is on a form, or None if the conventions do not cover it.

    One of: object, choice, multichoice, boolean, integer, number, date, email, textarea, text.
    """
    node = resolve_node(root, node)
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if kind == "object":
        return "object" if isinstance(node.get("properties"), dict) and node["properties"] else None
    if kind in ("string", "integer", "number") and choice_options(root, node) is not None:
        return "choice"
    if kind in ("boolean", "integer", "number"):
        return kind
    if kind == "string":
        if node.get("format") == "date":
            return "date"
        if node.get("format") == "email":
            return "email"
        if node.get("x-widget") == "textarea":
            return "textarea"
        return "text"
    if kind == "array":
        items = resolve_node(root, node.get("items"))
        if isinstance(items, dict) and items.get("type") in ("string", "integer", "number") and choice_options(root, items):
            return "multichoice"
    return None


def ordered_properties(node: dict) -> list[str]:
    """Property names in display order: ``x-order`` first, then the rest as declared."""
    properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    order = node.get("x-order") if isinstance(node.get("x-order"), list) else []
    seen = [n for n in order if isinstance(n, str) and n in properties]
    return list(dict.fromkeys(seen + list(properties)))


def identity_names(schema: dict) -> list[str]:
    """Top-level properties marked ``"x-identity": true`` (the petitioner's identity)."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    return [
        name for name in ordered_properties(schema)
        if isinstance(properties[name], dict) and properties[name].get("x-identity") is True
    ]


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


# --------------------------------------------------------------------------- submissions

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


def _labelled(root: dict, path: str, zh: str, en: str) -> FieldError:
    if not path:
        return FieldError("", zh, en)
    parts = path.split(".")
    titles_zh, titles_en = [], []
    for i in range(len(parts)):
        node = property_node(root, parts[: i + 1])
        t_zh, t_en = display_titles(node, parts[i])
        titles_zh.append(t_zh)
        titles_en.append(t_en)
    return FieldError(path, f"{' · '.join(titles_zh)}：{zh}", f"{' · '.join(titles_en)}: {en}")


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
    identity = set(identity_names(schema))
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
    validator = compile_validator(_anonymous_variant(schema) if anonymous and isinstance(schema, dict) else schema)
    try:
        return _validate(validator, schema, data, anonymous=anonymous)
    except Exception:  # belt and braces: odd data must never become a server error
        return [FieldError(
            "",
            "无法校验提交的内容，请检查后重新提交",
            "the submission could not be checked; please review it and submit again",
        )]


def _validate(validator, root: dict, data: Any, *, anonymous: bool) -> list[FieldError]:
    if not isinstance(data, dict):
        return [FieldError("", "提交的内容应为一组字段", "the submission must be a group of fields")]
    if _submission_too_big(data):
        return [FieldError("", "提交的内容过大或层级过深", "the submission is too large or too deeply nested")]
    unreadable: list[str] = []
    data = _prepare(data, (), unreadable)
    found: dict[str, tuple[int, FieldError]] = {}
    extras: list[FieldError] = []
    for path in unreadable:
        found.setdefault(path, (0, _labelled(root, path, "包含无法识别的字符", "contains characters that cannot be read")))

    if anonymous:
        for name in identity_names(root):
            if name in data:
                del data[name]
                found[name] = (0, _labelled(root, name, ANONYMOUS_IDENTITY_ZH, ANONYMOUS_IDENTITY_EN))

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
                keep(path, _PRIORITY["required"], _labelled(root, path, "必填", "required"))
            continue
        if error.validator == "additionalProperties":
            parent = _dotted(base)
            names = sorted(_find_additional_properties(error.instance, error.schema), key=str)
            for name in names[:5]:
                shown = str(name)[:40]
                extras.append(_labelled(root, parent, f"不允许的字段 '{shown}'", f"field '{shown}' is not allowed"))
            continue
        path = _dotted(base)
        zh, en = describe_failure(error.validator, error.validator_value, error.instance, error.schema)
        keep(path, _PRIORITY.get(error.validator, 9), _labelled(root, path, zh, en))

    order = _field_order(root)
    ordered = sorted((entry[1] for entry in found.values()), key=lambda e: order.get(e.path, len(order)))
    return ordered + extras


def _field_order(root: dict) -> dict[str, int]:
    """Dotted field path -> position on the form ("" first)."""
    order: dict[str, int] = {"": -1}

    def walk(node: Any, prefix: str, depth: int) -> None:
        if not isinstance(node, dict) or depth > MAX_SCHEMA_DEPTH:
            return
        for name in ordered_properties(node):
            order.setdefault(prefix + name, len(order))
            walk(resolve_node(root, node["properties"][name]), prefix + name + ".", depth + 1)

    walk(resolve_node(root, root), "", 0)
    return order
