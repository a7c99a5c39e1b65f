"""Tenant isolation, route by route: tenant A's user against tenant B's data, both ways round.

Every route under /t/<tenant_slug>/ must have a case in ``CASES`` (the coverage
test fails otherwise), so this suite grows with every route added later.
Three checks per route, in both directions (A on B, B on A):
- A's credentials on B's URL are refused, and the refusal carries none of B's data;
- on an object route, B's object id under A's URL is a 404 identical to a made-up id;
- on a collection route, A's answer mentions none of B's ids.
"""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest
from bson import ObjectId

from tests.conftest import login_token
from tests.staffing import operator_account


@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    path: str  # after /t/<slug>; "{id}" is replaced with an object id
    kind: str  # "object" (path holds an object id), "collection", or "public"
    body: dict | None = None
    owner_object: str = "account"  # which of the other tenant's objects "{id}" stands for: account or petition
    form: bool = False  # send the body form-encoded (HTML pages)
    expect: tuple[int, ...] = (200, 201)  # what my own call on my own tenant answers


NEW_ACCOUNT = {"username": "iso-probe", "display_name": "隔离测试", "roles": ["handler"], "password": "long-enough-pw"}

CASES: dict[str, Case] = {
    "auth.login": Case("POST", "/api/session", "public"),
    "auth.issue_token": Case("POST", "/api/tokens", "public"),
    "tenancy.show_tenant": Case("GET", "/api/tenant", "public"),
    "auth.logout": Case("DELETE", "/api/session", "collection"),
    "auth.revoke_token": Case("DELETE", "/api/tokens/current", "collection"),
    "auth.change_password": Case("PUT", "/api/me/password", "collection", body={"current_password": "x", "new_password": "long-enough-pw-2"}),
    "auth.me": Case("GET", "/api/me", "collection"),
    "auth.list_accounts": Case("GET", "/api/accounts", "collection"),
    "auth.create_account": Case("POST", "/api/accounts", "collection", body=NEW_ACCOUNT),
    "auth.show_account": Case("GET", "/api/accounts/{id}", "object"),
    "auth.set_roles": Case("PUT", "/api/accounts/{id}/roles", "object", body={"roles": ["handler"]}),
    # role grant requests (separation of duties): a made-up account is a 404 in my own tenant too
    "role_grants.list_grant_requests": Case("GET", "/api/role-grants", "collection"),
    "role_grants.request_grant": Case("POST", "/api/role-grants", "collection", expect=(404,),
                                      body={"account_id": "0123456789abcdef01234567", "roles": ["auditor"]}),
    "role_grants.show_grant_request": Case("GET", "/api/role-grants/{id}", "object", owner_object="role_grant"),
    "role_grants.approve_grant_request": Case("POST", "/api/role-grants/{id}/approve", "object", owner_object="role_grant"),
    "role_grants.reject_grant_request": Case("POST", "/api/role-grants/{id}/reject", "object", owner_object="role_grant"),
    "tenancy.list_children": Case("GET", "/api/tenant/children", "collection"),
    "tenancy.list_plugins": Case("GET", "/api/plugins", "collection"),
    "tenancy.configure_plugin": Case("PUT", "/api/plugins/activity", "collection", body={"enabled": True, "config": {}}),
    "activity.list_activity": Case("GET", "/api/activity", "collection"),
    # forms
    "forms.list_forms": Case("GET", "/api/forms", "public"),
    "forms.show_form": Case("GET", "/api/forms/petition", "public"),
    "forms.list_versions": Case("GET", "/api/forms/petition/versions", "collection"),
    "forms.show_version": Case("GET", "/api/forms/petition/versions/1", "collection"),
    "forms.publish_version": Case("POST", "/api/forms/petition/versions", "collection", body={"template": "petition"}),
    "forms.list_templates": Case("GET", "/api/form-templates", "collection"),
    "forms.preview": Case("POST", "/api/forms/preview", "collection", body={"schema": {"type": "object"}, "example": {}}, expect=(422,)),
    "forms.admin_forms": Case("GET", "/admin/forms", "collection"),
    # petitions: citizens (receipts are checked in test_petitions.py) and staff
    "petitions.submit": Case("POST", "/api/petitions/submit", "public"),
    "petitions.lookup": Case("POST", "/api/receipts/lookup", "public"),
    "petitions.supplement": Case("POST", "/api/receipts/supplement", "public"),
    "petitions.citizen_action": Case("POST", "/api/receipts/actions/request_review", "public"),
    "petitions.list_petitions": Case("GET", "/api/petitions", "collection"),
    "petitions.register": Case("POST", "/api/petitions", "collection", body={"form": "petition", "channel": "visit", "anonymous": True,
                                                                             "answers": {"title": "隔离测试", "content": "隔离测试来访登记", "category": "other"}}),
    "petitions.show_petition": Case("GET", "/api/petitions/{id}", "object", owner_object="petition"),
    "petitions.transition": Case("POST", "/api/petitions/{id}/transitions/accept", "object", body={"fields": {}}, owner_object="petition"),
    "petitions.download_attachment": Case("GET", "/api/petitions/{id}/attachments/{id}", "object", owner_object="petition"),
    "petitions.show_workflow": Case("GET", "/api/workflow", "collection"),
    "petitions.show_calendar": Case("GET", "/api/calendar", "collection"),
    "petitions.set_calendar": Case("PUT", "/api/calendar", "collection", body={"holidays": ["2027-10-01"], "workdays": []}),
    # supervision cards and actions
    "cards.list_card_types": Case("GET", "/api/card-types", "collection"),
    "cards.list_supervisions": Case("GET", "/api/supervisions", "collection"),
    "cards.create_supervision": Case("POST", "/api/supervisions", "collection",
                                     body={"kind": "action", "type_key": "supervision_notice", "subject": {"kind": "unit", "name": "隔离测试单位"}}),
    "cards.show_supervision": Case("GET", "/api/supervisions/{id}", "object", owner_object="supervision"),
    "cards.submit_supervision": Case("POST", "/api/supervisions/{id}/submit", "object", owner_object="supervision"),
    "cards.approve_supervision": Case("POST", "/api/supervisions/{id}/approve", "object", owner_object="supervision"),
    "cards.issue_supervision": Case("POST", "/api/supervisions/{id}/issue", "object", owner_object="supervision"),
    "cards.answer_supervision": Case("POST", "/api/supervisions/{id}/answer", "object", body={"text": "说明"}, owner_object="supervision"),
    "cards.record_talk": Case("POST", "/api/supervisions/{id}/talk-record", "object", body={"text": "记录"}, owner_object="supervision"),
    "cards.decide_supervision": Case("POST", "/api/supervisions/{id}/decide", "object", body={"outcome": "close"}, owner_object="supervision"),
    "cards.rectified_supervision": Case("POST", "/api/supervisions/{id}/rectified", "object", owner_object="supervision"),
    "cards.supervision_stats": Case("GET", "/api/supervision-stats", "collection"),
    "cards.supervision_document": Case("GET", "/api/supervisions/{id}/document", "object", owner_object="supervision"),
    "answers.answer_page": Case("GET", "/answer/not-a-token", "public"),
    "answers.answer_submit": Case("POST", "/answer/not-a-token", "public"),
    "notifications.list_notifications": Case("GET", "/api/notifications", "collection"),
    # citizen portal pages
    "portal.home": Case("GET", "/", "public"),
    "portal.new_petition": Case("GET", "/petition/petition", "public"),
    "portal.submit_petition": Case("POST", "/petition/petition", "public"),
    "portal.track": Case("GET", "/track", "public"),
    "portal.track_lookup": Case("POST", "/track", "public"),
    "portal.track_supplement": Case("POST", "/track/supplement", "public"),
    "portal.track_action": Case("POST", "/track/actions/request_review", "public"),
    # staff console pages
    "console.login_page": Case("GET", "/staff/login", "public"),
    "console.login_submit": Case("POST", "/staff/login", "public"),
    "console.logout": Case("POST", "/staff/logout", "collection", form=True, expect=(302,)),
    "console.inbox_page": Case("GET", "/staff/", "collection"),
    "console.petition_page": Case("GET", "/staff/petitions/{id}", "object", owner_object="petition"),
    "console.transition_submit": Case("POST", "/staff/petitions/{id}/transitions/accept", "object", form=True, owner_object="petition"),
    "console.register_page": Case("GET", "/staff/register", "collection"),
    "console.register_submit": Case("POST", "/staff/register", "collection", form=True, expect=(422,)),  # empty form: re-shown with messages
    "supervision_console.supervisions_page": Case("GET", "/staff/supervisions", "collection"),
    "supervision_console.new_supervision_page": Case("GET", "/staff/supervisions/new", "collection"),
    "supervision_console.create_supervision_submit": Case("POST", "/staff/supervisions/new", "collection", form=True, expect=(422,)),
    "supervision_console.supervision_page": Case("GET", "/staff/supervisions/{id}", "object", owner_object="supervision"),
    "supervision_console.supervision_step": Case("POST", "/staff/supervisions/{id}/steps/submit", "object", form=True,
                                                 owner_object="supervision"),
    "supervision_console.stats_page": Case("GET", "/staff/supervision-stats", "collection"),
    "supervision_console.notifications_page": Case("GET", "/staff/notifications", "collection"),
    "supervision_admin.supervision_admin_page": Case("GET", "/admin/supervision", "collection"),
    "supervision_admin.define_from_form": Case("POST", "/admin/supervision/card", "collection", form=True, expect=(422,)),
    "cards.define_card_type": Case("PUT", "/api/card-types/iso_probe", "collection", expect=(422,),
                                   body={"name": {"zh": "隔离", "en": "isolation"}}),
    "cards.define_action_type": Case("PUT", "/api/action-types/iso_probe", "collection", expect=(422,), body={"kind": "talk"}),
    # integrity archives
    "archives.list_officials": Case("GET", "/api/officials", "collection"),
    "archives.register_official": Case("POST", "/api/officials", "collection", body={"name": ""}, expect=(422,)),
    "archives.read_archive": Case("GET", "/api/officials/{id}/archive", "object", owner_object="official"),
    "archives.add_archive_document": Case("POST", "/api/officials/{id}/documents", "object", owner_object="official",
                                          body={"type_key": "integrity_evaluation", "on": "2026-11-01", "data": {}}),
    "archives.link_petition": Case("POST", "/api/officials/{id}/petitions", "object", owner_object="official",
                                   body={"petition_id": "0123456789abcdef01234567"}),
    "archives.link_supervision_official": Case("POST", "/api/supervisions/{id}/official", "object", owner_object="supervision",
                                               body={"official_id": "0123456789abcdef01234567"}),
    "archives.list_document_types": Case("GET", "/api/archive-document-types", "collection"),
    "archives.define_document_type": Case("PUT", "/api/archive-document-types/iso_probe", "collection", expect=(422,),
                                          body={"name": {}, "json_schema": {"type": "object"}}),
    "archives.archive_access_log": Case("GET", "/api/archive-access-log", "collection"),
    "archive_pages.officials_page": Case("GET", "/staff/officials", "collection"),
    "archive_pages.register_official_submit": Case("POST", "/staff/officials", "collection", form=True, expect=(422,)),
    "archive_pages.official_page": Case("GET", "/staff/officials/{id}", "object", owner_object="official"),
    "archive_pages.add_document_submit": Case("POST", "/staff/officials/{id}/documents", "object", form=True, owner_object="official"),
    "archive_pages.access_log_page": Case("GET", "/staff/archive-access-log", "collection"),
    # search, duplicates, frequent words (503 while the index of a tenant is still being built: never partial)
    "search.search_petitions": Case("GET", "/api/search", "collection", expect=(200, 503)),
    "search.frequent_words": Case("GET", "/api/frequent-words", "collection"),
    "search.petition_duplicates": Case("GET", "/api/petitions/{id}/duplicates", "object", owner_object="petition"),
    "search.decide_duplicate": Case("POST", "/api/duplicates/{id}/confirm", "object", owner_object="petition"),
    "search.show_dictionary": Case("GET", "/api/search-dictionary", "collection"),
    "search.set_dictionary": Case("PUT", "/api/search-dictionary", "collection", body={"words": []}),
    "search_pages.search_page": Case("GET", "/staff/search", "collection"),
    "search_pages.frequent_words_page": Case("GET", "/staff/frequent-words", "collection"),
    "search_pages.decide_duplicate_submit": Case("POST", "/staff/duplicates/{id}/confirm", "object", owner_object="petition", form=True),
    "cards.list_escalation_rules": Case("GET", "/api/escalation-rules", "collection"),
    "cards.define_escalation_rule": Case("PUT", "/api/escalation-rules/iso_probe", "collection", expect=(422,), body={}),
}

