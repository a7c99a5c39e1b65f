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
import json

import pytest
from bson import ObjectId

from tests.conftest import login_token


@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    path: str  # after /t/<slug>; "{id}" is replaced with an object id
    kind: str  # "object" (path holds an object id), "collection", or "public"
    body: dict | None = None
    owner_object: str = "account"  # which of the other tenant's objects to aim at


NEW_ACCOUNT = {"username": "iso-probe", "display_name": "隔离测试", "roles": ["handler"], "password": "long-enough-pw"}

CASES: dict[str, Case] = {
    "auth.login": Case("POST", "/api/session", "public"),
    "auth.issue_token": Case("POST", "/api/tokens", "public"),
    "tenancy.show_tenant": Case("GET", "/api/tenant", "public"),
    "auth.logout": Case("DELETE", "/api/session", "collection"),
    "auth.me": Case("GET", "/api/me", "collection"),
    "auth.list_accounts": Case("GET", "/api/accounts", "collection"),
    "auth.create_account": Case("POST", "/api/accounts", "collection", body=NEW_ACCOUNT),
    "auth.show_account": Case("GET", "/api/accounts/{id}", "object"),
    "auth.set_roles": Case("PUT", "/api/accounts/{id}/roles", "object", body={"roles": ["handler"]}),
    "tenancy.list_children": Case("GET", "/api/tenant/children", "collection"),
    "tenancy.list_plugins": Case("GET", "/api/plugins", "collection"),
    "tenancy.configure_plugin": Case("PUT", "/api/plugins/activity", "collection", body={"enabled": True, "config": {}}),
    "activity.list_activity": Case("GET", "/api/activity", "collection"),
}

DIRECTIONS = [("A", "B"), ("B", "A")]


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
    headers: dict
    tenant_id: str
    account_ids: list[str]


async def _side(client, slug: str) -> Side:
    headers = await login_token(client, slug, "admin")
    tenant = await (await client.get(f"/t/{slug}/api/tenant")).get_json()
    accounts = await (await client.get(f"/t/{slug}/api/accounts", headers=headers)).get_json()
    return Side(slug, headers, tenant["id"], [a["id"] for a in accounts["accounts"]])


@pytest.fixture
async def sides(client, tenants):
    return {"A": await _side(client, tenants.A), "B": await _side(client, tenants.B)}


async def _call(client, method: str, url: str, headers: dict, body: dict | None):
    response = await client.open(url, method=method, headers=headers, json=body)
    return response.status_code, await response.get_data(as_text=True)


def _leaks(text: str, other: Side) -> list[str]:
    return [oid for oid in other.account_ids + [other.tenant_id] if oid in text]


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind != "public"))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_my_credentials_on_the_other_tenants_url_are_refused(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    path = case.path.replace("{id}", other.account_ids[0])
    status, text = await _call(client, case.method, f"/t/{other.slug}{path}", me.headers, case.body)
    assert status in (401, 403), (endpoint, status, text)
    assert not _leaks(text.replace(other.account_ids[0], ""), other), text


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind == "object"))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_the_other_tenants_object_is_a_plain_404(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    foreign = await _call(client, case.method, f"/t/{me.slug}{case.path.replace('{id}', other.account_ids[0])}", me.headers, case.body)
    made_up = await _call(client, case.method, f"/t/{me.slug}{case.path.replace('{id}', str(ObjectId()))}", me.headers, case.body)
    assert foreign[0] == 404, foreign
    assert foreign == made_up  # same status, same body: nothing tells "exists elsewhere" from "does not exist"


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CASES.items() if c.kind == "collection" and e != "auth.logout"))
@pytest.mark.parametrize("me_name, other_name", DIRECTIONS)
async def test_my_collections_hold_nothing_of_the_other_tenant(client, sides, endpoint, me_name, other_name):
    me, other = sides[me_name], sides[other_name]
    case = CASES[endpoint]
    body = dict(case.body, username=f"iso-{me_name}-{ObjectId()}") if case.body and "username" in case.body else case.body
    status, text = await _call(client, case.method, f"/t/{me.slug}{case.path}", me.headers, body)
    assert status in (200, 201), (endpoint, status, text)
    assert not _leaks(text, other), (endpoint, text)
    if status == 201:  # a created object is stamped with my tenant, whatever the body says
        assert json.loads(text)["tenant_id"] == me.tenant_id
