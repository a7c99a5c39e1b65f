"""Superusers: numbers across all tenants (per tenant, or per region), never a case. Audited like every
cross-tenant read: the record is written before the answer leaves."""

from __future__ import annotations

from collections import Counter
from datetime import date

from quart import request

from ..audit.service import do_append_audit
from ..auth.access import current_principal
from ..auth.permissions import Permission, superuser_only
from ..errors import InvalidInput
from ..superuser.service import _require_purpose
from ..tenancy.models import Tenant
from .blueprints import platform_analytics_bp
from .cells import read_cells
from .labels import Labeller
from .reports import PETITION_MEASURES, SUPERVISION_MEASURES
from .rollups import MAX_YEARS, _extract, segments


def _problem(name: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(fields={name: {"zh": zh, "en": en}})


@platform_analytics_bp.get("/aggregate")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def aggregate():
    """?measure=received&start=2026-01-01&end=2026-11-30&by=tenant|region&purpose=...: counts only."""
    principal = current_principal()
    purpose = _require_purpose(request.args.get("purpose"))
    measure = request.args.get("measure", "received")
    if measure not in PETITION_MEASURES + SUPERVISION_MEASURES:
        raise _problem("measure", "没有这个指标", "there is no such measure")
    by = request.args.get("by", "tenant")
    if by not in ("tenant", "region"):
        raise _problem("by", "只能按单位或行政区划汇总", "by tenant or by region only")
    if by == "region" and measure in SUPERVISION_MEASURES:
        raise _problem("by", "监督指标不能按行政区划汇总", "supervision measures have no region")
    try:
        start, end = date.fromisoformat(request.args.get("start", "")), date.fromisoformat(request.args.get("end", ""))
    except ValueError:
        raise _problem("start", "日期格式应为 YYYY-MM-DD", "dates as YYYY-MM-DD") from None
    if end < start or (end - start).days > 366 * MAX_YEARS:
        raise _problem("end", f"期间须在{MAX_YEARS}年以内且结束不早于开始", f"a period of at most {MAX_YEARS} years, ending after it starts")
    tenants = await Tenant.find({}).sort("slug").to_list()
    ids = [str(t.id) for t in tenants]
    counted: Counter = Counter()
    for grain in ("month", "day"):
        periods = [p for g, p in segments(start, end, False) if g == grain]
        if not periods:
            continue
        for (tenant_id, _), counts in (await read_cells(ids, "own", grain, periods, [("region" if grain == "month" else "*") if by == "region" else ""])).items():
            for values, n in _extract(counts, measure, ["region"] if by == "region" else [], {}):
                counted[values.get("region", "") if by == "region" else tenant_id] += n
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="cross_tenant.analytics.aggregate",
                          purpose=purpose, query={"measure": measure, "by": by, "start": start.isoformat(), "end": end.isoformat()},
                          tenant_ids=set(ids), result_count=len(counted))
    if by == "tenant":
        rows = [{"tenant": {"id": str(t.id), "slug": t.slug, "name": t.name.model_dump(), "parent_id": t.parent_id,
                            "region_code": t.region_code}, "count": counted.get(str(t.id), 0)} for t in tenants]
    else:
        labeller = Labeller()
        rows = [{"region": code, "label": labeller.label("region", code), "count": n} for code, n in counted.most_common()]
    return {"measure": measure, "by": by, "start": start.isoformat(), "end": end.isoformat(), "rows": rows,
            "total": sum(counted.values())}
