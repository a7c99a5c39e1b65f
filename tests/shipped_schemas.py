"""Every form schema the project ships: the templates in form_schemas/ and each tenant bundle's forms and archive
document types (the builder, the model and the messages are each tested on all of them)."""

from __future__ import annotations

import json
import tomllib

from xinfang.forms.service import resolve_schema
from xinfang.forms.templates_library import FORM_SCHEMAS_DIR
from tests.conftest import REPO_ROOT


def shipped_schemas() -> list[tuple[str, str, dict]]:
    """(name, area, schema): ``petition.v1.json``, ``bazhou/report`` ("form"), ``siyang-edu/archive/<key>`` ("archive_type")."""
    out = [(path.name, "form", json.loads(path.read_text(encoding="utf-8"))) for path in sorted(FORM_SCHEMAS_DIR.glob("*.json"))]
    for bundle in sorted((REPO_ROOT / "tenants").glob("*/bundle.toml")):
        data = tomllib.loads(bundle.read_text(encoding="utf-8"))
        for entry in data.get("forms", []):
            schema, _ = resolve_schema(schema=entry.get("schema"), template=entry.get("template"), extend=entry.get("extend"))
            out.append((f"{bundle.parent.name}/{entry['key']}", "form", schema))
        for entry in data.get("archive_document_types", []):
            out.append((f"{bundle.parent.name}/archive/{entry['key']}", "archive_type", entry["json_schema"]))
    return out
