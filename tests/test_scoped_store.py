"""The tenant-scoped data layer: stamps and filters tenant_id itself, refuses unscoped queries."""

import pytest
from bson import ObjectId

from xinfang.auth.models import StaffAccount
from xinfang.store.documents import CrossTenantWriteError, UnscopedQueryError, cross_tenant_reads
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant


@pytest.fixture
async def scopes(app, tenants):
    a = await Tenant.find_one({"slug": tenants.A})
    b = await Tenant.find_one({"slug": tenants.B})
    return TenantScope(a.id), TenantScope(b.id)


async def test_unscoped_queries_on_tenant_data_are_refused(scopes):
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.find_one({"username": "admin"})
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.find({"username": "admin"}).to_list()
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.find_all().to_list()
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.get(ObjectId())
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.count()


async def test_a_scope_sees_only_its_own_tenant(scopes):
    scope_a, scope_b = scopes
    admin_a = await scope_a.repo(StaffAccount).find_one({"username": "admin"})
    admin_b = await scope_b.repo(StaffAccount).find_one({"username": "admin"})
    assert admin_a.tenant_id == scope_a.tenant_id and admin_b.tenant_id == scope_b.tenant_id
    assert admin_a.id != admin_b.id
    assert await scope_b.repo(StaffAccount).get(admin_a.id) is None
    assert await scope_a.repo(StaffAccount).get(admin_a.id) is not None
    usernames_b = {a.username async for a in scope_b.repo(StaffAccount).find()}
    assert "registrar" not in usernames_b  # only 泗阳 has a registrar-only account


async def test_a_scope_refuses_to_name_or_write_another_tenant(scopes):
    scope_a, scope_b = scopes
    with pytest.raises(CrossTenantWriteError):
        await scope_a.repo(StaffAccount).find_one({"tenant_id": scope_b.tenant_id})
    foreign = await scope_b.repo(StaffAccount).find_one({"username": "admin"})
    foreign.display_name = "hijacked"
    with pytest.raises(CrossTenantWriteError):
        await scope_a.repo(StaffAccount).save(foreign)
    assert (await scope_b.repo(StaffAccount).get(foreign.id)).display_name != "hijacked"


async def test_inserts_are_stamped_with_the_scope_tenant(scopes):
    from xinfang.tenancy.models import TenantPluginSetting

    scope_a, _ = scopes
    row = TenantPluginSetting.model_construct(plugin="stamp-test", enabled=False, config={})
    row.tenant_id = None
    await scope_a.repo(TenantPluginSetting).insert(row)
    assert row.tenant_id == scope_a.tenant_id
    await scope_a.repo(TenantPluginSetting).delete(row)


async def test_malformed_ids_are_simply_not_found(scopes):
    scope_a, _ = scopes
    assert await scope_a.repo(StaffAccount).get("not-an-id") is None
    assert await scope_a.repo(StaffAccount).get("") is None


async def test_cross_tenant_reads_only_inside_the_explicit_block(scopes):
    with cross_tenant_reads("test: superuser service"):
        admins = await StaffAccount.find({"username": "admin"}).to_list()
    assert len({a.tenant_id for a in admins}) >= 3
    with pytest.raises(UnscopedQueryError):
        await StaffAccount.find({"username": "admin"}).to_list()
