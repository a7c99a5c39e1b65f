"""Inputs that used to end in a 500: attachment names with CR/LF, recursive $ref schemas. Now a 2xx or a 4xx."""

from __future__ import annotations

import hashlib
import json

import pytest
from bson import ObjectId

from xinfang.petitions.models import Attachment, Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.test_petitions import ANONYMOUS, petition_id_of

PDF = b"%PDF-1.4\n% a tiny test file\n%%EOF\n"
BOUNDARY = "xinfang-test-boundary"


def _multipart(payload: dict, filename_header: str) -> bytes:
    """A multipart body as a browser or a hand-made client sends it; the file's name part is given raw."""
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{json.dumps(payload)}\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; {filename_header}\r\n"
        f"Content-Type: application/pdf\r\n\r\n"
    ).encode() + PDF + f"\r\n--{BOUNDARY}--\r\n".encode()


def _well_formed_disposition(value: str) -> None:
    assert "\r" not in value and "\n" not in value and "\x00" not in value, value
    assert value.startswith("attachment; filename=\"") and "; filename*=UTF-8''" in value, value


async def test_an_attachment_named_with_cr_lf_is_stored_clean_and_downloads(client, tenants):
    payload = {"form": "petition", "answers": ANONYMOUS, "anonymous": True}
    filed = await client.post(f"/t/{tenants.A}/api/petitions/submit", data=_multipart(payload, "filename*=UTF-8''a%0D%0Ab.pdf"),
                              headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                              scope_base={"client": ("10.77.0.1", 1)})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    handler = await login_token(client, tenants.A, "handler")
    pid = await petition_id_of(tenants.A, (await filed.get_json())["number"])
    [attachment_id] = (await (await client.get(f"/t/{tenants.A}/api/petitions/{pid}", headers=handler)).get_json())["attachments"]
    scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    assert (await scope.repo(Attachment).get(attachment_id)).filename == "a b.pdf"  # cleaned when it arrived

    download = await client.get(f"/t/{tenants.A}/api/petitions/{pid}/attachments/{attachment_id}", headers=handler)
    assert download.status_code == 200 and await download.get_data() == PDF
    _well_formed_disposition(download.headers["Content-Disposition"])
    assert download.headers["Content-Disposition"].endswith("filename*=UTF-8''a%20b.pdf")

    # A name stored before names were cleaned (control characters, quotes, Chinese) still downloads.
    old = Attachment(tenant_id=scope.tenant_id, petition_id=pid, filename='旧\r\n附件"\x00;.pdf', content_type="application/pdf",
                     size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(), data=PDF)
    await scope.repo(Attachment).insert(old)
    await Petition.get_pymongo_collection().update_one({"_id": ObjectId(pid)}, {"$push": {"attachment_ids": str(old.id)}})
    legacy = await client.get(f"/t/{tenants.A}/api/petitions/{pid}/attachments/{old.id}", headers=handler)
    assert legacy.status_code == 200 and await legacy.get_data() == PDF
    disposition = legacy.headers["Content-Disposition"]
    _well_formed_disposition(disposition)
    assert disposition.endswith("filename*=UTF-8''%E6%97%A7%20%E9%99%84%E4%BB%B6%22%20%3B.pdf"), disposition


def _form(**defs) -> dict:
    return {"type": "object", "additionalProperties": False, "$defs": defs, "properties": {"x": {"$ref": "#/$defs/a"}}}


RECURSIVE = {
    "itself": (_form(a={"$ref": "#/$defs/a"}), "/$defs/a → /$defs/a"),
    "mutual": (_form(a={"$ref": "#/$defs/b"}, b={"$ref": "#/$defs/a"}), "/$defs/a → /$defs/b → /$defs/a"),
    "through_properties": (_form(a={"type": "object", "additionalProperties": False, "properties": {"b": {"$ref": "#/$defs/a"}}}),
                           "/$defs/a → /$defs/a/properties/b → /$defs/a"),
    "the_issue_as_written": ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}, "/$defs/a → /$defs/a"),
}


@pytest.mark.parametrize("shape", sorted(RECURSIVE))
async def test_a_recursive_schema_is_refused_with_its_pointer_on_preview_and_publish(client, tenants, shape):
    schema, cycle = RECURSIVE[shape]
    admin = await login_token(client, tenants.A, "admin")
    preview = await client.post(f"/t/{tenants.A}/api/forms/preview", headers=admin, json={"schema": schema, "example": {}})
    publish = await client.post(f"/t/{tenants.A}/api/forms/recursive_probe/versions", headers=admin, json={"schema": schema})
    for answer in (preview, publish):
        assert answer.status_code == 422, (shape, await answer.get_data(as_text=True))
        fields = (await answer.get_json())["error"]["fields"]
        assert "schema.$defs.a" in fields, fields
        message = fields["schema.$defs.a"]
        assert cycle in message["zh"] and cycle in message["en"] and "循环引用" in message["zh"], message
    body = await preview.get_json()
    assert body["ok"] is False and "/$defs/a" in [p["path"] for p in body["problems"]]  # what the live preview lists
    assert (await client.get(f"/t/{tenants.A}/api/forms/recursive_probe")).status_code == 404  # nothing was published
