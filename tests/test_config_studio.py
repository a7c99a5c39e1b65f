"""The configuration hub, versions (list, diff, rollback) and whole-configuration export / offer / import (issue 12).

A probe area registered here (``studio_probe:<name>``) stands for every configurable area, so these tests do not
wait for the builders; the real areas, when registered, show on the hub and travel in the same bundle.
"""

from __future__ import annotations

import io
import json
import re

from quart.datastructures import FileStorage

from tests.conftest import login_token
from tests.login_pages import TOKEN, staff_login
from tests.staffing import tenant_scope
from xinfang.auth.permissions import Permission, access_of
from xinfang.tenancy.config_exchange import extend_content
from xinfang.tenancy.config_versions import (
    ConfigActor, do_record_config_version, latest_config_version, register_config_area,
)

ADMIN = ConfigActor(None, "测试管理员")
PREFIX = "studio_probe"

# Every route of the hub, the versions pages and the exchange, as tests/test_isolation.py checks them.
ISOLATION_CASES: dict[str, dict] = {
    "config_studio.studio_page": {"method": "GET", "path": "/admin/studio", "kind": "collection"},
    "config_studio.versions_page": {"method": "GET", "path": "/admin/versions/workflow", "kind": "collection", "expect": (200, 404)},
    "config_studio.versions_diff_page": {"method": "GET", "path": "/admin/versions/workflow/diff", "kind": "collection", "expect": (200, 404)},
    "config_studio.rollback_confirm_page": {"method": "GET", "path": "/admin/versions/workflow/99999/rollback", "kind": "collection",
                                            "expect": (404,)},
    "config_studio.rollback_submit": {"method": "POST", "path": "/admin/versions/workflow/99999/rollback", "kind": "collection",
                                      "form": True, "expect": (404,)},
    "config_studio.list_config_areas": {"method": "GET", "path": "/api/config-versions", "kind": "collection"},
    "config_studio.list_area_versions": {"method": "GET", "path": "/api/config-versions/workflow", "kind": "collection", "expect": (200, 404)},
    "config_studio.show_area_version": {"method": "GET", "path": "/api/config-versions/workflow/99999", "kind": "collection", "expect": (404,)},
    "config_studio.diff_area_versions": {"method": "GET", "path": "/api/config-versions/workflow/diff", "kind": "collection",
                                         "expect": (200, 404)},
    "config_studio.roll_back_area": {"method": "POST", "path": "/api/config-versions/workflow/99999/rollback", "kind": "collection",
                                     "expect": (404,)},
    "config_exchange.exchange_page": {"method": "GET", "path": "/admin/config-exchange", "kind": "collection"},
    "config_exchange.export_download": {"method": "GET", "path": "/admin/config-exchange/export", "kind": "collection"},
    "config_exchange.offer_submit": {"method": "POST", "path": "/admin/config-exchange/offers", "kind": "collection", "form": True,
                                     "body": {"to": "no-such-body"}, "expect": (422,)},
    "config_exchange.upload_submit": {"method": "POST", "path": "/admin/config-exchange/upload", "kind": "collection", "form": True,
                                      "expect": (422,)},
    "config_exchange.offer_page": {"method": "GET", "path": "/admin/config-exchange/offers/{id}", "kind": "object"},
    "config_exchange.import_submit": {"method": "POST", "path": "/admin/config-exchange/offers/{id}/import", "kind": "object", "form": True},
    "config_exchange.decline_submit": {"method": "POST", "path": "/admin/config-exchange/offers/{id}/decline", "kind": "object", "form": True},
    "config_exchange.export_bundle_api": {"method": "GET", "path": "/api/config-exchange/export", "kind": "collection"},
    "config_exchange.list_offers_api": {"method": "GET", "path": "/api/config-exchange/offers", "kind": "collection"},
    "config_exchange.offer_api": {"method": "POST", "path": "/api/config-exchange/offers", "kind": "collection",
                                  "body": {"to": "no-such-body"}, "expect": (422,)},
    "config_exchange.upload_api": {"method": "POST", "path": "/api/config-exchange/upload", "kind": "collection", "body": {},
                                   "expect": (422,)},
    "config_exchange.preview_offer_api": {"method": "GET", "path": "/api/config-exchange/offers/{id}", "kind": "object"},
    "config_exchange.import_offer_api": {"method": "POST", "path": "/api/config-exchange/offers/{id}/import", "kind": "object",
                                         "body": {"modes": {}}},
}


