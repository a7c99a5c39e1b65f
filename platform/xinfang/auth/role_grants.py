"""Role grants, applied: the verbs that change an account's roles under ``auth/grants.py``'s rule.

Every grant, revocation, request, approval and rejection is appended to the hash-chained
audit log *before* it takes effect: a change that cannot be recorded does not happen
(the caller gets the audit log's 503). Deciding a request first claims it (a versioned
write, so two people deciding at once cannot both win), then records, then applies.
"""

from __future__ import annotations

import logging

from beanie import PydanticObjectId

from ..audit.service import do_append_audit
from ..errors import Conflict, NotFound
from ..events import DomainEvent, unit_of_work
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from .grants import Grantor, RoleChange, check_decider, check_request, parse_roles, plan_role_change
from .models import GrantState, Role, RoleGrantRequest, StaffAccount
from .sessions import revoke_all_for

log = logging.getLogger(__name__)

GRANTED, REVOKED = "account.roles.granted", "account.roles.revoked"
REQUESTED, REJECTED = "account.roles.requested", "account.roles.rejected"
MAX_REASON = 2000
PURPOSES = {
    GRANTED: "授予角色 / roles granted",
    REVOKED: "撤销角色 / roles revoked",
    REQUESTED: "申请授予角色，待第二人批准 / roles requested, waiting for a second person",
    REJECTED: "驳回角色申请 / role request rejected",
}


async def _audit(scope: TenantScope, grantor: Grantor, action: str, account_id: str, username: str, roles: list[Role], *,
                 how: str, request: RoleGrantRequest | None = None, reason: str = "") -> None:
    query = {"account": username, "roles": [Role(r).value for r in roles], "path": grantor.path.value, "how": how,
             "superuser": grantor.superuser}
    if request is not None:
        query |= {"request_id": str(request.id), "requested_by": request.requested_by_username}
    await do_append_audit(actor_id=grantor.account_id, actor_username=grantor.username, action=action,
                          purpose=f"{PURPOSES[action]} ({how}){': ' + reason if reason else ''}"[:500],
                          subject=account_id, review_id=str(request.id) if request else None, query=query,
                          tenant_ids=[scope.tenant_id])


async def after_role_change(account: StaffAccount) -> None:
    """The account's sessions and bearer tokens end when its roles change: whoever holds one logs in again
    and gets the new roles' permissions (``auth/sessions.py``)."""
    await revoke_all_for(account)


async def _save_roles(scope: TenantScope, account: StaffAccount, grantor: Grantor) -> None:
    async with unit_of_work() as uow:
        await scope.repo(StaffAccount).save(account, session=uow.session)
        uow.record(DomainEvent("account.roles_changed", scope.tenant_id, str(account.id), {"actor_id": grantor.account_id}))
    await after_role_change(account)


async def _apply(scope: TenantScope, account: StaffAccount, change: RoleChange, grantor: Grantor, *, how: str,
                 request: RoleGrantRequest | None = None, reason: str = "") -> None:
    if change.revoked:
        await _audit(scope, grantor, REVOKED, str(account.id), account.username, change.revoked, how=how, reason=reason)
    if change.granted:
        await _audit(scope, grantor, GRANTED, str(account.id), account.username, change.granted, how=how, request=request,
                     reason=reason)
    if change.granted or change.revoked:
        account.roles = [r for r in account.roles if r not in change.revoked] + [r for r in change.granted if r not in account.roles]
        await _save_roles(scope, account, grantor)


def _direct(grantor: Grantor) -> str:
    return grantor.path.value if grantor.is_operator else "direct"


async def _open_request(scope: TenantScope, account: StaffAccount, roles: list[Role], grantor: Grantor, reason: str) -> RoleGrantRequest:
    pending = await scope.repo(RoleGrantRequest).find({"account_id": str(account.id), "state": GrantState.PENDING.value}).to_list()
    for earlier in pending:
        if set(roles) & set(earlier.roles):
            raise Conflict({"zh": f"已有待批准的申请（{earlier.id}），请先批准或驳回", "en": f"already requested and waiting for approval ({earlier.id})"},
                           field="roles")
    request = RoleGrantRequest(tenant_id=scope.tenant_id, account_id=str(account.id), account_username=account.username, roles=roles,
                               reason=reason.strip()[:MAX_REASON], requested_by=grantor.account_id, requested_by_username=grantor.username)
    request.id = PydanticObjectId()  # named before it is recorded: the audit record points at it
    await _audit(scope, grantor, REQUESTED, str(account.id), account.username, roles, how="request", request=request, reason=request.reason)
    async with unit_of_work() as uow:
        await scope.repo(RoleGrantRequest).insert(request, session=uow.session)
        uow.record(DomainEvent("account.roles_requested", scope.tenant_id, str(request.id), {"actor_id": grantor.account_id}))
    return request


