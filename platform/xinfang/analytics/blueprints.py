"""The analytics blueprints, shared by its route modules (``plugin.ROUTE_MODULES``): endpoint names stay
``analytics.<view>`` (JSON), ``analytics_pages.<view>`` (staff pages), ``platform_analytics.<view>`` (superusers)."""

from __future__ import annotations

from quart import Blueprint

analytics_api_bp = Blueprint("analytics", __name__, url_prefix="/t/<tenant_slug>/api/analytics")
analytics_pages_bp = Blueprint("analytics_pages", __name__, url_prefix="/t/<tenant_slug>/staff/analytics")
platform_analytics_bp = Blueprint("platform_analytics", __name__, url_prefix="/api/platform/analytics")
