"""Separation of duties (README): who may grant which role, a second person for sensitive roles,
every grant in the audit chain; nobody approves their own card; copies stay within a tenant's line.

Against the real store, the real HTTP routes and the real audit chain. Three small tenants of this
file's own are loaded from a bundle (so the shared ones keep their settings): 示范市纪委 (sod-city),
a one-person office under it allowed to approve its own cards (sod-solo), and an unrelated body
that accepts sod-solo's copies (sod-friend).
"""

from __future__ import annotations

import re
import uuid

import pytest

from xinfang.audit.keys import AuditKeys
from xinfang.audit.models import AuditRecord
from xinfang.audit.verify import verify_audit_log
from xinfang.auth.grants import GrantPath, Grantor, grant_table
from xinfang.auth.models import StaffAccount
from xinfang.auth.principal import Principal
from xinfang.auth.service import do_create_staff_account
from xinfang.cards import service as cards
from xinfang.cards.models import CardType, CopyTarget, Subject
from xinfang.cards.stats import statistics
from xinfang.errors import Forbidden
from xinfang.notifications.models import Notification
from xinfang.tenancy.bundles import BundleLoader, discover
from tests.conftest import PASSWORD, REPO_ROOT, login_token
from tests.staffing import approve_as_superuser, operator_account, tenant_scope

WHITE_CARD = '''
[[card_types]]
key = "white"
rank = 0
name = { zh = "询问卡", en = "Inquiry card" }
colour = "#ffffff"
colour_name = { zh = "白色", en = "white" }
when = { zh = "需要书面说明的", en = "A written explanation is needed" }
consequence = { zh = "15 个工作日内书面说明", en = "Explain in writing within 15 working days" }
response_deadline = { amount = 15, unit = "working_days" }
'''
BUNDLES = {
    "sod-city": '''
[tenant]
slug = "sod-city"
name = { zh = "示范市纪委", en = "Demo City Commission" }
level = "prefecture"
region_code = "659900"

[[accounts]]
username = "admin"
display_name = "管理员"
roles = ["tenant_admin"]

[[accounts]]
username = "leader"
display_name = "领导"
roles = ["leader"]
''',
    "sod-solo": '''
[tenant]
slug = "sod-solo"
name = { zh = "示范县纪委（一人）", en = "Demo County Commission (one person)" }
level = "county"
region_code = "659901"
parent = "sod-city"

[settings]
allow_self_approval = true

[[accounts]]
username = "solo"
display_name = "一人办公室"
roles = ["tenant_admin", "leader", "handler", "registrar"]
''' + WHITE_CARD,
    "sod-friend": '''
[tenant]
slug = "sod-friend"
name = { zh = "友邻县纪委", en = "Neighbour County Commission" }
level = "county"
region_code = "659902"

[settings]
accept_copies_from = ["sod-solo"]

[[accounts]]
username = "admin"
display_name = "管理员"
roles = ["tenant_admin"]
''',
}


@pytest.fixture(scope="session")
async def offices(app, tmp_path_factory):
    root = tmp_path_factory.mktemp("sod-bundles")
    for slug, text in BUNDLES.items():
        (root / slug).mkdir()
        (root / slug / "bundle.toml").write_text(text, encoding="utf-8")
    _, bundles = discover(root)
    await BundleLoader(PASSWORD).load(None, bundles)
    return {slug: await tenant_scope(slug) for slug in BUNDLES}


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def account_of(client, slug: str, headers: dict, username: str) -> dict:
    accounts = (await (await client.get(f"/t/{slug}/api/accounts", headers=headers)).get_json())["accounts"]
    return next(a for a in accounts if a["username"] == username)


def bilingual(error: dict) -> bool:
    return bool(error["message"]["zh"]) and bool(error["message"]["en"])


async def role_records(account_id: str) -> list[AuditRecord]:
    return await AuditRecord.find({"subject": account_id, "action": {"$regex": "^account\\.roles\\."}}).sort("seq").to_list()


# --------------------------------------------------------------------------- roles


