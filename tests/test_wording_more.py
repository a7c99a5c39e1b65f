"""Wording, the rest of it (issue 12): the messages the daily sweeps, the escalation rules and the upper/lower
bodies send are worded by the tenant too; a card on the default wording is edited from a plain starting text;
a wording changed through the API is a version; the supervision settings form never writes the wording back."""

from __future__ import annotations

import html as html_lib
import re
import types
import uuid
from datetime import date, timedelta

import pytest
from bson import ObjectId

from xinfang.cards.admin import definition_from_form, form_values
from xinfang.cards.models import ActionType, CardType, Supervision
from xinfang.cards.sweeper import sweep_tenant
from xinfang.cards.wording import (DEFAULT_TEMPLATE, KNOWN, placeholders_for, render_draft, sample_context, starting_text)
from xinfang.notifications.deadlines import sweep_petition_deadlines
from xinfang.notifications.models import Notification
from xinfang.notifications.wording import AREA, MESSAGES, fill_default, sample_values, tenant_today
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import BUNDLE_ACTOR, ConfigVersion, do_record_config_version, list_config_versions
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import get_tenant
from xinfang.timefmt import local_date
from tests.conftest import login_token
from tests.test_petitions import NAMED, submitted
from tests.test_supervision import issued, someone

WORDING_AREAS = ("card_wording", "action_wording", AREA)


async def _scope(slug: str) -> TenantScope:
    return TenantScope((await Tenant.find_one({"slug": slug})).id)


@pytest.fixture
async def scopes(app, tenants):
    """泗阳, 巴州 and 库尔勒 (巴州's county); afterwards each is on the default wording again, with no wording versions."""
    found = types.SimpleNamespace(A=await _scope(tenants.A), B=await _scope(tenants.B), K=await _scope(tenants.CHILD_OF_B))
    yield found
    for scope in (found.A, found.B, found.K):
        for model in (CardType, ActionType):
            for row in await scope.repo(model).find({}).to_list():
                if row.key == "purple_more":
                    await scope.repo(model).delete(row)
                elif row.document_template is not None:
                    row.document_template = None
                    await scope.repo(model).save(row)
        for row in await scope.repo(ConfigVersion).find({}).to_list():
            if row.area.split(":")[0] in WORDING_AREAS:
                await scope.repo(ConfigVersion).delete(row)


async def _save_message(client, slug, key, zh, en=""):
    admin = await login_token(client, slug, "admin")
    response = await client.post(f"/t/{slug}/admin/wording/notifications/{key}", headers=admin, form={"do": "save", "zh": zh, "en": en})
    assert response.status_code == 302, await response.get_data(as_text=True)


async def _notes(scope, subject_id, kind):
    return await scope.repo(Notification).find({"subject_id": subject_id, "kind": kind}).to_list()


# -- 1. the messages sent outside the event handlers ------------------------------------------------------------


