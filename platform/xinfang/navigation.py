"""Where a signed-in person may go: the staff navigation, each role's home page, and a safe landing after login.

Every link is decided by the access its target route declares (``@requires`` and friends), checked against
the person's permissions the same way the request pipeline will check it: a link is shown only when
following it cannot answer 403. A route a plugin did not register (search switched off, say) is not shown.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote, urlsplit

from quart import current_app, g, request, url_for
from werkzeug.exceptions import HTTPException

from .auth.access import restriction_of
from .auth.permissions import access_of
from .auth.principal import Principal
from .errors import Message
from .tenancy.service import has_lower_bodies


@dataclasses.dataclass(frozen=True)
class StaffLink:
    endpoint: str
    label: Message
    # Shown only to bodies with a body below them (the list of cases assigned down is empty elsewhere).
    needs_lower_bodies: bool = False


# The staff navigation, in the order people use it: casework first, then configuration.
STAFF_LINKS = (
    StaffLink("console.inbox_page", {"zh": "待办", "en": "Inbox"}),
    StaffLink("instruction_pages.instructions_page", {"zh": "领导批示", "en": "Instructions"}),
    StaffLink("document_pages.documents_page", {"zh": "公文", "en": "Official documents"}),
    StaffLink("upper_level.followed_list_page", {"zh": "交办跟踪", "en": "Assigned down"}, needs_lower_bodies=True),
    StaffLink("oversight_pages.oversight_list_page", {"zh": "督办", "en": "Oversight"}),
    StaffLink("console.register_page", {"zh": "登记来信来访来电", "en": "Register a letter, visit or call"}),
    StaffLink("imports.imports_page", {"zh": "批量导入", "en": "Bulk import"}),
    StaffLink("supervisor_pages.relays_page", {"zh": "我代为反映的信访", "en": "My relayed petitions"}),
    StaffLink("supervision_console.supervisions_page", {"zh": "监督卡与监督措施", "en": "Cards and actions"}),
    StaffLink("campaign_pages.campaigns_page", {"zh": "排查", "en": "Screening campaigns"}),
    StaffLink("search_pages.search_page", {"zh": "检索", "en": "Search"}),
    StaffLink("search_pages.matters_page", {"zh": "同一事项", "en": "Matters"}),
    StaffLink("search_pages.frequent_words_page", {"zh": "频发词汇", "en": "Frequent words"}),
    StaffLink("analytics_pages.dashboard_page", {"zh": "统计分析", "en": "Analytics"}),
    StaffLink("analytics_pages.alerts_page", {"zh": "预警", "en": "Alerts"}),
    StaffLink("analytics_pages.alert_settings_page", {"zh": "预警设置", "en": "Alert settings"}),
    StaffLink("supervision_console.stats_page", {"zh": "监督统计", "en": "Supervision statistics"}),
    StaffLink("supervisor_pages.network_page", {"zh": "监督员网络", "en": "Supervisor network"}, needs_lower_bodies=True),
    StaffLink("archive_pages.officials_page", {"zh": "廉政档案", "en": "Archives"}),
    StaffLink("record_pages.records_page", {"zh": "归档记录", "en": "Archived records"}),
    StaffLink("supervision_console.notifications_page", {"zh": "提醒", "en": "Notifications"}),
    StaffLink("portal_console.items_page", {"zh": "廉政监督网", "en": "Integrity portal"}),
    StaffLink("config_studio.studio_page", {"zh": "配置中心", "en": "Configuration"}),
    StaffLink("forms.admin_forms", {"zh": "表单管理", "en": "Forms"}),
    StaffLink("supervision_admin.supervision_admin_page", {"zh": "监督配置", "en": "Supervision settings"}),
    StaffLink("document_pages.settings_page", {"zh": "公文设置", "en": "Document settings"}),
    StaffLink("portal_console.theme_page", {"zh": "网站外观", "en": "Portal theme"}),
    StaffLink("account_pages.accounts_admin_page", {"zh": "账号管理", "en": "Accounts"}),
    StaffLink("record_admin.rule_page", {"zh": "归档规则", "en": "Archive rules"}),
    StaffLink("data_export.exports_page", {"zh": "数据导出", "en": "Data export"}),
    StaffLink("exchange_pages.clients_page", {"zh": "数据交换", "en": "Exchange"}),
)

# A person's home is the first of these they may open: caseworkers their inbox, a tenant admin the configuration hub.
HOME_ORDER = (
    "console.inbox_page",
    "supervisor_pages.relays_page",
    "config_studio.studio_page",
    "forms.admin_forms",
    "supervision_admin.supervision_admin_page",
    "supervision_console.notifications_page",
)


def may_open(principal: Principal | None, endpoint: str, tenant_id: str | None) -> bool:
    """Whether the request pipeline (auth/access.authorize) would let ``principal`` through to ``endpoint``."""
    view = current_app.view_functions.get(endpoint)
    access = access_of(view) if view is not None else None
    if access is None:
        return False
    if access.public:
        return True
    if principal is None:
        return False
    if access.platform:
        return principal.is_superuser and principal.can(access.permission)
    return tenant_id is not None and principal.can(access.permission, tenant_id)


def staff_links(principal: Principal | None, tenant, has_lower_bodies: bool = False) -> list[dict]:
    """The navigation of ``tenant``'s staff pages for ``principal``: url, label, and whether it is this page."""
    if principal is None or tenant is None:
        return []
    tenant_id = str(tenant.id)
    return [
        {"url": url_for(link.endpoint, tenant_slug=tenant.slug), "label": link.label, "current": request.endpoint == link.endpoint,
         "endpoint": link.endpoint}
        for link in STAFF_LINKS
        if may_open(principal, link.endpoint, tenant_id) and (has_lower_bodies or not link.needs_lower_bodies)
    ]


