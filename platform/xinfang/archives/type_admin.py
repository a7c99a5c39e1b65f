"""Archive document types as the form builder saves them: checked by the schema gate, each save a configuration version.

The configuration area is ``archive_type:<key>``; its content is ``{"key", "name", "json_schema"}``, the whole
of the type (the schema's ``$`` keywords written ``＄``, forms.config_words), so rolling back or importing one
applies it through ``do_save_archive_type`` again.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..errors import InvalidInput
from ..forms.config_words import schema_for_version, schema_from_version, schema_path_label
from ..forms.schema_safety import SchemaRejected, check_tenant_schema
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, register_config_area
from ..tenancy.models import LocalizedName
from .models import ArchiveDocumentType
from .service import do_define_document_type

TYPE_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")
AREA = "archive_type"


def area_of(key: str) -> str:
    return f"{AREA}:{key}"


def content_of(row: ArchiveDocumentType) -> dict:
    return {"key": row.key, "name": row.name.model_dump(), "json_schema": schema_for_version(row.json_schema)}


async def do_save_archive_type(scope: TenantScope, key: str, name: dict, json_schema: dict, *, actor: ConfigActor,
                               note: str = "") -> ArchiveDocumentType:
    """Create or change an archive document type (name and schema through the gate) and record the version."""
    if not TYPE_KEY.fullmatch(key or ""):
        raise InvalidInput(fields={"key": {"zh": "标识只能用小写字母、数字和下划线，以字母开头",
                                           "en": "a key is lowercase letters, digits and underscores, starting with a letter"}})
    # do_define_document_type reads only the actor's account id (for its event)
    row = await do_define_document_type(scope, key, name, json_schema, actor)
    await do_record_config_version(scope, area_of(key), content_of(row), actor=actor, note=note)
    return row


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    await do_save_archive_type(scope, content["key"], content["name"], schema_from_version(content["json_schema"]), actor=actor, note=note)


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    key = area.partition(":")[2]
    if not isinstance(content, dict) or content.get("key") != key or not isinstance(content.get("json_schema"), dict):
        return {"content": {"zh": "这一版的内容不完整", "en": "this version's content is incomplete"}}
    problems: dict = {}
    if not TYPE_KEY.fullmatch(key):
        problems["key"] = {"zh": "标识只能用小写字母、数字和下划线，以字母开头", "en": "a key is lowercase letters, digits and underscores"}
    try:
        LocalizedName.model_validate(content.get("name"))
    except ValidationError:
        problems["name"] = {"zh": "请填写中英文名称（中文不超过 100 字）", "en": "give the name in Chinese and English (at most 100/200 characters)"}
    try:
        check_tenant_schema(schema_from_version(content["json_schema"]))
    except SchemaRejected as rejected:
        problems |= {("json_schema" + p["path"].replace("/", ".")).rstrip("."): {"zh": p["zh"], "en": p["en"]} for p in rejected.problems}
    return problems


async def _current(scope: TenantScope) -> dict:
    return {area_of(row.key): content_of(row) async for row in scope.repo(ArchiveDocumentType).find({})}


async def _subject(scope: TenantScope, key: str, lang: str) -> str | None:
    row = await scope.repo(ArchiveDocumentType).find_one({"key": key})
    return (row.name.en if lang == "en" else row.name.zh) if row else None


register_config_area(AREA, {"zh": "档案材料类型", "en": "Archive document types"}, _apply, check=_check, current=_current,
                     path_label=schema_path_label, subject=_subject)
