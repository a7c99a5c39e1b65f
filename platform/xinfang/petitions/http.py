"""Petition JSON API: citizens (public, with receipts) and staff (inbox, registration, workflow)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

from quart import Blueprint, current_app, request
from quart_schema import document_request, document_response

from ..auth.access import current_principal
from ..auth.permissions import Permission, public, requires
from ..errors import NotFound
from ..forms.service import require_form
from ..http import parse_body
from ..ratelimit import hit
from ..tenancy.config_versions import ConfigActor
from ..tenancy.context import TenantContext
from ..tenancy.resolution import current_tenant
from ..tenancy.service import get_tenant
from . import service
from .models import CalendarRules
from .schemas import CalendarIn, CitizenActionIn, ReceiptIn, ReceiptOut, RegistrationIn, SubmissionIn, SupplementIn, TransitionIn
from .uploads import attachment_download, read_uploads
from .views import public_view, staff_view, summary_view

petitions_bp = Blueprint("petitions", __name__, url_prefix="/t/<tenant_slug>/api")

# A receipt answer never comes sooner than this: right and wrong receipts cost the same.
RECEIPT_ANSWER_SECONDS = 0.25
RECEIPT_ATTEMPTS_PER_WINDOW = 10  # per tenant and client address
# Rotating source addresses must not beat the limit: guesses at one receipt (known but for its last
# digits) are also counted together from every address, and each portal has a ceiling on lookups, since
# every one costs a slow hash.
RECEIPT_ATTEMPTS_PER_PREFIX = 20
RECEIPT_PREFIX_DIGITS = 12
RECEIPT_LOOKUPS_PER_TENANT = 2000
RECEIPT_WINDOW_SECONDS = 600


def keyring():
    return current_app.extensions["xinfang.keyring"]


def idempotency_key() -> str | None:
    """The optional Idempotency-Key header: a retry with the same key gets the first answer, not a second petition."""
    return request.headers.get(service.SUBMISSION_KEY_FIELD)


def client_address() -> str:
    return request.remote_addr or "unknown"


async def receipt_lookup(receipt_text: str):
    """Rate-limited, constant-time lookup of a receipt; the petition must belong to this portal's case path."""
    ctx = current_tenant()
    # The prefix is keyed with the secret: rate counters in the store must not spell out most of a receipt.
    prefix = hmac.new(current_app.config["SECRET_KEY"].encode(), service.normalise_receipt(receipt_text)[:RECEIPT_PREFIX_DIGITS].encode(),
                      hashlib.sha256).hexdigest()
    for bucket, limit in ((f"receipt:{ctx.tenant_id}:{client_address()}", RECEIPT_ATTEMPTS_PER_WINDOW),
                          (f"receipt-prefix:{prefix}", RECEIPT_ATTEMPTS_PER_PREFIX),
                          (f"receipt-tenant:{ctx.tenant_id}", RECEIPT_LOOKUPS_PER_TENANT)):
        await hit(bucket, limit=limit, window_seconds=RECEIPT_WINDOW_SECONDS)
    started = time.monotonic()
    found = await service.find_by_receipt(keyring(), receipt_text)
    if found and ctx.tenant_id not in (found[0].origin_tenant_id, found[0].tenant_id):
        found = None  # a receipt works at the portal that issued it, or where the case is now
    await asyncio.sleep(max(0.0, RECEIPT_ANSWER_SECONDS - (time.monotonic() - started)))
    if found is None:
        raise NotFound({"zh": "回执号不正确，或这件信访件不在本单位", "en": "wrong receipt, or the petition is not with this body"})
    return found


async def followed_by_receipt(model):
    """(body, context of the tenant that holds the case now, petition) for a request carrying a receipt."""
    body = await parse_body(model)
    row, petition = await receipt_lookup(body.receipt)
    return body, TenantContext.of(await get_tenant(row.tenant_id)), petition


@petitions_bp.post("/petitions/submit")
@public("citizens file petitions without an account")
@document_request(SubmissionIn)
@document_response(ReceiptOut, 201)
async def submit(tenant_slug):
    """File a petition online (JSON, or multipart with a `payload` JSON field and `files`).

    Send an `Idempotency-Key` header (16-64 characters of A-Z a-z 0-9 _ -, one per petition) and retry
    with the same key when an answer is lost: the retry answers with the same receipt and number."""
    ctx = current_tenant()
    body, uploads = await read_uploads(SubmissionIn)
    form = await require_form(ctx.scope, body.form, body.version)
    petition, receipt = await service.do_submit_petition(ctx, keyring(), form, answers=body.answers, anonymous=body.anonymous, uploads=uploads,
                                                         idempotency_key=idempotency_key())
    return {"number": petition.number, "receipt": receipt, "state": petition.state}, 201, {"Cache-Control": "no-store"}


@petitions_bp.post("/receipts/lookup")
@public("citizens follow their petition with the receipt")
@document_request(ReceiptIn)
async def lookup(tenant_slug):
    """Status and public timeline of the petition with this receipt."""
    _, ctx, petition = await followed_by_receipt(ReceiptIn)
    return public_view(petition, await service.petition_workflow(ctx.scope, petition))


@petitions_bp.post("/receipts/supplement")
@public("citizens add information with the receipt")
@document_request(SupplementIn)
async def supplement(tenant_slug):
    body, ctx, petition = await followed_by_receipt(SupplementIn)
    petition = await service.do_add_supplement(ctx, petition, text=body.text)
    return public_view(petition, await service.petition_workflow(ctx.scope, petition))


