"""The demo bundles' people can carry a case to its end (issue 11): a case assigned down to 库尔勒 moves on
there, and a case under re-review (复核) closes, with the separation of duties kept on every step."""

from __future__ import annotations

from tests.conftest import login_token
from tests.test_petitions import _act, petition_id_of, submitted


async def account_id(client, slug: str, headers: dict, username: str) -> str:
    accounts = await (await client.get(f"/t/{slug}/api/accounts", headers=headers)).get_json()
    return next(a["id"] for a in accounts["accounts"] if a["username"] == username)


async def citizen_asks(client, slug: str, receipt: str, action: str, address: str):
    asked = await client.post(f"/t/{slug}/api/receipts/actions/{action}", json={"receipt": receipt, "fields": {"reason": "不服"}},
                              scope_base={"client": (address, 1)})
    assert asked.status_code == 200, await asked.get_data(as_text=True)


async def test_a_case_assigned_down_to_korla_is_handled_there(client, tenants):
    result = await submitted(client, tenants.B)
    pid = await petition_id_of(tenants.B, result["number"])
    bazhou_leader = await login_token(client, tenants.B, "leader")
    assert (await _act(client, tenants.B, bazhou_leader, pid, "accept")).status_code == 200
    assert (await _act(client, tenants.B, bazhou_leader, pid, "assign_down", target_tenant=tenants.CHILD_OF_B)).status_code == 200
    korla_leader = await login_token(client, tenants.CHILD_OF_B, "leader")
    handler_id = await account_id(client, tenants.CHILD_OF_B, korla_leader, "handler")
    assigned = await _act(client, tenants.CHILD_OF_B, korla_leader, pid, "assign", assignee=handler_id)
    assert assigned.status_code == 200 and (await assigned.get_json())["state"] == "handling"


async def test_a_re_review_closes_with_the_deputy(client, tenants):
    slug = tenants.A
    result = await submitted(client, slug)
    pid = await petition_id_of(slug, result["number"])
    registrar, leader, handler, deputy = [await login_token(client, slug, u) for u in ("registrar", "leader", "handler", "deputy")]
    assert (await _act(client, slug, registrar, pid, "accept")).status_code == 200
    assert (await _act(client, slug, leader, pid, "assign", assignee=await account_id(client, slug, leader, "handler"))).status_code == 200
    assert (await _act(client, slug, handler, pid, "reply", reply="已核实处理。")).status_code == 200
    await citizen_asks(client, slug, result["receipt"], "request_review", "10.41.0.1")
    assert (await _act(client, slug, leader, pid, "review_reply", reply="复查维持。")).status_code == 200
    await citizen_asks(client, slug, result["receipt"], "request_re_review", "10.41.0.2")
    barred = await _act(client, slug, leader, pid, "re_review_reply", reply="复核维持。")
    assert barred.status_code == 403  # the 复查 author may not write the 复核 opinion
    closed = await _act(client, slug, deputy, pid, "re_review_reply", reply="复核维持。")
    assert closed.status_code == 200 and (await closed.get_json())["state"] == "closed"
