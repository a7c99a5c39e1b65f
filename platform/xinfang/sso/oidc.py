"""The relying party's side of OpenID Connect: discovery, the authorization request (code + PKCE, state, nonce),
the code exchange (authlib's AsyncOAuth2Client; authlib has no Quart integration), and the checks of every token
the provider sends (joserfc: fixed asymmetric algorithms, issuer, audience, expiry, nonce; a signing key whose
``kid`` is unknown makes us fetch the provider's JWKS again once, which is how key rotation is followed).

Nothing here reads or writes the store: ``service.py`` decides who the person is; this module only says whether
the provider really said it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import secrets
import socket
import time
from urllib.parse import urlencode, urlsplit

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.base_client import OAuthError
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from ..errors import DomainError, InvalidInput, Message

# Asymmetric only, fixed: "none" and HS256 (signed with the client secret we hold ourselves) are refused.
ALGORITHMS = ["RS256", "PS256", "ES256"]
LEEWAY_SECONDS = 30  # clocks differ a little between us and the provider; an ID token is still fresh enough
DISCOVERY_TTL_SECONDS = 3600
JWKS_REFRESH_FLOOR_SECONDS = 1.0  # an unknown kid fetches the JWKS again, but not more than once a second per issuer
HTTP_TIMEOUT = httpx2.Timeout(5.0)
MAX_DOCUMENT = 256 * 1024
LOGOUT_TOKEN_MAX_AGE_SECONDS = 12 * 3600  # older logout tokens are refused (the used ones are remembered 24 h: service.py)
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class SsoRefused(DomainError):
    """The provider's answer cannot be trusted, or the person may not come in: a page in Chinese and English."""

    status = 403
    code = "sso_refused"
    message = {"zh": "统一身份认证登录失败", "en": "single sign-on failed"}


class ProviderUnreachable(DomainError):
    status = 502
    code = "sso_provider_unreachable"
    message = {"zh": "无法连接身份认证服务，请稍后再试或联系单位管理员", "en": "the sign-on provider cannot be reached; try later or ask your admin"}


def refused(zh: str, en: str) -> SsoRefused:
    return SsoRefused({"zh": zh, "en": en})


@dataclasses.dataclass(frozen=True)
class Provider:
    """What the relying party needs of one provider configuration (a tenant's, or the platform's)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    allow_insecure: bool = False


def check_issuer_url(url: str, *, allow_insecure: bool, field: str = "issuer") -> str:
    """An https URL naming a public host (http and private addresses only where the operator allows them)."""
    url = (url or "").strip().rstrip("/")
    problem: Message | None = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts, problem = None, {"zh": "网址格式不正确", "en": "not a valid URL"}
    if problem is None:
        if parts.scheme not in (("https", "http") if allow_insecure else ("https",)) or not parts.hostname:
            problem = {"zh": "须以 https:// 开头并写明主机", "en": "must start with https:// and name a host"}
        elif parts.username or parts.password or parts.query or parts.fragment:
            problem = {"zh": "网址中不能包含用户名、密码、查询参数或锚点", "en": "no user name, password, query or fragment in the URL"}
        elif len(url) > 300:
            problem = {"zh": "网址最多 300 个字符", "en": "at most 300 characters"}
    if problem:
        raise InvalidInput(fields={field: problem})
    return url


def _public_address(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return True  # the request itself will fail and say so
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return False
    return True


_discovery: dict[str, tuple[float, dict]] = {}
_jwks: dict[str, tuple[float, KeySet]] = {}
_locks: dict[str, asyncio.Lock] = {}


def _lock(issuer: str) -> asyncio.Lock:
    return _locks.setdefault(issuer, asyncio.Lock())


async def _get_json(url: str, provider: Provider) -> dict:
    host = urlsplit(url).hostname or ""
    if not provider.allow_insecure and (urlsplit(url).scheme != "https" or not await asyncio.to_thread(_public_address, host)):
        raise ProviderUnreachable({"zh": "身份认证服务的地址不是公网 https 地址", "en": "the provider's address is not a public https address"})
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
    except httpx2.HTTPError:
        raise ProviderUnreachable() from None
    if response.status_code != 200 or len(response.content) > MAX_DOCUMENT:
        raise ProviderUnreachable()
    try:
        data = response.json()
    except ValueError:
        raise ProviderUnreachable() from None
    if not isinstance(data, dict):
        raise ProviderUnreachable()
    return data


async def discover(provider: Provider, *, fresh: bool = False) -> dict:
    """The provider's metadata (cached an hour); its ``issuer`` must be exactly the configured one."""
    cached = _discovery.get(provider.issuer)
    if cached and not fresh and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    meta = await _get_json(provider.issuer + "/.well-known/openid-configuration", provider)
    if meta.get("issuer") != provider.issuer:
        raise refused("身份认证服务声明的签发者与配置不符", "the provider names another issuer than the one configured")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(name), str):
            raise refused("身份认证服务的配置信息不完整", f"the provider's metadata lacks {name}")
    _discovery[provider.issuer] = (time.monotonic(), meta)
    return meta


