"""Analytics JSON API: a free report, the cases behind a number, the leader's snapshot (the viewer and the tenants
below it; never another branch of the tree)."""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError
from quart import request

from ..auth.permissions import Permission, requires
from ..errors import InvalidInput
from ..http import loads_untrusted, parse_body, validation_fields
from ..tenancy.resolution import current_tenant
from ..timefmt import zone
from ..store.documents import utcnow
from .blueprints import analytics_api_bp
from .reports import ReportSpec
from .rollups import drill_down, run_report, snapshot


def _json_arg(name: str) -> dict:
    value = loads_untrusted(request.args.get(name, ""))
    if not isinstance(value, dict):
        raise InvalidInput(fields={name: {"zh": "应为 JSON 对象", "en": "must be a JSON object"}})
    return value


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(fields={name: {"zh": f"应为{low}到{high}之间的整数", "en": f"must be a whole number from {low} to {high}"}})
    return int(raw)


@analytics_api_bp.post("/report")
@requires(Permission.ANALYTICS_READ)
async def report(tenant_slug: str):
    spec = await parse_body(ReportSpec)
    return (await run_report(current_tenant().tenant, spec)).model_dump(mode="json")


@analytics_api_bp.get("/drill-down")
@requires(Permission.ANALYTICS_READ)
async def drill(tenant_slug: str):
    """?spec=<ReportSpec as JSON>&key=<{dimension: value} as JSON>&measure=received&page=1&size=50"""
    try:
        spec = ReportSpec.model_validate(_json_arg("spec"))
    except ValidationError as exc:
        raise InvalidInput(fields={f"spec.{k}": v for k, v in validation_fields(exc).items()}) from None
    key = _json_arg("key") if request.args.get("key") else {}
    if any(not isinstance(k, str) or not isinstance(v, str) or len(v) > 200 for k, v in key.items()):
        raise InvalidInput(fields={"key": {"zh": "维度值应为文字", "en": "dimension values must be text"}})
    measure = request.args.get("measure", "")
    total, cases = await drill_down(current_tenant().tenant, spec, key, measure, page=_int_arg("page", 1, 1, 100_000),
                                    size=_int_arg("size", 50, 1, 200))
    return {"total": total, "cases": [c.model_dump(mode="json") for c in cases]}


@analytics_api_bp.get("/snapshot")
@requires(Permission.ANALYTICS_READ)
async def show_snapshot(tenant_slug: str):
    tenant = current_tenant().tenant
    raw = request.args.get("today")
    if raw:
        try:
            today = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(fields={"today": {"zh": "日期格式应为 YYYY-MM-DD", "en": "a date as YYYY-MM-DD"}}) from None
    else:
        today = utcnow().astimezone(zone(tenant.settings.time_zone)).date()
    return await snapshot(tenant, today)
