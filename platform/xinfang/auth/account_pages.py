"""Account pages: one's own account (password, two-factor) for staff and superusers, the two-factor step of
the login pages, and the tenant admin's account administration. The JSON twins are in ``auth/http.py``."""

from __future__ import annotations

from quart import Blueprint, g, redirect, render_template, request

from ..errors import DomainError, InvalidInput, Message, NotAuthenticated
from ..http import NO_STORE, refusal_message, staff_page
from ..i18n import current_lang
from ..navigation import home_url_for, staff_home_url
from ..tenancy.resolution import current_tenant
from . import totp
from .access import current_principal, end_session, open_while_restricted, restriction_of, start_session
from .accounts import (WRONG_CODE, access_staff_account, check_second_factor, do_admin_create_account, do_begin_totp,
                       do_disable_totp, do_enable_totp, do_reset_password, do_reset_totp, do_set_active, do_unlock, pending_secret, totp_required)
from .grants import Grantor, needs_second_person
from .login_guard import check_login_form, login_form_token, safe_next
from .models import GrantState, PlatformAccount, Role, StaffAccount
from .role_grants import access_role_grant, do_decide_role_grant, list_role_grants
from .permissions import Permission, public, requires, superuser_only
from .principal import Principal
from .service import (NEW_ACCOUNT_REASON, NEW_ACCOUNT_WORDS, PASSWORD_RULE, authenticate_staff, authenticate_superuser,
                      do_change_password, do_set_staff_roles, guarded_login, load_staff, load_superuser)

account_pages_bp = Blueprint("account_pages", __name__)

ROLE_NAMES: dict[str, Message] = {
    Role.REGISTRAR.value: {"zh": "登记员", "en": "Registrar"},
    Role.HANDLER.value: {"zh": "承办人", "en": "Handler"},
    Role.LEADER.value: {"zh": "领导", "en": "Leader"},
    Role.TENANT_ADMIN.value: {"zh": "单位管理员", "en": "Tenant admin"},
    Role.AUDITOR.value: {"zh": "审计员", "en": "Auditor"},
    Role.VILLAGE_SUPERVISOR.value: {"zh": "信访监督员", "en": "Village supervisor"},
}
WRONG_CURRENT = {"zh": "当前密码不正确", "en": "the current password is wrong"}
CHANGED = {"zh": "密码已修改。", "en": "Password changed."}
TOTP_ON = {"zh": "两步验证已开启：以后登录时需输入验证器应用中的验证码。", "en": "Two-factor sign-in is on: logging in now asks for your authenticator's code."}
TOTP_OFF = {"zh": "两步验证已关闭。", "en": "Two-factor sign-in is off."}


# ----------------------------------------------------------------------------- one's own account


async def _my_account(principal: Principal) -> StaffAccount | PlatformAccount:
    if principal.is_superuser:
        return await load_superuser(principal.account_id)
    return await load_staff(current_tenant().scope, principal.account_id)


async def _account_page(principal: Principal, *, status: int = 200, message: Message | None = None, notice: Message | None = None):
    account = await _my_account(principal)
    tenant = None if principal.is_superuser else current_tenant().tenant
    secret = pending_secret(account) if account.totp_secret is None else None
    setup = None
    if secret:
        uri = totp.provisioning_uri(account, secret, tenant.name.zh if tenant else None)
        setup = {"secret": totp.grouped(secret), "uri": uri, "qr": totp.qr_data_uri(uri)}
    context = dict(account=account.public_view(), restriction=restriction_of(principal, tenant), setup=setup,
                   totp_required=totp_required(principal.is_superuser, tenant), message=message, notice=notice,
                   password_rule=PASSWORD_RULE, superuser=principal.is_superuser)
    if principal.is_superuser:
        html = await render_template("staff/account.html", tenant=None, principal=principal, home_url=home_url_for(principal, None), **context)
        return html, status, NO_STORE
    return await staff_page("staff/account.html", status, **context)