OLD_TEXT = {  # what each call site wrote before it was worded, on the same values
    "answer_reminder": ({"subject_name": "甲", "answer_due": "2027-04-15"},
                        "甲 的说明将于 2027年4月15日 到期", "the answer of 甲 is due on 2027-04-15"),
    "answer_overdue": ({"subject_name": "甲", "answer_due": "2027-04-15"},
                       "甲 逾期未按要求作出说明（期限 2027年4月15日）", "甲 missed the answer deadline of 2027-04-15"),
    "follow_up": ({"subject_name": "甲", "visit_on": "2027-06-01"}, "应对 甲 进行回访（2027年6月1日）", "follow-up visit to 甲 due (2027-06-01)"),
    "treated_as": ({"subject_name": "甲", "reason": {"zh": "两年内第二次", "en": "second within 2 years"}},
                   "甲：两年内第二次", "甲: second within 2 years"),
    "copied": ({"subject_name": "甲", "type_name": {"zh": "督办函", "en": "Supervision letter"}},
               "抄送：对 甲 发出的督办函", "Copy: Supervision letter issued to 甲"),
    "copied_from": ({"subject_name": "甲", "type_name": {"zh": "督办函", "en": "Supervision letter"}, "issued_on": "2027-08-02",
                     "sender_name": {"zh": "巴州纪委", "en": "Bazhou"}},
                    "巴州纪委抄送：已对 甲 发出督办函（2027年8月2日）", "Copy from Bazhou: Supervision letter issued to 甲 on 2027-08-02"),
    "copy_due": ({"subject_name": "甲", "copy_to": {"zh": "组织人事部门", "en": "HR"}}, "请将对 甲 的文书抄送组织人事部门", "Send the document about 甲 to HR"),
    "case_reminder": ({"case_number": "X-1", "title": "某事", "due_on": "2027-03-05"},
                      "信访件 X-1 将于 2027年3月5日 到期：某事", "Petition X-1 is due on 2027-03-05: 某事"),
    "case_overdue": ({"case_number": "X-1", "title": "某事", "due_on": "2027-03-05"},
                     "信访件 X-1 已超过办理期限（2027年3月5日）：某事", "Petition X-1 is past its time limit (2027-03-05): 某事"),
    "result_reported": ({"case_number": "X-1"}, "下级报送了交办件 X-1 的办理结果，请审核",
                        "The lower body reported the result of assigned case X-1; please decide"),
    "result_accepted": ({"case_number": "X-1"}, "上级采纳了交办件 X-1 的办理结果", "The upper body accepted the result reported on case X-1"),
    "result_returned": ({"case_number": "X-1"}, "上级退回了交办件 X-1 的办理结果，请重新报送",
                        "The upper body returned the result reported on case X-1; report again"),
    "upper_reminder": ({"case_number": "X-1"}, "上级督办交办件 X-1", "The upper body sent a reminder on assigned case X-1"),
}


@pytest.mark.parametrize("key", sorted(OLD_TEXT))
def test_each_default_is_the_text_the_call_site_sent_before(key):
    values, zh, en = OLD_TEXT[key]
    message = MESSAGES[key]
    assert fill_default(message.default["zh"], values, "zh") == zh and fill_default(message.default["en"], values, "en") == en
    assert message.title["zh"] and message.title["en"] and message.audience["zh"] and message.audience["en"]


def test_a_proposal_names_the_card_in_words_not_its_code():
    # Before: "建议对 甲 发red卡：…" (the type's key). Now the type's name.
    values = {"subject_name": "甲", "type_name": {"zh": "警诫卡", "en": "Admonition card"}, "reason": {"zh": "理由", "en": "why"}}
    assert fill_default(MESSAGES["proposal"].default["zh"], values, "zh") == "建议对 甲 发警诫卡：理由"
    assert fill_default(MESSAGES["proposal"].default["en"], values, "en") == "proposed Admonition card for 甲: why"


async def test_the_wording_index_lists_the_new_messages_by_their_words(client, tenants, scopes):
    from tests.test_page_crawl import problems_in, read_page

    admin = await login_token(client, tenants.B, "admin")
    page = await (await client.get(f"/t/{tenants.B}/admin/wording?lang=zh", headers=admin)).get_data(as_text=True)
    for key in OLD_TEXT:
        assert f'href="/t/{tenants.B}/admin/wording/notifications/{key}"' in page and MESSAGES[key].title["zh"] in page, key
    for key in ("answer_overdue", "copied_from", "case_reminder", "upper_reminder"):
        for lang in ("zh", "en"):
            response = await client.get(f"/t/{tenants.B}/admin/wording/notifications/{key}?lang={lang}", headers=admin)
            text, _ = read_page(await response.get_data(as_text=True))
            assert response.status_code == 200 and problems_in(text, lang) == [], (key, lang, problems_in(text, lang))
    # Every placeholder of every message has sample values for the preview and its meaning in both languages.
    tenant = await get_tenant(scopes.B.tenant_id)
    samples = sample_values(tenant, tenant_today(tenant))
    for message in MESSAGES.values():
        assert set(message.placeholders) <= set(samples), message.key


