"""Built-in plugin: official documents (公文), outgoing (发文) and incoming (收文), and the beat's deadline reminders."""

import logging

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import DocumentNumber, DocumentScan, DocumentSettings, IssuedPdf, OfficialDocument

log = logging.getLogger(__name__)


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("documents", {"zh": "公文（发文、收文）", "en": "Official documents"}, required=True)


@hookimpl
def xinfang_document_models():
    return [OfficialDocument, DocumentNumber, IssuedPdf, DocumentScan, DocumentSettings]


@hookimpl
def xinfang_blueprints():
    from .http import documents_api_bp
    from .pages import document_pages_bp

    return [documents_api_bp, document_pages_bp]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """The documents linked to the case, on the staff case page."""
    from .pages import petition_panel

    return await petition_panel(tenant, petition, principal)


@hookimpl
async def xinfang_sweep(now, runtime):
    """Remind people to act on incoming documents due within a working day (once a day each)."""
    from .service import remind_due

    sent = await remind_due(now)
    if sent:
        log.info("documents: %d deadline reminders", sent)