async def _key_set(provider: Provider, meta: dict, kid: str | None) -> KeySet:
    """The provider's keys; fetched again when the token names a kid we do not hold (the provider rotated)."""
    async with _lock(provider.issuer):
        cached = _jwks.get(provider.issuer)
        known = cached is not None and (kid is None or any(k.kid == kid for k in cached[1].keys))
        if known:
            return cached[1]
        if cached and time.monotonic() - cached[0] < JWKS_REFRESH_FLOOR_SECONDS:
            return cached[1]  # asked again a moment ago: a token naming keys that do not exist cannot make us hammer it
        try:
            keys = KeySet.import_key_set(await _get_json(meta["jwks_uri"], provider))
        except (JoseError, ValueError, TypeError):
            raise refused("身份认证服务的签名密钥无法读取", "the provider's signing keys cannot be read") from None
        _jwks[provider.issuer] = (time.monotonic(), keys)
        return keys


def new_flow() -> dict:
    """What the browser keeps (in its signed session cookie) between leaving for the provider and coming back."""
    return {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": secrets.token_urlsafe(48),
            "at": int(time.time())}


def _client(provider: Provider, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(provider.client_id, provider.client_secret, scope=" ".join(provider.scopes), redirect_uri=redirect_uri,
                             code_challenge_method="S256", timeout=HTTP_TIMEOUT, token_endpoint_auth_method="client_secret_basic")


async def authorization_url(provider: Provider, redirect_uri: str, flow: dict) -> str:
    meta = await discover(provider)
    async with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=flow["state"], code_verifier=flow["verifier"],
                                                 nonce=flow["nonce"])
    return url


async def exchange_code(provider: Provider, redirect_uri: str, flow: dict, code: str) -> tuple[dict, str]:
    """The code for tokens (PKCE verifier sent), the ID token checked; returns (claims, raw ID token). Claims the
    provider gives at its userinfo endpoint are added when its ``sub`` is the ID token's."""
    meta = await discover(provider)
    if not provider.allow_insecure and not meta["token_endpoint"].startswith("https://"):
        raise ProviderUnreachable()
    try:
        async with _client(provider, redirect_uri) as client:
            token = await client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                             code_verifier=flow["verifier"])
    except OAuthError as error:
        raise refused("身份认证服务拒绝了本次登录（授权码无效、已被使用或不是签发给本平台的）",
                      f"the provider refused the code (invalid, used, or issued to another client: {error.error})") from None
    except httpx2.HTTPError:
        raise ProviderUnreachable() from None
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise refused("身份认证服务没有返回身份令牌", "the provider returned no ID token")
    claims = await validate_id_token(provider, raw, nonce=flow["nonce"])
    userinfo_url = meta.get("userinfo_endpoint")
    if isinstance(userinfo_url, str) and token.get("access_token"):
        claims = {**await _userinfo(provider, userinfo_url, token["access_token"], claims["sub"]), **claims}
    return claims, raw


