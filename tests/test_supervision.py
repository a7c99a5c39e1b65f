"""Supervision cards and actions with a controllable clock: every rule of DOMAIN.md, two tenants."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from xinfang.auth.models import StaffAccount
from xinfang.auth.principal import Principal
from xinfang.cards import service
from xinfang.cards.models import Subject, Supervision, SupervisionState
from xinfang.cards.stats import statistics
from xinfang.cards.sweeper import sweep_tenant
from xinfang.errors import Conflict, Forbidden, InvalidInput
from xinfang.notifications.models import Notification
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually, login_token

CHINA = ZoneInfo("Asia/Shanghai")


# The test worker's beat sweeper runs on the real clock meanwhile. Rules are therefore
# exercised on dates after today's real date (2027 onwards) wherever the background
# sweep could otherwise act first; 2026 dates are used only where it cannot interfere.


def at(day: str) -> datetime:
    """Ten in the morning, China time, on ``day``: the clock the services are given."""
    return datetime.combine(date.fromisoformat(day), time(10), CHINA).astimezone(timezone.utc)


async def staff(scope: TenantScope, username: str) -> Principal:
    return Principal.of_staff(await scope.repo(StaffAccount).find_one({"username": username}), "token")


@pytest.fixture
async def siyang(app, tenants):
    return TenantScope((await Tenant.find_one({"slug": tenants.A})).id)


@pytest.fixture
async def bazhou(app, tenants):
    return TenantScope((await Tenant.find_one({"slug": tenants.B})).id)


def someone() -> Subject:
    """A subject of its own per test, so rules about 'the same subject' see only this test's cards."""
    return Subject(kind="person", name=f"测试对象{uuid.uuid4().hex[:6]}", position="副校长", unit="某中学")


async def issued(scope: TenantScope, kind: str, type_key: str, subject: Subject, day: str) -> Supervision:
    handler, leader = await staff(scope, "handler"), await staff(scope, "leader")
    sup = await service.do_create_supervision(scope, kind=kind, type_key=type_key, subject=subject, petition_ids=[], actor=handler)
    if sup.needs_approval:
        sup = await service.do_submit_for_approval(scope, sup, handler)
        sup = await service.do_approve(scope, sup, leader)
    sup, _token = await service.do_issue(scope, sup, handler, now=at(day))
    return sup


async def test_a_white_card_gives_15_working_days_across_the_october_holidays(siyang):
    card = await issued(siyang, "card", "white", someone(), "2026-09-25")
    # 09-26/27 weekend, 10-01..07 National Day, 10-10 a make-up Saturday that counts: due 10-22.
    assert card.response_due == "2026-10-22"


async def test_a_deadline_that_crosses_into_a_year_the_calendar_does_not_know(siyang):
    from xinfang.petitions.service import do_set_calendar_rules

    await do_set_calendar_rules(siyang, holidays=["2027-01-01"], workdays=[])  # what 泗阳's admins entered for 2027
    card = await issued(siyang, "card", "white", someone(), "2026-12-20")
    # 2027 is unknown to chinese-calendar: weekends plus 泗阳's own holiday 2027-01-01 are skipped.
    assert card.response_due == "2027-01-11"


async def test_nothing_unapproved_goes_out(siyang):
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    sup = await service.do_create_supervision(siyang, kind="card", type_key="yellow", subject=someone(), petition_ids=[], actor=handler)
    with pytest.raises(Conflict):
        await service.do_issue(siyang, sup, handler)
    sup = await service.do_submit_for_approval(siyang, sup, handler)
    with pytest.raises(Forbidden):
        await service.do_approve(siyang, sup, handler)
    sup = await service.do_approve(siyang, sup, leader)
    sup, _token = await service.do_issue(siyang, sup, handler, now=at("2026-07-15"))
    assert sup.state == SupervisionState.ISSUED and sup.follow_ups[0].due_on == "2026-10-15"