async def test_a_tenants_reminder_and_overdue_wording_reaches_the_next_sweep(client, tenants, scopes):
    await _save_message(client, tenants.B, "answer_reminder", "请督促{{ subject_name }}：{{ type_name }}的说明{{ answer_due }}到期", "Chase {{ subject_name }}")
    await _save_message(client, tenants.B, "answer_overdue", "{{ subject_name }}的{{ type_name }}已逾期（{{ answer_due }}）")
    blue = await issued(scopes.B, "card", "blue", someone(), "2027-04-01")  # 巴州's 提醒函, due 2027-04-15, warned 5 working days ahead
    await sweep_tenant(scopes.B, date(2027, 4, 8))
    [reminder] = await _notes(scopes.B, str(blue.id), "reminder")
    assert reminder.text.zh == f"请督促{blue.subject.name}：提醒函的说明2027年4月15日到期" and reminder.text.en == f"Chase {blue.subject.name}"
    await sweep_tenant(scopes.B, date(2027, 4, 16))
    [overdue] = await _notes(scopes.B, str(blue.id), "overdue")
    assert overdue.text.zh == f"{blue.subject.name}的提醒函已逾期（2027年4月15日）"
    assert overdue.text.en == f"{blue.subject.name} missed the answer deadline of 2027-04-15"  # English left on the default


async def test_a_broken_stored_wording_falls_back_to_the_default_in_the_sweep(scopes, caplog):
    # Stored past the checks (say by an older platform): the sweep still notifies, in the default words.
    await do_record_config_version(scopes.B, AREA, {"answer_overdue": {"zh": "{% if %}", "en": "{{ 1 // 0 }}"},
                                                    "follow_up": {"zh": "{{ subject_name", "en": ""}}, actor=BUNDLE_ACTOR)
    blue = await issued(scopes.B, "card", "blue", someone(), "2027-04-01")
    await sweep_tenant(scopes.B, date(2027, 4, 16))
    [overdue] = await _notes(scopes.B, str(blue.id), "overdue")
    assert overdue.text.zh == f"{blue.subject.name} 逾期未按要求作出说明（期限 2027年4月15日）"
    assert overdue.text.en == f"{blue.subject.name} missed the answer deadline of 2027-04-15"
    assert "the default wording goes out" in caplog.text


async def test_a_follow_up_and_a_proposal_are_worded_by_the_tenant(client, tenants, scopes):
    await _save_message(client, tenants.A, "proposal", "{{ subject_name }}：建议发{{ type_name }}（{{ reason }}）")
    await _save_message(client, tenants.A, "follow_up", "{{ visit_on }}回访{{ subject_name }}（{{ type_name }}）")
    yellow = await issued(scopes.A, "card", "yellow", someone(), "2027-07-15")  # 泗阳's 预警卡: a visit 3 months on, a rule after 3
    await sweep_tenant(scopes.A, date(2027, 10, 16))
    [visit] = await _notes(scopes.A, str(yellow.id), "follow_up")
    assert visit.text.zh == f"{local_date(yellow.follow_ups[0].due_on)}回访{yellow.subject.name}（预警卡）"
    proposal = await scopes.A.repo(Supervision).find_one({"subject_key": yellow.subject_key, "state": "proposed"})
    [told] = await _notes(scopes.A, str(proposal.id), "proposal")
    assert told.text.zh.startswith(f"{yellow.subject.name}：建议发警诫卡（预警卡发出超过 3 个月")
    assert told.text.en.startswith(f"proposed Admonition card for {yellow.subject.name}: ")  # the default: the card's name, not "red"


async def test_a_copy_to_another_body_is_in_the_receiving_bodys_wording(client, tenants, scopes):
    await _save_message(client, tenants.CHILD_OF_B, "copied_from", "{{ sender_name }}发来抄送：{{ type_name }}，对象{{ subject_name }}")
    await _save_message(client, tenants.B, "copied", "领导请阅：{{ type_name }}（{{ subject_name }}，{{ issued_on }}）")
    orange = await issued(scopes.B, "card", "orange", someone(), "2027-08-02")  # copied to 巴州's leaders and to 库尔勒
    [leaders] = await _notes(scopes.B, str(orange.id), "copied")
    assert leaders.text.zh == f"领导请阅：督办函（{orange.subject.name}，2027年8月2日）"
    [at_korla] = [n for n in await scopes.K.repo(Notification).find({"kind": "copied"}).to_list() if orange.subject.name in n.text.zh]
    assert re.fullmatch(rf"巴音郭楞.*发来抄送：督办函，对象{orange.subject.name}", at_korla.text.zh), at_korla.text.zh


