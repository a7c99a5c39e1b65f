"""Outbound webhooks: the case events a tenant's other systems may follow, the endpoints a tenant admin sets up,
and the deliveries an event makes (one row per event and endpoint, written idempotently by the event hook).

A payload names the case by its number and state, never its petitioner: identities stay sealed, and titles and
texts stay in the platform (a receiving system that needs them calls the staff API with its own account).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
from urllib.parse import urlsplit

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..cards.models import CardType, Supervision
from ..crypto import KeyRing
from ..errors import Conflict, InvalidInput, NotFound
from ..petitions.models import Petition
from ..petitions.service import petition_workflow
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import TenantScope
from ..tenancy.context import TenantContext
from ..tenancy.service import get_tenant
from .delivery import is_public
from .models import WebhookDelivery, WebhookEndpoint

# The events offered, with the words people choose them by.
EVENTS = {
    "petition.received": {"zh": "收到信访件（网上提交、登记或转来）", "en": "Petition received (filed, registered or moved here)"},
    "petition.state_changed": {"zh": "信访件办理状态变化", "en": "Petition state changed"},
    "petition.closed": {"zh": "信访件办结", "en": "Petition closed"},
    "card.issued": {"zh": "发出监督卡", "en": "Supervision card issued"},
    "card.answered": {"zh": "监督卡得到答复", "en": "Supervision card answered"},
}
MAX_ENDPOINTS = 20
MAX_URL = 500
DELIVERY_LOG_PAGE = 100


def _check_url(url: str) -> str:
    """http(s), a host, no credentials in it; an address written out must be public (the delivery checks the
    names it resolves again, every time: delivery.py)."""
    url = (url or "").strip()
    problem = None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port, problem = None, None, ("网址格式不正确", "not a valid URL")
    if problem is None:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = ("须以 https:// 或 http:// 开头并写明主机", "must start with https:// or http:// and name a host")
        elif parts.username or parts.password:
            problem = ("网址中不能包含用户名或密码", "the URL must not carry a user name or password")
        elif len(url) > MAX_URL:
            problem = (f"网址最多 {MAX_URL} 个字符", f"at most {MAX_URL} characters")
        elif port == 0:
            problem = ("端口不正确", "invalid port")
    if problem:
        raise InvalidInput(fields={"url": {"zh": problem[0], "en": problem[1]}})
    return url


def written_address(url: str):
    """The IP address a URL spells out, if it spells one (else None)."""
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def list_endpoints(ctx: TenantContext) -> list[WebhookEndpoint]:
    return await ctx.scope.repo(WebhookEndpoint).find({}).sort([("created_at", DESCENDING)]).limit(MAX_ENDPOINTS * 5).to_list()


async def access_endpoint(ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await ctx.scope.repo(WebhookEndpoint).get(endpoint_id)
    if endpoint is None:
        raise NotFound({"zh": "没有这个推送地址", "en": "no such webhook endpoint"})
    return endpoint


async def do_add_endpoint(ctx: TenantContext, keyring: KeyRing, actor: Principal, *, name: str, url: str,
                          events: list[str], allow_private: bool) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once; stored sealed with the tenant's key)."""
    problems = {}
    name = " ".join((name or "").split())[:60]
    if not name:
        problems["name"] = {"zh": "请填写名称（如：本单位办公系统）", "en": "give it a name (e.g. our office system)"}
    try:
        url = _check_url(url)
    except InvalidInput as bad:
        problems.update(bad.fields)
    address = written_address(url) if "url" not in problems else None
    if address is not None and not is_public(address) and not allow_private:
        problems["url"] = {"zh": "不能推送到内网、本机或保留地址", "en": "private, loopback and reserved addresses are refused"}
    events = sorted(set(events or []))
    if not events or any(e not in EVENTS for e in events):
        problems["events"] = {"zh": "请从列表中选择至少一种事件", "en": "choose at least one event from the list"}
    if problems:
        raise InvalidInput(fields=problems)
    if await ctx.scope.repo(WebhookEndpoint).count({"active": True}) >= MAX_ENDPOINTS:
        raise Conflict({"zh": f"每个单位最多 {MAX_ENDPOINTS} 个推送地址", "en": f"at most {MAX_ENDPOINTS} webhook endpoints per body"})
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(id=ObjectId(), tenant_id=ctx.tenant_id, name=name, url=url, events=events, secret_sealed="",
                               created_by=actor.account_id, created_by_name=actor.display_name)
    endpoint.secret_sealed = await keyring.seal(ctx.tenant_id, f"webhook:{endpoint.id}", {"secret": secret})
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="exchange.webhook.created",
                          purpose="add a webhook endpoint", subject=str(endpoint.id),
                          query={"name": name, "host": urlsplit(url).hostname, "events": events}, tenant_ids=[ctx.tenant_id])
    await ctx.scope.repo(WebhookEndpoint).insert(endpoint)
    return endpoint, secret


