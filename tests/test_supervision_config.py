"""Tenant admins define cards, action types and escalation rules without code: API, admin page, bundle reloads."""

from __future__ import annotations

import pytest

from xinfang.cards.models import CardType, EscalationRule
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.bundles import BundleLoader, discover
from xinfang.tenancy.models import Tenant
from tests.conftest import PASSWORD, REPO_ROOT, login_token

@pytest.fixture(autouse=True)
async def bazhou_as_its_bundle_says(app, tenants):
    """Each test here changes 巴州's definitions as an admin would; afterwards 巴州 is as its bundle says again."""
    yield
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    for model in (CardType, EscalationRule):
        for row in await scope.repo(model).find({"source": "admin"}).to_list():
            row.source = "bundle"  # a bundle key is loaded again below; a key of our own goes away
            await scope.repo(model).save(row)
    for key in ("purple",):
        if (row := await scope.repo(CardType).find_one({"key": key})) is not None:
            await scope.repo(CardType).delete(row)
    if (row := await scope.repo(EscalationRule).find_one({"key": "blue_twice_in_a_year"})) is not None:
        await scope.repo(EscalationRule).delete(row)
    platform_bundle, bundles = discover(REPO_ROOT / "tenants")
    await BundleLoader(PASSWORD).load(platform_bundle, bundles)


PURPLE = {
    "name": {"zh": "约谈卡", "en": "Interview card"}, "colour": "#7b2cbf", "colour_name": {"zh": "紫色", "en": "purple"},
    "when": {"zh": "需当面说明的", "en": "When the subject must explain in person"},
    "consequence": {"zh": "5 个工作日内到纪委说明", "en": "Explain in person within 5 working days"},
    "rank": 3, "response_deadline": {"amount": 5, "unit": "working_days"}, "needs_approval": True,
}


async def test_an_admin_defines_a_card_type_for_her_tenant_only(client, tenants):
    admin_b, handler_b = await login_token(client, tenants.B, "admin"), await login_token(client, tenants.B, "handler")
    admin_a = await login_token(client, tenants.A, "admin")
    assert (await client.put(f"/t/{tenants.B}/api/card-types/purple", headers=handler_b, json=PURPLE)).status_code == 403
    saved = await client.put(f"/t/{tenants.B}/api/card-types/purple", headers=admin_b, json=PURPLE)
    assert saved.status_code == 200, await saved.get_data(as_text=True)
    assert (await saved.get_json())["source"] == "admin"
    listed_b = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin_b)).get_json()
    listed_a = await (await client.get(f"/t/{tenants.A}/api/card-types", headers=admin_a)).get_json()
    assert "purple" in [c["key"] for c in listed_b["card_types"]] and "purple" not in [c["key"] for c in listed_a["card_types"]]
    created = await client.post(f"/t/{tenants.B}/api/supervisions", headers=handler_b,
                                json={"kind": "card", "type_key": "purple", "subject": {"kind": "person", "name": "约谈对象"}})
    assert created.status_code == 201  # usable at once
    assert (await client.post(f"/t/{tenants.A}/api/supervisions", headers=await login_token(client, tenants.A, "handler"),
                              json={"kind": "card", "type_key": "purple", "subject": {"kind": "person", "name": "约谈对象"}})).status_code == 422


async def test_every_bad_field_gets_its_own_message_in_both_languages(client, tenants):
    admin = await login_token(client, tenants.B, "admin")
    bad = dict(PURPLE, colour="purple", rank=-1, response_deadline={"amount": 0, "unit": "fortnights"}, document_template="{% if %}")
    answer = await client.put(f"/t/{tenants.B}/api/card-types/Bad-Key", headers=admin, json=bad)
    assert answer.status_code == 422
    fields = (await answer.get_json())["error"]["fields"]
    assert {"key", "colour", "rank", "response_deadline.amount", "response_deadline.unit"} <= set(fields)
    assert all(m["zh"] and m["en"] for m in fields.values())
    template = await client.put(f"/t/{tenants.B}/api/card-types/purple", headers=admin, json=dict(PURPLE, document_template="{% if %}"))
    assert "document_template" in (await template.get_json())["error"]["fields"]
    unknown_card = await client.put(f"/t/{tenants.B}/api/escalation-rules/orange_again", headers=admin, json={
        "trigger": {"card_type": "yellow", "condition": "repeat_within", "period": {"amount": 1, "unit": "years"}, "count": 2},
        "outcome": {"action": "treat_as", "card_type": "orange"}, "reason": {"zh": "一年内再次", "en": "again within a year"}})
    assert unknown_card.status_code == 422 and "trigger.card_type" in (await unknown_card.get_json())["error"]["fields"]  # 巴州 has no yellow
    not_an_object = await client.put(f"/t/{tenants.B}/api/card-types/purple", headers=admin, json=[1, 2])
    assert not_an_object.status_code == 422


