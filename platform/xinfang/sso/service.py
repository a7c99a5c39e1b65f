"""Single sign-on verbs: a tenant's provider set up, its rules approved, a person let in (or not), logins ended.

Who gets in is decided here, from claims ``oidc.py`` has checked:
- the person already signed in here before (issuer + sub bound to an account), or
- an existing account whose username equals the configured claim (``match_claim``; an e-mail only when verified), or
- a new account, for a verified e-mail of one of the configured domains (``account_domains``), when the rules give it a role.
Anyone else is refused with a page saying so. Roles come only from the tenant's rules ("claim contains value -> role"):
a claim alone grants nothing. Rules granting a role that needs a second person (``auth/grants.py``) wait for another
tenant admin's (or a superuser's) approval; an admin's own grants to an account are never taken away by the rules, only
roles the rules gave (kept on the identity). Every account made, role given or taken and every configuration change is
appended to the audit chain first.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime, timedelta

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from ..audit.service import do_append_audit
from ..auth.grants import COMBINED, combines_admin_and_casework, needs_second_person
from ..auth.models import PlatformAccount, Role, StaffAccount
from ..auth.passwords import hash_password
from ..auth.principal import Principal
from ..auth.sessions import LiveLogin, login_key, revoke_all_for
from ..crypto import KeyRing
from ..errors import Conflict, Forbidden, InvalidInput, Message, NotFound
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..tenancy.context import TenantContext
from .models import MATCH_CLAIMS, RULE_CLAIMS, RoleRule, SsoConfig, SsoIdentity, SsoLogoutToken, SsoSession
from .oidc import Provider, check_issuer_url, forget_provider, refused

MAX_RULES = 50
LOGOUT_TOKEN_MEMORY_SECONDS = 24 * 3600  # a logout token older than this is refused by its iat anyway (oidc.py)
MAX_DOMAINS = 20
SCOPE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
DOMAIN_RE = re.compile(r"^(?=.{1,200}$)([a-z0-9-]+\.)+[a-z]{2,}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
CLAIM_WORDS: dict[str, Message] = {
    "groups": {"zh": "所属组（groups）", "en": "groups"}, "roles": {"zh": "角色（roles）", "en": "roles"},
    "email": {"zh": "电子邮箱（email）", "en": "e-mail"}, "email_domain": {"zh": "邮箱域名", "en": "e-mail domain"},
    "preferred_username": {"zh": "用户名（preferred_username）", "en": "user name (preferred_username)"},
    "department": {"zh": "部门（department）", "en": "department"}, "sub": {"zh": "用户标识（sub）", "en": "subject (sub)"},
}
SECRET_BOUND = "sso-client:"


def _sealed_for(tenant_id: str) -> str:
    return SECRET_BOUND + tenant_id


def provider_of(config: SsoConfig, keyring: KeyRing, allow_insecure: bool) -> Provider:
    return Provider(config.issuer, config.client_id, keyring.open_account_secret(_sealed_for(str(config.tenant_id)), config.client_secret_sealed),
                    tuple(config.scopes), allow_insecure)


def platform_provider(settings) -> Provider | None:
    """The platform's own provider for superusers (``XINFANG_PLATFORM_OIDC_*``), if the operator set one."""
    if not (settings.platform_oidc_issuer and settings.platform_oidc_client_id and settings.platform_oidc_client_secret):
        return None
    return Provider(settings.platform_oidc_issuer.rstrip("/"), settings.platform_oidc_client_id, settings.platform_oidc_client_secret,
                    ("openid", "profile", "email"), settings.sso_allow_insecure_issuers)


async def access_config(ctx: TenantContext) -> SsoConfig | None:
    return await ctx.scope.repo(SsoConfig).find_one({})


async def active_config(ctx: TenantContext) -> SsoConfig:
    """The tenant's provider when it is switched on; else the 404 any unknown page gets."""
    config = await access_config(ctx)
    if config is None or not config.enabled:
        raise NotFound({"zh": "本单位没有开启统一身份认证登录", "en": "this body has no single sign-on"})
    return config


