"""Archive routes inside a tenant (officials, archives, documents, who read them) and the superusers'
promotion reviews outside any tenant."""

from __future__ import annotations

import asyncio

from quart import Blueprint, Response, current_app, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires, superuser_only
from ..cards.service import access_supervision
from ..http import parse_body
from ..petitions.http import keyring
from ..tenancy.config_versions import ConfigActor
from ..tenancy.resolution import current_tenant
from . import reviews, service
from .models import ArchiveDocumentType, ArchiveEntry, PromotionReview
from .pdf import opinion_pdf
from .type_admin import do_save_archive_type
from .schemas import (ArchiveDocumentIn, DocumentTypeIn, ManualLinkIn, OfficialIn, OfficialLinkIn, OfficialSearchIn, PetitionLinkIn,
                      ReviewIn)

archives_bp = Blueprint("archives", __name__, url_prefix="/t/<tenant_slug>/api")
reviews_bp = Blueprint("reviews", __name__, url_prefix="/api/platform/reviews")


def entry_view(entry: ArchiveEntry) -> dict:
    return entry.model_dump(mode="json", include={"kind", "type_key", "type_name", "colour", "on", "title", "status", "result", "data",
                                                  "added_by"}) | {"id": str(entry.id)}


@archives_bp.get("/officials")
@requires(Permission.ARCHIVES_READ)
async def list_officials(tenant_slug):
    """The tenant's officials, optionally by name (compared after Unicode normalisation)."""
    rows = await service.find_officials(current_tenant().scope, request.args.get("name"))
    return {"officials": [o.public_view() for o in rows]}


@archives_bp.post("/officials")
@requires(Permission.ARCHIVES_WRITE)
@document_request(OfficialIn)
async def register_official(tenant_slug):
    """Register an official; the identity number is kept only as a keyed hash."""
    body = await parse_body(OfficialIn)
    official = await service.do_register_official(current_tenant().scope, keyring(), **body.model_dump(), actor=current_principal())
    return official.public_view(), 201


@archives_bp.get("/officials/<official_id>/archive")
@requires(Permission.ARCHIVES_READ)
async def read_archive(tenant_slug, official_id):
    """This tenant's integrity archive of one official, newest first. The read is audited before it is answered."""
    scope = current_tenant().scope
    official = await service.access_official(scope, official_id)
    entries = await service.read_archive(scope, official, current_principal(), request.args.get("purpose", ""))
    return {"official": official.public_view(), "entries": [entry_view(e) for e in entries]}


@archives_bp.post("/officials/<official_id>/documents")
@requires(Permission.ARCHIVES_WRITE)
@document_request(ArchiveDocumentIn)
async def add_archive_document(tenant_slug, official_id):
    """File a document of a tenant-defined type (民主评廉, a declaration, a conclusion) in the archive."""
    scope, body = current_tenant().scope, await parse_body(ArchiveDocumentIn)
    entry = await service.do_add_document(scope, await service.access_official(scope, official_id), type_key=body.type_key, on=body.on,
                                          data=body.data, actor=current_principal())
    return entry_view(entry), 201


@archives_bp.post("/officials/<official_id>/petitions")
@requires(Permission.ARCHIVES_WRITE)
@document_request(PetitionLinkIn)
async def link_petition(tenant_slug, official_id):
    """File a petition about this official in the archive (its title and state only, never who sent it)."""
    scope, body = current_tenant().scope, await parse_body(PetitionLinkIn)
    entry = await service.do_link_petition(scope, await service.access_official(scope, official_id), body.petition_id, current_principal())
    return entry_view(entry), 201


@archives_bp.post("/supervisions/<supervision_id>/official")
@requires(Permission.ARCHIVES_WRITE)
@document_request(OfficialLinkIn)
async def link_supervision_official(tenant_slug, supervision_id):
    """Name the official a card or action was about; it enters their archive."""
    scope, body = current_tenant().scope, await parse_body(OfficialLinkIn)
    sup = await access_supervision(scope, supervision_id)
    sup = await service.do_link_supervision(scope, sup, await service.access_official(scope, body.official_id), current_principal())
    return {"id": str(sup.id), "official_id": sup.official_id}


@archives_bp.get("/archive-document-types")
@requires(Permission.ARCHIVES_READ)
async def list_document_types(tenant_slug):
    rows = await current_tenant().scope.repo(ArchiveDocumentType).find({}).sort("key").to_list()
    return {"document_types": [{"key": r.key, "name": r.name.model_dump(), "json_schema": r.json_schema} for r in rows]}