async def test_a_yellow_card_not_rectified_after_three_months_proposes_a_red_card(siyang):
    subject = someone()
    yellow = await issued(siyang, "card", "yellow", subject, "2027-07-15")
    await sweep_tenant(siyang, date(2027, 10, 15))  # exactly three months: not yet "more than"
    assert await siyang.repo(Supervision).find_one({"subject_key": subject.key, "state": "proposed"}) is None
    await asyncio.gather(sweep_tenant(siyang, date(2027, 10, 16)), sweep_tenant(siyang, date(2027, 10, 16)))
    await sweep_tenant(siyang, date(2027, 10, 20))
    proposals = await siyang.repo(Supervision).find({"subject_key": subject.key, "state": "proposed"}).to_list()
    assert len(proposals) == 1  # two sweeps at once and a later one: still one proposal
    red = proposals[0]
    assert red.type_key == "red" and red.automatic[0].rule == "yellow_unrectified_3_months"
    assert red.automatic[0].reason.zh.startswith("预警卡发出超过 3 个月") and str(yellow.id) in red.automatic[0].facts
    rectified = await issued(siyang, "card", "yellow", someone(), "2027-07-15")
    await service.do_mark_rectified(siyang, rectified, await staff(siyang, "handler"), now=at("2027-09-01"))
    await sweep_tenant(siyang, date(2027, 10, 20))
    assert await siyang.repo(Supervision).find_one({"subject_key": rectified.subject_key, "state": "proposed"}) is None


async def test_a_second_yellow_card_within_two_years_is_treated_as_red(siyang):
    subject = someone()
    await issued(siyang, "card", "yellow", subject, "2025-03-01")
    second = await issued(siyang, "card", "yellow", subject, "2027-02-26")
    await sweep_tenant(siyang, date(2027, 2, 26))
    await sweep_tenant(siyang, date(2027, 2, 27))
    second = await siyang.repo(Supervision).get(second.id)
    assert second.treated_as == "red" and [c.ref for c in second.copies] == ["org-personnel"]
    assert len(second.automatic) == 1 and "两年内第二次" in second.automatic[0].reason.zh


async def test_a_second_yellow_card_just_after_two_years_is_not(siyang):
    subject = someone()
    await issued(siyang, "card", "yellow", subject, "2025-03-01")
    second = await issued(siyang, "card", "yellow", subject, "2027-03-02")
    await sweep_tenant(siyang, date(2027, 3, 2))
    second = await siyang.repo(Supervision).get(second.id)
    assert second.treated_as is None and second.copies == []


async def test_reminders_overdue_alerts_and_follow_ups_are_notified_once(siyang):
    from xinfang.petitions.service import do_set_calendar_rules

    await do_set_calendar_rules(siyang, holidays=["2027-01-01"], workdays=[])
    card = await issued(siyang, "card", "white", someone(), "2027-04-01")
    assert card.response_due == "2027-04-22"  # 15 working days; 2027 falls back to weekends + tenant holidays
    before = await siyang.repo(Notification).count({"subject_id": str(card.id)})
    await sweep_tenant(siyang, date(2027, 4, 16))  # 04-22 is 4 working days away: no reminder yet
    assert await siyang.repo(Notification).count({"subject_id": str(card.id)}) == before
    for _ in range(2):
        await sweep_tenant(siyang, date(2027, 4, 19))
    kinds = [n.kind for n in await siyang.repo(Notification).find({"subject_id": str(card.id)}).to_list()]
    assert kinds.count("reminder") == 1
    for _ in range(2):
        await sweep_tenant(siyang, date(2027, 4, 23))
    card = await siyang.repo(Supervision).get(card.id)
    assert card.overdue is True
    kinds = [n.kind for n in await siyang.repo(Notification).find({"subject_id": str(card.id)}).to_list()]
    assert kinds.count("overdue") == 1
    yellow = await issued(siyang, "card", "yellow", someone(), "2027-07-15")
    await sweep_tenant(siyang, date(2027, 10, 14))
    assert await siyang.repo(Notification).count({"subject_id": str(yellow.id), "kind": "follow_up"}) == 0
    await sweep_tenant(siyang, date(2027, 10, 15))
    assert await siyang.repo(Notification).count({"subject_id": str(yellow.id), "kind": "follow_up"}) == 1


