"""Built-in plugin: card configuration storage."""

import logging

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from ..tenancy.service import list_active_tenants
from .models import ActionType, CardType, EscalationRule, Supervision
from .sweeper import SweepMark, mark_swept, sweep_tenant, swept_on

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("cards", {"zh": "监督卡", "en": "Supervision cards"}, required=True)


@hookimpl
def xinfang_document_models():
    return [CardType, EscalationRule, ActionType, Supervision, SweepMark]


@hookimpl
def xinfang_blueprints():
    from .admin import supervision_admin_bp
    from .console import supervision_console_bp
    from .http import answers_bp, cards_bp

    return [cards_bp, answers_bp, supervision_console_bp, supervision_admin_bp]


@hookimpl
async def xinfang_sweep(now, runtime):
    """Deadlines, reminders, follow-ups and escalation rules, once per tenant per China day.

    Every rule works at day granularity, and at 200,000 supervisions a sweep takes
    longer than the beat interval (bench/sweeper.py): sweeping again the same day
    would only keep a worker and the store busy.
    """
    today = china_today(now)
    for tenant in await list_active_tenants():
        scope = TenantScope(tenant.id)
        last = await swept_on(scope)
        if last is not None and last >= today.isoformat():  # done for today (or for a later day already)
            continue
        report = await sweep_tenant(scope, today)
        await mark_swept(scope, today.isoformat())
        if report.total():
            log.info("supervision sweep %s: %s", tenant.slug, report)
