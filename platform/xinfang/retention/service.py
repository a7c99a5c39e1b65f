"""Retention periods: read, change (a configuration version, tenant admins only), and the preview of what they reach."""

from __future__ import annotations

from datetime import date, datetime

from ..due_sweeps import reopen
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, register_config_area
from ..tenancy.context import TenantContext
from ..timefmt import zone
from . import policy
from .due import count_due
from .models import RetentionDue, RetentionMark, RetentionPolicy
from .shredding import count_petitions_due

AREA = "retention"
PREVIEW_LIMIT = 20_000  # petitions looked at by one preview; above it the page says "at least"


def today_in(zone_name: str, now: datetime) -> date:
    return now.astimezone(zone(zone_name)).date()


async def current_years(scope: TenantScope) -> dict[str, int | None]:
    row = await scope.repo(RetentionPolicy).find_one({})
    return policy.effective_years(row.years if row else None)


async def saved_policy(scope: TenantScope) -> RetentionPolicy | None:
    return await scope.repo(RetentionPolicy).find_one({})


async def do_set_retention(scope: TenantScope, years: dict[str, int | None], *, actor: ConfigActor, note: str = "") -> dict:
    """Save the periods (every kind, checked by ``policy``) and record them as a configuration version with who set them."""
    years = policy.effective_years(years)
    for kind in policy.KINDS:
        value = years[kind.key]
        if value is not None and not kind.minimum <= value <= policy.MAX_YEARS:
            years[kind.key] = max(kind.minimum, min(policy.MAX_YEARS, value))
    await RetentionPolicy.get_pymongo_collection().update_one(
        {"tenant_id": scope.tenant_id},
        {"$set": {"years": years, "changed_by": actor.account_id, "changed_by_name": actor.name},
         "$setOnInsert": {"tenant_id": scope.tenant_id, "created_at": utcnow()}},
        upsert=True)
    # What the old periods listed, and today's progress, are the old periods' work: the sweep goes through again.
    await RetentionDue.get_pymongo_collection().delete_many({"tenant_id": scope.tenant_id})
    await RetentionMark.get_pymongo_collection().delete_many({"tenant_id": scope.tenant_id})
    await reopen("retention")  # the beat's retention part asks again (sweep.GATE)
    await do_record_config_version(scope, AREA, {"years": years}, actor=actor, note=note)
    return years


async def preview(ctx: TenantContext, years: dict[str, int | None], now: datetime) -> dict[str, dict]:
    """For each kind: how many records these periods would reach today (in the tenant's zone), nothing changed.
    closed_petitions: identities still to be destroyed; the others: records past their period."""
    today = today_in(ctx.tenant.settings.time_zone, now)
    out = {}
    for kind in policy.KINDS:
        value = years.get(kind.key)
        if value is None:
            out[kind.key] = {"count": 0, "capped": False, "cutoff": None}
            continue
        last_start = policy.cutoff(today, value)
        if kind.key == "closed_petitions":
            count, capped = await count_petitions_due(ctx.scope.tenant_id, ctx.tenant.settings.time_zone, last_start, PREVIEW_LIMIT)
        else:
            count, capped = await count_due(ctx.scope.tenant_id, kind.key, last_start, ctx.tenant.settings.time_zone), False
        out[kind.key] = {"count": count, "capped": capped, "cutoff": last_start.isoformat()}
    return out


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    await do_set_retention(scope, dict(content.get("years") or {}), actor=actor, note=note)


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    years = content.get("years") if isinstance(content, dict) else None
    if not isinstance(years, dict):
        return {"years": {"zh": "这一版的内容不完整", "en": "this version's content is incomplete"}}
    problems = {}
    for kind in policy.KINDS:
        value = years.get(kind.key, kind.default)
        if value is not None and (not isinstance(value, int) or not kind.minimum <= value <= policy.MAX_YEARS):
            problems[f"years.{kind.key}"] = {"zh": f"{kind.name['zh']}：保存年限须在 {kind.minimum} 至 {policy.MAX_YEARS} 年之间",
                                             "en": f"{kind.name['en']}: {kind.minimum} to {policy.MAX_YEARS} years"}
    return problems


async def _current(scope: TenantScope) -> dict:
    return {AREA: {"years": await current_years(scope)}}


def _path_label(path: str, lang: str) -> str | None:
    kind = policy.KIND_BY_KEY.get(path.removeprefix("years."))
    return kind.name.get(lang) if kind else None


register_config_area(AREA, {"zh": "保存期限", "en": "Retention periods"}, _apply, check=_check, current=_current, path_label=_path_label)
