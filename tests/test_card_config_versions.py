"""Card types, action types and escalation rules are configuration areas (issue 12): every change on the supervision
settings page or through the API is a version with its author; a rollback restores the definition and leaves the
document wording alone; the export carries them; an import's content is checked by the same rules as a change here."""

from __future__ import annotations

import pytest

from xinfang.auth.models import StaffAccount
from xinfang.cards.admin import form_values
from xinfang.cards.models import ActionType, CardType, EscalationRule
from xinfang.cards.wording import do_set_document_wording
from xinfang.tenancy.config_exchange import export_bundle
from xinfang.tenancy.config_versions import (
    BUNDLE_ACTOR, ConfigActor, ConfigVersion, area_title, check_area_content, config_area, do_roll_back_config,
    latest_config_version, list_config_versions, path_words,
)
from xinfang.tenancy.service import get_tenant
from tests.conftest import login_token
from tests.staffing import tenant_scope

MODELS = (CardType, ActionType, EscalationRule)
PREFIXES = ("card_type", "action_type", "escalation_rule", "card_wording", "action_wording")
WORDING = '<article class="document">{{ type_name }}：请 {{ subject.name }} 说明。</article>'


@pytest.fixture
async def definitions(app, tenants):
    """巴州's and 库尔勒's definitions as they were before the test, put back afterwards; no versions of them before
    or after (other tests may have changed them through the API)."""
    scopes = [await tenant_scope(tenants.B), await tenant_scope(tenants.CHILD_OF_B)]
    versions = {"area": {"$regex": f"^({'|'.join(PREFIXES)}):"}}
    for scope in scopes:
        await scope.repo(ConfigVersion).delete_many(versions)
    saved = {(id(s), m): [r.model_dump() for r in await s.repo(m).find({}).to_list()] for s in scopes for m in MODELS}
    yield scopes[0]
    for scope in scopes:
        for model in MODELS:
            await scope.repo(model).delete_many({})
            for row in saved[(id(scope), model)]:
                await scope.repo(model).insert(model.model_validate(row))
        await scope.repo(ConfigVersion).delete_many(versions)


async def _admin_id(scope) -> str:
    return str((await scope.repo(StaffAccount).find_one({"username": "admin"})).id)


async def test_the_settings_page_and_the_api_each_record_a_version_with_its_author(client, tenants, definitions):
    scope, admin = definitions, await login_token(client, tenants.B, "admin")
    admin_id = await _admin_id(scope)
    blue = await scope.repo(CardType).find_one({"key": "blue"})
    assert await latest_config_version(scope, "card_type:blue") is None  # as the bundle (or an earlier admin) made it: no version

    form = {k: v for k, v in form_values("card", blue.model_dump(mode="json")).items() if v != ""} | {"colour": "#0033aa"}
    saved = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=form)
    assert saved.status_code == 302, await saved.get_data(as_text=True)
    first, bundle = await list_config_versions(scope, "card_type:blue")
    assert (bundle.number, bundle.content["colour"]) == (1, blue.colour)  # the definition it replaced, by whoever made it
    assert bundle.author_name == BUNDLE_ACTOR.name if blue.source == "bundle" else bundle.author_id == admin_id
    assert (first.number, first.author_id, first.content["colour"]) == (2, admin_id, "#0033aa") and first.author_name
    assert "document_template" not in first.content and {"id", "tenant_id", "source", "created_at"}.isdisjoint(first.content)

    shown = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin)).get_json()
    body = next(c for c in shown["card_types"] if c["key"] == "blue") | {"response_deadline": {"amount": 7, "unit": "working_days"}}
    put = await client.put(f"/t/{tenants.B}/api/card-types/blue", headers=admin, json=body)  # what GET gave, sent back changed
    assert put.status_code == 200, await put.get_data(as_text=True)
    newest = await latest_config_version(scope, "card_type:blue")
    assert (newest.number, newest.author_id, newest.content["response_deadline"]) == (3, admin_id, {"amount": 7, "unit": "working_days"})
    again = await client.put(f"/t/{tenants.B}/api/card-types/blue", headers=admin, json=body)
    assert again.status_code == 200 and (await latest_config_version(scope, "card_type:blue")).number == 3  # nothing changed: no version

    rule = {"trigger": {"card_type": "blue", "condition": "repeat_within", "period": {"amount": 1, "unit": "years"}, "count": 2},
            "outcome": {"action": "treat_as", "card_type": "orange"}, "reason": {"zh": "一年内第二次提醒函", "en": "second reminder in a year"}}
    assert (await client.put(f"/t/{tenants.B}/api/escalation-rules/blue_twice", headers=admin, json=rule)).status_code == 200
    action = await client.put(f"/t/{tenants.B}/api/action-types/short_notice", headers=admin, json={
        "name": {"zh": "简易通知书", "en": "Short notice"}, "kind": "notice", "needs_approval": False})
    assert action.status_code == 200
    for area in ("escalation_rule:blue_twice", "action_type:short_notice"):
        row = await latest_config_version(scope, area)
        assert row.number == 1 and row.author_id == admin_id and row.note.startswith("新增")

    # the versions page and the hub name it as people do, and say what a changed field is
    assert await area_title(scope, "card_type:blue", "zh") == "监督卡「提醒函」"
    assert await area_title(scope, "escalation_rule:blue_twice", "zh") == "升级规则「一年内第二次提醒函」"
    assert path_words("card_type:blue", "response_deadline.amount", "zh") == "说明期限 · 数量"
    page = await client.get(f"/t/{tenants.B}/admin/versions/card_type:blue/diff", headers=admin)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "提醒函" in html and "说明期限" in html
    hub = await (await client.get(f"/t/{tenants.B}/admin/studio", headers=admin)).get_data(as_text=True)
    assert "监督卡「提醒函」" in hub


