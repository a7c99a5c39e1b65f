"""Staff accounts for tests, made the two ways the separation-of-duties rule allows (README).

- ``approved_account``: a tenant admin creates it over the API; the roles that need a second
  person wait in a request, which a platform superuser (``org-approver``) approves over the API.
- ``operator_account``: the operator's path (as ``xinfang create-user`` does), for accounts the
  API refuses on purpose, e.g. one person holding tenant_admin and casework roles at once.
"""

from __future__ import annotations

from xinfang.auth.grants import GrantPath, Grantor
from xinfang.auth.models import StaffAccount
from xinfang.auth.service import do_create_staff_account
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token

APPROVER = "org-approver"


async def approve_as_superuser(client, slug: str, request_id: str) -> dict:
    superuser = await login_token(client, None, APPROVER)
    approved = await client.post(f"/api/platform/tenants/{slug}/role-grants/{request_id}/approve", headers=superuser)
    assert approved.status_code == 200, await approved.get_data(as_text=True)
    return await approved.get_json()


async def approved_account(client, slug: str, username: str, roles: list[str], password: str = "long-enough-pw") -> str:
    admin = await login_token(client, slug, "admin")
    created = await client.post(f"/t/{slug}/api/accounts", headers=admin, json={
        "username": username, "display_name": username, "password": password, "roles": roles})
    assert created.status_code == 201, await created.get_data(as_text=True)
    body = await created.get_json()
    if body["pending_role_request"]:
        await approve_as_superuser(client, slug, body["pending_role_request"]["id"])
    return body["id"]


async def tenant_scope(slug: str) -> TenantScope:
    return TenantScope((await Tenant.find_one({"slug": slug})).id)


async def operator_account(slug: str, username: str, roles: list[str], password: str = "long-enough-pw") -> str:
    scope = await tenant_scope(slug)
    existing = await scope.repo(StaffAccount).find_one({"username": username})
    if existing is not None:
        return str(existing.id)
    account, _ = await do_create_staff_account(scope, username=username, display_name=username, roles=roles, password=password,
                                               grantor=Grantor.operator(GrantPath.CLI))
    return str(account.id)
