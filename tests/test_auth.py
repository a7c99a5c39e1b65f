"""Identity: sessions with CSRF, bearer JWTs, roles and permissions, superusers."""

import time

from joserfc import jwt
from joserfc.jwk import OctKey

from tests.conftest import PASSWORD, login_token
from tests.staffing import approve_as_superuser


async def test_wrong_password_and_unknown_user_get_the_same_answer(client, tenants):
    wrong = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": "admin", "password": "wrong-password"})
    unknown = await client.post(f"/t/{tenants.A}/api/tokens", json={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert await wrong.get_json() == await unknown.get_json()
    body = await wrong.get_json()
    assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]


async def test_a_user_of_one_tenant_cannot_log_in_at_another(client, tenants):
    # 'registrar' exists only in 泗阳; 'admin' exists in both with the same bootstrap password,
    # but they are two accounts: logging in at B gives B's admin, never A's.
    response = await client.post(f"/t/{tenants.B}/api/tokens", json={"username": "registrar", "password": PASSWORD})
    assert response.status_code == 401
    headers_b = await login_token(client, tenants.B, "admin")
    me = await (await client.get(f"/t/{tenants.B}/api/me", headers=headers_b)).get_json()
    tenant_b = await (await client.get(f"/t/{tenants.B}/api/tenant")).get_json()
    assert me["account"]["tenant_id"] == tenant_b["id"]


async def test_bad_login_bodies_get_field_messages_not_500(client, tenants):
    for body in [None, [], {"username": ""}, {"username": "a", "password": "b", "extra": 1}]:
        response = await client.post(f"/t/{tenants.A}/api/tokens", json=body)
        assert response.status_code == 422, body
        error = (await response.get_json())["error"]
        assert error["code"] == "invalid_input"
        assert all("zh" in m and "en" in m for m in error.get("fields", {}).values())


async def test_a_token_is_bound_to_its_tenant(client, tenants, admin_a):
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=admin_a)).status_code == 200
    assert (await client.get(f"/t/{tenants.B}/api/me", headers=admin_a)).status_code == 403


async def test_tokens_with_other_algorithms_or_keys_or_expired_are_refused(app, client, tenants, settings):
    me = await (await client.get(f"/t/{tenants.A}/api/me", headers=await login_token(client, tenants.A, "admin"))).get_json()
    account_id, tenant_id = me["account"]["id"], me["account"]["tenant_id"]
    now = int(time.time())
    claims = {"iss": "xinfang", "sub": account_id, "tid": tenant_id, "iat": now, "exp": now + 600}
    forged = [
        jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(b"another-secret-key-of-enough-length")),
        jwt.encode({"alg": "HS512"}, claims, OctKey.import_key(settings.secret_key.encode()), algorithms=["HS512"]),
        jwt.encode({"alg": "HS256"}, dict(claims, exp=now - 10), OctKey.import_key(settings.secret_key.encode())),
        jwt.encode({"alg": "HS256"}, dict(claims, iss="someone-else"), OctKey.import_key(settings.secret_key.encode())),
        "eyJhbGciOiJub25lIn0." + jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(settings.secret_key.encode())).split(".")[1] + ".",
    ]
    for token in forged:
        response = await client.get(f"/t/{tenants.A}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    # Well signed with the right key but never issued (no live record behind its jti): refused as well.
    for claims_of_a_stranger in (claims, dict(claims, jti="made-up-jti")):
        never_issued = jwt.encode({"alg": "HS256"}, claims_of_a_stranger, OctKey.import_key(settings.secret_key.encode()))
        assert (await client.get(f"/t/{tenants.A}/api/me", headers={"Authorization": f"Bearer {never_issued}"})).status_code == 401
    issued = await login_token(client, tenants.A, "admin")
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=issued)).status_code == 200


