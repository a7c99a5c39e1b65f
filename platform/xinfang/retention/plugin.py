"""Built-in plugin: retention periods per tenant and record kind, and crypto-shredding of identities at their end."""

from __future__ import annotations

import logging

from ..hookspecs import hookimpl
from ..plugins import PluginInfo

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("retention", {"zh": "保存期限", "en": "Retention"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import RetentionDue, RetentionMark, RetentionPolicy

    return [RetentionPolicy, RetentionMark, RetentionDue]


@hookimpl
def xinfang_blueprints():
    from .pages import retention_bp  # its service registers the configuration area "retention"

    return [retention_bp]


@hookimpl
def xinfang_cli_commands():
    from .cli import retention_command

    return [retention_command]


@hookimpl
async def xinfang_sweep(now, runtime):
    """Each tenant once a day of its zone: identities of closed cases past their period destroyed, other kinds listed."""
    from .keys import keyring_for
    from .sweep import sweep_retention

    keyring = keyring_for(runtime.settings if runtime is not None else None)
    stats = await sweep_retention(keyring, now)
    if any(stats.values()):
        log.info("retention: %s", dict(stats))
