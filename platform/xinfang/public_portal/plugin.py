"""Built-in plugin: the public integrity portal (廉政监督网) of each tenant and its publishing in the staff console."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from . import theme

__all__ = ["theme"]  # imported for its registration of the portal_theme configuration area


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("public_portal", {"zh": "廉政监督网", "en": "Integrity portal"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import PortalFile, PortalLogo, Publication, Suggestion

    return [Publication, Suggestion, PortalLogo, PortalFile]


@hookimpl
def xinfang_blueprints():
    from .console import portal_console_bp
    from .pages import public_portal_bp

    return [public_portal_bp, portal_console_bp]