async def test_decisions_follow_the_rules(siyang):
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    sup = await issued(siyang, "action", "supervision_notice", someone(), "2027-04-01")
    sup = await service.do_record_answer(siyang, sup, handler, "已书面说明情况")
    with pytest.raises(InvalidInput):
        await service.do_decide(siyang, sup, handler, "rectify")  # needs a deadline
    with pytest.raises(Forbidden):
        await service.do_decide(siyang, sup, handler, "transfer")  # 立案 needs a leader
    sup = await service.do_decide(siyang, sup, handler, "rectify", rectify_by="2099-01-31", now=at("2027-04-10"))
    assert sup.state == SupervisionState.RECTIFYING and sup.rectify_due == "2099-01-31"
    sup = await service.do_decide(siyang, sup, leader, "transfer", note="问题严重，移送立案")
    assert sup.state == SupervisionState.TRANSFERRED


async def test_statistics_count_cards_by_colour_and_only_recorded_talks(bazhou):
    before = await statistics(bazhou)
    await issued(bazhou, "card", "orange", someone(), "2027-04-01")
    talk = await issued(bazhou, "action", "admonishment_talk", someone(), "2027-04-01")
    await issued(bazhou, "action", "supervision_notice", someone(), "2027-04-01")
    middle = await statistics(bazhou)
    assert middle["talks_without_record"] == before["talks_without_record"] + 1
    await service.do_record_talk(bazhou, talk, await staff(bazhou, "handler"), "谈话记录：已指出问题，本人表示接受")
    after = await statistics(bazhou)
    orange = next(c for c in after["cards"] if c["type_key"] == "orange")
    assert orange["colour"] == "#fb8500" and orange["count"] == next(c for c in before["cards"] if c["type_key"] == "orange")["count"] + 1
    assert after["action_forms"]["talks"]["count"] == before["action_forms"]["talks"]["count"] + 1
    shares = [v["share"] for v in after["action_forms"].values()]
    assert abs(sum(shares) - 1.0) < 0.01
    assert not any(c["type_key"] == "white" for c in after["cards"])  # 巴州 has its own cards, not 泗阳's


async def test_supervision_api_with_two_tenants(client, tenants):
    handler_a = await login_token(client, tenants.A, "handler")
    handler_b = await login_token(client, tenants.B, "handler")
    created = await client.post(f"/t/{tenants.A}/api/supervisions", headers=handler_a,
                                json={"kind": "card", "type_key": "white", "subject": {"kind": "unit", "name": "某小学"}})
    assert created.status_code == 201
    sup_id = (await created.get_json())["id"]
    assert (await client.get(f"/t/{tenants.B}/api/supervisions/{sup_id}", headers=handler_b)).status_code == 404  # not found elsewhere
    unknown = await client.post(f"/t/{tenants.B}/api/supervisions", headers=handler_b,
                                json={"kind": "card", "type_key": "white", "subject": {"kind": "unit", "name": "某小学"}})
    assert unknown.status_code == 422  # 巴州 has no white card
    unapproved = await client.post(f"/t/{tenants.A}/api/supervisions/{sup_id}/issue", headers=handler_a)
    assert unapproved.status_code == 409 and (await unapproved.get_json())["error"]["message"]["zh"].startswith("尚未经领导审批")
    stats = await (await client.get(f"/t/{tenants.A}/api/supervision-stats", headers=handler_a)).get_json()
    assert [c["type_key"] for c in stats["cards"]] == ["white", "green", "yellow", "red"]


