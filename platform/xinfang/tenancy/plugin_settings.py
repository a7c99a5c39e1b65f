"""Per-tenant enablement and configuration of plugins, stored in the database."""

from __future__ import annotations

import dataclasses

from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, InvalidInput, NotFound
from ..events import DomainEvent, unit_of_work
from ..plugins import PluginInfo, plugin_infos
from ..store.scoped import TenantScope
from .config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version, register_config_area
from .models import TenantPluginSetting


@dataclasses.dataclass(frozen=True)
class EffectiveSetting:
    info: PluginInfo
    enabled: bool
    config: dict

    def to_json(self) -> dict:
        return {
            "name": self.info.name,
            "title": self.info.title,
            "enabled": self.enabled,
            "required": self.info.required,
            "config": self.config,
            "config_schema": self.info.config_schema,
        }


async def plugin_settings_for(scope: TenantScope, pm) -> dict[str, EffectiveSetting]:
    stored = {s.plugin: s async for s in scope.repo(TenantPluginSetting).find()}
    effective = {}
    for name, info in plugin_infos(pm).items():
        row = stored.get(name)
        enabled = info.required or (row.enabled if row else info.default_enabled)
        effective[name] = EffectiveSetting(info, enabled, row.config if row else {})
    return effective


def _error_words(error) -> dict[str, str]:
    """One schema error in words an admin reads (the validator's own English only where no wording fits)."""
    kind, limit = error.validator, error.validator_value
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return {"zh": "请从列出的选项中选择", "en": "choose one of the options listed"}
    if kind == "type":
        wanted = limit if isinstance(limit, str) else (limit[0] if limit else "")
        zh = {"integer": "请填写整数", "number": "请填写数字", "boolean": "请选择是或否", "array": "请填写一项或多项",
              "string": "请填写文字", "object": "格式不对"}.get(wanted, "格式不对")
        en = {"integer": "a whole number", "number": "a number", "boolean": "yes or no", "array": "one or more items",
              "string": "text", "object": "the wrong shape"}.get(wanted, "the wrong shape")
        return {"zh": zh, "en": f"expected {en}"}
    if kind == "maxLength":
        return {"zh": f"最多 {limit} 个字", "en": f"at most {limit} characters"}
    if kind == "minLength":
        return {"zh": f"至少 {limit} 个字", "en": f"at least {limit} characters"}
    if kind == "maxItems":
        return {"zh": f"最多 {limit} 项", "en": f"at most {limit} items"}
    if kind == "minItems":
        return {"zh": f"至少 {limit} 项", "en": f"at least {limit} items"}
    if kind == "uniqueItems":
        return {"zh": "有重复的项", "en": "an item is listed twice"}
    if kind in ("minimum", "exclusiveMinimum"):
        return {"zh": f"不能小于 {limit}", "en": f"at least {limit}"}
    if kind in ("maximum", "exclusiveMaximum"):
        return {"zh": f"不能大于 {limit}", "en": f"at most {limit}"}
    if kind == "pattern":
        return {"zh": "格式不对", "en": "not in the expected form"}
    if kind == "required":
        return {"zh": "必填", "en": "required"}
    if kind == "additionalProperties":
        return {"zh": "有本插件不认识的设置项", "en": "a setting this plugin does not know"}
    return {"zh": f"插件配置不符合要求：{error.message}", "en": f"invalid plugin configuration: {error.message}"}


def _validation_messages(info: PluginInfo, config: dict) -> dict[str, dict[str, str]]:
    fields = {}
    for error in info.config_validator().iter_errors(config):
        path = "config." + ".".join(str(p) for p in error.absolute_path) if error.absolute_path else "config"
        fields.setdefault(path, _error_words(error))
    return fields


def plugin_problems(info: PluginInfo, *, enabled: bool, config) -> dict[str, dict[str, str]]:
    """What is wrong with a setting (a required plugin switched off, a config its schema refuses), at its path."""
    problems = {}
    if info.required and not enabled:
        problems["enabled"] = {"zh": "此内置插件是平台运行所必需的，不能停用", "en": "this built-in plugin is needed for the platform to work; it cannot be switched off"}
    if not isinstance(config, dict):
        problems["config"] = {"zh": "格式不对", "en": "the wrong shape"}
    else:
        problems.update(_validation_messages(info, config))
    return problems