async def _userinfo(provider: Provider, url: str, access_token: str, sub: str) -> dict:
    if not provider.allow_insecure and not url.startswith("https://"):
        return {}
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        info = response.json() if response.status_code == 200 else {}
    except (httpx2.HTTPError, ValueError):
        return {}
    # Another subject's answer (a mix-up) is ignored rather than merged into this person's claims.
    return info if isinstance(info, dict) and info.get("sub") == sub else {}


def _header(raw: str) -> dict:
    try:
        return jws.extract_compact(raw.encode()).headers()
    except (JoseError, ValueError, TypeError):
        raise refused("身份令牌格式不正确", "the ID token is malformed") from None


async def _verified(provider: Provider, raw: str) -> dict:
    """The token's claims once its signature checks out under the provider's current keys."""
    header = _header(raw)
    if header.get("alg") not in ALGORITHMS:
        raise refused("身份令牌使用了不允许的签名算法", f"the token is signed with an algorithm not allowed here ({header.get('alg')})")
    meta = await discover(provider)
    keys = await _key_set(provider, meta, header.get("kid"))
    try:
        return jwt.decode(raw, keys, algorithms=ALGORITHMS).claims
    except JoseError:
        raise refused("身份令牌的签名无效", "the token's signature does not verify under the provider's keys") from None


def _check(claims: dict, registry: jwt.JWTClaimsRegistry, what: str) -> None:
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise refused(f"{what}已过期（请检查身份认证服务器的时间）", "the token has expired (check the provider's clock)") from None
    except JoseError as error:
        field = getattr(error, "claim", None) or str(error)
        if "aud" in str(field):
            raise refused(f"{what}不是签发给本平台的（受众不符）", "the token was issued to another client (audience)") from None
        if "iss" in str(field):
            raise refused(f"{what}的签发者与配置不符", "the token's issuer is not the configured provider") from None
        raise refused(f"{what}的内容不符合要求", f"the token's claims do not check out ({error})") from None


async def validate_id_token(provider: Provider, raw: str, *, nonce: str) -> dict:
    """An ID token's claims, or SsoRefused: signed by the provider with an allowed algorithm, from this issuer, for
    this client (and, with several audiences, authorised for it), not expired, with the nonce we sent."""
    claims = await _verified(provider, raw)
    _check(claims, jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS, iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True}, nonce={"essential": True, "value": nonce},
    ), "身份令牌")
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audience) > 1 and claims.get("azp") != provider.client_id:
        raise refused("身份令牌不是签发给本平台的（受众不符）", "the token was issued to another client (azp)")
    return claims


async def validate_logout_token(provider: Provider, raw: str) -> dict:
    """A back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6)."""
    claims = await _verified(provider, raw)
    _check(claims, jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS, iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
        iat={"essential": True}, jti={"essential": True},
    ), "注销令牌")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events or "nonce" in claims:
        raise refused("注销令牌格式不正确", "not a back-channel logout token")
    if time.time() - claims["iat"] > LOGOUT_TOKEN_MAX_AGE_SECONDS:
        raise refused("注销令牌签发时间过早", "the logout token is too old")
    if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
        raise refused("注销令牌没有指明会话或用户", "the logout token names neither a session nor a subject")
    return claims


async def end_session_url(provider: Provider, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """The provider's end_session_endpoint with the hint and where to come back (RP-initiated logout), if it has one."""
    try:
        meta = await discover(provider)
    except DomainError:
        return None
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri, "client_id": provider.client_id})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def forget_provider(issuer: str) -> None:
    """Drop what is cached about an issuer (its configuration changed)."""
    _discovery.pop(issuer, None)
    _jwks.pop(issuer, None)


def claims_summary(claims: dict) -> str:
    """The claims as the audit record keeps them: names only, never values (no personal data in the chain)."""
    return json.dumps(sorted(claims))
