"""Form verbs: publish a new version (adopt, extend or override a template), read versions."""

from __future__ import annotations

import copy
import hashlib
import json
import re

from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, InvalidInput, NotFound
from ..events import DomainEvent, unit_of_work
from ..store.cache import tenant_config
from ..store.scoped import TenantScope
from .models import FormVersion
from .schema_safety import SchemaRejected, check_tenant_schema
from .templates_library import load_templates

KINDS = ("petition", "report", "suggestion")
FORM_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")


def schema_digest(schema: dict) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def extend_schema(base: dict, extension: dict) -> dict:
    """The template with the tenant's extra properties and required fields added (theirs win on a clash)."""
    merged = copy.deepcopy(base)
    merged.setdefault("properties", {}).update(copy.deepcopy(extension.get("properties", {})))
    merged["required"] = list(dict.fromkeys(merged.get("required", []) + list(extension.get("required", []))))
    for key in ("title", "description", "x-en"):
        if key in extension:
            merged[key] = copy.deepcopy(extension[key])
    if "x-order" in merged:
        merged["x-order"] = list(dict.fromkeys(merged["x-order"] + list(extension.get("properties", {}))))
    return merged


def rejection(problems: list[dict]) -> InvalidInput:
    """The 422 for a refused schema: one field per problem, by JSON pointer under ``schema``."""
    fields = {("schema" + p["path"].replace("/", ".")).rstrip("."): {"zh": p["zh"], "en": p["en"]} for p in problems}
    return InvalidInput({"zh": "表单定义不符合要求", "en": "the form schema was refused"}, fields=fields)


def resolve_schema(*, schema: dict | None, template: str | None, extend: dict | None) -> tuple[dict, str | None]:
    """The full schema a request asks for: given outright, a template as-is, or a template extended."""
    if schema is not None:
        if template or extend:
            raise InvalidInput(fields={"schema": {"zh": "请只给出完整表单或模板之一", "en": "give either a full schema or a template, not both"}})
        return schema, None
    templates = load_templates()
    if template not in templates:
        raise InvalidInput(fields={"template": {"zh": f"没有模板 {template}", "en": f"no template {template!r}; known: {', '.join(sorted(templates))}"}})
    base = templates[template]
    based_on = f"{template}@{base.get('x-form', {}).get('version', 1)}"
    return (extend_schema(base, extend) if extend else copy.deepcopy(base)), based_on


async def latest_version(scope: TenantScope, key: str) -> FormVersion | None:
    return await tenant_config.get(
        ("form", scope.tenant_id, key), lambda: scope.repo(FormVersion).find({"key": key}).sort("-version").first_or_none()
    )


MAX_VERSION = 1_000_000


async def get_version(scope: TenantScope, key: str, version: int) -> FormVersion | None:
    if not 1 <= version <= MAX_VERSION:
        return None
    # Versions never change once written: only "not found" must not be kept long.
    row = await tenant_config.get(("form", scope.tenant_id, key, version), lambda: scope.repo(FormVersion).find_one({"key": key, "version": version}))
    if row is None:
        tenant_config.drop(("form", scope.tenant_id, key, version))
    return row


async def list_forms(scope: TenantScope) -> list[FormVersion]:
    """The latest version of every form of the tenant."""
    latest: dict[str, FormVersion] = {}
    async for row in scope.repo(FormVersion).find().sort("key", "-version"):
        latest.setdefault(row.key, row)
    return list(latest.values())


async def do_publish_form_version(
    scope: TenantScope, key: str, *, schema: dict | None = None, template: str | None = None,
    extend: dict | None = None, actor_id: str | None = None,
) -> tuple[FormVersion, bool]:
    """Publish a new version unless the newest one is identical. Returns (version, created)."""
    if not FORM_KEY.fullmatch(key or ""):
        raise InvalidInput(fields={"key": {"zh": "表单标识只能用小写字母、数字和下划线，以字母开头", "en": "a form key is lowercase letters, digits and underscores, starting with a letter"}})
    full, based_on = resolve_schema(schema=schema, template=template, extend=extend)
    try:
        check_tenant_schema(full)
    except SchemaRejected as rejected:
        raise rejection(rejected.problems) from None
    kind = full.get("x-form", {}).get("kind", "petition")
    if kind not in KINDS:
        raise InvalidInput(fields={"schema.x-form.kind": {"zh": "表单类型应为 petition、report 或 suggestion", "en": f"x-form.kind must be one of {', '.join(KINDS)}"}})
    digest = schema_digest(full)
    current = await latest_version(scope, key)
    if current is not None and current.digest == digest:
        return current, False
    row = FormVersion(
        tenant_id=scope.tenant_id, key=key, version=(current.version + 1) if current else 1, kind=kind,
        json_schema=full, digest=digest, based_on=based_on, created_by=actor_id,
    )
    try:
        async with unit_of_work() as uow:
            await scope.repo(FormVersion).insert(row, session=uow.session)
            uow.record(DomainEvent("form.published", scope.tenant_id, str(row.id), {"key": key, "version": row.version, "actor_id": actor_id or ""}))
        tenant_config.drop(("form", scope.tenant_id, key))
    except DuplicateKeyError:
        raise Conflict({"zh": "另一位管理员刚刚发布了新版本，请刷新后重试", "en": "another admin just published a version; reload and retry"}) from None
    return row, True


async def require_form(scope: TenantScope, key: str, version: int | None = None) -> FormVersion:
    row = await (get_version(scope, key, version) if version else latest_version(scope, key))
    if row is None:
        raise NotFound({"zh": f"没有表单 {key}", "en": f"no form {key!r}"})
    return row
