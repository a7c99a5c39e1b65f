"""The issued document as a PDF in the GB/T 9704 layout, with the integrity opinion's typesetting (archives/pdf.py):
the issuing body's mark in red over a red rule, the 文号, the title, the addressees, the body, the issuing body and
the date in Chinese numerals as 落款, the 版记 (抄送, 印发) between black rules, 「— n —」 page numbers.

Made once at 签发 and kept byte for byte (models.IssuedPdf) with its SHA-256; ``invariant`` keeps reportlab from
writing the time of making into the file, so the same document makes the same bytes."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer

from functools import cache
from xml.sax.saxutils import escape

from reportlab.platypus import Paragraph

from ..archives.pdf import CID_FONT, Rule, _page_number, _styles, chinese_date, fonts, has_glyph


@cache
def _face():
    """The fonts, loaded once per process (archives.pdf.fonts reads the font file on every call)."""
    return fonts()


def _p(text, style: str = "body") -> Paragraph:
    """Escaped text; a character the main font lacks is set in the CID font (as archives.pdf does)."""
    _, face = _face()
    out = []
    for ch in str(text or ""):
        piece = escape(ch)
        out.append(piece if has_glyph(face, ch) or not ch.strip() else f'<font name="{CID_FONT}">{piece}</font>')
    return Paragraph("".join(out), _styles()[style])


def document_pdf(*, issuer: str, document_no: str, title: str, main_recipients: list[str], copies: list[str],
                 paragraphs: list[str], issued_on: str) -> bytes:
    buffer = io.BytesIO()
    # GB/T 9704 margins: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
                            title=title, author=issuer, initialFontName=_face()[0], invariant=1)
    story = [_p(f"{issuer}文件", "issuer"), _p(document_no, "number"), Rule(), _p(title, "title")]
    if main_recipients:
        story.append(_p("、".join(main_recipients) + "：", "plain"))
    story += [_p(text) for text in paragraphs]
    story += [Spacer(1, 10 * mm), _p(issuer, "signature"), _p(chinese_date(issued_on), "signature"), Spacer(1, 10 * mm),
              Rule(colors.black, 0.8, 1 * mm)]
    if copies:
        story.append(_p("抄送：" + "、".join(copies) + "。", "record"))
    story += [_p(f"{issuer}　　{chinese_date(issued_on)}印发", "record"), Rule(colors.black, 0.8, 1 * mm)]
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()