async def _apply(scope, content, actor, note):
    """The probe area's writer: refuses what its check refuses, then records the version (as every area's writer does)."""
    if _check(scope, "", content):
        raise AssertionError("the import applied content its check refuses")
    await do_record_config_version(scope, f"{PREFIX}:{content.get('_name', 'alpha')}", content, actor=actor, note=note)


def _check(scope, area, content):
    if content.get("bad"):
        return {"bad": {"zh": "这一项不允许为真", "en": "this may not be true"}}
    return {}


def _label(path, lang):
    return {"limit": {"zh": "办理时限", "en": "time limit"}}.get(path, {}).get(lang)


register_config_area(PREFIX, {"zh": "测试配置", "en": "Probe configuration"}, _apply, check=_check, path_label=_label,
                     subject=lambda scope, key, lang: {"alpha": "甲项", "beta": "乙项"}.get(key))


async def _record(slug: str, name: str, content: dict, note: str = ""):
    return await do_record_config_version(await tenant_scope(slug), f"{PREFIX}:{name}", dict(content, _name=name), actor=ADMIN, note=note)


async def _content(slug: str, name: str) -> dict:
    row = await latest_config_version(await tenant_scope(slug), f"{PREFIX}:{name}")
    return {k: v for k, v in row.content.items() if k != "_name"} if row else None


# ----------------------------------------------------------------------------- the merge itself


def test_extend_keeps_local_changes_and_takes_the_rest():
    base = {"limit": 15, "name": "甲", "states": [{"key": "a", "days": 5}, {"key": "b", "days": 3}]}
    ours = {"limit": 15, "name": "乙", "states": [{"key": "a", "days": 7}, {"key": "b", "days": 3}, {"key": "mine", "days": 1}]}
    theirs = {"limit": 20, "name": "甲", "states": [{"key": "a", "days": 6}, {"key": "c", "days": 2}], "new": True}
    merged = extend_content(base, ours, theirs)
    # limit: unchanged here, theirs; name: changed here, kept; a.days changed on both sides: ours; b removed by them
    # (unchanged here): removed; c theirs, new; our own item stays.
    assert merged == {"limit": 20, "name": "乙", "new": True,
                      "states": [{"key": "a", "days": 7}, {"key": "c", "days": 2}, {"key": "mine", "days": 1}]}
    assert extend_content(None, {"name": "乙"}, {"name": "甲", "limit": 3}) == {"name": "乙", "limit": 3}  # no base: only additions


# ----------------------------------------------------------------------------- hub


def _hrefs(html: str, section_id: str = "studio") -> list[str]:
    part = html.split(f'id="{section_id}"', 1)[1]
    return re.findall(r'href="([^"]+)"', part)


async def test_hub_links_open_for_the_admin_and_the_hub_is_not_the_handlers(app, client, tenants):
    await _record(tenants.A, "alpha", {"limit": 10}, note="hub")
    await _record(tenants.A, "kappa", {"name": {"zh": "卡帕项", "en": "kappa item"}})  # no subject hook: the content's own name
    admin = await login_token(client, tenants.A, "admin")
    hub = await client.get(f"/t/{tenants.A}/admin/studio", headers=admin)
    html = await hub.get_data(as_text=True)
    assert hub.status_code == 200, html
    for words in ("配置中心", "表单", "档案材料类型", "办理流程", "工作日历", "监督卡与措施", "文书与提醒措辞", "检索词典", "插件", "账号", "测试配置「甲项」", "测试配置「卡帕项」"):
        assert words in html, words
    assert "测试管理员" in html  # who changed it last
    links = _hrefs(html)
    assert f"/t/{tenants.A}/admin/versions/{PREFIX}:alpha" in links and f"/t/{tenants.A}/admin/accounts" in links
    for link in links:
        opened = await client.get(link, headers=admin)
        assert opened.status_code == 200, (link, opened.status_code)
    english = await (await client.get(f"/t/{tenants.A}/admin/studio?lang=en", headers=admin)).get_data(as_text=True)
    assert "Configuration" in english and "Working calendar" in english

    handler = await login_token(client, tenants.A, "handler")
    assert (await client.get(f"/t/{tenants.A}/admin/studio", headers=handler)).status_code == 403
    inbox = await (await client.get(f"/t/{tenants.A}/staff/", headers=handler)).get_data(as_text=True)
    assert "/admin/studio" not in inbox and "配置中心" not in inbox
    admin_nav = await (await client.get(f"/t/{tenants.A}/admin/forms", headers=admin)).get_data(as_text=True)
    assert f'href="/t/{tenants.A}/admin/studio"' in admin_nav


