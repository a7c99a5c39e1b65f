"""Request bodies of the tenancy routes."""

from pydantic import BaseModel, ConfigDict, Field


class PluginSettingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    config: dict = Field(default_factory=dict)