async def _password_submit(principal: Principal, where: str, check_current, home: str):
    form = await request.form
    try:
        if not form.get("current_password") or not form.get("new_password"):
            raise InvalidInput(fields={k: {"zh": "必填", "en": "required"} for k in ("current_password", "new_password") if not form.get(k)})
        try:
            account = await guarded_login(where, principal.username, request.remote_addr, lambda: check_current(form.get("current_password", "")))
        except NotAuthenticated:
            raise InvalidInput(WRONG_CURRENT, field="current_password") from None
        if form.get("new_password", "") != form.get("repeat_password", ""):
            raise InvalidInput({"zh": "两次输入的新密码不一致", "en": "the two new passwords differ"}, field="repeat_password")
        await do_change_password(account, form.get("new_password", ""))
    except DomainError as refused:
        return await _account_page(principal, status=refused.status, message=refusal_message(refused))
    # Every login of the account ended with the change; this browser, which just proved the password, goes on.
    await start_session(account, second_factor=True)
    return redirect(home)


async def _totp_submit(principal: Principal):
    form = await request.form
    action = form.get("action", "")
    account = await _my_account(principal)
    tenant = None if principal.is_superuser else current_tenant().tenant
    notice = None
    try:
        if action == "begin":
            await do_begin_totp(account)
        elif action == "enable":
            await do_enable_totp(account, form.get("code", ""))
            notice = TOTP_ON
        elif action == "disable":
            await do_disable_totp(account, form.get("code", ""), required=totp_required(principal.is_superuser, tenant))
            notice = TOTP_OFF
        else:
            raise InvalidInput(fields={"action": {"zh": "未知操作", "en": "unknown action"}})
    except DomainError as refused:
        return await _account_page(principal, status=refused.status, message=refusal_message(refused))
    if action == "enable" and restriction_of(principal, tenant) == "totp":  # set up at the first login: on to work
        return redirect(home_url_for(principal, tenant) if principal.is_superuser else staff_home_url(principal, tenant))
    return await _account_page(principal, notice=notice)


@account_pages_bp.get("/t/<tenant_slug>/staff/account")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def staff_account_page(tenant_slug):
    return await _account_page(current_principal())


@account_pages_bp.post("/t/<tenant_slug>/staff/account/password")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def staff_password_submit(tenant_slug):
    principal, ctx = current_principal(), current_tenant()
    home = staff_home_url(principal, ctx.tenant)
    return await _password_submit(principal, ctx.tenant_id, lambda current: authenticate_staff(ctx.scope, principal.username, current), home)


@account_pages_bp.post("/t/<tenant_slug>/staff/account/totp")
@requires(Permission.TENANT_READ)
@open_while_restricted
async def staff_totp_submit(tenant_slug):
    return await _totp_submit(current_principal())


@account_pages_bp.get("/platform/account")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_account_page():
    return await _account_page(current_principal())


@account_pages_bp.post("/platform/account/password")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_password_submit():
    principal = current_principal()
    return await _password_submit(principal, "platform", lambda current: authenticate_superuser(principal.username, current),
                                  home_url_for(principal, None))


@account_pages_bp.post("/platform/account/totp")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def platform_totp_submit():
    return await _totp_submit(current_principal())


# ----------------------------------------------------------------------------- the login pages' second step


async def _code_submit(where: str, realm_matches, load, template: str, render, allowed_prefixes: tuple[str, ...], home):
    """The code after the password: the pending login becomes a real one (a new session id) when the code is right."""
    form = await request.form
    pending: Principal | None = g.get("pending_login")
    if form.get("action") == "cancel" or pending is None or not realm_matches(pending):
        await end_session()
        return redirect(request.path.removesuffix("/code"))
    try:
        check_login_form(form)
        account = await load(pending.account_id)
        if account is None:
            raise NotAuthenticated()

        async def attempt():
            return account if await check_second_factor(account, form.get("code", "")) else None
        try:
            await guarded_login(where, pending.username, request.remote_addr, attempt)
        except NotAuthenticated:
            raise NotAuthenticated(WRONG_CODE) from None
    except DomainError as refused:
        return await render(template, refused.status, message=refused.message, next=form.get("next", ""), login_csrf=login_form_token())
    await start_session(account, second_factor=True)
    return redirect(safe_next(form.get("next", ""), allowed_prefixes) or home(account))


