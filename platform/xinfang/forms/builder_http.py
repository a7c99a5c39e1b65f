"""The form builder's pages: petition forms and archive document types, built by clicks without typing JSON.

Every step is a plain POST form that works without JavaScript (it answers with a redirect back to the page, or
the page again with the messages, 422); static/form-builder.js adds drag and drop and an instant preview.
"""

from __future__ import annotations

from quart import Blueprint, redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError
from ..i18n import current_lang
from ..navigation import staff_home_url
from ..tenancy.config_versions import ConfigActor
from ..tenancy.resolution import current_tenant
from . import builder
from .model import LIMIT_KEYS, Form
from .rendering import is_anonymous, parse_form, render_form
from .schema_safety import SchemaRejected, check_tenant_schema, schema_digest, validate_submission
from .templates_library import load_templates

form_builder_bp = Blueprint("form_builder", __name__, url_prefix="/t/<tenant_slug>/admin")
PAGES = {"form": "form_builder.forms_page", "archive_type": "form_builder.archive_types_page"}


def _actor() -> ConfigActor:
    return ConfigActor.of(current_principal())


def _url(area: str, key: str | None = None, **args) -> str:
    return url_for(PAGES[area], tenant_slug=current_tenant().tenant.slug, **({"key": key} if key else {}), **args)


def preview_of(schema: dict, example: dict, anonymous: bool, lang: str, checked: bool) -> dict:
    """The form as the citizen sees it, with the example answer's messages once it has been checked."""
    try:
        check_tenant_schema(schema)
    except SchemaRejected:
        return {"ok": False, "html": "", "errors": [], "checked": checked}
    errors = validate_submission(schema, example, anonymous=anonymous) if checked else []
    html = render_form(schema, lang=lang, values=example or None, errors=errors)
    return {"ok": True, "html": html, "errors": [{"path": e.path, "zh": e.zh, "en": e.en} for e in errors], "checked": checked}


async def _page(area: str, status: int = 200, *, errors: dict | None = None, json_text: str | None = None,
                focus: str | None = None, notice: str | None = None, start_values: dict | None = None,
                lead: dict | None = None, posted: dict | None = None):
    ctx = current_tenant()
    scope, lang = ctx.scope, current_lang()
    key = request.args.get("key") or None
    focus = focus if focus is not None else request.args.get("field") or None
    mode = "json-edit" if json_text is not None else request.args.get("mode") or ""
    context = {"area": area, "key": key, "focus": focus, "mode": mode, "errors": errors or {}, "lead": lead, "notice": notice or request.args.get("done"),
               "targets": await builder.list_targets(scope), "kind_words": builder.KIND_WORDS, "picker": builder.PICKER,
               "form_kinds": builder.FORM_KIND_WORDS, "templates": sorted(load_templates()), "start_values": start_values or {},
               "width": "phone" if request.args.get("width") == "phone" else "desktop", "url": _url,
               "posted": posted or {}}
    if key is not None:
        t = builder.target(area, key)
        draft, stored = await builder.open_draft(scope, t)
        schema = draft.json_schema
        form = Form.from_schema(schema)
        problems = builder.problems_of(form, schema)
        by_path: dict[str, list[dict]] = {}
        for p in problems:
            by_path.setdefault(p["path"], []).append(p)
        field = form.find(focus) if focus else None
        _, published_version, published_name = await builder.published(scope, t)
        checked = bool(draft.example) or request.args.get("checked") == "1"
        context.update(
            draft=draft, stored=stored, changed=stored and (schema_digest(schema) != draft.base_digest or (area != "form" and draft.name != published_name)),
            form=form, schema=schema, problems=problems, by_path=by_path, field=field,
            published_version=published_version, json_text=json_text if json_text is not None else builder.pretty(schema),
            preview=preview_of(schema, draft.example, draft.anonymous, lang, checked),
            conditions=builder.condition_options(form, focus) if field else [], condition_words=builder.condition_words(form),
            condition_value=builder.condition_value, limits=builder.limits_for(field.kind) if field else (),
            containers=[f for f in form.fields if f.kind in ("group", "identity_group")],
            limit_keys=LIMIT_KEYS, form_kind=(schema.get("x-form") or {}).get("kind") if isinstance(schema.get("x-form"), dict) else None,
        )
    html = await render_template("admin/form_builder.html", tenant=ctx.tenant, home_url=staff_home_url(current_principal(), ctx.tenant), **context)
    return html, status, {"Cache-Control": "no-store"}


async def _step(area: str):
    t = builder.target(area, request.args.get("key"))
    data = await request.form
    try:
        _, focus = await builder.do_builder_step(current_tenant().scope, t, data, actor=_actor())
    except DomainError as refused:
        return await _page(area, refused.status, errors=refused.fields or {}, lead=refused.message, focus=data.get("path") or None,
                           posted=data.to_dict() if data.get("op") == "field" else None)  # the field editor keeps what was typed
    anchor = f"#f-{focus.replace('.', '-')}" if focus else ""
    done = {"done": data.get("op")} if data.get("op") in ("remove", "undo") else {}
    return redirect(_url(area, t.key, **({"field": focus} if focus else {}), **done) + anchor, 303)