async def password_login_refusal(tenant_id: str) -> Message | None:
    """Why a password may not be used to sign in to this tenant (its staff sign in through its provider), or None."""
    config = await TenantScope(tenant_id).repo(SsoConfig).find_one({})
    if config is None or not config.enabled or config.local_passwords:
        return None
    return {"zh": "本单位已关闭密码登录，请使用“" + config.label.get("zh", "") + "”按钮登录",
            "en": "this body signs in through its single sign-on only: use the “" + config.label.get("en", "") + "” button"}


# ----------------------------------------------------------------------------- configuration


def _field(fields: dict, name: str, zh: str, en: str) -> None:
    fields.setdefault(name, {"zh": zh, "en": en})


def _clean_text(value) -> bool:
    """Text a browser can send: no lone surrogates (they cannot be encoded, sealed or stored) and no control characters."""
    return isinstance(value, str) and not any(0xD800 <= ord(ch) <= 0xDFFF or (ord(ch) < 0x20 and ch not in "\t\r\n") for ch in value)


def parse_rules(rows: list[tuple[str, str, str]]) -> tuple[list[RoleRule], dict[str, Message]]:
    """Rules from the page's rows (claim, value, role); empty rows are skipped; each problem at its row."""
    rules, fields = [], {}
    for n, (claim, value, role) in enumerate(rows, start=1):
        claim, value, role = (claim or "").strip(), (value or "").strip(), (role or "").strip()
        if not (claim or value or role):
            continue
        if claim not in RULE_CLAIMS:
            _field(fields, f"rule_{n}", "请选择依据的声明", "choose the claim this rule reads")
        elif not value or len(value) > 200:
            _field(fields, f"rule_{n}", "请填写声明应包含的值（最多 200 个字符）", "write the value the claim must contain (at most 200 characters)")
        elif role not in {r.value for r in Role}:
            _field(fields, f"rule_{n}", "请选择授予的角色", "choose the role this rule grants")
        else:
            rules.append(RoleRule(claim=claim, value=value, role=Role(role)))
    if len(rules) > MAX_RULES:
        _field(fields, "rules", f"最多 {MAX_RULES} 条规则", f"at most {MAX_RULES} rules")
    return rules, fields


def _needs_approval(old: list[RoleRule], new: list[RoleRule]) -> bool:
    """New rules that grant a role a second person must approve (removing rules never waits)."""
    return any(needs_second_person(r.role) and r not in old for r in new)


