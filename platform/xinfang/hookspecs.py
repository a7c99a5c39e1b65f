"""Plugin hook specifications. Built-in features implement these same hooks.

Implementations may be plain functions or coroutines; the platform awaits
what needs awaiting. Third-party plugins register under the entry point group
``xinfang.plugins``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("xinfang")
hookimpl = pluggy.HookimplMarker("xinfang")


@hookspec
def xinfang_plugin_info():
    """Describe this plugin: a PluginInfo (name, titles, default enablement, config JSON Schema)."""


@hookspec
def xinfang_document_models():
    """Return the Beanie document classes this plugin stores."""


@hookspec
def xinfang_blueprints():
    """Return Quart blueprints: tenant routes go under /t/<tenant_slug>, others as they are."""


@hookspec
def xinfang_handle_event(event, tenant, config):
    """React to a committed domain event (OutboxEvent) for an enabled tenant; must be idempotent."""


@hookspec
def xinfang_sweep(now, runtime):
    """Do idempotent periodic work; called by the single beat sweeper (runtime: settings, enqueue)."""


@hookspec
def xinfang_celery_tasks(celery_app, runtime):
    """Register this plugin's Celery tasks (named xinfang.<plugin>.*) on the worker app; run async code via runtime.run."""


@hookspec
def xinfang_cli_commands():
    """Return click commands (or groups) to add to the ``xinfang`` command."""


@hookspec
def xinfang_petition_panels(tenant, petition, principal):
    """Return HTML sections (markupsafe.Markup) for the staff petition page, or None."""


@hookspec
def xinfang_dashboard_panels(tenant, principal):
    """Return HTML sections (markupsafe.Markup) for the analytics dashboard, or None."""


@hookspec
def xinfang_petition_flags(tenant_id, petition_id):
    """Return {"repeat": bool, "collective": bool} for a petition (analytics counts them), or None."""


@hookspec
def xinfang_password_login_refused(tenant_id):
    """Return a zh/en message when this tenant's staff may not sign in with a password (single sign-on only), or None."""


@hookspec
def xinfang_rising_words(tenant_id, end, days):
    """Words rising in a tenant's petitions of the ``days`` days ending ``end`` against the windows before: a list of
    {"term", "count", "previous_mean", "windows", "surprise"} (analytics' early warning reads them), or None."""


@hookspec
def xinfang_configure(settings):
    """Read this process's settings once, when a web or worker process has made its plugin manager."""


@hookspec
def xinfang_metrics_readings(settings):
    """Return gauges read when Prometheus scrapes /metrics (xinfang.observability.readings.Reading list), or None."""
