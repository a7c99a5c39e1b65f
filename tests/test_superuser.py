"""Superusers: the tenant tree, and cross-tenant reads that state a purpose and are audited first."""

from tests.conftest import login_token


async def test_the_tenant_tree(client, superuser, tenants):
    tree = (await (await client.get("/api/platform/tenants", headers=superuser)).get_json())["tenants"]
    by_slug = {node["slug"]: node for node in tree}
    assert [c["slug"] for c in by_slug[tenants.B]["children"]] == [tenants.CHILD_OF_B]
    assert tenants.CHILD_OF_B not in by_slug  # a child is not a root


async def test_cross_tenant_read_requires_a_purpose(client, superuser):
    response = await client.get("/api/platform/accounts?username=admin", headers=superuser)
    assert response.status_code == 422
    assert "purpose" in (await response.get_json())["error"]["fields"]


async def test_cross_tenant_read_is_audited_before_it_answers(client, superuser, tenants):
    purpose = "干部任用征求意见 promotion review #2026-17"
    response = await client.get("/api/platform/accounts", query_string={"username": "admin", "purpose": purpose}, headers=superuser)
    assert response.status_code == 200
    found = (await response.get_json())["accounts"]
    assert {tenants.A, tenants.B, tenants.CHILD_OF_B} <= {a["tenant"]["slug"] for a in found}
    assert all("password_hash" not in a for a in found)
    records = (await (await client.get("/api/platform/audit", headers=superuser)).get_json())["records"]
    mine = [r for r in records if r["purpose"] == purpose]
    assert len(mine) == 1 and mine[0]["actor_username"] == "org-reviewer"
    assert mine[0]["result_count"] == len(found) and len(mine[0]["tenant_ids"]) >= 3


async def test_tenant_staff_cannot_use_the_cross_tenant_path(client, tenants):
    for slug in (tenants.A, tenants.B):
        headers = await login_token(client, slug, "admin")
        response = await client.get("/api/platform/accounts?username=admin&purpose=curious", headers=headers)
        assert response.status_code == 403


async def test_failed_events_are_visible_to_operators(client, superuser):
    response = await client.get("/api/platform/events?status=failed", headers=superuser)
    assert response.status_code == 200 and isinstance((await response.get_json())["events"], list)