async def test_the_readme_table_is_the_rule():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Separation of duties")[1].split("\n## ")[0]
    rows = {m[0]: m[2] for m in re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \|$", section, re.M)}
    assert rows == {row["role"]: row["granted_by"] for row in grant_table()}
    # Each role that reads identities or archives needs a second person; so does the one that approves grants.
    assert all(row["granted_by"] == "second person" for row in grant_table() if row["reads"] or row["approves_grants"])


async def test_an_admin_cannot_change_its_own_roles(client, tenants, admin_a):
    me = (await (await client.get(f"/t/{tenants.A}/api/me", headers=admin_a)).get_json())["account"]
    for roles in (["tenant_admin", "leader"], ["leader"], []):
        refused = await client.put(f"/t/{tenants.A}/api/accounts/{me['id']}/roles", headers=admin_a, json={"roles": roles})
        assert refused.status_code == 403, await refused.get_data(as_text=True)
        error = (await refused.get_json())["error"]
        assert bilingual(error) and "自己" in error["message"]["zh"] and "own roles" in error["message"]["en"]
    asked = await client.post(f"/t/{tenants.A}/api/role-grants", headers=admin_a, json={"account_id": me["id"], "roles": ["leader"]})
    assert asked.status_code == 403
    assert (await account_of(client, tenants.A, admin_a, "admin"))["roles"] == ["tenant_admin"]
    # Its only role record is the bundle's grant: the refusals changed nothing.
    assert [(r.action, r.actor_username) for r in await role_records(me["id"])] == [("account.roles.granted", "operator:bundle")]


async def test_an_admin_account_does_no_casework_over_the_api(client, tenants, admin_a):
    username = new_name("sod-both")
    refused = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a, json={
        "username": username, "display_name": "x", "password": "long-enough-pw", "roles": ["tenant_admin", "leader"]})
    assert refused.status_code == 422 and "roles" in (await refused.get_json())["error"]["fields"]
    assert username not in {a["username"] for a in (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=admin_a)).get_json())["accounts"]}


async def test_granting_leader_needs_a_second_admin_and_the_requester_cannot_approve(client, tenants, admin_a):
    second_admin_name = new_name("sod-admin2")
    await operator_account(tenants.A, second_admin_name, ["tenant_admin"])
    second_admin = await login_token(client, tenants.A, second_admin_name, "long-enough-pw")
    username = new_name("sod-leader")
    created = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a, json={
        "username": username, "display_name": "新领导", "password": "long-enough-pw", "roles": ["leader"]})
    assert created.status_code == 201, await created.get_data(as_text=True)
    body = await created.get_json()
    assert body["roles"] == [] and body["pending_role_request"]["roles"] == ["leader"]
    request_id = body["pending_role_request"]["id"]
    newcomer = await login_token(client, tenants.A, username, "long-enough-pw")
    assert (await client.get(f"/t/{tenants.A}/api/officials", headers=newcomer)).status_code == 403  # no archive yet

    pending = (await (await client.get(f"/t/{tenants.A}/api/role-grants?state=pending", headers=admin_a)).get_json())["role_grants"]
    assert request_id in {r["id"] for r in pending}
    by_requester = await client.post(f"/t/{tenants.A}/api/role-grants/{request_id}/approve", headers=admin_a)
    assert by_requester.status_code == 403 and bilingual((await by_requester.get_json())["error"])
    assert "second person" in (await by_requester.get_json())["error"]["message"]["en"]
    by_grantee = await client.post(f"/t/{tenants.A}/api/role-grants/{request_id}/approve", headers=newcomer)
    assert by_grantee.status_code == 403  # and the grantee is no admin anyway

    approved = await client.post(f"/t/{tenants.A}/api/role-grants/{request_id}/approve", headers=second_admin, json={"note": "同意"})
    assert approved.status_code == 200, await approved.get_data(as_text=True)
    decided = await approved.get_json()
    assert decided["state"] == "approved" and decided["decided_by_username"] == second_admin_name and not decided["decided_by_superuser"]
    assert (await client.post(f"/t/{tenants.A}/api/role-grants/{request_id}/approve", headers=second_admin)).status_code == 409

    # The role change ended the newcomer's logins; logged in again, the leader reads archives.
    assert (await client.get(f"/t/{tenants.A}/api/officials", headers=newcomer)).status_code == 401
    newcomer = await login_token(client, tenants.A, username, "long-enough-pw")
    assert (await client.get(f"/t/{tenants.A}/api/officials", headers=newcomer)).status_code == 200

    # Revoking is one admin's decision, recorded the same way; the leader cannot touch its own roles either.
    me = (await (await client.get(f"/t/{tenants.A}/api/me", headers=newcomer)).get_json())["account"]
    assert (await client.put(f"/t/{tenants.A}/api/accounts/{me['id']}/roles", headers=newcomer, json={"roles": []})).status_code == 403
    revoked = await client.put(f"/t/{tenants.A}/api/accounts/{me['id']}/roles", headers=admin_a, json={"roles": [], "reason": "调岗"})
    assert revoked.status_code == 200 and (await revoked.get_json())["roles"] == []

    records = await role_records(me["id"])
    assert [(r.action, r.actor_username, r.query["how"]) for r in records] == [
        ("account.roles.requested", "admin", "request"),
        ("account.roles.granted", second_admin_name, "approved by a second tenant admin"),
        ("account.roles.revoked", "admin", "direct"),
    ]
    siyang_id = str((await tenant_scope(tenants.A)).tenant_id)
    assert all(r.tenant_ids == [siyang_id] for r in records)
    assert records[1].review_id == request_id and records[1].query["requested_by"] == "admin"
    assert records[1].query["roles"] == ["leader"] and "调岗" in records[2].purpose