@petitions_bp.post("/receipts/actions/<key>")
@public("citizens request a review (复查/复核) with the receipt")
@document_request(CitizenActionIn)
async def citizen_action(tenant_slug, key):
    body, ctx, petition = await followed_by_receipt(CitizenActionIn)
    petition = await service.do_transition(ctx, keyring(), petition, key, actor=None, fields=body.fields)
    return public_view(petition, await service.petition_workflow(ctx.scope, petition))


@petitions_bp.get("/petitions")
@requires(Permission.PETITIONS_READ)
async def list_petitions(tenant_slug):
    """The inbox: filters state, channel, overdue, subject, due_before, assignee; page, page_size."""
    ctx = current_tenant()
    page = request.args.get("page", 1, type=int) or 1
    page_size = min(max(request.args.get("page_size", 20, type=int) or 20, 1), 100)
    filters = {k: request.args.get(k) for k in service.INBOX_FILTERS if request.args.get(k)}
    items, total = await service.inbox(ctx, filters=filters, page=page, page_size=page_size)
    workflows = await service.petition_workflows(ctx.scope, items)  # each case in its own version's words
    return {"items": [summary_view(p, workflows[p.workflow_version]) for p in items], "total": total, "page": page, "page_size": page_size}


@petitions_bp.post("/petitions")
@requires(Permission.PETITIONS_REGISTER)
@document_request(RegistrationIn)
@document_response(ReceiptOut, 201)
async def register(tenant_slug):
    """Register a letter, visit or call with the tenant's form; the receipt is for the petitioner."""
    ctx = current_tenant()
    body, uploads = await read_uploads(RegistrationIn)
    form = await require_form(ctx.scope, body.form, body.version)
    petition, receipt = await service.do_submit_petition(
        ctx, keyring(), form, answers=body.answers, anonymous=body.anonymous, channel=body.channel,
        registered_by=current_principal(), uploads=uploads, idempotency_key=idempotency_key(), received_on=body.received_on,
    )
    return {"id": str(petition.id), "number": petition.number, "receipt": receipt, "state": petition.state}, 201, {"Cache-Control": "no-store"}


@petitions_bp.get("/petitions/<petition_id>")
@requires(Permission.PETITIONS_READ)
async def show_petition(tenant_slug, petition_id):
    """One petition with its full timeline and the actions this user may take."""
    ctx, principal = current_tenant(), current_principal()
    petition = await service.access_petition(ctx, petition_id)
    workflow = await service.petition_workflow(ctx.scope, petition)
    identity = await service.open_identity(keyring(), petition) if Permission.PETITION_IDENTITY_READ in principal.permissions else None
    return staff_view(petition, workflow, principal, service.allowed_transitions(
        workflow, petition, principal, lower_bodies=await service.has_lower_bodies(ctx)), identity)


@petitions_bp.post("/petitions/<petition_id>/transitions/<key>")
@requires(Permission.PETITIONS_ACT)
@document_request(TransitionIn)
async def transition(tenant_slug, petition_id, key):
    """Take one workflow action (its fields as the workflow declares them)."""
    ctx, principal = current_tenant(), current_principal()
    body = await parse_body(TransitionIn)
    petition = await service.do_transition_of(ctx, keyring(), petition_id, key, actor=principal, fields=body.fields)
    if petition.tenant_id != ctx.tenant_id:  # moved away: this tenant no longer holds it
        return {"moved_to": petition.tenant_id, "number": petition.number}
    workflow = await service.petition_workflow(ctx.scope, petition)
    return staff_view(petition, workflow, principal, service.allowed_transitions(
        workflow, petition, principal, lower_bodies=await service.has_lower_bodies(ctx)), None)


@petitions_bp.get("/petitions/<petition_id>/attachments/<attachment_id>")
@requires(Permission.PETITIONS_READ)
async def download_attachment(tenant_slug, petition_id, attachment_id):
    ctx = current_tenant()
    petition = await service.access_petition(ctx, petition_id)
    return attachment_download(await service.attachment_of(petition, attachment_id))  # right after a move too


@petitions_bp.get("/workflow")
@requires(Permission.TENANT_READ)
async def show_workflow(tenant_slug):
    """The tenant's workflow: states, transitions, roles, time limits."""
    return (await service.tenant_workflow(current_tenant().scope)).model_dump(mode="json", by_alias=True)


@petitions_bp.get("/calendar")
@requires(Permission.TENANT_READ)
async def show_calendar(tenant_slug):
    row = await current_tenant().scope.repo(CalendarRules).find_one({})
    return {"holidays": row.holidays if row else [], "workdays": row.workdays if row else []}


@petitions_bp.put("/calendar")
@requires(Permission.CALENDAR_MANAGE)
@document_request(CalendarIn)
async def set_calendar(tenant_slug):
    """Days off and make-up workdays for years the official calendar does not cover yet."""
    body = await parse_body(CalendarIn)
    rules = await service.do_set_calendar_rules(current_tenant().scope, holidays=body.holidays, workdays=body.workdays,
                                                actor_id=current_principal().account_id, actor=ConfigActor.of(current_principal()))
    return {"holidays": rules.holidays, "workdays": rules.workdays}