async def test_every_built_in_area_has_its_section_and_page_on_the_hub(app, client, tenants):
    """What the platform itself registers is never left in the page-less 其他配置 (only a plugin's unknown area is)."""
    from xinfang.tenancy.config_pages import OTHER, section_of
    from xinfang.tenancy.config_versions import config_areas

    built_in = [prefix for prefix in config_areas() if prefix != PREFIX]
    assert {"alert_settings", "portal_theme", "retention", "workflow"} <= set(built_in)
    assert [prefix for prefix in built_in if section_of(prefix) is OTHER] == []
    admin = await login_token(client, tenants.A, "admin")
    links = _hrefs(await (await client.get(f"/t/{tenants.A}/admin/studio", headers=admin)).get_data(as_text=True))
    for page in ("/staff/analytics/alert-settings", "/admin/portal-theme"):
        assert f"/t/{tenants.A}{page}" in links, page


# ----------------------------------------------------------------------------- versions


async def test_versions_list_diff_and_rollback_over_http(app, client, tenants):
    slug, area = tenants.A, f"{PREFIX}:beta"
    first = await _record(slug, "beta", {"limit": 15, "name": {"zh": "受理", "en": "accept"}, "days": [1, 2]}, note="第一次")
    second = await _record(slug, "beta", {"limit": 20, "name": {"zh": "受理审查", "en": "accept"}, "extra": "新"}, note="第二次")
    admin = await login_token(client, slug, "admin")
    listed = await (await client.get(f"/t/{slug}/api/config-versions/{area}", headers=admin)).get_json()
    assert [v["number"] for v in listed["versions"]][:2] == [second.number, first.number] and listed["title"] == "测试配置「乙项」"
    diff = await client.get(f"/t/{slug}/api/config-versions/{area}/diff?from={first.number}&to={second.number}", headers=admin)
    rows = {r["path"]: r for r in (await diff.get_json())["rows"]}
    assert rows["limit"]["label"] == "办理时限" and (rows["limit"]["before"], rows["limit"]["after"]) == ("15", "20")
    assert rows["extra"]["change"] == "added" and rows["days"]["change"] == "removed" and rows["name.zh"]["label"] == "名称 › 中文"
    bad = await client.get(f"/t/{slug}/api/config-versions/{area}/diff?from=x", headers=admin)
    assert bad.status_code == 422

    page = await client.get(f"/t/{slug}/admin/versions/{area}", headers=admin)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "第二次" in html and f"第 {first.number} 版" in html and "测试管理员" in html
    diff_page = await (await client.get(f"/t/{slug}/admin/versions/{area}/diff?from={first.number}&to={second.number}", headers=admin)).get_data(as_text=True)
    assert "办理时限" in diff_page and "受理审查" in diff_page and "新增" in diff_page and "删除" in diff_page
    confirm = await client.get(f"/t/{slug}/admin/versions/{area}/{first.number}/rollback", headers=admin)
    assert confirm.status_code == 200 and "确认恢复到第" in await confirm.get_data(as_text=True)

    rolled = await client.post(f"/t/{slug}/api/config-versions/{area}/{first.number}/rollback", headers=admin)
    assert rolled.status_code == 200, await rolled.get_data(as_text=True)
    newest = (await rolled.get_json())["version"]
    assert newest["number"] == second.number + 1 and "回滚到第" in newest["note"] and await _content(slug, "beta") == {
        "limit": 15, "name": {"zh": "受理", "en": "accept"}, "days": [1, 2]}
    assert (await client.post(f"/t/{slug}/api/config-versions/{area}/99999/rollback", headers=admin)).status_code == 404
    assert (await client.get(f"/t/{slug}/api/config-versions/no_such_area:x", headers=admin)).status_code == 404


