"""Built-in plugin: card configuration storage."""

import logging

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from ..tenancy.service import list_active_tenants
from .models import ActionType, CardType, EscalationRule, Supervision
from .sweeper import sweep_tenant

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("cards", {"zh": "监督卡", "en": "Supervision cards"}, required=True)


@hookimpl
def xinfang_document_models():
    return [CardType, EscalationRule, ActionType, Supervision]


@hookimpl
def xinfang_blueprints():
    from .http import answers_bp, cards_bp

    return [cards_bp, answers_bp]


@hookimpl
async def xinfang_sweep(now, runtime):
    """Deadlines, reminders, follow-ups and escalation rules, tenant by tenant."""
    today = china_today(now)
    for tenant in await list_active_tenants():
        report = await sweep_tenant(TenantScope(tenant.id), today)
        if report.total():
            log.info("supervision sweep %s: %s", tenant.slug, report)