async def do_save_config(ctx: TenantContext, keyring: KeyRing, actor: Principal, *, allow_insecure: bool, issuer: str, client_id: str,
                         client_secret: str, scopes: str, label_zh: str, label_en: str, match_claim: str, account_domains: str,
                         rules: list[tuple[str, str, str]], enabled: bool, local_passwords: bool) -> tuple[SsoConfig, bool]:
    """Check and save the tenant's provider; returns (config, whether its new rules wait for a second person)."""
    fields: dict[str, Message] = {}
    texts = {"issuer": issuer, "client_id": client_id, "client_secret": client_secret, "scopes": scopes, "label_zh": label_zh,
             "label_en": label_en, "account_domains": account_domains}
    for name, value in texts.items():
        if not _clean_text(value):
            _field(fields, name, "含有无法识别的字符", "contains characters that cannot be read")
    for n, row in enumerate(rules, start=1):
        if not all(_clean_text(part) for part in row):
            _field(fields, f"rule_{n}", "含有无法识别的字符", "contains characters that cannot be read")
    if fields:
        raise InvalidInput(fields=fields)
    try:
        issuer = check_issuer_url(issuer, allow_insecure=allow_insecure)
    except InvalidInput as bad:
        fields.update(bad.fields)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 200:
        _field(fields, "client_id", "请填写客户端标识（最多 200 个字符）", "write the client id (at most 200 characters)")
    scope_list = list(dict.fromkeys((scopes or "").split())) or ["openid"]
    if "openid" not in scope_list:
        scope_list.insert(0, "openid")
    if len(scope_list) > 10 or not all(SCOPE_RE.match(s) for s in scope_list):
        _field(fields, "scopes", "范围以空格分隔，每个由字母、数字和 _ . : - 组成，最多 10 个", "scopes are separated by spaces, letters, digits and _ . : - only, at most 10")
    labels = {"zh": (label_zh or "").strip(), "en": (label_en or "").strip()}
    for lang in ("zh", "en"):
        if not labels[lang] or len(labels[lang]) > 40:
            _field(fields, f"label_{lang}", "请填写按钮文字（最多 40 个字符）", "write the button's words (at most 40 characters)")
    match = (match_claim or "").strip() or None
    if match is not None and match not in MATCH_CLAIMS:
        _field(fields, "match_claim", "请选择列出的声明之一", "choose one of the claims listed")
    domains = list(dict.fromkeys(d.strip().lower().lstrip("@") for d in re.split(r"[\s,，、]+", account_domains or "") if d.strip()))
    if len(domains) > MAX_DOMAINS or not all(DOMAIN_RE.match(d) for d in domains):
        _field(fields, "account_domains", f"请填写邮箱 @ 之后的域名，以空格分隔，最多 {MAX_DOMAINS} 个",
               f"write the domains after the @ of the e-mails, separated by spaces, at most {MAX_DOMAINS}")
    new_rules, rule_fields = parse_rules(rules)
    fields.update(rule_fields)
    existing = await access_config(ctx)
    secret = (client_secret or "").strip()
    if not secret and existing is None:
        _field(fields, "client_secret", "请填写客户端密钥", "write the client secret")
    if len(secret) > 500:
        _field(fields, "client_secret", "客户端密钥最多 500 个字符", "at most 500 characters")
    if enabled and not local_passwords and not new_rules and match is None:
        _field(fields, "local_passwords", "关闭密码登录前，请至少设置一条角色规则或账号对应方式，否则没有人能登录",
               "before switching passwords off, set at least one role rule or account match: otherwise nobody could sign in")
    if fields:
        raise InvalidInput(fields=fields)

    config = existing or SsoConfig(tenant_id=ctx.tenant_id, issuer=issuer, client_id=client_id, client_secret_sealed="")
    old_rules = list(config.rules) if existing else []
    waits = _needs_approval(old_rules, new_rules)
    if existing and (existing.issuer != issuer or existing.client_id != client_id):
        forget_provider(existing.issuer)
    config.issuer, config.client_id, config.scopes, config.label = issuer, client_id, scope_list, labels
    config.match_claim, config.account_domains, config.enabled, config.local_passwords = match, domains, enabled, local_passwords
    if secret:
        config.client_secret_sealed = keyring.seal_account_secret(_sealed_for(ctx.tenant_id), secret)
    if waits:
        config.proposed_rules, config.proposed_by, config.proposed_by_username = new_rules, actor.account_id, actor.username
    else:
        config.rules, config.proposed_rules, config.proposed_by, config.proposed_by_username = new_rules, None, None, None
    config.updated_by_username, config.updated_at, config.revision = actor.username, utcnow(), config.revision + 1
    await _audit_config(ctx, actor, "sso.config.changed", config, waits=waits, secret_changed=bool(secret))
    try:
        await ctx.scope.repo(SsoConfig).save(config)
    except DuplicateKeyError:
        raise Conflict({"zh": "另一名管理员刚刚保存了设置，请刷新后重试", "en": "another admin saved just now: reload and try again"}) from None
    return config, waits