async def test_session_login_requires_csrf_for_changes(app, tenants):
    browser = app.test_client()
    login = await browser.post(f"/t/{tenants.A}/api/session", json={"username": "admin", "password": PASSWORD})
    assert login.status_code == 200
    csrf = (await login.get_json())["csrf_token"]
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 200
    new_account = {"username": "csrf-check", "display_name": "CSRF", "roles": ["handler"], "password": "long-enough-pw"}
    refused = await browser.post(f"/t/{tenants.A}/api/accounts", json=new_account)
    assert refused.status_code == 403 and (await refused.get_json())["error"]["code"] == "csrf_failed"
    wrong = await browser.post(f"/t/{tenants.A}/api/accounts", json=new_account, headers={"X-CSRF-Token": "x" + csrf})
    assert wrong.status_code == 403
    accepted = await browser.post(f"/t/{tenants.A}/api/accounts", json=new_account, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201, await accepted.get_data(as_text=True)
    # Logging in again over a live session needs no token (the login route is public).
    again = await browser.post(f"/t/{tenants.A}/api/session", json={"username": "admin", "password": PASSWORD})
    assert again.status_code == 200
    csrf = (await again.get_json())["csrf_token"]
    assert (await browser.delete(f"/t/{tenants.A}/api/session")).status_code == 403
    logout = await browser.delete(f"/t/{tenants.A}/api/session", headers={"X-CSRF-Token": csrf})
    assert logout.status_code == 200
    assert (await browser.get(f"/t/{tenants.A}/api/me")).status_code == 401


async def test_roles_grant_permissions(client, tenants):
    handler = await login_token(client, tenants.A, "handler")
    auditor = await login_token(client, tenants.A, "auditor")
    assert (await client.get(f"/t/{tenants.A}/api/me", headers=handler)).status_code == 200
    assert (await client.get(f"/t/{tenants.A}/api/accounts", headers=handler)).status_code == 403
    assert (await client.get(f"/t/{tenants.A}/api/accounts", headers=auditor)).status_code == 200
    create = {"username": "x-by-auditor", "display_name": "x", "roles": [], "password": "long-enough-pw"}
    assert (await client.post(f"/t/{tenants.A}/api/accounts", json=create, headers=auditor)).status_code == 403


async def test_role_changes_take_effect_on_the_next_request(client, tenants, admin_b):
    created = await client.post(
        f"/t/{tenants.B}/api/accounts", headers=admin_b,
        json={"username": "promoted", "display_name": "升职", "roles": ["handler"], "password": "long-enough-pw"},
    )
    assert created.status_code == 201
    account_id = (await created.get_json())["id"]
    headers = await login_token(client, tenants.B, "promoted", "long-enough-pw")
    assert (await client.get(f"/t/{tenants.B}/api/accounts", headers=headers)).status_code == 403
    changed = await client.put(f"/t/{tenants.B}/api/accounts/{account_id}/roles", headers=admin_b, json={"roles": ["auditor"]})
    assert changed.status_code == 202  # auditors read archives: a second person approves (tests/test_separation_of_duties.py)
    assert (await client.get(f"/t/{tenants.B}/api/accounts", headers=headers)).status_code == 403
    await approve_as_superuser(client, tenants.B, (await changed.get_json())["pending_role_request"]["id"])
    # A role change ends the account's logins: the old token carries neither the old role nor the new one.
    assert (await client.get(f"/t/{tenants.B}/api/accounts", headers=headers)).status_code == 401
    headers = await login_token(client, tenants.B, "promoted", "long-enough-pw")
    assert (await client.get(f"/t/{tenants.B}/api/accounts", headers=headers)).status_code == 200


async def test_account_validation_messages(client, tenants, admin_a):
    weak = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a,
                             json={"username": "weak", "display_name": "w", "roles": ["handler"], "password": "short"})
    assert weak.status_code == 422 and "password" in (await weak.get_json())["error"]["fields"]
    bad_role = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a,
                                 json={"username": "badrole", "display_name": "b", "roles": ["king"], "password": "long-enough-pw"})
    assert bad_role.status_code == 422 and "roles" in (await bad_role.get_json())["error"]["fields"]
    duplicate = await client.post(f"/t/{tenants.A}/api/accounts", headers=admin_a,
                                  json={"username": "handler", "display_name": "d", "roles": [], "password": "long-enough-pw"})
    assert duplicate.status_code == 409 and "username" in (await duplicate.get_json())["error"]["fields"]


async def test_superuser_is_above_tenants_not_inside_them(client, tenants, superuser, admin_a):
    assert (await client.get("/api/platform/me", headers=superuser)).status_code == 200
    assert (await client.get(f"/t/{tenants.A}/api/accounts", headers=superuser)).status_code == 403
    assert (await client.get("/api/platform/me", headers=admin_a)).status_code == 403
    assert (await client.get("/api/platform/me")).status_code == 401


async def test_failed_logins_are_limited_per_account_and_address(client, tenants):
    where = {"scope_base": {"client": ("10.66.0.1", 1)}}
    for _ in range(10):
        wrong = await client.post(f"/t/{tenants.B}/api/tokens", json={"username": "handler", "password": "not-the-password"}, **where)
        assert wrong.status_code == 401
    locked = await client.post(f"/t/{tenants.B}/api/tokens", json={"username": "handler", "password": PASSWORD}, **where)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    elsewhere = await client.post(f"/t/{tenants.B}/api/tokens", json={"username": "handler", "password": PASSWORD},
                                  scope_base={"client": ("10.66.0.2", 1)})
    assert elsewhere.status_code == 200  # another address is not locked out with the guesser
