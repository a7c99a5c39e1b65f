"""Formatted text on the integrity portal: what staff type, made safe HTML.

A publication's text is either ``plain`` (each line a paragraph, escaped: every item written before formatting
existed) or ``markdown``: CommonMark read by markdown-it-py with **raw HTML switched off** (a ``<script>`` typed by
staff stays the visible text ``<script>``), plus tables and strikethrough; a line break stays a line break. The HTML
it makes then passes an allow-list sanitiser (nh3): headings, paragraphs, lists, emphasis, quotes, code, tables,
rules and links only; links only to http, https and mailto (a ``javascript:`` or ``data:`` link loses its target),
each with ``rel="noopener noreferrer nofollow"``; no images, frames, styles, classes or event attributes. A heading
typed as ``#`` becomes an ``<h2>`` (the page's own title is the one ``<h1>``), so headings keep their order for screen
readers. Nothing of this needs JavaScript.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .text import paragraphs

FORMATS = ("plain", "markdown")
FORMAT_WORDS = {"plain": {"zh": "纯文本（每行一段）", "en": "Plain text (one paragraph per line)"},
                "markdown": {"zh": "带格式（Markdown：标题、列表、粗体、链接、表格）", "en": "Formatted (Markdown: headings, lists, bold, links, tables)"}}

TAGS = {"p", "br", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "ul", "ol", "li", "blockquote", "code", "pre",
        "hr", "a", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_NESTING = 20  # markdown-it's own limit on nested blocks (a deeply nested list is cut, never a crash)


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "maxNesting": MAX_NESTING})
    md.enable(["table", "strikethrough"])
    md.disable(["image"])  # pictures are attachments, shown with their own description
    return md


def _shift_headings(tokens) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def markdown_html(source: str) -> str:
    """Markdown to sanitised HTML (a string; see the module's docstring for what survives)."""
    md = _parser()
    tokens = md.parse(source or "")
    _shift_headings(tokens)
    html = md.renderer.render(tokens, md.options, {})
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow",
                     filter_style_properties={"text-align"}, strip_comments=True)


def render(source: str, fmt: str = "plain") -> Markup:
    """A publication's text as HTML for a page: plain text as escaped paragraphs, Markdown made safe."""
    if fmt == "markdown":
        return Markup(markdown_html(source))
    return Markup("".join(f"<p>{escape(para)}</p>" for para in paragraphs(source)))


def plain_text(source: str, fmt: str = "plain") -> str:
    """What the text says without its markup (search excerpts): the sanitised HTML's text."""
    if fmt != "markdown":
        return source or ""
    return nh3.clean(markdown_html(source).replace("</p>", "</p>\n").replace("<br>", "\n"), tags=set())
