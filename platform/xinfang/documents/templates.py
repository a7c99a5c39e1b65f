"""The body of an outgoing document, rendered from the tenant's own template for its kind (DocumentSettings.templates).

Tenant templates are untrusted code: they run exactly as the wording editor's card documents do (cards/documents.py):
Jinja's sandbox with autoescaping in a separate process, within a time and output budget, and what comes out passes
the official-document allow-list. A broken template is refused with a zh/en message on ``document_template`` (422).
"""

from __future__ import annotations

import re
from html import unescape

from ..cards.documents import _render, date_words
from .models import KIND_NAMES

DEFAULT_TEMPLATE = """<article class="xf-official">
<p>{% for r in recipients %}{{ r }}{% if not loop.last %}、{% endif %}{% endfor %}：</p>
{% for paragraph in paragraphs %}<p style="text-indent: 2em">{{ paragraph }}</p>
{% endfor %}<p style="text-align: right">{{ tenant_name }}</p>
<p style="text-align: right">{{ issued_on_chinese }}</p>
</article>"""

SAMPLE = {"tenant_name": "某某纪委", "kind_name": "督办函", "title": "关于某事项的督办函", "document_no": "某纪信〔2027〕1号",
          "recipients": ["某某单位"], "paragraphs": ["第一段。", "第二段。"], "issued_on": "2027-01-04",
          "issued_on_chinese": "二〇二七年一月四日"}


