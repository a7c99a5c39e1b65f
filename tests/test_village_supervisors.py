"""Village supervisors (信访监督员), issue 15: prefecture (巴州) -> county (库尔勒) -> a township made here. A supervisor
at the township relays two villagers' petitions with their consent (identity sealed as any registration, the consent
kept on the petition), records a follow-up, sees only those two (a third, registered by the township's staff, and
another supervisor's relay are plain 404s), and the prefecture's network statistics count them. Relayed petitions
carry the source "supervisor" for the analytics facts."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId

from tests.conftest import PASSWORD, eventually, login_token
from tests.test_petitions import _act, petition_id_of
from tests.staffing import operator_account

# Checked by tests/test_isolation.py with every other route: another tenant's petition under my URL is a plain 404
# (the same answer as a made-up id), my lists hold nothing of the other tenant, my credentials on its URL are refused.
ISOLATION_CASES = {
    "supervisors.list_relays": dict(method="GET", path="/api/relays", kind="collection"),
    # The isolation tenants are a county and a prefecture: supervisors relay at townships only (403, said in words).
    "supervisors.relay": dict(method="POST", path="/api/relays", kind="collection", expect=(403,),
                              body={"form": "petition", "answers": {"title": "隔离测试", "content": "隔离测试代为反映"}, "consent": True,
                                    "consent_method": "in_person"}),
    "supervisors.show_relay": dict(method="GET", path="/api/relays/{id}", kind="object", owner_object="petition"),
    "supervisors.record_follow_up": dict(method="POST", path="/api/relays/{id}/follow-ups", kind="object", owner_object="petition",
                                         body={"kind": "visit", "happened_on": "2026-01-05", "note": "隔离测试"}),
    "supervisors.supervisor_network": dict(method="GET", path="/api/supervisor-network", kind="collection"),
    "supervisor_pages.relays_page": dict(method="GET", path="/staff/relays", kind="collection"),
    "supervisor_pages.new_relay_page": dict(method="GET", path="/staff/relays/new", kind="collection"),
    "supervisor_pages.relay_submit": dict(method="POST", path="/staff/relays/new", kind="collection", form=True, expect=(403,)),
    "supervisor_pages.relay_page": dict(method="GET", path="/staff/relays/{id}", kind="object", owner_object="petition"),
    "supervisor_pages.follow_up_submit": dict(method="POST", path="/staff/relays/{id}/follow-ups", kind="object", owner_object="petition",
                                              form=True, body={"kind": "visit", "happened_on": "2026-01-05", "note": "隔离测试"}),
    "supervisor_pages.network_page": dict(method="GET", path="/staff/supervisor-network", kind="collection"),
}

TOWNSHIP_BUNDLE = """
[tenant]
slug = "{slug}"
name = {{ zh = "{name}", en = "{name} Township Commission" }}
level = "township"
kind = "commission"
region_code = "652801{code:03d}"
parent = "korla"

[[accounts]]
username = "admin"
display_name = "乡镇管理员 Admin"
roles = ["tenant_admin"]

[[accounts]]
username = "handler"
display_name = "乡镇承办人 Handler"
roles = ["handler", "registrar"]

[[accounts]]
username = "leader"
display_name = "乡镇领导 Leader"
roles = ["leader"]

[[forms]]
key = "petition"
template = "petition"
"""


async def township(tmp_path: Path) -> tuple[str, str]:
    """A township under 库尔勒 (a county under 巴州), loaded from a bundle as an operator would: (slug, name)."""
    from xinfang.tenancy.bundles import BundleLoader, discover

    slug, name = f"town-{uuid.uuid4().hex[:8]}", "铁门关镇" + random.choice("甲乙丙丁戊") + uuid.uuid4().hex[:3]
    folder = tmp_path / "bundles" / slug
    folder.mkdir(parents=True)
    (folder / "bundle.toml").write_text(TOWNSHIP_BUNDLE.format(slug=slug, name=name, code=random.randrange(100, 999)), encoding="utf-8")
    _, bundles = discover(tmp_path / "bundles")
    await BundleLoader(PASSWORD).load(None, bundles)
    return slug, name


async def supervisor(client, slug: str, username: str, display_name: str) -> dict:
    """A supervisor made by the township's one admin (one tenant admin grants this role: it reads nothing sensitive)."""
    admin = await login_token(client, slug, "admin")
    created = await client.post(f"/t/{slug}/api/accounts", headers=admin, json={
        "username": username, "display_name": display_name, "password": "long-enough-pw", "roles": ["village_supervisor"]})
    assert created.status_code == 201, await created.get_data(as_text=True)
    body = await created.get_json()
    assert body["pending_role_request"] is None and body["roles"] == ["village_supervisor"]
    return await login_token(client, slug, username, "long-enough-pw")