async def test_a_rollback_restores_the_definition_and_leaves_the_wording_alone(client, tenants, definitions):
    scope, admin = definitions, await login_token(client, tenants.B, "admin")
    actor = ConfigActor(await _admin_id(scope), "测试管理员")
    await do_set_document_wording(scope, "card", "blue", WORDING, actor)
    wording_versions = len(await list_config_versions(scope, "card_wording:blue"))
    was = await scope.repo(CardType).find_one({"key": "blue"})
    shown = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin)).get_json()
    body = next(c for c in shown["card_types"] if c["key"] == "blue")
    assert body["document_template"] == WORDING
    changed = body | {"colour": "#123456", "response_deadline": {"amount": 3, "unit": "working_days"}}
    assert (await client.put(f"/t/{tenants.B}/api/card-types/blue", headers=admin, json=changed)).status_code == 200
    before, after = (await list_config_versions(scope, "card_type:blue"))[::-1]
    assert before.content["colour"] == was.colour != "#123456" and after.content["colour"] == "#123456"

    await do_roll_back_config(scope, "card_type:blue", before.number, actor=actor)
    blue = await scope.repo(CardType).find_one({"key": "blue"})
    assert blue.colour == was.colour and blue.response_deadline == was.response_deadline
    assert was.response_deadline.model_dump(mode="json") != changed["response_deadline"]
    assert blue.document_template == WORDING  # the wording is an area of its own: the rollback keeps it
    assert len(await list_config_versions(scope, "card_wording:blue")) == wording_versions
    newest = await latest_config_version(scope, "card_type:blue")
    assert newest.number == after.number + 1 and newest.content == before.content and "回滚到第" in newest.note
    assert newest.author_name == "测试管理员"

    # and the wording rolls back on its own, leaving the colour as it is
    await do_set_document_wording(scope, "card", "blue", "", actor)
    await do_roll_back_config(scope, "card_wording:blue", wording_versions, actor=actor)
    blue = await scope.repo(CardType).find_one({"key": "blue"})
    assert blue.document_template == WORDING and blue.colour == was.colour
    assert (await latest_config_version(scope, "card_type:blue")).number == newest.number


async def test_the_export_carries_every_definition_without_its_wording(tenants, definitions):
    scope = definitions
    bundle = await export_bundle(scope, await get_tenant(scope.tenant_id))
    areas = bundle["areas"]
    assert {"card_type:blue", "card_type:orange", "action_type:supervision_notice"} <= set(areas)
    blue = await scope.repo(CardType).find_one({"key": "blue"})
    assert areas["card_type:blue"]["colour"] == blue.colour and areas["card_type:blue"]["name"]["zh"] == "提醒函"
    assert all("document_template" not in content for area, content in areas.items() if area.startswith(("card_type:", "action_type:")))
    assert bundle["titles"]["card_type:blue"] == {"zh": "监督卡「提醒函」", "en": "Card type “Reminder letter”"}
    siyang = await tenant_scope(tenants.A)
    rules = (await export_bundle(siyang, await get_tenant(siyang.tenant_id)))["areas"]
    assert rules["escalation_rule:second_yellow_within_2_years"]["outcome"]["card_type"] == "red"


