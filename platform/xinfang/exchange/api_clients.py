"""API clients: registered by a tenant admin, a key shown once (only its SHA-256 is kept), revocable, each with
its own rate limit (counted in the store like every limit: ``xinfang.ratelimit``, so replicas count together)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from pymongo import DESCENDING

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..ratelimit import hit
from ..store.documents import utcnow
from ..tenancy.context import TenantContext
from .models import SCOPES, ApiClient

KEY_PREFIX = "xf_"
_KEY = re.compile(r"xf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
MIN_RATE, MAX_RATE, DEFAULT_RATE = 1, 6000, 60
MAX_NAME = 60
MAX_CLIENTS = 200
# Wrong keys from one address, per tenant, in ten minutes: a key has 256 random bits, this only keeps noise down.
BAD_KEYS_PER_ADDRESS = 30
BAD_KEY_WINDOW = 600


class BadApiKey(Forbidden):
    code = "invalid_api_key"
    message = {"zh": "缺少或无效的 api_key，不能继续", "en": "missing or invalid api_key; cannot proceed"}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """(the whole key, its public prefix)."""
    prefix = f"{KEY_PREFIX}{secrets.token_hex(4)}"
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def _clean(name: str, scopes: list[str], rate: int | None) -> tuple[str, list[str], int]:
    problems = {}
    name = " ".join((name or "").split())
    if not name:
        problems["name"] = {"zh": "请填写名称（如：市长信箱）", "en": "give it a name (e.g. the mayor's mailbox)"}
    elif len(name) > MAX_NAME:
        problems["name"] = {"zh": f"名称最多 {MAX_NAME} 个字", "en": f"at most {MAX_NAME} characters"}
    scopes = sorted(set(scopes or []))
    if not scopes:
        problems["scopes"] = {"zh": "请至少选择一项权限", "en": "choose at least one scope"}
    elif any(s not in SCOPES for s in scopes):
        problems["scopes"] = {"zh": "没有这项权限", "en": "unknown scope"}
    rate = DEFAULT_RATE if rate is None else rate
    if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        problems["rate_limit_per_minute"] = {"zh": f"每分钟请求上限应为 {MIN_RATE} 至 {MAX_RATE}", "en": f"requests per minute must be {MIN_RATE} to {MAX_RATE}"}
    if problems:
        raise InvalidInput(fields=problems)
    return name, scopes, rate


async def list_clients(ctx: TenantContext) -> list[ApiClient]:
    return await ctx.scope.repo(ApiClient).find({}).sort([("created_at", DESCENDING)]).limit(MAX_CLIENTS).to_list()


async def access_client(ctx: TenantContext, client_id: str) -> ApiClient:
    client = await ctx.scope.repo(ApiClient).get(client_id)
    if client is None:
        raise NotFound({"zh": "没有这个接口客户端", "en": "no such API client"})
    return client


async def do_register_client(ctx: TenantContext, actor: Principal, *, name: str, scopes: list[str],
                             rate_limit_per_minute: int | None = None) -> tuple[ApiClient, str]:
    """A new client and its key (returned once, never stored in clear)."""
    name, scopes, rate = _clean(name, scopes, rate_limit_per_minute)
    if await ctx.scope.repo(ApiClient).count({"active": True}) >= MAX_CLIENTS:
        raise Conflict({"zh": f"每个单位最多 {MAX_CLIENTS} 个接口客户端", "en": f"at most {MAX_CLIENTS} API clients per body"})
    key, prefix = new_key()
    client = ApiClient(tenant_id=ctx.tenant_id, name=name, scopes=scopes, key_prefix=prefix, key_hash=key_hash(key),
                       rate_limit_per_minute=rate, created_by=actor.account_id, created_by_name=actor.display_name)
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="exchange.client.created",
                          purpose="register an API client", subject=prefix, query={"name": name, "scopes": scopes, "rate": rate},
                          tenant_ids=[ctx.tenant_id])
    await ctx.scope.repo(ApiClient).insert(client)
    return client, key


async def do_revoke_client(ctx: TenantContext, actor: Principal, client_id: str) -> ApiClient:
    client = await access_client(ctx, client_id)
    if not client.active:
        return client
    await do_append_audit(actor_id=actor.account_id, actor_username=actor.username, action="exchange.client.revoked",
                          purpose="revoke an API client's key", subject=client.key_prefix, tenant_ids=[ctx.tenant_id])
    client.active, client.revoked_at, client.revoked_by_name = False, utcnow(), actor.display_name
    await ctx.scope.repo(ApiClient).update_one({"_id": client.id}, {"$set": {
        "active": False, "revoked_at": client.revoked_at, "revoked_by_name": actor.display_name}})
    return client


async def client_for_key(ctx: TenantContext, key: str | None, scope: str, address: str) -> ApiClient:
    """The active client of THIS tenant holding ``key`` with ``scope``, its call counted against its own limit.

    Anything else is the same 403 (a key of another tenant, a revoked one, a made-up one); wrong keys are
    counted per address first, so hammering with guesses is refused (429) before any lookup."""
    if not key or not _KEY.fullmatch(key):
        await hit(f"exchange-bad-key:{ctx.tenant_id}:{address}", limit=BAD_KEYS_PER_ADDRESS, window_seconds=BAD_KEY_WINDOW)
        raise BadApiKey()
    client = await ctx.scope.repo(ApiClient).find_one({"key_hash": {"$eq": key_hash(key)}})
    if client is None or not client.active or scope not in client.scopes:
        await hit(f"exchange-bad-key:{ctx.tenant_id}:{address}", limit=BAD_KEYS_PER_ADDRESS, window_seconds=BAD_KEY_WINDOW)
        raise BadApiKey()
    await hit(f"exchange-client:{client.id}", limit=client.rate_limit_per_minute, window_seconds=60)
    await ctx.scope.repo(ApiClient).update_one({"_id": client.id}, {"$set": {"last_used_at": time.time()}})
    return client


def client_view(client: ApiClient) -> dict:
    return {"id": str(client.id), "tenant_id": client.tenant_id, "name": client.name, "scopes": client.scopes,
            "key_prefix": client.key_prefix, "rate_limit_per_minute": client.rate_limit_per_minute, "active": client.active,
            "created_at": client.created_at.isoformat(), "created_by": client.created_by_name,
            "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None,
            "last_used_at": client.last_used_at}
