"""The markup an issued document may contain: an allow-list for official documents, applied by nh3.

A tenant's template is autoescaped, but its own text is markup, so a template can
write any tag. What may reach a page is what an official document needs:
headings, paragraphs, emphasis, lists and tables, and the document's frame
(article, header, footer, section). No script, no style element, no links, images,
frames, forms or event attributes, no ``id`` (page elements keep theirs).

``style`` is allowed, limited to text, colour, border and spacing properties: the
default template draws the card's colour as a border, and Chinese official
documents need centred titles, first-line indents and right-aligned dates. None of
the allowed properties can load anything (no ``background``, ``list-style``,
``border-image``, ``content``, ``cursor``: nothing that takes a ``url()``), and
without ``position`` a document cannot lay itself over the rest of the page.

Applied when the document is rendered (so what is stored is clean) and again
when it is served (documents stored before this list existed).
"""

from __future__ import annotations

import asyncio

import nh3
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "article", "header", "footer", "section", "div", "span", "p", "br", "hr", "h1", "h2", "h3", "h4",
    "strong", "em", "b", "i", "u", "small", "sub", "sup", "blockquote", "ul", "ol", "li",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {
    "*": {"class", "style", "lang", "title"},
    "article": {"data-kind"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
ALLOWED_STYLE_PROPERTIES = frozenset({
    "color", "background-color",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style", "border-width",
    "border-collapse",
    "text-align", "text-indent", "text-decoration", "vertical-align", "white-space",
    "font-weight", "font-style", "font-size", "font-family", "line-height", "letter-spacing",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left", "width",
})


def clean_document_html(html: str) -> str:
    """Only the allowed markup of ``html``; everything else is dropped (script and style with their content)."""
    text = html.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot cross into nh3
    return nh3.clean(text, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     filter_style_properties=set(ALLOWED_STYLE_PROPERTIES), url_schemes=set(), link_rel=None, strip_comments=True)


# nh3 takes about 0.3 ms per KiB and holds the GIL part of the time: a long document is cleaned
# in a thread, so a page view never stalls the event loop by more than a few milliseconds.
INLINE_CHARS = 8 * 1024


async def clean_document_html_off_loop(html: str) -> str:
    return clean_document_html(html) if len(html) <= INLINE_CHARS else await asyncio.to_thread(clean_document_html, html)


async def document_markup(html: str | None) -> Markup:
    """A stored document for a page: cleaned again, then trusted by the page's template."""
    return Markup(await clean_document_html_off_loop(html or ""))
