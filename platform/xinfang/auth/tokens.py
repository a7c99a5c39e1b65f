"""Bearer tokens for the API: JWTs signed with joserfc, algorithm fixed, claims always checked.

A token's ``jti`` names its live record (``auth/sessions.py``): a well-signed token whose record was
deleted (revoked, logged out, password or roles changed) or never written is refused.
"""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

ISSUER = "xinfang"
ALGORITHMS = ["HS256"]  # fixed: a token naming any other algorithm is refused


class InvalidToken(Exception):
    pass


class TokenService:
    def __init__(self, secret_key: str, ttl_seconds: int):
        self.key = OctKey.import_key(secret_key.encode())
        self.ttl = ttl_seconds
        self.registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            tid={"essential": True},
            jti={"essential": True},
        )

    def issue(self, account_id: str, tenant_id: str | None, jti: str) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": account_id,
            "tid": tenant_id or "platform",
            "iat": now,
            "exp": now + self.ttl,
            "jti": jti,
        }
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self.key, algorithms=ALGORITHMS), self.ttl

    def verify(self, token: str) -> dict:
        try:
            decoded = jwt.decode(token, self.key, algorithms=ALGORITHMS)
            self.registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(str(exc)) from None
        if not all(isinstance(decoded.claims.get(name), str) for name in ("sub", "tid", "jti")):
            raise InvalidToken("sub, tid and jti must be strings")
        return decoded.claims
