"""Free reports (staff pages): compose, compare, drill down, save, export."""

from __future__ import annotations

from ..auth.permissions import Permission, requires
from ..http import staff_page
from .blueprints import analytics_pages_bp


@analytics_pages_bp.route("/reports", methods=["GET", "POST"])
@requires(Permission.ANALYTICS_READ)
async def reports_page(tenant_slug):
    return await staff_page("staff/analytics/reports.html")