async def _audit_config(ctx: TenantContext, actor: Principal, action: str, config: SsoConfig, **extra) -> None:
    await do_append_audit(
        actor_id=actor.account_id, actor_username=actor.username, action=action,
        purpose={"sso.config.changed": "统一身份认证设置已修改 / single sign-on settings changed",
                 "sso.rules.approved": "统一身份认证角色规则经第二人批准 / sign-on role rules approved by a second person",
                 "sso.passwords.restored": "超级用户恢复密码登录 / a superuser switched password sign-in back on"}[action],
        subject=str(config.id) if config.id else None, tenant_ids=[ctx.tenant_id],
        query={"issuer": config.issuer, "client_id": config.client_id, "enabled": config.enabled, "local_passwords": config.local_passwords,
               "match_claim": config.match_claim, "account_domains": config.account_domains,
               "rules": [f"{r.claim} ∋ {r.value} → {r.role.value}" for r in config.rules],
               "proposed_rules": [f"{r.claim} ∋ {r.value} → {r.role.value}" for r in config.proposed_rules or []], **extra})


async def do_approve_rules(ctx: TenantContext, actor: Principal) -> SsoConfig:
    """A second person puts the proposed rules in force: another tenant admin than the one who proposed them, or a superuser."""
    config = await access_config(ctx)
    if config is None or config.proposed_rules is None:
        raise Conflict({"zh": "没有待批准的规则", "en": "no rules are waiting for approval"})
    if not actor.is_superuser and actor.account_id == config.proposed_by:
        raise Forbidden({"zh": "须由提出规则者以外的另一名管理员或平台超级用户批准",
                         "en": "a second person must approve: another tenant admin than the one who proposed the rules, or a platform superuser"})
    config.rules, config.proposed_rules, config.proposed_by, config.proposed_by_username = config.proposed_rules, None, None, None
    config.revision += 1
    await _audit_config(ctx, actor, "sso.rules.approved", config)
    await ctx.scope.repo(SsoConfig).save(config)
    return config


async def do_restore_local_passwords(ctx: TenantContext, actor: Principal) -> SsoConfig:
    """Break glass: a platform superuser (who signs in with password and two-factor) lets the tenant's staff use
    their passwords again, e.g. when its provider is down or its settings lock everyone out."""
    config = await access_config(ctx)
    if config is None:
        raise NotFound({"zh": "本单位没有统一身份认证设置", "en": "this body has no single sign-on settings"})
    config.local_passwords, config.revision = True, config.revision + 1
    await _audit_config(ctx, actor, "sso.passwords.restored", config)
    await ctx.scope.repo(SsoConfig).save(config)
    return config


# ----------------------------------------------------------------------------- who comes in


def _verified_email(claims: dict) -> str | None:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return None
    return email.strip().lower()


def _claim_values(claims: dict, claim: str) -> list[str]:
    if claim == "email_domain":
        email = _verified_email(claims)
        return [email.rsplit("@", 1)[1]] if email else []
    if claim == "email":
        email = _verified_email(claims)
        return [email] if email else []
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def roles_from_rules(rules: list[RoleRule], claims: dict) -> list[Role]:
    """The roles the rules give these claims (in rule order, once each). A claim no rule reads gives nothing."""
    given = []
    for rule in rules:
        wanted = rule.value.lower() if rule.claim in ("email", "email_domain") else rule.value
        if wanted in _claim_values(claims, rule.claim) and rule.role not in given:
            given.append(rule.role)
    return given


def unknown_person(config: SsoConfig, issuer: str) -> Message:
    how_zh, how_en = [], []
    if config.match_claim:
        how_zh.append(f"按声明 {config.match_claim} 与本平台用户名对应")
        how_en.append(f"matched by the claim {config.match_claim} against usernames here")
    if config.account_domains:
        how_zh.append("为以下域名的已验证邮箱开设账号：" + "、".join(config.account_domains))
        how_en.append("accounts are opened for verified e-mails of " + ", ".join(config.account_domains))
    return {"zh": f"您已通过身份认证服务（{issuer}）登录，但本单位没有与您对应的账号（{'；'.join(how_zh) or '未设置对应方式'}），"
                  "或者本单位的规则没有给您任何角色。请联系本单位管理员。",
            "en": f"The provider ({issuer}) signed you in, but this body has no account for you ({'; '.join(how_en) or 'no match is set up'}), "
                  "or its rules give you no role. Please ask your body's administrator."}


