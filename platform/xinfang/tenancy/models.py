"""Tenant documents. Tenants are platform data: they are not themselves tenant-scoped."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, field_validator
from pymongo import ASCENDING, IndexModel

from ..store.documents import IdRef, PlatformDocument, TenantDocument
from ..timefmt import DEFAULT_ZONE, is_time_zone


class TenantLevel(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"  # 村（社区）: below a township; holds village supervisors (信访监督员), registers no cases itself

    @property
    def rank(self) -> int:
        return list(TenantLevel).index(self)


class TenantKind(StrEnum):
    COMMISSION = "commission"  # 纪委监委
    EDUCATION_BUREAU = "education_bureau"  # 教育局纪委


class LocalizedName(BaseModel):
    zh: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=200)


class TenantSettings(BaseModel):
    """Policies the operator sets for one tenant in its bundle's ``[settings]`` (tenant admins cannot change them)."""

    # A one-person office: the author of a card or action may approve it (报批) themselves; each such
    # approval is recorded as a self-approval on the card's timeline and counted in the statistics.
    allow_self_approval: bool = False
    # Slugs of tenants outside this one's line (ancestors and descendants) whose card and action
    # copies this tenant accepts into its inbox (cards/copies.py).
    accept_copies_from: list[str] = Field(default_factory=list)
    # IANA zone every page and printed document of this tenant shows times in (timefmt.py);
    # stored instants and API values stay UTC.
    time_zone: str = DEFAULT_ZONE
    # Staff must sign in with a TOTP code after their password; one without it set up may open only their
    # account page until they set it up (auth/access.py).
    require_totp: bool = False
    # The issuing body's code (机关代字) in its documents' numbers (文号), e.g. 泗教纪 -> 泗教纪〔2026〕3号;
    # empty: the body's name stands in for it (cards/numbers.py).
    document_prefix: str = Field(default="", max_length=20)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)")
        return value


class Tenant(PlatformDocument):
    slug: str
    name: LocalizedName
    level: TenantLevel
    kind: TenantKind = TenantKind.COMMISSION
    region_code: str  # GB/T 2260 administrative division code
    parent_id: IdRef | None = None
    # Materialised path of ancestor ids, root first: hierarchy queries need no joins
    # (the embedded store's $lookup is not trustworthy; see STACK.md).
    ancestor_ids: list[IdRef] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    active: bool = True
    bundle_digest: str | None = None  # of the bundle this tenant was last loaded from
    settings: TenantSettings = Field(default_factory=TenantSettings)

    class Settings:
        name = "tenants"
        indexes = [
            IndexModel([("slug", ASCENDING)], unique=True),
            IndexModel([("hosts", ASCENDING)]),
            IndexModel([("ancestor_ids", ASCENDING)]),
            # The beat counts the active tenants several times a beat (due_sweeps.tenant_count): without this index
            # the embedded store reads every tenant for it (5 ms at 2,156 tenants, 0.4 ms with it).
            IndexModel([("active", ASCENDING)]),
            # Every staff page asks whether an active tenant sits below this one (service.children_of,
            # has_lower_tenant): without it the embedded store read every tenant (3.3 ms a page at 2,156 tenants).
            IndexModel([("parent_id", ASCENDING)]),
        ]

    def public_view(self) -> dict:
        return {
            "id": str(self.id),
            "slug": self.slug,
            "name": self.name.model_dump(),
            "level": self.level.value,
            "kind": self.kind.value,
            "region_code": self.region_code,
            "parent_id": self.parent_id,
        }


class TenantPluginSetting(TenantDocument):
    """Whether a plugin is on for a tenant, and its configuration (validated by the plugin's schema)."""

    plugin: str
    enabled: bool
    config: dict = Field(default_factory=dict)

    class Settings:
        name = "tenant_plugin_settings"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("plugin", ASCENDING)], unique=True)]
