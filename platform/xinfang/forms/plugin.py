"""Built-in plugin: tenant forms."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from .drafts import FormDraft
from .models import FormVersion


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("forms", {"zh": "表单", "en": "Forms"}, required=True)


@hookimpl
def xinfang_document_models():
    return [FormVersion, FormDraft]


@hookimpl
def xinfang_blueprints():
    from .builder_http import form_builder_bp  # also registers the "form" and "archive_type" configuration areas
    from .http import forms_bp

    return [forms_bp, form_builder_bp]