async def test_a_superuser_approves_or_rejects_for_an_office_without_a_second_admin(client, tenants, admin_b, superuser):
    ids = []
    for role in ("auditor", "handler"):
        created = await client.post(f"/t/{tenants.B}/api/accounts", headers=admin_b, json={
            "username": new_name(f"sod-{role}"), "display_name": role, "password": "long-enough-pw", "roles": [role]})
        ids.append((await created.get_json())["pending_role_request"]["id"])
    # Each side uses its own door: no tenant admin on the platform's, no superuser on the tenant's.
    assert (await client.post(f"/api/platform/tenants/{tenants.B}/role-grants/{ids[0]}/approve", headers=admin_b)).status_code == 403
    assert (await client.post(f"/t/{tenants.B}/api/role-grants/{ids[0]}/approve", headers=superuser)).status_code == 403
    listed = (await (await client.get(f"/api/platform/tenants/{tenants.B}/role-grants?state=pending", headers=superuser)).get_json())["role_grants"]
    assert set(ids) <= {r["id"] for r in listed}
    approved = await approve_as_superuser(client, tenants.B, ids[0])
    assert approved["state"] == "approved" and approved["decided_by_superuser"] and approved["decided_by_username"] == "org-approver"
    rejected = await client.post(f"/api/platform/tenants/{tenants.B}/role-grants/{ids[1]}/reject", headers=superuser,
                                 json={"note": "无此岗位"})
    assert rejected.status_code == 200 and (await rejected.get_json())["state"] == "rejected"
    # A request of one tenant is not found under another tenant's path.
    assert (await client.post(f"/api/platform/tenants/{tenants.A}/role-grants/{ids[1]}/approve", headers=superuser)).status_code == 404

    granted = await role_records(approved["account_id"])
    assert [(r.action, r.query["how"], r.query["superuser"]) for r in granted][-1] == (
        "account.roles.granted", "approved by a platform superuser", True)
    shown = await (await client.get(f"/t/{tenants.B}/api/role-grants/{ids[1]}", headers=admin_b)).get_json()
    assert shown["state"] == "rejected" and shown["decision_note"] == "无此岗位"
    refused = await role_records(shown["account_id"])
    assert [r.action for r in refused] == ["account.roles.requested", "account.roles.rejected"]
    assert "无此岗位" in refused[-1].purpose


async def test_operator_paths_are_trusted_and_recorded_and_the_chain_verifies(client, offices, settings):
    scope = offices["sod-solo"]
    solo = await scope.repo(StaffAccount).find_one({"username": "solo"})
    assert set(solo.roles) == {"tenant_admin", "leader", "handler", "registrar"}  # the bundle may combine them
    [bundle_grant] = await role_records(str(solo.id))
    assert bundle_grant.actor_username == "operator:bundle" and bundle_grant.query["path"] == "bundle"
    assert sorted(bundle_grant.query["roles"]) == sorted(r.value for r in solo.roles)

    account, pending = await do_create_staff_account(scope, username=new_name("sod-cli"), display_name="命令行", roles=["auditor"],
                                                     password="long-enough-pw", grantor=Grantor.operator(GrantPath.CLI))
    assert pending is None and account.roles == ["auditor"]
    [cli_grant] = await role_records(str(account.id))
    assert (cli_grant.action, cli_grant.actor_username, cli_grant.query["how"]) == ("account.roles.granted", "operator:cli", "cli")

    report = await verify_audit_log(chain_key=AuditKeys.from_settings(settings).chain)
    assert report.intact, report.problems
    assert report.records_checked >= cli_grant.seq


