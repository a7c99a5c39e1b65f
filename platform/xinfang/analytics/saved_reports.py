"""Saved free reports: a name and the report's spec, per tenant, shared by everyone there who reads analytics
(a leader saves "每月受理与办结", a clerk opens it each month). Listed, opened, renamed and deleted on the reports page."""

from __future__ import annotations

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..errors import InvalidInput, NotFound
from ..store.documents import TenantDocument, UtcDateTime, utcnow
from ..store.scoped import TenantScope
from .reports import ReportSpec

NAME_MAX = 60
SAVED_MAX = 200  # per tenant: a list people still read


class SavedReport(TenantDocument):
    name: str = Field(max_length=NAME_MAX)
    # The spec as JSON (dates as "2026-11-01"): the embedded store does not keep a date as a date (STACK.md).
    spec_data: dict
    created_by: str = ""  # the account's display name, shown in the list
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "analytics_saved_reports"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("name", ASCENDING)])]

    @property
    def spec(self) -> ReportSpec:
        return ReportSpec.model_validate(self.spec_data)


def clean_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidInput(fields={"name": {"zh": "请给报表起个名字", "en": "give the report a name"}})
    if len(name) > NAME_MAX:
        raise InvalidInput(fields={"name": {"zh": f"名称最多 {NAME_MAX} 个字", "en": f"the name has {NAME_MAX} characters at most"}})
    return name


async def list_saved(scope: TenantScope) -> list[SavedReport]:
    return await scope.repo(SavedReport).find({}).sort("name").limit(SAVED_MAX).to_list()


async def get_saved(scope: TenantScope, report_id: str) -> SavedReport:
    """The tenant's saved report, or a 404 like any unknown id (another tenant's id included)."""
    saved = await scope.repo(SavedReport).get(report_id)
    if saved is None:
        raise NotFound()
    return saved


async def save(scope: TenantScope, name: str, spec: ReportSpec, author: str) -> SavedReport:
    name = clean_name(name)
    if await scope.repo(SavedReport).count({}) >= SAVED_MAX:
        raise InvalidInput(fields={"name": {"zh": f"已保存 {SAVED_MAX} 张报表，请先删除不用的", "en": f"{SAVED_MAX} reports are saved already: delete some first"}})
    return await scope.repo(SavedReport).insert(SavedReport(tenant_id=scope.tenant_id, name=name, spec_data=spec.model_dump(mode="json"), created_by=author))


async def rename(scope: TenantScope, report_id: str, name: str) -> SavedReport:
    saved = await get_saved(scope, report_id)
    saved.name, saved.updated_at = clean_name(name), utcnow()
    await scope.repo(SavedReport).save(saved)
    return saved


async def replace_spec(scope: TenantScope, report_id: str, spec: ReportSpec) -> SavedReport:
    saved = await get_saved(scope, report_id)
    saved.spec_data, saved.updated_at = spec.model_dump(mode="json"), utcnow()
    await scope.repo(SavedReport).save(saved)
    return saved


async def delete(scope: TenantScope, report_id: str) -> None:
    await scope.repo(SavedReport).delete(await get_saved(scope, report_id))
