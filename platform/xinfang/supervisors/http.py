"""The village supervisors' JSON routes (信访监督员), under /t/<slug>/api/:

  GET  relays                               my relays, newest first (nobody else's)
  POST relays {form, answers, anonymous, consent, consent_method, received_on}   relay a villager's petition (201);
       as multipart: a ``payload`` JSON field and up to 5 ``files`` (PDF, JPEG, PNG, checked by their bytes)
  GET  relays/<id>                          one of my relays: state, public steps, consent, follow-ups (else 404)
  POST relays/<id>/follow-ups {kind, happened_on, note}                           a visit or call (201)
  GET  supervisor-network                   an upper body's statistics of the supervisors below it
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, request
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import Forbidden
from ..forms.service import require_form
from ..http import parse_body
from ..petitions.http import idempotency_key, keyring
from ..petitions.uploads import read_uploads
from ..tenancy.resolution import current_tenant
from . import network, service
from .models import ConsentMethod, FollowUpKind

supervisors_bp = Blueprint("supervisors", __name__, url_prefix="/t/<tenant_slug>/api")


class RelayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: str = Field(default="petition", min_length=1, max_length=64, description="form key, e.g. petition, report")
    answers: dict
    anonymous: bool = False
    consent: bool = Field(description="the villager agreed that the supervisor relays the petition and records their identity")
    consent_method: ConsentMethod = Field(description="how they agreed: in_person, signed, phone")
    received_on: date | None = Field(default=None, description="the day the villager told the supervisor (YYYY-MM-DD); today when omitted")


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: FollowUpKind
    happened_on: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD")
    note: str = Field(min_length=1, max_length=service.MAX_NOTE, description="what the villager said")


@supervisors_bp.get("/relays")
@requires(Permission.RELAYS_WRITE)
async def list_relays(tenant_slug):
    """The petitions this supervisor relayed, newest first."""
    page = request.args.get("page", 1, type=int) or 1
    rows, total = await service.my_relays(current_tenant(), current_principal(), page)
    return {"items": [service.relay_row(r) for r in rows], "total": total, "page": page}


@supervisors_bp.post("/relays")
@requires(Permission.RELAYS_WRITE)
@document_request(RelayIn)
async def relay(tenant_slug):
    """Relay a villager's petition with their consent: registered, identity sealed, the consent kept with it. JSON, or
    multipart with the JSON in ``payload`` and the villager's papers or photos in ``files`` (PDF, JPEG, PNG by content)."""
    (body, uploads), ctx = await read_uploads(RelayIn), current_tenant()
    if not service.relays_here(ctx.tenant):
        raise Forbidden(service.WRONG_LEVEL)
    intake = await service.intake_context(ctx)
    petition, receipt, _ = await service.do_relay_petition(
        ctx, keyring(), current_principal(), await require_form(intake.scope, body.form), answers=body.answers, anonymous=body.anonymous,
        consent=body.consent, consent_method=body.consent_method.value, received_on=body.received_on, idempotency_key=idempotency_key(),
        uploads=uploads)
    return {"id": str(petition.id), "number": petition.number, "receipt": receipt, "state": petition.state}, 201, {"Cache-Control": "no-store"}


@supervisors_bp.get("/relays/<petition_id>")
@requires(Permission.RELAYS_WRITE)
async def show_relay(tenant_slug, petition_id):
    """One of this supervisor's relays (any other petition is a 404)."""
    ctx = current_tenant()
    found, petition = await service.access_relay(ctx, current_principal(), petition_id)
    return await service.relay_view(ctx, found, petition)


@supervisors_bp.post("/relays/<petition_id>/follow-ups")
@requires(Permission.RELAYS_WRITE)
@document_request(FollowUpIn)
async def record_follow_up(tenant_slug, petition_id):
    """A visit or call on one of this supervisor's relays, and what the villager said."""
    ctx, principal = current_tenant(), current_principal()
    found, _ = await service.access_relay(ctx, principal, petition_id)
    body = await parse_body(FollowUpIn)
    follow_up = await service.do_record_follow_up(ctx, principal, found, kind=body.kind.value, happened_on=body.happened_on, note=body.note)
    return service.follow_up_view(follow_up), 201


@supervisors_bp.get("/supervisor-network")
@requires(Permission.ANALYTICS_READ)
async def supervisor_network(tenant_slug):
    """Per body below this one: supervisors, relays this month and year, follow-ups and closed relays this year."""
    return await network.network_statistics(current_tenant().tenant)
