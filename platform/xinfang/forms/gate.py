"""The gate for tenant-defined form schemas (JSON Schema 2020-12), which are untrusted input.

Two public entry points:

* ``check_tenant_schema(schema)`` refuses schemas that are unsafe (remote ``$ref``,
  regexes RE2 cannot run in linear time, huge or deeply nested documents, unknown
  formats) or that break the form conventions in ``form_schemas/README.md``; it raises
  ``SchemaRejected`` with every problem found, each naming a JSON pointer and saying
  what is wrong in Chinese and English (for the tenant admin who wrote the schema).
* ``compile_validator(schema)`` gates the schema, then builds (and caches by the
  SHA-256 of its canonical JSON) a Draft 2020-12 validator whose ``pattern``,
  ``patternProperties`` and ``additionalProperties`` use RE2, whose registry is empty
  (nothing is ever fetched) and which checks the allowed ``format`` values.

What a citizen is told about a submission lives in ``xinfang.forms.messages``; what a
form's fields are (kinds, labels, choices, conditions) in ``xinfang.forms.model``, read
for display by ``xinfang.forms.reading``. The few schema-reading helpers at the bottom
(``resolve_node``, ``field_kind``, ``choice_options``, ``ordered_properties``,
``identity_names``) are the gate's own: what it accepts as a field.
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
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry

from ..id_numbers import is_resident_id_number
from .model import KINDS

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

# Kinds a schema may declare with "x-kind" (sections and the identity group are not properties), and the
# ones that are text whatever they show.
_DECLARABLE_KINDS = frozenset(KINDS) - {"section", "identity_group"}
_STRING_KINDS = frozenset({"region", "file", "phone", "id_number", "email", "date", "short_text", "long_text"})

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
        self.check_builder_annotations(node, path)
        if isinstance(node.get("properties"), dict):
            for name in node["properties"]:
                self.check_property_name(name, path + ("properties", name))
        for rel, sub in _subschemas(node):
            self.visit(sub, path + rel)

    def check_builder_annotations(self, node: dict, path: tuple) -> None:
        """The form builder's own keywords (``x-kind``, ``x-placeholder``, ``x-unit``, ``x-sections``): shown to
        citizens, so only their documented shapes pass."""
        if "x-kind" in node:
            kind = node["x-kind"]
            if not isinstance(kind, str) or kind not in _DECLARABLE_KINDS:
                self.add(path + ("x-kind",), f"不支持的字段种类 {str(kind)[:40]!r}", f"field kind {str(kind)[:40]!r} is not supported")
            elif kind in _STRING_KINDS and node.get("type") != "string":
                self.add(path + ("x-kind",), "该种类的字段应为文字（\"type\": \"string\"）", 'a field of this kind is text ("type": "string")')
        for keyword in ("x-placeholder", "x-unit"):
            if keyword in node:
                value = node[keyword]
                if not isinstance(value, dict) or not value or any(
                    k not in ("zh", "en") or not isinstance(v, str) or len(v) > 200 for k, v in value.items()
                ):
                    self.add(path + (keyword,), f"{keyword} 只能包含字符串 zh 和 en（每个最多 200 字）",
                             f"{keyword} may only hold the strings zh and en (at most 200 characters each)")
        if "x-sections" in node:
            sections = node["x-sections"]
            allowed = {"key", "before", "title", "description", "x-en"}
            if not isinstance(sections, list) or any(
                not isinstance(s, dict) or set(s) - allowed
                or not isinstance(s.get("title", ""), str) or not isinstance(s.get("description", ""), str)
                or not (s.get("before") is None or isinstance(s.get("before"), str))
                for s in sections
            ):
                self.add(path + ("x-sections",), "x-sections 应为分段标题的列表（key、before、title、description、x-en）",
                         "x-sections must be a list of section headings (key, before, title, description, x-en)")

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
