"""Document and notification wording edited by a tenant admin (issue 12): placeholders listed, previews on
sample data, mistakes as zh/en messages at the field (422, never 500), values escaped, every change a version
that rolls back, and the next card issued or notification sent uses the new wording."""

from __future__ import annotations

import re
import uuid

import pytest
from markupsafe import escape

from xinfang.cards import service as cards
from xinfang.cards.models import ActionType, CardType, Subject
from xinfang.cards.wording import DEFAULT_TEMPLATE
from xinfang.notifications.models import Notification
from xinfang.notifications.wording import AREA, MESSAGES, fill_default, worded
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import (BUNDLE_ACTOR, ConfigActor, ConfigVersion, do_record_config_version,
                                             do_roll_back_config, list_config_versions)
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually, login_token
from tests.test_supervision import staff

# Merged into tests/test_isolation.py's CASES (as Case(**fields)). 巴州 has the card type "blue", 泗阳 does not:
# on their own tenant the card pages answer 200 for one and 404 for the other; both have "supervision_notice".
PREVIEW = {"do": "preview", "template": "<p>{{ subject.name }}</p>"}
ISOLATION_CASES = {
    "wording_admin.wording_index": dict(method="GET", path="/admin/wording", kind="collection"),
    "wording_admin.card_wording_page": dict(method="GET", path="/admin/wording/cards/blue", kind="collection", expect=(200, 404)),
    "wording_admin.card_wording_submit": dict(method="POST", path="/admin/wording/cards/blue", kind="collection", form=True,
                                              body=PREVIEW, expect=(200, 404)),
    "wording_admin.action_wording_page": dict(method="GET", path="/admin/wording/actions/supervision_notice", kind="collection"),
    "wording_admin.action_wording_submit": dict(method="POST", path="/admin/wording/actions/supervision_notice", kind="collection",
                                                form=True, body=PREVIEW),
    "wording_admin.notification_wording_page": dict(method="GET", path="/admin/wording/notifications/approval", kind="collection"),
    "wording_admin.notification_wording_submit": dict(method="POST", path="/admin/wording/notifications/approval", kind="collection",
                                                      form=True, body={"do": "preview", "zh": "请审批{{ type_name }}", "en": ""}),
}

CARD_PAGE = "/admin/wording/cards/blue"
OWN = "<p class=\"own\">{{ tenant_name }}：{{ subject.name }}{% if subject.kind == 'person' %}同志{% endif %}，请于{{ response_due }}前说明。文号{{ document_no }}</p>"


@pytest.fixture
async def bazhou(app, tenants):
    scope = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    yield scope
    # 巴州 as its bundle says again: default wording everywhere, no wording versions.
    for model in (CardType, ActionType):
        for row in await scope.repo(model).find({}).to_list():
            if row.document_template is not None:
                row.document_template = None
                await scope.repo(model).save(row)
    for row in await scope.repo(ConfigVersion).find({}).to_list():
        if row.area.split(":")[0] in ("card_wording", "action_wording", AREA):
            await scope.repo(ConfigVersion).delete(row)


async def _page(client, slug, path, headers, lang="zh"):
    response = await client.get(f"/t/{slug}{path}{'&' if '?' in path else '?'}lang={lang}", headers=headers)
    return response.status_code, await response.get_data(as_text=True)


async def _post(client, slug, path, headers, form, lang="zh"):
    response = await client.post(f"/t/{slug}{path}?lang={lang}", headers=headers, form=form)
    return response.status_code, await response.get_data(as_text=True)


