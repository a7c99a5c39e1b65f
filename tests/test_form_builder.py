"""The form builder (forms/builder.py, forms/builder_http.py): every step through the pages' own POST forms,
a draft kept between clicks, publishing as a new version (older petitions keep theirs), messages in zh/en,
the same builder for archive document types, and every shipped schema opening and saving unchanged."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

from xinfang.forms.model import IDENTITY_GROUP_KEY, Form
from tests.shipped_schemas import shipped_schemas
from tests.conftest import login_token

ISOLATION_CASES = {
    "form_builder.forms_page": dict(method="GET", path="/admin/forms/builder", kind="collection"),
    "form_builder.forms_start": dict(method="POST", path="/admin/forms/builder/new", kind="collection", form=True, expect=(422,)),
    "form_builder.forms_step": dict(method="POST", path="/admin/forms/builder/step?key=petition", kind="collection", form=True, expect=(422,)),
    "form_builder.forms_preview": dict(method="POST", path="/admin/forms/builder/preview?key=no_such_form", kind="collection", form=True,
                                       expect=(404,)),
    "form_builder.forms_json": dict(method="POST", path="/admin/forms/builder/json?key=petition", kind="collection", form=True,
                                    body={"schema": "{"}, expect=(422,)),
    "form_builder.forms_publish": dict(method="POST", path="/admin/forms/builder/publish?key=no_such_form", kind="collection", form=True,
                                       expect=(404,)),
    "form_builder.forms_discard": dict(method="POST", path="/admin/forms/builder/discard?key=petition", kind="collection", form=True,
                                       expect=(303,)),
    "form_builder.archive_types_page": dict(method="GET", path="/admin/archive-types/builder", kind="collection"),
    "form_builder.archive_types_start": dict(method="POST", path="/admin/archive-types/builder/new", kind="collection", form=True,
                                             expect=(422,)),
    "form_builder.archive_types_step": dict(method="POST", path="/admin/archive-types/builder/step?key=no_such_type", kind="collection",
                                            form=True, expect=(404,)),
    "form_builder.archive_types_preview": dict(method="POST", path="/admin/archive-types/builder/preview?key=no_such_type",
                                               kind="collection", form=True, expect=(404,)),
    "form_builder.archive_types_json": dict(method="POST", path="/admin/archive-types/builder/json?key=no_such_type", kind="collection",
                                            form=True, body={"schema": "{"}, expect=(404,)),
    "form_builder.archive_types_publish": dict(method="POST", path="/admin/archive-types/builder/publish?key=no_such_type",
                                               kind="collection", form=True, expect=(404,)),
    "form_builder.archive_types_discard": dict(method="POST", path="/admin/archive-types/builder/discard?key=no_such_type",
                                               kind="collection", form=True, expect=(303,)),
}


# --------------------------------------------------------------------------- the shipped schemas


SHIPPED = shipped_schemas()


def test_the_shipped_schemas_include_archive_types():
    names = [name for name, _, _ in SHIPPED]
    assert "siyang-edu/archive/integrity_evaluation" in names and "report.v1.json" in names


@pytest.mark.parametrize("name,area,schema", SHIPPED, ids=[n for n, _, _ in SHIPPED])
def test_every_shipped_schema_opens_in_the_builder_and_saves_unchanged(name, area, schema):
    original = json.loads(json.dumps(schema, ensure_ascii=False))
    form = Form.from_schema(original)
    assert form.raw is None and not [f.key for f in form.all_fields() if f.raw is not None]
    assert json.loads(json.dumps(form.to_schema(), ensure_ascii=False)) == original


# --------------------------------------------------------------------------- reading the pages' forms


class _Forms(HTMLParser):
    """The fields a browser would send from each <form id=...> of a page (submit buttons left out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[list]] = {}
        self._form: str | None = None
        self._text: list | None = None
        self._select: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = a.get("id") or f"form{len(self.forms)}"
            self.forms[self._form] = []
        if self._form is None:
            return
        fields = self.forms[self._form]
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            fields.append([a["name"], a.get("value", "on" if a.get("type") in ("checkbox", "radio") else "")])
        elif tag == "textarea" and a.get("name"):
            self._text = [a["name"], ""]
            fields.append(self._text)
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None]
            fields.append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value", "")

    def handle_data(self, data):
        if self._text is not None:
            self._text[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._text is not None:
            self._text[1] = self._text[1][1:] if self._text[1].startswith("\n") else self._text[1]
            self._text = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def page_form(html: str, form_id: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    assert form_id in parser.forms, f"no form #{form_id} on the page"
    out: dict = {}
    for name, value in parser.forms[form_id]:
        out[name] = value or ""
    return out


# --------------------------------------------------------------------------- helpers


FORMS = "/admin/forms/builder"
TYPES = "/admin/archive-types/builder"


class Builder:
    def __init__(self, client, slug: str, headers: dict, base: str = FORMS):
        self.client, self.slug, self.headers, self.base = client, slug, headers, base

    async def page(self, key: str | None = None, **args) -> tuple[int, str]:
        query = urlencode(({"key": key} if key else {}) | args)
        response = await self.client.get(f"/t/{self.slug}{self.base}?{query}", headers=self.headers)
        return response.status_code, await response.get_data(as_text=True)

    async def post(self, what: str, key: str | None, form: dict, lang: str = "zh") -> tuple[int, str, str]:
        query = f"?key={key}&lang={lang}" if key else f"?lang={lang}"
        response = await self.client.post(f"/t/{self.slug}{self.base}/{what}{query}", headers=self.headers, form=form)
        return response.status_code, await response.get_data(as_text=True), response.headers.get("Location", "")

    async def step(self, key: str, **form) -> str:
        status, text, location = await self.post("step", key, form)
        assert status == 303, (status, text[:3000])
        return location

    async def schema(self, key: str) -> dict:
        status, html = await self.page(key, mode="json")
        assert status == 200, html[:2000]
        text = re.search(r'<textarea id="b-json"[^>]*>(.*?)</textarea>', html, re.S).group(1)
        import html as html_lib
        return json.loads(html_lib.unescape(text))

    async def resave_every_field(self, key: str) -> None:
        """Open every field's editor and send it back untouched, as a browser would; then the form settings."""
        form = Form.from_schema(await self.schema(key))
        paths = []

        def walk(fields, prefix):
            for f in fields:
                path = f.key if (f.kind == "identity_group" or not prefix) else f"{prefix}.{f.key}"
                if f.kind != "identity_group":
                    paths.append(path)
                walk(f.children, "" if f.kind == "identity_group" else path)
        walk(form.fields, "")
        for path in paths:
            status, html = await self.page(key, field=path)
            assert status == 200
            await self.step(key, **page_form(html, "field-editor"))
        status, html = await self.page(key)
        await self.step(key, **page_form(html, "form-editor"))


@pytest.fixture
async def admin(client, tenants):
    return Builder(client, tenants.A, await login_token(client, tenants.A, "admin"))


async def new_form(b: Builder, key: str, template: str = "", kind: str = "petition", name: str = "测试表单") -> None:
    status, text, location = await b.post("new", None, {"key": key, "name_zh": name, "name_en": "Test form", "kind": kind, "template": template})
    assert status == 303, text[:3000]
    assert f"key={key}" in location


# --------------------------------------------------------------------------- round trip through the pages


@pytest.mark.parametrize("name,area,schema", SHIPPED, ids=[n for n, _, _ in SHIPPED])
async def test_every_shipped_schema_survives_the_draft_and_the_pages_untouched(admin, name, area, schema):
    key = "rt_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:50]
    b = admin if area == "form" else Builder(admin.client, admin.slug, admin.headers, TYPES)
    await b.post("discard", key, {})
    await new_form(b, key)
    status, text, _ = await b.post("json", key, {"schema": json.dumps(schema, ensure_ascii=False)})
    assert status == 303, text[:3000]
    assert await b.schema(key) == schema  # through the draft storage
    await b.resave_every_field(key)
    assert await b.schema(key) == schema  # every editor sent back as the page shows it: nothing changed
    await b.post("discard", key, {})


# --------------------------------------------------------------------------- steps


async def test_add_edit_move_duplicate_remove_and_the_draft_survives_a_reload(admin):
    b = admin
    await b.post("discard", "builder_steps", {})
    await new_form(b, "builder_steps", kind="report", name="步骤测试")
    for kind in ("short_text", "long_text", "single_choice", "multiple_choice", "date", "number", "amount", "region", "phone",
                 "id_number", "email", "file", "checkbox", "subject", "identity", "section"):
        location = await b.step("builder_steps", op="add", kind=kind)
        assert "field=" in location
    schema = await b.schema("builder_steps")
    assert list(schema["properties"])[:3] == ["text", "details", "choice"]
    assert schema["properties"]["subject"]["properties"]["kind"]["oneOf"][0] == {"const": "person", "title": "个人", "x-en": {"title": "Person"}}
    assert schema["properties"]["phone"]["x-identity"] is True
    assert schema["x-sections"][0]["title"] == "分节标题"
    form = Form.from_schema(schema)
    assert [f.kind for f in form.fields if f.kind in ("group", "identity_group", "section")] == ["group", "identity_group", "section"]
    assert form.find(IDENTITY_GROUP_KEY).children[0].key == "petitioner_name"

    # the field editor: labels, help, required, limits, choices (add, reorder, remove), a condition
    status, html = await b.page("builder_steps", field="choice")
    edit = page_form(html, "field-editor")
    edit.update(label_zh="是否涉及金钱", label_en="Money involved?", help_zh="请选择", required="1",
                choice_zh_0="是", choice_en_0="Yes", choice_value_0="yes", choice_zh_1="否", choice_en_1="No", choice_value_1="no")
    await b.step("builder_steps", **edit)
    status, html = await b.page("builder_steps", field="choice")
    await b.step("builder_steps", **page_form(html, "field-editor"), row="add")
    status, html = await b.page("builder_steps", field="choice")
    await b.step("builder_steps", **page_form(html, "field-editor"), row="up:2")
    choice = (await b.schema("builder_steps"))["properties"]["choice"]
    assert [c["const"] for c in choice["oneOf"]] == ["yes", "option_3", "no"] and choice["title"] == "是否涉及金钱"
    status, html = await b.page("builder_steps", field="choice")
    await b.step("builder_steps", **page_form(html, "field-editor"), row="remove:1")
    status, html = await b.page("builder_steps", field="amount")
    assert "仅当「是否涉及金钱」为「是」时" in html
    edit = page_form(html, "field-editor")
    edit.update(shown_when='choice="yes"', minimum="0", maximum="1000000", required="1")
    await b.step("builder_steps", **edit)
    schema = await b.schema("builder_steps")
    assert schema["properties"]["choice"]["oneOf"] == [{"const": "yes", "title": "是", "x-en": {"title": "Yes"}},
                                                       {"const": "no", "title": "否", "x-en": {"title": "No"}}]
    assert schema["properties"]["amount"]["minimum"] == 0 and schema["properties"]["amount"]["maximum"] == 1000000
    assert {"if": {"properties": {"choice": {"const": "yes"}}, "required": ["choice"]}, "then": {"required": ["amount"]},
            "else": {"properties": {"amount": {"not": {}}}}} in schema["allOf"]
    status, html = await b.page("builder_steps")
    assert "仅当「是否涉及金钱」为「是」时显示" in html

    # keyboard moves, a drag (the same move step), duplicate, remove, rename
    await b.step("builder_steps", op="down", path="text")
    assert list((await b.schema("builder_steps"))["properties"])[:2] == ["details", "text"]
    await b.step("builder_steps", op="up", path="text")
    await b.step("builder_steps", op="move", path="date", to="0")
    assert list((await b.schema("builder_steps"))["properties"])[0] == "date"
    await b.step("builder_steps", op="move", path="region", to="0", into="subject")
    assert "region" in (await b.schema("builder_steps"))["properties"]["subject"]["properties"]
    status, html = await b.page("builder_steps", field="subject.region")
    location = await b.step("builder_steps", **page_form(html, "b-move-into"))  # the editor's "move to": the form
    assert "field=region" in location and list((await b.schema("builder_steps"))["properties"])[-1] == "region"
    status, html = await b.page("builder_steps", field="amount")
    await b.step("builder_steps", **(page_form(html, "field-editor") | {"unit_zh": "万元", "unit_en": "10k yuan"}))
    assert (await b.schema("builder_steps"))["properties"]["amount"]["x-unit"] == {"zh": "万元", "en": "10k yuan"}
    await b.step("builder_steps", op="duplicate", path="subject.name")
    assert "name_2" in (await b.schema("builder_steps"))["properties"]["subject"]["properties"]
    location = await b.step("builder_steps", op="remove", path="subject.name_2")
    assert "done=remove" in location
    await b.step("builder_steps", op="undo")  # a click too many: the last step undone, and redone
    assert "name_2" in (await b.schema("builder_steps"))["properties"]["subject"]["properties"]
    await b.step("builder_steps", op="undo")
    assert "name_2" not in (await b.schema("builder_steps"))["properties"]["subject"]["properties"]
    status, html = await b.page("builder_steps", field="details")
    await b.step("builder_steps", **(page_form(html, "field-editor") | {"new_key": "facts"}))
    schema = await b.schema("builder_steps")
    assert "facts" in schema["properties"] and "details" not in schema["properties"]

    # a reload shows the same draft; discarding it returns to what is published (nothing: a 404 for a new form)
    status, html = await b.page("builder_steps")
    assert status == 200 and "是否涉及金钱" in html and "草稿" in html
    await b.post("discard", "builder_steps", {})
    assert (await b.page("builder_steps"))[0] == 404


async def test_messages_are_told_in_chinese_and_english_beside_the_field(admin):
    b = admin
    await b.post("discard", "builder_msgs", {})
    await new_form(b, "builder_msgs")
    await b.step("builder_msgs", op="add", kind="number")
    status, html = await b.page("builder_msgs", field="number")
    status, text, _ = await b.post("step", "builder_msgs", page_form(html, "field-editor") | {"maximum": "很多", "label_zh": "参会人数"})
    assert status == 422 and "最大值应为数字" in text and "please correct" not in text
    # what was typed stays in the boxes to be corrected: the bad value and the label changed with it
    assert 'id="b-limit-maximum" name="maximum" inputmode="decimal" value="很多"' in text and 'value="参会人数"' in text
    status, text, _ = await b.post("step", "builder_msgs", page_form(html, "field-editor") | {"maximum": "很多"}, lang="en")
    assert status == 422 and "Largest value: give a number" in text
    status, text, _ = await b.post("step", "builder_msgs", page_form(html, "field-editor") | {"new_key": "数量"})
    assert status == 422 and "字段名只能由英文字母" in text
    # a choice field without choices: shown beside it, and publishing is refused with the message in words
    await b.step("builder_msgs", op="add", kind="single_choice")
    status, html = await b.page("builder_msgs", field="choice")
    edit = page_form(html, "field-editor")
    await b.step("builder_msgs", **edit, row="remove:0")
    status, html = await b.page("builder_msgs", field="choice")
    await b.step("builder_msgs", **page_form(html, "field-editor"), row="remove:0")
    status, html = await b.page("builder_msgs")
    assert re.search(r'id="f-choice".*?请至少添加一个选项', html, re.S)
    status, text, _ = await b.post("publish", "builder_msgs", {})
    assert status == 422 and "表单还有问题，未发布" in text and "请至少添加一个选项" in text
    status, text, _ = await b.post("publish", "builder_msgs", {}, lang="en")
    assert status == 422 and "add at least one choice" in text
    # the advanced view refuses what is not JSON, and a schema the gate refuses, each in words
    status, text, _ = await b.post("json", "builder_msgs", {"schema": "{\"type\": "})
    assert status == 422 and "不是有效的 JSON" in text
    status, text, _ = await b.post("json", "builder_msgs", {"schema": json.dumps({"type": "objekt"})})
    assert status == 422 and "表单定义不符合要求" in text
    await b.post("discard", "builder_msgs", {})


async def test_publishing_makes_version_n_plus_1_and_older_petitions_keep_theirs(admin, client, tenants):
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.config_versions import ConfigActor, do_roll_back_config, list_config_versions
    from xinfang.tenancy.models import Tenant

    b = admin
    key = "builder_publish"
    await b.post("discard", key, {})
    status, html = await b.page(key)
    if status == 404:
        await new_form(b, key, template="petition", name="设计器发布测试")
    status, text, location = await b.post("publish", key, {})
    assert status == 303, text[:3000]
    first = (await (await client.get(f"/t/{tenants.A}/api/forms/{key}")).get_json())["version"]
    registrar = await login_token(client, tenants.A, "registrar")
    filed = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={
        "form": key, "channel": "letter", "anonymous": True, "answers": {"title": "设计器测试", "content": "设计器发布前提交的信访件", "category": "other"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    petition_id = (await filed.get_json())["id"]

    status, html = await b.page(key, field="title")
    await b.step(key, **(page_form(html, "field-editor") | {"label_zh": "标题（新版）"}))
    status, text, location = await b.post("publish", key, {})
    assert status == 303 and f"published%3A{first + 1}" in location.replace(":", "%3A")
    latest = await (await client.get(f"/t/{tenants.A}/api/forms/{key}")).get_json()
    assert latest["version"] == first + 1 and latest["schema"]["properties"]["title"]["title"] == "标题（新版）"
    old = await (await client.get(f"/t/{tenants.A}/api/forms/{key}/versions/{first}", headers=registrar)).get_json()
    assert old["schema"]["properties"]["title"]["title"] == "标题"
    shown = await (await client.get(f"/t/{tenants.A}/api/petitions/{petition_id}", headers=registrar)).get_json()
    assert shown["form"] == {"key": key, "version": first}
    status, html = await b.page(key, done=f"published:{first + 1}")
    assert f"已发布为第 {first + 1} 版" in html and "草稿：有未发布的修改" not in html

    # each publish is a configuration version; rolling back publishes the old schema as a newer version
    async with client.app.app_context():
        tenant = await Tenant.find_one({"slug": tenants.A})
        scope = TenantScope(tenant.id)
        rows = await list_config_versions(scope, f"form:{key}")
        assert rows[0].content["json_schema"]["properties"]["title"]["title"] == "标题（新版）"
        assert rows[0].author_name and "表单设计器" in rows[0].note
        await do_roll_back_config(scope, f"form:{key}", rows[1].number, actor=ConfigActor(None, "测试"))
    latest = await (await client.get(f"/t/{tenants.A}/api/forms/{key}")).get_json()
    assert latest["version"] == first + 2 and latest["schema"]["properties"]["title"]["title"] == "标题"


async def test_the_preview_shows_the_form_and_the_example_answers_messages(admin):
    b = admin
    key = "builder_preview"
    await b.post("discard", key, {})
    await new_form(b, key, template="suggestion", name="预览测试")
    status, html = await b.page(key, width="phone")
    assert 'class="b-screen b-phone"' in html and 'id="preview-form"' in html and 'name="content"' in html
    status, text, location = await b.post("preview", key, {"content": "短", "_anonymous": "1"})
    assert status == 303 and "checked=1" in location
    status, html = await b.page(key, checked="1")
    assert "这份示例答案会收到以下提示" in html
    status, text, _ = await b.post("preview", key, {"topic": "设立村级监督员", "area": "integrity", "content": "建议在每个村设立信访监督员" * 3, "_anonymous": "1", "fragment": "1"})
    assert status == 200 and "这份示例答案可以提交" in text and 'id="preview-panel"' in text
    await b.post("discard", key, {})


async def test_the_archive_document_type_builder_saves_through_the_gate(admin, client, tenants):
    from xinfang.archives.models import ArchiveDocumentType
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.config_versions import list_config_versions
    from xinfang.tenancy.models import Tenant

    b = Builder(admin.client, admin.slug, admin.headers, TYPES)
    key = "builder_review"
    await b.post("discard", key, {})
    status, html = await b.page(key)
    if status == 404:
        status, text, _ = await b.post("new", None, {"key": key, "name_zh": "述责述廉", "name_en": "Accountability report"})
        assert status == 303, text[:2000]
    await b.step(key, op="add", kind="single_choice")
    await b.step(key, op="add", kind="number")
    status, text, _ = await b.post("publish", key, {})
    assert status == 303, text[:2000]
    async with client.app.app_context():
        tenant = await Tenant.find_one({"slug": tenants.A})
        row = await TenantScope(tenant.id).repo(ArchiveDocumentType).find_one({"key": key})
        assert row.name.model_dump() == {"zh": "述责述廉", "en": "Accountability report"} and "choice" in row.json_schema["properties"]
        rows = await list_config_versions(TenantScope(tenant.id), f"archive_type:{key}")
        assert rows and rows[0].content["key"] == key
    status, html = await b.page(key, field="number")
    await b.step(key, **(page_form(html, "field-editor") | {"label_zh": "参加人数"}))
    status, text, _ = await b.post("publish", key, {})
    assert status == 303
    async with client.app.app_context():  # rolling back saves the older type again, as a newer version
        from xinfang.tenancy.config_versions import ConfigActor, do_roll_back_config
        scope = TenantScope(tenant.id)
        rows = await list_config_versions(scope, f"archive_type:{key}")
        assert rows[0].content["json_schema"]["properties"]["number"]["title"] == "参加人数"
        await do_roll_back_config(scope, f"archive_type:{key}", rows[1].number, actor=ConfigActor(None, "测试"))
        row = await scope.repo(ArchiveDocumentType).find_one({"key": key})
        assert row.json_schema["properties"]["number"]["title"] == "数字"
        assert (await list_config_versions(scope, f"archive_type:{key}"))[0].number == rows[0].number + 1
    status, html = await b.page(key)
    assert status == 200 and "保存档案材料类型" in html
    # the archive types' own index and a key taken: said of archive document types, not of forms
    status, html = await b.page(None)
    assert status == 200 and "选择要设计的档案材料类型" in html and "选择要设计的表单" not in html
    status, text, _ = await b.post("new", None, {"key": key, "name_zh": "又一个", "name_en": "Another"})
    assert status == 422 and "已有这个标识的档案材料类型" in text
    # the seed's 民主评廉 opens in the same builder
    status, html = await b.page("integrity_evaluation")
    assert status == 200 and "评价结果" in html and "参评人数" in html


async def test_only_form_managers_open_the_builder(client, tenants):
    handler = await login_token(client, tenants.A, "handler")
    for path in (FORMS, TYPES):
        response = await client.get(f"/t/{tenants.A}{path}", headers=handler)
        assert response.status_code == 403


async def test_the_json_page_and_the_builder_link_to_each_other(admin, client, tenants):
    status, html = await admin.page("petition")
    assert "/admin/forms?key=petition" in html
    page = await client.get(f"/t/{tenants.A}/admin/forms?key=petition", headers=admin.headers)
    assert "/admin/forms/builder?key=petition" in await page.get_data(as_text=True)


async def test_the_builder_pages_show_words_not_codes(admin, tenants):
    from tests.test_page_crawl import problems_in, read_page

    types = Builder(admin.client, admin.slug, admin.headers, TYPES)
    for lang in ("zh", "en"):
        for b, key, field in ((admin, None, None), (admin, "report", None), (admin, "report", "subject.kind"), (admin, "report", "category"),
                              (admin, "petition", IDENTITY_GROUP_KEY), (types, "integrity_evaluation", "rating"), (types, None, None)):
            args = {"lang": lang} | ({"field": field} if field else {})
            status, html = await b.page(key, **args)
            assert status == 200, html[:2000]
            text, _ = read_page(html)
            assert not problems_in(text, lang), (key, field, lang, problems_in(text, lang))
            if lang == "en":
                preview = "Preview (as staff see it when they file the document)" if b is types else "Preview (as citizens see it)"
                if key is not None and field is None:  # the preview's heading: an archive type is filed by staff, not citizens
                    assert preview in text, (key, preview)
                mine = text.split("Form builder", 1)[1].split(preview)[0].replace("中文", "")
                assert not re.search(r"[\u4e00-\u9fff]{2,}", mine), (key, field, re.findall(r"[\u4e00-\u9fff]{2,}", mine))


async def test_the_form_and_archive_type_areas_check_export_and_name_their_content(app, tenants):
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.config_versions import config_area
    from xinfang.tenancy.models import Tenant

    form_area, type_area = config_area("form:report"), config_area("archive_type:integrity_evaluation")
    async with app.app.app_context():
        scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
        current = await form_area.current(scope)
        assert current["form:report"]["key"] == "report" and current["form:report"]["json_schema"]["properties"]["subject"]
        assert form_area.check(scope, "form:report", current["form:report"]) == {}
        from xinfang.tenancy.config_exchange import _storable  # an exported file of forms uploads elsewhere
        assert "＄schema" in current["form:report"]["json_schema"] and _storable(current["form:report"])
        bad = {"key": "report", "json_schema": {"type": "objekt"}}
        assert form_area.check(scope, "form:report", bad) and form_area.check(scope, "form:other", current["form:report"])
        assert await form_area.subject(scope, "report", "zh") == "检举控告"
        types = await type_area.current(scope)
        seed = types["archive_type:integrity_evaluation"]
        assert seed["name"]["zh"] == "民主评廉" and type_area.check(scope, "archive_type:integrity_evaluation", seed) == {}
        assert "name" in type_area.check(scope, "archive_type:integrity_evaluation", seed | {"name": {"zh": ""}})
        assert await type_area.subject(scope, "integrity_evaluation", "en") == "Democratic integrity evaluation"
    assert form_area.path_label("json_schema.x-en.title", "zh") == "英文 · 标题"
    assert form_area.path_label("json_schema.properties.money_involved.title", "zh") is None  # names are the page's to show