async def test_rollback_through_the_page_needs_the_forms_token(app, tenants):
    slug, area = tenants.A, f"{PREFIX}:gamma"
    first = await _record(slug, "gamma", {"limit": 1})
    await _record(slug, "gamma", {"limit": 2})
    browser = app.test_client()
    assert (await staff_login(browser, slug, "admin")).status_code == 302
    confirm = await browser.get(f"/t/{slug}/admin/versions/{area}/{first.number}/rollback")
    token = TOKEN.search(await confirm.get_data(as_text=True)).group(1)
    refused = await browser.post(f"/t/{slug}/admin/versions/{area}/{first.number}/rollback", form={})
    assert refused.status_code == 403 and await _content(slug, "gamma") == {"limit": 2}
    done = await browser.post(f"/t/{slug}/admin/versions/{area}/{first.number}/rollback", form={"csrf_token": token})
    assert done.status_code == 302 and "rolled_back" in done.headers["Location"]
    assert await _content(slug, "gamma") == {"limit": 1}
    notice = await (await browser.get(done.headers["Location"])).get_data(as_text=True)
    assert "已恢复到第" in notice


# ----------------------------------------------------------------------------- export, offer, import


async def _offer(client, slug: str, to: str) -> None:
    admin = await login_token(client, slug, "admin")
    offered = await client.post(f"/t/{slug}/api/config-exchange/offers", headers=admin, json={"to": to, "note": "请采用"})
    assert offered.status_code == 201, await offered.get_data(as_text=True)


async def _newest_offer(client, slug: str, headers: dict) -> dict:
    offers = (await (await client.get(f"/t/{slug}/api/config-exchange/offers", headers=headers)).get_json())["offers"]
    return next(o for o in offers if o["status"] == "open")


async def test_a_county_adopts_its_prefectures_configuration_then_takes_updates_keeping_its_own(app, client, tenants):
    source, county = tenants.B, tenants.CHILD_OF_B
    await _record(source, "delta", {"limit": 15, "name": "甲", "steps": [{"key": "a", "days": 5}]})
    await _offer(client, source, county)
    korla = await login_token(client, county, "admin")
    offer = await _newest_offer(client, county, korla)
    assert f"{PREFIX}:delta" in offer["areas"] and offer["from"]["slug"] == source
    preview = await (await client.get(f"/t/{county}/api/config-exchange/offers/{offer['id']}", headers=korla)).get_json()
    delta = next(p for p in preview["preview"] if p["area"] == f"{PREFIX}:delta")
    assert delta["new_here"] and delta["default_mode"] == "adopt"
    page = await client.get(f"/t/{county}/admin/config-exchange/offers/{offer['id']}", headers=korla)
    assert page.status_code == 200 and "测试配置「" in await page.get_data(as_text=True)

    adopted = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                                json={"modes": {f"{PREFIX}:delta": "adopt"}})
    assert adopted.status_code == 200, await adopted.get_data(as_text=True)
    assert await _content(county, "delta") == {"limit": 15, "name": "甲", "steps": [{"key": "a", "days": 5}]}
    row = await latest_config_version(await tenant_scope(county), f"{PREFIX}:delta")
    assert row.note.startswith("导入自 巴音郭楞")

    # 库尔勒 changes the name itself; 巴州 then changes the time limit and adds a step
    await _record(county, "delta", {"limit": 15, "name": "库尔勒的名称", "steps": [{"key": "a", "days": 5}]})
    await _record(source, "delta", {"limit": 20, "name": "甲", "steps": [{"key": "a", "days": 5}, {"key": "b", "days": 2}]})
    await _offer(client, source, county)
    offer = await _newest_offer(client, county, korla)
    preview = await (await client.get(f"/t/{county}/api/config-exchange/offers/{offer['id']}", headers=korla)).get_json()
    delta = next(p for p in preview["preview"] if p["area"] == f"{PREFIX}:delta")
    assert delta["has_base"] and delta["default_mode"] == "extend" and [r["path"] for r in delta["kept"]] == ["name"]
    extended = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                                 json={"modes": {f"{PREFIX}:delta": "extend"}})
    assert extended.status_code == 200, await extended.get_data(as_text=True)
    assert await _content(county, "delta") == {"limit": 20, "name": "库尔勒的名称", "steps": [{"key": "a", "days": 5}, {"key": "b", "days": 2}]}

    # override: 巴州 changes again, 库尔勒 keeps its own entirely (no new version)
    before = await latest_config_version(await tenant_scope(county), f"{PREFIX}:delta")
    await _record(source, "delta", {"limit": 30, "name": "甲", "steps": []})
    await _offer(client, source, county)
    offer = await _newest_offer(client, county, korla)
    kept = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                             json={"modes": {f"{PREFIX}:delta": "override"}})
    assert kept.status_code == 200 and (await kept.get_json())["areas"][f"{PREFIX}:delta"] == "override"
    assert (await latest_config_version(await tenant_scope(county), f"{PREFIX}:delta")).number == before.number


