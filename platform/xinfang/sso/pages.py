"""The tenant admin's single sign-on page: the provider, the button, who gets in, the role rules (and approving
another admin's), password sign-in on or off. Plain form fields, no JSON; works without JavaScript."""

from __future__ import annotations

import re

from quart import Blueprint, current_app, request, url_for

from ..auth.access import current_principal
from ..auth.grants import needs_second_person
from ..auth.models import Role
from ..auth.permissions import Permission, requires
from ..display_words import word
from ..errors import Conflict, Forbidden, InvalidInput
from ..http import staff_page
from ..i18n import current_lang
from ..tenancy.resolution import current_tenant
from . import service
from .models import MATCH_CLAIMS, RULE_CLAIMS

sso_pages_bp = Blueprint("sso_pages", __name__, url_prefix="/t/<tenant_slug>/admin/sso")
EMPTY_RULE_ROWS = 3


def _provider_urls(slug: str) -> dict:
    """What the tenant admin registers at the provider for this client."""
    return {"redirect": url_for("sso.callback", tenant_slug=slug, _external=True),
            "post_logout": url_for("sso.logged_out", tenant_slug=slug, _external=True),
            "backchannel": url_for("sso.backchannel_logout", tenant_slug=slug, _external=True)}


def _values_of(config) -> dict:
    if config is None:
        return {"scopes": "openid email profile", "label_zh": "统一身份认证登录", "label_en": "Sign in with your organisation",
                "local_passwords": True, "enabled": False, "rules": []}
    return {"issuer": config.issuer, "client_id": config.client_id, "scopes": " ".join(config.scopes), "label_zh": config.label.get("zh", ""),
            "label_en": config.label.get("en", ""), "match_claim": config.match_claim or "", "account_domains": " ".join(config.account_domains),
            "local_passwords": config.local_passwords, "enabled": config.enabled,
            "rules": [(r.claim, r.value, r.role.value) for r in config.rules]}


async def _page(status: int = 200, *, errors=None, values=None, notice=None):
    ctx = current_tenant()
    config = await service.access_config(ctx)
    values = values or _values_of(config)
    rows = list(values.get("rules", [])) + [("", "", "")] * EMPTY_RULE_ROWS
    return await staff_page("sso/admin.html", status, config=config, values=values, rows=rows, errors=errors or {}, notice=notice,
                            claims=RULE_CLAIMS, match_claims=MATCH_CLAIMS, claim_words=service.CLAIM_WORDS, roles=[r.value for r in Role],
                            urls=_provider_urls(ctx.tenant.slug), secret_set=bool(config and config.client_secret_sealed),
                            second_person_roles=_second_person_roles())


def _second_person_roles() -> str:
    lang = current_lang()
    return ("、" if lang == "zh" else ", ").join(word("role", r.value, lang) for r in Role if needs_second_person(r))


@sso_pages_bp.get("")
@requires(Permission.ACCOUNTS_MANAGE)
async def sso_admin_page(tenant_slug):
    return await _page()


def _form_rules(form) -> list[tuple[str, str, str]]:
    given = form.get("rule_count", "")
    count = min(int(given), service.MAX_RULES + 10) if re.fullmatch(r"[0-9]{1,3}", given) else 0
    return [(form.get(f"rule_claim_{n}", ""), form.get(f"rule_value_{n}", ""), form.get(f"rule_role_{n}", "")) for n in range(1, count + 1)]


@sso_pages_bp.post("")
@requires(Permission.ACCOUNTS_MANAGE)
async def save_sso_submit(tenant_slug):
    form = await request.form
    values = {name: form.get(name, "") for name in ("issuer", "client_id", "scopes", "label_zh", "label_en", "match_claim", "account_domains")}
    values |= {"enabled": form.get("enabled") == "on", "local_passwords": form.get("local_passwords") == "on", "rules": _form_rules(form)}
    try:
        _, waits = await service.do_save_config(
            current_tenant(), current_app.extensions["xinfang.keyring"], current_principal(),
            allow_insecure=current_app.extensions["xinfang.settings"].sso_allow_insecure_issuers, client_secret=form.get("client_secret", ""),
            **values)
    except (InvalidInput, Conflict) as refused:
        return await _page(refused.status, errors=refused.fields or {"issuer": refused.message}, values=values)
    if waits:
        return await _page(notice={"zh": "已保存。新规则授予的角色须由第二人批准：请另一名单位管理员打开本页批准，批准前仍按原规则执行。",
                                   "en": "Saved. The new rules grant roles a second person must approve: another tenant admin approves "
                                         "them on this page; until then the earlier rules apply."})
    return await _page(notice={"zh": "已保存。", "en": "Saved."})


@sso_pages_bp.post("/approve")
@requires(Permission.ACCOUNTS_MANAGE)
async def approve_rules_submit(tenant_slug):
    try:
        await service.do_approve_rules(current_tenant(), current_principal())
    except (Forbidden, Conflict) as refused:
        return await _page(refused.status, errors={"approve": refused.message})
    return await _page(notice={"zh": "已批准，新规则从下一次登录起生效。", "en": "Approved: the new rules apply from the next sign-in."})
