"""Built-in plugin: leaders' instructions (批示) on cases and cards, followed through, and the beat's overdue flag."""

import logging

from ..hookspecs import hookimpl
from ..petitions.service import china_today
from ..plugins import PluginInfo
from .models import Instruction

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("instructions", {"zh": "领导批示", "en": "Leaders' instructions"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Instruction]


@hookimpl
def xinfang_blueprints():
    from .http import instructions_api_bp
    from .pages import instruction_pages_bp

    return [instructions_api_bp, instruction_pages_bp]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """The instructions on the case, their steps, and the forms to write one, report action, confirm or ask again."""
    from .pages import petition_panel

    return await petition_panel(tenant, petition, principal)


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """An instruction's step (instruction.written / acted / fulfilled / asked_again / overdue): tell the people concerned."""
    from .notify import notify_for

    await notify_for(event)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Flag instructions past their deadline with nothing done: one indexed query over all tenants, each flagged once."""
    from .sweep import flag_overdue_instructions

    flagged = await flag_overdue_instructions(china_today(now))
    if flagged:
        log.info("instructions: %d flagged overdue", flagged)
