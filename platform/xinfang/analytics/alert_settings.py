"""Early-warning thresholds as a tenant setting: the configuration area ``alert_settings`` (versioned, rolled back and
exported like every other area; tenancy/config_versions.py). The newest version is the setting; a tenant without a
version has the defaults. Edited on the alert-settings page (permission ANALYTICS_CONFIGURE).

Recipients are roles and named people of the tenant (``recipient_accounts``: account ids, chosen by name on the page).
Separation of duties as everywhere: an alert goes only to people who may read it (a role with ``analytics.read``:
leaders, handlers, auditors); a tenant administrator configures the alerts but does not read them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..auth.models import Role, StaffAccount
from ..auth.permissions import ROLE_PERMISSIONS, Permission
from ..errors import InvalidInput
from ..store.scoped import TenantScope, parse_object_id
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
# With the correction for many categories and regions (detectors.rising_many) the level is the expected share of false
# alarms among the rises raised, not the chance per category.
SENSITIVITY_WORDS = {"low": {"zh": "低（误报约占千分之一）", "en": "Low (about 1 alert in 1,000 a false alarm)"},
                     "medium": {"zh": "中（误报约占百分之一）", "en": "Medium (about 1 alert in 100 a false alarm)"},
                     "high": {"zh": "高（误报约占百分之五）", "en": "High (about 1 alert in 20 a false alarm)"}}
RECIPIENT_ROLES = (Role.LEADER.value, Role.HANDLER.value, Role.AUDITOR.value)  # the roles that may read alerts
MAX_NAMED = 50
LOWER_ALERTS = ("summary", "hidden")
LOWER_ALERTS_WORDS = {"summary": {"zh": "每个下级单位汇总为一行（不另行提醒本级领导）", "en": "One summary line per body below (its leaders are not notified here)"},
                      "hidden": {"zh": "不显示", "en": "Not shown"}}


def readers_roles() -> set[str]:
    """The roles that may read alerts (``analytics.read``): the only ones an alert is sent to."""
    return {role.value for role, granted in ROLE_PERMISSIONS.items() if Permission.ANALYTICS_READ in granted}


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
    recipients: list[str] = Field(default_factory=lambda: [Role.LEADER.value])  # roles
    recipient_accounts: list[str] = Field(default_factory=list, max_length=MAX_NAMED)  # named people (account ids)
    lower_alerts: str = "summary"  # the alerts of the bodies below: summary | hidden


FIELD_WORDS = {
    "checks": ("检查项目", "checks"), "sensitivity": ("灵敏度", "sensitivity"), "min_count": ("最少件数", "minimum count"),
    "baseline_weeks": ("对比周数", "weeks compared"), "collective_min": ("集体访提醒件数", "collective petitions that raise an alert"),
    "repeat_min": ("重复信访次数", "repeated petitions"), "repeat_days": ("重复信访统计天数", "days counted for repeats"),
    "overdue_min": ("超期积压件数", "overdue cases piling up"), "recipients": ("接收人", "recipients"),
    "recipient_accounts": ("指定接收人", "named recipients"), "lower_alerts": ("下级单位的预警", "alerts of the bodies below"),
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
        if content.get("recipients") == [] and not content.get("recipient_accounts"):
            out.setdefault("recipients", {"zh": "请至少选择一个接收角色或一位指定接收人", "en": "choose at least one role or one named person"})
        return out
    unknown_checks = [c for c in parsed.checks if c not in CHECKS]
    if unknown_checks:
        out["checks"] = {"zh": "有不认识的检查项目", "en": "unknown check"}
    if parsed.sensitivity not in SENSITIVITY:
        out["sensitivity"] = {"zh": "灵敏度只能是低、中、高", "en": "sensitivity is low, medium or high"}
    if Role.TENANT_ADMIN.value in parsed.recipients:
        out["recipients"] = {"zh": "系统管理员负责设置预警，但不查看预警内容（职责分离），不能作为接收人",
                             "en": "tenant administrators set the alerts up but do not read them (separation of duties): not a recipient"}
    elif any(r not in RECIPIENT_ROLES for r in parsed.recipients):
        out["recipients"] = {"zh": "接收人只能是本单位的角色", "en": "recipients are roles of this body"}
    elif not parsed.recipients and not parsed.recipient_accounts:
        out["recipients"] = {"zh": "请至少选择一个接收角色或一位指定接收人", "en": "choose at least one role or one named person"}
    if parsed.lower_alerts not in LOWER_ALERTS:
        out["lower_alerts"] = {"zh": "请选择汇总显示或不显示", "en": "choose a summary line or not shown"}
    return out


async def account_problems(scope: TenantScope, content: dict) -> dict[str, dict[str, str]]:
    """The named people: active accounts of this tenant who may read alerts (a role with ``analytics.read``)."""
    wanted = content.get("recipient_accounts") or []
    oids = [parse_object_id(a) for a in wanted]
    if any(oid is None for oid in oids):
        return {"recipient_accounts": {"zh": "指定接收人不是本单位的账号", "en": "a named recipient is not an account of this body"}}
    found = {str(a.id): a for a in await scope.repo(StaffAccount).find({"_id": {"$in": oids}}).to_list()} if oids else {}
    missing = [a for a in wanted if a not in found or not found[a].active]
    if missing:
        return {"recipient_accounts": {"zh": "指定接收人须是本单位在用的账号", "en": "named recipients must be active accounts of this body"}}
    barred = [found[a].display_name or found[a].username for a in wanted if not {r.value for r in found[a].roles} & readers_roles()]
    if barred:
        names = "、".join(barred)
        return {"recipient_accounts": {
            "zh": f"{names} 不能查看统计分析和预警（职责分离：只有领导、承办人、审计人员能接收预警）",
            "en": f"{names.replace('、', ', ')} may not read analytics and alerts (separation of duties: only leaders, handlers and "
                  f"auditors receive alerts)"}}
    return {}


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
    if field == "recipient_accounts":
        return f"（最多 {MAX_NAMED} 人）", f" (at most {MAX_NAMED} people)"
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
    if not found:
        found = await account_problems(scope, content)
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