@archives_bp.put("/archive-document-types/<key>")
@requires(Permission.ARCHIVES_CONFIGURE)
@document_request(DocumentTypeIn)
async def define_document_type(tenant_slug, key):
    """Define an archive document type as a JSON Schema (checked by the same gate as petition forms)."""
    body = await parse_body(DocumentTypeIn)
    row = await do_save_archive_type(current_tenant().scope, key, body.name, body.json_schema, actor=ConfigActor.of(current_principal()),
                                     note="通过接口保存 / saved through the API")
    return {"key": row.key, "name": row.name.model_dump(), "schema_digest": row.schema_digest}


@archives_bp.get("/archive-access-log")
@requires(Permission.ARCHIVES_READ)
async def archive_access_log(tenant_slug):
    """Who looked at this tenant's officials' archives, when, why, under which review (newest first)."""
    before = request.args.get("before_seq", type=int)
    return {"records": await service.access_log(current_tenant().scope, limit=100, before_seq=before)}


# ----------------------------------------------------------------------------- superusers


@reviews_bp.post("")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
@document_request(ReviewIn)
async def open_review():
    """Open a promotion review: the person, the purpose, a reference number and a justification."""
    body = await parse_body(ReviewIn)
    review = await reviews.do_open_review(current_principal(), keyring(), current_app.extensions["xinfang.settings"], **body.model_dump())
    return reviews.review_view(review), 201


@reviews_bp.post("/official-search")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
@document_request(OfficialSearchIn)
async def search_officials():
    """Officials every tenant registered under a name (and unit), to open a review on one without an identity
    number; bound to the review's purpose, reference number and justification, and audited."""
    body = await parse_body(OfficialSearchIn)
    return {"officials": await reviews.find_officials_across_tenants(current_principal(), **body.model_dump())}, 200, {"Cache-Control": "no-store"}


@reviews_bp.get("")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def list_reviews():
    rows = await PromotionReview.find({}).sort("-created_at").limit(200).to_list()
    return {"reviews": [reviews.review_view(r) for r in rows]}


@reviews_bp.get("/<review_id>")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def show_review(review_id):
    return reviews.review_view(await reviews.access_review(current_principal(), review_id))


@reviews_bp.post("/<review_id>/approve")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def approve_review(review_id):
    """The second person approves; the time-boxed grant starts now."""
    review = await reviews.access_review(current_principal(), review_id)
    return reviews.review_view(await reviews.do_approve_review(current_principal(), current_app.extensions["xinfang.settings"], review))


@reviews_bp.post("/<review_id>/reject")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def reject_review(review_id):
    review = await reviews.access_review(current_principal(), review_id)
    return reviews.review_view(await reviews.do_close_review(current_principal(), review, reject=True))


@reviews_bp.post("/<review_id>/close")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def close_review(review_id):
    review = await reviews.access_review(current_principal(), review_id)
    return reviews.review_view(await reviews.do_close_review(current_principal(), review))


@reviews_bp.get("/<review_id>/opinion")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def review_opinion(review_id):
    """The consolidated integrity opinion across every tenant, newest first (audited before it is answered)."""
    review = await reviews.access_review(current_principal(), review_id)
    return await reviews.consolidated_opinion(current_principal(), review), 200, {"Cache-Control": "no-store"}


@reviews_bp.get("/<review_id>/opinion.pdf")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def review_opinion_pdf(review_id):
    review = await reviews.access_review(current_principal(), review_id)
    opinion = await reviews.consolidated_opinion(current_principal(), review, form="pdf")
    pdf = await asyncio.to_thread(opinion_pdf, opinion)  # seconds of reportlab CPU for a long opinion: off the event loop
    return Response(pdf, mimetype="application/pdf", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="integrity-opinion-{review.id}.pdf"'})


@reviews_bp.post("/<review_id>/links")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
@document_request(ManualLinkIn)
async def link_official(review_id):
    """State that a tenant's official is this person (never done silently; audited)."""
    body = await parse_body(ManualLinkIn)
    review = await reviews.access_review(current_principal(), review_id)
    official = await reviews.do_link_official(current_principal(), review, body.official_id, body.reason)
    return official.public_view()


@reviews_bp.delete("/<review_id>/links/<official_id>")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def unlink_official(review_id, official_id):
    review = await reviews.access_review(current_principal(), review_id)
    official = await reviews.do_unlink_official(current_principal(), review, official_id, request.args.get("reason", ""))
    return official.public_view()
