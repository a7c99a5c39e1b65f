"""Per-tenant enablement and configuration of plugins, stored in the database."""

from __future__ import annotations

import dataclasses

from ..errors import InvalidInput, NotFound
from ..events import DomainEvent, unit_of_work
from ..plugins import PluginInfo, plugin_infos
from ..store.scoped import TenantScope
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


def _validation_messages(info: PluginInfo, config: dict) -> dict[str, dict[str, str]]:
    fields = {}
    for error in info.config_validator().iter_errors(config):
        path = "config." + ".".join(str(p) for p in error.absolute_path) if error.absolute_path else "config"
        fields[path] = {"zh": f"插件配置不符合要求：{error.message}", "en": f"invalid plugin configuration: {error.message}"}
    return fields


async def do_configure_plugin(scope: TenantScope, pm, name: str, *, enabled: bool, config: dict, actor_id=None) -> EffectiveSetting:
    info = plugin_infos(pm).get(name)
    if info is None:
        raise NotFound({"zh": f"没有名为 {name} 的插件", "en": f"no plugin named {name}"})
    if info.required and not enabled:
        raise InvalidInput(fields={"enabled": {"zh": "此内置插件不能停用", "en": "this built-in plugin cannot be disabled"}})
    errors = _validation_messages(info, config)
    if errors:
        raise InvalidInput(fields=errors)
    repo = scope.repo(TenantPluginSetting)
    async with unit_of_work() as uow:
        row = await repo.find_one({"plugin": name}, session=uow.session)
        if row is None:
            row = TenantPluginSetting(tenant_id=scope.tenant_id, plugin=name, enabled=enabled, config=config)
        else:
            row.enabled, row.config = enabled, config
        await repo.save(row, session=uow.session)
        uow.record(
            DomainEvent("plugin.configured", scope.tenant_id, str(row.id), {"plugin": name, "enabled": enabled, "actor_id": str(actor_id or "")})
        )
    return EffectiveSetting(info, enabled, config)
