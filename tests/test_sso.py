"""Single sign-on against a real OpenID provider: panva's oidc-provider (OpenID Certified), a small Node script in
tests/oidc_provider/ that this module starts (``npm ci`` there on first use). No stub of the protocol anywhere:
discovery, PKCE, the code exchange, signed ID tokens, JWKS, RP-initiated and back-channel logout are the provider's.

The browser is played by two clients: the Quart test client for our pages, httpx for the provider's (its login
screen is scripted: POST /interaction/<uid>/login with the user's id).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import REPO_ROOT, free_port, login_token
from tests.test_page_crawl import problems_in, read_page

PROVIDER_DIR = REPO_ROOT / "tests" / "oidc_provider"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
A, B = "siyang-edu", "bazhou"
SECRETS = {"xf-siyang": "siyang-client-secret-0123456789abcdef", "xf-bazhou": "bazhou-client-secret-0123456789abcdef",
           "xf-platform": "platform-client-secret-0123456789abcdef"}
USERS = {
    "wang": {"email": "wang@siyang.gov.cn", "email_verified": True, "groups": ["xf-handlers"], "name": "王办事", "preferred_username": "wang"},
    "li": {"email": "li@example.com", "email_verified": True, "groups": ["visitors"], "name": "李路人", "preferred_username": "li"},
    "zhao": {"email": "zhao@bazhou.gov.cn", "email_verified": True, "groups": ["bz-supervisors"], "name": "赵监督", "preferred_username": "zhao"},
    "org-reviewer": {"preferred_username": "org-reviewer", "name": "组织部审查员"},
    "bz-clerk": {"preferred_username": "handler", "email": "clerk@bazhou.gov.cn", "email_verified": True, "groups": [], "name": "巴州承办人"},
}

# tests/test_isolation.py runs these for both tenants, both ways round.
ISOLATION_CASES = {
    "sso.start": {"method": "GET", "path": "/sso/start", "kind": "public"},
    "sso.callback": {"method": "GET", "path": "/sso/callback", "kind": "public"},
    "sso.logged_out": {"method": "GET", "path": "/sso/logged-out", "kind": "public"},
    "sso.backchannel_logout": {"method": "POST", "path": "/sso/backchannel-logout", "kind": "public"},
    "sso.logout": {"method": "POST", "path": "/sso/logout", "kind": "collection", "form": True, "expect": (302,)},
    "sso_pages.sso_admin_page": {"method": "GET", "path": "/admin/sso", "kind": "collection"},
    "sso_pages.save_sso_submit": {"method": "POST", "path": "/admin/sso", "kind": "collection", "form": True, "expect": (422,)},
    "sso_pages.approve_rules_submit": {"method": "POST", "path": "/admin/sso/approve", "kind": "collection", "form": True, "expect": (409,)},
}

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm are needed")


def _client(client_id: str, path: str, port: int, alg: str) -> dict:
    base = "http://localhost"
    return {"client_id": client_id, "id_token_signed_response_alg": alg, "client_secret": SECRETS[client_id], "redirect_uris": [f"{base}{path}/callback"],
            "post_logout_redirect_uris": [f"{base}{path}/logged-out", f"{base}/platform/login"], "grant_types": ["authorization_code"], "response_types": ["code"],
            "backchannel_logout_uri": f"http://127.0.0.1:{port}/__test/backchannel-sink", "backchannel_logout_session_required": True}


class OidcProvider:
    """The Node process, restartable with a new signing key (rotation) or a wrong clock (expired tokens)."""

    def __init__(self, folder):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.kid = None

    async def start(self, *, kid: str) -> None:
        self.stop()
        # The first key RSA (RS256), rotated ones EC P-256 (ES256): both are allowed; EC keys are made at once.
        key = (RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True) if kid == "key-1"
               else ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True))
        config = {"issuer": self.issuer, "port": self.port, "keys": [key.as_dict(private=True)],
                  "id_token_ttl": 600, "users": USERS,
                  "clients": [_client(cid, path, self.port, key.alg) for cid, path in
                              (("xf-siyang", f"/t/{A}/sso"), ("xf-bazhou", f"/t/{B}/sso"), ("xf-platform", "/platform/sso"))]}
        path = self.folder / f"provider-{kid}.json"
        path.write_text(json.dumps(config))
        self.log = open(self.folder / f"provider-{kid}.log", "w")
        self.process = subprocess.Popen(["node", str(PROVIDER_DIR / "provider.mjs"), str(path)], stdout=self.log, stderr=subprocess.STDOUT)
        self.kid = kid
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    if (await http.get(self.issuer + "/.well-known/openid-configuration")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("the OpenID provider did not start: " + (self.folder / f"provider-{kid}.log").read_text())

    async def set_clock(self, seconds: int) -> None:
        async with httpx.AsyncClient(base_url=self.issuer) as http:
            assert (await http.post("/__test/clock", data={"seconds": str(seconds)})).status_code == 204

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="module")
async def provider(tmp_path_factory):
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300, capture_output=True)
    running = OidcProvider(tmp_path_factory.mktemp("oidc"))
    await running.start(kid="key-1")
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def sso_app(app, provider):
    """The app with http issuers on 127.0.0.1 allowed and the platform's provider set, for this module only; afterwards
    both tenants' sign-on settings are removed (password sign-in as before for every other test)."""
    from xinfang.sso.models import SsoConfig, SsoIdentity, SsoLogoutToken, SsoSession

    before = app.app.extensions["xinfang.settings"]
    app.app.extensions["xinfang.settings"] = dataclasses.replace(
        before, sso_allow_insecure_issuers=True, platform_oidc_issuer=provider.issuer, platform_oidc_client_id="xf-platform",
        platform_oidc_client_secret=SECRETS["xf-platform"])
    yield app
    app.app.extensions["xinfang.settings"] = before
    for model in (SsoConfig, SsoIdentity, SsoSession, SsoLogoutToken):
        await model.get_pymongo_collection().delete_many({})


