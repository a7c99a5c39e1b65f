"""Request bodies of the archive and review routes."""

from pydantic import BaseModel, ConfigDict, Field


class OfficialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    position: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    rank_level: str | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=40, description="kept only as a keyed hash, to match the same person across tenants")


class ArchiveDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_key: str = Field(min_length=1, max_length=64)
    on: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD")
    data: dict = Field(default_factory=dict, description="answers to the document type's JSON Schema")


class DocumentTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: dict = Field(description='{"zh": ..., "en": ...}')
    json_schema: dict


class PetitionLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    petition_id: str = Field(min_length=1, max_length=24)


class OfficialLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    official_id: str = Field(min_length=1, max_length=24)


class ReviewIn(BaseModel):
    """Every field is checked by the service, so one answer lists every problem."""

    model_config = ConfigDict(extra="forbid")
    official_name: str = Field(default="", max_length=100)
    purpose: str = Field(default="", description="promotion | transfer")
    reference_no: str = Field(default="", max_length=100)
    justification: str = Field(default="", max_length=2000)
    id_number: str | None = Field(default=None, max_length=40)
    official_id: str | None = Field(default=None, max_length=24)
    unit: str | None = Field(default=None, max_length=100, description="with the name, where no identity number is known")


class OfficialSearchIn(BaseModel):
    """A name search across tenants is bound to a purpose like the review it prepares."""

    model_config = ConfigDict(extra="forbid")
    official_name: str = Field(default="", max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    purpose: str = Field(default="", description="promotion | transfer")
    reference_no: str = Field(default="", max_length=100)
    justification: str = Field(default="", max_length=2000)


class ManualLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    official_id: str = Field(min_length=1, max_length=24)
    reason: str = Field(min_length=1, max_length=500)
