"""The tenant admin's plugin page: every plugin in words, on/off (a required one stays on and says why), its settings
as a form drawn from its config_schema (no JSON), messages next to the fields, a version "plugin:<name>" per change."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import ConfigActor, do_roll_back_config, list_config_versions
from xinfang.tenancy.models import Tenant, TenantPluginSetting
from xinfang.tenancy.plugin_pages import config_from_form, schema_fields
from tests.conftest import login_token
from tests.login_pages import TOKEN, staff_login

ISOLATION_CASES = {
    "plugins_admin.plugins_page": dict(method="GET", path="/admin/plugins", kind="collection"),
    # a required plugin's form: saved as it is (nothing to switch off), answered with the page again
    "plugins_admin.configure_plugin_submit": dict(method="POST", path="/admin/plugins/petitions", kind="collection", form=True, expect=(303,)),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["mode"], "properties": {
    "mode": {"type": "string", "title": "方式", "x-en": {"title": "Mode"},
             "oneOf": [{"const": "fast", "title": "快速", "x-en": {"title": "Fast"}}, {"const": "slow", "title": "慢速"}]},
    "limit": {"type": "integer", "minimum": 1, "maximum": 10, "title": "上限"},
    "loud": {"type": "boolean", "title": "提醒"},
    "names": {"type": "array", "items": {"type": "string"}, "title": "名单"},
    "days": {"type": "array", "items": {"enum": ["mon", "tue"]}},
}}


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


class Form(dict):
    def getlist(self, name):
        value = self.get(name)
        return value if isinstance(value, list) else ([value] if value is not None else [])


def test_a_schema_becomes_fields_and_a_form_becomes_typed_settings():
    fields = {f["key"]: f for f in schema_fields(SCHEMA, {"limit": 3, "names": ["甲", "乙"]}, "zh")}
    assert fields["mode"]["kind"] == "select" and fields["mode"]["choices"] == [("fast", "快速"), ("slow", "慢速")]
    assert fields["limit"] == fields["limit"] | {"kind": "number", "value": "3", "minimum": 1, "maximum": 10, "label": "上限"}
    assert fields["loud"]["kind"] == "checkbox" and fields["names"] == fields["names"] | {"kind": "lines", "value": "甲\n乙"}
    assert fields["days"]["kind"] == "checkboxes" and fields["days"]["label"] == "days"
    assert schema_fields(SCHEMA, {}, "en")[0]["label"] == "Mode"
    typed = config_from_form(SCHEMA, Form({"config.mode": "fast", "config.limit": "x", "config.loud": "1", "config.names": "甲\n\n 乙 ",
                                           "config.days": ["mon"]}))
    assert typed == {"mode": "fast", "limit": "x", "loud": True, "names": ["甲", "乙"], "days": ["mon"]}


@pytest.fixture
async def bazhou(app, tenants):
    tenant = await Tenant.find_one({"slug": tenants.B})
    yield tenant
    scope = TenantScope(tenant.id)
    for name in ("filesender", "activity"):
        if (row := await scope.repo(TenantPluginSetting).find_one({"plugin": name})) is not None:
            await scope.repo(TenantPluginSetting).delete(row)


async def admin_browser(app, slug: str):
    browser = app.test_client()
    await staff_login(browser, slug, "admin")
    page = await browser.get(f"/t/{slug}/admin/plugins")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200, text[:2000]
    return browser, text, TOKEN.search(text).group(1)


async def test_the_page_shows_each_plugin_in_words_and_saves_its_settings_as_versions(app, bazhou):
    browser, page, token = await admin_browser(app, bazhou.slug)
    words = text_of(page)
    assert "通知发送（写入文件）" in words and "发送渠道" in words and "电子邮件" in words and "手机短信" in words
    assert "信访件" in words and "停用后平台无法正常工作" in words  # a required one says why it stays on
    assert '"type"' not in page and "{&#34;" not in page  # no JSON anywhere
    assert not re.search(r'id="petitions-enabled"', page)  # a required plugin has no on/off box
    assert re.search(r'name="config.channels" value="sms" checked', page)  # the schema's default, shown

    scope = TenantScope(bazhou.id)
    before = len(await list_config_versions(scope, "plugin:filesender"))
    saved = await browser.post(f"/t/{bazhou.slug}/admin/plugins/filesender", headers=FORM,
                               data=urlencode([("csrf_token", token), ("enabled", "1"), ("config.channels", "email")]))
    assert saved.status_code == 303
    row = await scope.repo(TenantPluginSetting).find_one({"plugin": "filesender"})
    assert row.enabled and row.config == {"channels": ["email"]}
    shown = await (await browser.get(f"/t/{bazhou.slug}/admin/plugins?saved=filesender")).get_data(as_text=True)
    assert "已保存：通知发送（写入文件）" in text_of(shown)
    assert re.search(r'name="config.channels" value="email" checked', shown) and not re.search(r'value="sms" checked', shown)

    off = await browser.post(f"/t/{bazhou.slug}/admin/plugins/activity", headers=FORM,
                             data=urlencode([("csrf_token", token), ("config.ignore_events", "petition.submitted\nnotification.created")]))
    assert off.status_code == 303
    row = await scope.repo(TenantPluginSetting).find_one({"plugin": "activity"})
    assert not row.enabled and row.config == {"ignore_events": ["petition.submitted", "notification.created"]}

    refused = await browser.post(f"/t/{bazhou.slug}/admin/plugins/activity", headers=FORM,
                                 data=urlencode([("csrf_token", token), ("enabled", "1"), ("config.ignore_events", "x" * 101)]))
    shown = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'<textarea id="activity-ignore_events"[^>]*>x{101}</textarea>\s*<p class="xf-error" role="alert">最多 100 个字</p>', shown)
    english = await browser.post(f"/t/{bazhou.slug}/admin/plugins/filesender?lang=en", headers=FORM,
                                 data=urlencode([("csrf_token", token), ("enabled", "1"), ("config.channels", "fax")]))
    assert english.status_code == 422 and "choose one of the options listed" in text_of(await english.get_data(as_text=True))

    versions = await list_config_versions(scope, "plugin:filesender")
    assert len(versions) == before + 1 and versions[0].content == {"plugin": "filesender", "enabled": True, "config": {"channels": ["email"]}}
    assert versions[0].author_name
    activity = await list_config_versions(scope, "plugin:activity")
    assert activity[0].content["enabled"] is False
    required = await browser.post(f"/t/{bazhou.slug}/admin/plugins/petitions", headers=FORM, data=urlencode([("csrf_token", token)]))
    assert required.status_code == 303  # no box to untick: it stays on
    assert (await list_config_versions(scope, "plugin:petitions"))[0].content["enabled"] is True


async def test_a_rollback_puts_back_a_plugins_earlier_setting(app, bazhou):
    browser, _, token = await admin_browser(app, bazhou.slug)
    scope = TenantScope(bazhou.id)
    for channels in (["email"], ["sms"]):
        await browser.post(f"/t/{bazhou.slug}/admin/plugins/filesender", headers=FORM,
                           data=urlencode([("csrf_token", token), ("enabled", "1"), *(("config.channels", c) for c in channels)]))
    first = (await list_config_versions(scope, "plugin:filesender"))[1]
    async with app.app.test_request_context("/"):  # a rollback runs in a request, where the plugin list is
        await do_roll_back_config(scope, "plugin:filesender", first.number, actor=ConfigActor(None, "test"))
    assert (await scope.repo(TenantPluginSetting).find_one({"plugin": "filesender"})).config == {"channels": ["email"]}


async def test_only_admins_change_plugins_and_the_api_records_a_version_too(app, client, bazhou):
    handler = app.test_client()
    await staff_login(handler, bazhou.slug, "handler")
    assert (await handler.get(f"/t/{bazhou.slug}/admin/plugins")).status_code == 403
    admin = await login_token(client, bazhou.slug, "admin")
    scope = TenantScope(bazhou.id)
    answer = await client.put(f"/t/{bazhou.slug}/api/plugins/filesender", headers=admin, json={"enabled": True, "config": {"channels": ["sms"]}})
    assert answer.status_code == 200
    assert (await list_config_versions(scope, "plugin:filesender"))[0].content["config"] == {"channels": ["sms"]}
    bad = await client.put(f"/t/{bazhou.slug}/api/plugins/filesender", headers=admin, json={"enabled": True, "config": {"channels": ["fax"]}})
    assert bad.status_code == 422 and (await bad.get_json())["error"]["fields"]["config.channels.0"]["zh"] == "请从列出的选项中选择"