# Cases kept beside a feature's own tests (its module's ISOLATION_CASES), checked here like the others.
for _module in ("tests.test_oversight", "tests.test_cards_steps", "tests.test_accounts", "tests.test_upper_level", "tests.test_notifications_workflow",
                "tests.test_staff_casework", "tests.test_wording", "tests.test_config_studio", "tests.test_workflow_designer",
                "tests.test_form_builder", "tests.test_admin_calendar", "tests.test_admin_dictionary", "tests.test_admin_plugins",
                "tests.test_matters", "tests.test_analytics_pages", "tests.test_analytics_rollups",
                "tests.test_analytics_forecast", "tests.test_analytics_alerts", "tests.test_analytics_map",
                "tests.test_public_portal",
                "tests.test_instructions", "tests.test_campaigns"):
    CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module(_module).ISOLATION_CASES.items()})

# The exchange (issue 15): API clients, Open311 intake, webhooks.
for _module in ("tests.test_api_clients", "tests.test_open311", "tests.test_webhooks"):
    CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module(_module).ISOLATION_CASES.items()})

# Bulk import of old registers and the tenant's data export (issue 15).
for _module in ("tests.test_bulk_import", "tests.test_data_export"):
    CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module(_module).ISOLATION_CASES.items()})

# Village supervisors and the system-wide repeat check at registration (issue 15).
for _module in ("tests.test_village_supervisors", "tests.test_repeat_existence"):
    CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module(_module).ISOLATION_CASES.items()})

