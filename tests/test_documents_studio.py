"""Document templates in the studio's wording editor (issue 17): each kind's template (督办函, 交办函, ...) is edited on
its page like a card's wording (placeholders listed to insert, a preview through the sandbox, mistakes as words at the
field, 422 never 500), every save is a configuration version that the studio compares and rolls back, the API's
document settings keep working beside it, and the next document drafted uses what was saved."""

from __future__ import annotations

import pytest

from xinfang.documents.models import DocumentSettings
from xinfang.tenancy.config_versions import ConfigVersion, list_config_versions
from tests.conftest import login_token
from tests.staffing import tenant_scope

PAGE = "/staff/document-templates/supervision_letter"
AREA = "document_template:supervision_letter"
OWN = ('<p class="own-template">{{ tenant_name }}{{ kind_name }}：{% for r in recipients %}{{ r }}{% endfor %}</p>'
       '{% for paragraph in paragraphs %}<p>{{ paragraph }}</p>{% endfor %}<script>alert(1)</script>')
DRAFT = {"kind": "supervision_letter", "title": "关于督促办理的督办函", "body": "请于五个工作日内核实办理。",
         "recipients": [{"kind": "department", "name": "县教育局"}]}


@pytest.fixture
async def siyang(app, tenants):
    scope = await tenant_scope(tenants.A)
    existed = await scope.repo(DocumentSettings).find_one({}) is not None
    yield scope
    row = await scope.repo(DocumentSettings).find_one({})
    if row is not None and not existed:
        await scope.repo(DocumentSettings).delete(row)
    elif row is not None and row.templates:
        row.templates = {}
        await scope.repo(DocumentSettings).replace_versioned(row)
    for version in await scope.repo(ConfigVersion).find({}).to_list():
        if version.area.startswith("document_template:"):
            await scope.repo(ConfigVersion).delete(version)


async def _post(client, slug, headers, form, lang="zh"):
    response = await client.post(f"/t/{slug}{PAGE}?lang={lang}", headers=headers, form=form)
    return response.status_code, await response.get_data(as_text=True), response.headers.get("Location", "")


async def test_a_document_template_is_edited_previewed_versioned_and_rolled_back_in_the_studio(client, tenants, siyang):
    slug = tenants.A
    admin = await login_token(client, slug, "admin")
    page = await client.get(f"/t/{slug}{PAGE}", headers=admin)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "督办函" in html and "可用的占位符" in html and "{{ document_no }}" in html
    assert "现在使用的是默认模板" in html and "还没有修改过" in html
    studio = await (await client.get(f"/t/{slug}/admin/studio", headers=admin)).get_data(as_text=True)
    assert "公文模板" in studio and f"/t/{slug}/staff/document-settings" in studio
    settings = await (await client.get(f"/t/{slug}/staff/document-settings", headers=admin)).get_data(as_text=True)
    assert PAGE in settings and "交办函" in settings

    # A preview goes through the sandbox and the allow-list and saves nothing.
    status, html, _ = await _post(client, slug, admin, {"do": "preview", "template": OWN})
    assert status == 200, html
    preview = html[html.index('class="document-page"'):html.index('class="versions"')]
    assert 'class="own-template"' in preview and "督办函：某某单位" in preview and "第一段。" in preview and "alert(1)" not in preview
    assert not await list_config_versions(siyang, AREA)

    # Mistakes: words at the field, 422, nothing saved.
    for bad, words in (("<p>{{ recipient_list }}</p>", "不认识的占位符"), ("<p>{% if %}</p>", "写法有误")):
        for do in ("preview", "save"):
            status, html, _ = await _post(client, slug, admin, {"do": do, "template": bad})
            assert status == 422, html
            assert words in html[html.index('id="template-error"'):].split("</p>")[0]
    status, html, _ = await _post(client, slug, admin, {"do": "save", "template": "<p>{{ recipient_list }}</p>"}, "en")
    assert status == 422 and "do not exist" in html[html.index('id="template-error"'):].split("</p>")[0]
    assert not await list_config_versions(siyang, AREA)

    # Saved: the next 督办函 drafted uses it (escaped, allow-listed).
    status, _, location = await _post(client, slug, admin, {"do": "save", "template": OWN})
    assert status == 303 and location.endswith(f"{PAGE}?saved=save")
    handler = await login_token(client, slug, "handler")
    drafted = await client.post(f"/t/{slug}/api/documents", headers=handler, json=DRAFT)
    body = (await drafted.get_json())["body_html"]
    assert drafted.status_code == 201 and 'class="own-template"' in body and "督办函：县教育局" in body and "<script" not in body
    assert [(v.number, v.content["template"]) for v in await list_config_versions(siyang, AREA)] == [(1, OWN)]

    # The API keeps working: a template set there is recorded before the studio's next change, so nothing is lost.
    rule = {"prefix": "泗纪信", "reviewer_roles": ["leader"], "signer_roles": ["leader"]}
    via_api = "<p class=\"api-template\">{{ title }}</p>"
    put = await client.put(f"/t/{slug}/api/document-settings", headers=admin, json=dict(rule, templates={"supervision_letter": via_api}))
    assert put.status_code == 200, await put.get_data(as_text=True)
    status, _, _ = await _post(client, slug, admin, {"do": "rollback", "number": "1"})
    assert status == 303
    versions = await list_config_versions(siyang, AREA)
    assert [(v.number, v.content["template"]) for v in versions] == [(3, OWN), (2, via_api), (1, OWN)]
    assert versions[0].note.startswith("回滚到第 1 版")
    # The studio's own versions pages compare them in words and roll back too.
    diff = await (await client.get(f"/t/{slug}/admin/versions/{AREA}/diff?from=2&to=3", headers=admin)).get_data(as_text=True)
    assert "公文模板" in diff and "api-template" in diff
    rolled = await client.post(f"/t/{slug}/api/config-versions/{AREA}/2/rollback", headers=admin)
    assert rolled.status_code == 200, await rolled.get_data(as_text=True)
    assert (await siyang.repo(DocumentSettings).find_one({})).templates["supervision_letter"] == via_api

    # Restore the default: the next draft has the platform's layout again.
    status, _, _ = await _post(client, slug, admin, {"do": "restore"})
    assert status == 303 and "supervision_letter" not in (await siyang.repo(DocumentSettings).find_one({})).templates
    body = (await (await client.post(f"/t/{slug}/api/documents", headers=handler, json=DRAFT)).get_json())["body_html"]
    assert "own-template" not in body and "api-template" not in body and "请于五个工作日内核实办理。" in body
    # A made-up kind, a made-up version: 404 in words, never 500.
    assert (await client.get(f"/t/{slug}/staff/document-templates/nonsense", headers=admin)).status_code == 404
    status, _, _ = await _post(client, slug, admin, {"do": "rollback", "number": "99"})
    assert status == 404
    assert (await client.get(f"/t/{slug}{PAGE}", headers=handler)).status_code == 403
