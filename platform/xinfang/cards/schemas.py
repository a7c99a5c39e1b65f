"""Request bodies of the supervision routes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import Subject


class SupervisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["card", "action"]
    type_key: str = Field(min_length=1, max_length=64)
    subject: Subject
    petition_ids: list[str] = Field(default_factory=list, max_length=50)
    official_id: str | None = Field(default=None, max_length=24, description="the official in the tenant's integrity archives")


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=20000)


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_on: str = Field(min_length=1, max_length=10, description="the date the visit was due (YYYY-MM-DD), as listed in follow_ups")
    text: str = Field(default="", max_length=5000, description="what the visit found")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=32)
    note: str = Field(default="", max_length=5000)
    rectify_by: str | None = None


class DefinitionIn(BaseModel):
    """A card type, action type or escalation rule, as in a tenant bundle (checked by the bundle's JSON Schema)."""

    model_config = ConfigDict(extra="allow")
