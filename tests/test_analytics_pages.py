"""Analytics staff pages: the leader's dashboard, free reports, drill-down, saved reports and exports."""

from __future__ import annotations

ISOLATION_CASES = {
    "analytics_pages.dashboard_page": {"method": "GET", "path": "/staff/analytics/", "kind": "collection"},
    "analytics_pages.reports_page": {"method": "GET", "path": "/staff/analytics/reports", "kind": "collection"},
}