@account_pages_bp.post("/t/<tenant_slug>/staff/login/code")
@public("the second step of the staff login: the two-factor code after the password")
async def staff_login_code(tenant_slug):
    ctx = current_tenant()
    return await _code_submit(
        ctx.tenant_id, lambda p: p.tenant_id == ctx.tenant_id, lambda aid: load_staff(ctx.scope, aid), "staff/login.html", staff_page,
        (f"/t/{tenant_slug}/staff/", f"/t/{tenant_slug}/admin/"), lambda account: staff_home_url(Principal.of_staff(account, "session"), ctx.tenant))


async def _platform_login_page(template: str, status: int = 200, **context):
    html = await render_template(template, tenant=None, principal=None, home_url="/", **context)
    return html, status, NO_STORE


@account_pages_bp.post("/platform/login/code")
@public("the second step of the superusers' login: the two-factor code after the password")
async def platform_login_code():
    return await _code_submit(
        "platform", lambda p: p.is_superuser, load_superuser, "platform/login.html", _platform_login_page, ("/platform/",),
        lambda account: home_url_for(Principal.of_superuser(account, "session"), None))


# ----------------------------------------------------------------------------- the tenant admin's accounts


async def _admin_page(status: int = 200, *, message: Message | None = None, notice: Message | None = None, one_time: dict | None = None,
                      values: dict | None = None, errors: dict | None = None):
    scope = current_tenant().scope
    accounts = await scope.repo(StaffAccount).find().sort("username").to_list()
    me = current_principal()
    pending = await list_role_grants(scope, GrantState.PENDING.value)
    waiting: dict[str, list[str]] = {}
    for row in pending:
        waiting.setdefault(row.account_id, []).extend(r.value for r in row.roles)
    lang = current_lang()
    requests = [row.public_view() | {"mine": me.account_id in (row.requested_by, row.account_id),
                                     "reason": NEW_ACCOUNT_WORDS[lang] if row.reason == NEW_ACCOUNT_REASON else row.reason}
                for row in reversed(pending)]
    return await staff_page("admin/accounts.html", status, accounts=[a.public_view() for a in accounts], role_names=ROLE_NAMES,
                            second_person={r.value: needs_second_person(r) for r in Role}, me=me.account_id, message=message,
                            notice=notice, one_time=one_time, values=values or {}, errors=errors or {}, waiting=waiting,
                            requests=requests)


def _pending_notice(pending) -> Message | None:
    if pending is None:
        return None
    names_zh = "、".join(ROLE_NAMES[r.value]["zh"] for r in pending.roles)
    names_en = ", ".join(ROLE_NAMES[r.value]["en"] for r in pending.roles)
    return {"zh": f"角色“{names_zh}”须由另一名管理员或平台超级用户批准后生效（已提交申请）。",
            "en": f"The role(s) {names_en} take effect once another admin or a platform superuser approves (request filed)."}


@account_pages_bp.get("/t/<tenant_slug>/admin/accounts")
@requires(Permission.ACCOUNTS_MANAGE)
async def accounts_admin_page(tenant_slug):
    return await _admin_page()


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts")
@requires(Permission.ACCOUNTS_MANAGE)
async def create_account_submit(tenant_slug):
    form = await request.form
    values = {"username": (form.get("username") or "").strip(), "display_name": (form.get("display_name") or "").strip()}
    roles = form.getlist("roles")
    try:
        if not values["username"] or not values["display_name"]:
            raise InvalidInput(fields={k: {"zh": "必填", "en": "required"} for k, v in values.items() if not v})
        if not all(ch.isascii() and (ch.isalnum() or ch in "_.-") for ch in values["username"]) or len(values["username"]) > 64:
            raise InvalidInput(fields={"username": {"zh": "用户名只能用英文字母、数字和 _ . -", "en": "letters, digits and _ . - only"}})
        if len(values["display_name"]) > 100:
            raise InvalidInput(fields={"display_name": {"zh": "太长", "en": "too long"}})
        account, pending, initial = await do_admin_create_account(current_tenant().scope, grantor=Grantor.of(current_principal()),
                                                                   roles=roles, **values)
    except DomainError as refused:  # the new-account form's own fields: each problem under its field, the message once above
        inline = {k: m for k, m in refused.fields.items() if k in values}
        message = refused.message if inline and len(inline) == len(refused.fields) else refusal_message(refused)
        return await _admin_page(refused.status, message=message, values=dict(values, roles=roles), errors=inline)
    return await _admin_page(201, notice=_pending_notice(pending), one_time={"username": account.username, "password": initial,
                                                                              "display_name": account.display_name})