async def test_import_refuses_content_an_area_refuses_and_imports_nothing(app, client, tenants):
    source, county = tenants.B, tenants.CHILD_OF_B
    await _record(source, "epsilon", {"limit": 1})
    await _record(source, "zeta", {"bad": True})
    await _offer(client, source, county)
    korla = await login_token(client, county, "admin")
    offer = await _newest_offer(client, county, korla)
    refused = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                                json={"modes": {f"{PREFIX}:epsilon": "adopt", f"{PREFIX}:zeta": "adopt"}})
    body = await refused.get_json()
    assert refused.status_code == 422 and body["error"]["fields"][f"areas.{PREFIX}:zeta.bad"]["zh"] == "这一项不允许为真"
    preview = await (await client.get(f"/t/{county}/api/config-exchange/offers/{offer['id']}", headers=korla)).get_json()
    zeta = next(p for p in preview["preview"] if p["area"] == f"{PREFIX}:zeta")
    assert zeta["default_mode"] == "override" and zeta["problems"]["bad"]["en"] == "this may not be true"  # said before importing
    assert await _content(county, "epsilon") is None and await _content(county, "zeta") is None  # nothing half-imported
    wrong = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                              json={"modes": {f"{PREFIX}:epsilon": "take-all"}})
    assert wrong.status_code == 422
    page = await client.post(f"/t/{county}/admin/config-exchange/offers/{offer['id']}/import", headers=korla,
                             form={f"mode:{PREFIX}:epsilon": "adopt", f"mode:{PREFIX}:zeta": "adopt"})
    assert page.status_code == 422 and "这一项不允许为真" in await page.get_data(as_text=True)
    fine = await client.post(f"/t/{county}/admin/config-exchange/offers/{offer['id']}/import", headers=korla,
                             form={f"mode:{PREFIX}:epsilon": "adopt", f"mode:{PREFIX}:zeta": "override"})
    assert fine.status_code == 302 and await _content(county, "epsilon") == {"limit": 1}