# --------------------------------------------------------------------------- cards


def someone() -> Subject:
    return Subject(kind="person", name=f"自批测试{uuid.uuid4().hex[:6]}", position="校长", unit="某小学")


async def staff(scope, username: str) -> Principal:
    return Principal.of_staff(await scope.repo(StaffAccount).find_one({"username": username}), "token")


async def test_the_author_cannot_approve_their_own_card(client, tenants):
    leader = await login_token(client, tenants.A, "leader")
    created = await client.post(f"/t/{tenants.A}/api/supervisions", headers=leader, json={
        "kind": "card", "type_key": "yellow", "subject": {"kind": "person", "name": f"自批{uuid.uuid4().hex[:6]}", "unit": "某中学"}})
    sid = (await created.get_json())["id"]
    assert (await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/submit", headers=leader)).status_code == 200
    own = await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/approve", headers=leader)
    assert own.status_code == 403 and bilingual((await own.get_json())["error"])
    assert "another leader" in (await own.get_json())["error"]["message"]["en"]
    page = await (await client.get(f"/t/{tenants.A}/staff/supervisions/{sid}", headers=leader)).get_data(as_text=True)
    assert 'data-verb="approve"' not in page and 'data-verb="return"' in page

    second_leader = new_name("sod-leader")
    await operator_account(tenants.A, second_leader, ["leader"])
    other = await login_token(client, tenants.A, second_leader, "long-enough-pw")
    approved = await client.post(f"/t/{tenants.A}/api/supervisions/{sid}/approve", headers=other)
    assert approved.status_code == 200
    body = await approved.get_json()
    assert body["self_approved"] is False and body["notes"][-1]["action"] == "approved"


async def test_an_action_type_that_needs_approval_is_held_to_the_same_rule(tenants, app):
    scope = await tenant_scope(tenants.A)
    leader = await staff(scope, "leader")
    sup = await cards.do_create_supervision(scope, kind="action", type_key="supervision_notice", subject=someone(), petition_ids=[],
                                            actor=await staff(scope, "handler"))
    assert sup.needs_approval
    # Created by the handler, but submitted by the leader: submitting makes one an author too.
    sup = await cards.do_submit_for_approval(scope, sup, leader)
    with pytest.raises(Forbidden):
        await cards.do_approve(scope, sup, leader)
    assert (await cards.access_supervision(scope, str(sup.id))).state == "awaiting_approval"


async def test_a_one_person_office_may_approve_its_own_card_and_it_is_recorded(client, offices):
    scope = offices["sod-solo"]
    solo_headers = await login_token(client, "sod-solo", "solo")
    created = await client.post("/t/sod-solo/api/supervisions", headers=solo_headers, json={
        "kind": "card", "type_key": "white", "subject": {"kind": "person", "name": f"一人{uuid.uuid4().hex[:6]}", "unit": "某小学"}})
    sid = (await created.get_json())["id"]
    assert (await client.post(f"/t/sod-solo/api/supervisions/{sid}/submit", headers=solo_headers)).status_code == 200
    approved = await client.post(f"/t/sod-solo/api/supervisions/{sid}/approve", headers=solo_headers)
    assert approved.status_code == 200, await approved.get_data(as_text=True)
    body = await approved.get_json()
    assert body["self_approved"] is True and body["notes"][-1]["action"] == "self_approved"
    assert (await statistics(scope))["self_approved"]["cards"] >= 1
    page = await (await client.get(f"/t/sod-solo/staff/supervisions/{sid}", headers=solo_headers)).get_data(as_text=True)
    assert "已批准（本人审批）" in page and "本人审批（一人单位）" in page  # the approval line and the timeline
    stats_page = await (await client.get("/t/sod-solo/staff/supervision-stats", headers=solo_headers)).get_data(as_text=True)
    shown = re.search(r"本人审批（一人单位，按本单位设置）：监督卡 <strong>(\d+)</strong>", stats_page)
    assert shown and int(shown.group(1)) >= 1


# --------------------------------------------------------------------------- copies


def card_type(copies: list[dict], key: str) -> dict:
    return {"name": {"zh": "抄送测试卡", "en": "Copy test card"}, "colour": "#3366cc", "colour_name": {"zh": "蓝色", "en": "blue"},
            "when": {"zh": "测试", "en": "test"}, "consequence": {"zh": "测试", "en": "test"}, "rank": 9, "copy_to": copies}


def copy(slug: str) -> dict:
    return {"kind": "tenant", "ref": slug, "name": {"zh": slug, "en": slug}}


async def test_copies_go_up_and_down_the_line_or_to_those_that_accepted_the_sender(client, offices, tenants):
    solo = await login_token(client, "sod-solo", "solo")
    for target in ("sod-city", "sod-friend"):  # the parent; a body that accepted sod-solo's copies
        accepted = await client.put(f"/t/sod-solo/api/card-types/copy_{target.replace('-', '_')}", headers=solo,
                                    json=card_type([copy(target)], target))
        assert accepted.status_code == 200, await accepted.get_data(as_text=True)
    for target in (tenants.A, tenants.B, "sod-solo", "no-such-body"):  # unrelated, unrelated, itself, unknown
        refused = await client.put("/t/sod-solo/api/card-types/copy_refused", headers=solo,
                                   json=card_type([{"kind": "department", "ref": "org", "name": {"zh": "组织部", "en": "org"}}, copy(target)], "x"))
        assert refused.status_code == 422, (target, await refused.get_data(as_text=True))
        fields = (await refused.get_json())["error"]["fields"]
        assert list(fields) == ["copy_to.1.ref"] and fields["copy_to.1.ref"]["zh"] and fields["copy_to.1.ref"]["en"]
    # The child may copy its parent; the parent may copy the child; the friend may not copy sod-solo (acceptance is one way).
    city_admin = await login_token(client, "sod-city", "admin")
    down = await client.put("/t/sod-city/api/card-types/copy_down", headers=city_admin, json=card_type([copy("sod-solo")], "d"))
    assert down.status_code == 200
    friend_admin = await login_token(client, "sod-friend", "admin")
    back = await client.put("/t/sod-friend/api/card-types/copy_back", headers=friend_admin, json=card_type([copy("sod-solo")], "b"))
    assert back.status_code == 422 and "copy_to.0.ref" in (await back.get_json())["error"]["fields"]
    rule = await client.put("/t/sod-solo/api/escalation-rules/copy_rule", headers=solo, json={
        "trigger": {"card_type": "white", "condition": "repeat_within", "period": {"amount": 1, "unit": "years"}, "count": 2},
        "outcome": {"action": "treat_as", "card_type": "white", "copy_to": [copy(tenants.B)]},
        "reason": {"zh": "测试", "en": "test"}})
    assert rule.status_code == 422 and "outcome.copy_to.0.ref" in (await rule.get_json())["error"]["fields"]


async def test_a_copy_configured_around_the_rule_is_not_delivered(offices, tenants):
    """A card type written straight into the store (as an old bundle would have left it) still copies only within the rule."""
    scope = offices["sod-solo"]
    wide = CardType(tenant_id=scope.tenant_id, key=new_name("wide").replace("-", "_"), name={"zh": "广抄卡", "en": "Wide copy card"},
                    colour="#884400", colour_name={"zh": "棕色", "en": "brown"}, when={"zh": "测试", "en": "test"},
                    consequence={"zh": "测试", "en": "test"}, needs_approval=False,
                    copy_to=[CopyTarget(kind="tenant", ref=slug, name={"zh": slug, "en": slug}) for slug in ("sod-city", tenants.A)])
    await scope.repo(CardType).insert(wide)
    solo = await staff(scope, "solo")
    subject = someone()
    sup = await cards.do_create_supervision(scope, kind="card", type_key=wide.key, subject=subject, petition_ids=[], actor=solo)
    await cards.do_issue(scope, sup, solo)

    def about(notifications):
        return [n for n in notifications if subject.name in n.text.zh]

    city = offices["sod-city"]
    assert len(about(await city.repo(Notification).find({"kind": "copied"}).to_list())) == 1
    siyang = await tenant_scope(tenants.A)
    assert about(await siyang.repo(Notification).find({"kind": "copied"}).to_list()) == []
