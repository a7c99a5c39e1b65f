"""The tenant admin's wording pages: every card and action document and every notification, each on its
own editor with its placeholders, a preview on sample values, "restore the default" and its versions.

Server-rendered (a form, buttons for preview / save / restore / roll back); a small script only inserts
a placeholder at the cursor (static/wording-editor.js). Handlers are short: the work is in cards/wording.py
and notifications/wording.py.
"""

from __future__ import annotations

from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import NotFound
from ..navigation import staff_home_url
from ..notifications.wording import (AREA as NOTIFICATION_AREA, LANGS, MESSAGES, PLACEHOLDERS as MESSAGE_PLACEHOLDERS,
                                     do_set_message_wording, preview_message, sample_values, tenant_today, tenant_wording)
from ..tenancy.config_pages import answer_wording_form
from ..tenancy.config_versions import ConfigActor, list_config_versions
from ..tenancy.resolution import current_tenant
from . import wording
from .admin import KIND_NAMES
from .models import ActionType, CardType

wording_admin_bp = Blueprint("wording_admin", __name__, url_prefix="/t/<tenant_slug>/admin/wording")
HISTORY = 20  # versions shown under an editor
NO_STORE = {"Cache-Control": "no-store"}


def _common() -> dict:
    ctx = current_tenant()
    return {"tenant": ctx.tenant, "principal": current_principal(), "home_url": staff_home_url(current_principal(), ctx.tenant)}


def _actor() -> ConfigActor:
    return ConfigActor.of(current_principal())


@wording_admin_bp.get("")
@requires(Permission.SUPERVISION_CONFIGURE)
async def wording_index(tenant_slug):
    scope = current_tenant().scope
    cards = await scope.repo(CardType).find({}).sort("rank").to_list()
    actions = await scope.repo(ActionType).find({}).sort("key").to_list()
    changed = await tenant_wording(scope)
    html = await render_template("admin/wording.html", cards=cards, actions=actions, kinds=KIND_NAMES, messages=list(MESSAGES.values()),
                                 changed=changed, **_common())
    return html, 200, NO_STORE


# -- card and action documents -------------------------------------------------------------------------------


async def _document_page(kind: str, key: str, status: int = 200, *, draft: str | None = None, preview=None, errors=None, saved=None):
    scope = current_tenant().scope
    kind_type = await wording.access_document_type(scope, kind, key)
    if draft is None:  # on the default: its plain form, with only the placeholders listed alongside
        draft = kind_type.document_template or wording.starting_text(kind, kind_type)
    html = await render_template(
        "admin/wording_document.html", kind=kind, kind_type=kind_type, draft=draft, preview=preview, errors=errors or {},
        saved=saved, placeholders=[{"text": p.insert, "meaning": p.label} for p in wording.placeholders_for(kind)], is_default=not kind_type.document_template,
        versions=await list_config_versions(scope, wording.area_of(kind, key), HISTORY),
        action=url_for(f"wording_admin.{kind}_wording_submit", tenant_slug=current_tenant().tenant.slug, key=key), **_common())
    return html, status, NO_STORE


async def _document_submit(kind: str, key: str):
    scope, form = current_tenant().scope, await request.form
    return await answer_wording_form(
        scope, form, area=wording.area_of(kind, key), draft=form.get("template", ""), actor=_actor(),
        write=lambda value: wording.do_set_document_wording(scope, kind, key, value, _actor()),
        preview=lambda draft: wording.preview_document(scope, kind, key, draft),
        page=lambda status, **context: _document_page(kind, key, status, **context),
        done=lambda todo: redirect(url_for(f"wording_admin.{kind}_wording_page", tenant_slug=current_tenant().tenant.slug, key=key, saved=todo)))


@wording_admin_bp.get("/cards/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def card_wording_page(tenant_slug, key):
    return await _document_page("card", key, saved=request.args.get("saved"))


@wording_admin_bp.post("/cards/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def card_wording_submit(tenant_slug, key):
    return await _document_submit("card", key)


@wording_admin_bp.get("/actions/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def action_wording_page(tenant_slug, key):
    return await _document_page("action", key, saved=request.args.get("saved"))


@wording_admin_bp.post("/actions/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def action_wording_submit(tenant_slug, key):
    return await _document_submit("action", key)


# -- notifications -------------------------------------------------------------------------------------------


def _message(key: str):
    message = MESSAGES.get(key)
    if message is None:
        raise NotFound({"zh": "没有这种提醒", "en": "no such notification"})
    return message


def _samples() -> dict:
    tenant = current_tenant().tenant
    return sample_values(tenant, tenant_today(tenant))


async def _notification_page(key: str, status: int = 200, *, draft: dict | None = None, preview=None, errors=None, saved=None):
    message = _message(key)
    scope = current_tenant().scope
    stored = (await tenant_wording(scope)).get(key) or {}
    if draft is None:
        draft = {lang: stored.get(lang) or message.default[lang] for lang in LANGS}
    html = await render_template(
        "admin/wording_notification.html", message=message, draft=draft, preview=preview, errors=errors or {}, saved=saved,
        placeholders=[{"text": "{{ " + name + " }}", "meaning": MESSAGE_PLACEHOLDERS[name].meaning} for name in message.placeholders],
        is_default=not any(stored.values()),
        versions=await list_config_versions(scope, NOTIFICATION_AREA, HISTORY), **_common())
    return html, status, NO_STORE


@wording_admin_bp.get("/notifications/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def notification_wording_page(tenant_slug, key):
    return await _notification_page(key, saved=request.args.get("saved"))


@wording_admin_bp.post("/notifications/<key>")
@requires(Permission.SUPERVISION_CONFIGURE)
async def notification_wording_submit(tenant_slug, key):
    _message(key)
    scope, form = current_tenant().scope, await request.form
    return await answer_wording_form(
        scope, form, area=NOTIFICATION_AREA, draft={lang: form.get(lang, "") for lang in LANGS}, actor=_actor(),
        write=lambda value: do_set_message_wording(scope, key, value, _actor(), samples=_samples()),
        preview=lambda draft: preview_message(key, draft, _samples()),
        page=lambda status, **context: _notification_page(key, status, **context),
        done=lambda todo: redirect(url_for("wording_admin.notification_wording_page", tenant_slug=current_tenant().tenant.slug, key=key, saved=todo)))
