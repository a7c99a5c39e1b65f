"""Notification routes: a staff member's inbox (API and page actions), read state, and e-mail/SMS choices.

Also the app-wide template helper ``unread_notifications()``: the signed-in staff member's unread count
(one indexed count query, once per request), 0 for anyone else.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, g, redirect, request, url_for
from quart_schema import document_request

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError
from ..http import parse_body, refusal_message, staff_page
from ..tenancy.resolution import current_tenant
from . import service

notifications_bp = Blueprint("notifications", __name__, url_prefix="/t/<tenant_slug>/api")
notification_pages_bp = Blueprint("notification_pages", __name__, url_prefix="/t/<tenant_slug>/staff")


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: list[str] = Field(default_factory=list, max_length=2, description="email and/or sms, besides the inbox")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)


async def unread_notifications() -> int:
    """The signed-in staff member's unread notifications in this tenant; 0 for anyone else."""
    principal, ctx = g.get("principal"), g.get("tenant_ctx")
    if principal is None or principal.is_superuser or ctx is None or principal.tenant_id != ctx.tenant_id:
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = await service.unread_count(ctx.scope, principal.account_id)
    return g.unread_notifications


@notifications_bp.app_context_processor
async def notification_helpers():
    return {"unread_notifications": unread_notifications}


def _me():
    principal = current_principal()
    return current_tenant().scope, principal.account_id, set(principal.roles)


def _item(n, unread: set[str]) -> dict:
    return {"id": str(n.id), "kind": n.kind, "text": n.text.model_dump(), "link": n.link, "created_at": n.created_at.isoformat(),
            "unread": str(n.id) in unread}


@notifications_bp.get("/notifications")
@requires(Permission.TENANT_READ)
async def list_notifications(tenant_slug):
    """Reminders, alerts, approvals, answers, assigned cases and petitioners' requests for my roles or me, newest first,
    each with whether I have read it; ``unread`` counts my unread ones."""
    scope, me, roles = _me()
    rows = await service.inbox(scope, roles, account_id=me)
    unread = await service.unread_ids(scope, me, rows)
    return {"notifications": [_item(n, unread) for n in rows], "unread": await service.unread_count(scope, me)}


@notifications_bp.post("/notifications/<notification_id>/read")
@requires(Permission.TENANT_READ)
async def mark_notification_read(tenant_slug, notification_id):
    """Mark one of my notifications read."""
    scope, me, roles = _me()
    await service.do_mark_read(scope, await service.access_notification(scope, notification_id, me, roles), me)
    return {"id": notification_id, "unread": False, "unread_count": await service.unread_count(scope, me)}


@notifications_bp.post("/notifications/read-all")
@requires(Permission.TENANT_READ)
async def mark_all_notifications_read(tenant_slug):
    """Mark every notification in my inbox read."""
    scope, me, roles = _me()
    return {"marked": await service.do_mark_all_read(scope, me, roles), "unread_count": await service.unread_count(scope, me)}


def _preference_view(row) -> dict:
    return {"channels": list(row.channels), "email": row.email, "phone": row.phone}


@notifications_bp.get("/notification-preferences")
@requires(Permission.TENANT_READ)
async def show_notification_preferences(tenant_slug):
    """My choice of e-mail and/or SMS besides the inbox, and the addresses."""
    scope, me, _ = _me()
    return _preference_view(await service.preference_of(scope, me))


@notifications_bp.put("/notification-preferences")
@requires(Permission.TENANT_READ)
@document_request(PreferenceIn)
async def set_notification_preferences(tenant_slug):
    """Choose e-mail and/or SMS (each needs its address); an empty list: the inbox only."""
    scope, me, _ = _me()
    body = await parse_body(PreferenceIn)
    return _preference_view(await service.do_set_preference(scope, me, channels=body.channels, email=body.email, phone=body.phone))


# -- the page's actions (the page itself: supervision_console.notifications_page) ---------------------------------


async def inbox_page(*, message=None, errors: dict | None = None, values: dict | None = None, status: int = 200):
    """The notifications page: my inbox with read state, mark read, and my e-mail/SMS choice."""
    scope, me, roles = _me()
    rows = await service.inbox(scope, roles, account_id=me)
    preference = await service.preference_of(scope, me)
    return await staff_page("staff/notifications.html", status, items=rows, unread=await service.unread_ids(scope, me, rows),
                            staff_link=staff_link, preference=values or _preference_view(preference), errors=errors or {},
                            message=message)


def staff_link(api_link: str | None) -> str | None:
    """A notification's API link as the staff page that shows the same thing."""
    slug = current_tenant().tenant.slug
    if api_link and api_link.startswith(f"/t/{slug}/staff/"):  # already a staff page of this tenant (an early-warning alert)
        return api_link
    for prefix, endpoint, arg in (("/api/supervisions/", "supervision_console.supervision_page", "supervision_id"),
                                  ("/api/petitions/", "console.petition_page", "petition_id"),
                                  ("/api/followed/", "upper_level.followed_page", "petition_id")):
        if api_link and api_link.startswith(prefix):
            return url_for(endpoint, tenant_slug=slug, **{arg: api_link[len(prefix):]})
    return None


def _back():
    return redirect(url_for("supervision_console.notifications_page", tenant_slug=current_tenant().tenant.slug))


@notification_pages_bp.post("/notifications/<notification_id>/read")
@requires(Permission.TENANT_READ)
async def mark_read_submit(tenant_slug, notification_id):
    scope, me, roles = _me()
    await service.do_mark_read(scope, await service.access_notification(scope, notification_id, me, roles), me)
    return _back()


@notification_pages_bp.post("/notifications/read-all")
@requires(Permission.TENANT_READ)
async def mark_all_read_submit(tenant_slug):
    scope, me, roles = _me()
    await service.do_mark_all_read(scope, me, roles)
    return _back()


@notification_pages_bp.post("/notifications/preferences")
@requires(Permission.TENANT_READ)
async def preferences_submit(tenant_slug):
    scope, me, _ = _me()
    form = await request.form
    values = {"channels": form.getlist("channels"), "email": form.get("email", ""), "phone": form.get("phone", "")}
    try:
        await service.do_set_preference(scope, me, **values)
    except DomainError as refused:
        return await inbox_page(message=refusal_message(refused), errors=getattr(refused, "fields", None) or {}, values=values,
                                status=refused.status)
    return _back()
