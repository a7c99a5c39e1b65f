"""Request bodies of the auth routes."""

from pydantic import BaseModel, ConfigDict, Field


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, max_length=16, description="the authenticator's 6 digits, when two-factor is on")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class NewStaffAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(default_factory=list, max_length=20)
    password: str | None = Field(default=None, min_length=1, max_length=1024,
                                 description="omitted: a one-time password is made, returned once, and must be changed at the first login")
    must_change_password: bool | None = Field(default=None, description="default: true when the password was made here")


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] = Field(max_length=20)
    reason: str = Field(default="", max_length=2000, description="why; kept with the grant in the audit log")


class RoleGrantIn(BaseModel):
    """Ask for roles for an account; another tenant admin or a platform superuser decides."""

    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(min_length=1, max_length=24)
    roles: list[str] = Field(min_length=1, max_length=20)
    reason: str = Field(default="", max_length=2000)


class GrantDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


class TotpCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16)
