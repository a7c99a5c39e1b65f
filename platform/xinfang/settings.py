"""Settings: the only reader of ``XINFANG_*`` environment variables.

Every knob is listed in ``SETTINGS_TABLE`` so the README table and the code
cannot drift apart (``xinfang settings`` prints the table).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

PREFIX = "XINFANG_"


class SettingsError(ValueError):
    """A XINFANG_* variable holds a value that cannot be used."""


LOG_FORMATS = ("text", "json")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    mongodb_uri: str | None = None
    mongodb_database: str = "xinfang"
    key_database: str | None = None
    embedded_store_port: int = 27117
    broker_url: str | None = None
    task_queue: str = "xinfang"
    secret_key: str | None = None
    encryption_key: str | None = None
    host: str = "127.0.0.1"
    trusted_proxy_hops: int = 0
    tenant_lookup_timeout_seconds: float = 1.0
    port: int = 8000
    token_ttl_seconds: int = 3600
    session_ttl_seconds: int = 8 * 3600
    sweep_interval_seconds: float = 30.0
    event_lease_seconds: float = 60.0
    load_demo_tenants: bool | None = None
    bootstrap_password: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    metrics_token: str | None = None
    review_needs_second_approver: bool = True
    review_grant_hours: int = 72
    superuser_totp_required: bool = True
    login_lockout_failures: int = 5
    login_lockout_minutes: int = 15
    webhook_allow_private_addresses: bool = False
    webhook_retry_seconds: float = 30.0
    webhook_delivery_keep_days: int = 30
    search_term_cache_mb: float = 64.0
    config_cache_entries: int = 5000
    searchers_per_thread: int = 32
    searcher_idle_seconds: float = 300.0
    sso_allow_insecure_issuers: bool = False
    platform_oidc_issuer: str | None = None
    platform_oidc_client_id: str | None = None
    platform_oidc_client_secret: str | None = None
    platform_oidc_username_claim: str = "preferred_username"

    def __post_init__(self):
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"XINFANG_LOG_FORMAT={self.log_format!r}: expected one of {', '.join(LOG_FORMATS)}")

    @property
    def embedded_store(self) -> bool:
        """True when the platform must start its own document store."""
        return not self.mongodb_uri

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def should_load_demo_tenants(self) -> bool:
        if self.load_demo_tenants is None:
            return self.embedded_store
        return self.load_demo_tenants

    @property
    def effective_mongodb_uri(self) -> str:
        if self.mongodb_uri:
            return self.mongodb_uri
        return f"mongodb://127.0.0.1:{self.embedded_store_port}/?directConnection=true"

    @property
    def effective_key_database(self) -> str:
        """Where the per-record identity keys live (crypto.RecordKey): apart from the data, for the backups' sake."""
        return self.key_database or f"{self.mongodb_database}_keys"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "filesystem://localhost//"  # a hostname, or kombu warns that none was given

    @property
    def search_queue(self) -> str:
        """The indexer's queue: one worker with concurrency 1 writes the search indexes."""
        return f"{self.task_queue}.search"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        env: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "1" if value else "0"
            env[PREFIX + field.name.upper()] = str(value)
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        known = {PREFIX + f.name.upper(): f for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in environ if k.startswith(PREFIX) and k not in known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        values = {}
        for name, field in known.items():
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(name, raw, field.default)
        return cls(**values)


def _parse(name: str, raw: str, default):
    try:
        if isinstance(default, bool) or name.endswith("LOAD_DEMO_TENANTS"):
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true/false")
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: {exc}") from None
    return raw


# name, default as the user sees it, meaning. The README table is generated from this.
SETTINGS_TABLE: list[tuple[str, str, str]] = [
    ("XINFANG_DATA_DIR", "var", "Where the embedded store, the embedded broker, the generated secret and logs live."),
    ("XINFANG_MONGODB_URI", "(unset)", "MongoDB to use (a replica set in production). Unset: start the embedded nx-27017 server under the data directory."),
    ("XINFANG_MONGODB_DATABASE", "xinfang", "Database name."),
    ("XINFANG_KEY_DATABASE", "(database)_keys", "Database of the per-record identity keys (crypto-shredding). Back it up apart from the data, with a short retention: a destroyed key must age out of its backups (README, Data lifecycle)."),
    ("XINFANG_EMBEDDED_STORE_PORT", "27117", "Port of the embedded store (127.0.0.1 only)."),
    ("XINFANG_BROKER_URL", "(unset)", "Celery broker, e.g. redis://127.0.0.1:6379/0. Unset: kombu's filesystem transport under the data directory."),
    ("XINFANG_TASK_QUEUE", "xinfang", "Celery queue name; lets several deployments share one Redis."),
    ("XINFANG_SECRET_KEY", "(unset)", "Signs sessions, CSRF tokens and JWTs; must be equal on every web replica. Unset: generated once into DATA_DIR/secret.key."),
    ("XINFANG_ENCRYPTION_KEY", "(unset)", "Base64 of 32 bytes that wraps every tenant's data key (petitioner identities) and salts receipt hashes. Keep it safe and never rotate it casually. Unset: generated once into DATA_DIR/encryption.key."),
    ("XINFANG_HOST", "127.0.0.1", "Web server bind address."),
    ("XINFANG_PORT", "8000", "Web server port."),
    ("XINFANG_TRUSTED_PROXY_HOPS", "0", "How many reverse proxies in front set X-Forwarded-For and X-Forwarded-Proto; rate limits count the client address they report, and a client on TLS gets HSTS and Secure cookies. 0: the socket's address and scheme."),
    ("XINFANG_TENANT_LOOKUP_TIMEOUT_SECONDS", "1", "How long a request waits for the store to resolve its tenant before answering from the last known answer, or 503 with Retry-After when there is none (an unknown slug): the store being down must not hold every request for the driver's whole server-selection time."),
    ("XINFANG_TOKEN_TTL_SECONDS", "3600", "Lifetime of API bearer tokens."),
    ("XINFANG_SESSION_TTL_SECONDS", "28800", "Lifetime of browser sessions."),
    ("XINFANG_SWEEP_INTERVAL_SECONDS", "30", "How often beat runs the sweeper that re-enqueues unfinished work."),
    ("XINFANG_EVENT_LEASE_SECONDS", "60", "An event not finished this long after its last dispatch is dispatched again."),
    ("XINFANG_LOAD_DEMO_TENANTS", "(embedded: yes)", "Load the bundles in tenants/ on start. Defaults to yes on the embedded store, no otherwise."),
    ("XINFANG_BOOTSTRAP_PASSWORD", "(unset)", "Password given to bundle accounts when they are first created. Unset: a random one, printed once and written to DATA_DIR/bootstrap-credentials.txt."),
    ("XINFANG_LOG_LEVEL", "INFO", "Python logging level."),
    ("XINFANG_LOG_FORMAT", "text", "`text` (one readable line per record) or `json` (one JSON object per line: time, level, logger, message, request_id, tenant, user, route, status, duration_ms; for log collectors)."),
    ("XINFANG_METRICS_PORT", "0", "Port on which `xinfang serve` (and `xinfang run`'s web process) answers GET /metrics for Prometheus, apart from the public port. 0: no metrics port."),
    ("XINFANG_METRICS_HOST", "127.0.0.1", "Bind address of the metrics port (0.0.0.0 in a pod, where a NetworkPolicy admits only Prometheus)."),
    ("XINFANG_METRICS_TOKEN", "(unset)", "When set, GET /metrics also answers on the main port, to `Authorization: Bearer <token>` only. Unset: /metrics on the main port is 404."),
    ("XINFANG_SUPERUSER_TOTP_REQUIRED", "true", "Superusers must sign in with a TOTP code (two-factor) after their password; one without it set up may open only their account page until they set it up."),
    ("XINFANG_LOGIN_LOCKOUT_FAILURES", "5", "Failed logins (or wrong two-factor codes) of one account within XINFANG_LOGIN_LOCKOUT_MINUTES after which the account is locked for that long (a tenant admin may unlock it sooner)."),
    ("XINFANG_LOGIN_LOCKOUT_MINUTES", "15", "The window counted for the lockout, and how long a locked account stays locked."),
    ("XINFANG_REVIEW_NEEDS_SECOND_APPROVER", "true", "A promotion review (cross-tenant archive read) needs a second superuser's approval before anything can be read."),
    ("XINFANG_REVIEW_GRANT_HOURS", "72", "How long an approved promotion review may read the person's consolidated integrity opinion."),
    ("XINFANG_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false", "Let outbound webhooks reach private, loopback and link-local addresses (tests and closed networks only; refused by default against SSRF)."),
    ("XINFANG_WEBHOOK_RETRY_SECONDS", "30", "Wait before the first retry of a failed webhook delivery; each later retry waits twice as long (8 attempts in all)."),
    ("XINFANG_WEBHOOK_DELIVERY_KEEP_DAYS", "30", "Days a finished webhook delivery row (delivered, or failed for good) is kept for its log before the beat deletes it (at least 1); pending ones are never deleted."),
    ("XINFANG_SEARCH_TERM_CACHE_MB", "64", "Megabytes of frequent terms' postings a web or indexer process keeps per search index segment (substring results get a sixteenth as much); 0 keeps none."),
    ("XINFANG_CONFIG_CACHE_ENTRIES", "5000", "At most this many entries in each of a process's configuration caches (tenant configuration, tenant lookups by slug and by host); past it the least recently used entry goes first. Entries also expire after their lifetime (5 to 60 s)."),
    ("XINFANG_SEARCHERS_PER_THREAD", "32", "At most this many open search indexes (one per tenant, petitions and documents apiece) a search thread keeps open; past it the least recently used is closed."),
    ("XINFANG_SEARCHER_IDLE_SECONDS", "300", "An open search index not used for this long is closed at the thread's next search."),
    ("XINFANG_SSO_ALLOW_INSECURE_ISSUERS", "false", "Let a tenant's single sign-on provider be reached over plain http or at a loopback, private or link-local address (tests and closed networks only; refused by default)."),
    ("XINFANG_PLATFORM_OIDC_ISSUER", "(unset)", "The platform's own OpenID provider for superusers (its issuer URL; discovery at /.well-known/openid-configuration). Unset: superusers sign in with password and two-factor only."),
    ("XINFANG_PLATFORM_OIDC_CLIENT_ID", "(unset)", "The platform's client id at that provider."),
    ("XINFANG_PLATFORM_OIDC_CLIENT_SECRET", "(unset)", "The platform's client secret at that provider (from a secret store)."),
    ("XINFANG_PLATFORM_OIDC_USERNAME_CLAIM", "preferred_username", "The claim of the platform provider's ID token that names an existing superuser (their username); nobody else is let in."),
]