async def test_offers_go_down_or_to_who_accepts_and_nobody_reads_another_tenants_configuration(app, client, tenants):
    await _record(tenants.B, "eta", {"secret_word": "巴州专用"})
    admin_a, admin_b = await login_token(client, tenants.A, "admin"), await login_token(client, tenants.B, "admin")
    korla = await login_token(client, tenants.CHILD_OF_B, "admin")
    # not below 巴州, and does not accept from it; nor may 库尔勒 offer upwards
    sideways = await client.post(f"/t/{tenants.B}/api/config-exchange/offers", headers=admin_b, json={"to": tenants.A})
    upwards = await client.post(f"/t/{tenants.CHILD_OF_B}/api/config-exchange/offers", headers=korla, json={"to": tenants.B})
    assert (sideways.status_code, upwards.status_code) == (422, 422)
    unknown = await client.post(f"/t/{tenants.B}/api/config-exchange/offers", headers=admin_b, json={"to": "no-such-body"})
    assert (await sideways.get_json()) == (await unknown.get_json())  # "not yours to offer to" tells nothing of the directory
    # another tenant's admin: no versions, no export, no offers of 巴州 or 库尔勒
    for path in (f"/t/{tenants.B}/api/config-versions", f"/t/{tenants.B}/api/config-versions/{PREFIX}:eta",
                 f"/t/{tenants.B}/api/config-exchange/export", f"/t/{tenants.B}/admin/config-exchange/export",
                 f"/t/{tenants.B}/admin/versions/{PREFIX}:eta", f"/t/{tenants.CHILD_OF_B}/api/config-exchange/offers"):
        refused = await client.get(path, headers=admin_a)
        assert refused.status_code in (401, 403), path
        assert "巴州专用" not in await refused.get_data(as_text=True)
    # 巴州 offered to 库尔勒, yet 巴州's admin reads nothing of 库尔勒's, and 泗阳 cannot open 库尔勒's offer by its id
    await _offer(client, tenants.B, tenants.CHILD_OF_B)
    offer = await _newest_offer(client, tenants.CHILD_OF_B, korla)
    assert (await client.get(f"/t/{tenants.CHILD_OF_B}/api/config-exchange/offers/{offer['id']}", headers=admin_b)).status_code == 403
    assert (await client.get(f"/t/{tenants.CHILD_OF_B}/api/config-versions", headers=admin_b)).status_code == 403
    mine = await client.get(f"/t/{tenants.A}/api/config-exchange/offers/{offer['id']}", headers=admin_a)
    assert mine.status_code == 404 and "巴州专用" not in await mine.get_data(as_text=True)
    assert offer["id"] not in await (await client.get(f"/t/{tenants.A}/api/config-exchange/offers", headers=admin_a)).get_data(as_text=True)
    assert offer["id"] not in await (await client.get(f"/t/{tenants.B}/api/config-exchange/offers", headers=admin_b)).get_data(as_text=True)
    # 泗阳's own export holds only 泗阳's configuration
    own = await (await client.get(f"/t/{tenants.A}/api/config-exchange/export", headers=admin_a)).get_json()
    assert own["exported_from"]["slug"] == tenants.A and "巴州专用" not in json.dumps(own, ensure_ascii=False)


async def test_a_file_exported_elsewhere_uploads_previews_and_imports(app, client, tenants):
    await _record(tenants.B, "theta", {"limit": 9, "words": ["巴州"]})
    admin_b = await login_token(client, tenants.B, "admin")
    download = await client.get(f"/t/{tenants.B}/admin/config-exchange/export", headers=admin_b)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    exported = await download.get_data()
    assert json.loads(exported)["areas"][f"{PREFIX}:theta"]["limit"] == 9

    browser = app.test_client()
    assert (await staff_login(browser, tenants.A, "admin")).status_code == 302
    page = await (await browser.get(f"/t/{tenants.A}/admin/config-exchange")).get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    uploaded = await browser.post(f"/t/{tenants.A}/admin/config-exchange/upload", form={"csrf_token": token},
                                  files={"file": FileStorage(io.BytesIO(exported), filename="bazhou.json", content_type="application/json")})
    assert uploaded.status_code == 302, await uploaded.get_data(as_text=True)
    preview = await browser.get(uploaded.headers["Location"])
    html = await preview.get_data(as_text=True)
    assert preview.status_code == 200 and "巴州" in html and "全部采用" in html
    junk = await browser.post(f"/t/{tenants.A}/admin/config-exchange/upload", form={"csrf_token": token},
                              files={"file": FileStorage(io.BytesIO(b"{not json"), filename="x.json", content_type="application/json")})
    assert junk.status_code == 422 and "不是本平台导出的配置文件" in await junk.get_data(as_text=True)
    imported = await browser.post(uploaded.headers["Location"] + "/import", form={"csrf_token": token, f"mode:{PREFIX}:theta": "adopt"})
    assert imported.status_code == 302
    assert await _content(tenants.A, "theta") == {"limit": 9, "words": ["巴州"]}