async def do_configure_plugin(scope: TenantScope, pm, name: str, *, enabled: bool, config: dict, actor_id=None,
                              actor: ConfigActor | None = None, note: str = "") -> EffectiveSetting:
    """Switch a plugin on or off for this tenant and set its configuration; every change is a version of the
    configuration area "plugin:<name>" (content ``{"plugin": name, "enabled", "config"}``: the name too, since a
    rollback or an import hands the writer the content alone)."""
    info = plugin_infos(pm).get(name)
    if info is None:
        raise NotFound({"zh": f"没有名为 {name} 的插件", "en": f"no plugin named {name}"})
    errors = plugin_problems(info, enabled=enabled, config=config)
    if errors:
        raise InvalidInput(fields=errors)
    repo = scope.repo(TenantPluginSetting)
    for attempt in range(3):
        try:
            async with unit_of_work() as uow:
                row = await repo.find_one({"plugin": name}, session=uow.session)
                if row is None:
                    row = TenantPluginSetting(tenant_id=scope.tenant_id, plugin=name, enabled=enabled, config=config)
                else:
                    row.enabled, row.config = enabled, config
                await repo.save(row, session=uow.session)
                uow.record(DomainEvent("plugin.configured", scope.tenant_id, str(row.id),
                                       {"plugin": name, "enabled": enabled, "actor_id": str(actor_id or "")}))
            break
        except DuplicateKeyError:
            # Two first settings of one plugin at once: the other insert won; set it on the row it made.
            if attempt == 2:
                raise Conflict({"zh": "同时有其他修改，请稍后重试", "en": "changed concurrently; try again"}) from None
    actor = actor or (ConfigActor(str(actor_id), "") if actor_id else BUNDLE_ACTOR)
    await do_record_config_version(scope, f"plugin:{name}", {"plugin": name, "enabled": enabled, "config": config}, actor=actor, note=note)
    return EffectiveSetting(info, enabled, config)


# ----------------------------------------------------------------------------- the configuration area "plugin:<name>"


def _plugin_manager():
    """The running app's plugin manager (rollback and import happen in a request)."""
    from quart import current_app, has_app_context

    if has_app_context() and "xinfang.pm" in current_app.extensions:
        return current_app.extensions["xinfang.pm"]
    raise NotFound({"zh": "插件清单不可用", "en": "the plugin list is not available here"})


async def _apply_version(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """Rollback and import: a version's whole setting of one plugin, through the same writer."""
    name = content.get("plugin") if isinstance(content, dict) else None
    if not isinstance(name, str):
        raise InvalidInput(fields={"plugin": {"zh": "缺少插件名称", "en": "the content names no plugin"}})
    await do_configure_plugin(scope, _plugin_manager(), name, enabled=bool(content.get("enabled", True)),
                              config=content.get("config") or {}, actor_id=actor.account_id, actor=actor, note=note)


def _name_of(area: str) -> str:
    return area.partition(":")[2]


async def _current(scope: TenantScope) -> dict:
    return {f"plugin:{s.plugin}": {"plugin": s.plugin, "enabled": s.enabled, "config": s.config}
            async for s in scope.repo(TenantPluginSetting).find()}


async def _check(scope: TenantScope, area: str, content: dict) -> dict:
    info = plugin_infos(_plugin_manager()).get(_name_of(area))
    if info is None:
        return {"plugin": {"zh": "本平台没有这个插件", "en": "no such plugin on this platform"}}
    if not isinstance(content, dict):
        return {"config": {"zh": "格式不对", "en": "the wrong shape"}}
    return plugin_problems(info, enabled=bool(content.get("enabled", True)), config=content.get("config") or {})


def _subject(scope: TenantScope, key: str, lang: str) -> str | None:
    info = plugin_infos(_plugin_manager()).get(key)
    return (info.title.get(lang) or info.title.get("zh")) if info else None



register_config_area("plugin", {"zh": "插件设置", "en": "Plugin settings"}, _apply_version, check=_check, current=_current, subject=_subject)