async def _has_lower_bodies(principal: Principal | None, tenant) -> bool:
    """Asked only for a signed-in person of this tenant (the only one who gets a staff navigation)."""
    if principal is None or tenant is None or principal.tenant_id != str(tenant.id):
        return False
    return await has_lower_bodies(str(tenant.id))


def staff_home_url(principal: Principal | None, tenant) -> str:
    """The first page of the person's role in ``tenant``; the tenant's portal for anyone else."""
    if principal is not None and tenant is not None:
        for endpoint in HOME_ORDER:
            if may_open(principal, endpoint, str(tenant.id)):
                return url_for(endpoint, tenant_slug=tenant.slug)
    return f"/t/{tenant.slug}/" if tenant is not None else "/"


def home_url_for(principal: Principal | None, tenant) -> str:
    """Where "返回首页" leads: the role's home when signed in (staff of this tenant, or a superuser), else the
    tenant's portal, else the platform's front page."""
    if principal is not None and principal.is_superuser:
        return url_for("review_pages.reviews_page") if "review_pages.reviews_page" in current_app.view_functions else "/"
    if principal is not None and tenant is not None and principal.tenant_id == str(tenant.id):
        return staff_home_url(principal, tenant)
    return f"/t/{tenant.slug}/" if tenant is not None else "/"


def allowed_target(principal: Principal, path: str, tenant_id: str) -> bool:
    """Whether the page at ``path`` (a same-site path, already checked by ``safe_next``) would open for ``principal``:
    a login that asked to go back to a page the role may not see lands on the role's home instead."""
    adapter = current_app.url_map.bind(request.host or "localhost")
    try:
        endpoint, _ = adapter.match(unquote(urlsplit(path).path), method="GET")
    except HTTPException:  # no such page, or not one to GET
        return False
    return may_open(principal, endpoint, tenant_id)


def register_navigation(app) -> None:
    @app.context_processor
    async def navigation_helpers():
        principal = g.get("principal")
        tenant_ctx = g.get("tenant_ctx")
        tenant = tenant_ctx.tenant if tenant_ctx is not None else None
        pending = g.get("pending_login")
        lower = await _has_lower_bodies(principal, tenant)
        return {
            "staff_nav": lambda: [] if _restricted(principal, tenant) else staff_links(principal, tenant, lower),
            "signed_in": principal,
            "account_url": lambda: account_url(principal, tenant),
            # A login whose two-factor code is still to come, for the login page of the same realm (auth/access.py).
            "pending_second_factor": lambda: pending if pending is not None and (
                (tenant is None and pending.is_superuser) or (tenant is not None and pending.tenant_id == str(tenant.id))) else None,
        }


def _restricted(principal: Principal | None, tenant) -> bool:
    """A person who must first change their password or set up two-factor: their navigation is their account page."""
    return principal is not None and restriction_of(principal, None if principal.is_superuser else tenant) is not None


def account_url(principal: Principal | None, tenant) -> str | None:
    """The signed-in person's own account page (password, two-factor)."""
    if principal is None:
        return None
    if principal.is_superuser:
        return url_for("account_pages.platform_account_page") if "account_pages.platform_account_page" in current_app.view_functions else None
    if tenant is not None and principal.tenant_id == str(tenant.id) and "account_pages.staff_account_page" in current_app.view_functions:
        return url_for("account_pages.staff_account_page", tenant_slug=tenant.slug)
    return None