async def _matched_account(ctx: TenantContext, config: SsoConfig, claims: dict) -> StaffAccount | None:
    if not config.match_claim:
        return None
    values = _claim_values(claims, config.match_claim) if config.match_claim != "sub" else [claims["sub"]]
    if not values:
        return None
    return await ctx.scope.repo(StaffAccount).find_one({"username": values[0], "active": True})


def _new_username(claims: dict, email: str) -> str:
    wanted = claims.get("preferred_username")
    return wanted if isinstance(wanted, str) and USERNAME_RE.match(wanted) else email.split("@", 1)[0][:64]


async def _new_account(ctx: TenantContext, config: SsoConfig, claims: dict, issuer: str) -> StaffAccount | None:
    email = _verified_email(claims)
    if not email or email.rsplit("@", 1)[1] not in config.account_domains:
        return None
    username = _new_username(claims, email)
    if not USERNAME_RE.match(username) or await ctx.scope.repo(StaffAccount).find_one({"username": username}):
        # Never take over an account someone else holds because a provider says a name: a suffix of the subject.
        username = f"{username[:50]}-{secrets.token_hex(3)}"
    name = claims.get("name") if isinstance(claims.get("name"), str) and claims["name"].strip() else username
    unusable = await asyncio.to_thread(hash_password, secrets.token_urlsafe(32))  # argon2 off the event loop; nobody knows it
    account = StaffAccount(id=PydanticObjectId(), tenant_id=ctx.tenant_id, username=username, display_name=name.strip()[:100], roles=[],
                           password_hash=unusable)  # signs in through the provider
    await do_append_audit(actor_id=str(account.id), actor_username=f"sso:{issuer}", action="account.created",
                          purpose="统一身份认证开设账号 / account opened through single sign-on", subject=str(account.id),
                          query={"account": username, "path": "sso", "issuer": issuer, "email_domain": email.rsplit("@", 1)[1]},
                          tenant_ids=[ctx.tenant_id])
    await ctx.scope.repo(StaffAccount).insert(account)
    return account


async def _apply_rule_roles(ctx: TenantContext, account: StaffAccount, identity: SsoIdentity, given: list[Role], issuer: str) -> None:
    """Roles the rules give now are added; roles the rules gave before and give no longer are taken away;
    roles an admin granted stay. Recorded in the audit chain first; the account's other logins end on a change."""
    before = list(account.roles)
    dropped = [r for r in identity.rule_roles if r not in given]
    after = [r for r in before if r not in dropped] + [r for r in given if r not in before]
    if combines_admin_and_casework(after):
        raise refused(COMBINED["zh"], COMBINED["en"])
    added, removed = [r for r in after if r not in before], [r for r in before if r not in after]
    for action, roles in (("account.roles.revoked", removed), ("account.roles.granted", added)):
        if roles:
            await do_append_audit(actor_id=str(account.id), actor_username=f"sso:{issuer}", action=action,
                                  purpose=("按统一身份认证规则 / by the single sign-on rules")[:500], subject=str(account.id),
                                  query={"account": account.username, "roles": [r.value for r in roles], "path": "sso", "how": "rule"},
                                  tenant_ids=[ctx.tenant_id])
    identity.rule_roles = given
    if added or removed:
        account.roles = after
        await ctx.scope.repo(StaffAccount).save(account)
        await revoke_all_for(account)