async def do_change_roles(scope: TenantScope, account: StaffAccount, wanted: list[str], grantor: Grantor, *,
                          reason: str = "") -> tuple[StaffAccount, RoleGrantRequest | None]:
    """Make ``wanted`` the account's roles as far as the rule lets ``grantor``: revocations and roles one admin may
    grant take effect now, the rest become one pending request (returned) for a second person."""
    change = plan_role_change(grantor, str(account.id), account.roles, parse_roles(wanted))
    request = await _open_request(scope, account, change.requested, grantor, reason) if change.requested else None
    await _apply(scope, account, change, grantor, how=_direct(grantor), reason=reason)
    return account, request


async def do_request_role_grant(scope: TenantScope, account_id: str, roles: list[str], grantor: Grantor, *,
                                reason: str = "") -> RoleGrantRequest:
    """Ask for roles for an account; a second person decides (``do_decide_role_grant``)."""
    account = await scope.repo(StaffAccount).get(account_id)
    if account is None:
        raise NotFound({"zh": "没有这个账号", "en": "no such account"})
    missing = check_request(grantor, str(account.id), account.roles, parse_roles(roles))
    return await _open_request(scope, account, missing, grantor, reason)


async def access_role_grant(scope: TenantScope, request_id: str) -> RoleGrantRequest:
    request = await scope.repo(RoleGrantRequest).get(request_id)
    if request is None:
        raise NotFound({"zh": "没有这项角色申请", "en": "no such role request"})
    return request


async def list_role_grants(scope: TenantScope, state: str | None = None, limit: int = 200) -> list[RoleGrantRequest]:
    query = {"state": state} if state in {s.value for s in GrantState} else {}
    return await scope.repo(RoleGrantRequest).find(query).sort("-created_at").limit(limit).to_list()


async def do_decide_role_grant(scope: TenantScope, request: RoleGrantRequest, grantor: Grantor, *, approve: bool,
                               note: str = "") -> RoleGrantRequest:
    """Approve or reject a pending request. Approving grants the roles the account does not hold yet."""
    if request.state != GrantState.PENDING:
        raise Conflict({"zh": "这项申请已处理", "en": "this request was already decided"})
    account = await scope.repo(StaffAccount).get(request.account_id)
    if account is None:
        raise Conflict({"zh": "申请所涉账号已不存在", "en": "the account of this request no longer exists"})
    check_decider(grantor, requested_by=request.requested_by, account_id=str(account.id), current=account.roles,
                  roles=request.roles, approving=approve)
    previous = request.model_copy()
    request.state = GrantState.APPROVED if approve else GrantState.REJECTED
    request.decided_by, request.decided_by_username = grantor.account_id, grantor.username
    request.decided_by_superuser, request.decided_at = grantor.superuser, utcnow()
    request.decision_note = note.strip()[:MAX_REASON]
    if not await scope.repo(RoleGrantRequest).replace_versioned(request):
        raise Conflict({"zh": "这项申请刚被其他人处理过，请刷新后再试", "en": "someone else decided this request meanwhile; reload"})
    how = "approved by a platform superuser" if grantor.superuser else "approved by a second tenant admin"
    try:
        if approve:
            change = RoleChange(granted=[r for r in request.roles if r not in account.roles], requested=[], revoked=[])
            await _apply(scope, account, change, grantor, how=how, request=request, reason=request.decision_note)
        else:
            await _audit(scope, grantor, REJECTED, str(account.id), account.username, request.roles,
                         how="withdrawn by the requester" if grantor.account_id == request.requested_by else "rejected",
                         request=request, reason=request.decision_note)
    except Exception:
        # Not recorded, so not decided: the request waits again (best effort; a crash here leaves it decided
        # without effect, which the audit log shows as a request with no grant).
        previous.revision = request.revision
        if not await scope.repo(RoleGrantRequest).replace_versioned(previous):
            log.error("role request %s: could not be put back to pending", request.id)
        raise
    async with unit_of_work() as uow:
        uow.record(DomainEvent(f"account.roles_{request.state.value}", scope.tenant_id, str(request.id), {"actor_id": grantor.account_id}))
    return request

