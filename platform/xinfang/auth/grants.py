"""Who may grant which role: separation of duties as one rule, decided here and nowhere else.

A role is judged by the permissions it carries (``permissions.ROLE_PERMISSIONS``), so a
role added later is classified without touching this file:

- it **reads sensitive data** when it lets its holder read petitioners' sealed identities
  (``petitions.identity.read``) or integrity archives (``archives.read``);
- it **approves grants** when it lets its holder manage accounts (``accounts.manage``):
  whoever holds it is the second person for others' grants, so making one is itself a grant
  that needs a second person (otherwise one admin makes a second admin and approves through it).

The rules (README, "Separation of duties"):

1. Nobody changes their own roles, not even to give one up.
2. Granting a role that reads sensitive data or approves grants needs a second person: the
   request waits until another tenant admin (neither the one who asked nor the one who is to
   get the roles) or a platform superuser approves it. Other roles one tenant admin grants alone.
3. Over the API, no account holds tenant_admin together with a role that reads sensitive
   data: whoever configures the workflow, forms and accounts does not also do the casework
   those rules govern. An operator (a bundle, ``xinfang create-user``) may combine them for a
   one-person office; it is recorded like every grant.
4. Taking a role away is never held back (least privilege), except from oneself (rule 1).
5. Bundles and ``xinfang create-user`` are operator paths: trusted, not held back, recorded.

Everything granted, revoked, requested, approved or rejected is appended to the audit chain
(``auth/role_grants.py``). This module only decides; it reads and writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from enum import StrEnum

from ..errors import Conflict, Forbidden, InvalidInput, Message
from .models import Role
from .permissions import ROLE_PERMISSIONS, Permission

SENSITIVE_READS: dict[Permission, Message] = {
    Permission.PETITION_IDENTITY_READ: {"zh": "信访人身份", "en": "petitioners' identities"},
    Permission.ARCHIVES_READ: {"zh": "廉政档案", "en": "integrity archives"},
}
APPROVES_GRANTS = Permission.ACCOUNTS_MANAGE

# The actor id recorded for the operator paths, which have no account (an id no account can have).
OPERATOR_ACCOUNT_ID = "0" * 24


class GrantPath(StrEnum):
    API = "api"  # a tenant admin over the API (or the console)
    BUNDLE = "bundle"  # tenants/<slug>/bundle.toml, loaded by the operator
    CLI = "cli"  # xinfang create-user, run by the operator


OPERATOR_PATHS = {GrantPath.BUNDLE, GrantPath.CLI}


@dataclasses.dataclass(frozen=True)
class Grantor:
    """Who changes roles: a tenant admin, a platform superuser (approving), or the operator."""

    account_id: str
    username: str
    path: GrantPath
    superuser: bool = False

    @property
    def is_operator(self) -> bool:
        return self.path in OPERATOR_PATHS

    @classmethod
    def of(cls, principal) -> "Grantor":
        return cls(principal.account_id, principal.username, GrantPath.API, principal.is_superuser)

    @classmethod
    def operator(cls, path: GrantPath) -> "Grantor":
        if path not in OPERATOR_PATHS:
            raise ValueError(f"{path} is not an operator path")
        return cls(OPERATOR_ACCOUNT_ID, f"operator:{path.value}", path)


def parse_roles(roles: Iterable[str]) -> list[Role]:
    """Known role names, in the order given, without repeats; a 422 naming the allowed ones otherwise."""
    try:
        return list(dict.fromkeys(Role(r) for r in roles))
    except ValueError:
        raise InvalidInput(fields={"roles": {
            "zh": "未知角色；可选：" + "、".join(r.value for r in Role),
            "en": "unknown role; allowed: " + ", ".join(r.value for r in Role),
        }}) from None


def sensitive_reads(role: Role) -> list[Permission]:
    return [p for p in SENSITIVE_READS if p in ROLE_PERMISSIONS[Role(role)]]


def approves_grants(role: Role) -> bool:
    return APPROVES_GRANTS in ROLE_PERMISSIONS[Role(role)]


def needs_second_person(role: Role) -> bool:
    return bool(sensitive_reads(role)) or approves_grants(role)


def combines_admin_and_casework(roles: Iterable[Role]) -> bool:
    roles = list(roles)
    return any(approves_grants(r) for r in roles) and any(sensitive_reads(r) for r in roles)


def _names(roles: Iterable[Role]) -> str:
    return ", ".join(Role(r).value for r in roles)


SELF_CHANGE = {"zh": "不能更改自己的角色，请由另一名管理员办理", "en": "nobody changes their own roles: another admin must do it"}
COMBINED = {"zh": "同一账号不能既是租户管理员又能查看信访人身份或廉政档案（一人单位请由运维人员通过单位配置包设置）",
            "en": "one account cannot be tenant admin and also read petitioners' identities or integrity archives "
                  "(for a one-person office the operator sets this in the tenant bundle)"}


@dataclasses.dataclass(frozen=True)
class RoleChange:
    """What a change of an account's roles comes to under the rule."""

    granted: list[Role]  # given at once
    requested: list[Role]  # waiting for a second person
    revoked: list[Role]  # taken away at once

    @property
    def empty(self) -> bool:
        return not (self.granted or self.requested or self.revoked)


