"""Built-in plugin: archived records (归档) of closed cases, cards and actions: frozen, numbered, audited on reading."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import ArchivedRecord, ArchiveNumber, ArchiveRule


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("records", {"zh": "归档", "en": "Archived records"}, required=True)


@hookimpl
def xinfang_document_models():
    return [ArchiveRule, ArchiveNumber, ArchivedRecord]


@hookimpl
def xinfang_blueprints():
    from .http import records_api_bp
    from .pages import record_admin_bp, record_pages_bp

    return [records_api_bp, record_pages_bp, record_admin_bp]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    """A closed case's archive number, or the 归档 button for those who may archive it."""
    from .pages import petition_panel

    return await petition_panel(tenant, petition, principal)