async def test_real_areas_travel_in_the_same_bundle(app, client, tenants):
    """The areas the builders registered: the workflow (recorded when the bundle loaded) is in the export, and a file
    with a search dictionary imports through the dictionary's own writer."""
    from xinfang.tenancy.config_versions import config_areas

    areas = config_areas()
    admin_a = await login_token(client, tenants.A, "admin")
    exported = await (await client.get(f"/t/{tenants.A}/api/config-exchange/export", headers=admin_a)).get_json()
    if "workflow" in areas:
        assert "workflow" in exported["areas"] and exported["titles"]["workflow"]["zh"]
    if "search_dictionary" not in areas:
        return
    county = tenants.CHILD_OF_B
    korla = await login_token(client, county, "admin")
    bundle = {"format": "xinfang-config/1", "exported_from": {"id": "0123456789abcdef01234567", "slug": "elsewhere", "name": {"zh": "外地纪委"}},
              "areas": {"search_dictionary": {"words": ["博斯腾湖", "孔雀河"], "stop_words": ["的"]}}}
    uploaded = await client.post(f"/t/{county}/api/config-exchange/upload", headers=korla, data=json.dumps(bundle, ensure_ascii=False))
    assert uploaded.status_code == 201, await uploaded.get_data(as_text=True)
    offer_id = (await uploaded.get_json())["id"]
    imported = await client.post(f"/t/{county}/api/config-exchange/offers/{offer_id}/import", headers=korla,
                                 json={"modes": {"search_dictionary": "adopt"}})
    assert imported.status_code == 200, await imported.get_data(as_text=True)
    words = await (await client.get(f"/t/{county}/api/search-dictionary", headers=await login_token(client, county, "handler"))).get_json()
    assert "博斯腾湖" in words["words"]
    versions = await (await client.get(f"/t/{county}/api/config-versions/search_dictionary", headers=korla)).get_json()
    assert versions["versions"][0]["note"].startswith("导入自 外地纪委")


async def test_odd_files_are_refused_with_a_reason_never_a_server_error(app, client, tenants):
    admin = await login_token(client, tenants.A, "admin")
    source = {"id": "0123456789abcdef01234567", "slug": "x", "name": {"zh": "某地"}}
    deep: dict = {}
    for _ in range(60):
        deep = {"a": deep}
    for body in (b"", b"[]", b"\xff\xfe", b"{" * 5000, json.dumps({"format": "other"}).encode(),
                 json.dumps({"format": "xinfang-config/1", "exported_from": source, "areas": {"Bad Name": {}}}).encode(),
                 json.dumps({"format": "xinfang-config/1", "exported_from": source, "areas": {"workflow": deep}}).encode(),
                 json.dumps({"format": "xinfang-config/1", "exported_from": source, "areas": {"workflow": {"$where": 1}}}).encode(),
                 json.dumps({"format": "xinfang-config/1", "exported_from": "x", "areas": []}).encode()):
        answer = await client.post(f"/t/{tenants.A}/api/config-exchange/upload", headers=admin, data=body)
        assert answer.status_code == 422, (body[:60], answer.status_code)


def test_every_route_here_asks_for_the_configuration_permission(app):
    endpoints = [r.endpoint for r in app.app.url_map.iter_rules() if r.endpoint.startswith(("config_studio.", "config_exchange."))]
    assert sorted(endpoints) == sorted(ISOLATION_CASES)
    for endpoint in endpoints:
        assert access_of(app.app.view_functions[endpoint]).permission == Permission.CONFIGURATION_MANAGE, endpoint


def test_a_calendar_diff_reads_days_and_names_in_words(app):
    """The calendar's rows: 节日名称 › the day, days as 2027年10月1日 (the English page: 2027-10-01, as every English page), no raw key or {}."""
    from xinfang.tenancy.config_pages import diff_rows

    before = {"holidays": ["2027-01-01"], "workdays": [], "names": {}}
    after = {"holidays": ["2027-01-01", "2027-10-01"], "workdays": ["2027-09-26"], "names": {"2027-10-01": "国庆节"}}
    rows = {r["path"]: r for r in diff_rows("calendar", before, after, "zh")}
    assert rows["holidays"]["listed"] == {"added": "2027年10月1日", "removed": ""}
    assert rows["workdays"]["after"] == "2027年9月26日"
    assert rows["names"]["parts"] == [{"text": "节日名称", "literal": False}] and rows["names"]["before"] == "（无）/ (none)"
    assert rows["names.2027-10-01"]["parts"][0]["text"] == "节日名称 › 2027年10月1日（星期五）"
    english = {r["path"]: r for r in diff_rows("calendar", before, after, "en")}
    assert english["holidays"]["listed"]["added"] == "2027-10-01" and english["names"]["parts"][0]["text"] == "holiday names"