def villager(n: int) -> dict:
    return {"title": f"村道损坏{n}", "category": "other", "content": f"村里通往学校的道路第{n}段坑洼严重，雨天学生无法通行，请乡里尽快修复。",
            "petitioner_name": f"村民王{n}号", "id_number": "11010519491231002X", "phone": f"1390000{n:04d}"}


async def relay(client, slug, headers, answers, **extra):
    return await client.post(f"/t/{slug}/api/relays", headers=headers, json={
        "form": "petition", "answers": answers, "consent": True, "consent_method": "in_person", **extra})


async def test_a_township_supervisor_relays_follows_up_sees_only_their_own_and_is_counted_above(client, tenants, tmp_path):
    from xinfang.analytics.facts import _source
    from xinfang.petitions.models import Petition

    slug, name = await township(tmp_path)
    li = await supervisor(client, slug, f"sv-li-{uuid.uuid4().hex[:6]}", "李监督员")

    # Consent first: without the tick (or with an unknown way of agreeing) nothing is registered, the field is named.
    refused = await client.post(f"/t/{slug}/api/relays", headers=li, json={
        "form": "petition", "answers": villager(0), "consent": False, "consent_method": "in_person"})
    assert refused.status_code == 422 and "consent" in (await refused.get_json())["error"]["fields"]
    unknown = await relay(client, slug, li, villager(0), consent_method="telepathy")
    assert unknown.status_code == 422 and "consent_method" in (await unknown.get_json())["error"]["fields"]

    first, second = [await relay(client, slug, li, villager(n)) for n in (1, 2)]
    assert first.status_code == second.status_code == 201, await first.get_data(as_text=True)
    one, two = await first.get_json(), await second.get_json()
    assert len(one["receipt"]) == 16 and one["number"].startswith(slug.upper())

    # Identity sealed exactly as a registration seals it; the consent travels with the petition; the source is "supervisor".
    stored = parse_obj(Petition, await Petition.get_pymongo_collection().find_one({"_id": ObjectId(one["id"])}))
    assert stored.identity_sealed and "id_number" not in stored.answers and "petitioner_name" not in stored.answers
    assert stored.petitioner_key and stored.steps[0].actor_name == "李监督员"
    assert "当面口头同意" in stored.steps[0].fields["relay_consent"] and "李监督员" in stored.steps[0].fields["relay_consent"]
    assert _source(stored) == "supervisor"

    # A third petition, registered by the township's own staff: not the supervisor's to see.
    handler = await login_token(client, slug, "handler")
    staff_filed = await client.post(f"/t/{slug}/api/petitions", headers=handler, json={
        "form": "petition", "channel": "visit", "anonymous": True, "answers": {"title": "乡镇登记的信访", "content": "乡镇工作人员登记的来访。", "category": "other"}})
    assert staff_filed.status_code == 201
    third = (await staff_filed.get_json())["id"]
    assert _source(parse_obj(Petition, await Petition.get_pymongo_collection().find_one({"_id": ObjectId(third)}))) == "staff"

    listed = await (await client.get(f"/t/{slug}/api/relays", headers=li)).get_json()
    assert {r["id"] for r in listed["items"]} == {one["id"], two["id"]} and listed["total"] == 2
    shown = await client.get(f"/t/{slug}/api/relays/{one['id']}", headers=li)
    view = await shown.get_json()
    assert shown.status_code == 200 and view["number"] == one["number"] and view["consent"]["method"] == "in_person"
    text = json.dumps(view, ensure_ascii=False)
    assert "11010519491231002X" not in text and "村民王1号" not in text and "13900000001" not in text  # never read back
    hidden, made_up = [await client.get(f"/t/{slug}/api/relays/{pid}", headers=li) for pid in (third, str(ObjectId()))]
    assert hidden.status_code == made_up.status_code == 404
    assert await hidden.get_data() == await made_up.get_data()
    page_hidden = await client.get(f"/t/{slug}/staff/relays/{third}", headers=li)
    assert page_hidden.status_code == 404
    # No inbox, no case pages, no identities: the petitions routes refuse the role outright.
    assert (await client.get(f"/t/{slug}/api/petitions/{one['id']}", headers=li)).status_code == 403
    assert (await client.get(f"/t/{slug}/api/petitions", headers=li)).status_code == 403
    assert (await client.get(f"/t/{slug}/staff/", headers=li)).status_code == 403

    # A follow-up on an own relay; none on the staff's petition; a bad one is refused with its fields named.
    follow = await client.post(f"/t/{slug}/api/relays/{one['id']}/follow-ups", headers=li, json={
        "kind": "visit", "happened_on": "2026-01-05", "note": "村民说路已经填了一半，还有一段没修。"})
    assert follow.status_code == 201, await follow.get_data(as_text=True)
    assert (await client.post(f"/t/{slug}/api/relays/{third}/follow-ups", headers=li, json={
        "kind": "visit", "happened_on": "2026-01-05", "note": "x"})).status_code == 404
    bad = await client.post(f"/t/{slug}/api/relays/{one['id']}/follow-ups", headers=li, json={"kind": "visit", "happened_on": "2999-01-01", "note": "x"})
    assert bad.status_code == 422 and "happened_on" in (await bad.get_json())["error"]["fields"]
    view = await (await client.get(f"/t/{slug}/api/relays/{one['id']}", headers=li)).get_json()
    assert [f["note"] for f in view["follow_ups"]] == ["村民说路已经填了一半，还有一段没修。"]

    # Another supervisor of the same township sees none of 李's relays.
    zhao = await supervisor(client, slug, f"sv-zhao-{uuid.uuid4().hex[:6]}", "赵监督员")
    assert (await (await client.get(f"/t/{slug}/api/relays", headers=zhao)).get_json())["items"] == []
    assert (await client.get(f"/t/{slug}/api/relays/{one['id']}", headers=zhao)).status_code == 404
    assert (await client.post(f"/t/{slug}/api/relays/{one['id']}/follow-ups", headers=zhao, json={
        "kind": "phone", "happened_on": "2026-01-05", "note": "x"})).status_code == 404

    # The township's staff see the relay on the case page: who relayed it, the consent, the follow-up.
    case_page = await (await client.get(f"/t/{slug}/staff/petitions/{one['id']}", headers=handler)).get_data(as_text=True)
    assert "信访监督员代为反映" in case_page and "当面口头同意" in case_page and "还有一段没修" in case_page

    # The township closes the second relay: accept, assign, reply, close.
    leader = await login_token(client, slug, "leader")
    accounts = await (await client.get(f"/t/{slug}/api/accounts", headers=leader)).get_json()
    handler_id = next(a["id"] for a in accounts["accounts"] if a["username"] == "handler")
    for who, key, fields in ((handler, "accept", {"opinion": "受理"}), (leader, "assign", {"assignee": handler_id}),
                             (handler, "reply", {"reply": "已安排修路"}), (handler, "close", {"opinion": "办结"})):
        moved = await _act(client, slug, who, two["id"], key, **fields)
        assert moved.status_code == 200, (key, await moved.get_data(as_text=True))
    listed = await (await client.get(f"/t/{slug}/staff/relays", headers=li)).get_data(as_text=True)
    assert "已办结" in listed and one["number"] in listed and two["number"] in listed

    # The worker's analytics fact of a relay says where it came from: source "supervisor" (信访监督员代为反映).
    from xinfang.analytics.models import AnalyticsFact
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant

    town_scope = TenantScope((await Tenant.find_one({"slug": slug})).id)

    async def fact_of_relay():
        fact = await town_scope.repo(AnalyticsFact).get(one["id"])
        return fact if fact is not None and fact.source else None

    assert (await eventually(fact_of_relay, timeout=60, message="the relay's analytics fact")).source == "supervisor"

    # The prefecture's network statistics: the township's row, and 库尔勒's row counting it within.
    bazhou = await login_token(client, tenants.B, "leader")
    stats = await (await client.get(f"/t/{tenants.B}/api/supervisor-network", headers=bazhou)).get_json()
    row = next(r for r in stats["rows"] if r["slug"] == slug)
    assert row["own"] == {"supervisors": 2, "relays_month": 2, "relays_year": 2, "follow_ups_year": 1, "closed_year": 1}
    assert row["depth"] == 2 and row["name"]["zh"] == name
    korla = next(r for r in stats["rows"] if r["slug"] == tenants.CHILD_OF_B)
    assert korla["depth"] == 1 and all(korla["total"][m] >= row["own"][m] for m in row["own"])
    assert [r["slug"] for r in stats["rows"]].index(tenants.CHILD_OF_B) < [r["slug"] for r in stats["rows"]].index(slug)
    page = await (await client.get(f"/t/{tenants.B}/staff/supervisor-network", headers=bazhou)).get_data(as_text=True)
    assert name in page and "信访监督员网络统计" in page
    # The county sees the same township; the township has nothing below it; a supervisor reads no statistics.
    county = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/supervisor-network",
                                     headers=await login_token(client, tenants.CHILD_OF_B, "leader"))).get_json()
    assert next(r for r in county["rows"] if r["slug"] == slug)["own"] == row["own"]
    assert (await client.get(f"/t/{slug}/api/supervisor-network", headers=li)).status_code == 403


