"""Request bodies of the auth routes."""

from pydantic import BaseModel, ConfigDict, Field


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewStaffAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(default_factory=list)
    password: str = Field(min_length=1, max_length=1024)


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str]