async def test_a_bad_content_is_refused_by_the_check_in_both_languages(tenants, definitions):
    scope = definitions
    blue = (await export_bundle(scope, await get_tenant(scope.tenant_id)))["areas"]["card_type:blue"]
    assert await check_area_content(scope, "card_type:blue", blue) == {}
    bad = await check_area_content(scope, "card_type:blue", blue | {"colour": "blue", "rank": -1,
                                                                    "response_deadline": {"amount": 0, "unit": "fortnights"}})
    assert {"colour", "rank", "response_deadline.amount", "response_deadline.unit"} <= set(bad)
    assert all(m["zh"] and m["en"] for m in bad.values())
    assert set(await check_area_content(scope, "card_type:blue", blue | {"key": "orange"})) == {"key"}  # not this area's content
    rule = {"key": "purple_twice", "reason": {"zh": "再次", "en": "again"},
            "trigger": {"card_type": "purple", "condition": "repeat_within", "period": {"amount": 1, "unit": "years"}, "count": 2},
            "outcome": {"action": "treat_as", "card_type": "orange"}}
    refused = await check_area_content(scope, "escalation_rule:purple_twice", rule)
    assert set(refused) == {"trigger.card_type"} and "purple" in refused["trigger.card_type"]["zh"]
    assert await scope.repo(EscalationRule).find_one({"key": "purple_twice"}) is None  # checking writes nothing
    with pytest.raises(Exception) as refused_apply:
        await config_area("escalation_rule:purple_twice").apply(scope, rule, BUNDLE_ACTOR, "")
    assert getattr(refused_apply.value, "status", None) == 422


async def test_a_county_imports_its_prefectures_card_type(client, tenants, definitions):
    source, county = tenants.B, tenants.CHILD_OF_B
    admin_b, korla = await login_token(client, source, "admin"), await login_token(client, county, "admin")
    offered = await client.post(f"/t/{source}/api/config-exchange/offers", headers=admin_b, json={"to": county})
    assert offered.status_code == 201, await offered.get_data(as_text=True)
    offers = (await (await client.get(f"/t/{county}/api/config-exchange/offers", headers=korla)).get_json())["offers"]
    offer = next(o for o in offers if o["status"] == "open")
    assert "card_type:blue" in offer["areas"]
    imported = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla,
                                 json={"modes": {"card_type:blue": "adopt"}})
    assert imported.status_code == 200, await imported.get_data(as_text=True)
    korla_scope = await tenant_scope(county)
    blue = await korla_scope.repo(CardType).find_one({"key": "blue"})
    theirs = await definitions.repo(CardType).find_one({"key": "blue"})
    assert blue is not None and blue.colour == theirs.colour and blue.name.zh == "提醒函" and blue.tenant_id == korla_scope.tenant_id
    row = await latest_config_version(korla_scope, "card_type:blue")
    assert row.note.startswith("导入自") and row.author_id == await _admin_id(korla_scope)


async def test_one_import_brings_a_new_card_type_its_rule_and_its_wording(client, tenants, definitions):
    """A rule naming a card type, and the wording of that type, arrive in the same import as the type itself:
    each is checked against what the import brings (applied type first), so a county can adopt it all at once."""
    from xinfang.cards.configuration import definition_content

    source, county = tenants.B, tenants.CHILD_OF_B
    admin_b, korla = await login_token(client, source, "admin"), await login_token(client, county, "admin")
    blue = definition_content(await definitions.repo(CardType).find_one({"key": "blue"}))
    new_type = dict(blue, key="probe_card", name={"zh": "试用卡", "en": "Probe card"})
    assert (await client.put(f"/t/{source}/api/card-types/probe_card", headers=admin_b, json=new_type)).status_code in (200, 201)
    rule = {"key": "probe_rule", "trigger": {"card_type": "probe_card", "condition": "not_rectified_after",
                                             "period": {"amount": 3, "unit": "calendar_months"}},
            "outcome": {"action": "propose_card", "card_type": "probe_card"},
            "reason": {"zh": "试用卡超过 3 个月未整改", "en": "probe card not rectified after 3 months"}}
    defined = await client.put(f"/t/{source}/api/escalation-rules/probe_rule", headers=admin_b, json=rule)
    assert defined.status_code in (200, 201), await defined.get_data(as_text=True)
    admin = ConfigActor(await _admin_id(definitions), "admin")
    await do_set_document_wording(definitions, "card", "probe_card", WORDING, admin)

    offered = await client.post(f"/t/{source}/api/config-exchange/offers", headers=admin_b, json={"to": county})
    assert offered.status_code == 201, await offered.get_data(as_text=True)
    offers = (await (await client.get(f"/t/{county}/api/config-exchange/offers", headers=korla)).get_json())["offers"]
    offer = next(o for o in offers if o["status"] == "open")
    modes = {"card_type:probe_card": "adopt", "escalation_rule:probe_rule": "adopt", "card_wording:probe_card": "adopt"}
    imported = await client.post(f"/t/{county}/api/config-exchange/offers/{offer['id']}/import", headers=korla, json={"modes": modes})
    assert imported.status_code == 200, await imported.get_data(as_text=True)
    korla_scope = await tenant_scope(county)
    card = await korla_scope.repo(CardType).find_one({"key": "probe_card"})
    assert card is not None and card.name.zh == "试用卡" and "{{ subject.name }}" in (card.document_template or "")
    assert (await korla_scope.repo(EscalationRule).find_one({"key": "probe_rule"})).trigger.card_type == "probe_card"
