"""A configuration diff path of a form's or archive document type's content in people's words.

``json_schema.x-en.title`` reads 英文 · 标题 (the configuration versions pages show it beside each changed
value); a path through a field's name is left to the page, which shows names as the tenant wrote them.
Used by the ``form`` and ``archive_type`` areas.
"""

from __future__ import annotations

import re

_SCHEMA_WORDS = {
    "title": ("标题", "label"), "description": ("说明", "help"), "x-en": ("英文", "English"), "required": ("必填项", "required fields"),
    "oneOf": ("选项", "choices"), "enum": ("选项", "choices"), "items": ("选项", "choices"), "x-order": ("字段顺序", "order of the fields"),
    "allOf": ("显示条件", "conditions"), "x-sections": ("分节标题", "section headings"), "x-placeholder": ("输入提示", "placeholder"),
    "x-unit": ("单位", "unit"), "maxLength": ("最多字数", "at most (characters)"), "minLength": ("最少字数", "at least (characters)"),
    "minimum": ("最小值", "smallest value"), "maximum": ("最大值", "largest value"), "minItems": ("至少选几项", "choose at least"),
    "maxItems": ("最多选几项", "choose at most"), "type": ("类型", "type"), "format": ("类型", "type"), "x-kind": ("类型", "type"),
    "const": ("取值", "stored value"), "name": ("名称", "name"), "zh": ("中文", "Chinese"), "en": ("英文", "English"),
}


def schema_path_label(path: str, lang: str) -> str | None:
    """A diff path of a form's or archive type's content (``json_schema.x-en.title``) in words, or None."""
    i = 0 if lang == "zh" else 1
    parts = [p for p in re.split(r"\.(?![^\[]*\])", path) if p]
    if parts and parts[0] == "json_schema":
        parts = parts[1:]
    fields, rest, k = [], [], 0
    while k < len(parts):
        if parts[k] == "properties" and k + 1 < len(parts):
            fields.append(parts[k + 1])
            k += 2
            continue
        rest.append(parts[k])
        k += 1
    if fields:
        return None  # field names are the tenant's own words: the page shows the path with them marked as such
    words = []
    for part in rest:
        base = part.split("[", 1)[0]
        if base in _SCHEMA_WORDS:
            word = _SCHEMA_WORDS[base][i]
            if not words or words[-1] != word:
                words.append(word)
    return " · ".join(words) if words else None


# A schema's own "$" keywords ("$schema", "$defs", "$ref") are written with a full-width ＄ in configuration
# versions and exported files: the store and the configuration upload refuse keys that read as operators.
STORED_DOLLAR = "\uff04"


def _swap_keys(value, old: str, new: str):
    if isinstance(value, dict):
        return {(new + k[1:] if isinstance(k, str) and k.startswith(old) else k): _swap_keys(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_keys(v, old, new) for v in value]
    return value


def schema_for_version(schema: dict) -> dict:
    """A schema as a configuration version holds it (``$schema`` -> ``＄schema``)."""
    return _swap_keys(schema, "$", STORED_DOLLAR)


def schema_from_version(stored: dict) -> dict:
    """The schema a configuration version holds, as the gate and the forms read it again."""
    return _swap_keys(stored, STORED_DOLLAR, "$")