async def test_a_petition_deadline_message_is_worded_by_the_tenant(client, tenants, scopes):
    await _save_message(client, tenants.A, "case_reminder", "【临期】{{ case_number }}（{{ title }}）须于{{ deadline }}前办结",
                        "Due {{ due_on }}: {{ case_number }}")
    result = await submitted(client, tenants.A, dict(NAMED, title=f"期限措辞{uuid.uuid4().hex[:6]}"), address="10.11.0.7")
    petition = await scopes.A.repo(Petition).find_one({"number": result["number"]})
    due = date.fromisoformat(petition.due_on)
    await sweep_petition_deadlines(scopes.A, due - timedelta(days=1))
    [reminder] = await scopes.A.repo(Notification).find({"subject_id": str(petition.id)}).to_list()
    assert reminder.text.zh == f"【临期】{petition.number}（{petition.title}）须于{due.year}年{due.month}月{due.day}日前办结"
    assert reminder.text.en == f"Due {petition.due_on}: {petition.number}"
    await sweep_petition_deadlines(scopes.A, due - timedelta(days=1))  # told already: not sent again
    await sweep_petition_deadlines(scopes.A, due + timedelta(days=1))
    [overdue] = await scopes.A.repo(Notification).find({"subject_id": str(petition.id), "kind": "overdue"}).to_list()
    assert overdue.text.zh == f"信访件 {petition.number} 已超过办理期限（{local_date(petition.due_on)}）：{petition.title}"  # the default


async def test_an_upper_level_message_is_in_the_receiving_bodys_wording(client, tenants, scopes):
    from xinfang.petitions.upper_level import notify_for

    await _save_message(client, tenants.CHILD_OF_B, "upper_reminder", "州纪委督办：{{ case_number }}，请尽快报送结果")
    subject_id = str(ObjectId())  # any case: the notification only links to it
    event = types.SimpleNamespace(name="petition.reminded", id=f"ev-{uuid.uuid4().hex}", subject_id=subject_id,
                                  data={"notify_tenant": scopes.K.tenant_id, "number": "KORLA-2027-000042"})
    await notify_for(event)
    [told] = await scopes.K.repo(Notification).find({"subject_id": subject_id}).to_list()
    assert told.kind == "upper_reminder" and told.text.zh == "州纪委督办：KORLA-2027-000042，请尽快报送结果"
    assert told.text.en == "The upper body sent a reminder on assigned case KORLA-2027-000042"
    event = types.SimpleNamespace(name="petition.result_reported", id=f"ev-{uuid.uuid4().hex}", subject_id=subject_id,
                                  data={"notify_tenant": scopes.B.tenant_id, "number": "KORLA-2027-000042"})
    await notify_for(event)  # 巴州 changed nothing: the default words
    [reported] = await scopes.B.repo(Notification).find({"subject_id": subject_id}).to_list()
    assert reported.text.zh == "下级报送了交办件 KORLA-2027-000042 的办理结果，请审核"
    # They link to a case that does not exist: left in the session's tenants, the page crawl would follow them to a 404.
    await scopes.K.repo(Notification).delete(told)
    await scopes.B.repo(Notification).delete(reported)


# -- 2. the plain starting text ----------------------------------------------------------------------------------


