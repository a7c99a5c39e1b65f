"""The configuration hub (配置中心) and the versions of every configurable area: list, compare, roll back.

The hub names each part of a tenant's configuration in plain words, says who changed it last and when, and
links to the part's own page only when that page exists and the person may open it (``navigation``'s rule:
a link never answers 403 or 404). The versions pages read ``config_versions``; a rollback goes through the
area's own writer (``do_roll_back_config``), so it is checked and recorded like any other change.
"""

from __future__ import annotations

import dataclasses
import json
import re

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..display_words import word, words
from ..errors import InvalidInput, Message, NotFound
from ..http import path_number, staff_page
from ..i18n import current_lang
from ..navigation import allowed_target
from ..store.scoped import TenantScope
from ..timefmt import as_day, local_date
from .config_versions import (
    ConfigActor, ConfigVersion, area_title, config_area, config_areas, config_diff, do_roll_back_config, is_area_name,
    latest_config_version, latest_config_versions, list_config_versions, path_words, require_config_version,
)
from .resolution import current_tenant

config_studio_bp = Blueprint("config_studio", __name__, url_prefix="/t/<tenant_slug>")


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the configuration as the hub shows it."""

    key: str
    title: Message
    description: Message
    prefixes: tuple[str, ...]  # the version areas that belong to it ("form" covers form:report, form:petition, ...)
    pages: tuple[str, ...]  # its pages under /t/<slug>, best first; the first one that exists and opens is linked


SECTIONS = (
    Section("forms", {"zh": "表单", "en": "Forms"},
            {"zh": "群众和工作人员填写的信访表单：有哪些栏目、哪些必填、提示文字和条件。",
             "en": "The petition forms citizens and staff fill in: their fields, what is required, help texts and conditions."},
            ("form",), ("/admin/forms/builder", "/admin/forms")),
    Section("archive_types", {"zh": "档案材料类型", "en": "Archive document types"},
            {"zh": "廉政档案里可以存放的文书种类及其栏目，如民主评廉表。",
             "en": "The kinds of documents an integrity archive holds and their fields, e.g. the integrity evaluation."},
            ("archive_type",), ("/admin/archive-types/builder",)),
    Section("workflow", {"zh": "办理流程", "en": "Case workflow"},
            {"zh": "信访件从登记到办结经过哪些环节、谁来办、各环节的办理时限。",
             "en": "The steps a case goes through from registration to closing, who takes each step, and the time limits."},
            ("workflow",), ("/admin/workflow",)),
    Section("calendar", {"zh": "工作日历", "en": "Working calendar"},
            {"zh": "节假日和调休上班日，用来计算以工作日计的期限。",
             "en": "Public holidays and make-up working days, for time limits counted in working days."},
            ("calendar",), ("/admin/calendar",)),
    Section("supervision", {"zh": "监督卡与措施", "en": "Cards and supervision actions"},
            {"zh": "监督卡的种类和颜色、监督措施、说明期限和升级规则。",
             "en": "The kinds and colours of cards, supervision actions, answer deadlines and escalation rules."},
            ("card_type", "action_type", "escalation_rule"), ("/admin/supervision",)),
    Section("wording", {"zh": "文书与提醒措辞", "en": "Document and reminder wording"},
            {"zh": "监督卡、监督措施文书的文字，以及发给工作人员的提醒。",
             "en": "The wording of card and action documents, and of the reminders staff receive."},
            ("card_wording", "action_wording", "notification_wording"), ("/admin/wording",)),
    Section("document_templates", {"zh": "公文模板", "en": "Document templates"},
            {"zh": "督办函、交办函、受理告知书等各种公文正文的版式，以及文号和核稿、签发的角色。",
             "en": "The layout of each kind of official document (supervision letters, assignment letters, notices of acceptance, ...), "
                   "its number rule and who reviews and signs."},
            ("document_template",), ("/staff/document-settings",)),
    Section("search", {"zh": "检索词典", "en": "Search dictionary"},
            {"zh": "检索和高频词统计使用的本单位专有词语和不计入的词。",
             "en": "This body's own words for search and frequent-word counts, and the words left out."},
            ("search_dictionary",), ("/admin/search-dictionary",)),
    Section("alerts", {"zh": "预警阈值", "en": "Early-warning thresholds"},
            {"zh": "信访件多发、重复信访、超期等预警在多少件、多少天时发出，以及发给谁。",
             "en": "At how many cases or days early warnings (clusters, repeats, overdue cases) go out, and to whom."},
            ("alert_settings",), ("/staff/analytics/alert-settings",)),
    Section("portal_theme", {"zh": "廉政监督网外观", "en": "Integrity portal theme"},
            {"zh": "对外的廉政监督网的名称、标志和颜色。", "en": "The public integrity portal's name, logo and colours."},
            ("portal_theme",), ("/admin/portal-theme",)),
    Section("plugins", {"zh": "插件", "en": "Plugins"},
            {"zh": "开启或关闭附加功能，并设置它们的选项。", "en": "Switch additional features on or off and set their options."},
            ("plugin",), ("/admin/plugins",)),
    Section("retention", {"zh": "保存期限", "en": "Retention periods"},
            {"zh": "已办结信访件、监督卡、廉政档案条目和审计记录各保存多久；到期后销毁信访人身份信息，统计数据保留。",
             "en": "How long closed cases, cards, archive entries and audit records are kept; at the end petitioners' "
                   "identities are destroyed and the statistics stay."},
            ("retention",), ("/admin/retention",)),
    Section("accounts", {"zh": "账号", "en": "Accounts"},
            {"zh": "工作人员的账号、角色、密码重置和两步验证。", "en": "Staff accounts, roles, password resets and two-factor sign-in."},
            (), ("/admin/accounts",)),
    Section("sso", {"zh": "统一身份认证登录", "en": "Single sign-on"},
            {"zh": "用本单位的统一身份认证服务登录：服务地址、登录按钮、谁能登录、按规则授予的角色，以及是否关闭密码登录。",
             "en": "Signing in with your organisation's provider: its address, the button, who gets in, roles granted by rules, "
                   "and whether passwords are switched off."},
            (), ("/admin/sso",)),
)
OTHER = Section("other", {"zh": "其他配置", "en": "Other configuration"},
                {"zh": "插件等登记的其他配置项。", "en": "Further configuration that plugins registered."}, (), ())
EXCHANGE = Section("exchange", {"zh": "配置导出与导入", "en": "Export and import"},
                   {"zh": "把本单位的全部配置导出为一个文件、提供给下级单位，或采用上级提供的配置。",
                    "en": "Export this body's whole configuration as one file, offer it to a lower body, or adopt one offered to you."},
                   (), ("/admin/config-exchange",))


def section_of(area: str) -> Section:
    prefix = area.split(":", 1)[0]
    return next((s for s in SECTIONS if prefix in s.prefixes), OTHER)


def _openable(path: str) -> str | None:
    """``/t/<slug>`` + path, when that page exists and the signed-in person may open it (else None: no link)."""
    ctx = current_tenant()
    full = f"/t/{ctx.tenant.slug}{path}"
    return full if allowed_target(current_principal(), full, str(ctx.tenant.id)) else None


async def _version_row(scope: TenantScope, area: str, row: ConfigVersion, lang: str) -> dict:
    return {"area": area, "title": await area_title(scope, area, lang, row.content), "number": row.number, "author": row.author_name,
            "at": row.at, "note": row.note, "url": _openable(f"/admin/versions/{area}")}


async def hub_sections(scope: TenantScope, lang: str) -> list[dict]:
    """Every section with its page link (when it opens), its areas' newest versions and the newest change overall."""
    newest = await latest_config_versions(scope)
    by_section: dict[str, list[dict]] = {}
    for area, row in newest.items():
        by_section.setdefault(section_of(area).key, []).append(await _version_row(scope, area, row, lang))
    registered_elsewhere = [a for p, a in config_areas().items() if section_of(p) is OTHER]
    shown = []
    for section in (*SECTIONS, *([OTHER] if by_section.get("other") or registered_elsewhere else []), EXCHANGE):
        versions = sorted(by_section.get(section.key, []), key=lambda r: r["title"])
        page = next((url for url in map(_openable, section.pages) if url), None)
        latest = max(versions, key=lambda r: r["at"], default=None)
        shown.append({"key": section.key, "title": section.title, "description": section.description, "page": page,
                      "versions": versions, "latest": latest})
    return shown