def _config_form(provider, client_id: str, **extra) -> dict:
    form = {"enabled": "on", "issuer": provider.issuer, "client_id": client_id, "client_secret": SECRETS[client_id],
            "scopes": "openid email profile groups", "label_zh": "政务统一身份认证", "label_en": "Government sign-on", "local_passwords": "on",
            "match_claim": "", "account_domains": "", "rule_count": "3"}
    form.update(extra)
    return form


async def _provider_login(http: httpx.AsyncClient, authorize_url: str, user: str) -> str:
    """At the provider: follow the authorization request, sign in as ``user``; returns where it sends the browser back."""
    interaction = await http.get(authorize_url)
    assert interaction.status_code == 303, interaction.text
    uid = (await http.get(interaction.headers["location"])).json()["uid"]
    resumed = await http.post(f"/interaction/{uid}/login", data={"login": user})
    assert resumed.status_code == 303, resumed.text
    back = await http.get(resumed.headers["location"])
    assert back.status_code == 303, back.text
    return back.headers["location"]


async def _start(client, path: str) -> str:
    started = await client.get(path)
    assert started.status_code == 302, await started.get_data(as_text=True)
    return started.headers["location"]


async def sso_login(client, provider, slug: str | None, user: str, *, http: httpx.AsyncClient | None = None):
    """The whole sign-in in one go; returns our callback's answer."""
    base = f"/t/{slug}/sso" if slug else "/platform/sso"
    authorize = await _start(client, f"{base}/start")
    assert parse_qs(urlsplit(authorize).query)["code_challenge_method"] == ["S256"]
    own = http is None
    http = http or httpx.AsyncClient(base_url=provider.issuer)
    try:
        back = await _provider_login(http, authorize, user)
    finally:
        if own:
            await http.aclose()
    parts = urlsplit(back)
    assert parts.path == f"{base}/callback", back
    return await client.get(f"{parts.path}?{parts.query}")


async def _me(client, slug: str) -> tuple[int, dict | None]:
    response = await client.get(f"/t/{slug}/api/me")
    return response.status_code, (await response.get_json() if response.status_code == 200 else None)


