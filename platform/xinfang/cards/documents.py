"""Issued documents (cards, notices) rendered from the tenant's own template, kept as they went out.

Tenant templates are untrusted text: they render in Jinja's sandbox with
autoescaping, see only the plain values below, and a broken template is
refused with a clear message instead of failing the issue half-way.
"""

from __future__ import annotations

from importlib import resources

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import InvalidInput
from ..tenancy.models import Tenant
from .models import ActionType, CardType, Supervision

_sandbox = SandboxedEnvironment(autoescape=True)
_DEFAULT = resources.files("xinfang").joinpath("templates/documents/default.html").read_text(encoding="utf-8")


SAMPLE_CONTEXT = {
    "kind": "card", "tenant_name": "某某纪委", "type_name": "预警卡", "colour": "#f2c200", "colour_name": "黄色",
    "when": "适用情形", "consequence": "后果", "subject": {"kind": "person", "name": "张三", "position": "副校长", "unit": "某中学"},
    "issued_on": "2027-01-04", "response_due": "2027-01-25", "copies": ["组织人事部门"],
}


def check_template(template: str) -> None:
    """Parse and try a tenant's template on sample values; raises jinja2's TemplateError when it is broken."""
    _sandbox.from_string(template).render(SAMPLE_CONTEXT)


def render_document(tenant: Tenant, kind_type: CardType | ActionType, sup: Supervision) -> str:
    context = {
        "kind": sup.kind,
        "tenant_name": tenant.name.zh,
        "type_name": kind_type.name.zh,
        "colour": getattr(kind_type, "colour", "#444444"),
        "colour_name": getattr(getattr(kind_type, "colour_name", None), "zh", ""),
        "when": getattr(getattr(kind_type, "when", None), "zh", ""),
        "consequence": getattr(getattr(kind_type, "consequence", None), "zh", ""),
        "subject": sup.subject.model_dump(),
        "issued_on": sup.issued_on,
        "response_due": sup.response_due,
        "copies": [c.name.zh for c in sup.copies],
    }
    try:
        return _sandbox.from_string(kind_type.document_template or _DEFAULT).render(context)
    except TemplateError as error:
        raise InvalidInput(fields={"document_template": {
            "zh": f"本单位的文书模板有误：{error}", "en": f"this body's document template is broken: {error}"}}) from None
