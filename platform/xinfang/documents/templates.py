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
