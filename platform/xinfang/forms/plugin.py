"""Built-in plugin: tenant forms."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .models import FormVersion


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("forms", {"zh": "表单", "en": "Forms"}, required=True)


@hookimpl
def xinfang_document_models():
    return [FormVersion]


@hookimpl
def xinfang_blueprints():
    from .http import forms_bp

    return [forms_bp]