def _text(markup) -> str:
    """A document's text as a reader sees it: the tags gone, runs of white space one space."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", str(markup))).split())


def _variants(context: dict) -> list[dict]:
    """The sample, and what differs from one document to the next: a unit as subject, no unit or position,
    no deadline, no number, no copies, several copies."""
    return [
        context,
        context | {"subject": {"kind": "unit", "name": "某镇中心小学", "position": None, "unit": None}},
        context | {"subject": {"kind": "person", "name": "李四", "position": None, "unit": "某中学"}},
        context | {"response_due": None, "response_due_day": "", "document_no": ""},
        context | {"copies": []},
        context | {"copies": ["组织人事部门", "县教育局"], "issued_on": "2027-12-31", "issued_on_chinese": "二〇二七年十二月三十一日"},
    ]


async def test_the_starting_text_renders_the_same_document_text_as_the_default(scopes):
    checked = 0
    for scope in (scopes.A, scopes.B):
        tenant = await get_tenant(scope.tenant_id)
        for kind, model in (("card", CardType), ("action", ActionType)):
            for row in await scope.repo(model).find({}).to_list():
                plain = starting_text(kind, row)
                for context in _variants(await sample_context(scope, tenant, kind, row)):
                    assert _text(await render_draft(plain, context)) == _text(await render_draft(DEFAULT_TEMPLATE, context)), (row.key, context)
                    checked += 1
    assert checked > 40


async def test_the_starting_text_uses_only_the_listed_placeholders(scopes):
    for kind, model in (("card", CardType), ("action", ActionType)):
        for row in await scopes.A.repo(model).find({}).to_list():
            plain = starting_text(kind, row)
            assert "{#" not in plain and "macro" not in plain and "set " not in plain and "{%-" not in plain
            inserts = " ".join(p.insert for p in placeholders_for(kind))
            for tag in re.findall(r"{[{%].*?[}%]}", plain):
                assert tag in inserts, (row.key, tag)
            names = set(re.findall(r"{{\s*([a-z_]+)", plain))
            assert names <= KNOWN


async def test_the_editor_starts_from_the_plain_text_and_saving_it_unchanged_keeps_the_default(client, tenants, scopes):
    admin = await login_token(client, tenants.B, "admin")
    page = await (await client.get(f"/t/{tenants.B}/admin/wording/cards/blue?lang=zh", headers=admin)).get_data(as_text=True)
    textarea = html_lib.unescape(page[page.index('id="template"'):].split(">", 1)[1].split("</textarea>")[0])
    blue = await scopes.B.repo(CardType).find_one({"key": "blue"})
    assert textarea.strip() == starting_text("card", blue).strip()
    assert "macro" not in textarea and "{#" not in textarea and "{{ issued_on_chinese }}" in textarea
    assert "{{ issued_on_chinese }}" in page[page.index('class="placeholders"'):]  # listed, with its meaning
    # Saved as offered (the browser sends CRLF): still the default, nothing of the tenant's own.
    response = await client.post(f"/t/{tenants.B}/admin/wording/cards/blue", headers=admin,
                                 form={"do": "save", "template": textarea.replace("\n", "\r\n")})
    assert response.status_code == 302
    assert (await scopes.B.repo(CardType).find_one({"key": "blue"})).document_template is None
    # Changed a little: the next card says so, the rest of it as the default prints it.
    changed = textarea.replace("前书面说明有关情况。", "前书面说明有关情况，逾期不说明的视为无异议。")
    response = await client.post(f"/t/{tenants.B}/admin/wording/cards/blue", headers=admin, form={"do": "save", "template": changed})
    assert response.status_code == 302
    card = await issued(scopes.B, "card", "blue", someone(), "2027-04-01")
    printed = "".join(_text(card.document_html).split())
    assert "请于2027年4月15日前书面说明有关情况，逾期不说明的视为无异议。" in printed
    assert "二〇二七年四月一日" in printed and "red-head" in card.document_html


# -- 3. a wording changed through the API is a version ------------------------------------------------------------


async def test_a_wording_put_through_the_api_records_a_version_by_its_caller(client, tenants, scopes):
    admin = await login_token(client, tenants.B, "admin")
    url = f"/t/{tenants.B}/api/card-types/blue"
    listed = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin)).get_json()
    body = next(c for c in listed["card_types"] if c["key"] == "blue")
    from_bundle = body["source"] == "bundle"  # unless an earlier test saved it as an admin
    own = "<p>{{ subject.name }}：请说明。</p>"
    assert (await client.put(url, headers=admin, json=dict(body, document_template=own))).status_code == 200
    versions = await list_config_versions(scopes.B, "card_wording:blue")
    assert [(v.number, v.content) for v in versions] == [(2, {"key": "blue", "document_template": own}),
                                                          (1, {"key": "blue", "document_template": ""})]
    admin_account = versions[0].author_id
    assert admin_account and versions[0].author_name and versions[1].note.startswith("修改前的文字")
    assert versions[1].author_id == (None if from_bundle else admin_account)  # the wording before: by the bundle, if it came from one

    assert (await client.put(url, headers=admin, json=dict(body, document_template=own))).status_code == 200
    assert len(await list_config_versions(scopes.B, "card_wording:blue")) == 2  # the same wording again: no new version
    assert (await client.put(url, headers=admin, json=dict(body, document_template=None))).status_code == 200
    newest = (await list_config_versions(scopes.B, "card_wording:blue"))[0]
    assert newest.number == 3 and newest.content["document_template"] == "" and newest.author_id == admin_account

    action = f"/t/{tenants.B}/api/action-types/briefing_meeting"
    actions = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin)).get_json()
    action_body = next(a for a in actions["action_types"] if a["key"] == "briefing_meeting")
    assert (await client.put(action, headers=admin, json=action_body)).status_code == 200  # the same wording (none): no version
    assert await list_config_versions(scopes.B, "action_wording:briefing_meeting") == []
    response = await client.put(action, headers=admin, json=dict(action_body, document_template="<p>通报：{{ subject.name }}</p>"))
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert [v.content["document_template"] for v in await list_config_versions(scopes.B, "action_wording:briefing_meeting")] == \
        ["<p>通报：{{ subject.name }}</p>", ""]
    # A new type with its own wording: one version, by the caller (there was nothing before it).
    new = dict(body, name={"zh": "新卡", "en": "New card"}, document_template=own)
    assert (await client.put(f"/t/{tenants.B}/api/card-types/purple_more", headers=admin, json=new)).status_code == 200
    [first] = await list_config_versions(scopes.B, "card_wording:purple_more")
    assert first.content == {"key": "purple_more", "document_template": own} and first.author_id == admin_account


# -- 4. the settings form leaves the wording alone -----------------------------------------------------------------


async def test_saving_the_settings_form_keeps_a_wording_changed_in_another_tab(client, tenants, scopes):
    admin = await login_token(client, tenants.B, "admin")
    page = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:blue", headers=admin)).get_data(as_text=True)
    assert 'name="document_template"' not in page and "/admin/wording/cards/blue" in page
    form = {k: v for k, v in form_values("card", (await scopes.B.repo(CardType).find_one({"key": "blue"})).model_dump(mode="json")).items() if v}
    assert "document_template" not in definition_from_form("card", form | {"document_template": "<p>旧</p>"})

    # Another tab: the wording editor saves the admin's own wording after the settings form was opened.
    own = "<p class=\"own\">{{ subject.name }}</p>"
    assert (await client.post(f"/t/{tenants.B}/admin/wording/cards/blue", headers=admin, form={"do": "save", "template": own})).status_code == 302
    # The settings form is saved (a changed name); an old page may still post the wording it held: it is ignored.
    response = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin,
                                 form=form | {"name_zh": "提醒函（新）", "document_template": ""})
    assert response.status_code == 302, await response.get_data(as_text=True)
    blue = await scopes.B.repo(CardType).find_one({"key": "blue"})
    assert blue.name.zh == "提醒函（新）" and blue.document_template == own
    assert [v.content["document_template"] for v in await list_config_versions(scopes.B, "card_wording:blue")][0] == own
    blue.name.zh = "提醒函"
    await scopes.B.repo(CardType).save(blue)

    action_form = {k: v for k, v in form_values("action", (await scopes.B.repo(ActionType).find_one({"key": "briefing_meeting"}))
                                                .model_dump(mode="json")).items() if v}
    own_action = "<p>通报：{{ subject.name }}</p>"
    await client.post(f"/t/{tenants.B}/admin/wording/actions/briefing_meeting", headers=admin, form={"do": "save", "template": own_action})
    response = await client.post(f"/t/{tenants.B}/admin/supervision/action", headers=admin, form=action_form)
    assert response.status_code == 302, await response.get_data(as_text=True)
    assert (await scopes.B.repo(ActionType).find_one({"key": "briefing_meeting"})).document_template == own_action


def test_every_message_used_by_a_call_site_exists():
    from xinfang.notifications.deadlines import MESSAGE_OF
    from xinfang.petitions.upper_level import EVENTS

    used = set(MESSAGE_OF.values()) | {message for _, message in EVENTS.values()}
    used |= {"answer_reminder", "answer_overdue", "follow_up", "proposal", "treated_as", "copied", "copied_from", "copy_due"}
    assert used <= set(MESSAGES)
    for path in ("cards/sweeper.py", "cards/rules.py"):
        from importlib import resources
        source = resources.files("xinfang").joinpath(path).read_text(encoding="utf-8")
        assert set(re.findall(r'worded\([^,]+, "([a-z_]+)"', source)) <= set(MESSAGES), path
