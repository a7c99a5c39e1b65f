"""Early-warning thresholds as a tenant setting: the configuration area ``alert_settings`` (versioned, rolled back and
exported like every other area; tenancy/config_versions.py). The newest version is the setting; a tenant without a
version has the defaults. Edited on the alert-settings page (permission ANALYTICS_CONFIGURE)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..auth.models import Role
from ..errors import InvalidInput
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, latest_config_version, register_config_area
from .detectors import SENSITIVITY

AREA = "alert_settings"
CHECKS = ("category", "region", "word", "collective", "repeat_person", "overdue_unit")
CHECK_WORDS = {
    "category": {"zh": "问题类别异常增多", "en": "A category rising"},
    "region": {"zh": "地区异常增多", "en": "A region rising"},
    "word": {"zh": "词语异常增多", "en": "A word rising"},
    "collective": {"zh": "集体访", "en": "Collective petitions"},
    "repeat_person": {"zh": "同一人重复信访", "en": "One person's repeated petitions"},
    "overdue_unit": {"zh": "超期案件积压", "en": "Overdue cases piling up"},
}
SENSITIVITY_WORDS = {"low": {"zh": "低（千分之一误报）", "en": "Low (1 in 1,000 false alarms)"},
                     "medium": {"zh": "中（百分之一误报）", "en": "Medium (1 in 100 false alarms)"},
                     "high": {"zh": "高（百分之五误报）", "en": "High (1 in 20 false alarms)"}}
RECIPIENT_ROLES = (Role.LEADER.value, Role.HANDLER.value, Role.TENANT_ADMIN.value, Role.AUDITOR.value)


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checks: list[str] = Field(default_factory=lambda: list(CHECKS))  # the checks switched on
    sensitivity: str = "medium"
    min_count: int = Field(default=5, ge=1, le=10000)  # a rise needs at least this many in the window
    baseline_weeks: int = Field(default=8, ge=2, le=52)
    collective_min: int = Field(default=1, ge=1, le=10000)  # collective petitions in 7 days
    repeat_min: int = Field(default=3, ge=2, le=1000)  # one person's petitions in repeat_days
    repeat_days: int = Field(default=30, ge=1, le=365)
    overdue_min: int = Field(default=5, ge=1, le=10000)  # overdue open cases held by one person or unit
    recipients: list[str] = Field(default_factory=lambda: [Role.LEADER.value], min_length=1)


FIELD_WORDS = {
    "checks": ("检查项目", "checks"), "sensitivity": ("灵敏度", "sensitivity"), "min_count": ("最少件数", "minimum count"),
    "baseline_weeks": ("对比周数", "weeks compared"), "collective_min": ("集体访提醒件数", "collective petitions that raise an alert"),
    "repeat_min": ("重复信访次数", "repeated petitions"), "repeat_days": ("重复信访统计天数", "days counted for repeats"),
    "overdue_min": ("超期积压件数", "overdue cases piling up"), "recipients": ("接收人", "recipients"),
}


def problems(content: dict) -> dict[str, dict[str, str]]:
    """What is wrong with ``content``, by field, in Chinese and English (empty: fine)."""
    out: dict[str, dict[str, str]] = {}
    if not isinstance(content, dict):
        return {"": {"zh": "设置应为一组字段", "en": "settings must be an object"}}
    try:
        parsed = AlertSettings.model_validate(content)
    except ValidationError as error:
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            zh, en = FIELD_WORDS.get(field, (field or "设置", field or "settings"))
            bounds = _bounds(field)
            out.setdefault(field, {"zh": f"{zh}的值不对{bounds[0]}", "en": f"{en} is not valid{bounds[1]}"})
        return out
    unknown_checks = [c for c in parsed.checks if c not in CHECKS]
    if unknown_checks:
        out["checks"] = {"zh": "有不认识的检查项目", "en": "unknown check"}
    if parsed.sensitivity not in SENSITIVITY:
        out["sensitivity"] = {"zh": "灵敏度只能是低、中、高", "en": "sensitivity is low, medium or high"}
    if any(r not in RECIPIENT_ROLES for r in parsed.recipients):
        out["recipients"] = {"zh": "接收人只能是本单位的角色", "en": "recipients are roles of this body"}
    return out


def _bounds(field: str) -> tuple[str, str]:
    info = AlertSettings.model_fields.get(field)
    low = high = None
    for meta in getattr(info, "metadata", []) if info else []:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    if low is not None and high is not None:
        return f"（应为 {low} 到 {high} 之间的整数）", f" (a whole number from {low} to {high})"
    if field == "recipients":
        return "（至少选一个）", " (choose at least one)"
    return "", ""


async def alert_settings(scope: TenantScope) -> AlertSettings:
    row = await latest_config_version(scope, AREA)
    if row is None:
        return AlertSettings()
    try:
        return AlertSettings.model_validate(row.content)
    except ValidationError:
        return AlertSettings()


async def do_set_alert_settings(scope: TenantScope, content: dict, actor: ConfigActor, note: str = "") -> AlertSettings:
    """Check, then record as the newest version (nothing recorded when equal to the newest)."""
    found = problems(content)
    if found:
        raise InvalidInput(fields=found)
    parsed = AlertSettings.model_validate(content)
    await do_record_config_version(scope, AREA, parsed.model_dump(), actor=actor, note=note)
    return parsed


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    await do_set_alert_settings(scope, content, actor, note)


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    return problems(content)


async def _current(scope: TenantScope) -> dict:
    return {AREA: AlertSettings().model_dump()}


def _path_label(path: str, lang: str) -> str | None:
    head = path.split("[", 1)[0].split(".", 1)[0]
    return FIELD_WORDS[head][0 if lang == "zh" else 1] if head in FIELD_WORDS else None


register_config_area(AREA, {"zh": "预警阈值", "en": "Early-warning thresholds"}, _apply, check=_check, current=_current, path_label=_path_label)
