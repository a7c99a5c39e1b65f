"""JSON routes for archived records (归档), under /t/<slug>/api/:

  POST petitions/<id>/archive-record      supervisions/<id>/archive-record     archive a closed case / card or action
  GET  records?q=&year=&kind=petition|supervision                             the list (number, case number, title)
  GET  records/<id>                       the record as frozen (the read is audited)
  GET  records/<id>/export                the package: a ZIP of PDFs, attachments, snapshot and manifest (audited)
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..tenancy.resolution import current_tenant
from . import package, service, views

records_api_bp = Blueprint("records", __name__, url_prefix="/t/<tenant_slug>/api")


def _zone() -> str:
    return current_tenant().tenant.settings.time_zone


async def archive(kind: str, subject_id: str) -> tuple[dict, int]:
    record = await service.do_archive(current_tenant(), current_principal(), kind, subject_id)
    return views.row(record, _zone()), 201


async def export_response(record_id: str) -> Response:
    ctx = current_tenant()
    record = await service.access_record(ctx, current_principal(), record_id, action="records.export",
                                         purpose=(request.args.get("purpose") or "导出归档记录").strip())
    data = await package.build(ctx.scope, record, ctx.tenant.name.zh, _zone())
    from ..petitions.uploads import content_disposition

    return Response(data, mimetype="application/zip", headers={"Cache-Control": "no-store",
                                                               "Content-Disposition": content_disposition(f"{record.number}.zip")})


@records_api_bp.post("/petitions/<petition_id>/archive-record")
@requires(Permission.RECORDS_ARCHIVE)
async def archive_petition(tenant_slug, petition_id):
    """归档 a closed case of this body: frozen, numbered by the tenant's rule (409 while open or when already archived)."""
    return await archive("petition", petition_id)


@records_api_bp.post("/supervisions/<supervision_id>/archive-record")
@requires(Permission.RECORDS_ARCHIVE)
async def archive_supervision(tenant_slug, supervision_id):
    """归档 a closed card or supervision action of this body."""
    return await archive("supervision", supervision_id)


@records_api_bp.get("/records")
@requires(Permission.RECORDS_READ)
async def list_records(tenant_slug):
    """``q`` matches the archive number, the case number or the title; ``year`` and ``kind`` filter."""
    rows = await service.list_records(current_tenant().scope, q=request.args.get("q", ""), year=request.args.get("year", ""),
                                      kind=request.args.get("kind", ""))
    return {"items": [views.row(r, _zone()) for r in rows]}


@records_api_bp.get("/records/<record_id>")
@requires(Permission.RECORDS_READ)
async def show_record(tenant_slug, record_id):
    """The record as frozen at archiving; the read is written to the audit chain first (``purpose`` optional)."""
    record = await service.access_record(current_tenant(), current_principal(), record_id, purpose=request.args.get("purpose", ""))
    return views.full(record, _zone())


@records_api_bp.get("/records/<record_id>/export")
@requires(Permission.RECORDS_EXPORT)
async def export_record(tenant_slug, record_id):
    """The package for a records office (ZIP; manifest.json holds each file's SHA-256); audited."""
    return await export_response(record_id)
