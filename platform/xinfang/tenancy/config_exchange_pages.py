"""Export, offer, upload and import of a tenant's whole configuration: the pages and their API twins.

Handlers stay short: the work is in ``config_exchange``. Every route reads only the request's own tenant:
the export is of this tenant, offers are those addressed to it (stored in its scope), and an offer id of
another tenant is a plain 404.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field
from quart import Blueprint, Response, redirect, request, url_for
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..http import parse_body, refusal_message, staff_page
from ..i18n import current_lang
from .config_exchange import (
    MODES, ConfigOffer, access_offer, bundle_file_name, do_decline_offer, do_import_offer, do_offer_configuration,
    do_upload_configuration, export_bundle, list_offers, offer_targets, offered_title, preview_offer,
)
from .config_pages import diff_rows, section_of
from .config_versions import ConfigActor, area_title
from .resolution import current_tenant

config_exchange_bp = Blueprint("config_exchange", __name__, url_prefix="/t/<tenant_slug>")


class OfferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)  # the receiving tenant's slug
    note: str = Field(default="", max_length=200)


class ImportIn(BaseModel):
    modes: dict[str, str] = Field(default_factory=dict)  # area -> adopt / extend / override


def _actor() -> ConfigActor:
    return ConfigActor.of(current_principal())


def _offer_summary(offer: ConfigOffer) -> dict:
    return {"id": str(offer.id), "from": {"slug": offer.source_slug, "name": offer.source_name}, "via": offer.via,
            "offered_by": offer.offered_by, "note": offer.note, "at": offer.at.isoformat(), "status": offer.status,
            "areas": sorted(offer.bundle.get("areas", {}))}


async def _exchange_page(status: int = 200, *, message=None, notice=None):
    ctx = current_tenant()
    return await staff_page("admin/exchange.html", status, targets=await offer_targets(ctx.tenant), offers=await list_offers(ctx.scope),
                            message=message, notice=notice)


def _errors_of(area: str, errors: dict) -> list[dict]:
    return [m for path, m in errors.items() if path in (f"areas.{area}", f"modes.{area}") or path.startswith(f"areas.{area}.")]


async def _preview_context(offer: ConfigOffer, errors: dict | None = None) -> dict:
    scope, lang = current_tenant().scope, current_lang()
    areas = []
    for p in await preview_offer(scope, offer):
        areas.append({"errors": _errors_of(p.area, errors or {}), "area": p.area, "title": offered_title(offer, p.area, await area_title(scope, p.area, lang, p.ours or p.theirs), lang), "section": section_of(p.area).title,
                      "known": p.known, "new_here": p.ours is None, "problems": list(p.problems.values()), "same": p.same, "default": p.default_mode, "has_base": p.base is not None,
                      "adopt_rows": diff_rows(p.area, p.ours or {}, p.theirs, lang),
                      "extend_rows": diff_rows(p.area, p.ours or {}, p.content_for("extend"), lang), "kept": len(p.kept_rows)})
    return {"offer": offer, "areas": areas}


def _file_response(bundle: dict) -> Response:
    tenant = current_tenant().tenant
    body = json.dumps(bundle, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{bundle_file_name(tenant)}"', "Cache-Control": "no-store"})


# ----------------------------------------------------------------------------- pages


@config_exchange_bp.get("/admin/config-exchange")
@requires(Permission.CONFIGURATION_MANAGE)
async def exchange_page(tenant_slug):
    notice = {"offered": {"zh": "已提供给对方，对方导入前可先预览。", "en": "Offered; they can preview it before importing."},
              "imported": {"zh": "已导入，每一项都保存为新版本。", "en": "Imported; every area was saved as a new version."},
              "declined": {"zh": "已不予采用。", "en": "Declined."}}.get(request.args.get("done", ""))
    return await _exchange_page(notice=notice)


@config_exchange_bp.get("/admin/config-exchange/export")
@requires(Permission.CONFIGURATION_MANAGE)
async def export_download(tenant_slug):
    ctx = current_tenant()
    return _file_response(await export_bundle(ctx.scope, ctx.tenant))


@config_exchange_bp.post("/admin/config-exchange/offers")
@requires(Permission.CONFIGURATION_MANAGE)
async def offer_submit(tenant_slug):
    form, ctx = await request.form, current_tenant()
    try:
        await do_offer_configuration(ctx.scope, ctx.tenant, form.get("to", ""), actor=_actor(), note=form.get("note", ""))
    except DomainError as refused:
        return await _exchange_page(refused.status, message=refusal_message(refused))
    return redirect(url_for("config_exchange.exchange_page", tenant_slug=tenant_slug, done="offered"))


@config_exchange_bp.post("/admin/config-exchange/upload")
@requires(Permission.CONFIGURATION_MANAGE)
async def upload_submit(tenant_slug):
    files = await request.files
    upload = files.get("file")
    try:
        if upload is None:
            raise InvalidInput({"zh": "请选择要上传的配置文件", "en": "choose a configuration file to upload"}, field="file")
        offer = await do_upload_configuration(current_tenant().scope, upload.read(), actor=_actor())
    except DomainError as refused:
        return await _exchange_page(refused.status, message=refusal_message(refused))
    return redirect(url_for("config_exchange.offer_page", tenant_slug=tenant_slug, offer_id=str(offer.id)))


@config_exchange_bp.get("/admin/config-exchange/offers/<offer_id>")
@requires(Permission.CONFIGURATION_MANAGE)
async def offer_page(tenant_slug, offer_id):
    offer = await access_offer(current_tenant().scope, offer_id)
    return await staff_page("admin/exchange_preview.html", **await _preview_context(offer), modes=MODES, errors={}, chosen={})


@config_exchange_bp.post("/admin/config-exchange/offers/<offer_id>/import")
@requires(Permission.CONFIGURATION_MANAGE)
async def import_submit(tenant_slug, offer_id):
    scope, form = current_tenant().scope, await request.form
    offer = await access_offer(scope, offer_id)
    modes = {key[len("mode:"):]: value for key, value in form.items() if key.startswith("mode:")}
    try:
        await do_import_offer(scope, offer, modes, actor=_actor())
    except DomainError as refused:
        return await staff_page("admin/exchange_preview.html", refused.status, **await _preview_context(offer, refused.fields), modes=MODES,
                                errors=refused.fields, message=refused.message, chosen=modes)
    return redirect(url_for("config_exchange.exchange_page", tenant_slug=tenant_slug, done="imported"))


@config_exchange_bp.post("/admin/config-exchange/offers/<offer_id>/decline")
@requires(Permission.CONFIGURATION_MANAGE)
async def decline_submit(tenant_slug, offer_id):
    scope = current_tenant().scope
    await do_decline_offer(scope, await access_offer(scope, offer_id), actor=_actor())
    return redirect(url_for("config_exchange.exchange_page", tenant_slug=tenant_slug, done="declined"))


# ----------------------------------------------------------------------------- the API twins


@config_exchange_bp.get("/api/config-exchange/export")
@requires(Permission.CONFIGURATION_MANAGE)
async def export_bundle_api(tenant_slug):
    ctx = current_tenant()
    return await export_bundle(ctx.scope, ctx.tenant)


@config_exchange_bp.get("/api/config-exchange/offers")
@requires(Permission.CONFIGURATION_MANAGE)
async def list_offers_api(tenant_slug):
    return {"offers": [_offer_summary(o) for o in await list_offers(current_tenant().scope)]}


@config_exchange_bp.post("/api/config-exchange/offers")
@requires(Permission.CONFIGURATION_MANAGE)
@document_request(OfferIn)
async def offer_api(tenant_slug):
    body, ctx = await parse_body(OfferIn), current_tenant()
    offer = await do_offer_configuration(ctx.scope, ctx.tenant, body.to, actor=_actor(), note=body.note)
    return {"id": str(offer.id), "to": body.to, "areas": sorted(offer.bundle.get("areas", {}))}, 201


@config_exchange_bp.post("/api/config-exchange/upload")
@requires(Permission.CONFIGURATION_MANAGE)
async def upload_api(tenant_slug):
    """The body is an exported file as it is (JSON); it becomes an offer to this tenant, to preview and import."""
    raw = await request.get_data()
    offer = await do_upload_configuration(current_tenant().scope, raw, actor=_actor())
    return _offer_summary(offer), 201


@config_exchange_bp.get("/api/config-exchange/offers/<offer_id>")
@requires(Permission.CONFIGURATION_MANAGE)
async def preview_offer_api(tenant_slug, offer_id):
    scope = current_tenant().scope
    offer = await access_offer(scope, offer_id)
    rows = lambda diff: [{"path": r.path, "before": r.before, "after": r.after} for r in diff]  # noqa: E731
    return _offer_summary(offer) | {"preview": [
        {"area": p.area, "known": p.known, "new_here": p.ours is None, "same": p.same, "default_mode": p.default_mode,
         "has_base": p.base is not None, "problems": p.problems, "adopt": rows(p.adopt_rows), "extend": rows(p.extend_rows), "kept": rows(p.kept_rows)}
        for p in await preview_offer(scope, offer)]}


@config_exchange_bp.post("/api/config-exchange/offers/<offer_id>/import")
@requires(Permission.CONFIGURATION_MANAGE)
@document_request(ImportIn)
async def import_offer_api(tenant_slug, offer_id):
    scope = current_tenant().scope
    offer = await access_offer(scope, offer_id)
    body = await parse_body(ImportIn)
    return {"areas": await do_import_offer(scope, offer, body.modes, actor=_actor())}

