"""Archive document types as the form builder saves them: checked by the schema gate, each save a configuration version.

The configuration area is ``archive_type:<key>``; its content is ``{"key", "name", "json_schema"}``, the whole
of the type, so rolling back or importing one applies it through ``do_save_archive_type`` again.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, register_config_area
from .models import ArchiveDocumentType
from .service import do_define_document_type

TYPE_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")
AREA = "archive_type"


def area_of(key: str) -> str:
    return f"{AREA}:{key}"


def content_of(row: ArchiveDocumentType) -> dict:
    return {"key": row.key, "name": row.name.model_dump(), "json_schema": row.json_schema}


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
    await do_save_archive_type(scope, content["key"], content["name"], content["json_schema"], actor=actor, note=note)


register_config_area(AREA, {"zh": "档案材料类型", "en": "Archive document types"}, _apply)