async def _end_at_provider(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """The provider's logout page (its own form with its xsrf token), confirmed as the person would."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    return await http.post("/session/end/confirm", data={"xsrf": xsrf, "logout": "yes"})


async def test_sign_on_rules_rotation_expiry_and_logout(sso_app, provider, superuser):
    from xinfang.sso import oidc

    client, admin = sso_app.test_client(), await login_token(sso_app.test_client(), A, "admin")
    # The tenant admin sets up the provider on its page; the rule grants handler, which reads identities: it waits
    # for a second person (this office has one admin: a platform superuser approves; the proposer cannot).
    saved = await client.post(f"/t/{A}/admin/sso", headers=admin, form=_config_form(
        provider, "xf-siyang", account_domains="siyang.gov.cn", rule_claim_1="groups", rule_value_1="xf-handlers", rule_role_1="handler"))
    assert saved.status_code == 200 and "须由第二人批准" in await saved.get_data(as_text=True)
    page = await (await client.get(f"/t/{A}/admin/sso", headers=admin)).get_data(as_text=True)
    assert 'id="proposed"' in page and SECRETS["xf-siyang"] not in page  # the secret is never shown again
    own = await client.post(f"/t/{A}/admin/sso/approve", headers=admin, form={})
    assert own.status_code == 403
    # Before approval nobody has a rule: wang's verified e-mail is in the domain, but no rule gives a role -> refused.
    refused = await sso_login(client, provider, A, "wang")
    assert refused.status_code == 403 and "没有与您对应的账号" in await refused.get_data(as_text=True)
    approved = await client.post(f"/api/platform/tenants/{A}/sso/approve-rules", headers=superuser)
    assert approved.status_code == 200, await approved.get_data(as_text=True)

    # 1. A login with a role mapped by rule: the same session a password login opens, handler and nothing else.
    login_page = await (await client.get(f"/t/{A}/staff/login")).get_data(as_text=True)
    assert 'id="sso-login"' in login_page and "政务统一身份认证" in login_page and 'name="password"' in login_page
    signed_in = await sso_login(client, provider, A, "wang")
    assert signed_in.status_code == 302, await signed_in.get_data(as_text=True)
    status, me = await _me(client, A)
    assert status == 200 and me["account"]["username"] == "wang" and me["account"]["roles"] == ["handler"]
    assert "petitions.identity.read" in me["permissions"] and "accounts.manage" not in me["permissions"]
    # ... and nowhere else: tenant B does not know this session.
    assert (await client.get(f"/t/{B}/api/me")).status_code in (401, 403)

    # 2. A user no rule maps is refused with a page in words (the page's language: Chinese first), and gets no session.
    stranger = sso_app.test_client()
    refused = await sso_login(stranger, provider, A, "li")
    text = await refused.get_data(as_text=True)
    assert refused.status_code == 403 and "没有与您对应的账号" in text
    assert (await _me(stranger, A))[0] == 401

    # 3. The audience: an ID token the provider issued to another client (tenant B's) is refused by tenant A's checks.
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        flow = oidc.new_flow()
        b_client = AsyncOAuth2Client("xf-bazhou", SECRETS["xf-bazhou"], scope="openid", redirect_uri=f"http://localhost/t/{B}/sso/callback",
                                     code_challenge_method="S256")
        url, _ = b_client.create_authorization_url(f"{provider.issuer}/auth", state=flow["state"], code_verifier=flow["verifier"], nonce=flow["nonce"])
        code = parse_qs(urlsplit(await _provider_login(http, url, "wang")).query)["code"][0]
        token = await b_client.fetch_token(f"{provider.issuer}/token", code=code, code_verifier=flow["verifier"])
        await b_client.aclose()
    a_side = oidc.Provider(provider.issuer, "xf-siyang", SECRETS["xf-siyang"], ("openid",), True)
    with pytest.raises(oidc.SsoRefused) as wrong_audience:
        await oidc.validate_id_token(a_side, token["id_token"], nonce=flow["nonce"])
    assert "audience" in wrong_audience.value.message["en"]
    # ... and a fresh code issued to tenant B's client, brought to tenant A's callback with A's own state: the provider
    # refuses to give it to A's client, and nobody is signed in.
    a_browser = sso_app.test_client()
    a_state = parse_qs(urlsplit(await _start(a_browser, f"/t/{A}/sso/start")).query)["state"][0]
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        other_code = parse_qs(urlsplit(await _provider_login(http, url.replace(flow["state"], "s2"), "wang")).query)["code"][0]
    mixed = await a_browser.get(f"/t/{A}/sso/callback?code={other_code}&state={a_state}&iss={provider.issuer}")
    assert mixed.status_code == 403 and "不是签发给本平台的" in await mixed.get_data(as_text=True), await mixed.get_data(as_text=True)
    assert (await _me(a_browser, A))[0] == 401

    # 4. A rotated signing key: the provider restarts with a new key; the first token naming it makes us fetch the JWKS again.
    await provider.start(kid="key-2")
    # A real rotation comes long after our last fetch of the keys; here the audience check above fetched them a moment
    # ago, and a kid we do not know fetches them again only past the floor (a quiet machine got here within it).
    await asyncio.sleep(oidc.JWKS_REFRESH_FLOOR_SECONDS)
    rotated = sso_app.test_client()
    assert (await sso_login(rotated, provider, A, "wang")).status_code == 302
    assert (await _me(rotated, A))[0] == 200
    assert {k.kid for k in oidc._jwks[provider.issuer][1].keys} == {"key-2"}

    # 5. An expired ID token: the provider's clock is 20 minutes slow, so the token it signs (10 minutes) expired before it arrived.
    await provider.set_clock(-1200)
    late = sso_app.test_client()
    expired = await sso_login(late, provider, A, "wang")
    assert expired.status_code == 403 and "已过期" in await expired.get_data(as_text=True), await expired.get_data(as_text=True)
    assert (await _me(late, A))[0] == 401
    await provider.set_clock(0)

    # 6. RP-initiated logout: the session is gone here at once, and the provider's end_session accepts our hint and
    # sends the browser back to our logged-out page.
    browser = sso_app.test_client()
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        assert (await sso_login(browser, provider, A, "wang", http=http)).status_code == 302
        inbox = await (await browser.get(f"/t/{A}/staff/")).get_data(as_text=True)
        out = await browser.post(f"/t/{A}/sso/logout", form={"csrf_token": CSRF.search(inbox).group(1)})
        assert out.status_code == 302 and out.headers["location"].startswith(f"{provider.issuer}/session/end?")
        assert "id_token_hint=" in out.headers["location"]
        assert (await _me(browser, A))[0] == 401
        ended = await _end_at_provider(http, out.headers["location"])
        assert ended.status_code == 303 and ended.headers["location"] == f"http://localhost/t/{A}/sso/logged-out"
        # The provider's own session is over too: a new sign-in asks for the login again.
        again = await http.get(await _start(sso_app.test_client(), f"/t/{A}/sso/start"))
        assert again.status_code == 303 and again.headers["location"].startswith("/interaction/")

    # 7. Back-channel logout: the person logs out at the provider (not here); the provider's signed logout token ends our session.
    browser = sso_app.test_client()
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        assert (await sso_login(browser, provider, A, "wang", http=http)).status_code == 302
        assert (await _me(browser, A))[0] == 200
        seen = len((await http.get("/__test/backchannel-tokens")).json())
        assert (await _end_at_provider(http, "/session/end")).status_code == 303
        tokens = (await http.get("/__test/backchannel-tokens")).json()
        assert len(tokens) == seen + 1
    forged = await browser.post(f"/t/{A}/sso/backchannel-logout", form={"logout_token": tokens[-1][:-4] + "AAAA"})
    assert forged.status_code == 400 and (await _me(browser, A))[0] == 200
    assert (await browser.post(f"/t/{A}/sso/backchannel-logout", form={"logout_token": tokens[-1]})).status_code == 200
    assert (await _me(browser, A))[0] == 401
    replayed = await browser.post(f"/t/{A}/sso/backchannel-logout", form={"logout_token": tokens[-1]})
    assert replayed.status_code == 400 and "used before" in (await replayed.get_json())["error"]["message"]["en"]

    # 8. Password sign-in switched off: only the button; the API refuses passwords; a superuser's break-glass restores them.
    off = await client.post(f"/t/{A}/admin/sso", headers=admin, form=_config_form(
        provider, "xf-siyang", local_passwords="", client_secret="", account_domains="siyang.gov.cn",
        rule_claim_1="groups", rule_value_1="xf-handlers", rule_role_1="handler"))
    assert off.status_code == 200, await off.get_data(as_text=True)
    login_page = await (await client.get(f"/t/{A}/staff/login")).get_data(as_text=True)
    assert 'id="sso-login"' in login_page and 'name="password"' not in login_page
    password = await client.post(f"/t/{A}/api/tokens", json={"username": "handler", "password": "test-password-0123"})
    assert password.status_code == 403 and "关闭密码登录" in (await password.get_json())["error"]["message"]["zh"]
    glass = await client.post(f"/api/platform/tenants/{A}/sso/local-passwords", headers=superuser)
    assert glass.status_code == 200 and (await glass.get_json())["local_passwords"] is True
    assert (await client.post(f"/t/{A}/api/tokens", json={"username": "handler", "password": "test-password-0123"})).status_code == 200


async def test_one_tenants_sign_on_never_signs_anyone_into_another(sso_app, provider, superuser):
    """Tenant B's own provider client and rules; a flow started at A cannot finish at B, nor B's at A."""
    client = sso_app.test_client()
    admin_b = await login_token(client, B, "admin")
    saved = await client.post(f"/t/{B}/admin/sso", headers=admin_b, form=_config_form(
        provider, "xf-bazhou", account_domains="bazhou.gov.cn", match_claim="preferred_username", rule_claim_1="groups",
        rule_value_1="bz-supervisors", rule_role_1="village_supervisor"))
    assert saved.status_code == 200 and "已保存" in await saved.get_data(as_text=True)
    admin_a = await login_token(client, A, "admin")
    assert (await client.post(f"/t/{A}/admin/sso", headers=admin_a, form=_config_form(
        provider, "xf-siyang", account_domains="siyang.gov.cn"))).status_code == 200
    # zhao signs in at B (a role one admin grants alone: in force at once) and is nobody at A.
    b_browser = sso_app.test_client()
    assert (await sso_login(b_browser, provider, B, "zhao")).status_code == 302
    status, me = await _me(b_browser, B)
    assert status == 200 and me["account"]["roles"] == ["village_supervisor"]
    assert (await b_browser.get(f"/t/{A}/api/me")).status_code in (401, 403)
    # An existing account matched by the configured claim (preferred_username = its username): it keeps the roles
    # its admin granted, and no rule adds any.
    clerk = sso_app.test_client()
    assert (await sso_login(clerk, provider, B, "bz-clerk")).status_code == 302
    status, me = await _me(clerk, B)
    assert status == 200 and me["account"]["username"] == "handler" and "handler" in me["account"]["roles"]
    assert "village_supervisor" not in me["account"]["roles"]
    # A flow started at A, its answer delivered to B's callback (same browser): refused, no session at B.
    browser = sso_app.test_client()
    authorize = await _start(browser, f"/t/{A}/sso/start")
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        back = urlsplit(await _provider_login(http, authorize, "zhao"))
    wrong = await browser.get(f"/t/{B}/sso/callback?{back.query}")
    assert wrong.status_code == 403 and (await _me(browser, B))[0] == 401 and (await _me(browser, A))[0] == 401
    # zhao at A's own callback: the domain and rules are A's, and zhao matches neither.
    authorize = await _start(browser, f"/t/{A}/sso/start")
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        back = urlsplit(await _provider_login(http, authorize, "zhao"))
    assert (await browser.get(f"{back.path}?{back.query}")).status_code == 403
    # Tenant B's admin page shows B's settings only.
    page = await (await client.get(f"/t/{B}/admin/sso", headers=admin_b)).get_data(as_text=True)
    assert "xf-bazhou" in page and "xf-siyang" not in page
    for lang in ("zh", "en"):  # words, not codes (as the page crawler reads pages)
        shown = await (await client.get(f"/t/{B}/admin/sso?lang={lang}", headers=admin_b)).get_data(as_text=True)
        assert problems_in(read_page(shown)[0], lang) == [], lang
    # A superuser signs in through the platform's provider (an existing superuser only).
    platform = sso_app.test_client()
    async with httpx.AsyncClient(base_url=provider.issuer) as http:
        assert (await sso_login(platform, provider, None, "org-reviewer", http=http)).status_code == 302
        assert (await platform.get("/api/platform/me")).status_code == 200
        reviews = await (await platform.get("/platform/reviews")).get_data(as_text=True)
        out = await platform.post("/platform/logout", form={"csrf_token": CSRF.search(reviews).group(1)})
        assert out.status_code == 302 and out.headers["location"].startswith(f"{provider.issuer}/session/end?")
        assert (await platform.get("/api/platform/me")).status_code == 401
        ended = await _end_at_provider(http, out.headers["location"])
        assert ended.status_code == 303 and ended.headers["location"] == "http://localhost/platform/login"
    nobody = sso_app.test_client()
    assert (await sso_login(nobody, provider, None, "wang")).status_code == 403
