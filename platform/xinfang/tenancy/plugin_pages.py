"""The tenant admin's plugin page: each plugin in words, on or off (a required one says why it stays on), and its
settings as a form drawn from the plugin's ``config_schema`` (no JSON to type); messages next to each field."""

from __future__ import annotations

from quart import Blueprint, current_app, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import InvalidInput
from ..http import staff_page
from ..i18n import current_lang
from .config_versions import ConfigActor
from .plugin_settings import do_configure_plugin, plugin_settings_for
from .resolution import current_tenant

plugins_admin_bp = Blueprint("plugins_admin", __name__, url_prefix="/t/<tenant_slug>/admin/plugins")
PREFIX = "config."
REQUIRED_WHY = {"zh": "这是平台的基础功能，停用后平台无法正常工作，因此始终启用。",
                "en": "A basic part of the platform: without it the platform cannot work, so it is always on."}


def _words(node: dict, key: str, lang: str, field: str = "title") -> str:
    """A schema node's title or description in ``lang`` (``x-en`` holds the English), else ``key``."""
    zh = node.get(field) or ""
    if lang == "en":
        return ((node.get("x-en") or {}).get(field)) or zh or (key if field == "title" else "")
    return zh or ((node.get("x-en") or {}).get(field)) or (key if field == "title" else "")


def _choices(node: dict, lang: str) -> list[tuple[str, str]] | None:
    """(value, label) for a node that offers choices: ``oneOf``/``anyOf`` of const+title, or ``enum``."""
    options = node.get("oneOf") or node.get("anyOf")
    if options and all(isinstance(o, dict) and "const" in o for o in options):
        return [(str(o["const"]), _words(o, str(o["const"]), lang)) for o in options]
    if isinstance(node.get("enum"), list):
        return [(str(v), str(v)) for v in node["enum"]]
    return None


def schema_fields(schema: dict, config: dict, lang: str) -> list[dict]:
    """The top-level properties of a plugin's settings as form fields: kind, label, help, value(s), choices, limits."""
    fields = []
    for key, node in ((schema or {}).get("properties") or {}).items():
        if not isinstance(node, dict):
            continue
        value = config.get(key, node.get("default"))
        field = {"key": key, "name": PREFIX + key, "label": _words(node, key, lang), "help": _words(node, key, lang, "description"),
                 "required": key in ((schema or {}).get("required") or [])}
        kind = node.get("type")
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        if kind == "array" and _choices(items, lang) is not None:
            field.update(kind="checkboxes", choices=_choices(items, lang), values=[str(v) for v in (value or [])])
        elif kind == "array":
            field.update(kind="lines", value="\n".join(str(v) for v in (value or [])), max_items=node.get("maxItems"),
                         max_length=items.get("maxLength"))
        elif kind == "boolean":
            field.update(kind="checkbox", checked=bool(value))
        elif _choices(node, lang) is not None:
            field.update(kind="select", choices=_choices(node, lang), value="" if value is None else str(value))
        elif kind in ("integer", "number"):
            field.update(kind="number", value="" if value is None else str(value), minimum=node.get("minimum"), maximum=node.get("maximum"),
                         step="1" if kind == "integer" else "any")
        else:
            field.update(kind="text", value="" if value is None else str(value), max_length=node.get("maxLength"))
        fields.append(field)
    return fields


def _number(text: str, kind: str):
    try:
        return int(text) if kind == "integer" else float(text)
    except ValueError:
        return text  # the schema says "a whole number" next to the field


def config_from_form(schema: dict, form) -> dict:
    """The submitted form as the plugin's config, typed per its schema (what is wrong the schema's check reports)."""
    config = {}
    for key, node in ((schema or {}).get("properties") or {}).items():
        if not isinstance(node, dict):
            continue
        name, kind = PREFIX + key, node.get("type")
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        if kind == "array" and _choices(items, "zh") is not None:
            config[key] = [v for v in form.getlist(name) if v]
        elif kind == "array":
            lines = [line.strip() for line in (form.get(name) or "").splitlines() if line.strip()]
            if lines:
                config[key] = [_number(line, items.get("type")) if items.get("type") in ("integer", "number") else line for line in lines]
        elif kind == "boolean":
            config[key] = form.get(name) == "1"
        else:
            text = (form.get(name) or "").strip()
            if text:
                config[key] = _number(text, kind) if kind in ("integer", "number") else text
    return config


async def _page(status: int = 200, *, errors: dict | None = None, failed: str | None = None, typed: dict | None = None):
    lang = current_lang()
    settings = await plugin_settings_for(current_tenant().scope, current_app.extensions["xinfang.pm"])
    plugins = []
    for name, setting in sorted(settings.items(), key=lambda item: (item[1].info.required, item[0])):
        config = typed["config"] if typed is not None and name == failed else setting.config
        enabled = typed["enabled"] if typed is not None and name == failed else setting.enabled
        mine = errors if name == failed and errors else {}
        fields = schema_fields(setting.info.config_schema, config, lang)
        for field in fields:
            field["messages"] = [m for path, m in mine.items() if path == field["name"] or path.startswith(field["name"] + ".")]
        placed = {path for path in mine for field in fields if path == field["name"] or path.startswith(field["name"] + ".")}
        plugins.append({"name": name, "title": setting.info.title, "required": setting.info.required, "enabled": enabled,
                        "fields": fields, "errors": mine, "general": [m for path, m in mine.items() if path not in placed]})
    saved = request.args.get("saved")
    saved_title = settings[saved].info.title if saved in settings else None
    return await staff_page("admin/plugins.html", status, plugins=plugins, saved=saved_title, required_why=REQUIRED_WHY)


@plugins_admin_bp.get("")
@requires(Permission.PLUGINS_MANAGE)
async def plugins_page(tenant_slug):
    """Every plugin of this platform: on or off here, and its settings as a form."""
    return await _page()


@plugins_admin_bp.post("/<name>")
@requires(Permission.PLUGINS_MANAGE)
async def configure_plugin_submit(tenant_slug, name):
    """Save one plugin's on/off and settings from its form; what is wrong comes back next to its field."""
    pm = current_app.extensions["xinfang.pm"]
    settings = await plugin_settings_for(current_tenant().scope, pm)
    setting = settings.get(name)
    form = await request.form
    config = config_from_form(setting.info.config_schema, form) if setting else {}
    enabled = True if setting is not None and setting.info.required else form.get("enabled") == "1"
    try:
        await do_configure_plugin(current_tenant().scope, pm, name, enabled=enabled, config=config,
                                  actor_id=current_principal().account_id, actor=ConfigActor.of(current_principal()),
                                  note=("启用 / on" if enabled else "停用 / off"))
    except InvalidInput as refused:
        return await _page(refused.status, errors=refused.fields, failed=name, typed={"config": config, "enabled": enabled})
    return redirect(url_for("plugins_admin.plugins_page", tenant_slug=tenant_slug, saved=name) + f"#plugin-{name}", 303)