# Retention periods and crypto-shredding (issue 16).
CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module("tests.test_retention").ISOLATION_CASES.items()})

# Archived records (归档, issue 17).
CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module("tests.test_records").ISOLATION_CASES.items()})

# Single sign-on (issue 16): the sign-on flow, logout and the tenant admin's page.
CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module("tests.test_sso").ISOLATION_CASES.items()})

# Official documents (公文, issue 17).
CASES.update({endpoint: Case(**fields) for endpoint, fields in importlib.import_module("tests.test_documents").ISOLATION_CASES.items()})

DIRECTIONS = [("A", "B"), ("B", "A")]
# Routes that end the caller's own login: run on my own tenant they would revoke the shared test token.
SIGNING_OFF = {"auth.logout", "auth.revoke_token", "auth.change_password"}


def test_every_tenant_route_has_an_isolation_case(app):
    tenant_endpoints = {
        rule.endpoint for rule in app.app.url_map.iter_rules() if rule.rule.startswith("/t/<tenant_slug>/")
    }
    missing = sorted(tenant_endpoints - set(CASES))
    assert not missing, f"add isolation cases for: {missing}"
    assert not sorted(set(CASES) - tenant_endpoints), "cases for routes that no longer exist"


@dataclasses.dataclass
class Side:
    slug: str
    headers: dict  # a user who holds every permission a tenant route asks for: admin + leader roles
    tenant_id: str
    account_ids: list[str]
    petition_ids: list[str]
    supervision_ids: list[str]
    official_ids: list[str]
    role_grant_ids: list[str]

    def object_id(self, kind: str) -> str:
        return {"petition": self.petition_ids, "supervision": self.supervision_ids, "account": self.account_ids,
                "official": self.official_ids, "role_grant": self.role_grant_ids}[kind][0]


