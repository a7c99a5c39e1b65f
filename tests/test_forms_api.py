"""Tenant forms over HTTP: versions, adopt/extend/override, refusals at upload, live preview, OpenAPI."""

from tests.conftest import login_token
from tests.test_petitions import petition_id_of, submit, submitted


async def test_tenants_list_their_own_forms(client, tenants):
    a = {f["key"] for f in (await (await client.get(f"/t/{tenants.A}/api/forms")).get_json())["forms"]}
    b = {f["key"] for f in (await (await client.get(f"/t/{tenants.B}/api/forms")).get_json())["forms"]}
    # The bundles' forms (other tests publish more of their own in either tenant): a form of one is never listed by the other.
    assert {"petition", "report", "suggestion"} <= a and {"petition", "report"} <= b
    assert not (a - {"petition", "report"}) & b and not (b - {"petition", "report"}) & a
    extended = await (await client.get(f"/t/{tenants.B}/api/forms/report")).get_json()
    assert "township" in extended["schema"]["properties"] and extended["based_on"].startswith("report@")


async def test_a_new_version_applies_to_new_submissions_and_old_ones_stay_readable(client, tenants):
    admin = await login_token(client, tenants.B, "admin")
    key = "school_petition"  # a form of its own, so other tests keep the bundle's forms
    first = await client.post(f"/t/{tenants.B}/api/forms/{key}/versions", headers=admin, json={"template": "petition"})
    assert first.status_code in (200, 201), await first.get_data(as_text=True)
    before = await submitted(client, tenants.B, {"title": "标题", "content": "内容", "category": "other"}, form=key, anonymous=True)
    extension = {"properties": {"school": {"type": "string", "title": "所涉学校", "x-en": {"title": "School concerned"}, "maxLength": 100}},
                 "required": ["school"]}
    published = await client.post(f"/t/{tenants.B}/api/forms/{key}/versions", headers=admin, json={"template": "petition", "extend": extension})
    assert published.status_code == 201, await published.get_data(as_text=True)
    version = (await published.get_json())["version"]
    assert version == (await first.get_json())["version"] + 1
    again = await client.post(f"/t/{tenants.B}/api/forms/{key}/versions", headers=admin, json={"template": "petition", "extend": extension})
    assert again.status_code == 200 and (await again.get_json())["created"] is False  # identical: no new version

    refused = await submit(client, tenants.B, {"title": "标题", "content": "内容", "category": "other"}, form=key, anonymous=True)
    assert refused.status_code == 422 and "school" in (await refused.get_json())["error"]["fields"]
    after = await submitted(client, tenants.B, {"title": "标题", "content": "内容", "category": "other", "school": "第一中学"}, form=key, anonymous=True)

    handler = await login_token(client, tenants.B, "handler")
    old = await (await client.get(f"/t/{tenants.B}/api/petitions/{await petition_id_of(tenants.B, before['number'])}", headers=handler)).get_json()
    new = await (await client.get(f"/t/{tenants.B}/api/petitions/{await petition_id_of(tenants.B, after['number'])}", headers=handler)).get_json()
    assert old["form"]["version"] < new["form"]["version"] == version
    old_schema = await client.get(f"/t/{tenants.B}/api/forms/{key}/versions/{old['form']['version']}", headers=handler)
    assert old_schema.status_code == 200 and "school" not in (await old_schema.get_json())["schema"]["properties"]
    assert (await client.get(f"/t/{tenants.A}/api/forms/{key}")).status_code == 404  # the other tenant has no such form


async def test_form_keys_are_checked(client, tenants):
    admin = await login_token(client, tenants.A, "admin")
    response = await client.post(f"/t/{tenants.A}/api/forms/Bad Key!/versions", headers=admin, json={"template": "petition"})
    assert response.status_code == 422


async def test_a_bad_schema_is_refused_at_upload_with_the_problem_named(client, tenants):
    admin = await login_token(client, tenants.A, "admin")
    bad = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {
            "remote": {"$ref": "https://evil.example/schema.json"},
            "slow": {"type": "string", "pattern": "^(a+)+\\1$"},
        },
    }
    response = await client.post(f"/t/{tenants.A}/api/forms/petition/versions", headers=admin, json={"schema": bad})
    assert response.status_code == 422
    fields = (await response.get_json())["error"]["fields"]
    paths = " ".join(fields)
    assert "remote" in paths and "slow" in paths
    assert all(m["zh"] and m["en"] for m in fields.values())
    for body in ({"schema": "text"}, {"template": "nope"}, {"schema": {}, "template": "petition"}):
        assert (await client.post(f"/t/{tenants.A}/api/forms/petition/versions", headers=admin, json=body)).status_code == 422
    handler = await login_token(client, tenants.A, "handler")
    assert (await client.post(f"/t/{tenants.A}/api/forms/petition/versions", headers=handler, json={"template": "petition"})).status_code == 403


async def test_live_preview_renders_and_shows_example_errors(client, tenants):
    admin = await login_token(client, tenants.A, "admin")
    schema = (await (await client.get(f"/t/{tenants.A}/api/forms/report")).get_json())["schema"]
    preview = await (await client.post(f"/t/{tenants.A}/api/forms/preview", headers=admin, json={"schema": schema, "example": {}, "lang": "en"})).get_json()
    assert preview["ok"] and "<label" in preview["html"] and preview["errors"]
    assert any(e["path"] == "content" for e in preview["errors"])
    broken = await (await client.post(f"/t/{tenants.A}/api/forms/preview", headers=admin, json={"schema": {"type": "object", "properties": {"x": {"$ref": "http://x/y"}}}})).get_json()
    assert broken["ok"] is False and broken["problems"]
    page = await client.get(f"/t/{tenants.A}/admin/forms?key=report", headers=admin)
    assert page.status_code == 200 and "form-admin.js" in await page.get_data(as_text=True)


async def test_the_openapi_document_describes_every_route(app, client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()
    import re

    documented = set(document["paths"])
    for rule in app.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.rule)
        assert path in documented, path
    submit_op = document["paths"]["/t/{tenant_slug}/api/petitions/submit"]["post"]
    assert submit_op["security"] == [] and "requestBody" in submit_op
    inbox = document["paths"]["/t/{tenant_slug}/api/petitions"]["get"]
    assert inbox["x-xinfang-access"]["permission"] == "petitions.read"