async def test_supervisors_relay_only_at_township_level_and_cannot_grant_themselves(client, tenants, tmp_path):
    # A county is not where supervisors serve: the role there relays nothing (403, said in words).
    await operator_account(tenants.CHILD_OF_B, "sv-county-probe", ["village_supervisor"])
    county_sv = await login_token(client, tenants.CHILD_OF_B, "sv-county-probe", "long-enough-pw")
    refused = await relay(client, tenants.CHILD_OF_B, county_sv, villager(7))
    assert refused.status_code == 403 and "乡镇" in (await refused.get_json())["error"]["message"]["zh"]
    # Nobody grants themselves the role (separation of duties), and the supervisor cannot grant anything.
    slug, _ = await township(tmp_path)
    admin = await login_token(client, slug, "admin")
    me = await (await client.get(f"/t/{slug}/api/me", headers=admin)).get_json()
    own = await client.put(f"/t/{slug}/api/accounts/{me['account']['id']}/roles", headers=admin, json={"roles": ["tenant_admin", "village_supervisor"]})
    assert own.status_code == 403
    sv = await supervisor(client, slug, f"sv-self-{uuid.uuid4().hex[:6]}", "孙监督员")
    sv_me = await (await client.get(f"/t/{slug}/api/me", headers=sv)).get_json()
    grab = await client.put(f"/t/{slug}/api/accounts/{sv_me['account']['id']}/roles", headers=sv, json={"roles": ["village_supervisor", "handler"]})
    assert grab.status_code == 403
    # The relay form says what a supervisor must say to the villager, and asks for consent before anything else.
    page = await (await client.get(f"/t/{slug}/staff/relays/new", headers=sv)).get_data(as_text=True)
    assert page.index('name="consent"') < page.index('name="title"') and "身份信息会加密保存" in page
    # The page form: no tick, no petition (422, the consent named); with it, a receipt shown once.
    answers = {k: v for k, v in villager(8).items()}
    missing = await client.post(f"/t/{slug}/staff/relays/new", headers=sv, form={"_form": "petition", "consent_method": "signed", **answers})
    assert missing.status_code == 422 and "请先征得村民同意" in await missing.get_data(as_text=True)
    made = await client.post(f"/t/{slug}/staff/relays/new", headers=sv, form={"_form": "petition", "consent": "1", "consent_method": "signed", **answers})
    body = await made.get_data(as_text=True)
    assert made.status_code == 201 and "已代为反映" in body and "回执号只显示这一次" in body
    pid = await petition_id_of(slug, body.split("已代为反映：")[1].split("<")[0].strip())
    followed = await client.post(f"/t/{slug}/staff/relays/{pid}/follow-ups", headers=sv, form={"kind": "phone", "happened_on": "2026-02-01", "note": ""})
    assert followed.status_code == 422 and "请记录村民说了什么" in await followed.get_data(as_text=True)
    followed = await client.post(f"/t/{slug}/staff/relays/{pid}/follow-ups", headers=sv, form={"kind": "phone", "happened_on": "2026-02-01", "note": "电话里说已经有人来看过"})
    assert followed.status_code == 302
    shown = await (await client.get(f"/t/{slug}/staff/relays/{pid}", headers=sv)).get_data(as_text=True)
    assert "电话里说已经有人来看过" in shown and "书面签字同意" in shown and "电话回访" in shown and "坑洼严重" in shown
