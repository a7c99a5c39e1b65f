"""Cards (issue 11): a new one-time link after "must explain", "the same subject" as the same registered
person across units, and every console step in the JSON API too, with its permission checks."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from xinfang.archives.service import do_link_supervision, do_register_official
from xinfang.cards import service
from xinfang.cards.models import Subject, Supervision, SupervisionState
from xinfang.cards.sweeper import sweep_tenant
from xinfang.errors import InvalidInput
from xinfang.notifications.models import Notification
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually, login_token
from tests.test_supervision import at, issued, staff

# Merged into tests/test_isolation.py's CASES (as Case(**fields)): each route gets the three isolation checks there.
ISOLATION_CASES = {
    "cards.adopt_supervision": dict(method="POST", path="/api/supervisions/{id}/adopt", kind="object", owner_object="supervision"),
    "cards.dismiss_supervision": dict(method="POST", path="/api/supervisions/{id}/dismiss", kind="object", body={"text": "不采纳"},
                                      owner_object="supervision"),
    "cards.return_supervision": dict(method="POST", path="/api/supervisions/{id}/return", kind="object", body={"text": "请修改"},
                                     owner_object="supervision"),
    "cards.record_follow_up": dict(method="POST", path="/api/supervisions/{id}/follow-ups", kind="object",
                                   body={"due_on": "2027-01-01", "text": "已回访"}, owner_object="supervision"),
}


@pytest.fixture
async def siyang(app, tenants):
    return TenantScope((await Tenant.find_one({"slug": tenants.A})).id)


def person(unit: str = "某中学", name: str | None = None) -> Subject:
    return Subject(kind="person", name=name or f"调动干部{uuid.uuid4().hex[:6]}", position="副校长", unit=unit)


def keyring(app):
    return app.app.extensions["xinfang.keyring"]


def id_number() -> str:
    """A resident identity number of its own per call, with a correct GB 11643 check digit."""
    from xinfang.id_numbers import check_character

    body = f"320323198{uuid.uuid4().int % 10}0101{uuid.uuid4().int % 1000:03d}"
    return body + check_character(body)


async def issued_to(scope, subject: Subject, day: str, official_id: str | None = None, type_key: str = "yellow") -> Supervision:
    handler, leader = await staff(scope, "handler"), await staff(scope, "leader")
    sup = await service.do_create_supervision(scope, kind="card", type_key=type_key, subject=subject, petition_ids=[], actor=handler,
                                              official_id=official_id)
    sup = await service.do_approve(scope, await service.do_submit_for_approval(scope, sup, handler), leader)
    sup, _ = await service.do_issue(scope, sup, handler, now=at(day))
    return sup


# -- "must explain": a new link and the document with the new deadline ------------------------------------------


async def test_must_explain_gives_a_new_one_time_link_and_the_document_carries_the_new_deadline(siyang):
    handler = await staff(siyang, "handler")
    card = await issued(siyang, "card", "white", person(), "2027-04-01")
    first_hash, first_due = card.answer_token_hash, card.response_due
    assert first_due in card.document_html
    card = await service.do_record_answer(siyang, card, None, "说明得不清楚")
    card = await service.do_decide(siyang, card, handler, "must_explain", note="请重新说明", now=at("2027-05-10"))
    token = service.answer_token_of(card)
    assert token and card.answer_token_hash == service.token_hash(token) != first_hash and not card.answer_token_used
    assert card.state == SupervisionState.ISSUED and card.response_due > first_due
    assert card.response_due in card.document_html and first_due not in card.document_html
    stored = await siyang.repo(Supervision).get(card.id)
    assert stored.document_html == card.document_html and stored.answer_token_hash == card.answer_token_hash
    answered = await service.do_answer_by_link(siyang, token, "重新书面说明如下")
    assert answered.state == SupervisionState.ANSWERED and answered.answer == "重新书面说明如下"
    closed = await service.do_decide(siyang, answered, handler, "close")
    assert service.answer_token_of(closed) is None  # only "must explain" makes a link


async def test_must_explain_over_the_api_and_the_console_shows_the_new_link_once(client, tenants, app):
    handler = await login_token(client, tenants.A, "handler")
    leader = await login_token(client, tenants.A, "leader")
    base = f"/t/{tenants.A}/api/supervisions"
    sid = (await (await client.post(base, headers=handler, json={
        "kind": "card", "type_key": "white", "subject": {"kind": "person", "name": "重说明", "unit": "某小学"}})).get_json())["id"]
    await client.post(f"{base}/{sid}/submit", headers=handler)
    await client.post(f"{base}/{sid}/approve", headers=leader, json={"text": "同意"})
    first = (await (await client.post(f"{base}/{sid}/issue", headers=handler)).get_json())["answer_link"]
    subject = app.test_client()
    assert (await subject.post(first, form={"text": "第一次说明"})).status_code == 200
    decided = await client.post(f"{base}/{sid}/decide", headers=handler, json={"outcome": "must_explain", "note": "未说明清楚"})
    assert decided.status_code == 200 and decided.headers["Cache-Control"] == "no-store"
    body = await decided.get_json()
    second = body["answer_link"]
    assert second != first and body["state"] == "issued" and "answer_token_hash" not in body
    assert (await subject.get(first)).status_code == 404  # the used link stays used
    page = await subject.get(second)
    assert page.status_code == 200 and body["response_due"] in await page.get_data(as_text=True)
    assert (await subject.post(second, form={"text": "第二次说明"})).status_code == 200
    after = await (await client.get(f"{base}/{sid}", headers=handler)).get_json()
    assert after["state"] == "answered" and after["answer"] == "第二次说明"
    # Through the console: the page after the step shows the new link, once, with its own words.
    console = await client.post(f"/t/{tenants.A}/staff/supervisions/{sid}/steps/decide", headers=handler,
                                form={"outcome": "must_explain", "text": "仍未说明清楚"})
    text = await console.get_data(as_text=True)
    assert console.status_code == 200 and "新的一次性答复链接" in text and f"/t/{tenants.A}/answer/" in text
    again = await (await client.get(f"/t/{tenants.A}/staff/supervisions/{sid}", headers=handler)).get_data(as_text=True)
    assert "新的一次性答复链接" not in again and f"/t/{tenants.A}/answer/" not in again


# -- the same subject is the same registered person -----------------------------------------------------------


async def test_a_second_yellow_card_counts_the_official_across_units(siyang, app):
    leader = await staff(siyang, "leader")
    number = id_number()
    official = await do_register_official(siyang, keyring(app), name="钱调动", position="校长", unit="第一中学",
                                          rank_level=None, id_number=number, actor=leader)
    name = f"钱调动{uuid.uuid4().hex[:4]}"
    await issued_to(siyang, person("第一中学", name), "2025-04-01", str(official.id))
    moved = await issued_to(siyang, person("第三小学", name), "2027-03-01", str(official.id))  # moved to another unit
    assert moved.subject_key != person("第一中学", name).key
    assert moved.treated_as == "red" and [c.ref for c in moved.copies] == ["org-personnel"]
    assert await siyang.repo(Notification).count({"subject_id": str(moved.id), "kind": "copied"}) == 1


async def test_two_officials_of_the_same_name_and_unit_are_not_the_same_subject(siyang, app):
    leader = await staff(siyang, "leader")
    name = f"同名{uuid.uuid4().hex[:4]}"
    one = await do_register_official(siyang, keyring(app), name=name, position=None, unit="某中学", rank_level=None,
                                     id_number=id_number(), actor=leader)
    other = await do_register_official(siyang, keyring(app), name=name, position=None, unit="某中学", rank_level=None,
                                       id_number=id_number(), actor=leader)
    await issued_to(siyang, person("某中学", name), "2025-05-01", str(one.id))
    second = await issued_to(siyang, person("某中学", name), "2027-04-01", str(other.id))
    assert second.treated_as is None  # namesakes at one school: two people, each with one yellow card
    # Where no official is linked, name and unit still decide.
    third = await issued_to(siyang, person("某中学", name), "2027-04-02")
    assert third.treated_as == "red"


async def test_the_sweep_catches_two_cards_to_one_person_in_two_units_issued_at_once(siyang, app):
    import asyncio

    handler, leader = await staff(siyang, "handler"), await staff(siyang, "leader")
    official = await do_register_official(siyang, keyring(app), name="孙同时", position=None, unit="甲校", rank_level=None,
                                          id_number=None, actor=leader)
    drafts = []
    for unit in ("甲校", "乙校"):
        sup = await service.do_create_supervision(siyang, kind="card", type_key="yellow", subject=person(unit, "孙同时"),
                                                  petition_ids=[], actor=handler, official_id=str(official.id))
        drafts.append(await service.do_approve(siyang, await service.do_submit_for_approval(siyang, sup, handler), leader))
    await asyncio.gather(*(service.do_issue(siyang, sup, handler, now=at("2027-06-21")) for sup in drafts))
    for _ in range(2):
        await sweep_tenant(siyang, date(2027, 6, 22))
    cards = [await siyang.repo(Supervision).get(sup.id) for sup in drafts]
    assert sorted(str(c.treated_as) for c in cards) == ["None", "red"]


async def test_an_official_linked_after_issue_counts_the_earlier_card(siyang, app, worker):
    leader = await staff(siyang, "leader")
    official = await do_register_official(siyang, keyring(app), name="李后补", position=None, unit="丙校", rank_level=None,
                                          id_number=id_number(), actor=leader)
    first = await issued_to(siyang, person("丙校", "李后补"), "2025-09-01", str(official.id))
    second = await issued_to(siyang, person("丁校", "李后补"), "2027-03-01")  # issued before anyone named the official
    assert second.treated_as is None and first.official_id
    await do_link_supervision(siyang, await siyang.repo(Supervision).get(second.id), official, leader)

    async def treated():
        row = await siyang.repo(Supervision).get(second.id)
        return row if row.treated_as else None

    row = await eventually(treated, message="the repeat rule decided again after the link")
    assert row.treated_as == "red" and str(first.id) in row.automatic[-1].facts


# -- every step in the JSON API --------------------------------------------------------------------------------


async def test_proposals_are_adopted_or_dismissed_over_the_api(client, tenants, siyang):
    handler = await login_token(client, tenants.A, "handler")
    base = f"/t/{tenants.A}/api/supervisions"
    green = await issued(siyang, "card", "green", person(), "2027-04-01")
    green = await service.do_record_answer(siyang, green, None, "拒绝说明")
    await service.do_decide(siyang, green, await staff(siyang, "handler"), "escalate")
    for subject_key in [green.subject_key]:
        [proposal] = await siyang.repo(Supervision).find({"subject_key": subject_key, "state": "proposed"}).to_list()
    adopted = await client.post(f"{base}/{proposal.id}/adopt", headers=handler)
    assert adopted.status_code == 200 and (await adopted.get_json())["state"] == "draft"
    again = await client.post(f"{base}/{proposal.id}/adopt", headers=handler)
    assert again.status_code == 409  # a draft is no proposal
    no_reason = await client.post(f"{base}/{proposal.id}/dismiss", headers=handler, json={"text": "  "})
    assert no_reason.status_code == 422 and "text" in (await no_reason.get_json())["error"]["fields"]
    dismissed = await client.post(f"{base}/{proposal.id}/dismiss", headers=handler, json={"text": "已整改，不再升级"})
    body = await dismissed.get_json()
    assert dismissed.status_code == 200 and body["state"] == "dismissed" and body["notes"][-1]["text"] == "已整改，不再升级"
    extra = await client.post(f"{base}/{proposal.id}/dismiss", headers=handler, json={"text": "x", "other": 1})
    assert extra.status_code == 422


async def test_a_leader_returns_for_revision_over_the_api_and_a_handler_may_not(client, tenants):
    handler = await login_token(client, tenants.A, "handler")
    leader = await login_token(client, tenants.A, "leader")
    base = f"/t/{tenants.A}/api/supervisions"
    sid = (await (await client.post(base, headers=handler, json={
        "kind": "card", "type_key": "yellow", "subject": {"kind": "person", "name": "退回", "unit": "某中学"}})).get_json())["id"]
    assert (await client.post(f"{base}/{sid}/return", headers=leader, json={"text": "尚未报批"})).status_code == 409
    await client.post(f"{base}/{sid}/submit", headers=handler)
    refused = await client.post(f"{base}/{sid}/return", headers=handler, json={"text": "自己退回"})
    assert refused.status_code == 403
    returned = await client.post(f"{base}/{sid}/return", headers=leader, json={"text": "事实不清，请补充"})
    body = await returned.get_json()
    assert returned.status_code == 200 and body["state"] == "draft" and body["notes"][-1]["action"] == "returned"
    assert body["approved_by"] is None


async def test_a_follow_up_visit_is_recorded_over_the_api(client, tenants, siyang):
    handler = await login_token(client, tenants.A, "handler")
    yellow = await issued(siyang, "card", "yellow", person(), "2027-07-15")
    url = f"/t/{tenants.A}/api/supervisions/{yellow.id}/follow-ups"
    wrong_day = await client.post(url, headers=handler, json={"due_on": "2027-01-01", "text": "已回访"})
    assert wrong_day.status_code == 422 and "due_on" in (await wrong_day.get_json())["error"]["fields"]
    empty = await client.post(url, headers=handler, json={"due_on": yellow.follow_ups[0].due_on, "text": ""})
    assert empty.status_code == 422
    missing = await client.post(url, headers=handler, json={"text": "已回访"})
    assert missing.status_code == 422 and "due_on" in (await missing.get_json())["error"]["fields"]
    done = await client.post(url, headers=handler, json={"due_on": yellow.follow_ups[0].due_on, "text": "整改到位，群众满意"})
    body = await done.get_json()
    assert done.status_code == 200 and body["follow_ups"][0]["note"] == "整改到位，群众满意" and body["follow_ups"][0]["done_on"]
    auditor = await login_token(client, tenants.A, "auditor")
    assert (await client.post(url, headers=auditor, json={"due_on": "2027-10-15", "text": "x"})).status_code == 403


async def test_console_and_api_offer_the_same_steps(app):
    """Every step a card's page can offer has a JSON route (the link to an official lives in the archives API)."""
    from xinfang.auth.principal import Principal

    leader = Principal("x", "leader", "t", frozenset(), "token", frozenset({"leader"}))
    verbs = set()
    for state in SupervisionState:
        for approved in (None, "someone"):
            sup = Supervision(tenant_id="0" * 24, kind="action", type_key="k", subject=person(), subject_key="k", state=state,
                              approved_by=approved, follow_ups=[{"due_on": "2027-01-01"}])
            verbs |= set(service.available_verbs(sup, leader, record_required=True))
    routes = {"adopt": "adopt", "dismiss": "dismiss", "submit": "submit", "approve": "approve", "return": "return", "issue": "issue",
              "answer": "answer", "decide": "decide", "rectified": "rectified", "talk_record": "talk-record", "follow_up": "follow-ups"}
    assert verbs == set(routes)
    rules = {rule.rule for rule in app.app.url_map.iter_rules()}
    assert all(f"/t/<tenant_slug>/api/supervisions/<supervision_id>/{path}" in rules for path in routes.values())


async def test_bad_follow_up_input_is_a_field_message(siyang):
    card = await issued(siyang, "card", "yellow", person(), "2027-07-15")
    with pytest.raises(InvalidInput):
        await service.do_record_follow_up(siyang, card, await staff(siyang, "handler"), "not-a-date", "x")


def test_an_issued_card_offers_the_answer_first_and_rectified_only_after_an_answer_or_a_decision():
    from xinfang.auth.principal import Principal

    handler = Principal("x", "handler", "t", frozenset(), "token", frozenset({"handler"}))

    def offered(state):
        sup = Supervision(tenant_id="0" * 24, kind="card", type_key="k", subject=person(), subject_key="k", state=state)
        return service.available_verbs(sup, handler, record_required=False)

    assert offered(SupervisionState.ISSUED)[:2] == ["answer", "decide"] and "rectified" not in offered(SupervisionState.ISSUED)
    assert "rectified" in offered(SupervisionState.ANSWERED) and "answer" not in offered(SupervisionState.ANSWERED)
    assert offered(SupervisionState.RECTIFYING)[0] == "answer" and "rectified" in offered(SupervisionState.RECTIFYING)