async def test_the_admin_page_saves_a_rule_and_a_bundle_reload_keeps_the_admins_edit(client, tenants):
    admin = await login_token(client, tenants.B, "admin")
    page = await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:orange", headers=admin)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="#fb8500"' in html and "督办函" in html
    assert "名称（中文）" in html and "名称（英文）" in html and "(English)" not in html  # each language's boxes named in the page's
    english = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:orange&lang=en", headers=admin)).get_data(as_text=True)
    assert "Name (Chinese)" in english and "（中文）" not in english
    await client.get(f"/t/{tenants.B}/admin/supervision?lang=zh", headers=admin)  # the language chosen sticks: back to Chinese
    plain = await (await client.get(f"/t/{tenants.B}/admin/supervision", headers=admin)).get_data(as_text=True)
    assert "点任一项的「修改」" in plain and "左侧" not in plain  # on a phone the list is above, not on the left
    form = {"key": "blue_twice_in_a_year", "trigger_card_type": "blue", "condition": "repeat_within", "period_amount": "1",
            "period_unit": "years", "count": "2", "action": "treat_as", "outcome_card_type": "orange",
            "reason_zh": "一年内第二次提醒函，按督办函处理", "reason_en": "Treated as a supervision letter: second reminder within a year"}
    saved = await client.post(f"/t/{tenants.B}/admin/supervision/rule", headers=admin, form=form)
    assert saved.status_code == 302, await saved.get_data(as_text=True)
    rules = await (await client.get(f"/t/{tenants.B}/api/escalation-rules", headers=admin)).get_json()
    rule = next(r for r in rules["escalation_rules"] if r["key"] == "blue_twice_in_a_year")
    assert rule["trigger"]["period"] == {"amount": 1, "unit": "years"} and rule["outcome"]["card_type"] == "orange"
    missing = await client.post(f"/t/{tenants.B}/admin/supervision/rule", headers=admin, form=dict(form, reason_zh="", period_amount="x"))
    text = await missing.get_data(as_text=True)
    assert missing.status_code == 422 and "理由" in text and 'value="blue_twice_in_a_year"' in text  # what was typed stays

    bazhou = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    orange = await bazhou.repo(CardType).find_one({"key": "orange"})
    edited = {"key": "orange", "name_zh": "督办函", "name_en": "Supervision letter", "colour": "#fb8500", "colour_name_zh": "橙色",
              "colour_name_en": "orange", "when_zh": orange.when.zh, "when_en": orange.when.en, "consequence_zh": "限期 1 个月整改（已调整）",
              "consequence_en": orange.consequence.en, "rank": "1", "deadline_amount": "1", "deadline_unit": "calendar_months",
              "visit_0_amount": "2", "visit_0_unit": "calendar_months", "needs_approval": "1"}
    for i, copy in enumerate(orange.copy_to):
        edited |= {f"copy_kind_{i}": copy.kind, f"copy_ref_{i}": copy.ref, f"copy_name_{i}_zh": copy.name.zh, f"copy_name_{i}_en": copy.name.en}
    assert (await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=edited)).status_code == 302
    platform_bundle, bundles = discover(REPO_ROOT / "tenants")
    report = await BundleLoader(PASSWORD).load(platform_bundle, bundles)
    assert report.counts["card_types.kept_admin_edit"] >= 1
    after = await bazhou.repo(CardType).find_one({"key": "orange"})
    assert after.consequence.zh == "限期 1 个月整改（已调整）" and after.copy_to == orange.copy_to and after.follow_up_visits == orange.follow_up_visits


