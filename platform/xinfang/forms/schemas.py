"""Request bodies of the form routes."""

from pydantic import BaseModel, ConfigDict, Field


class FormVersionIn(BaseModel):
    """Give a full `schema`, or a `template` key (adopt it), optionally with `extend` (extra properties, required)."""

    model_config = ConfigDict(extra="forbid")
    schema_: dict | None = Field(default=None, alias="schema")
    template: str | None = None
    extend: dict | None = None


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_: dict = Field(alias="schema")
    lang: str = "zh"
    example: dict = Field(default_factory=dict, description="answers to validate, to preview the error messages")
    anonymous: bool = False
