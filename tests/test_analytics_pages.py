"""Analytics staff pages: the leader's dashboard, free reports, drill-down, saved reports and exports."""

from __future__ import annotations

ISOLATION_CASES = {
    "analytics_pages.dashboard_page": {"method": "GET", "path": "/staff/analytics/", "kind": "collection"},
    "analytics_pages.reports_page": {"method": "GET", "path": "/staff/analytics/reports", "kind": "collection"},
    "analytics_pages.saved_report_page": {"method": "GET", "path": "/staff/analytics/reports/saved/{id}", "kind": "object", "owner_object": "petition"},
    "analytics_pages.saved_report_submit": {"method": "POST", "path": "/staff/analytics/reports/saved/{id}", "kind": "object",
                                            "owner_object": "petition", "form": True, "body": {"action": "rename", "name": "隔离测试"}},
    "analytics_pages.drill_page": {"method": "GET", "path": "/staff/analytics/reports/cases?m=received&measure=received", "kind": "collection"},
    "analytics_pages.export_report": {"method": "GET", "path": "/staff/analytics/reports/export/csv?m=received&d1=month", "kind": "collection"},
}
