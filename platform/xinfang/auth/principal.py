"""Who is calling: a staff member of one tenant, or a platform superuser."""

from __future__ import annotations

import dataclasses

from .models import PlatformAccount, StaffAccount
from .permissions import SUPERUSER_PERMISSIONS, Permission, permissions_of


@dataclasses.dataclass(frozen=True)
class Principal:
    account_id: str
    username: str
    tenant_id: str | None  # None for a superuser
    permissions: frozenset[Permission]
    via: str  # "session" or "token"
    roles: frozenset[str] = frozenset()
    display_name: str = ""
    must_change_password: bool = False  # a bootstrap or reset password: only the account page opens (auth/access.py)
    totp_enabled: bool = False
    second_factor_pending: bool = False  # password checked, TOTP code not yet: not signed in (auth/access.py)

    @property
    def is_superuser(self) -> bool:
        return self.tenant_id is None

    def can(self, permission: Permission, tenant_id=None) -> bool:
        if self.is_superuser:
            return permission in SUPERUSER_PERMISSIONS
        return tenant_id == self.tenant_id and permission in self.permissions

    @classmethod
    def of_staff(cls, account: StaffAccount, via: str, pending: bool = False) -> "Principal":
        return cls(str(account.id), account.username, account.tenant_id, permissions_of(account.roles), via,
                   frozenset(r.value for r in account.roles), account.display_name, account.must_change_password,
                   account.totp_secret is not None, pending)

    @classmethod
    def of_superuser(cls, account: PlatformAccount, via: str, pending: bool = False) -> "Principal":
        return cls(str(account.id), account.username, None, SUPERUSER_PERMISSIONS, via, frozenset(), account.display_name,
                   account.must_change_password, account.totp_secret is not None, pending)