def paragraphs_of(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def context(*, tenant_name: str, kind: str, title: str, body: str, recipients: list[str], document_no: str, issued_on: str) -> dict:
    return {"tenant_name": tenant_name, "kind_name": KIND_NAMES[kind]["zh"], "title": title, "document_no": document_no,
            "recipients": recipients, "paragraphs": paragraphs_of(body), "issued_on": issued_on,
            "issued_on_chinese": date_words(issued_on)["chinese"] if issued_on else "（签发时填写）"}


async def render_body(template: str | None, values: dict) -> str:
    """The body as HTML, through the sandbox and the allow-list (InvalidInput on ``document_template`` when refused)."""
    return await _render(template or DEFAULT_TEMPLATE, values)


async def check_template(template: str) -> None:
    await _render(template, SAMPLE)


def html_paragraphs(html: str) -> list[str]:
    """The rendered body as plain paragraphs, for the PDF (block ends and <br> end a paragraph)."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-4]|li|tr|header|footer|section|article)>", "\n", html)
    text = unescape(re.sub(r"<[^>]+>", "", text))
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- the studio's wording editor for document templates ---------------------------------------------------------
# Each kind's template is a configuration area ``document_template:<kind>`` with content {"key": kind, "template": text}
# ("" = the default), versioned like a card's wording: every save a version, compared and rolled back in the studio.
# The API's PUT document-settings keeps working: a template changed there is recorded as a version the next time the
# studio saves this kind (``_baseline``), so a rollback never loses it.

AREA = "document_template"
FIELD = "document_template"
KNOWN = {"tenant_name", "kind_name", "title", "document_no", "recipients", "paragraphs", "issued_on", "issued_on_chinese",
         "loop", "r", "paragraph"}
PLACEHOLDERS = (
    ({"zh": "发文机关（本单位名称）", "en": "the issuing body (this body's name)"}, "{{ tenant_name }}"),
    ({"zh": "公文种类，如 督办函", "en": "the document kind, e.g. 督办函"}, "{{ kind_name }}"),
    ({"zh": "标题", "en": "the title"}, "{{ title }}"),
    ({"zh": "文号，如 泗纪信〔2026〕18号（签发时给出）", "en": "the document number (given at signing)"}, "{{ document_no }}"),
    ({"zh": "主送单位，用顿号隔开", "en": "the recipients, separated by 、"},
     "{% for r in recipients %}{{ r }}{% if not loop.last %}、{% endif %}{% endfor %}"),
    ({"zh": "正文各段（每段首行缩进两字）", "en": "the text's paragraphs (each indented two characters)"},
     '{% for paragraph in paragraphs %}<p style="text-indent: 2em">{{ paragraph }}</p>{% endfor %}'),
    ({"zh": "落款日期（中文数字），如 二〇二六年十二月七日", "en": "the date of issue in Chinese numerals"}, "{{ issued_on_chinese }}"),
    ({"zh": "发文日期（数字格式，如 2026-12-07）", "en": "the date of issue as digits"}, "{{ issued_on }}"),
)


def area_of(kind: str) -> str:
    return f"{AREA}:{kind}"


def _kind_of(kind: str) -> str:
    from ..errors import NotFound

    if kind not in KIND_NAMES:
        raise NotFound({"zh": "没有这种公文", "en": "no such document kind"})
    return kind


async def preview(scope, kind: str, draft: str) -> str:
    """The draft rendered on sample values of this body (the sandbox, its budget and the allow-list), or InvalidInput."""
    from ..cards.document_html import clean_document_html_off_loop
    from ..errors import InvalidInput, ServiceUnavailable
    from ..notifications.wording import BUSY, refusal_words, unknown_placeholders, unknown_words
    from ..sandbox.limits import TemplateRefused
    from ..sandbox.pool import render_untrusted
    from ..tenancy.service import get_tenant

    source = draft if draft.strip() else DEFAULT_TEMPLATE
    unknown = unknown_placeholders(source, KNOWN)
    if unknown:
        raise InvalidInput(fields={FIELD: unknown_words(unknown, {"zh": "公文模板", "en": "the document template"})})
    tenant = await get_tenant(scope.tenant_id)
    values = dict(SAMPLE, tenant_name=tenant.name.zh if tenant else SAMPLE["tenant_name"], kind_name=KIND_NAMES[kind]["zh"],
                  title=f"关于某事项的{KIND_NAMES[kind]['zh']}")
    try:  # the wording editor's own words for what the sandbox refused (cards/wording.render_draft)
        html = await render_untrusted(source, values)
    except TemplateRefused as refused:
        if refused.kind == "busy":
            raise ServiceUnavailable(BUSY) from None
        raise InvalidInput(fields={FIELD: refusal_words(refused, {"zh": "公文模板", "en": "the document template"})}) from None
    return await clean_document_html_off_loop(html)


async def _settings(scope):
    """The body's document settings (service.settings_of, read here: service imports this module)."""
    from .models import DocumentSettings

    return await scope.repo(DocumentSettings).find_one({}) or DocumentSettings(tenant_id=scope.tenant_id)


async def stored_template(scope, kind: str) -> str:
    return (await _settings(scope)).templates.get(kind, "")


async def do_set_document_template(scope, kind: str, template: str | None, actor, note: str = "") -> None:
    """Check the template on sample values, keep it on the body's document settings and record the version.
    ``template`` None or "" restores the default."""
    from ..errors import Conflict
    from ..tenancy.config_versions import do_record_config_version, latest_config_version
    from .models import DocumentSettings

    kind = _kind_of(kind)
    template = (template or "").replace("\r\n", "\n")
    if template.strip():
        await preview(scope, kind, template)
    else:
        template = ""
    row = await _settings(scope)
    before = row.templates.get(kind, "")
    newest = await latest_config_version(scope, area_of(kind))
    if (newest is None and before) or (newest is not None and newest.content.get("template", "") != before):
        await do_record_config_version(scope, area_of(kind), {"key": kind, "template": before}, actor=actor,
                                       note="此前的模板（默认或经接口设置）/ the template before (the default or set over the API)")
    if before != template:
        templates = dict(row.templates)
        if template:
            templates[kind] = template
        else:
            templates.pop(kind, None)
        row.templates = templates
        if row.id is None:
            await scope.repo(DocumentSettings).insert(row)
        elif not await scope.repo(DocumentSettings).replace_versioned(row):
            raise Conflict({"zh": "同时有其他修改，请刷新后重试", "en": "changed at the same time; reload and try again"})
    await do_record_config_version(scope, area_of(kind), {"key": kind, "template": template}, actor=actor, note=note)


async def _apply(scope, content: dict, actor, note: str) -> None:
    from ..errors import InvalidInput

    kind = content.get("key") if isinstance(content, dict) else None
    if not isinstance(kind, str):
        raise InvalidInput(fields={"key": {"zh": "缺少公文种类", "en": "the content names no document kind"}})
    await do_set_document_template(scope, kind, content.get("template") or "", actor, note)


async def _check(scope, area: str, content: dict) -> dict:
    from ..errors import InvalidInput

    kind = content.get("key") if isinstance(content, dict) else None
    if not isinstance(kind, str) or kind not in KIND_NAMES or area != area_of(kind):
        return {"key": {"zh": "内容与公文种类不符", "en": "the content does not name this document kind"}}
    try:
        if (content.get("template") or "").strip():
            await preview(scope, kind, content["template"])
    except InvalidInput as refused:
        return refused.fields
    return {}


async def _current(scope) -> dict:
    templates = (await _settings(scope)).templates
    return {area_of(kind): {"key": kind, "template": text} for kind, text in templates.items() if kind in KIND_NAMES}


def _subject(scope, key: str, lang: str) -> str | None:
    return KIND_NAMES.get(key, {}).get(lang)


def _path_label(path: str, lang: str) -> str | None:
    labels = {"template": {"zh": "公文模板", "en": "document template"}, "key": {"zh": "公文种类", "en": "document kind"}}
    return labels[path][lang] if path in labels else None


def _register() -> None:
    from ..tenancy.config_versions import register_config_area

    register_config_area(AREA, {"zh": "公文模板", "en": "Document template"}, _apply, check=_check, current=_current,
                         subject=_subject, path_label=_path_label)


_register()
