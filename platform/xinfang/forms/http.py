"""Form routes: the public form definitions, versions for staff, publishing and live preview for admins."""

from __future__ import annotations

from quart import Blueprint, render_template, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, public, requires
from ..errors import NotFound
from ..http import parse_body, path_number
from ..navigation import staff_home_url
from ..tenancy.resolution import current_tenant
from ..tenancy.config_versions import ConfigActor
from . import service
from .builder import record_form_version
from .rendering import render_form
from .schema_safety import SchemaRejected, check_tenant_schema, validate_submission
from .schemas import FormVersionIn, PreviewIn
from .templates_library import load_templates

forms_bp = Blueprint("forms", __name__, url_prefix="/t/<tenant_slug>")


@forms_bp.get("/api/forms")
@public("the portal and API clients list the forms citizens can file")
async def list_forms(tenant_slug):
    return {"forms": [f.summary() for f in await service.list_forms(current_tenant().scope)]}


@forms_bp.get("/api/forms/<key>")
@public("clients that render forms themselves need the schema")
async def show_form(tenant_slug, key):
    form = await service.require_form(current_tenant().scope, key)
    return dict(form.summary(), schema=form.json_schema)


@forms_bp.get("/api/forms/<key>/versions")
@requires(Permission.PETITIONS_READ)
async def list_versions(tenant_slug, key):
    rows = await current_tenant().scope.repo(service.FormVersion).find({"key": key}).sort("-version").to_list()
    if not rows:
        raise NotFound()
    return {"versions": [r.summary() for r in rows]}


@forms_bp.get("/api/forms/<key>/versions/<version>")
@requires(Permission.PETITIONS_READ)
async def show_version(tenant_slug, key, version):
    """An older version stays readable: every petition names the version it was validated against."""
    form = await service.require_form(current_tenant().scope, key, path_number(version))
    return dict(form.summary(), schema=form.json_schema)


@forms_bp.post("/api/forms/<key>/versions")
@requires(Permission.FORMS_MANAGE)
@document_request(FormVersionIn)
async def publish_version(tenant_slug, key):
    """Publish a new version: a full schema, a template as-is, or a template extended."""
    body = await parse_body(FormVersionIn)
    scope, principal = current_tenant().scope, current_principal()
    form, created = await service.do_publish_form_version(
        scope, key, schema=body.schema_, template=body.template, extend=body.extend, actor_id=principal.account_id,
    )
    await record_form_version(scope, form, actor=ConfigActor.of(principal), note="通过接口发布 / published through the API")
    return dict(form.summary(), created=created), 201 if created else 200


@forms_bp.get("/api/form-templates")
@requires(Permission.FORMS_MANAGE)
async def list_templates(tenant_slug):
    return {"templates": load_templates()}


@forms_bp.post("/api/forms/preview")
@requires(Permission.FORMS_MANAGE)
@document_request(PreviewIn)
async def preview(tenant_slug):
    """Render a draft schema as citizens will see it, and the messages an example submission would get."""
    body = await parse_body(PreviewIn)
    try:
        check_tenant_schema(body.schema_)
    except SchemaRejected as rejected:
        # 422 like publishing it would; the body also keeps what the live preview shows (problems by pointer).
        refused = service.rejection(rejected.problems)
        return {"ok": False, "problems": rejected.problems, "html": "", "errors": []} | refused.to_json(), refused.status
    errors = validate_submission(body.schema_, body.example, anonymous=body.anonymous)
    html = render_form(body.schema_, lang=body.lang if body.lang in ("zh", "en") else "zh", values=body.example, errors=errors)
    return {"ok": True, "problems": [], "html": str(html), "errors": [{"path": e.path, "zh": e.zh, "en": e.en} for e in errors]}


@forms_bp.get("/admin/forms")
@requires(Permission.FORMS_MANAGE)
async def admin_forms(tenant_slug):
    """The admin page: pick a form, edit its schema, see the live preview, publish."""
    ctx = current_tenant()
    forms = await service.list_forms(ctx.scope)
    key = request.args.get("key") or (forms[0].key if forms else "petition")
    current = await service.latest_version(ctx.scope, key)
    return await render_template(
        "admin/forms.html", tenant=ctx.tenant, forms=forms, key=key, current=current,
        templates=sorted(load_templates()), home_url=staff_home_url(current_principal(), ctx.tenant),
    )
