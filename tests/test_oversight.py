"""督办 across three levels (issue 15): 巴州 (prefecture) -> 库尔勒 (county) -> a township made here.

A case filed at 巴州 is assigned down to 库尔勒, which assigns it on to the township; 巴州, two levels up and
not the body that handed it to the township, supervises the township's handling (督办 with a deadline on its
own calendar); the township reports, 巴州 returns, the township reports again, 巴州 accepts (the oversight
is closed, on time) and the township closes the case. 库尔勒 supervises a card of the township the same way.
The sweep warns before the deadline and escalates once when it passes. Nobody else reaches any of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
from bson import ObjectId

from xinfang.oversight.models import Oversight
from xinfang.oversight.sweep import sweep
from xinfang.petitions.service import china_today, tenant_calendar
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import LocalizedName, Tenant, TenantLevel
from xinfang.timefmt import local_date
from tests.conftest import eventually, login_token
from tests.staffing import operator_account
from tests.test_petitions import NAMED, _act, petition_id_of, submitted
from tests.test_upper_level import assigned_down

PASSWORD = "long-enough-pw"

# Checked by tests/test_isolation.py with every other route: the other tenant's id under my URL is a plain 404
# (no oversight has that id), my lists hold nothing of the other tenant, my credentials on its URL are refused.
ISOLATION_CASES = {
    "oversight.list_oversight": dict(method="GET", path="/api/oversight", kind="collection"),
    "oversight.open_oversight": dict(method="POST", path="/api/oversight", kind="collection", expect=(404,),
                                     body={"subject_kind": "petition", "subject": "NO-SUCH-2026-000001", "requirement": "督办", "working_days": 5}),
    "oversight.show_oversight": dict(method="GET", path="/api/oversight/{id}", kind="object", owner_object="petition"),
    "oversight.report_oversight": dict(method="POST", path="/api/oversight/{id}/reports", kind="object", body={"text": "结果"},
                                       owner_object="petition"),
    "oversight.accept_oversight": dict(method="POST", path="/api/oversight/{id}/accept", kind="object", body={}, owner_object="petition"),
    "oversight.return_oversight": dict(method="POST", path="/api/oversight/{id}/return", kind="object", body={"reason": "退回"},
                                       owner_object="petition"),
    "oversight.remind_oversight": dict(method="POST", path="/api/oversight/{id}/reminders", kind="object", body={"message": "催办"},
                                       owner_object="petition"),
    "oversight.oversight_stats": dict(method="GET", path="/api/oversight-stats", kind="collection"),
    "oversight.oversight_file": dict(method="GET", path="/api/oversight/{id}/files/{id}", kind="object", owner_object="petition"),
    "oversight.withdraw_oversight": dict(method="POST", path="/api/oversight/{id}/withdraw", kind="object", body={"reason": "撤销"},
                                         owner_object="petition"),
    "oversight_pages.withdraw_submit": dict(method="POST", path="/staff/oversight/{id}/withdraw", kind="object", form=True,
                                            owner_object="petition"),
    "oversight_pages.file_download": dict(method="GET", path="/staff/oversight/{id}/files/{id}", kind="object", owner_object="petition"),
    "oversight_pages.oversight_list_page": dict(method="GET", path="/staff/oversight", kind="collection"),
    "oversight_pages.open_submit": dict(method="POST", path="/staff/oversight", kind="collection", form=True, expect=(422,)),
    "oversight_pages.oversight_page": dict(method="GET", path="/staff/oversight/{id}", kind="object", owner_object="petition"),
    "oversight_pages.report_submit": dict(method="POST", path="/staff/oversight/{id}/report", kind="object", form=True, owner_object="petition"),
    "oversight_pages.accept_submit": dict(method="POST", path="/staff/oversight/{id}/accept", kind="object", form=True, owner_object="petition"),
    "oversight_pages.return_submit": dict(method="POST", path="/staff/oversight/{id}/return", kind="object", form=True, owner_object="petition"),
    "oversight_pages.remind_submit": dict(method="POST", path="/staff/oversight/{id}/remind", kind="object", form=True, owner_object="petition"),
}


@dataclasses.dataclass
class Township:
    slug: str
    tenant: Tenant
    handler: dict
    leader: dict
    handler_id: str


async def _make_township(client, tenants) -> Township:
    """A township under 库尔勒, the way a bundle would make it (parent and materialised ancestors), with its staff."""
    korla = await Tenant.find_one({"slug": tenants.CHILD_OF_B})
    slug = f"tsd-{uuid.uuid4().hex[:8]}"
    tenant = Tenant(slug=slug, name=LocalizedName(zh="塔什店镇纪委", en="Tashidian Township Commission"), level=TenantLevel.TOWNSHIP,
                    region_code="652801", parent_id=str(korla.id), ancestor_ids=[*korla.ancestor_ids, str(korla.id)])
    await tenant.insert()
    handler_id = await operator_account(slug, "handler", ["handler"], PASSWORD)
    await operator_account(slug, "leader", ["leader"], PASSWORD)
    await operator_account(slug, "handler2", ["handler"], PASSWORD)
    return Township(slug, tenant, await login_token(client, slug, "handler", PASSWORD), await login_token(client, slug, "leader", PASSWORD),
                    handler_id)


@pytest.fixture(scope="module")
async def township(app, tenants):
    made = await _make_township(app.test_client(), tenants)
    yield made
    # Switched off afterwards: 库尔勒 has no body below it in the other tests (its navigation says so).
    await Tenant.get_pymongo_collection().update_one({"_id": made.tenant.id}, {"$set": {"active": False}})


def api(slug: str, tail: str = "") -> str:
    return f"/t/{slug}/api/oversight{tail}"


async def _notices(client, slug: str, headers: dict, kind: str, needle: str) -> list[dict]:
    rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=headers)).get_json())["notifications"]
    return [n for n in rows if n["kind"] == kind and needle in n["text"]["zh"]]


async def test_a_case_two_levels_down_is_supervised_reported_returned_accepted_and_closed(client, tenants, township):
    case = await assigned_down(client, tenants)  # 巴州 -> 库尔勒 (交办, followed by 巴州)
    moved = await _act(client, tenants.CHILD_OF_B, case.korla_leader, case.pid, "assign_down", target_tenant=township.slug,
                       opinion="请塔什店镇核实办理")
    assert moved.status_code == 200, await moved.get_data(as_text=True)

    # 巴州 supervises the township's handling: 5 working days on 巴州's own calendar.
    opened = await client.post(api(tenants.B), headers=case.bazhou_leader, json={
        "subject_kind": "petition", "subject": case.number, "requirement": "请于期限内核实并报送办理结果", "working_days": 5})
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    view = await opened.get_json()
    oid = view["id"]
    bazhou = await Tenant.find_one({"slug": tenants.B})
    expected_due = (await tenant_calendar(TenantScope(bazhou.id))).add_working_days(china_today(), 5).isoformat()
    assert view["due_on"] == expected_due and view["state"] == "awaiting_report" and view["actions"] == ["remind", "withdraw"]
    assert view["lower_tenant"]["zh"] == "塔什店镇纪委" and view["subject"]["holder"]["zh"] == "塔什店镇纪委"
    assert view["subject"]["number"] == case.number and view["subject"]["anonymous"] is False
    text = json.dumps(view, ensure_ascii=False)
    assert NAMED["petitioner_name"] not in text and NAMED["phone"] not in text and NAMED["id_number"] not in text
    # One open oversight per case and body.
    again = await client.post(api(tenants.B), headers=case.bazhou_leader, json={
        "subject_kind": "petition", "subject": case.number, "requirement": "再督办", "working_days": 5})
    assert again.status_code == 409

    # The township sees it in its list from above; 库尔勒 (in between, not the issuer) neither there nor by id.
    received = await (await client.get(api(township.slug, "?side=received"), headers=township.handler)).get_json()
    assert oid in [i["id"] for i in received["items"]]
    for side in ("issued", "received"):
        korla_list = await client.get(api(tenants.CHILD_OF_B, f"?side={side}"), headers=case.korla_leader)
        assert oid not in await korla_list.get_data(as_text=True)
    assert (await client.get(api(tenants.CHILD_OF_B, f"/{oid}"), headers=case.korla_leader)).status_code == 404
    # The lower side cannot decide; the upper side cannot report.
    lower = await (await client.get(api(township.slug, f"/{oid}"), headers=township.handler)).get_json()
    assert lower["side"] == "lower" and lower["can_report"] is True and lower["actions"] == []
    assert (await client.post(api(township.slug, f"/{oid}/accept"), headers=township.leader, json={})).status_code == 403  # not its step
    assert (await client.post(api(tenants.B, f"/{oid}/reports"), headers=case.bazhou_leader, json={"text": "x"})).status_code == 403

    first = await client.post(api(township.slug, f"/{oid}/reports"), headers=township.handler, json={"text": "已初步核实，正在整改。"})
    assert first.status_code == 201 and (await first.get_json())["state"] == "reported"
    assert (await client.post(api(township.slug, f"/{oid}/reports"), headers=township.handler, json={"text": "再报"})).status_code == 409
    assert (await client.post(api(township.slug, f"/{oid}/accept"), headers=township.leader, json={})).status_code == 403  # not its step
    returned = await client.post(api(tenants.B, f"/{oid}/return"), headers=case.bazhou_leader, json={"reason": "未说明整改结果"})
    assert returned.status_code == 200 and (await returned.get_json())["state"] == "returned"
    second = await client.post(api(township.slug, f"/{oid}/reports"), headers=township.handler, json={"text": "已退还全部费用，整改完毕。"})
    assert second.status_code == 201
    accepted = await client.post(api(tenants.B, f"/{oid}/accept"), headers=case.bazhou_handler, json={"reason": "同意办结"})
    assert accepted.status_code == 200, await accepted.get_data(as_text=True)
    done = await accepted.get_json()
    assert done["state"] == "accepted" and done["open"] is False and done["on_time"] is True and done["actions"] == []
    assert [r["status"] for r in done["reports"]] == ["returned", "accepted"] and done["reports"][0]["reason"] == "未说明整改结果"
    assert (await client.post(api(tenants.B, f"/{oid}/reminders"), headers=case.bazhou_leader, json={"message": "x"})).status_code == 409

    # The township closes the case in its own workflow; 巴州 sees the state through the oversight.
    assert (await _act(client, township.slug, township.leader, case.pid, "assign", assignee=township.handler_id)).status_code == 200
    assert (await _act(client, township.slug, township.handler, case.pid, "reply", reply="经核实，已退还费用。")).status_code == 200
    closed = await _act(client, township.slug, township.handler, case.pid, "close")
    assert closed.status_code == 200, await closed.get_data(as_text=True)
    final = await (await client.get(api(tenants.B, f"/{oid}"), headers=case.bazhou_leader)).get_json()
    assert final["subject"]["state"] == "closed" and final["subject"]["state_name"]["zh"]

    # Notifications through the events: the township was told of the oversight and both decisions, 巴州 of both reports.
    township_notices = await eventually(lambda: _notices_if(client, township.slug, township.leader, "oversight_decided", case.number, 2),
                                        timeout=60, message="decision notices")
    assert {n["link"] for n in township_notices} == {f"/t/{township.slug}/staff/oversight/{oid}"}
    assert await eventually(lambda: _notices_if(client, township.slug, township.handler, "oversight", case.number, 1), timeout=60,
                            message="the oversight notice")
    assert await eventually(lambda: _notices_if(client, tenants.B, case.bazhou_handler, "oversight_report", case.number, 2), timeout=60,
                            message="report notices")

    # Statistics: 巴州's issued side counts it closed on time, under the township.
    stats = await (await client.get(f"/t/{tenants.B}/api/oversight-stats?side=issued", headers=case.bazhou_leader)).get_json()
    row = next(r for r in stats["per_body"] if r["name"]["zh"] == "塔什店镇纪委")
    assert row["on_time"] >= 1 and row["accepted"] >= 1
    mine = await (await client.get(f"/t/{township.slug}/api/oversight-stats?side=received", headers=township.leader)).get_json()
    assert next(r for r in mine["per_body"] if r["name"]["zh"].startswith("巴"))["on_time"] >= 1


async def _notices_if(client, slug, headers, kind, needle, count):
    rows = await _notices(client, slug, headers, kind, needle)
    return rows if len(rows) == count else None


async def _township_card(township, tenants):
    """A card the township issued (its card type copied from 巴州's 提醒函)."""
    from xinfang.auth.models import StaffAccount
    from xinfang.auth.principal import Principal
    from xinfang.cards import service as cards
    from xinfang.cards.models import CardType, Subject

    scope = TenantScope(township.tenant.id)
    if await scope.repo(CardType).find_one({"key": "blue"}) is None:
        bazhou = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
        blue = await bazhou.repo(CardType).find_one({"key": "blue"})
        await scope.repo(CardType).insert(CardType.model_validate({**blue.model_dump(exclude={"id", "tenant_id", "revision"}),
                                                                   "tenant_id": scope.tenant_id}))

    async def staff(username):
        return Principal.of_staff(await scope.repo(StaffAccount).find_one({"username": username}), "token")

    handler, leader = await staff("handler"), await staff("leader")
    card = await cards.do_create_supervision(scope, kind="card", type_key="blue", petition_ids=[], actor=handler,
                                             subject=Subject(kind="person", name=f"村干部{uuid.uuid4().hex[:4]}", position="村主任", unit="某村"))
    card = await cards.do_approve(scope, await cards.do_submit_for_approval(scope, card, handler), leader)
    card, _ = await cards.do_issue(scope, card, handler)
    return card


async def test_the_county_supervises_a_township_card_the_same_way(client, tenants, township):
    card = await _township_card(township, tenants)
    korla = await login_token(client, tenants.CHILD_OF_B, "leader")
    siyang = await login_token(client, tenants.A, "leader")
    # 泗阳 is not above the township: the card's number is as unknown there as a made-up one.
    body = {"subject_kind": "card", "subject": card.document_no or str(card.id), "requirement": "请督促被监督对象按期说明",
            "due_on": (china_today() + timedelta(days=60)).isoformat()}
    foreign = await client.post(api(tenants.A), headers=siyang, json=body)
    made_up = await client.post(api(tenants.A), headers=siyang, json=dict(body, subject="无此文号〔2026〕1号"))
    assert foreign.status_code == 404 and await foreign.get_data() == await made_up.get_data()
    opened = await client.post(api(tenants.CHILD_OF_B), headers=korla, json=body)
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    view = await opened.get_json()
    assert view["subject"]["kind"] == "card" and view["subject"]["state"] == "issued" and view["due_on"] == body["due_on"]
    assert view["subject_kind_name"]["zh"] == "监督卡"
    oid = view["id"]
    assert (await client.post(api(township.slug, f"/{oid}/reports"), headers=township.handler,
                              json={"text": "被监督对象已书面说明。"})).status_code == 201
    assert (await client.post(api(tenants.CHILD_OF_B, f"/{oid}/return"), headers=korla, json={"reason": "说明不充分"})).status_code == 200
    assert (await client.post(api(township.slug, f"/{oid}/reports"), headers=township.handler,
                              json={"text": "已补充说明并整改。"})).status_code == 201
    accepted = await client.post(api(tenants.CHILD_OF_B, f"/{oid}/accept"), headers=korla)
    assert accepted.status_code == 200 and (await accepted.get_json())["state"] == "accepted"
    # 巴州 is above the township too, but did not open this one: a plain 404.
    assert (await client.get(api(tenants.B, f"/{oid}"), headers=await login_token(client, tenants.B, "leader"))).status_code == 404


async def test_the_sweep_warns_once_and_escalates_an_overdue_item_exactly_once(client, tenants, township):
    filed = await submitted(client, tenants.CHILD_OF_B)
    leader = await login_token(client, tenants.B, "leader")
    opened = await client.post(api(tenants.B), headers=leader, json={
        "subject_kind": "petition", "subject": filed["number"], "requirement": "限期办结", "working_days": 10, "remind_working_days": 2})
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    oid = ObjectId((await opened.get_json())["id"])
    collection = Oversight.get_pymongo_collection()
    today = china_today()

    # The deadline is tomorrow and the warning day today: the sweep warns once (the beat may be the one that does).
    await collection.update_one({"_id": oid}, {"$set": {"due_on": (today + timedelta(days=1)).isoformat(), "remind_on": today.isoformat()},
                                               "$inc": {"revision": 1}})
    await asyncio.gather(sweep(utcnow()), sweep(utcnow()))
    assert (await collection.find_one({"_id": oid}))["remind_on"] is None
    korla_handler = await login_token(client, tenants.CHILD_OF_B, "handler")
    notices = await eventually(lambda: _notices_if(client, tenants.CHILD_OF_B, korla_handler, "oversight", filed["number"], 2),
                               timeout=60, message="the oversight and its warning")  # opened, then due soon: once
    assert sum(f"将于 {local_date(today + timedelta(days=1))} 到期" in n["text"]["zh"] for n in notices) == 1

    # The deadline passed yesterday: two sweeps at once (and the beat's own) raise the escalation exactly once.
    yesterday = (today - timedelta(days=1)).isoformat()
    await collection.update_one({"_id": oid}, {"$set": {"due_on": yesterday}, "$inc": {"revision": 1}})
    reports = await asyncio.gather(sweep(utcnow()), sweep(utcnow()), sweep(utcnow()))
    raw = await collection.find_one({"_id": oid})
    assert raw["overdue"] is True and [e["due_on"] for e in raw["escalations"]] == [yesterday]
    assert sum(r.escalated for r in reports) <= 1
    await sweep(utcnow())
    assert len((await collection.find_one({"_id": oid}))["escalations"]) == 1
    needle = filed["number"]
    await eventually(lambda: _notices_if(client, tenants.CHILD_OF_B, korla_handler, "oversight_overdue", needle, 1), timeout=60,
                     message="the lower body's overdue notice")
    await eventually(lambda: _notices_if(client, tenants.B, leader, "oversight_overdue", needle, 1), timeout=60,
                     message="the upper body's overdue notice")
    overdue = await (await client.get(api(tenants.B, "?side=issued&state=overdue"), headers=leader)).get_json()
    assert str(oid) in [i["id"] for i in overdue["items"]]
    stats = await (await client.get(f"/t/{tenants.B}/api/oversight-stats", headers=leader)).get_json()
    assert next(b for b in stats["timeliness"] if b["bucket"] == "overdue")["count"] >= 1

    # A new deadline lifts the flag; the case's own page at 库尔勒 shows the oversight from above.
    reminded = await client.post(api(tenants.B, f"/{oid}/reminders"), headers=leader, json={"message": "请抓紧", "due_on": (today + timedelta(days=90)).isoformat()})
    assert reminded.status_code == 201 and (await reminded.get_json())["overdue"] is False
    pid = await petition_id_of(tenants.CHILD_OF_B, filed["number"])
    from tests.login_pages import staff_login
    browser = client.__class__(client.app)
    assert (await staff_login(browser, tenants.CHILD_OF_B, "handler")).status_code == 302
    page = await (await browser.get(f"/t/{tenants.CHILD_OF_B}/staff/petitions/{pid}")).get_data(as_text=True)
    assert "上级督办" in page and f"/t/{tenants.CHILD_OF_B}/staff/oversight/{oid}" in page


@pytest.mark.parametrize("bad", [
    {"subject_kind": "petition", "subject": "X", "requirement": "督办"},  # no deadline
    {"subject_kind": "petition", "subject": "X", "requirement": "督办", "due_on": "2001-01-01"},
    {"subject_kind": "petition", "subject": "X", "requirement": "督办", "due_on": "明天"},
    {"subject_kind": "petition", "subject": "X", "requirement": "督办", "working_days": 0},
    {"subject_kind": "letter", "subject": "X", "requirement": "督办", "working_days": 3},
    {"subject_kind": "petition", "subject": "X", "requirement": "", "working_days": 3},
    {"subject_kind": "petition", "subject": "X", "requirement": "督办", "working_days": 3, "extra": 1},
])
async def test_bad_openings_are_422_with_the_field_named(client, tenants, bad):
    leader = await login_token(client, tenants.B, "leader")
    answer = await client.post(api(tenants.B), headers=leader, json=bad)
    assert answer.status_code == 422, await answer.get_data(as_text=True)
    fields = (await answer.get_json())["error"]["fields"]
    assert fields and all(m["zh"] and m["en"] for m in fields.values())


async def test_nobody_outside_reaches_an_oversight(app, client, tenants, township):
    """Every object route, for 泗阳 (unrelated) and 库尔勒 (above the township, but not the issuer): the same 404 as
    a made-up id; 泗阳's credentials on 巴州's URL are refused; the pages likewise."""
    filed = await submitted(client, tenants.CHILD_OF_B)  # filed at 库尔勒, assigned down to the township
    pid = await petition_id_of(tenants.CHILD_OF_B, filed["number"])
    korla_leader = await login_token(client, tenants.CHILD_OF_B, "leader")
    assert (await _act(client, tenants.CHILD_OF_B, korla_leader, pid, "accept")).status_code == 200
    assert (await _act(client, tenants.CHILD_OF_B, korla_leader, pid, "assign_down", target_tenant=township.slug)).status_code == 200
    leader = await login_token(client, tenants.B, "leader")
    opened = await client.post(api(tenants.B), headers=leader, json={
        "subject_kind": "petition", "subject": filed["number"], "requirement": "督办", "working_days": 3})
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    oid = (await opened.get_json())["id"]
    siyang, korla = await login_token(client, tenants.A, "leader"), await login_token(client, tenants.CHILD_OF_B, "leader")
    routes = [("GET", "", None), ("POST", "/reports", {"text": "x"}), ("POST", "/accept", {}), ("POST", "/return", {"reason": "x"}),
              ("POST", "/reminders", {"message": "x"})]
    for method, tail, body in routes:
        for slug, headers in ((tenants.A, siyang), (tenants.CHILD_OF_B, korla)):
            mine = await client.open(api(slug, f"/{oid}{tail}"), method=method, headers=headers, json=body)
            none = await client.open(api(slug, f"/{ObjectId()}{tail}"), method=method, headers=headers, json=body)
            assert mine.status_code == 404 and (mine.status_code, await mine.get_data()) == (none.status_code, await none.get_data())
        foreign = await client.open(api(tenants.B, f"/{oid}{tail}"), method=method, headers=siyang, json=body)
        assert foreign.status_code in (401, 403) and filed["number"] not in await foreign.get_data(as_text=True)
    for slug, headers in ((tenants.A, siyang), (tenants.CHILD_OF_B, korla)):
        for side in ("issued", "received"):
            listed = await client.get(api(slug, f"?side={side}"), headers=headers)
            assert listed.status_code == 200 and oid not in await listed.get_data(as_text=True)
    from tests.login_pages import staff_login
    siyang_browser = app.test_client()
    assert (await staff_login(siyang_browser, tenants.A, "leader")).status_code == 302
    for method, tail in (("GET", ""), ("POST", "/report"), ("POST", "/accept"), ("POST", "/return"), ("POST", "/remind")):
        answer = await siyang_browser.open(f"/t/{tenants.A}/staff/oversight/{oid}{tail}", method=method, form={})
        assert answer.status_code in (403, 404), (tail, answer.status_code)  # 403: a POST without its CSRF token
    page = await siyang_browser.get(f"/t/{tenants.A}/staff/oversight")
    assert page.status_code == 200 and filed["number"] not in await page.get_data(as_text=True)