async def do_disable_endpoint(ctx: TenantContext, actor: Principal, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await access_endpoint(ctx, endpoint_id)
    if endpoint.active:
        await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="exchange.webhook.removed",
                              purpose="disable a webhook endpoint", subject=str(endpoint.id), tenant_ids=[ctx.tenant_id])
        endpoint.active, endpoint.disabled_at = False, utcnow()
        await ctx.scope.repo(WebhookEndpoint).update_one({"_id": endpoint.id}, {"$set": {"active": False, "disabled_at": endpoint.disabled_at}})
    return endpoint


async def endpoint_secret(keyring: KeyRing, endpoint: WebhookEndpoint) -> str:
    return (await keyring.open(endpoint.tenant_id, f"webhook:{endpoint.id}", endpoint.secret_sealed))["secret"]


async def previous_secret(keyring: KeyRing, endpoint: WebhookEndpoint, now: float) -> str | None:
    """The secret before the last rotation while its grace period lasts (it signs too), else None."""
    if not endpoint.previous_secret_sealed or not endpoint.previous_until or endpoint.previous_until <= now:
        return None
    return (await keyring.open(endpoint.tenant_id, f"webhook:{endpoint.id}", endpoint.previous_secret_sealed))["secret"]


MAX_GRACE_HOURS = 168
DEFAULT_GRACE_HOURS = 24


def grace_hours(raw) -> int:
    """0-168 whole hours (a week at most); a 422 on the field otherwise."""
    try:
        hours = int(str(DEFAULT_GRACE_HOURS if raw in (None, "") else raw).strip())
    except ValueError:
        hours = -1
    if not 0 <= hours <= MAX_GRACE_HOURS:
        raise InvalidInput(fields={"grace_hours": {"zh": f"旧密钥继续有效的时间应为 0 至 {MAX_GRACE_HOURS} 小时",
                                                   "en": f"the old secret's grace period is 0 to {MAX_GRACE_HOURS} hours"}})
    return hours


async def do_rotate_secret(ctx: TenantContext, keyring: KeyRing, actor: Principal, endpoint_id: str, *,
                           grace: int = DEFAULT_GRACE_HOURS) -> tuple[WebhookEndpoint, str]:
    """A new signing secret for the endpoint, in place (same address, events and delivery log), returned once.

    For ``grace`` hours the old secret still signs every delivery beside the new one (two signatures in the header),
    so a receiver keeps accepting deliveries until its owner has put the new secret in; 0 ends the old one at once.
    The change is guarded by the secret it replaces: of two rotations at the same moment one wins, the other is a 409
    (never two secrets shown where one does not work). Audited before it takes effect."""
    endpoint = await access_endpoint(ctx, endpoint_id)
    if not endpoint.active:
        raise Conflict({"zh": "推送地址已停用，不能更换密钥", "en": "the endpoint is disabled; its secret cannot be rotated"})
    secret = "whsec_" + secrets.token_urlsafe(32)
    sealed = await keyring.seal(ctx.tenant_id, f"webhook:{endpoint.id}", {"secret": secret})
    now = time.time()
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="exchange.webhook.rotated",
                          purpose="rotate a webhook signing secret", subject=str(endpoint.id),
                          query={"name": endpoint.name, "grace_hours": grace}, tenant_ids=[ctx.tenant_id])
    changes = {"secret_sealed": sealed, "previous_secret_sealed": endpoint.secret_sealed if grace else None,
               "previous_until": now + grace * 3600 if grace else None, "rotated_at": now,
               "rotated_by_name": actor.display_name or actor.username}
    if not await ctx.scope.repo(WebhookEndpoint).update_one({"_id": endpoint.id, "secret_sealed": endpoint.secret_sealed},
                                                            {"$set": changes}):
        raise Conflict({"zh": "密钥刚被别人更换过，请刷新后再试", "en": "someone else just rotated this secret; reload and try again"})
    return endpoint.model_copy(update=changes), secret


