"""Notifications for the day's work (issue 11): approvals, answers, assigned cases, petitioners' requests,
petition deadlines; each person's unread count and read state; e-mail/SMS where a person chose it; and
the petitioner who opted in is told when the case moves (never an anonymous one)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from quart import g, render_template_string

from xinfang.auth.models import StaffAccount
from xinfang.cards import service as cards
from xinfang.cards.models import Subject
from xinfang.events import EventStatus, OutboxEvent
from xinfang.notifications.deadlines import sweep_petition_deadlines
from xinfang.notifications.models import CitizenNotice, Notification, NotificationDelivery
from xinfang.notifications.service import do_notify, notification_id, unread_count
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from xinfang.timefmt import local_date
from tests.conftest import eventually, login_token
from tests.staffing import operator_account
from tests.test_petitions import NAMED, submitted
from tests.test_supervision import staff

# Merged into tests/test_isolation.py's CASES (as Case(**fields)): each route gets the three isolation checks there.
ISOLATION_CASES = {
    "notifications.mark_notification_read": dict(method="POST", path="/api/notifications/{id}/read", kind="object", owner_object="petition"),
    "notifications.mark_all_notifications_read": dict(method="POST", path="/api/notifications/read-all", kind="collection"),
    "notifications.show_notification_preferences": dict(method="GET", path="/api/notification-preferences", kind="collection"),
    "notifications.set_notification_preferences": dict(method="PUT", path="/api/notification-preferences", kind="collection",
                                                       body={"channels": []}),
    "notification_pages.mark_read_submit": dict(method="POST", path="/staff/notifications/{id}/read", kind="object",
                                                owner_object="petition", form=True),
    "notification_pages.mark_all_read_submit": dict(method="POST", path="/staff/notifications/read-all", kind="collection", form=True,
                                                    expect=(302,)),
    "notification_pages.preferences_submit": dict(method="POST", path="/staff/notifications/preferences", kind="collection", form=True,
                                                  expect=(302,)),
}


@pytest.fixture
async def siyang(app, tenants):
    return TenantScope((await Tenant.find_one({"slug": tenants.A})).id)


async def account_id(scope: TenantScope, username: str) -> str:
    return str((await scope.repo(StaffAccount).find_one({"username": username})).id)


async def notes(client, slug: str, headers: dict) -> dict:
    response = await client.get(f"/t/{slug}/api/notifications", headers=headers)
    assert response.status_code == 200
    return await response.get_json()


def about(body: dict, text: str) -> list[dict]:
    return [n for n in body["notifications"] if text in n["text"]["zh"]]


def outbox(settings) -> list[dict]:
    path = settings.data_dir / "notifications" / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# -- cards ------------------------------------------------------------------------------------------------------


async def test_a_card_awaiting_approval_reaches_the_leaders_and_is_read_one_by_one_or_all(client, tenants, siyang, worker):
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    name = f"待批{uuid.uuid4().hex[:6]}"
    sup = await cards.do_create_supervision(siyang, kind="card", type_key="yellow", subject=Subject(kind="person", name=name),
                                            petition_ids=[], actor=handler)
    await cards.do_submit_for_approval(siyang, sup, handler)
    leader_h = await login_token(client, tenants.A, "leader")
    handler_h = await login_token(client, tenants.A, "handler")

    async def delivered():
        body = await notes(client, tenants.A, leader_h)
        mine = about(body, name)
        return body if mine and await siyang.repo(NotificationDelivery).count(
            {"notification_id": mine[0]["id"], "account_id": leader.account_id}) else None

    body = await eventually(delivered, message="the approval notice delivered to the leader")
    [approval] = about(body, name)
    assert approval["kind"] == "approval" and approval["unread"] and approval["link"] == f"/api/supervisions/{sup.id}"
    assert "待审批" in approval["text"]["zh"] and body["unread"] >= 1
    assert not about(await notes(client, tenants.A, handler_h), name)  # for leaders only
    # Other tests may notify (or read for) the same leader meanwhile: the count answered is at most what is unread
    # before without this one, plus what arrived; the approval's own row is what turns read.
    async def unread_rows() -> set[str]:
        rows = await siyang.repo(NotificationDelivery).find({"account_id": leader.account_id, "unread": True}).to_list()
        return {r.notification_id for r in rows}

    before = await unread_rows()
    assert approval["id"] in before
    read = await client.post(f"/t/{tenants.A}/api/notifications/{approval['id']}/read", headers=leader_h)
    after = await unread_rows()
    answered = (await read.get_json())["unread_count"]
    assert read.status_code == 200 and approval["id"] not in after and answered <= len((before - {approval["id"]}) | after)
    assert not about(await notes(client, tenants.A, leader_h), name)[0]["unread"]
    again = await client.post(f"/t/{tenants.A}/api/notifications/{approval['id']}/read", headers=leader_h)
    assert approval["id"] not in await unread_rows()  # reading twice changes nothing
    assert again.status_code == 200
    assert (await client.post(f"/t/{tenants.A}/api/notifications/{approval['id']}/read", headers=handler_h)).status_code == 404
    everything = await client.post(f"/t/{tenants.A}/api/notifications/read-all", headers=leader_h)
    assert everything.status_code == 200 and (await everything.get_json())["unread_count"] == 0
    assert await unread_count(siyang, leader.account_id) == 0
    # The other leader still has it unread: read state is per person.
    deputy = await siyang.repo(StaffAccount).find_one({"username": "leader2"})
    if deputy is not None:
        assert await siyang.repo(NotificationDelivery).count(
            {"notification_id": approval["id"], "account_id": str(deputy.id), "unread": True}) == 1


async def test_the_subjects_answer_reaches_the_people_who_wrote_the_card(client, tenants, siyang, app, worker):
    other = await operator_account(tenants.A, "handler-notify-other", ["handler"])
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    name = f"答复{uuid.uuid4().hex[:6]}"
    sup = await cards.do_create_supervision(siyang, kind="card", type_key="white", subject=Subject(kind="person", name=name),
                                            petition_ids=[], actor=handler)
    sup = await cards.do_approve(siyang, await cards.do_submit_for_approval(siyang, sup, handler), leader)
    sup, token = await cards.do_issue(siyang, sup, handler)
    answered = await app.test_client().post(f"/t/{tenants.A}/answer/{token}", form={"text": "书面说明"})
    assert answered.status_code == 200

    async def told():
        rows = await siyang.repo(Notification).find({"subject_id": str(sup.id), "kind": "answered"}).to_list()
        return rows or None

    [row] = await eventually(told, message="the answer notice")
    assert row.account_id == handler.account_id and row.roles == [] and name in row.text.zh
    body = await notes(client, tenants.A, await login_token(client, tenants.A, "handler"))
    assert about(body, name)[0]["kind"] == "answered"
    other_h = await login_token(client, tenants.A, "handler-notify-other", "long-enough-pw")
    assert not about(await notes(client, tenants.A, other_h), name) and other  # another handler does not see it


async def test_the_author_hears_of_approval_and_of_a_return(siyang, worker):
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    name = f"批复{uuid.uuid4().hex[:6]}"
    sup = await cards.do_create_supervision(siyang, kind="card", type_key="yellow", subject=Subject(kind="person", name=name),
                                            petition_ids=[], actor=handler)
    sup = await cards.do_return_for_revision(siyang, await cards.do_submit_for_approval(siyang, sup, handler), leader, "事实不清")
    await cards.do_approve(siyang, await cards.do_submit_for_approval(siyang, sup, handler), leader)

    async def told():
        rows = await siyang.repo(Notification).find({"subject_id": str(sup.id), "account_id": handler.account_id}).to_list()
        return rows if {r.kind for r in rows} == {"returned", "approved"} else None

    rows = await eventually(told, message="the author told of the return and the approval")
    assert all(name in r.text.zh and r.roles == [] for r in rows)
    assert await siyang.repo(Notification).count({"subject_id": str(sup.id), "account_id": leader.account_id}) == 0


# -- petitions --------------------------------------------------------------------------------------------------


async def test_a_case_assigned_to_me_and_the_petitioners_requests(client, tenants, siyang, worker):
    result = await submitted(client, tenants.A, dict(NAMED, title=f"分办测试{uuid.uuid4().hex[:6]}"), address="10.11.0.1")
    pid = str((await siyang.repo(Petition).find_one({"number": result["number"]})).id)
    leader_h, handler_h = await login_token(client, tenants.A, "leader"), await login_token(client, tenants.A, "handler")
    handler_id = await account_id(siyang, "handler")
    base = f"/t/{tenants.A}/api/petitions/{pid}/transitions"
    assert (await client.post(f"{base}/accept", headers=leader_h, json={"fields": {}})).status_code == 200
    assert (await client.post(f"{base}/assign", headers=leader_h, json={"fields": {"assignee": handler_id}})).status_code == 200

    async def mine(kind):
        body = await notes(client, tenants.A, handler_h)
        return [n for n in body["notifications"] if n["link"] == f"/api/petitions/{pid}" and n["kind"] == kind] or None

    [assigned] = await eventually(lambda: mine("assigned"), message="the assignment notice")
    assert result["number"] in assigned["text"]["zh"] and "分办给您" in assigned["text"]["zh"]
    registrar_h = await login_token(client, tenants.A, "registrar")
    assert not [n for n in (await notes(client, tenants.A, registrar_h))["notifications"] if n["link"] == f"/api/petitions/{pid}"]

    supplement = await client.post(f"/t/{tenants.A}/api/receipts/supplement", json={"receipt": result["receipt"], "text": "补充一份收费单据"},
                                   scope_base={"client": ("10.11.0.1", 40000)})
    assert supplement.status_code == 200
    [added] = await eventually(lambda: mine("citizen"), message="the supplement notice")
    assert "补充了材料" in added["text"]["zh"]

    assert (await client.post(f"{base}/reply", headers=handler_h, json={"fields": {"reply": "经核查，已责令退费。"}})).status_code == 200
    review = await client.post(f"/t/{tenants.A}/api/receipts/actions/request_review",
                               json={"receipt": result["receipt"], "fields": {"reason": "退费未到位"}}, scope_base={"client": ("10.11.0.1", 40000)})
    assert review.status_code == 200

    async def review_notice():
        body = await notes(client, tenants.A, leader_h)  # 复查: whoever may give the review opinion (handlers, leaders)
        return [n for n in body["notifications"] if n["link"] == f"/api/petitions/{pid}" and "申请复查" in n["text"]["zh"]] or None

    [requested] = await eventually(review_notice, message="the review request notice")
    assert requested["kind"] == "citizen"


async def test_petition_deadlines_are_swept_into_the_inbox_once(siyang, client, tenants):
    result = await submitted(client, tenants.A, dict(NAMED, title=f"期限测试{uuid.uuid4().hex[:6]}"), address="10.11.0.2")
    petition = await siyang.repo(Petition).find_one({"number": result["number"]})
    due = date.fromisoformat(petition.due_on)
    await sweep_petition_deadlines(siyang, due - timedelta(days=30))  # far ahead: nothing
    assert await siyang.repo(Notification).count({"subject_id": str(petition.id)}) == 0
    for _ in range(2):
        await sweep_petition_deadlines(siyang, due - timedelta(days=1))
    [reminder] = await siyang.repo(Notification).find({"subject_id": str(petition.id)}).to_list()
    assert reminder.kind == "reminder" and local_date(petition.due_on) in reminder.text.zh and "registrar" in reminder.roles
    for _ in range(2):
        await sweep_petition_deadlines(siyang, due + timedelta(days=2))
    kinds = sorted(n.kind for n in await siyang.repo(Notification).find({"subject_id": str(petition.id)}).to_list())
    assert kinds == ["overdue", "reminder"]


# -- the unread count helper --------------------------------------------------------------------------------


async def test_unread_notifications_is_the_signed_in_persons_count_and_zero_for_anyone_else(app, siyang):
    from xinfang.tenancy.context import TenantContext

    # An account of its own that no role-addressed notification reaches (an auditor): the background worker's
    # notifications for handlers cannot change its count between counting and rendering.
    tenant = await Tenant.get(siyang.tenant_id)
    username = f"unread-{uuid.uuid4().hex[:6]}"
    await operator_account(tenant.slug, username, ["auditor"])
    reader = await staff(siyang, username)
    for n in range(2):
        await do_notify(siyang, f"unread-probe:{username}:{n}", kind="assigned", roles=[], account_id=reader.account_id,
                        text={"zh": "测试", "en": "probe"})
    async with app.app.test_request_context(f"/t/{tenant.slug}/staff/notifications"):
        assert await render_template_string("{{ unread_notifications() }}") == "0"  # nobody signed in
        g.tenant_ctx, g.principal = TenantContext.of(tenant), reader

        async def delivered():  # deliveries are made by the worker after the notification's event
            return await unread_count(siyang, reader.account_id) == 2

        # The worker shares two cores with the whole suite's background work: a minute, not the default 20 s.
        await eventually(delivered, timeout=60, message="two deliveries to the probe account")
        assert await render_template_string("{{ unread_notifications() }} {{ unread_notifications() + 1 }}") == "2 3"
    async with app.app.test_request_context("/"):
        assert await render_template_string("{{ unread_notifications() }}") == "0"


# -- e-mail and SMS ---------------------------------------------------------------------------------------------


async def test_e_mail_and_sms_go_only_to_people_who_chose_them(client, tenants, siyang, settings, worker):
    username = f"notify-sms-{uuid.uuid4().hex[:6]}"
    await operator_account(tenants.A, username, ["registrar"])
    headers = await login_token(client, tenants.A, username, "long-enough-pw")
    url = f"/t/{tenants.A}/api/notification-preferences"
    assert await (await client.get(url, headers=headers)).get_json() == {"channels": [], "email": None, "phone": None}
    missing = await client.put(url, headers=headers, json={"channels": ["sms", "email"]})
    fields = (await missing.get_json())["error"]["fields"]
    assert missing.status_code == 422 and set(fields) == {"email", "phone"} and fields["phone"]["zh"].startswith("选择短信")
    bad = await client.put(url, headers=headers, json={"channels": ["fax"], "phone": "12345"})
    assert bad.status_code == 422 and {"channels", "phone"} <= set((await bad.get_json())["error"]["fields"])
    saved = await client.put(url, headers=headers, json={"channels": ["sms"], "phone": "13900001111"})
    assert (await saved.get_json()) == {"channels": ["sms"], "email": None, "phone": "13900001111"}

    key = f"prefs-{uuid.uuid4().hex}"
    assert await do_notify(siyang, key, kind="reminder", roles=["registrar"], text={"zh": "登记提醒", "en": "registrar reminder"})
    wanted = str(notification_id(siyang.tenant_id, key))

    async def sent():
        return [line for line in outbox(settings) if line.get("notification_id") == wanted] or None

    lines = await eventually(sent, message="the text message")
    mine = await account_id(siyang, username)
    assert [(line["channel"], line["to"], line["account_id"]) for line in lines] == [("sms", "13900001111", mine)]


async def test_the_notifications_page_marks_read_and_saves_the_choice(client, tenants, siyang):
    handler = await staff(siyang, "handler")
    key = f"page-{uuid.uuid4().hex}"
    await do_notify(siyang, key, kind="approval", roles=[], account_id=handler.account_id, text={"zh": "页面提醒测试", "en": "page test"})
    headers = await login_token(client, tenants.A, "handler")
    page = await (await client.get(f"/t/{tenants.A}/staff/notifications", headers=headers)).get_data(as_text=True)
    nid = str(notification_id(siyang.tenant_id, key))
    assert "页面提醒测试" in page and f"/staff/notifications/{nid}/read" in page and "待审批" in page and "全部标为已读" in page
    marked = await client.post(f"/t/{tenants.A}/staff/notifications/{nid}/read", headers=headers)
    assert marked.status_code == 302
    page = await (await client.get(f"/t/{tenants.A}/staff/notifications", headers=headers)).get_data(as_text=True)
    assert "页面提醒测试" in page and f"/staff/notifications/{nid}/read" not in page
    bad = await client.post(f"/t/{tenants.A}/staff/notifications/preferences", headers=headers, form={"channels": "sms", "phone": "12"})
    text = await bad.get_data(as_text=True)
    assert bad.status_code == 422 and "手机号码格式不对" in text and 'value="12"' in text
    good = await client.post(f"/t/{tenants.A}/staff/notifications/preferences", headers=headers,
                             form={"channels": "email", "email": "handler@example.org"})
    assert good.status_code == 302
    page = await (await client.get(f"/t/{tenants.A}/staff/notifications", headers=headers)).get_data(as_text=True)
    assert 'value="handler@example.org"' in page
    await client.put(f"/t/{tenants.A}/api/notification-preferences", headers=headers, json={"channels": []})


async def test_another_tenants_notification_cannot_be_marked_read(client, tenants, siyang):
    key = f"iso-{uuid.uuid4().hex}"
    await do_notify(siyang, key, kind="reminder", roles=["handler"], text={"zh": "泗阳提醒", "en": "x"})
    nid = str(notification_id(siyang.tenant_id, key))
    bazhou = await login_token(client, tenants.B, "handler")
    foreign = await client.post(f"/t/{tenants.B}/api/notifications/{nid}/read", headers=bazhou)
    made_up = await client.post(f"/t/{tenants.B}/api/notifications/{'0' * 24}/read", headers=bazhou)
    assert foreign.status_code == made_up.status_code == 404 and await foreign.get_data() == await made_up.get_data()
    assert (await client.post(f"/t/{tenants.A}/api/notifications/{nid}/read", headers=bazhou)).status_code in (401, 403)


# -- the petitioner -------------------------------------------------------------------------------------------


async def test_a_petitioner_who_opted_in_is_told_when_the_case_moves_and_nobody_else_is(client, tenants, siyang, settings, worker):
    leader_h = await login_token(client, tenants.A, "leader")
    opted = await submitted(client, tenants.A, dict(NAMED, title="通知测试", email="zhang@example.org", notify_progress=True), address="10.11.0.3")
    silent = await submitted(client, tenants.A, dict(NAMED, title="不通知测试"), address="10.11.0.3")
    anonymous = {k: NAMED[k] for k in ("title", "content", "category")}
    hidden = await submitted(client, tenants.A, anonymous, anonymous=True, address="10.11.0.3")
    refused = await client.post(f"/t/{tenants.A}/api/petitions/submit", json={
        "form": "petition", "answers": dict(anonymous, notify_progress=True), "anonymous": True}, scope_base={"client": ("10.11.0.3", 40000)})
    assert refused.status_code == 422 and "notify_progress" in (await refused.get_json())["error"]["fields"]
    ids = {}
    for result in (opted, silent, hidden):
        ids[result["number"]] = pid = str((await siyang.repo(Petition).find_one({"number": result["number"]})).id)
        assert (await client.post(f"/t/{tenants.A}/api/petitions/{pid}/transitions/accept", headers=leader_h, json={"fields": {}})).status_code == 200

    async def told():
        return [line for line in outbox(settings) if line.get("number") == opted["number"]] or None

    lines = await eventually(told, message="the petitioner's notice")
    assert sorted((line["channel"], line["to"]) for line in lines) == [("email", "zhang@example.org"), ("sms", "13800138000")]
    assert "已受理" in lines[0]["text"]["zh"] and opted["number"] in lines[0]["text"]["zh"] and "泗阳" in lines[0]["text"]["zh"]
    notice = await siyang.repo(CitizenNotice).get(lines[0]["citizen_notice_id"])
    assert "13800138000" not in notice.contact_sealed and "zhang@" not in notice.contact_sealed
    for other in (silent, hidden):  # their steps were handled too, and told nobody
        await eventually(lambda: OutboxEvent.find_one({"subject_id": ids[other["number"]], "name": "petition.transitioned",
                                                       "status": EventStatus.DONE}), message="the accept event handled")
        assert await siyang.repo(CitizenNotice).count({"petition_id": ids[other["number"]]}) == 0
        assert not [line for line in outbox(settings) if line.get("number") == other["number"]]


async def test_the_opt_in_is_on_the_portal_form(client, tenants):
    page = await (await client.get(f"/t/{tenants.A}/petition/petition")).get_data(as_text=True)
    assert 'name="notify_progress"' in page and "办理有进展时通过短信或电子邮件通知我" in page


async def test_my_notifications_stay_in_my_inbox_however_many_the_tenant_has(siyang, monkeypatch, worker):
    from xinfang.notifications import service

    handler = await staff(siyang, "handler")
    key = f"mine-{uuid.uuid4().hex}"
    await do_notify(siyang, key, kind="assigned", roles=[], account_id=handler.account_id, text={"zh": "只给我", "en": "only me"})
    mine = str(notification_id(siyang.tenant_id, key))
    await eventually(lambda: siyang.repo(NotificationDelivery).find_one({"notification_id": mine}), message="the delivery")
    monkeypatch.setattr(service, "INBOX_WINDOW", 3)
    for n in range(4):  # newer notifications for another role push mine out of the tenant's newest few
        await do_notify(siyang, f"{key}-other-{n}", kind="reminder", roles=["auditor"], text={"zh": "别人的", "en": "others"})
    rows = await service.inbox(siyang, {"handler"}, account_id=handler.account_id)
    assert mine in [str(n.id) for n in rows] and not [n for n in rows if n.text.zh == "别人的"]


async def test_a_long_title_is_cut_to_what_a_notification_holds(siyang):
    key = f"long-{uuid.uuid4().hex}"
    assert await do_notify(siyang, key, kind="assigned", roles=["handler"],
                           text={"zh": "信访件 X 已分办给您：" + "很长的标题" * 30, "en": "Petition X was assigned to you: " + "long " * 60})
    row = await siyang.repo(Notification).get(notification_id(siyang.tenant_id, key))
    assert len(row.text.zh) == 100 and row.text.zh.endswith("…") and len(row.text.en) == 200