_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
# Keys that mean the same in every area's content; anything else is shown as it is written (marked as such).
COMMON_KEYS: dict[str, Message] = {
    "zh": {"zh": "中文", "en": "Chinese"}, "en": {"zh": "英文", "en": "English"}, "name": {"zh": "名称", "en": "name"},
    "title": {"zh": "标题", "en": "title"}, "label": {"zh": "标签", "en": "label"}, "description": {"zh": "说明", "en": "description"},
    "help": {"zh": "帮助文字", "en": "help text"}, "required": {"zh": "必填", "en": "required"}, "enabled": {"zh": "开启", "en": "enabled"},
    "config": {"zh": "设置", "en": "settings"}, "states": {"zh": "环节", "en": "states"}, "transitions": {"zh": "操作", "en": "steps"},
    "holidays": {"zh": "节假日", "en": "holidays"}, "workdays": {"zh": "调休上班日", "en": "make-up working days"},
    "words": {"zh": "词语", "en": "words"}, "stop_words": {"zh": "不计入的词", "en": "stop words"},
    "template": {"zh": "模板", "en": "template"}, "body": {"zh": "正文", "en": "text"}, "subject": {"zh": "主题", "en": "subject"},
    "properties": {"zh": "栏目", "en": "fields"}, "roles": {"zh": "角色", "en": "roles"}, "time_limit": {"zh": "时限", "en": "time limit"},
}


