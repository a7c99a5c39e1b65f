"""Built-in plugin: petitions, the citizen portal, the staff console, and the overdue sweep."""

import logging

from ..crypto import RecordKey, TenantKey
from ..due_sweeps import active_tenants, tenant_ids_of
from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from ..ratelimit import RateCounter, forget_expired
from ..store.scoped import TenantScope
from .models import Attachment, CalendarRules, Petition, Receipt
from .service import china_today, flag_overdue
from .workflow import TenantWorkflow
from .workflow_designer import WorkflowDraft
from .workflow_versions import WorkflowVersion

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("petitions", {"zh": "信访件", "en": "Petitions"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Petition, Receipt, Attachment, CalendarRules, TenantWorkflow, WorkflowVersion, WorkflowDraft, TenantKey, RecordKey, RateCounter]


@hookimpl
def xinfang_blueprints():
    from .console import console_bp
    from .http import petitions_bp
    from .portal import portal_bp
    from .upper_level_http import upper_level_bp
    from ..calendar.pages import calendar_admin_bp
    from .workflow_pages import workflow_admin_bp, workflow_api_bp

    return [petitions_bp, portal_bp, console_bp, upper_level_bp, calendar_admin_bp, workflow_api_bp, workflow_admin_bp]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """A case assigned here from above: the assignment, its reminders and the result report form (upper_level.py)."""
    from .upper_level_http import petition_panel

    return await petition_panel(tenant, petition, principal)


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A result report, a decision on it, or a reminder: tell the other body (upper_level.py)."""
    from .upper_level import notify_for

    await notify_for(event)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Flag overdue petitions of the tenants that have one (each through its own scope), and drop old rate counters.

    Which tenants: one question across all tenants for petitions not yet flagged whose time limit is before today
    (the tenant on each row; an index on (overdue, due_on)), not an update per tenant on every beat (issue 18)."""
    today = china_today(now)
    due = await tenant_ids_of(Petition.get_pymongo_collection(), {"overdue": False, "due_on": {"$lt": today.isoformat()}})
    flagged = 0
    for tenant_id in sorted(await active_tenants(due)):
        flagged += await flag_overdue(TenantScope(tenant_id), today)
    if flagged:
        log.info("sweeper flagged %d overdue petition(s)", flagged)
    await forget_expired(now.timestamp())
