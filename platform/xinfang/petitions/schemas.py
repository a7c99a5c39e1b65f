"""Request bodies of the petition routes (also what the OpenAPI document shows)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from .models import Channel


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: str = Field(min_length=1, max_length=64, description="form key, e.g. petition, report, suggestion")
    version: int | None = Field(default=None, description="form version; the newest when omitted")
    answers: dict
    anonymous: bool = False


class RegistrationIn(SubmissionIn):
    channel: Channel = Channel.LETTER
    received_on: date | None = Field(default=None, description="the day the letter, visit or call came in (YYYY-MM-DD; never in the "
                                                             "future); the first time limit counts from it; the day of registration when omitted")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: str = Field(min_length=1, max_length=64)


class SupplementIn(ReceiptIn):
    text: str = Field(min_length=1, max_length=5000)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, str] = Field(default_factory=dict)


class CitizenActionIn(ReceiptIn):
    fields: dict[str, str] = Field(default_factory=dict)


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holidays: list[str] = Field(default_factory=list, max_length=400)
    workdays: list[str] = Field(default_factory=list, max_length=100)


class ReceiptOut(BaseModel):
    number: str
    receipt: str = Field(description="16 digits, shown once; only its slow hash is stored")
    state: str
