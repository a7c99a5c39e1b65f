"""API clients of the exchange (issue 15): registered by a tenant admin, the key shown once and stored hashed,
revocable at once, each with its own rate limit; pages and API; isolation cases for every route."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import login_token
from xinfang.exchange.models import ApiClient

KEY = re.compile(r"^xf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")

ISOLATION_CASES = {
    "exchange_api.list_clients": dict(method="GET", path="/api/exchange/clients", kind="collection"),
    "exchange_api.register_client": dict(method="POST", path="/api/exchange/clients", kind="collection",
                                         body={"name": "隔离测试客户端", "scopes": ["open311"]}),
    "exchange_api.revoke_client": dict(method="POST", path="/api/exchange/clients/{id}/revoke", kind="object"),
    "exchange_pages.clients_page": dict(method="GET", path="/admin/exchange/clients", kind="collection"),
    "exchange_pages.register_client_submit": dict(method="POST", path="/admin/exchange/clients", kind="collection", form=True,
                                                  body={"name": "", "scopes": "open311"}, expect=(422,)),
    "exchange_pages.revoke_client_submit": dict(method="POST", path="/admin/exchange/clients/{id}/revoke", kind="object", form=True),
}


async def register(client, slug: str, headers: dict, name: str, **extra) -> dict:
    made = await client.post(f"/t/{slug}/api/exchange/clients", headers=headers, json={"name": name, "scopes": ["open311"], **extra})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return await made.get_json()


async def test_the_key_is_shown_once_and_only_its_hash_is_kept(client, tenants, admin_a):
    made = await register(client, tenants.A, admin_a, "市长信箱（测试一）", rate_limit_per_minute=120)
    assert KEY.match(made["api_key"]) and made["api_key"].startswith(made["key_prefix"] + "_")
    assert made["rate_limit_per_minute"] == 120 and made["active"] is True
    listed = await (await client.get(f"/t/{tenants.A}/api/exchange/clients", headers=admin_a)).get_json()
    mine = [c for c in listed["clients"] if c["id"] == made["id"]]
    assert mine and "api_key" not in mine[0]
    assert made["api_key"] not in str(listed)
    raw = await ApiClient.get_pymongo_collection().find_one({"key_prefix": made["key_prefix"]})
    assert made["api_key"] not in str(raw) and len(raw["key_hash"]) == 64


async def test_bad_input_is_refused_field_by_field(client, tenants, admin_a):
    refused = await client.post(f"/t/{tenants.A}/api/exchange/clients", headers=admin_a,
                                json={"name": " ", "scopes": ["everything"], "rate_limit_per_minute": 0})
    assert refused.status_code == 422
    fields = (await refused.get_json())["error"]["fields"]
    assert set(fields) == {"name", "scopes", "rate_limit_per_minute"}
    assert all(m["zh"] and m["en"] for m in fields.values())


async def test_caseworkers_cannot_manage_clients(client, tenants):
    handler = await login_token(client, tenants.A, "handler")
    assert (await client.get(f"/t/{tenants.A}/api/exchange/clients", headers=handler)).status_code == 403
    refused = await client.post(f"/t/{tenants.A}/api/exchange/clients", headers=handler, json={"name": "x", "scopes": ["open311"]})
    assert refused.status_code == 403


async def test_a_revoked_key_is_refused_at_once(client, tenants, admin_a, live_server):
    made = await register(client, tenants.A, admin_a, "将被吊销的客户端")
    url = f"{live_server}/t/{tenants.A}/open311/v2/requests.json"
    async with httpx.AsyncClient(timeout=20) as http:
        assert (await http.get(url, params={"api_key": made["api_key"]})).status_code == 200
        revoked = await client.post(f"/t/{tenants.A}/api/exchange/clients/{made['id']}/revoke", headers=admin_a)
        assert revoked.status_code == 200 and (await revoked.get_json())["active"] is False
        refused = await http.get(url, params={"api_key": made["api_key"]})
    assert refused.status_code == 403
    body = refused.json()
    assert body[0]["code"] == 403 and "api_key" in body[0]["description"]


async def test_the_page_registers_shows_the_key_once_and_revokes(client, tenants, admin_a):
    page = await client.get(f"/t/{tenants.A}/admin/exchange/clients", headers=admin_a)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "接口客户端" in html and "登记并生成密钥" in html
    made = await client.post(f"/t/{tenants.A}/admin/exchange/clients", headers=admin_a,
                             form={"name": "城市服务应用（页面）", "scopes": "open311", "rate_limit_per_minute": "30"})
    html = await made.get_data(as_text=True)
    assert made.status_code == 201 and "只显示这一次" in html
    key = re.search(r'id="api-key">([^<]+)<', html).group(1)
    assert KEY.match(key)
    again = await (await client.get(f"/t/{tenants.A}/admin/exchange/clients", headers=admin_a)).get_data(as_text=True)
    prefix = "_".join(key.split("_")[:2])  # xf_<8 hex>: the random part may hold "_" too
    assert key not in again and prefix in again  # the prefix tells it apart, the key is gone
    row = await ApiClient.get_pymongo_collection().find_one({"key_prefix": prefix})
    revoked = await client.post(f"/t/{tenants.A}/admin/exchange/clients/{row['_id']}/revoke", headers=admin_a, form={})
    assert revoked.status_code == 200 and "已吊销" in await revoked.get_data(as_text=True)
    bad = await client.post(f"/t/{tenants.A}/admin/exchange/clients", headers=admin_a, form={"name": "", "scopes": "open311"})
    assert bad.status_code == 422 and "请填写名称" in await bad.get_data(as_text=True)


@pytest.mark.parametrize("me, other", [("A", "B"), ("B", "A")])
async def test_a_client_of_one_body_is_nothing_to_another(client, tenants, me, other):
    slugs = {"A": tenants.A, "B": tenants.B}
    mine = await login_token(client, slugs[me], "admin")
    theirs = await login_token(client, slugs[other], "admin")
    made = await register(client, slugs[other], theirs, f"隔离客户端 {other}")
    listed = await (await client.get(f"/t/{slugs[me]}/api/exchange/clients", headers=mine)).get_data(as_text=True)
    assert made["id"] not in listed
    foreign = await client.post(f"/t/{slugs[me]}/api/exchange/clients/{made['id']}/revoke", headers=mine)
    assert foreign.status_code == 404
    still = await (await client.get(f"/t/{slugs[other]}/api/exchange/clients", headers=theirs)).get_json()
    assert [c["active"] for c in still["clients"] if c["id"] == made["id"]] == [True]
