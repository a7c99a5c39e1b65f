"""A form's own file field: the file chosen in it is kept as an attachment of the petition (portal and staff
registration), its answer names the file, and the staff page reads answers through the form's model
(regions as names, not codes)."""

from __future__ import annotations

import io
import re

from werkzeug.datastructures import FileStorage

from tests.login_pages import staff_login
from xinfang.forms.model import Form, new_field
from xinfang.forms.reading import file_field_names
from xinfang.forms.service import FormVersion, do_publish_form_version, schema_digest
from xinfang.petitions.models import Attachment, Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000
KEY = "evidence_probe"


def _schema(base: dict) -> dict:
    form = Form.from_schema(base)
    form.add_field(new_field("file", "evidence", "证据材料", "Evidence"))
    form.add_field(new_field("region", "where", "发生地", "Where"))
    return form.to_schema()


async def _publish(slug: str) -> TenantScope:
    import json
    from pathlib import Path

    base = json.loads((Path(__file__).resolve().parents[1] / "form_schemas" / "suggestion.v1.json").read_text(encoding="utf-8"))
    tenant = await Tenant.find_one({"slug": slug})
    scope = TenantScope(tenant.id)
    await do_publish_form_version(scope, KEY, schema=_schema(base))
    return scope


def test_file_field_names_walk_groups():
    schema = _schema({"type": "object", "properties": {"content": {"type": "string", "title": "内容"}}, "required": ["content"]})
    assert file_field_names(schema) == ["evidence"] and schema_digest(schema)


async def test_a_file_in_the_forms_own_field_is_kept_and_the_region_reads_as_its_name(app, tenants):
    async with app.app.app_context():
        scope = await _publish(tenants.B)
    try:
        browser = app.test_client()
        page = await browser.post(
            f"/t/{tenants.B}/petition/{KEY}",
            form={"_anonymous": "1", "topic": "带附件的建议", "content": "建议内容，附照片一张。", "where": "652801"},
            files={"evidence": FileStorage(io.BytesIO(PNG), filename="现场照片.png", content_type="image/png")},
            scope_base={"client": ("10.7.3.1", 1)},
        )
        html = await page.get_data(as_text=True)
        assert page.status_code == 201, html
        async with app.app.app_context():
            petition = await scope.repo(Petition).find_one({"form_key": KEY})
            files = await scope.repo(Attachment).find({"petition_id": str(petition.id)}).to_list()
        assert petition.answers["evidence"] == "现场照片.png"
        assert [f.filename for f in files] == ["现场照片.png"]

        refused = await browser.post(
            f"/t/{tenants.B}/petition/{KEY}",
            form={"_anonymous": "1", "topic": "坏附件", "content": "建议内容。"},
            files={"evidence": FileStorage(io.BytesIO(b"MZ" + b"\x00" * 100), filename="x.exe", content_type="application/octet-stream")},
            scope_base={"client": ("10.7.3.2", 1)},
        )
        refused_html = await refused.get_data(as_text=True)
        assert refused.status_code == 422 and "x.exe" in refused_html

        staff = app.test_client()
        await staff_login(staff, tenants.B, "handler")
        shown = await (await staff.get(f"/t/{tenants.B}/staff/petitions/{petition.id}")).get_data(as_text=True)
        assert "库尔勒市" in shown and "652801" not in re.sub(r"<[^>]+>", " ", shown).split("发生地", 1)[-1][:80]
    finally:
        async with app.app.app_context():
            await scope.repo(FormVersion).delete_many({"key": KEY})
