"""The tenant admin's exchange pages: API clients (a key shown once, revoke), webhook endpoints (a secret shown
once, disable) and each endpoint's delivery log. Work without JavaScript; words, not codes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from quart import Blueprint, current_app, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import Conflict, InvalidInput
from ..http import staff_page
from ..tenancy.resolution import current_tenant
from . import api_clients, webhooks
from .models import SCOPES

exchange_pages_bp = Blueprint("exchange_pages", __name__, url_prefix="/t/<tenant_slug>/admin/exchange")

STATUS_WORDS = {"pending": {"zh": "等待重试", "en": "Waiting to retry"}, "delivered": {"zh": "已送达", "en": "Delivered"},
                "failed": {"zh": "失败（已停止重试）", "en": "Failed (no more retries)"}}


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _case_of(body: str) -> str:
    """What a delivery was about, as people name it: the case number, or the card's document number."""
    try:
        data = json.loads(body).get("data") or {}
    except ValueError:
        return ""
    return data.get("number") or data.get("document_no") or ", ".join(data.get("petition_numbers") or [])


def _open311_base() -> str:
    return url_for("open311.services", tenant_slug=current_tenant().tenant.slug, fmt="json", _external=True).rsplit("/", 1)[0]


async def _clients_page(status: int = 200, *, errors=None, values=None, new_key=None, notice=None):
    clients = [dict(api_clients.client_view(c), last_used=_moment(c.last_used_at), created=c.created_at, revoked=c.revoked_at)
               for c in await api_clients.list_clients(current_tenant())]
    return await staff_page("admin/exchange_api_clients.html", status, clients=clients, scopes=SCOPES, errors=errors or {},
                            values=values or {}, new_key=new_key, notice=notice, open311_base=_open311_base(),
                            default_rate=api_clients.DEFAULT_RATE)


@exchange_pages_bp.get("/clients")
@requires(Permission.EXCHANGE_MANAGE)
async def clients_page(tenant_slug):
    return await _clients_page()


@exchange_pages_bp.post("/clients")
@requires(Permission.EXCHANGE_MANAGE)
async def register_client_submit(tenant_slug):
    form = await request.form
    values = {"name": form.get("name", ""), "scopes": form.getlist("scopes"), "rate": form.get("rate_limit_per_minute", "")}
    try:
        rate = int(values["rate"]) if values["rate"].strip() else None
    except ValueError:
        rate = -1
    try:
        client, key = await api_clients.do_register_client(current_tenant(), current_principal(), name=values["name"],
                                                           scopes=values["scopes"], rate_limit_per_minute=rate)
    except (InvalidInput, Conflict) as refused:
        return await _clients_page(refused.status, errors=refused.fields or {"name": refused.message}, values=values)
    return await _clients_page(201, new_key={"name": client.name, "key": key})


@exchange_pages_bp.post("/clients/<client_id>/revoke")
@requires(Permission.EXCHANGE_MANAGE)
async def revoke_client_submit(tenant_slug, client_id):
    client = await api_clients.do_revoke_client(current_tenant(), current_principal(), client_id)
    return await _clients_page(notice={"zh": f"已吊销“{client.name}”的密钥，它的下一次调用将被拒绝。",
                                       "en": f"The key of “{client.name}” is revoked: its next call is refused."})


async def _webhooks_page(status: int = 200, *, errors=None, values=None, new_secret=None, notice=None):
    endpoints = await webhooks.list_endpoints(current_tenant())
    now = time.time()
    grace = {str(e.id): _moment(e.previous_until) for e in endpoints if e.previous_until and e.previous_until > now}
    return await staff_page("admin/exchange_webhooks.html", status, endpoints=endpoints, events=webhooks.EVENTS, grace=grace, errors=errors or {},
                            values=values or {}, new_secret=new_secret, notice=notice)


@exchange_pages_bp.get("/webhooks")
@requires(Permission.EXCHANGE_MANAGE)
async def webhooks_page(tenant_slug):
    return await _webhooks_page()


@exchange_pages_bp.post("/webhooks")
@requires(Permission.EXCHANGE_MANAGE)
async def add_webhook_submit(tenant_slug):
    form = await request.form
    values = {"name": form.get("name", ""), "url": form.get("url", ""), "events": form.getlist("events")}
    try:
        endpoint, secret = await webhooks.do_add_endpoint(
            current_tenant(), current_app.extensions["xinfang.keyring"], current_principal(), name=values["name"], url=values["url"],
            events=values["events"], allow_private=current_app.extensions["xinfang.settings"].webhook_allow_private_addresses)
    except (InvalidInput, Conflict) as refused:
        return await _webhooks_page(refused.status, errors=refused.fields or {"name": refused.message}, values=values)
    return await _webhooks_page(201, new_secret={"name": endpoint.name, "secret": secret})


@exchange_pages_bp.post("/webhooks/<endpoint_id>/disable")
@requires(Permission.EXCHANGE_MANAGE)
async def disable_webhook_submit(tenant_slug, endpoint_id):
    endpoint = await webhooks.do_disable_endpoint(current_tenant(), current_principal(), endpoint_id)
    return await _webhooks_page(notice={"zh": f"已停用“{endpoint.name}”，不再向它推送。", "en": f"“{endpoint.name}” is disabled: nothing more is sent to it."})


@exchange_pages_bp.post("/webhooks/<endpoint_id>/rotate")
@requires(Permission.EXCHANGE_MANAGE)
async def rotate_webhook_submit(tenant_slug, endpoint_id):
    form = await request.form
    try:
        endpoint, secret = await webhooks.do_rotate_secret(current_tenant(), current_app.extensions["xinfang.keyring"], current_principal(),
                                                           endpoint_id, grace=webhooks.grace_hours(form.get("grace_hours")))
    except (InvalidInput, Conflict) as refused:
        return await _webhooks_page(refused.status, notice=next(iter(refused.fields.values())) if refused.fields else refused.message)
    return await _webhooks_page(new_secret={"name": endpoint.name, "secret": secret, "rotated": True,
                                            "previous_until": _moment(endpoint.previous_until)})


@exchange_pages_bp.get("/webhooks/<endpoint_id>/deliveries")
@requires(Permission.EXCHANGE_MANAGE)
async def deliveries_page(tenant_slug, endpoint_id):
    ctx = current_tenant()
    endpoint = await webhooks.access_endpoint(ctx, endpoint_id)
    rows = [{"event": d.event, "case": _case_of(d.body), "event_name": webhooks.EVENTS.get(d.event, {"zh": d.event, "en": d.event}), "status": STATUS_WORDS[d.status],
             "state": d.status, "created": d.created_at, "next": _moment(d.next_attempt_at) if d.status == "pending" else None,
             "attempts": [{"at": _moment(a.at), "code": a.status_code, "error": a.error, "ms": a.duration_ms} for a in d.attempts]}
            for d in await webhooks.deliveries_of(ctx, endpoint)]
    return await staff_page("admin/exchange_deliveries.html", endpoint=endpoint, rows=rows, events=webhooks.EVENTS)
