"""The leader's dashboard of a tenant (staff page): today's figures, cards by colour, supervision form mix,
the tenants below, and the panels other features add (hook ``xinfang_dashboard_panels``)."""

from __future__ import annotations

from ..auth.permissions import Permission, requires
from ..http import staff_page
from .blueprints import analytics_pages_bp


@analytics_pages_bp.get("/")
@requires(Permission.ANALYTICS_READ)
async def dashboard_page(tenant_slug):
    return await staff_page("staff/analytics/dashboard.html")