async def test_every_card_action_and_notification_is_listed_by_its_words(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    status, html = await _page(client, tenants.B, "/admin/wording", admin)
    assert status == 200
    for words in ("提醒函", "督办函", "信访监督通知书", "待审批（监督卡、措施报批）", "告知信访人办理进展"):
        assert words in html
    assert "--chip: #1f6feb" in html  # the card's colour swatch
    assert f'href="/t/{tenants.B}/admin/wording/cards/blue"' in html and f'href="/t/{tenants.B}/admin/wording/notifications/approval"' in html
    handler = await login_token(client, tenants.B, "handler")
    assert (await client.get(f"/t/{tenants.B}/admin/wording", headers=handler)).status_code == 403
    status, html = await _page(client, tenants.B, "/admin/supervision?edit=card:blue", admin)
    assert f'/t/{tenants.B}/admin/wording/cards/blue"' in html  # the card's form links to its wording


async def test_the_editor_lists_every_placeholder_with_its_meaning_in_both_languages(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    status, zh = await _page(client, tenants.B, CARD_PAGE, admin)
    assert status == 200
    for shown in ("{{ subject.name }}", "{{ document_no }}", "{{ tenant_name }}", "{{ consequence }}", "{{ copies|join(&#39;、&#39;) }}"):
        assert shown in zh, shown
    assert "被监督对象：人员姓名或单位名称" in zh and "文号" in zh and "插入" in zh
    assert 'data-insert="{{ subject.name }}"' in zh and "wording-editor.js" in zh
    assert "red-head" in zh  # the textarea starts from the default wording, which it shows
    _, en = await _page(client, tenants.B, CARD_PAGE, admin, "en")
    assert "the subject: a person&#39;s or a unit&#39;s name" in en and "Insert" in en
    _, action = await _page(client, tenants.B, "/admin/wording/actions/supervision_notice", admin)
    assert 'data-insert="{{ subject.name }}"' in action and 'data-insert="{{ consequence }}"' not in action  # actions have none
    assert (await client.get(f"/t/{tenants.B}/admin/wording/cards/white", headers=admin)).status_code == 404  # 泗阳's card


async def test_the_preview_renders_the_draft_as_the_printed_document_on_sample_data(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    status, html = await _post(client, tenants.B, CARD_PAGE, admin, {"do": "preview", "template": OWN})
    assert status == 200, html
    preview = html[html.index('class="document-page"'):]
    assert "巴音郭楞蒙古自治州纪委监委：王建国同志，请于" in preview
    assert re.search(r"文号巴音郭楞蒙古自治州纪委监委〔20\d\d〕8号", preview)
    assert re.search(r"请于20\d\d-\d\d-\d\d前说明", preview)  # the blue card's 10 working days from today
    assert "文书文字" in html and str(escape(OWN)) in html  # the draft stays in the textarea
    status, html = await _post(client, tenants.B, CARD_PAGE, admin, {"do": "preview", "template": DEFAULT_TEMPLATE})
    assert status == 200 and "red-head" in html and "王建国同志（某镇中心小学副校长）" in html and "本委领导" not in html  # blue copies none
    assert (await bazhou.repo(CardType).find_one({"key": "blue"})).document_template is None  # a preview saves nothing


@pytest.mark.parametrize("template, zh, en", [
    ("<p>{% if %}</p>", "写法有误", "syntax error"),
    ("<p>{{ official_name }}{{ subject.nme }}</p>", "不认识的占位符：{{ official_name }}、{{ subject.nme }}", "do not exist"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}{{ i }}{{ j }}{% endfor %}{% endfor %}", "过长", "too much"),
    ("{{ 1 // 0 }}", "生成时出错", "fails when filled in"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
     "运行超时", "ran longer than"),
])
async def test_a_bad_draft_is_a_422_with_words_at_the_field(client, tenants, bazhou, template, zh, en):
    admin = await login_token(client, tenants.B, "admin")
    for do in ("preview", "save"):
        status, html = await _post(client, tenants.B, CARD_PAGE, admin, {"do": do, "template": template})
        assert status == 422, html
        error = html[html.index('id="template-error"'):]
        assert zh in error.split("</p>")[0]
        words = re.sub(r"\{\{[^}]*\}\}", "", error.split(">", 1)[1].split("</p>")[0])  # placeholders are what one types
        assert not re.search(r"[A-Za-z]{3,}", words), words  # no English (the sandbox's own words) on a Chinese page
    status, html = await _post(client, tenants.B, CARD_PAGE, admin, {"do": "preview", "template": template}, "en")
    assert status == 422 and en in html[html.index('id="template-error"'):].split("</p>")[0]
    assert (await bazhou.repo(CardType).find_one({"key": "blue"})).document_template is None
    assert not await list_config_versions(bazhou, "card_wording:blue")


async def test_values_are_escaped_and_markup_outside_the_allow_list_is_dropped(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    status, html = await _post(client, tenants.B, CARD_PAGE, admin, {
        "do": "preview", "template": "<p>{{ '<script>alert(1)</script>' }}{{ subject.name }}</p><script>alert(2)</script>"})
    assert status == 200
    preview = html[html.index('class="document-page"'):html.index('class="versions"')]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;王建国" in preview and "<script>alert" not in preview and "alert(2)" not in preview


async def _issue(scope: TenantScope, kind: str, key: str, name: str):
    handler, leader = await staff(scope, "handler"), await staff(scope, "leader")
    sup = await cards.do_create_supervision(scope, kind=kind, type_key=key, subject=Subject(kind="person", name=name, unit="某中学"),
                                            petition_ids=[], actor=handler)
    if sup.needs_approval:
        sup = await cards.do_approve(scope, await cards.do_submit_for_approval(scope, sup, handler), leader)
    sup, _ = await cards.do_issue(scope, sup, handler)
    return sup


async def test_saving_changes_the_next_card_issued_and_a_rollback_restores_the_old_wording(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    response = await client.post(f"/t/{tenants.B}{CARD_PAGE}", headers=admin, form={"do": "save", "template": OWN})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{CARD_PAGE}?saved=save")
    row = await bazhou.repo(CardType).find_one({"key": "blue"})
    assert row.document_template == OWN and row.source == "admin"
    name = "李<script>alert('x')</script>"
    issued = await _issue(bazhou, "card", "blue", name)
    assert 'class="own"' in issued.document_html and "&lt;script&gt;alert" in issued.document_html and "<script>" not in issued.document_html
    assert f"文号{issued.document_no}" in issued.document_html

    versions = await list_config_versions(bazhou, "card_wording:blue")
    assert [(v.number, v.content["document_template"]) for v in versions] == [(2, OWN), (1, "")]  # the bundle's wording first
    assert versions[0].author_name and versions[0].content["key"] == "blue"
    status, html = await _page(client, tenants.B, CARD_PAGE + "?saved=save", admin)
    assert "已保存" in html and "第 2 版" in html and "恢复到这一版" in html and "恢复默认文字" in html

    await do_roll_back_config(bazhou, "card_wording:blue", 1, actor=ConfigActor(None, "测试"))
    assert (await bazhou.repo(CardType).find_one({"key": "blue"})).document_template is None
    assert "red-head" in (await _issue(bazhou, "card", "blue", "王五")).document_html
    assert (await list_config_versions(bazhou, "card_wording:blue"))[0].note.startswith("回滚到第 1 版")

    # Again through the page: back to version 2, then "restore the default".
    response = await client.post(f"/t/{tenants.B}{CARD_PAGE}", headers=admin, form={"do": "rollback", "number": "2"})
    assert response.status_code == 302
    assert (await bazhou.repo(CardType).find_one({"key": "blue"})).document_template == OWN
    response = await client.post(f"/t/{tenants.B}{CARD_PAGE}", headers=admin, form={"do": "restore"})
    assert response.status_code == 302 and (await bazhou.repo(CardType).find_one({"key": "blue"})).document_template is None
    assert (await client.post(f"/t/{tenants.B}{CARD_PAGE}", headers=admin, form={"do": "rollback", "number": "99"})).status_code == 404


async def test_an_action_documents_wording_is_saved_the_same_way(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    path = "/admin/wording/actions/briefing_meeting"
    response = await client.post(f"/t/{tenants.B}{path}", headers=admin, form={"do": "save", "template": "<p>通报：{{ subject.name }}</p>"})
    assert response.status_code == 302
    assert "<p>通报：赵六</p>" in (await _issue(bazhou, "action", "briefing_meeting", "赵六")).document_html
    assert [v.number for v in await list_config_versions(bazhou, "action_wording:briefing_meeting")] == [2, 1]


# -- notifications ---------------------------------------------------------------------------------------------


NOTE_PAGE = "/admin/wording/notifications/approval"


async def test_the_notification_editor_shows_placeholders_default_and_preview(client, tenants, bazhou):
    admin = await login_token(client, tenants.B, "admin")
    status, html = await _page(client, tenants.B, NOTE_PAGE, admin)
    assert status == 200 and "提醒文字：待审批" in html and "{{ subject_name }}" in html and "被监督对象（人员姓名或单位名称）" in html
    assert MESSAGES["approval"].default["zh"] in html  # the default wording, shown
    status, html = await _post(client, tenants.B, NOTE_PAGE, admin, {"do": "preview", "zh": "请审批：{{ type_name }}（{{ subject_name }}）<b>", "en": ""})
    assert status == 200 and "请审批：提醒函（王建国）&lt;b&gt;" in html and "Awaiting approval: Reminder letter to 王建国" in html
    status, html = await _post(client, tenants.B, NOTE_PAGE, admin, {"do": "preview", "zh": "{{ case_number }}", "en": "{% for %}"})
    assert status == 422
    assert "不认识的占位符：{{ case_number }}" in html[html.index('id="error-zh"'):] and 'id="error-en"' in html
    status, html = await _post(client, tenants.B, NOTE_PAGE, admin, {"do": "save", "zh": "{{ case_number }}", "en": ""}, "en")
    assert status == 422 and "do not exist" in html[html.index('id="error-zh"'):]
    assert not await list_config_versions(bazhou, AREA)


async def test_saved_notification_wording_reaches_the_next_notification_and_rolls_back(client, tenants, bazhou, worker):
    admin = await login_token(client, tenants.B, "admin")
    response = await client.post(f"/t/{tenants.B}{NOTE_PAGE}", headers=admin,
                                 form={"do": "save", "zh": "请审批：{{ type_name }}（{{ subject_name }}）", "en": "Please approve {{ type_name }}"})
    assert response.status_code == 302
    [version] = await list_config_versions(bazhou, AREA)
    assert version.content == {"approval": {"zh": "请审批：{{ type_name }}（{{ subject_name }}）", "en": "Please approve {{ type_name }}"}}

    handler = await staff(bazhou, "handler")
    name = f"审批{uuid.uuid4().hex[:6]}"
    sup = await cards.do_create_supervision(bazhou, kind="card", type_key="blue", subject=Subject(kind="person", name=name),
                                            petition_ids=[], actor=handler)
    await cards.do_submit_for_approval(bazhou, sup, handler)

    async def told():
        return await bazhou.repo(Notification).find_one({"kind": "approval", "subject_id": str(sup.id)})

    note = await eventually(told, message="the approval notification")
    assert note.text.zh == f"请审批：提醒函（{name}）" and note.text.en == "Please approve Reminder letter"

    response = await client.post(f"/t/{tenants.B}{NOTE_PAGE}", headers=admin, form={"do": "restore"})
    assert response.status_code == 302 and [v.content for v in await list_config_versions(bazhou, AREA)][0] == {}
    values = {"subject_name": "甲", "type_name": {"zh": "提醒函", "en": "Reminder letter"}}
    assert await worded(bazhou, "approval", values) == {"zh": "待审批：对 甲 的提醒函", "en": "Awaiting approval: Reminder letter to 甲"}
    await do_roll_back_config(bazhou, AREA, 1, actor=ConfigActor(None, "测试"))
    assert (await worded(bazhou, "approval", values))["zh"] == "请审批：提醒函（甲）"


async def test_a_wording_that_fails_when_sent_falls_back_to_the_default(bazhou, caplog):
    # Stored past the checks (say by an older platform): it breaks at send time, and the default goes out.
    await do_record_config_version(bazhou, AREA, {"answered": {"zh": "{% if %}", "en": "{{ 1 // 0 }}"}}, actor=BUNDLE_ACTOR)
    values = {"subject_name": "乙", "type_name": {"zh": "督办函", "en": "Supervision letter"}}
    assert await worded(bazhou, "answered", values) == {lang: fill_default(MESSAGES["answered"].default[lang], values, lang) for lang in ("zh", "en")}
    assert "the default wording goes out" in caplog.text


async def test_a_petitions_notification_has_its_number_title_and_deadline(bazhou):
    from xinfang.notifications.handlers import _case_values
    from xinfang.petitions.models import Petition

    petition = Petition.model_construct(number="BAZHOU-2027-000031", title="反映某村账目不公开", due_on="2027-03-05")
    await do_record_config_version(bazhou, AREA, {"assigned": {"zh": "{{ case_number }}（{{ title }}）须于{{ deadline }}前办结", "en": ""}},
                                   actor=BUNDLE_ACTOR)
    assert await worded(bazhou, "assigned", _case_values(petition)) == {
        "zh": "BAZHOU-2027-000031（反映某村账目不公开）须于2027年3月5日前办结",
        "en": "Petition BAZHOU-2027-000031 was assigned to you: 反映某村账目不公开"}


def test_every_default_wording_uses_only_its_own_placeholders():
    for message in MESSAGES.values():
        for text in message.default.values():
            assert set(re.findall(r"{{\s*(\w+)\s*}}", text)) <= set(message.placeholders), message.key


async def test_the_wording_pages_show_words_not_codes(client, tenants, bazhou):
    from tests.test_page_crawl import problems_in, read_page

    admin = await login_token(client, tenants.B, "admin")
    await client.post(f"/t/{tenants.B}{CARD_PAGE}", headers=admin, form={"do": "save", "template": OWN})  # a version to list
    for path in ("/admin/wording", CARD_PAGE, "/admin/wording/actions/supervision_notice", NOTE_PAGE,
                 "/admin/wording/notifications/citizen_notice"):
        for lang in ("zh", "en"):
            status, html = await _page(client, tenants.B, path, admin, lang)
            text, _ = read_page(html)
            assert status == 200 and problems_in(text, lang) == [], (path, lang, problems_in(text, lang))


@pytest.mark.parametrize("tenant, path, draft", [
    ("B", CARD_PAGE, {"template": OWN}),
    ("B", NOTE_PAGE, {"zh": "{{ case_no }} 待您审批", "en": "{{ case_no }} awaits you"}),
    ("A", "/staff/document-templates/supervision_letter", {"template": "<p>{{ title }}</p>"}),
])
async def test_a_rollback_to_a_version_that_is_no_number_is_a_422_in_words_and_keeps_the_draft(client, tenants, tenant, path, draft):
    # Every wording editor answers its form the same way (tenancy/config_pages.answer_wording_form).
    slug = getattr(tenants, tenant)
    admin = await login_token(client, slug, "admin")
    for lang, words in (("zh", "应为版本号"), ("en", "must be a version number")):
        status, html = await _post(client, slug, path, admin, {"do": "rollback", "number": "第二版", **draft}, lang)
        assert status == 422, html
        assert words in html
        kept = next(iter(draft.values()))
        assert str(escape(kept)) in html or kept in html  # what was typed is on the page again