def plan_role_change(grantor: Grantor, account_id: str, current: Iterable[Role], wanted: Iterable[Role]) -> RoleChange:
    """Split a change of an account's roles (``current`` -> ``wanted``) into what happens now and what waits."""
    current, wanted = list(dict.fromkeys(current)), list(dict.fromkeys(wanted))
    added = [r for r in wanted if r not in current]
    revoked = [r for r in current if r not in wanted]
    if grantor.is_operator:
        return RoleChange(granted=added, requested=[], revoked=revoked)
    if grantor.superuser:  # superusers approve requests; they do not edit a tenant's accounts
        raise Forbidden()
    if grantor.account_id == str(account_id) and (added or revoked):
        raise Forbidden(SELF_CHANGE)
    if added and combines_admin_and_casework(wanted):
        raise InvalidInput(fields={"roles": COMBINED})
    return RoleChange(granted=[r for r in added if not needs_second_person(r)],
                      requested=[r for r in added if needs_second_person(r)], revoked=revoked)


def check_request(grantor: Grantor, account_id: str, current: Iterable[Role], asked: Iterable[Role]) -> list[Role]:
    """A grant request asked for explicitly: the roles it will carry (those not held yet)."""
    current, asked = list(current), list(dict.fromkeys(asked))
    if grantor.superuser:
        raise Forbidden()
    if grantor.account_id == str(account_id):
        raise Forbidden(SELF_CHANGE)
    missing = [r for r in asked if r not in current]
    if not missing:
        raise InvalidInput(fields={"roles": {"zh": "该账号已有这些角色", "en": "the account already holds these roles"}})
    if combines_admin_and_casework(current + missing):
        raise InvalidInput(fields={"roles": COMBINED})
    return missing


def check_decider(grantor: Grantor, *, requested_by: str, account_id: str, current: Iterable[Role],
                  roles: Iterable[Role], approving: bool) -> None:
    """May ``grantor`` decide this request? A superuser may; a tenant admin only when a second person.

    Rejecting is open to the one who asked (a withdrawal), never to the one who would get the roles.
    """
    if grantor.is_operator:
        raise Forbidden()
    if not grantor.superuser:
        if grantor.account_id == str(account_id):
            raise Forbidden({"zh": "不能决定授予自己的角色", "en": "nobody decides a grant of roles to themselves"})
        if approving and grantor.account_id == str(requested_by):
            raise Forbidden({"zh": "须由申请人以外的另一名管理员或平台超级用户批准",
                             "en": "a second person must approve: another tenant admin than the one who asked, or a platform superuser"})
    if approving and combines_admin_and_casework(list(current) + [r for r in roles if r not in current]):
        raise Conflict(COMBINED)


def grant_table() -> list[dict]:
    """One row per role: what it reads, and who may grant it (README's table is checked against this)."""
    rows = []
    for role in Role:
        reads = sensitive_reads(role)
        rows.append({
            "role": role.value,
            "reads": [SENSITIVE_READS[p]["en"] for p in reads],
            "approves_grants": approves_grants(role),
            "granted_by": "second person" if needs_second_person(role) else "one tenant admin",
        })
    return rows