def readable_path(area: str, path: str, lang: str) -> list[dict]:
    """A diff path as parts to show: the area's own labeller's words when it has them, else the path's segments,
    common keys in words and the rest as written (``literal``: the page marks them as text the tenant chose)."""
    words = path_words(area, path, lang)
    if words:
        return [{"text": words, "literal": False}]
    parts = []
    for item, plain in _SEGMENT.findall(path):
        segment = item or plain
        if item and segment.isdigit():
            parts.append({"text": f"第 {segment} 项" if lang == "zh" else f"item {segment}", "literal": False})
        elif segment in COMMON_KEYS and not item:
            parts.append({"text": COMMON_KEYS[segment][lang], "literal": False})
        else:
            parts.append({"text": segment, "literal": True})
    return parts or [{"text": "（全部）" if lang == "zh" else "(all)", "literal": False}]


def _item(value, lang: str) -> str:
    """One value of a list or a leaf as read: a day as every page writes it (2027年10月1日, 2027-10-01), else as written."""
    day = as_day(value) if isinstance(value, str) else None
    if day is None:
        return str(value)
    return local_date(day, lang=lang)


def _shown(value: str | None, lang: str = "zh") -> str | None:
    """A flattened leaf (JSON text) as people read it: strings without quotes, true/false/null and days in words."""
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, str):
        return _item(decoded, lang)
    if isinstance(decoded, bool):
        return "是 / yes" if decoded else "否 / no"
    if decoded is None:
        return "（空）/ (empty)"
    if decoded == {}:
        return "（无）/ (none)"
    if isinstance(decoded, list) and all(isinstance(i, (str, int, float)) for i in decoded):
        return "、".join(_item(i, lang) for i in decoded) if decoded else "（无）/ (none)"
    return value


def _list_of(value: str | None) -> list | None:
    try:
        decoded = json.loads(value) if value is not None else None
    except ValueError:
        return None
    return decoded if isinstance(decoded, list) and all(isinstance(i, (str, int, float)) for i in decoded) else None


def _items_changed(before: str | None, after: str | None, lang: str = "zh") -> dict | None:
    """For a list of words or dates: which items came and which went (a clerk reads that, not two long lists)."""
    old, new = _list_of(before), _list_of(after)
    if old is None or new is None:
        return None
    return {"added": "、".join(_item(i, lang) for i in new if i not in old), "removed": "、".join(_item(i, lang) for i in old if i not in new)}


# A leaf whose value is a code, by the leaf's name (its path's last part): the words group that says it.
CODED_LEAVES = {"unit": "period_unit", "condition": "rule_condition", "action": "rule_action", "roles": "role", "role": "role"}


def _leaf_group(path: str) -> str | None:
    leaf = re.sub(r"\[[^\]]*\]$", "", path).rsplit(".", 1)[-1]
    if leaf == "kind":  # a copy's kind (department, role, tenant) or an action type's form (talk, notice, ...)
        return "copy_kind" if "copy_to" in path else "action_kind"
    return CODED_LEAVES.get(leaf)


def _worded(path: str, value: str | None, lang: str) -> str | None:
    """A flattened leaf as people read it: codes the platform knows (units, conditions, roles...) in words."""
    group = _leaf_group(path)
    if value is None or group is None:
        return _shown(value, lang)
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    known = words(group)
    if isinstance(decoded, str) and decoded in known:
        return word(group, decoded, lang)
    if isinstance(decoded, list) and decoded and all(isinstance(i, str) and i in known for i in decoded):
        return "、".join(word(group, i, lang) for i in decoded)
    return _shown(value, lang)