async def deliveries_of(ctx: TenantContext, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    return await ctx.scope.repo(WebhookDelivery).find({"endpoint_id": {"$eq": str(endpoint.id)}}) \
        .sort([("created_at", DESCENDING)]).limit(DELIVERY_LOG_PAGE).to_list()


# -- events -> deliveries ----------------------------------------------------------------------------------------


async def webhook_events(event, scope: TenantScope) -> list[tuple[str, dict]]:
    """The webhook events one domain event makes, each with its data (ids, numbers, states; no identity)."""
    if event.name in ("petition.submitted", "petition.moved", "petition.transitioned"):
        petition = await scope.repo(Petition).get(event.subject_id)
        if petition is None:
            return []  # moved on since, or not here: the tenant holding it now has its own event
        workflow = await petition_workflow(scope, petition)
        data = petition_data(petition, workflow)
        if event.name != "petition.transitioned":
            return [("petition.received", data)]
        transition = workflow.transition(event.data.get("transition", ""))
        reached = next((s for s in workflow.states if transition and s.key == transition.to), None)
        made = [("petition.state_changed", dict(data, transition=transition.key if transition else None,
                                                 transition_name=transition.name.model_dump() if transition else None))]
        if reached is not None and reached.terminal:
            made.append(("petition.closed", data))
        return made
    if event.name in ("supervision.issued", "supervision.answered"):
        sup = await scope.repo(Supervision).get(event.subject_id)
        if sup is None or sup.kind != "card":
            return []
        card_type = await scope.repo(CardType).find_one({"key": sup.type_key})
        data = {"card_id": str(sup.id), "type": sup.type_key, "type_name": card_type.name.model_dump() if card_type else None,
                "colour": card_type.colour if card_type else None, "state": sup.state.value, "document_no": sup.document_no,
                "issued_on": sup.issued_on, "response_due": sup.response_due,
                "petition_numbers": await _numbers(scope, sup.petition_ids)}
        return [("card.issued" if event.name == "supervision.issued" else "card.answered", data)]
    return []


def petition_data(petition: Petition, workflow) -> dict:
    """A petition in a payload: ids, number, state in the holding body's words, dates; never who sent it."""
    state = next((s for s in workflow.states if s.key == petition.state), None)
    return {"petition_id": str(petition.id), "number": petition.number, "state": petition.state,
            "state_name": state.name.model_dump() if state else {"zh": petition.state, "en": petition.state},
            "status": "closed" if state and state.terminal else "open", "channel": petition.channel.value,
            "form": petition.form_key, "kind": petition.kind, "received_at": petition.received_at.isoformat(),
            "due_on": petition.due_on, "overdue": petition.overdue}


async def _numbers(scope: TenantScope, petition_ids: list[str]) -> list[str]:
    out = []
    for pid in petition_ids[:20]:
        petition = await scope.repo(Petition).get(pid)
        if petition is not None:
            out.append(petition.number)
    return out


def payload(delivery_id: str, name: str, event, tenant, data: dict) -> str:
    return json.dumps({"id": delivery_id, "event": name, "event_name": EVENTS[name], "event_id": str(event.id),
                       "occurred_at": event.created_at.isoformat(),
                       "tenant": {"slug": tenant.slug, "name": tenant.name.model_dump()}, "data": data},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))


