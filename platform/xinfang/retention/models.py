"""What retention stores: each tenant's periods, the sweep's daily progress, and the records found due for appraisal."""

from __future__ import annotations

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..store.documents import IdRef, TenantDocument


class RetentionPolicy(TenantDocument):
    """A tenant's retention periods in whole years by record kind (policy.KINDS); None: kept permanently.
    A kind missing here keeps its default (policy.DEFAULT_YEARS). Each change is also a configuration version."""

    years: dict[str, int | None] = Field(default_factory=dict)
    changed_by: str | None = None  # the tenant admin's account id (separation of duties: who set it is recorded)
    changed_by_name: str = ""

    class Settings:
        name = "retention_policies"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class RetentionMark(TenantDocument):
    """How far the sweep got in one tenant on one day of its own zone, per kind: ``done`` kinds were swept whole that
    day; ``cursor`` is the last record id looked at in a kind not yet done (a run is bounded, the next resumes)."""

    day: str
    done: list[str] = Field(default_factory=list)
    cursor: dict[str, str] = Field(default_factory=dict)

    class Settings:
        name = "retention_marks"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class RetentionDue(TenantDocument):
    """A card, an archive entry or an audit record past its retention period: listed for the archive office's
    appraisal (鉴定), never deleted by the platform. ``_id`` is derived from (tenant, kind, record), so the sweep
    finding it again writes nothing new."""

    kind: str
    record_id: IdRef
    since: str  # the day (tenant's zone) its period ended
    found_on: str  # the day the sweep listed it

    class Settings:
        name = "retention_due"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("kind", ASCENDING), ("since", ASCENDING)])]