async def _preview(area: str):
    t = builder.target(area, request.args.get("key"))
    scope, data = current_tenant().scope, await request.form
    draft, _ = await builder.open_draft(scope, t)
    try:
        check_tenant_schema(draft.json_schema)
        example = parse_form(draft.json_schema, data)
    except SchemaRejected:
        example = {}
    await builder.do_save_example(scope, t, example, area == "form" and is_anonymous(data), actor=_actor())
    if data.get("fragment") == "1":
        fresh, _ = await builder.open_draft(scope, t)
        return await render_template("admin/_builder_preview.html", preview=preview_of(fresh.json_schema, fresh.example, fresh.anonymous, current_lang(), True),
                                     draft=fresh, schema=fresh.json_schema, area=area, key=t.key, width=data.get("width") or "desktop", url=_url,
                                     tenant=current_tenant().tenant, form_kind=None)
    width = {"width": "phone"} if data.get("width") == "phone" else {}
    return redirect(_url(area, t.key, checked="1", **width) + "#preview-panel", 303)


async def _json(area: str):
    t = builder.target(area, request.args.get("key"))
    data = await request.form
    try:
        await builder.do_save_json(current_tenant().scope, t, data.get("schema", ""), actor=_actor())
    except DomainError as refused:
        return await _page(area, refused.status, errors=refused.fields or {}, lead=refused.message, json_text=data.get("schema", ""))
    return redirect(_url(area, t.key, mode="json", done="json"), 303)


async def _publish(area: str):
    t = builder.target(area, request.args.get("key"))
    try:
        out = await builder.do_publish_draft(current_tenant().scope, t, actor=_actor())
    except DomainError as refused:
        return await _page(area, refused.status, errors=refused.fields or {}, lead=refused.message)
    done = (f"published:{out['version']}" if out["created"] else f"same:{out['version']}") if area == "form" else "saved"
    return redirect(_url(area, t.key, done=done), 303)


async def _discard(area: str):
    t = builder.target(area, request.args.get("key"))
    await builder.do_discard_draft(current_tenant().scope, t)
    return redirect(_url(area, t.key, done="discarded"), 303)


async def _start(area: str):
    data = await request.form
    try:
        t = await builder.do_start(current_tenant().scope, area, data, actor=_actor())
    except DomainError as refused:
        return await _page(area, refused.status, errors=refused.fields or {}, lead=refused.message, start_values=dict(data))
    return redirect(_url(area, t.key), 303)


# ----------------------------------------------------------------------------- petition forms


@form_builder_bp.get("/forms/builder")
@requires(Permission.FORMS_MANAGE)
async def forms_page(tenant_slug):
    """The builder of one form (``?key=``), or the list of forms to open and a new one to start."""
    return await _page("form")


@form_builder_bp.post("/forms/builder/new")
@requires(Permission.FORMS_MANAGE)
async def forms_start(tenant_slug):
    return await _start("form")


@form_builder_bp.post("/forms/builder/step")
@requires(Permission.FORMS_MANAGE)
async def forms_step(tenant_slug):
    return await _step("form")


@form_builder_bp.post("/forms/builder/preview")
@requires(Permission.FORMS_MANAGE)
async def forms_preview(tenant_slug):
    return await _preview("form")


@form_builder_bp.post("/forms/builder/json")
@requires(Permission.FORMS_MANAGE)
async def forms_json(tenant_slug):
    return await _json("form")


@form_builder_bp.post("/forms/builder/publish")
@requires(Permission.FORMS_MANAGE)
async def forms_publish(tenant_slug):
    return await _publish("form")


@form_builder_bp.post("/forms/builder/discard")
@requires(Permission.FORMS_MANAGE)
async def forms_discard(tenant_slug):
    return await _discard("form")


# ----------------------------------------------------------------------------- archive document types


@form_builder_bp.get("/archive-types/builder")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_page(tenant_slug):
    """The same builder for an archive document type (民主评廉 ...)."""
    return await _page("archive_type")


@form_builder_bp.post("/archive-types/builder/new")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_start(tenant_slug):
    return await _start("archive_type")


@form_builder_bp.post("/archive-types/builder/step")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_step(tenant_slug):
    return await _step("archive_type")


@form_builder_bp.post("/archive-types/builder/preview")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_preview(tenant_slug):
    return await _preview("archive_type")


@form_builder_bp.post("/archive-types/builder/json")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_json(tenant_slug):
    return await _json("archive_type")


@form_builder_bp.post("/archive-types/builder/publish")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_publish(tenant_slug):
    return await _publish("archive_type")


@form_builder_bp.post("/archive-types/builder/discard")
@requires(Permission.ARCHIVES_CONFIGURE)
async def archive_types_discard(tenant_slug):
    return await _discard("archive_type")