async def do_sso_login(ctx: TenantContext, config: SsoConfig, claims: dict) -> StaffAccount:
    """The staff account these checked claims sign in as, its roles brought in line with the rules; SsoRefused otherwise."""
    issuer, subject = config.issuer, claims["sub"]
    identity = await ctx.scope.repo(SsoIdentity).find_one({"issuer": issuer, "subject": subject})
    account = None
    if identity is not None:
        account = await ctx.scope.repo(StaffAccount).get(identity.account_id)
        if account is None or not account.active:
            raise refused("您在本平台的账号已停用，请联系本单位管理员", "your account here is disabled: please ask your administrator")
    given = roles_from_rules(config.rules, claims)
    if combines_admin_and_casework(given):  # refused before any account is opened for it
        raise refused(COMBINED["zh"], COMBINED["en"])
    if account is None:
        account = await _matched_account(ctx, config, claims)
    if account is None and given:
        account = await _new_account(ctx, config, claims, issuer)
    if account is None:
        raise refused(**unknown_person(config, issuer))
    if identity is None:
        identity = SsoIdentity(tenant_id=ctx.tenant_id, issuer=issuer, subject=subject, account_id=str(account.id))
    await _apply_rule_roles(ctx, account, identity, given, issuer)
    if not account.roles:
        raise refused(**unknown_person(config, issuer))
    identity.last_login_at = utcnow()
    try:
        await ctx.scope.repo(SsoIdentity).save(identity)
    except DuplicateKeyError:  # the same person's first login twice at once: the other one bound it
        pass
    await do_append_audit(actor_id=str(account.id), actor_username=account.username, action="sso.login",
                          purpose="统一身份认证登录 / signed in through single sign-on", subject=str(account.id),
                          query={"issuer": issuer, "roles": [r.value for r in account.roles]}, tenant_ids=[ctx.tenant_id])
    return account


async def do_platform_sso_login(provider: Provider, claims: dict, username_claim: str) -> PlatformAccount:
    """A superuser whose username the platform provider's claim names; nobody else (superusers are never created here)."""
    username = claims.get(username_claim)
    account = await PlatformAccount.find_one({"username": username, "active": True}) if isinstance(username, str) else None
    if account is None:
        raise refused(f"平台身份认证服务（{provider.issuer}）的用户不是本平台的超级用户",
                      f"the platform provider's user ({provider.issuer}) is not a superuser here")
    await do_append_audit(actor_id=str(account.id), actor_username=account.username, action="sso.login",
                          purpose="超级用户经平台统一身份认证登录 / superuser signed in through the platform's provider",
                          subject=str(account.id), query={"issuer": provider.issuer})
    return account


# ----------------------------------------------------------------------------- sessions and logout


async def do_record_session(tenant_id: str, opaque: str, issuer: str, claims: dict, account_id: str, id_token: str, ttl_seconds: int) -> None:
    await TenantScope(tenant_id).repo(SsoSession).insert(SsoSession(
        tenant_id=tenant_id, login_key=login_key(opaque), issuer=issuer, subject=claims["sub"],
        sid=claims.get("sid") if isinstance(claims.get("sid"), str) else None, account_id=account_id, id_token=id_token,
        expire_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds)))


async def do_forget_session(tenant_id: str, opaque: str | None) -> SsoSession | None:
    """The provider session behind this browser's login, removed (its ID token is the logout hint); None for a password login."""
    if not opaque:
        return None
    repo = TenantScope(tenant_id).repo(SsoSession)
    found = await repo.find_one({"login_key": login_key(opaque)})
    if found is not None:
        await repo.delete(found)
    return found


async def do_backchannel_logout(tenant_id: str, issuer: str, claims: dict) -> int:
    """End every login the provider's logout token names (its session ``sid``, else every session of its ``sub``).
    A token is used once: sent again (a replay) it is refused."""
    try:
        await TenantScope(tenant_id).repo(SsoLogoutToken).insert(SsoLogoutToken(
            tenant_id=tenant_id, issuer=issuer, jti=str(claims["jti"])[:200],
            expire_at=datetime.now(UTC) + timedelta(seconds=LOGOUT_TOKEN_MEMORY_SECONDS)))
    except DuplicateKeyError:
        raise refused("注销令牌已经使用过", "this logout token was used before") from None
    repo = TenantScope(tenant_id).repo(SsoSession)
    query = {"issuer": issuer, "sid": claims["sid"]} if isinstance(claims.get("sid"), str) else {"issuer": issuer, "subject": claims["sub"]}
    ended = 0
    async for found in repo.find(query):
        ended += (await LiveLogin.get_pymongo_collection().delete_one({"key": found.login_key})).deleted_count
        await repo.delete(found)
    return ended
