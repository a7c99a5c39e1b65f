"""Built-in plugin: notifications for the day's work (notifications/handlers.py), petition deadlines
in the inbox (notifications/deadlines.py), each person's read state and channels, and the notices a
petitioner asked for."""

import logging
from datetime import date

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from ..due_sweeps import sweep_due_tenants
from .deadlines import SWEEP_PART, mark_swept, sweep_petition_deadlines, swept_on, tenants_due
from .handlers import handle
from .models import CitizenNotice, Notification, NotificationDelivery, NotificationPreference, NoticeSweepMark

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("notifications", {"zh": "工作提醒", "en": "Notifications"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Notification, NotificationDelivery, NotificationPreference, CitizenNotice, NoticeSweepMark]


@hookimpl
def xinfang_blueprints():
    from .http import notification_pages_bp, notifications_bp

    return [notifications_bp, notification_pages_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """Cards awaiting approval, subjects' answers, cases assigned or moved here, petitioners' material and
    requests, and the petitioner's own notice when the case moves (idempotent: keys name the event)."""
    await handle(event, tenant)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Petitions due soon or overdue, once per tenant per China day, for the tenants with a petition due
    (deadlines.tenants_due: one question across all tenants); then the day is done for the platform and the day's
    later beats read one document (issue 18)."""
    async def sweep_one(scope: TenantScope, slug: str, day: date) -> None:
        reminders, overdue = await sweep_petition_deadlines(scope, day)
        if reminders or overdue:
            log.info("petition deadlines %s: %d reminder(s), %d overdue", slug, reminders, overdue)

    await sweep_due_tenants(SWEEP_PART, china_today(now).isoformat(), tenants_due, swept_on, mark_swept, sweep_one)
