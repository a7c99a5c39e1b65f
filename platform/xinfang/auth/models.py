"""Accounts. Staff belong to one tenant; superusers belong to the platform."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument, TenantDocument, UtcDateTime


def security_view(account) -> dict:
    """What an account's page and API show of its safeguards (never the secret itself)."""
    locked = account.locked_until if account.locked_until and account.locked_until > time.time() else None
    return {
        "must_change_password": account.must_change_password,
        "totp_enabled": account.totp_secret is not None,
        "locked_until": datetime.fromtimestamp(locked, UTC).isoformat() if locked else None,
    }


class Role(StrEnum):
    REGISTRAR = "registrar"  # 登记员: registers letters, visits, calls
    HANDLER = "handler"  # 承办人: handles petitions
    LEADER = "leader"  # 领导: approves (报批)
    TENANT_ADMIN = "tenant_admin"  # 租户管理员: forms, cards, users, plugins
    AUDITOR = "auditor"  # 审计员: reads logs and activity
    VILLAGE_SUPERVISOR = "village_supervisor"  # 信访监督员 (township, village): relays villagers' petitions, sees only those


class StaffAccount(TenantDocument):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(default_factory=list)
    password_hash: str
    active: bool = True
    auth_epoch: int = 0  # raised when the password or roles change: every earlier login ends (auth/sessions.py)
    # A bootstrap or reset password: until it is changed, the account may open its own account page only.
    must_change_password: bool = False
    # Two-factor (auth/totp.py): the TOTP secret, sealed with the platform key (crypto.KeyRing); the one being set
    # up waits in totp_pending until a code from it is verified; totp_last_step refuses a code used twice.
    totp_secret: str | None = None
    totp_pending: str | None = None
    totp_last_step: int = 0
    # Lockout (auth/lockout.py): recent failed logins (epoch seconds) and, once too many, the end of the lock.
    failed_logins: list[float] = Field(default_factory=list)
    locked_until: float | None = None

    class Settings:
        name = "staff_accounts"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("username", ASCENDING)], unique=True)]

    def public_view(self) -> dict:
        return {
            "id": str(self.id),
            "tenant_id": str(self.tenant_id),
            "username": self.username,
            "display_name": self.display_name,
            "roles": [r.value for r in self.roles],
            "active": self.active,
        } | security_view(self)


class PlatformAccount(PlatformDocument):
    """A cross-tenant superuser (organization department, higher commissions)."""

    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    password_hash: str
    active: bool = True
    auth_epoch: int = 0  # raised when the password changes: every earlier login ends (auth/sessions.py)
    must_change_password: bool = False  # as on StaffAccount
    totp_secret: str | None = None
    totp_pending: str | None = None
    totp_last_step: int = 0
    failed_logins: list[float] = Field(default_factory=list)
    locked_until: float | None = None

    class Settings:
        name = "platform_accounts"
        indexes = [IndexModel([("username", ASCENDING)], unique=True)]

    def public_view(self) -> dict:
        return {
            "id": str(self.id),
            "username": self.username,
            "display_name": self.display_name,
            "superuser": True,
            "active": self.active,
        } | security_view(self)


class GrantState(StrEnum):
    PENDING = "pending"  # waiting for a second person
    APPROVED = "approved"  # the roles were granted
    REJECTED = "rejected"  # refused (or withdrawn by the one who asked)


class RoleGrantRequest(TenantDocument):
    """A grant that needs a second person (``auth/grants.py``): asked for by one tenant admin, decided by
    another tenant admin (neither the one who asked nor the one who gets the roles) or a platform superuser."""

    account_id: IdRef  # who is to get the roles
    account_username: str
    roles: list[Role]
    reason: str = ""
    state: GrantState = GrantState.PENDING
    requested_by: IdRef
    requested_by_username: str
    decided_by: IdRef | None = None
    decided_by_username: str | None = None
    decided_by_superuser: bool = False
    decided_at: UtcDateTime | None = None
    decision_note: str = ""
    revision: int = 0  # two people deciding at once: one wins, the other gets a 409

    class Settings:
        name = "role_grant_requests"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING), ("created_at", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("account_id", ASCENDING)]),
        ]

    def public_view(self) -> dict:
        return {
            "id": str(self.id),
            "tenant_id": str(self.tenant_id),
            "account_id": self.account_id,
            "account_username": self.account_username,
            "roles": [r.value for r in self.roles],
            "reason": self.reason,
            "state": self.state.value,
            "requested_by": self.requested_by,
            "requested_by_username": self.requested_by_username,
            "requested_at": self.created_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_by_username": self.decided_by_username,
            "decided_by_superuser": self.decided_by_superuser,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_note": self.decision_note,
        }
