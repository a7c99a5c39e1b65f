"""JSON routes for official documents (公文), under /t/<slug>/api/:

  GET  documents?direction=outgoing|incoming&state=...&mine=1&q=words   this body's documents (newest first)
  POST documents {kind, title, body, recipients:[{kind: tenant, tenant: slug} | {kind: department|citizen, name}],
                  links:[{kind, id}], reply_to_id?}                      draft an outgoing document (发文)
  POST documents/incoming {kind, title, body, sender_name, document_no?, links?}    register a paper one (收文)
  GET  documents/stats                                                   counts by kind and direction
  GET  documents/<id>            GET documents/<id>/pdf (the issued PDF, X-Content-SHA256)    GET documents/<id>/scan
  POST documents/<id>/review {approve, opinion?}    POST documents/<id>/sign    POST documents/<id>/deliveries {index, note?}
  POST documents/<id>/distribution {entries:[{account_id, purpose: read|act, due_working_days | due_on}]}
  POST documents/<id>/read       POST documents/<id>/acted {note}
  GET  document-settings         PUT document-settings {prefix, reviewer_roles, signer_roles, templates?}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import parse_body
from ..tenancy.resolution import current_tenant
from . import service
from .models import KIND_NAMES, Direction, OfficialDocument
from .views import view

documents_api_bp = Blueprint("documents", __name__, url_prefix="/t/<tenant_slug>/api")
PAGE = 200
TEXT_SCAN = 2000


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["tenant", "department", "citizen"]
    tenant: str | None = Field(default=None, max_length=64, description="the receiving body's slug (kind tenant)")
    name: str | None = Field(default=None, max_length=100, description="a department's or the citizen's name")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["petition", "supervision", "archive_entry"]
    id: str = Field(max_length=40)


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="other", max_length=40, description=", ".join(KIND_NAMES))
    title: str = Field(min_length=1, max_length=service.MAX_TITLE)
    body: str = Field(min_length=1, max_length=service.MAX_BODY)
    recipients: list[RecipientIn] = Field(default_factory=list, max_length=service.MAX_RECIPIENTS)
    links: list[LinkIn] = Field(default_factory=list, max_length=service.MAX_LINKS)
    reply_to_id: str | None = Field(default=None, max_length=40, description="an incoming document this 复函 answers")


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="other", max_length=40)
    title: str = Field(min_length=1, max_length=service.MAX_TITLE)
    body: str = Field(default="", max_length=service.MAX_BODY)
    sender_name: str = Field(min_length=1, max_length=100)
    document_no: str | None = Field(default=None, max_length=60)
    links: list[LinkIn] = Field(default_factory=list, max_length=service.MAX_LINKS)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = True
    opinion: str | None = Field(default=None, max_length=2000)


class DeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int = Field(ge=0, le=service.MAX_RECIPIENTS)
    note: str | None = Field(default=None, max_length=500)


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(max_length=40)
    purpose: Literal["read", "act"]
    due_working_days: int | None = Field(default=None, ge=1, le=service.MAX_WORKING_DAYS)
    due_on: str | None = Field(default=None, max_length=10)


class DistributeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[EntryIn] = Field(min_length=1, max_length=50)


class ActedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str = Field(min_length=1, max_length=service.MAX_PREFIX, description="机关代字, e.g. 泗纪信")
    reviewer_roles: list[str] = Field(min_length=1, max_length=4)
    signer_roles: list[str] = Field(min_length=1, max_length=4)
    templates: dict[str, str] | None = Field(default=None, description="kind -> body template (sandboxed Jinja); empty: the default")


async def shown(document: OfficialDocument) -> dict:
    ctx = current_tenant()
    return view(document, current_principal(), await service.settings_of(ctx.scope))


def _matches(row: OfficialDocument, words: list[str]) -> bool:
    text = " ".join((row.title, row.body, row.document_no or "", row.sender_name, *(r.name for r in row.recipients)))
    return all(word in text for word in words)


async def listed(direction: str | None, state: str | None, mine: bool, q: str | None = None) -> list[dict]:
    """Newest first; ``q``: every word in the title, the text, the 文号, the sender or a recipient (a scan over the
    newest TEXT_SCAN documents of this body, not the search index: see the README's "not done")."""
    ctx, principal = current_tenant(), current_principal()
    query: dict = {}
    if direction in (Direction.OUTGOING.value, Direction.INCOMING.value):
        query["direction"] = direction
    if isinstance(state, str) and state:
        query["state"] = state
    if mine:
        query["distribution.account_id"] = principal.account_id
    words = (q or "").split()[:5] if isinstance(q, str) else []
    rows = await ctx.scope.repo(OfficialDocument).find(query).sort("-created_at").limit(TEXT_SCAN if words else PAGE).to_list()
    if words:
        rows = [row for row in rows if _matches(row, words)][:PAGE]
    settings = await service.settings_of(ctx.scope)
    return [view(row, principal, settings) for row in rows]


async def one() -> tuple:
    ctx = current_tenant()
    return ctx, current_principal()


@documents_api_bp.get("/documents")
@requires(Permission.DOCUMENTS_READ)
async def list_documents(tenant_slug):
    return {"items": await listed(request.args.get("direction"), request.args.get("state"), request.args.get("mine") == "1",
                                  request.args.get("q"))}


@documents_api_bp.post("/documents")
@requires(Permission.DOCUMENTS_WRITE)
@document_request(DraftIn)
async def draft_document(tenant_slug):
    """起草发文 from the tenant's template for its kind."""
    body = await parse_body(DraftIn)
    ctx, principal = await one()
    row = await service.do_draft(ctx.scope, ctx.tenant, principal, kind=body.kind, title=body.title, body=body.body,
                                 recipients=[r.model_dump() for r in body.recipients], links=[link.model_dump() for link in body.links],
                                 reply_to_id=body.reply_to_id)
    return await shown(row), 201


@documents_api_bp.post("/documents/incoming")
@requires(Permission.DOCUMENTS_WRITE)
@document_request(RegisterIn)
async def register_document(tenant_slug):
    """登记收文 from paper (the scan goes up on the page's form)."""
    body = await parse_body(RegisterIn)
    ctx, principal = await one()
    row = await service.do_register(ctx.scope, principal, kind=body.kind, title=body.title, body=body.body, sender_name=body.sender_name,
                                    document_no=body.document_no or "", links=[link.model_dump() for link in body.links])
    return await shown(row), 201


@documents_api_bp.get("/documents/stats")
@requires(Permission.DOCUMENTS_READ)
async def document_stats(tenant_slug):
    rows = await service.counts(current_tenant().scope)
    return {"items": [{**r, "kind_name": KIND_NAMES[r["kind"]]} for r in rows]}


@documents_api_bp.get("/documents/<document_id>")
@requires(Permission.DOCUMENTS_READ)
async def get_document(tenant_slug, document_id):
    return await shown(await service.access_document(current_tenant().scope, document_id))


@documents_api_bp.get("/documents/<document_id>/pdf")
@requires(Permission.DOCUMENTS_READ)
async def document_pdf(tenant_slug, document_id):
    """The issued PDF, byte for byte as it was made at 签发; its SHA-256 in X-Content-SHA256."""
    scope = current_tenant().scope
    pdf = await service.issued_pdf(scope, await service.access_document(scope, document_id))
    return pdf.data, 200, {"Content-Type": "application/pdf", "X-Content-SHA256": pdf.sha256,
                           "Content-Disposition": f'inline; filename="document-{document_id}.pdf"', "Cache-Control": "no-store"}


@documents_api_bp.get("/documents/<document_id>/scan")
@requires(Permission.DOCUMENTS_READ)
async def document_scan(tenant_slug, document_id):
    scope = current_tenant().scope
    scan = await service.scan_of(scope, await service.access_document(scope, document_id))
    return scan.data, 200, {"Content-Type": scan.content_type, "X-Content-SHA256": scan.sha256,
                            "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@documents_api_bp.post("/documents/<document_id>/review")
@requires(Permission.DOCUMENTS_READ)
@document_request(ReviewIn)
async def review_document(tenant_slug, document_id):
    """核稿 (the roles the tenant set; never the drafter)."""
    body = await parse_body(ReviewIn)
    ctx, principal = await one()
    row = await service.access_document(ctx.scope, document_id)
    return await shown(await service.do_review(ctx.scope, row, principal, approve=body.approve, opinion=body.opinion or ""))


@documents_api_bp.post("/documents/<document_id>/sign")
@requires(Permission.DOCUMENTS_READ)
async def sign_document(tenant_slug, document_id):
    """签发 (the roles the tenant set; neither the drafter nor the reviewer): numbered, PDF frozen, sent."""
    ctx, principal = await one()
    row = await service.access_document(ctx.scope, document_id)
    return await shown(await service.do_sign(ctx.scope, ctx.tenant, row, principal))


@documents_api_bp.post("/documents/<document_id>/deliveries")
@requires(Permission.DOCUMENTS_WRITE)
@document_request(DeliveryIn)
async def record_delivery(tenant_slug, document_id):
    body = await parse_body(DeliveryIn)
    ctx, principal = await one()
    row = await service.access_document(ctx.scope, document_id)
    return await shown(await service.do_record_delivery(ctx.scope, row, principal, index=body.index, note=body.note or ""))


@documents_api_bp.post("/documents/<document_id>/distribution")
@requires(Permission.DOCUMENTS_WRITE)
@document_request(DistributeIn)
async def distribute_document(tenant_slug, document_id):
    body = await parse_body(DistributeIn)
    ctx, principal = await one()
    row = await service.access_document(ctx.scope, document_id)
    return await shown(await service.do_distribute(ctx.scope, row, principal, entries=[e.model_dump() for e in body.entries]))


@documents_api_bp.post("/documents/<document_id>/read")
@requires(Permission.DOCUMENTS_READ)
async def mark_read(tenant_slug, document_id):
    ctx, principal = await one()
    return await shown(await service.do_mark_read(ctx.scope, await service.access_document(ctx.scope, document_id), principal))


@documents_api_bp.post("/documents/<document_id>/acted")
@requires(Permission.DOCUMENTS_READ)
@document_request(ActedIn)
async def mark_acted(tenant_slug, document_id):
    body = await parse_body(ActedIn)
    ctx, principal = await one()
    row = await service.access_document(ctx.scope, document_id)
    return await shown(await service.do_mark_acted(ctx.scope, row, principal, note=body.note))


def settings_view(row) -> dict:
    return {"prefix": row.prefix, "reviewer_roles": row.reviewer_roles, "signer_roles": row.signer_roles, "templates": row.templates,
            "example": f"{row.prefix or '（单位简称）'}〔2026〕1号"}


@documents_api_bp.get("/document-settings")
@requires(Permission.DOCUMENTS_CONFIGURE)
async def get_settings(tenant_slug):
    return settings_view(await service.settings_of(current_tenant().scope))


@documents_api_bp.put("/document-settings")
@requires(Permission.DOCUMENTS_CONFIGURE)
@document_request(SettingsIn)
async def put_settings(tenant_slug):
    """The 文号 rule (机关代字) and who reviews (核稿) and signs (签发), by role."""
    body = await parse_body(SettingsIn)
    row = await service.do_set_settings(current_tenant().scope, prefix=body.prefix, reviewer_roles=body.reviewer_roles,
                                        signer_roles=body.signer_roles, templates_by_kind=body.templates)
    return settings_view(row)
