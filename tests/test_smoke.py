async def test_tenant_directory_lists_both_tenants(client, tenants):
    response = await client.get("/api/tenants")
    slugs = {t["slug"] for t in (await response.get_json())["tenants"]}
    assert {tenants.A, tenants.B, tenants.CHILD_OF_B} <= slugs