async def test_a_case_assigned_down_shows_in_the_receiving_tenants_notifications(client, tenants, worker):
    from tests.test_petitions import petition_id_of, submitted

    result = await submitted(client, tenants.B, address="10.8.0.1")
    pid = await petition_id_of(tenants.B, result["number"])
    leader_b = await login_token(client, tenants.B, "leader")
    await client.post(f"/t/{tenants.B}/api/petitions/{pid}/transitions/accept", headers=leader_b, json={"fields": {}})
    moved = await client.post(f"/t/{tenants.B}/api/petitions/{pid}/transitions/assign_down", headers=leader_b,
                              json={"fields": {"target_tenant": tenants.CHILD_OF_B}})
    assert moved.status_code == 200
    leader_korla = await login_token(client, tenants.CHILD_OF_B, "admin")
    registrar_korla = await login_token(client, tenants.CHILD_OF_B, "handler")

    async def arrived():
        body = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/notifications", headers=registrar_korla)).get_json()
        return [n for n in body["notifications"] if n["link"] == f"/api/petitions/{pid}"]

    notes = await eventually(arrived, timeout=60, message="the notification in 库尔勒")  # the worker is shared with the suite
    assert notes[0]["kind"] == "assigned"
    other = await (await client.get(f"/t/{tenants.B}/api/notifications", headers=leader_b)).get_json()
    assert not any(n["link"] == f"/api/petitions/{pid}" for n in other["notifications"])
    assert leader_korla  # 库尔勒's admin can log in too (a tenant of its own)


