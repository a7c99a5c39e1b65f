"""Notification routes: a staff member's inbox of reminders and alerts."""

from __future__ import annotations

from quart import Blueprint

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..tenancy.resolution import current_tenant
from . import service

notifications_bp = Blueprint("notifications", __name__, url_prefix="/t/<tenant_slug>/api")


@notifications_bp.get("/notifications")
@requires(Permission.TENANT_READ)
async def list_notifications(tenant_slug):
    """Reminders, overdue alerts, follow-ups due and cases arriving from other bodies, for my roles."""
    rows = await service.inbox(current_tenant().scope, set(current_principal().roles))
    return {"notifications": [
        {"id": str(n.id), "kind": n.kind, "text": n.text.model_dump(), "link": n.link, "created_at": n.created_at.isoformat()}
        for n in rows
    ]}
