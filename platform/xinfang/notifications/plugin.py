"""Built-in plugin: notifications for the day's work (notifications/handlers.py), petition deadlines
in the inbox (notifications/deadlines.py), each person's read state and channels, and the notices a
petitioner asked for."""

import logging

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from ..tenancy.service import list_active_tenants
from .deadlines import mark_swept, sweep_petition_deadlines, swept_on
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
    """Petitions due soon or overdue, once per tenant per China day."""
    today = china_today(now)
    for tenant in await list_active_tenants():
        scope = TenantScope(tenant.id)
        last = await swept_on(scope)
        if last is not None and last >= today.isoformat():
            continue
        reminders, overdue = await sweep_petition_deadlines(scope, today)
        await mark_swept(scope, today.isoformat())
        if reminders or overdue:
            log.info("petition deadlines %s: %d reminder(s), %d overdue", tenant.slug, reminders, overdue)
