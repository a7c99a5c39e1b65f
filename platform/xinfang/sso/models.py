"""Single sign-on (OpenID Connect) per tenant: the provider a tenant admin set up, its rules, and who signed in through it."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from ..auth.models import Role
from ..store.documents import IdRef, TenantDocument, UtcDateTime

# Claims a rule or the account match may read (what the page offers; anything else is refused).
RULE_CLAIMS = ("groups", "roles", "email", "email_domain", "preferred_username", "department")
MATCH_CLAIMS = ("preferred_username", "email", "sub")


class RoleRule(BaseModel):
    """"claim «claim» contains «value» -> role «role»". A list claim contains an item equal to the value; a text claim
    equals it. ``email_domain`` is the part after @ of a verified e-mail."""

    claim: str
    value: str = Field(min_length=1, max_length=200)
    role: Role


class SsoConfig(TenantDocument):
    """A tenant's provider. One per tenant (unique index). The client secret is sealed with the platform key
    (``crypto.KeyRing.seal_account_secret``, bound to this tenant); pages never show it again."""

    enabled: bool = False
    issuer: str
    client_id: str
    client_secret_sealed: str
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    label: dict[str, str] = Field(default_factory=lambda: {"zh": "统一身份认证登录", "en": "Sign in with your organisation"})
    # Who gets in: an existing account whose username equals this claim, or a new account for a verified e-mail
    # of one of these domains. Nobody else.
    match_claim: str | None = None
    account_domains: list[str] = Field(default_factory=list)
    # Rules in force, and rules proposed that grant a role needing a second person (auth/grants.py): those wait
    # until another tenant admin (not the one who proposed them) or a platform superuser approves them.
    rules: list[RoleRule] = Field(default_factory=list)
    proposed_rules: list[RoleRule] | None = None
    proposed_by: IdRef | None = None
    proposed_by_username: str | None = None
    local_passwords: bool = True  # False: the tenant's staff sign in through the provider only
    updated_by_username: str = ""
    updated_at: UtcDateTime | None = None
    revision: int = 0

    class Settings:
        name = "sso_configs"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class SsoIdentity(TenantDocument):
    """A person at a provider (issuer + sub) bound to one staff account of this tenant, and the roles the
    tenant's rules gave that account (only these are taken away when the rules stop giving them)."""

    issuer: str
    subject: str
    account_id: IdRef
    rule_roles: list[Role] = Field(default_factory=list)
    last_login_at: UtcDateTime | None = None

    class Settings:
        name = "sso_identities"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("issuer", ASCENDING), ("subject", ASCENDING)], unique=True)]


class SsoSession(TenantDocument):
    """A browser session opened through the provider: its provider session (``sid``) for back-channel logout,
    and its ID token as the hint for RP-initiated logout. ``login_key`` names the live login (auth/sessions.py).
    Platform sessions (superusers) use the platform's pseudo tenant id ``PLATFORM_TENANT``."""

    login_key: str
    issuer: str
    subject: str
    sid: str | None = None
    account_id: IdRef
    id_token: str
    expire_at: UtcDateTime

    class Settings:
        name = "sso_sessions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("login_key", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("issuer", ASCENDING), ("sid", ASCENDING)]),
            IndexModel([("expire_at", ASCENDING)], expireAfterSeconds=0),
        ]


class SsoLogoutToken(TenantDocument):
    """A back-channel logout token already used (its ``jti``), kept until it would have expired anyway: the same token
    sent again is refused."""

    issuer: str
    jti: str
    expire_at: UtcDateTime

    class Settings:
        name = "sso_logout_tokens"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("issuer", ASCENDING), ("jti", ASCENDING)], unique=True),
            IndexModel([("expire_at", ASCENDING)], expireAfterSeconds=0),
        ]


PLATFORM_TENANT = "0" * 24  # the tenant id platform SSO sessions are kept under (no tenant has it)
