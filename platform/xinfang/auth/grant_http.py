"""Role grant requests: roles that need a second person wait here until another tenant admin, or a
platform superuser, approves or rejects them (the rule: ``auth/grants.py``; the verbs: ``auth/role_grants.py``)."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import document_request

from ..http import parse_body
from ..store.scoped import TenantScope
from ..tenancy.resolution import current_tenant
from .access import current_principal
from .grants import Grantor
from .permissions import Permission, requires, superuser_only
from .role_grants import access_role_grant, do_decide_role_grant, do_request_role_grant, list_role_grants
from .schemas import GrantDecisionIn, RoleGrantIn

role_grants_bp = Blueprint("role_grants", __name__, url_prefix="/t/<tenant_slug>/api/role-grants")
platform_role_grants_bp = Blueprint("platform_role_grants", __name__, url_prefix="/api/platform/tenants/<tenant_slug>/role-grants")


@role_grants_bp.get("")
@requires(Permission.ACCOUNTS_READ)
async def list_grant_requests(tenant_slug):
    """Role requests of this tenant, newest first; ``?state=pending|approved|rejected``."""
    rows = await list_role_grants(current_tenant().scope, request.args.get("state"))
    return {"role_grants": [r.public_view() for r in rows]}


@role_grants_bp.post("")
@requires(Permission.ACCOUNTS_MANAGE)
@document_request(RoleGrantIn)
async def request_grant(tenant_slug):
    """Ask for roles for an account (never one's own); another tenant admin or a superuser decides."""
    body = await parse_body(RoleGrantIn)
    row = await do_request_role_grant(current_tenant().scope, body.account_id, body.roles, Grantor.of(current_principal()),
                                      reason=body.reason)
    return row.public_view(), 201


@role_grants_bp.get("/<request_id>")
@requires(Permission.ACCOUNTS_READ)
async def show_grant_request(tenant_slug, request_id):
    return (await access_role_grant(current_tenant().scope, request_id)).public_view()


async def _decide(scope: TenantScope, request_id: str, approve: bool) -> dict:
    row = await access_role_grant(scope, request_id)  # first: another tenant's request is a plain 404, whatever the body
    body = await parse_body(GrantDecisionIn) if (await request.get_data()).strip() else GrantDecisionIn()  # the note is optional
    decided = await do_decide_role_grant(scope, row, Grantor.of(current_principal()), approve=approve, note=body.note)
    return decided.public_view()


@role_grants_bp.post("/<request_id>/approve")
@requires(Permission.ACCOUNTS_MANAGE)
@document_request(GrantDecisionIn)
async def approve_grant_request(tenant_slug, request_id):
    """The second person: a tenant admin who neither asked nor gets the roles."""
    return await _decide(current_tenant().scope, request_id, approve=True)


@role_grants_bp.post("/<request_id>/reject")
@requires(Permission.ACCOUNTS_MANAGE)
@document_request(GrantDecisionIn)
async def reject_grant_request(tenant_slug, request_id):
    """Refuse a request (the one who asked may withdraw it this way)."""
    return await _decide(current_tenant().scope, request_id, approve=False)


# Superusers approve for tenants without a second admin. The slug in the path resolves the tenant
# as on tenant routes (tenancy/resolution.py). Listing a tenant's requests shows a superuser nothing
# the audit log (GET /api/platform/audit) does not already show them: no read record here.


@platform_role_grants_bp.get("")
@superuser_only(Permission.PLATFORM_ADMIN)
async def platform_list_grant_requests(tenant_slug):
    rows = await list_role_grants(current_tenant().scope, request.args.get("state"))
    return {"role_grants": [r.public_view() for r in rows]}


@platform_role_grants_bp.post("/<request_id>/approve")
@superuser_only(Permission.PLATFORM_ADMIN)
@document_request(GrantDecisionIn)
async def platform_approve_grant_request(tenant_slug, request_id):
    return await _decide(current_tenant().scope, request_id, approve=True)


@platform_role_grants_bp.post("/<request_id>/reject")
@superuser_only(Permission.PLATFORM_ADMIN)
@document_request(GrantDecisionIn)
async def platform_reject_grant_request(tenant_slug, request_id):
    return await _decide(current_tenant().scope, request_id, approve=False)