def diff_rows(area: str, before: dict, after: dict, lang: str) -> list[dict]:
    rows = []
    for row in config_diff(before, after):
        change = "added" if row.before is None else "removed" if row.after is None else "changed"
        rows.append({"path": row.path, "parts": readable_path(area, row.path, lang), "before": _worded(row.path, row.before, lang),
                     "after": _worded(row.path, row.after, lang), "change": change, "listed": _items_changed(row.before, row.after, lang),
                     "raw_before": row.before, "raw_after": row.after})
    return rows


async def require_area(scope: TenantScope, area: str) -> None:
    """404 for a name that is no area of this platform with no versions here either (no page for a made-up name)."""
    if not is_area_name(area) or (config_area(area) is None and await latest_config_version(scope, area) is None):
        raise NotFound({"zh": "没有这项配置", "en": "no such configuration"})


def version_number(name: str, value) -> int:
    """A version number posted or asked for under ``name``; 422 with the field's words for anything else."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(fields={name: {"zh": "应为版本号（整数）", "en": "must be a version number"}}) from None
    if number < 1:
        raise InvalidInput(fields={name: {"zh": "应为版本号（整数）", "en": "must be a version number"}})
    return number


async def answer_wording_form(scope: TenantScope, form, *, area: str, draft, actor: ConfigActor, write, preview, page, done):
    """The form every wording editor posts (card and action documents, notifications, official-document templates).

    ``do=save`` writes the draft, ``restore`` writes None (the default), ``rollback`` rolls ``area`` back to the
    posted ``number`` through the area's own writer, anything else previews the draft. A refusal shows the editor
    again with the draft and the refused fields, so nothing typed is lost. ``write(value)``, ``preview(draft)``,
    ``page(status, **context)`` and ``done(todo)`` are the editor's own.
    """
    todo = form.get("do", "preview")
    try:
        if todo == "save":
            await write(draft)
        elif todo == "restore":
            await write(None)
        elif todo == "rollback":
            await do_roll_back_config(scope, area, version_number("number", form.get("number")), actor=actor)
        else:
            return await page(200, draft=draft, preview=await preview(draft))
    except InvalidInput as refused:
        return await page(refused.status, draft=draft, errors=refused.fields)
    return done(todo)


async def versions_diff(scope: TenantScope, area: str, args, lang: str) -> tuple[ConfigVersion, ConfigVersion, list[dict]]:
    """The two versions ``?from=N&to=M`` names (to: the newest; from: the one before ``to``) and their rows."""
    await require_area(scope, area)
    newest = await latest_config_version(scope, area)
    if newest is None:
        raise NotFound({"zh": "这项配置还没有版本", "en": "this configuration has no versions yet"})
    to_number = version_number("to", args.get("to")) if args.get("to") else newest.number
    from_number = version_number("from", args.get("from")) if args.get("from") else max(to_number - 1, 1)
    old, new = await require_config_version(scope, area, from_number), await require_config_version(scope, area, to_number)
    return old, new, diff_rows(area, old.content, new.content, lang)


@config_studio_bp.app_template_filter("one_language")
def one_language(text: str | None) -> str:
    """"运维配置包 / operator bundle" or "回滚到第 3 版 / rolled back to version 3" (what the platform writes in both
    languages into a version's author or note) in the page's language; anything else as it is."""
    if not text or " / " not in text:
        return text or ""
    zh, _, en = text.partition(" / ")
    return zh if current_lang() == "zh" else en


# ----------------------------------------------------------------------------- pages


@config_studio_bp.get("/admin/studio")
@requires(Permission.CONFIGURATION_MANAGE)
async def studio_page(tenant_slug):
    """配置中心: every part of the configuration, its last change, and the way to its page."""
    return await staff_page("admin/studio.html", sections=await hub_sections(current_tenant().scope, current_lang()))


@config_studio_bp.get("/admin/versions/<area>")
@requires(Permission.CONFIGURATION_MANAGE)
async def versions_page(tenant_slug, area):
    scope, lang = current_tenant().scope, current_lang()
    await require_area(scope, area)
    versions = await list_config_versions(scope, area)
    section = section_of(area)
    page = next((url for url in map(_openable, section.pages) if url), None)
    return await staff_page("admin/versions.html", area=area, title=await area_title(scope, area, lang), versions=versions,
                            section=section, section_page=page, rolled_back=request.args.get("rolled_back"))


@config_studio_bp.get("/admin/versions/<area>/diff")
@requires(Permission.CONFIGURATION_MANAGE)
async def versions_diff_page(tenant_slug, area):
    scope, lang = current_tenant().scope, current_lang()
    old, new, rows = await versions_diff(scope, area, request.args, lang)
    numbers = [v.number for v in await list_config_versions(scope, area)]
    return await staff_page("admin/versions_diff.html", area=area, title=await area_title(scope, area, lang), old=old, new=new,
                            rows=rows, numbers=numbers)


@config_studio_bp.get("/admin/versions/<area>/<number>/rollback")
@requires(Permission.CONFIGURATION_MANAGE)
async def rollback_confirm_page(tenant_slug, area, number):
    """The confirm step (works without JavaScript): what going back to version ``number`` changes, and the button."""
    number = path_number(number)
    scope, lang = current_tenant().scope, current_lang()
    await require_area(scope, area)
    target, newest = await require_config_version(scope, area, number), await latest_config_version(scope, area)
    rows = diff_rows(area, newest.content, target.content, lang)
    return await staff_page("admin/versions_rollback.html", area=area, title=await area_title(scope, area, lang), target=target,
                            newest=newest, rows=rows, can_apply=config_area(area) is not None)


@config_studio_bp.post("/admin/versions/<area>/<number>/rollback")
@requires(Permission.CONFIGURATION_MANAGE)
async def rollback_submit(tenant_slug, area, number):
    number = path_number(number)
    scope = current_tenant().scope
    await require_area(scope, area)
    await do_roll_back_config(scope, area, number, actor=ConfigActor.of(current_principal()))
    return redirect(url_for("config_studio.versions_page", tenant_slug=tenant_slug, area=area, rolled_back=number))


# ----------------------------------------------------------------------------- the API twins


def _summary(row: ConfigVersion) -> dict:
    return row.summary()


@config_studio_bp.get("/api/config-versions")
@requires(Permission.CONFIGURATION_MANAGE)
async def list_config_areas(tenant_slug):
    scope, lang = current_tenant().scope, current_lang()
    newest = await latest_config_versions(scope)
    names = sorted(set(newest) | {p for p in config_areas() if not any(a.split(":", 1)[0] == p for a in newest)})
    return {"areas": [{"area": area, "title": await area_title(scope, area, lang), "registered": config_area(area) is not None,
                       "latest": _summary(newest[area]) if area in newest else None} for area in names]}


@config_studio_bp.get("/api/config-versions/<area>")
@requires(Permission.CONFIGURATION_MANAGE)
async def list_area_versions(tenant_slug, area):
    scope = current_tenant().scope
    await require_area(scope, area)
    return {"area": area, "title": await area_title(scope, area, current_lang()),
            "versions": [_summary(v) for v in await list_config_versions(scope, area)]}


@config_studio_bp.get("/api/config-versions/<area>/<number>")
@requires(Permission.CONFIGURATION_MANAGE)
async def show_area_version(tenant_slug, area, number):
    number = path_number(number)
    scope = current_tenant().scope
    await require_area(scope, area)
    row = await require_config_version(scope, area, number)
    return {"version": _summary(row), "content": row.content}


@config_studio_bp.get("/api/config-versions/<area>/diff")
@requires(Permission.CONFIGURATION_MANAGE)
async def diff_area_versions(tenant_slug, area):
    lang = current_lang()
    old, new, rows = await versions_diff(current_tenant().scope, area, request.args, lang)
    return {"from": old.number, "to": new.number,
            "rows": [{"path": r["path"], "label": " › ".join(p["text"] for p in r["parts"]), "change": r["change"],
                      "before": r["raw_before"], "after": r["raw_after"]} for r in rows]}


@config_studio_bp.post("/api/config-versions/<area>/<number>/rollback")
@requires(Permission.CONFIGURATION_MANAGE)
async def roll_back_area(tenant_slug, area, number):
    number = path_number(number)
    scope = current_tenant().scope
    await require_area(scope, area)
    await do_roll_back_config(scope, area, number, actor=ConfigActor.of(current_principal()))
    newest = await latest_config_version(scope, area)
    return {"version": _summary(newest) if newest else None}