async def moved_away(event, sender: TenantContext, receiver: TenantContext) -> list[tuple[str, dict]]:
    """A case this body sent to another (转送, 交办): a state change here, naming where it went; its state there."""
    petition = await receiver.scope.repo(Petition).get(event.subject_id)
    if petition is None:
        return []
    mine = await petition_workflow(sender.scope, petition)
    transition = mine.transition(event.data.get("transition", ""))
    return [("petition.state_changed", {
        **petition_data(petition, await petition_workflow(receiver.scope, petition)),
        "transition": transition.key if transition else event.data.get("transition"),
        "transition_name": transition.name.model_dump() if transition else None,
        "moved_to": {"slug": receiver.tenant.slug, "name": receiver.tenant.name.model_dump()}})]


async def do_record_deliveries(event, ctx: TenantContext) -> list[str]:
    """One delivery per (event, endpoint subscribed to it), due now; idempotent: ids come from the event.

    A case moved to another body (``petition.moved``, whose tenant is the receiving body) is also a state change
    for the body that sent it, delivered to the sender's endpoints."""
    ids = []
    endpoints = await _active_endpoints(ctx)
    if endpoints:  # no endpoint, nothing read: most bodies have none
        ids += await _record(event, ctx, endpoints, await webhook_events(event, ctx.scope))
    sender_id = event.data.get("from_tenant")
    if event.name == "petition.moved" and sender_id and sender_id != ctx.tenant_id:
        sender = await get_tenant(sender_id)
        sender_ctx = TenantContext.of(sender) if sender is not None else None
        endpoints = await _active_endpoints(sender_ctx) if sender_ctx is not None else []
        if endpoints:
            ids += await _record(event, sender_ctx, endpoints, await moved_away(event, sender_ctx, ctx))
    return ids


async def _active_endpoints(ctx: TenantContext) -> list[WebhookEndpoint]:
    return await ctx.scope.repo(WebhookEndpoint).find({"active": True}).to_list()


async def _record(event, ctx: TenantContext, endpoints: list[WebhookEndpoint], made: list[tuple[str, dict]]) -> list[str]:
    ids = []
    for name, data in made:
        for endpoint in endpoints:
            if name not in endpoint.events:
                continue
            delivery_id = deterministic_id("webhook", str(endpoint.id), str(event.id), name)
            delivery = WebhookDelivery(id=delivery_id, tenant_id=ctx.tenant_id, endpoint_id=str(endpoint.id), event_id=str(event.id),
                                       event=name, body=payload(str(delivery_id), name, event, ctx.tenant, data),
                                       next_attempt_at=time.time())
            try:
                await ctx.scope.repo(WebhookDelivery).insert(delivery)
            except DuplicateKeyError:
                pass  # the event was handled before: the first delivery row stands
            ids.append(str(delivery_id))
    return ids


def delivery_view(delivery: WebhookDelivery) -> dict:
    return {"id": str(delivery.id), "tenant_id": delivery.tenant_id, "endpoint_id": delivery.endpoint_id, "event": delivery.event,
            "status": delivery.status, "attempts": [a.model_dump() for a in delivery.attempts],
            "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
            "delivered_at": delivery.delivered_at, "created_at": delivery.created_at.isoformat()}


def endpoint_view(endpoint: WebhookEndpoint) -> dict:
    previous_until = endpoint.previous_until if endpoint.previous_until and endpoint.previous_until > time.time() else None
    return {"id": str(endpoint.id), "tenant_id": endpoint.tenant_id, "name": endpoint.name, "url": endpoint.url,
            "events": endpoint.events, "active": endpoint.active, "created_at": endpoint.created_at.isoformat(),
            "created_by": endpoint.created_by_name, "rotated_at": endpoint.rotated_at, "rotated_by": endpoint.rotated_by_name or None,
            "previous_secret_valid_until": previous_until}
