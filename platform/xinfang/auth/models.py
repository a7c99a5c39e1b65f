"""Accounts. Staff belong to one tenant; superusers belong to the platform."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..store.documents import PlatformDocument, TenantDocument


class Role(StrEnum):
    REGISTRAR = "registrar"  # 登记员: registers letters, visits, calls
    HANDLER = "handler"  # 承办人: handles petitions
    LEADER = "leader"  # 领导: approves (报批)
    TENANT_ADMIN = "tenant_admin"  # 租户管理员: forms, cards, users, plugins
    AUDITOR = "auditor"  # 审计员: reads logs and activity


class StaffAccount(TenantDocument):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(default_factory=list)
    password_hash: str
    active: bool = True
    auth_epoch: int = 0  # raised when the password or roles change: every earlier login ends (auth/sessions.py)

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
        }


class PlatformAccount(PlatformDocument):
    """A cross-tenant superuser (organization department, higher commissions)."""

    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    password_hash: str
    active: bool = True
    auth_epoch: int = 0  # raised when the password changes: every earlier login ends (auth/sessions.py)

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
        }
