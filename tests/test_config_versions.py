"""Configuration versions: numbered per area, unchanged content records nothing, any two compare, a rollback applies old content."""

from __future__ import annotations

from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import (
    ConfigActor, config_diff, do_record_config_version, do_roll_back_config, list_config_versions, register_config_area,
)
from xinfang.tenancy.models import Tenant

ADMIN = ConfigActor("0123456789abcdef01234567", "管理员甲")


def test_diff_names_changed_leaves_by_key():
    before = {"states": [{"key": "a", "name": {"zh": "甲"}}, {"key": "b", "name": {"zh": "乙"}}], "limit": 15}
    after = {"states": [{"key": "a", "name": {"zh": "甲"}}, {"key": "c", "name": {"zh": "丙"}}, {"key": "b", "name": {"zh": "乙乙"}}], "limit": 15}
    rows = {r.path: (r.before, r.after) for r in config_diff(before, after)}
    assert rows == {"states[b].name.zh": ('"乙"', '"乙乙"'), "states[c].key": (None, '"c"'), "states[c].name.zh": (None, '"丙"')}


async def test_versions_number_and_roll_back(app):
    async with app.app.app_context():
        tenant = await Tenant.find_one({"slug": "bazhou"})
        scope = TenantScope(tenant.id)
        area = "probe:versions"
        applied = []

        async def apply(scope, content, actor, note):
            applied.append(content)
            await do_record_config_version(scope, area, content, actor=actor, note=note)

        register_config_area("probe", {"zh": "测试", "en": "probe"}, apply)
        first = await do_record_config_version(scope, area, {"n": 1}, actor=ADMIN)
        assert await do_record_config_version(scope, area, {"n": 1}, actor=ADMIN) is None
        second = await do_record_config_version(scope, area, {"n": 2}, actor=ADMIN)
        assert (first.number, second.number) == (second.number - 1, second.number)
        await do_roll_back_config(scope, area, first.number, actor=ADMIN)
        newest = (await list_config_versions(scope, area))[0]
        assert applied == [{"n": 1}] and newest.content == {"n": 1} and newest.number == second.number + 1
        assert "回滚到第" in newest.note and newest.author_name == "管理员甲"


async def test_publishing_through_the_api_records_a_version_too(app, client, tenants):
    """Whichever way a form or an archive type changes (builder page, API, JSON page), its history has the change."""
    from tests.conftest import login_token
    from xinfang.archives.models import ArchiveDocumentType
    from xinfang.forms.service import FormVersion

    headers = await login_token(client, tenants.B, "admin")
    schema = {"type": "object", "title": "接口发布", "x-en": {"title": "API probe"}, "x-form": {"kind": "suggestion"},
              "properties": {"content": {"type": "string", "title": "内容", "x-en": {"title": "Content"}}}, "required": ["content"], "additionalProperties": False}
    published = await client.post(f"/t/{tenants.B}/api/forms/api_probe/versions", headers=headers, json={"schema": schema})
    defined = await client.put(f"/t/{tenants.B}/api/archive-document-types/api_probe", headers=headers,
                               json={"name": {"zh": "接口类型", "en": "API type"}, "json_schema": schema})
    async with app.app.app_context():
        scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
        try:
            assert published.status_code == 201 and defined.status_code == 200, await defined.get_data(as_text=True)
            form_versions = await list_config_versions(scope, "form:api_probe")
            type_versions = await list_config_versions(scope, "archive_type:api_probe")
            assert len(form_versions) == 1 and form_versions[0].author_id
            assert len(type_versions) == 1 and "接口" in type_versions[0].note
        finally:
            await scope.repo(FormVersion).delete_many({"key": "api_probe"})
            await scope.repo(ArchiveDocumentType).delete_many({"key": "api_probe"})


def test_the_diff_says_coded_values_in_words():
    from xinfang.tenancy.config_pages import diff_rows

    before = {"response_deadline": {"amount": 5, "unit": "working_days"}, "trigger": {"condition": "repeat_within"}}
    after = {"response_deadline": {"amount": 5, "unit": "calendar_months"}, "trigger": {"condition": "not_rectified_after"}}
    rows = {r["path"]: (r["before"], r["after"]) for r in diff_rows("card_type:blue", before, after, "zh")}
    assert rows["response_deadline.unit"] == ("个工作日", "个月")
    assert "working_days" not in str(rows) and "repeat_within" not in str(rows)