async def test_the_issued_document_and_the_one_time_answer_link(client, tenants, app):
    handler = await login_token(client, tenants.A, "handler")
    leader = await login_token(client, tenants.A, "leader")
    created = await (await client.post(f"/t/{tenants.A}/api/supervisions", headers=handler, json={
        "kind": "card", "type_key": "white", "subject": {"kind": "person", "name": "吴十", "unit": "某小学", "position": "校长"}})).get_json()
    sid = created["id"]
    assert (await client.get(f"/t/{tenants.A}/api/supervisions/{sid}/document", headers=handler)).status_code == 404  # not issued
    await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/submit", headers=handler)
    await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/approve", headers=leader)
    issued_card = await (await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/issue", headers=handler)).get_json()
    link = issued_card["answer_link"]
    assert "answer_token_hash" not in issued_card and link.startswith(f"/t/{tenants.A}/answer/")
    document = await (await client.get(f"/t/{tenants.A}/api/supervisions/{sid}/document", headers=handler)).get_data(as_text=True)
    assert "询问卡" in document and "吴十" in document and issued_card["response_due"] in document and "泗阳县教育局纪委" in document

    browser = app.test_client()
    page = await browser.get(link)
    assert page.status_code == 200 and "询问卡" in await page.get_data(as_text=True)
    answered = await browser.post(link, form={"text": "关于反映的问题，书面说明如下……"})
    assert answered.status_code == 200
    again = await browser.post(link, form={"text": "第二次"})
    assert again.status_code == 404  # one time only
    after = await (await client.get(f"/t/{tenants.A}/api/supervisions/{sid}", headers=handler)).get_json()
    assert after["state"] == "answered" and after["answer"].startswith("关于反映的问题")
    elsewhere = await browser.get(link.replace(tenants.A, tenants.B, 1))
    assert elsewhere.status_code == 404  # the link belongs to its tenant


async def test_a_tenant_template_is_sandboxed(siyang):
    from xinfang.cards.documents import render_document
    from xinfang.cards.models import CardType

    card_type = await siyang.repo(CardType).find_one({"key": "white"})
    hostile = card_type.model_copy(update={"document_template": "{{ subject.name }}{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    sup = Supervision(tenant_id=siyang.tenant_id, kind="card", type_key="white", subject=Subject(kind="person", name="<b>x</b>"),
                      subject_key="k", state=SupervisionState.DRAFT)
    with pytest.raises(InvalidInput):
        await render_document(await Tenant.find_one({"slug": "siyang-edu"}), hostile, sup)
    plain = card_type.model_copy(update={"document_template": "<p>{{ subject.name }}</p>"})
    assert await render_document(await Tenant.find_one({"slug": "siyang-edu"}), plain, sup) == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


async def test_escalating_on_refusal_proposes_the_next_card_up(siyang):
    handler = await staff(siyang, "handler")
    subject = someone()
    green = await issued(siyang, "card", "green", subject, "2027-04-01")
    green = await service.do_record_answer(siyang, green, handler, "拒绝说明")
    await service.do_decide(siyang, green, handler, "escalate", note="态度不端正")
    [proposal] = await siyang.repo(Supervision).find({"subject_key": subject.key, "state": "proposed"}).to_list()
    assert proposal.type_key == "yellow" and proposal.automatic[0].facts == [str(green.id)]


async def test_notifications_go_out_through_the_sender_plugin(siyang, settings, worker):
    """The default sender writes each message to DATA_DIR/notifications/outbox.jsonl, through the real worker."""
    import json as _json

    from xinfang.notifications.service import do_notify, do_set_preference

    # Sent where a person chose it (their notification preferences): the handler takes both.
    handler = await staff(siyang, "handler")
    await do_set_preference(siyang, handler.account_id, channels=["email", "sms"], email="handler@example.org", phone="13900002222")
    key = f"sender-test-{uuid.uuid4().hex}"
    assert await do_notify(siyang, key, kind="reminder", roles=["handler"], text={"zh": "测试提醒", "en": "test reminder"})
    outbox = settings.data_dir / "notifications" / "outbox.jsonl"
    from xinfang.notifications.service import notification_id

    wanted = str(notification_id(siyang.tenant_id, key))

    async def sent():
        if not outbox.exists():
            return None
        lines = [_json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
        return [line for line in lines if line.get("notification_id") == wanted]  # petitioners' notices have none

    lines = await eventually(sent, message="the sender plugin to write the message")
    assert sorted(line["channel"] for line in lines) == ["email", "sms"] and lines[0]["tenant"] == "siyang-edu"
    assert sorted(line["to"] for line in lines) == ["13900002222", "handler@example.org"]
    await do_set_preference(siyang, handler.account_id, channels=[], email=None, phone=None)


async def test_the_reminder_lead_time_is_the_tenants_per_type(bazhou):
    """巴州 warns 5 working days ahead for its blue letter (10 working days to answer), 3 for the others."""
    blue = await issued(bazhou, "card", "blue", someone(), "2027-04-01")
    assert blue.response_due == "2027-04-15"
    await sweep_tenant(bazhou, date(2027, 4, 7))  # 6 working days ahead: not yet
    assert await bazhou.repo(Notification).count({"subject_id": str(blue.id), "kind": "reminder"}) == 0
    await sweep_tenant(bazhou, date(2027, 4, 8))  # 5 working days ahead
    assert await bazhou.repo(Notification).count({"subject_id": str(blue.id), "kind": "reminder"}) == 1


async def test_the_beat_sweeps_supervision_once_per_tenant_per_day(siyang, settings):
    import types

    from xinfang.cards.plugin import xinfang_sweep
    from xinfang.cards.sweeper import SweepMark, mark_swept, swept_on

    if (mark := await siyang.repo(SweepMark).find_one({})) is not None:
        await siyang.repo(SweepMark).delete(mark)  # as if never swept
    await mark_swept(siyang, "2027-05-09")
    await mark_swept(siyang, "2000-01-01")  # a slower, older sweep finishing last does not move the mark back
    assert await swept_on(siyang) == "2027-05-09"
    runtime = types.SimpleNamespace(settings=settings)
    await xinfang_sweep(at("2027-05-10"), runtime)
    assert await swept_on(siyang) == "2027-05-10"
    card = await issued(siyang, "card", "white", someone(), "2027-04-01")  # due 2027-04-22: overdue on 05-10
    await xinfang_sweep(at("2027-05-10"), runtime)  # already swept that day: nothing happens
    assert (await siyang.repo(Supervision).get(card.id)).overdue is False
    await xinfang_sweep(at("2027-05-11"), runtime)  # the next day it is
    assert (await siyang.repo(Supervision).get(card.id)).overdue is True


async def test_each_follow_up_visit_is_announced_once_and_the_next_one_waits(bazhou):
    orange = await issued(bazhou, "card", "orange", someone(), "2027-04-01")  # one visit 2 months on
    assert orange.follow_up_due == orange.follow_ups[0].due_on == "2027-06-01"
    await sweep_tenant(bazhou, date(2027, 5, 31))
    assert (await bazhou.repo(Supervision).get(orange.id)).follow_up_due == "2027-06-01"
    await sweep_tenant(bazhou, date(2027, 6, 1))
    await sweep_tenant(bazhou, date(2027, 6, 2))
    assert (await bazhou.repo(Supervision).get(orange.id)).follow_up_due is None  # nothing left to announce
    assert await bazhou.repo(Notification).count({"subject_id": str(orange.id), "kind": "follow_up"}) == 1


async def test_a_repeat_is_decided_as_the_card_goes_out_and_a_card_of_another_tenant_does_not_count(siyang, bazhou):
    subject = someone()
    await issued(bazhou, "card", "blue", subject, "2027-01-10")  # the same person, but at 巴州: not 泗阳's history
    await issued(siyang, "card", "yellow", subject, "2025-06-01")
    second = await issued(siyang, "card", "yellow", subject, "2027-05-20")  # no sweep in between
    assert second.treated_as == "red" and second.automatic[0].facts[-1] == str(second.id)
    assert await siyang.repo(Notification).count({"subject_id": str(second.id), "kind": "copied"}) == 1
    third_party = await issued(siyang, "card", "white", subject, "2027-05-21")  # another type never counts
    assert third_party.treated_as is None


async def test_two_yellow_cards_issued_at_once_are_caught_by_the_sweep_exactly_once(siyang):
    subject = someone()
    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    drafts = []
    for _ in range(2):
        sup = await service.do_create_supervision(siyang, kind="card", type_key="yellow", subject=subject, petition_ids=[], actor=handler)
        sup = await service.do_approve(siyang, await service.do_submit_for_approval(siyang, sup, handler), leader)
        drafts.append(sup)
    await asyncio.gather(*(service.do_issue(siyang, sup, handler, now=at("2027-06-07")) for sup in drafts))
    for _ in range(2):
        await sweep_tenant(siyang, date(2027, 6, 8))
    cards = await siyang.repo(Supervision).find({"subject_key": subject.key}).to_list()
    assert sorted(str(c.treated_as) for c in cards) == ["None", "red"]
    treated = next(c for c in cards if c.treated_as)
    assert await siyang.repo(Notification).count({"subject_id": str(treated.id), "kind": "copied"}) == 1


async def test_a_reminder_is_remembered_so_later_sweeps_do_not_retry_it(bazhou):
    blue = await issued(bazhou, "card", "blue", someone(), "2027-04-01")
    await sweep_tenant(bazhou, date(2027, 4, 8))
    assert (await bazhou.repo(Supervision).get(blue.id)).reminded_for == "2027-04-15"
    report = await sweep_tenant(bazhou, date(2027, 4, 9))
    assert report.reminders == 0


async def test_the_console_pages_show_each_tenant_its_own_cards_and_refuse_bad_steps(client, tenants):
    handler_a = await login_token(client, tenants.A, "handler")
    handler_b = await login_token(client, tenants.B, "handler")
    filed = await client.post(f"/t/{tenants.B}/api/petitions", headers=handler_b, json={
        "form": "petition", "channel": "letter", "anonymous": True, "answers": {"title": "巴州的信", "content": "巴州的来信内容", "category": "other"}})
    foreign_petition = (await filed.get_json())["id"]
    page_a = await (await client.get(f"/t/{tenants.A}/staff/supervisions/new?petition={foreign_petition}", headers=handler_a)).get_data(as_text=True)
    assert "card:yellow" in page_a and "card:blue" not in page_a and foreign_petition not in page_a and "巴州的信" not in page_a
    page_b = await (await client.get(f"/t/{tenants.B}/staff/supervisions/new?petition={foreign_petition}", headers=handler_b)).get_data(as_text=True)
    assert "card:blue" in page_b and "card:yellow" not in page_b and "巴州的信" in page_b

    missing_name = await client.post(f"/t/{tenants.A}/staff/supervisions/new", headers=handler_a, form={"type": "card:white"})
    assert missing_name.status_code == 422 and "请填写被监督对象" in await missing_name.get_data(as_text=True)
    wrong_tenant_type = await client.post(f"/t/{tenants.A}/staff/supervisions/new", headers=handler_a,
                                          form={"type": "card:blue", "subject_name": "某小学", "subject_kind": "unit"})
    assert wrong_tenant_type.status_code == 422 and "本单位没有这种监督卡" in await wrong_tenant_type.get_data(as_text=True)
    created = await client.post(f"/t/{tenants.A}/staff/supervisions/new", headers=handler_a,
                                form={"type": "action:supervision_notice", "subject_name": "某小学", "subject_kind": "unit"})
    assert created.status_code == 302
    page_url = created.headers["Location"]
    issued_too_early = await client.post(f"{page_url}/steps/issue", headers=handler_a)
    assert issued_too_early.status_code == 409 and "尚未经领导审批" in await issued_too_early.get_data(as_text=True)
    unknown = await client.post(f"{page_url}/steps/launch", headers=handler_a)
    assert unknown.status_code == 422
    page = await (await client.get(page_url, headers=handler_a)).get_data(as_text=True)
    assert 'data-verb="submit"' in page and 'data-verb="approve"' not in page
    assert (await client.get(page_url.replace(f"/t/{tenants.A}/", f"/t/{tenants.B}/"), headers=handler_b)).status_code == 404


async def test_copies_go_out_to_a_role_another_tenant_and_as_a_to_do_for_a_department(siyang, bazhou, tenants):
    korla = TenantScope((await Tenant.find_one({"slug": tenants.CHILD_OF_B})).id)
    orange = await issued(bazhou, "card", "orange", someone(), "2027-08-02")  # 巴州's 督办函: copy to its leaders and to 库尔勒
    leaders = await bazhou.repo(Notification).find({"subject_id": str(orange.id), "kind": "copied"}).to_list()
    assert [n.roles for n in leaders] == [["leader"]]
    at_korla = [n for n in await korla.repo(Notification).find({"kind": "copied"}).to_list() if orange.subject.name in n.text.zh]
    assert len(at_korla) == 1 and at_korla[0].text.zh.startswith("巴音郭楞") and "督办函" in at_korla[0].text.zh
    assert not [n for n in await siyang.repo(Notification).find({"kind": "copied"}).to_list() if orange.subject.name in n.text.zh]
    red = await issued(siyang, "card", "red", someone(), "2027-08-02")  # 泗阳's red card: copy the org department
    to_do = await siyang.repo(Notification).find({"subject_id": str(red.id), "kind": "copy_due"}).to_list()
    assert len(to_do) == 1 and "组织人事部门" in to_do[0].text.zh


async def test_an_issued_card_awaits_a_written_answer_only_when_its_type_asks_for_one(client, tenants, siyang):
    handler = await login_token(client, tenants.A, "handler")
    subject = someone()
    white = await issued(siyang, "card", "white", subject, "2027-03-01")  # 询问卡: a written answer within 15 working days
    yellow = await issued(siyang, "card", "yellow", subject, "2027-03-01")  # 预警卡: no answer deadline, the decision is next
    assert white.response_due and not yellow.response_due
    for sup, reads, never in ((white, "已发出，待说明", "已发出，待处理"), (yellow, "已发出，待处理", "已发出，待说明")):
        page = await (await client.get(f"/t/{tenants.A}/staff/supervisions/{sup.id}", headers=handler)).get_data(as_text=True)
        assert reads in page and never not in page, (sup.type_key, reads)
        assert f"{subject.unit}（个人）" in page  # Chinese brackets on a Chinese page
    listed = await (await client.get(f"/t/{tenants.A}/staff/supervisions", query_string={"subject_key": white.subject_key}, headers=handler)).get_data(as_text=True)
    assert listed.count(">已发出，待说明</td>") == 1 and listed.count(">已发出，待处理</td>") == 1
    assert '<option value="issued" >已发出</option>' in listed  # the filter's choice takes both
    english = await (await client.get(f"/t/{tenants.A}/staff/supervisions/{yellow.id}?lang=en", headers=handler)).get_data(as_text=True)
    assert "Issued, to decide" in english