async def _side(client, slug: str) -> Side:
    username = f"iso-all-{slug}"
    # The operator's path: over the API no account holds tenant_admin with casework roles (separation of duties).
    await operator_account(slug, username, ["tenant_admin", "leader", "handler", "registrar", "village_supervisor"])
    headers = await login_token(client, slug, username, "long-enough-pw")
    tenant = await (await client.get(f"/t/{slug}/api/tenant")).get_json()
    filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
        "form": "petition", "channel": "letter", "anonymous": True, "answers": {"title": "隔离测试", "content": f"{slug} 的隔离测试信访件", "category": "other"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    supervision = await client.post(f"/t/{slug}/api/supervisions", headers=headers, json={
        "kind": "action", "type_key": "supervision_notice", "subject": {"kind": "person", "name": f"{slug} 隔离测试对象"}})
    assert supervision.status_code == 201, await supervision.get_data(as_text=True)
    official = await client.post(f"/t/{slug}/api/officials", headers=headers, json={"name": f"{slug} 隔离测试干部", "unit": "某中学"})
    assert official.status_code == 201, await official.get_data(as_text=True)
    grantee = await client.post(f"/t/{slug}/api/accounts", headers=headers, json={
        "username": f"iso-grantee-{slug}", "display_name": "隔离测试（待授角色）", "password": "long-enough-pw", "roles": ["auditor"]})
    assert grantee.status_code == 201, await grantee.get_data(as_text=True)
    accounts = await (await client.get(f"/t/{slug}/api/accounts", headers=headers)).get_json()
    return Side(slug, headers, tenant["id"], [a["id"] for a in accounts["accounts"]], [(await filed.get_json())["id"]],
                [(await supervision.get_json())["id"]], [(await official.get_json())["id"]],
                [(await grantee.get_json())["pending_role_request"]["id"]])


@pytest.fixture(scope="session")
async def sides(app, tenants):
    """Made once: each case only reads them (a user with every role, an account, a petition per tenant)."""
    client = app.test_client()
    return {"A": await _side(client, tenants.A), "B": await _side(client, tenants.B)}


async def _call(client, case: Case, url: str, headers: dict, body: dict | None):
    if case.form:
        response = await client.open(url, method=case.method, headers=headers, form=body or {})
    else:
        response = await client.open(url, method=case.method, headers=headers, json=body)
    return response.status_code, await response.get_data(as_text=True)


def _leaks(text: str, other: Side) -> list[str]:
    return [oid for oid in other.account_ids + other.petition_ids + other.supervision_ids + other.official_ids + other.role_grant_ids
            + [other.tenant_id] if oid in text]


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind != "public"))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_my_credentials_on_the_other_tenants_url_are_refused(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    foreign_id = other.object_id(case.owner_object)
    status, text = await _call(client, case, f"/t/{other.slug}{case.path.replace('{id}', foreign_id)}", me.headers, case.body)
    assert status in (401, 403), (endpoint, status, text)
    assert not _leaks(text.replace(foreign_id, ""), other), text


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind == "object"))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_the_other_tenants_object_is_a_plain_404(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    foreign = await _call(client, case, f"/t/{me.slug}{case.path.replace('{id}', other.object_id(case.owner_object))}", me.headers, case.body)
    made_up = await _call(client, case, f"/t/{me.slug}{case.path.replace('{id}', str(ObjectId()))}", me.headers, case.body)
    assert foreign[0] == 404, foreign
    assert foreign == made_up  # same status, same body: nothing tells "exists elsewhere" from "does not exist"


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind == "collection" and e not in SIGNING_OFF))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_my_collections_hold_nothing_of_the_other_tenant(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    body = dict(case.body, username=f"iso-{me_name}-{ObjectId()}") if case.body and "username" in case.body else case.body
    status, text = await _call(client, case, f"/t/{me.slug}{case.path}", me.headers, body)
    assert status in case.expect, (endpoint, status, text)
    assert not _leaks(text, other), (endpoint, text)
    if status == 201 and case.path.startswith("/api/"):  # what I create lands in my tenant, whatever the body says
        created = json.loads(text)
        if "tenant_id" in created:
            assert created["tenant_id"] == me.tenant_id
        else:
            mine = await client.get(f"/t/{me.slug}/api/petitions/{created['id']}", headers=me.headers)
            theirs = await client.get(f"/t/{other.slug}/api/petitions/{created['id']}", headers=other.headers)
            assert (mine.status_code, theirs.status_code) == (200, 404)


# Platform routes of observability (issue 16): the probes and /metrics belong to no tenant. With either tenant's
# credentials they answer as to anyone, carrying nothing of either tenant; under a tenant's path they do not exist;
# /metrics on the main port is never public (404 while XINFANG_METRICS_TOKEN is unset, as here).
@pytest.mark.parametrize("path, status", [("/livez", 200), ("/readyz", 200), ("/metrics", 404)])
@pytest.mark.parametrize("me_name", ["A", "B"])
async def test_probes_and_metrics_answer_alike_to_every_tenant_and_carry_none_of_their_data(client, sides, path, status, me_name):
    me = sides[me_name]
    anonymous = await client.get(path)
    mine = await client.get(path, headers=me.headers)
    assert anonymous.status_code == mine.status_code == status, await mine.get_data(as_text=True)
    text = await mine.get_data(as_text=True)
    for side in sides.values():
        assert not _leaks(text, side) and side.slug not in text, (path, text)
    if status == 200:
        assert set((await mine.get_json())["parts"]) == set((await anonymous.get_json())["parts"])
    assert (await client.get(f"/t/{me.slug}{path}", headers=me.headers)).status_code == 404
