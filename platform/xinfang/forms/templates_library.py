"""The built-in form templates (``form_schemas/*.json`` at the repository root).

Tenant admins start from these (信访件登记, 检举控告, 人民建议) and change them without
code. Each template passes the same gate as a tenant's own schema, at load time.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

from xinfang.forms.schema_safety import SchemaRejected, check_tenant_schema

# platform/xinfang/forms/templates_library.py -> parents[3] is the repository root.
FORM_SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "form_schemas"
FORM_KINDS = frozenset({"petition", "report", "suggestion"})
_FILE_NAME = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.json$")


class TemplateError(RuntimeError):
    """A built-in template is missing, malformed or fails the schema gate."""


def _load_one(path: Path) -> tuple[str, dict]:
    match = _FILE_NAME.match(path.name)
    if not match:
        raise TemplateError(f"{path.name}: template files are named <key>.v<version>.json")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{path.name}: cannot read JSON: {exc}") from exc
    try:
        check_tenant_schema(schema)
    except SchemaRejected as exc:
        raise TemplateError(f"{path.name}: {exc}") from exc
    form = schema.get("x-form")
    if not isinstance(form, dict):
        raise TemplateError(f"{path.name}: missing the x-form annotation")
    if form.get("key") != match["key"] or form.get("version") != int(match["version"]):
        raise TemplateError(f"{path.name}: x-form {form!r} does not match the file name")
    if form.get("kind") not in FORM_KINDS:
        raise TemplateError(f"{path.name}: x-form.kind must be one of {sorted(FORM_KINDS)}")
    return form["key"], schema


@functools.lru_cache(maxsize=4)
def _load_all(directory: Path) -> dict[str, dict]:
    if not directory.is_dir():
        raise TemplateError(f"form template directory not found: {directory}")
    templates: dict[str, tuple[int, dict]] = {}
    for path in sorted(directory.glob("*.json")):
        key, schema = _load_one(path)
        version = schema["x-form"]["version"]
        if key not in templates or version > templates[key][0]:
            templates[key] = (version, schema)  # the newest version of each key wins
    if not templates:
        raise TemplateError(f"no form templates in {directory}")
    return {key: schema for key, (_, schema) in sorted(templates.items())}


def load_templates() -> dict[str, dict]:
    """Template key ("petition", "report", "suggestion") -> JSON Schema, newest version of each.

    Every template is checked with ``check_tenant_schema`` when first read; the result is
    a fresh deep copy on each call, so callers may change it freely.
    """
    return copy.deepcopy(_load_all(FORM_SCHEMAS_DIR))
