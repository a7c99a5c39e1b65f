"""Built-in plugin: card configuration storage."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import CardType, EscalationRule


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("cards", {"zh": "监督卡", "en": "Supervision cards"}, required=True)


@hookimpl
def xinfang_document_models():
    return [CardType, EscalationRule]