async def test_a_new_card_needs_no_key_typed_and_an_edit_cannot_change_or_take_one(client, tenants):
    """As form designers name a field from its label: a new definition left without a key gets one from its English
    name (a second the same name: _2); the new form refuses a key already in use; the edit form keeps its key."""
    from xinfang.cards.admin import unused_key

    admin = await login_token(client, tenants.B, "admin")
    new_page = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:", headers=admin)).get_data(as_text=True)
    assert "代码（可不填，系统按英文名称生成）" in new_page and 'name="new" value="1"' in new_page
    form = {"new": "1", "key": "", "name_zh": "约谈卡", "name_en": "Interview card!", "colour": "#7b2cbf", "colour_name_zh": "紫色",
            "colour_name_en": "purple", "when_zh": "需当面说明的", "when_en": "in person", "consequence_zh": "当面说明",
            "consequence_en": "explain in person", "rank": "3", "deadline_amount": "5", "deadline_unit": "working_days"}
    first = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("saved=card:interview_card"), await first.get_data(as_text=True)
    second = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=dict(form, name_zh="约谈卡（二）"))
    assert second.headers["Location"].endswith("saved=card:interview_card_2")
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    assert (await scope.repo(CardType).find_one({"key": "interview_card"})).name.zh == "约谈卡"  # the second did not replace it

    taken = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=dict(form, key="orange"))
    text = await taken.get_data(as_text=True)
    assert taken.status_code == 422 and "这个代码已有定义在用" in text
    assert (await scope.repo(CardType).find_one({"key": "orange"})).name.zh != "约谈卡"  # the orange card untouched

    edit_page = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:interview_card", headers=admin)).get_data(as_text=True)
    assert 'name="existing_key" value="interview_card"' in edit_page and 'name="new"' not in edit_page
    assert "保存后不可修改" in edit_page and '<input name="key"' not in edit_page  # shown, not a box to type in
    renamed = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin,
                                form=dict(form, new="", existing_key="interview_card", key="something_else", rank="4"))
    assert renamed.headers["Location"].endswith("saved=card:interview_card")
    assert await scope.repo(CardType).find_one({"key": "something_else"}) is None
    assert (await scope.repo(CardType).find_one({"key": "interview_card"})).rank == 4

    # No English name to make it from (only signs, or digits first): the kind and the next free number.
    assert await unused_key(scope, "card", {"name_en": "（）"}) == "card_1"
    assert await unused_key(scope, "rule", {"reason_en": "2 reminders in a year"}) == "rule_1"
    assert await unused_key(scope, "rule", {"reason_en": "Second reminder, a year"}) == "second_reminder_a_year"
    for key in ("interview_card", "interview_card_2"):
        await scope.repo(CardType).delete(await scope.repo(CardType).find_one({"key": key}))


async def test_a_copy_to_a_role_or_a_body_is_picked_and_named_by_itself(client, tenants):
    """The copy box offers this body's roles and the bodies above and directly below it; picked without a name, the
    copy is named as the role or the body is (a department keeps the name the admin gives)."""
    admin = await login_token(client, tenants.B, "admin")
    page = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:", headers=admin)).get_data(as_text=True)
    choices = page.split('<datalist id="copy-choices">', 1)[1].split("</datalist>", 1)[0]
    assert '<option value="leader">领导（本单位角色）</option>' in choices
    assert f'<option value="{tenants.CHILD_OF_B}">' in choices and "（下级单位）" in choices and tenants.A not in choices
    form = {"new": "1", "name_zh": "抄送卡", "name_en": "Copy probe card", "colour": "#7b2cbf", "colour_name_zh": "紫色",
            "colour_name_en": "purple", "when_zh": "试", "when_en": "probe", "consequence_zh": "试", "consequence_en": "probe",
            "rank": "3", "copy_kind_0": "role", "copy_ref_0": "leader", "copy_kind_1": "tenant", "copy_ref_1": tenants.CHILD_OF_B,
            "copy_kind_2": "department", "copy_ref_2": "org-personnel", "copy_name_2_zh": "组织人事部", "copy_name_2_en": "Personnel"}
    saved = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form=form)
    assert saved.status_code == 302, await saved.get_data(as_text=True)
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    card = await scope.repo(CardType).find_one({"key": "copy_probe_card"})
    korla = await Tenant.find_one({"slug": tenants.CHILD_OF_B})
    assert [(c.kind, c.ref, c.name.zh) for c in card.copy_to] == [("role", "leader", "领导"), ("tenant", tenants.CHILD_OF_B, korla.name.zh),
                                                                  ("department", "org-personnel", "组织人事部")]
    nameless = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin,
                                 form={k: v for k, v in form.items() if k not in ("copy_name_2_zh", "copy_name_2_en")})
    assert nameless.status_code == 422  # a department has no name of its own to take
    await scope.repo(CardType).delete(card)