async def _on_account(account_id: str, act):
    scope = current_tenant().scope
    try:
        account = await access_staff_account(scope, account_id)
        return await act(scope, account)
    except DomainError as refused:
        if refused.status == 404:
            raise
        return await _admin_page(refused.status, message=refusal_message(refused))


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/<account_id>/active")
@requires(Permission.ACCOUNTS_MANAGE)
async def set_active_submit(tenant_slug, account_id):
    active = (await request.form).get("active") == "1"

    async def act(scope, account):
        await do_set_active(scope, account, active, Grantor.of(current_principal()))
        return await _admin_page(notice={"zh": f"已{'启用' if active else '停用'}账号 {account.username}。",
                                         "en": f"Account {account.username} {'enabled' if active else 'disabled'}."})
    return await _on_account(account_id, act)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/<account_id>/roles")
@requires(Permission.ACCOUNTS_MANAGE)
async def set_roles_submit(tenant_slug, account_id):
    form = await request.form

    async def act(scope, account):
        _, pending = await do_set_staff_roles(scope, str(account.id), form.getlist("roles"), Grantor.of(current_principal()),
                                              reason=(form.get("reason") or "")[:2000])
        return await _admin_page(notice=_pending_notice(pending) or {"zh": f"已更新 {account.username} 的角色。",
                                                                      "en": f"Roles of {account.username} updated."})
    return await _on_account(account_id, act)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/<account_id>/password-reset")
@requires(Permission.ACCOUNTS_MANAGE)
async def reset_password_submit(tenant_slug, account_id):
    async def act(scope, account):
        password = await do_reset_password(scope, account, Grantor.of(current_principal()))
        return await _admin_page(one_time={"username": account.username, "password": password, "display_name": account.display_name,
                                           "reset": True})
    return await _on_account(account_id, act)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/<account_id>/totp-reset")
@requires(Permission.ACCOUNTS_MANAGE)
async def reset_totp_submit(tenant_slug, account_id):
    async def act(scope, account):
        await do_reset_totp(scope, account, Grantor.of(current_principal()))
        return await _admin_page(notice={"zh": f"已重置 {account.username} 的两步验证。", "en": f"Two-factor of {account.username} reset."})
    return await _on_account(account_id, act)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/<account_id>/unlock")
@requires(Permission.ACCOUNTS_MANAGE)
async def unlock_submit(tenant_slug, account_id):
    async def act(scope, account):
        await do_unlock(scope, account, Grantor.of(current_principal()))
        return await _admin_page(notice={"zh": f"已解除 {account.username} 的登录锁定。", "en": f"{account.username} unlocked."})
    return await _on_account(account_id, act)


async def _decide(request_id: str, approve: bool):
    scope = current_tenant().scope
    row = await access_role_grant(scope, request_id)  # another tenant's request: a plain 404
    try:
        await do_decide_role_grant(scope, row, Grantor.of(current_principal()), approve=approve, note=((await request.form).get("note") or "")[:2000])
    except DomainError as refused:
        return await _admin_page(refused.status, message=refusal_message(refused))
    done = {"zh": "已批准，角色已生效。", "en": "Approved: the roles are granted."} if approve else {"zh": "已驳回。", "en": "Rejected."}
    return await _admin_page(notice=done)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/role-grants/<request_id>/approve")
@requires(Permission.ACCOUNTS_MANAGE)
async def approve_grant_submit(tenant_slug, request_id):
    """The second person approves a role request (never their own request, never roles for themselves)."""
    return await _decide(request_id, approve=True)


@account_pages_bp.post("/t/<tenant_slug>/admin/accounts/role-grants/<request_id>/reject")
@requires(Permission.ACCOUNTS_MANAGE)
async def reject_grant_submit(tenant_slug, request_id):
    """Reject a role request (the one who asked withdraws it this way)."""
    return await _decide(request_id, approve=False)
