"""The plugin manager: built-ins and entry-point plugins on the same hooks, per-tenant enablement."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
from typing import Any

import pluggy
from jsonschema import Draft202012Validator
from referencing import Registry

from . import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "xinfang.plugins"

# Built-in features, each a module of hook implementations, exactly as a third party writes one.
BUILTIN_PLUGINS = [
    "xinfang.tenancy.plugin",
    "xinfang.auth.plugin",
    "xinfang.cards.plugin",
    "xinfang.archives.plugin",
    "xinfang.forms.plugin",
    "xinfang.petitions.plugin",
    "xinfang.oversight.plugin",
    "xinfang.notifications.plugin",
    "xinfang.events_plugin",
    "xinfang.audit.plugin",
    "xinfang.superuser.plugin",
    "xinfang.analytics.plugin",
    "xinfang.public_portal.plugin",
    "xinfang.instructions.plugin",
    "xinfang.documents.plugin",
    "xinfang.campaigns.plugin",
    "xinfang.supervisors.plugin",
    "xinfang.imports.plugin",
    "xinfang.data_export.plugin",
    "xinfang.exchange.plugin",
    "xinfang.retention.plugin",
    "xinfang.records.plugin",
    "xinfang.sso.plugin",
    "xinfang.diagnostics",
    "xinfang.observability.plugin",
]


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    name: str
    title: dict[str, str]
    default_enabled: bool = True
    # Built-ins that the platform cannot work without; tenants cannot switch them off.
    required: bool = False
    config_schema: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"type": "object", "additionalProperties": False}
    )

    def config_validator(self) -> Draft202012Validator:
        # An empty registry: a plugin's schema never fetches remote $refs.
        return Draft202012Validator(self.config_schema, registry=Registry())


def make_plugin_manager(extra_plugins: list[Any] | None = None, load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("xinfang")
    pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins or []:
        pm.register(plugin)
    return pm


def plugin_infos(pm: pluggy.PluginManager) -> dict[str, PluginInfo]:
    """Plugin name -> info, for every plugin that describes itself."""
    infos: dict[str, PluginInfo] = {}
    for impl in pm.hook.xinfang_plugin_info.get_hookimpls():
        info = impl.function()
        infos[info.name] = info
    return infos


def plugin_name_of(pm: pluggy.PluginManager, plugin: Any) -> str:
    """The name tenants use to enable a plugin: its PluginInfo name, else its registration name."""
    info_hook = getattr(plugin, "xinfang_plugin_info", None)
    if info_hook is not None:
        return info_hook().name
    return pm.get_name(plugin)


def document_models(pm) -> list[type]:
    """Every Beanie document class the enabled plugins declare (what Store.open initialises)."""
    return collect_list(pm.hook.xinfang_document_models())


def collect_list(hook_results) -> list:
    """Flatten the lists that a list-returning hook gave, in registration order."""
    items = []
    for result in hook_results:
        items.extend(result or [])
    return items


async def maybe_await(value):
    if inspect.isawaitable(value):
        return await value
    return value
