"""Built-in plugin: card configuration storage."""

import logging
from datetime import date

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from ..due_sweeps import sweep_due_tenants
from ..petitions.service import tenant_calendar
from .config_areas import register_definition_areas
from .models import ActionType, CardType, DocumentSerial, EscalationRule, Supervision
from .rules import recheck_repeats_of_person
from .sweeper import SWEEP_PART, SweepMark, mark_swept, sweep_tenant, swept_on, tenants_due

log = logging.getLogger(__name__)
register_definition_areas()  # card types, action types and rules are configuration areas (versions, export, import)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("cards", {"zh": "监督卡", "en": "Supervision cards"}, required=True)


@hookimpl
def xinfang_document_models():
    return [CardType, EscalationRule, ActionType, Supervision, SweepMark, DocumentSerial]


@hookimpl
def xinfang_blueprints():
    from .admin import supervision_admin_bp
    from .console import supervision_console_bp
    from .http import answers_bp, cards_bp
    from .wording_admin import wording_admin_bp

    return [cards_bp, answers_bp, supervision_console_bp, supervision_admin_bp, wording_admin_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """An official named on a card after it went out: "a second card within the period" counts that
    person across units from now on, so the rule is decided again for it and the person's later cards."""
    if event.name != "supervision.official_linked" or tenant is None or not event.subject_id:
        return
    scope = TenantScope(event.tenant_id)
    card = await scope.repo(Supervision).get(event.subject_id)
    if card is not None:
        await recheck_repeats_of_person(scope, await tenant_calendar(scope), card)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Deadlines, reminders, follow-ups and escalation rules, once per tenant per China day, for the tenants with
    anything due (sweeper.tenants_due: questions across all tenants, not a walk tenant by tenant).

    Every rule works at day granularity, and at 200,000 supervisions a sweep takes
    longer than the beat interval (bench/sweeper.py): sweeping again the same day
    would only keep a worker and the store busy. Once every due tenant is swept the day is marked done for the
    platform, and the day's later beats read that one document (issue 18: bench/tenants.py).
    """
    async def sweep_one(scope: TenantScope, slug: str, day: date) -> None:
        report = await sweep_tenant(scope, day)
        if report.total():
            log.info("supervision sweep %s: %s", slug, report)

    await sweep_due_tenants(SWEEP_PART, china_today(now).isoformat(), tenants_due, swept_on, mark_swept, sweep_one)
