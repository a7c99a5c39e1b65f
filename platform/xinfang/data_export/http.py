"""The data export page (tenant admin): request an export, see it being made, download it (each download audited)."""

from __future__ import annotations

from urllib.parse import quote

from quart import Blueprint, Response, current_app, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError
from ..http import staff_page
from ..tenancy.resolution import current_tenant
from ..worker import send_task_async
from . import service
from .archive_format import FORMAT_VERSION, KINDS
from .models import EXPORT_STATE_WORDS
from .tasks import BUILD

data_export_bp = Blueprint("data_export", __name__, url_prefix="/t/<tenant_slug>/admin/exports")


async def _send(tenant_id: str, export_id: str) -> None:
    await send_task_async(current_app.extensions["xinfang.celery"], BUILD, [tenant_id, export_id])


async def _page(*, error: dict | None = None, status: int = 200):
    ctx, principal = current_tenant(), current_principal()
    return await staff_page("admin/exports.html", status, exports=await service.recent_exports(ctx), states=EXPORT_STATE_WORDS,
                            kinds=KINDS, format_version=FORMAT_VERSION, error=error,
                            may_open_identity=principal.can(Permission.DATA_EXPORT_IDENTITY, ctx.tenant_id))


async def request_export(ctx, principal):
    submitted = await request.form
    try:
        await service.do_request_export(ctx, principal, with_identity=submitted.get("with_identity") == "1",
                                        purpose=submitted.get("purpose", ""), send=_send)
    except DomainError as refused:
        return await _page(error=refused.message, status=refused.status)
    return redirect(url_for("data_export.exports_page", tenant_slug=ctx.tenant.slug), 303)


async def download(ctx, principal, export_id):
    export, data = await service.do_download(ctx, principal, export_id)
    disposition = f"attachment; filename=\"export.zip\"; filename*=UTF-8''{quote(export.filename)}"
    return Response(data, mimetype="application/zip", headers={"Content-Disposition": disposition, "Cache-Control": "no-store",
                                                               "X-Content-SHA256": export.sha256 or ""})


@data_export_bp.get("")
@requires(Permission.DATA_EXPORT)
async def exports_page(tenant_slug):
    return await _page()


@data_export_bp.post("")
@requires(Permission.DATA_EXPORT)
async def export_submit(tenant_slug):
    return await request_export(current_tenant(), current_principal())


@data_export_bp.get("/<export_id>/download")
@requires(Permission.DATA_EXPORT)
async def download_export(tenant_slug, export_id):
    return await download(current_tenant(), current_principal(), export_id)
