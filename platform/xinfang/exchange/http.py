"""The tenant admin's JSON API for the exchange: API clients and webhook endpoints with their delivery log."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, current_app
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..http import parse_body
from ..tenancy.resolution import current_tenant
from . import api_clients, webhooks
from .models import SCOPES

exchange_api_bp = Blueprint("exchange_api", __name__, url_prefix="/t/<tenant_slug>/api/exchange")
NO_STORE = {"Cache-Control": "no-store"}


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    scopes: list[str] = Field(max_length=10)
    rate_limit_per_minute: int | None = None


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=20)


def _allow_private() -> bool:
    return current_app.extensions["xinfang.settings"].webhook_allow_private_addresses


@exchange_api_bp.get("/clients")
@requires(Permission.EXCHANGE_MANAGE)
async def list_clients(tenant_slug):
    """This body's API clients (keys are never shown again: only their public prefix)."""
    return {"clients": [api_clients.client_view(c) for c in await api_clients.list_clients(current_tenant())], "scopes": SCOPES}


@exchange_api_bp.post("/clients")
@requires(Permission.EXCHANGE_MANAGE)
@document_request(ClientIn)
async def register_client(tenant_slug):
    """Register a client; the answer carries its key, once."""
    body = await parse_body(ClientIn)
    client, key = await api_clients.do_register_client(current_tenant(), current_principal(), name=body.name, scopes=body.scopes,
                                                       rate_limit_per_minute=body.rate_limit_per_minute)
    return {**api_clients.client_view(client), "api_key": key}, 201, NO_STORE


@exchange_api_bp.post("/clients/<client_id>/revoke")
@requires(Permission.EXCHANGE_MANAGE)
async def revoke_client(tenant_slug, client_id):
    """Revoke a client's key at once (its next call is a 403)."""
    return api_clients.client_view(await api_clients.do_revoke_client(current_tenant(), current_principal(), client_id))


@exchange_api_bp.get("/webhooks")
@requires(Permission.EXCHANGE_MANAGE)
async def list_webhooks(tenant_slug):
    """This body's webhook endpoints and the events they may choose."""
    return {"endpoints": [webhooks.endpoint_view(e) for e in await webhooks.list_endpoints(current_tenant())], "events": webhooks.EVENTS}


@exchange_api_bp.post("/webhooks")
@requires(Permission.EXCHANGE_MANAGE)
@document_request(EndpointIn)
async def add_webhook(tenant_slug):
    """Add an endpoint; the answer carries its signing secret, once."""
    body = await parse_body(EndpointIn)
    endpoint, secret = await webhooks.do_add_endpoint(current_tenant(), current_app.extensions["xinfang.keyring"], current_principal(),
                                                      name=body.name, url=body.url, events=body.events, allow_private=_allow_private())
    return {**webhooks.endpoint_view(endpoint), "secret": secret}, 201, NO_STORE


@exchange_api_bp.post("/webhooks/<endpoint_id>/disable")
@requires(Permission.EXCHANGE_MANAGE)
async def disable_webhook(tenant_slug, endpoint_id):
    """Stop sending to an endpoint (pending deliveries fail with that reason)."""
    return webhooks.endpoint_view(await webhooks.do_disable_endpoint(current_tenant(), current_principal(), endpoint_id))


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_hours: int | None = None


@exchange_api_bp.post("/webhooks/<endpoint_id>/rotate")
@requires(Permission.EXCHANGE_MANAGE)
@document_request(RotateIn)
async def rotate_webhook(tenant_slug, endpoint_id):
    """A new signing secret in place, shown once; the old one still signs for ``grace_hours`` (default 24, 0-168)."""
    body = await parse_body(RotateIn)
    endpoint, secret = await webhooks.do_rotate_secret(current_tenant(), current_app.extensions["xinfang.keyring"], current_principal(),
                                                       endpoint_id, grace=webhooks.grace_hours(body.grace_hours))
    return {**webhooks.endpoint_view(endpoint), "secret": secret}, 200, NO_STORE


@exchange_api_bp.get("/webhooks/<endpoint_id>/deliveries")
@requires(Permission.EXCHANGE_MANAGE)
async def list_deliveries(tenant_slug, endpoint_id):
    """The newest 100 deliveries to an endpoint: status, attempts, response codes."""
    ctx = current_tenant()
    endpoint = await webhooks.access_endpoint(ctx, endpoint_id)
    return {"endpoint": webhooks.endpoint_view(endpoint),
            "deliveries": [webhooks.delivery_view(d) for d in await webhooks.deliveries_of(ctx, endpoint)]}
