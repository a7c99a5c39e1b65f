"""Integrity archives and promotion reviews: two tenants and a superuser in every case."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from xinfang.archives import reviews
from xinfang.archives.models import ArchiveEntry, Official, PromotionReview
from xinfang.audit.models import AuditRecord
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually, login_token
from tests.staffing import approved_account
from tests.test_audit_log import every_race_lost  # noqa: F401  (a fixture: appends that cannot land)
from tests.test_petitions import NAMED, petition_id_of, submitted

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id() -> str:
    """A fresh, well-formed 18-digit resident identity number (random body, correct check digit)."""
    body = "320323" + f"{random.randint(1960, 1995)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}" + f"{random.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


async def register(client, slug: str, headers: dict, **fields) -> dict:
    answer = await client.post(f"/t/{slug}/api/officials", headers=headers, json=fields)
    assert answer.status_code == 201, await answer.get_data(as_text=True)
    return await answer.get_json()


async def card_for(client, slug: str, official_id: str, type_key: str, name: str, petition_ids=()) -> str:
    """A card issued (approved first) to the official: it enters their archive."""
    handler, leader = await login_token(client, slug, "handler"), await login_token(client, slug, "leader")
    created = await client.post(f"/t/{slug}/api/supervisions", headers=handler, json={
        "kind": "card", "type_key": type_key, "subject": {"kind": "person", "name": name}, "official_id": official_id,
        "petition_ids": list(petition_ids)})
    assert created.status_code == 201, await created.get_data(as_text=True)
    sid = (await created.get_json())["id"]
    assert (await client.post(f"/t/{slug}/api/supervisions/{sid}/submit", headers=handler)).status_code == 200
    assert (await client.post(f"/t/{slug}/api/supervisions/{sid}/approve", headers=leader)).status_code == 200
    issued = await client.post(f"/t/{slug}/api/supervisions/{sid}/issue", headers=handler)
    assert issued.status_code == 200, await issued.get_data(as_text=True)
    return sid


async def archive(client, slug: str, official_id: str, headers: dict) -> dict:
    answer = await client.get(f"/t/{slug}/api/officials/{official_id}/archive?purpose=test", headers=headers)
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    return await answer.get_json()


@pytest.fixture
async def person(client, tenants, worker):
    """One cadre known to 泗阳 and 巴州 under one identity number (typed differently), with a card in each."""
    number = resident_id()
    handler_a, handler_b = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.B, "handler")
    name = f"王{random.randint(1000, 9999)}"
    at_a = await register(client, tenants.A, handler_a, name=name, unit="泗阳县某中学", position="副校长", rank_level="副科级", id_number=number)
    at_b = await register(client, tenants.B, handler_b, name=f" {name} ", unit="库尔勒市教育局", id_number=number.lower()[:6] + " " + number[6:].lower())
    filed = await submitted(client, tenants.A, dict(NAMED, title=f"反映{name}违规收费"), address=f"10.9.{random.randint(0, 250)}.1")
    petition_id = await petition_id_of(tenants.A, filed["number"])
    card_a = await card_for(client, tenants.A, at_a["id"], "yellow", name, [petition_id])
    card_b = await card_for(client, tenants.B, at_b["id"], "orange", name)
    scope_a = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    scope_b = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)

    async def filed_in_both():  # entries follow the cards' events, in the worker
        return (await scope_a.repo(ArchiveEntry).count({"official_id": at_a["id"]}) == 2
                and await scope_b.repo(ArchiveEntry).count({"official_id": at_b["id"]}) == 1)

    await eventually(filed_in_both, message="the archive entries of the issued cards")
    return {"number": number, "name": name, "a": at_a, "b": at_b, "card_a": card_a, "card_b": card_b, "petition_id": petition_id}


async def test_the_same_number_is_the_same_person_and_a_bad_number_is_refused(client, tenants, person):
    scope_a = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    scope_b = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    a, b = await scope_a.repo(Official).get(person["a"]["id"]), await scope_b.repo(Official).get(person["b"]["id"])
    assert a.person_key == b.person_key and a.person_key.startswith("id:") and a.name_key == b.name_key
    assert person["number"] not in json.dumps(a.model_dump(mode="json")) and person["number"][-6:] not in a.person_key
    handler = await login_token(client, tenants.A, "handler")
    wrong = person["number"][:17] + ("0" if person["number"][17] != "0" else "1")
    refused = await client.post(f"/t/{tenants.A}/api/officials", headers=handler, json={"name": "错号", "id_number": wrong})
    assert refused.status_code == 422 and "id_number" in (await refused.get_json())["error"]["fields"]
    twice = await client.post(f"/t/{tenants.A}/api/officials", headers=handler, json={"name": person["name"], "id_number": person["number"]})
    assert twice.status_code == 409


async def test_an_archive_holds_the_cards_and_petitions_but_never_the_petitioner(client, tenants, person):
    handler = await login_token(client, tenants.A, "handler")
    view = await archive(client, tenants.A, person["a"]["id"], handler)
    kinds = sorted(e["kind"] for e in view["entries"])
    assert kinds == ["card", "petition"]
    card = next(e for e in view["entries"] if e["kind"] == "card")
    assert card["type_name"]["zh"] == "预警卡" and card["colour"] == "#f2c200" and card["status"] == "issued"
    text = json.dumps(view, ensure_ascii=False)
    assert all(NAMED[k] not in text for k in ("petitioner_name", "id_number", "phone"))
    # a decision changes the entry (through the event, in the worker)
    leader = await login_token(client, tenants.A, "leader")
    await client.post(f"/t/{tenants.A}/api/supervisions/{person['card_a']}/answer", headers=handler, json={"text": "已整改"})
    await client.post(f"/t/{tenants.A}/api/supervisions/{person['card_a']}/decide", headers=leader, json={"outcome": "close"})

    async def closed():
        entries = (await archive(client, tenants.A, person["a"]["id"], handler))["entries"]
        return [e for e in entries if e["kind"] == "card" and e["status"] == "closed" and e["result"]]

    assert (await eventually(closed, message="the archive entry to follow the decision"))[0]["result"] == "说明清楚，予以了结"
    # 巴州's archive of the same person holds only 巴州's card
    b_view = await archive(client, tenants.B, person["b"]["id"], await login_token(client, tenants.B, "handler"))
    assert [e["type_name"]["zh"] for e in b_view["entries"]] == ["督办函"]


async def test_every_archive_read_is_audited_and_each_tenant_sees_its_own_readers(client, tenants, person):
    handler_a, handler_b = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.B, "handler")
    before = await AuditRecord.find({"action": "archive.read"}).count()
    await archive(client, tenants.A, person["a"]["id"], handler_a)
    assert await AuditRecord.find({"action": "archive.read"}).count() == before + 1
    log_a = (await (await client.get(f"/t/{tenants.A}/api/archive-access-log", headers=handler_a)).get_json())["records"]
    log_b = (await (await client.get(f"/t/{tenants.B}/api/archive-access-log", headers=handler_b)).get_json())["records"]
    assert log_a[0]["subject"] == person["a"]["id"] and log_a[0]["actor_username"] == "handler"
    assert person["a"]["id"] not in json.dumps(log_b)
    admin_a = await login_token(client, tenants.A, "admin")
    assert (await client.get(f"/t/{tenants.A}/api/officials/{person['a']['id']}/archive", headers=admin_a)).status_code == 403
    assert (await client.get(f"/t/{tenants.B}/api/officials/{person['a']['id']}/archive", headers=handler_b)).status_code == 404


async def test_a_promotion_review_needs_a_second_person_and_reads_across_tenants(client, tenants, person):
    reviewer, approver = await login_token(client, None, "org-reviewer"), await login_token(client, None, "org-approver")
    opened = await client.post("/api/platform/reviews", headers=reviewer, json={
        "official_name": person["name"], "purpose": "promotion", "reference_no": "宿组干〔2027〕12号",
        "justification": "拟提拔为县教育局副局长，征求廉政意见", "id_number": person["number"]})
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    review = await opened.get_json()
    assert review["state"] == "awaiting_approval"
    opinion_url = f"/api/platform/reviews/{review['id']}/opinion"
    assert (await client.get(opinion_url, headers=reviewer)).status_code == 403  # nothing before approval
    assert (await client.post(f"/api/platform/reviews/{review['id']}/approve", headers=reviewer)).status_code == 403  # not by oneself
    assert (await client.post(f"/api/platform/reviews/{review['id']}/approve", headers=approver)).status_code == 200
    assert (await client.get(opinion_url, headers=approver)).status_code == 403  # the grant is the requester's
    staff = await login_token(client, tenants.A, "leader")
    assert (await client.get(opinion_url, headers=staff)).status_code in (401, 403)  # tenant staff: never

    before = await AuditRecord.find({"review_id": review["id"]}).count()
    answer = await client.get(opinion_url, headers=reviewer)
    assert answer.status_code == 200
    opinion = await answer.get_json()
    assert await AuditRecord.find({"review_id": review["id"]}).count() == before + 1
    record = await AuditRecord.find({"review_id": review["id"], "action": "archive.opinion.json"}).first_or_none()
    assert record is not None and len(record.tenant_ids) == 2
    assert {e["tenant"]["slug"] for e in opinion["entries"]} == {tenants.A, tenants.B}
    assert [e["on"] for e in opinion["entries"]] == sorted((e["on"] for e in opinion["entries"]), reverse=True)
    assert {e["kind"] for e in opinion["entries"]} >= {"card", "petition"}
    assert all(NAMED[k] not in json.dumps(opinion, ensure_ascii=False) for k in ("petitioner_name", "phone"))
    # each tenant sees that the review read its officials' archive
    for slug in (tenants.A, tenants.B):
        seen = (await (await client.get(f"/t/{slug}/api/archive-access-log", headers=await login_token(client, slug, "handler"))).get_json())["records"]
        assert any(r["review_id"] == review["id"] and r["actor_username"] == "org-reviewer" for r in seen)
    pdf = await client.get(f"{opinion_url}.pdf", headers=reviewer)
    body = await pdf.get_data()
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF") and len(body) > 1500
    assert await AuditRecord.find({"review_id": review["id"], "action": "archive.opinion.pdf"}).count() == 1

    stored = await PromotionReview.get(review["id"])
    stored.expires_at = utcnow() - timedelta(minutes=1)
    await stored.save()
    assert (await client.get(opinion_url, headers=reviewer)).status_code == 403  # time-boxed


async def test_same_name_elsewhere_is_shown_apart_and_linked_only_by_hand(client, tenants, person, settings):
    korla = TenantScope((await Tenant.find_one({"slug": tenants.CHILD_OF_B})).id)
    await approved_account(client, tenants.CHILD_OF_B, "archivist", ["handler"])  # a second person approves the role
    korla_handler = await login_token(client, tenants.CHILD_OF_B, "archivist", "long-enough-pw")
    namesake = await register(client, tenants.CHILD_OF_B, korla_handler, name=person["name"], unit="库尔勒市某小学")  # no number
    other = await register(client, tenants.CHILD_OF_B, korla_handler, name=person["name"], id_number=resident_id())  # another person
    reviewer, approver = await login_token(client, None, "org-reviewer"), await login_token(client, None, "org-approver")
    review = await (await client.post("/api/platform/reviews", headers=reviewer, json={
        "official_name": person["name"], "purpose": "transfer", "reference_no": "巴组干〔2027〕3号", "justification": "拟交流任职",
        "id_number": person["number"]})).get_json()
    await client.post(f"/api/platform/reviews/{review['id']}/approve", headers=approver)
    opinion = await (await client.get(f"/api/platform/reviews/{review['id']}/opinion", headers=reviewer)).get_json()
    assert {m["id"] for m in opinion["possible_matches"]} == {namesake["id"], other["id"]}  # shown apart, never merged
    assert {e["tenant"]["slug"] for e in opinion["entries"]} == {tenants.A, tenants.B}
    refused = await client.post(f"/api/platform/reviews/{review['id']}/links", headers=reviewer,
                                json={"official_id": other["id"], "reason": "同名同姓，疑为同一人"})
    assert refused.status_code == 409  # a different identity number is a different person
    linked = await client.post(f"/api/platform/reviews/{review['id']}/links", headers=reviewer,
                               json={"official_id": namesake["id"], "reason": "经核对工作经历为同一人"})
    assert linked.status_code == 200
    siyang = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    person_key = (await siyang.repo(Official).get(person["a"]["id"])).person_key
    assert (await korla.repo(Official).get(namesake["id"])).person_key == person_key
    assert await AuditRecord.find({"review_id": review["id"], "action": "archive.link"}).count() == 1
    after = await (await client.get(f"/api/platform/reviews/{review['id']}/opinion", headers=reviewer)).get_json()
    assert namesake["id"] in {r["id"] for r in after["person"]["records"]}
    assert namesake["id"] not in {m["id"] for m in after["possible_matches"]}
    unlinked = await client.delete(f"/api/platform/reviews/{review['id']}/links/{namesake['id']}", headers=reviewer, query_string={"reason": "误认"})
    assert unlinked.status_code == 200
    assert (await korla.repo(Official).get(namesake["id"])).person_key == f"official:{namesake['id']}"


async def test_a_superuser_without_an_active_grant_gets_nothing(client, tenants, person, settings):
    reviewer = await login_token(client, None, "org-reviewer")
    assert (await client.get("/api/platform/reviews/0123456789abcdef01234567/opinion", headers=reviewer)).status_code == 404
    review = await (await client.post("/api/platform/reviews", headers=reviewer, json={
        "official_name": person["name"], "purpose": "promotion", "reference_no": "X-1", "justification": "test",
        "id_number": person["number"]})).get_json()
    await client.post(f"/api/platform/reviews/{review['id']}/close", headers=reviewer)
    assert (await client.get(f"/api/platform/reviews/{review['id']}/opinion", headers=reviewer)).status_code == 403
    missing = await client.post("/api/platform/reviews", headers=reviewer, json={
        "official_name": person["name"], "purpose": "curiosity", "reference_no": "", "justification": " "})
    assert missing.status_code == 422
    assert {"purpose", "id_number"} <= set((await missing.get_json())["error"]["fields"])
    # where the platform is configured without a second person, the grant starts at once
    from dataclasses import replace

    from xinfang.auth.principal import Principal
    from xinfang.crypto import KeyRing

    single = replace(settings, review_needs_second_approver=False, review_grant_hours=1)
    su = Principal(account_id="0123456789abcdef01234567", username="org-solo", tenant_id=None, permissions=frozenset(), via="test",
                   roles=frozenset(), display_name="solo")
    direct = await reviews.do_open_review(su, KeyRing(b"k" * 32), single, official_name="某", purpose="promotion", reference_no="Y",
                                          justification="j", id_number=resident_id())
    assert direct.state == "active" and timedelta(minutes=59) < direct.expires_at - direct.granted_at <= timedelta(hours=1)


async def test_tenant_defined_archive_documents_are_checked_against_their_schema(client, tenants, person):
    handler, admin = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.A, "admin")
    url = f"/t/{tenants.A}/api/officials/{person['a']['id']}/documents"
    bad = await client.post(url, headers=handler, json={"type_key": "integrity_evaluation", "on": "2026-11-20", "data": {"rating": "superb"}})
    fields = (await bad.get_json())["error"]["fields"]
    assert bad.status_code == 422 and {"data.rating", "data.participants"} <= set(fields) and fields["data.rating"]["en"]
    good = await client.post(url, headers=handler, json={"type_key": "integrity_evaluation", "on": "2026-11-20",
                                                        "data": {"rating": "good", "participants": 37}})
    assert good.status_code == 201
    assert (await client.post(f"/t/{tenants.B}/api/officials/{person['b']['id']}/documents", headers=await login_token(client, tenants.B, "handler"),
                              json={"type_key": "integrity_evaluation", "on": "2026-11-20", "data": {}})).status_code == 422  # 巴州 has no such type
    schema = {"type": "object", "additionalProperties": False, "properties": {"conclusion": {"type": "string", "title": "结论"}}}
    defined = await client.put(f"/t/{tenants.A}/api/archive-document-types/investigation_conclusion", headers=admin,
                               json={"name": {"zh": "核查结论", "en": "Investigation conclusion"}, "json_schema": schema})
    assert defined.status_code == 200
    unsafe = await client.put(f"/t/{tenants.A}/api/archive-document-types/unsafe", headers=admin,
                              json={"name": {"zh": "x", "en": "x"}, "json_schema": {"type": "object", "$ref": "http://example.com/s.json"}})
    assert unsafe.status_code == 422
    assert (await client.put(f"/t/{tenants.A}/api/archive-document-types/x", headers=handler, json={"name": {}, "json_schema": {}})).status_code == 403
    view = await archive(client, tenants.A, person["a"]["id"], handler)
    assert any(e["kind"] == "document" and e["data"] == {"rating": "good", "participants": 37} for e in view["entries"])


async def test_an_archive_read_that_cannot_be_audited_answers_nothing(client, tenants, person, every_race_lost):
    handler = await login_token(client, tenants.A, "handler")
    answer = await client.get(f"/t/{tenants.A}/api/officials/{person['a']['id']}/archive", headers=handler)
    body = await answer.get_data(as_text=True)
    assert answer.status_code == 503 and "audit_unavailable" in body and "预警卡" not in body and person["name"] not in body
    page = await client.get(f"/t/{tenants.A}/staff/officials/{person['a']['id']}", headers=handler)
    assert page.status_code == 503 and "预警卡" not in await page.get_data(as_text=True)
