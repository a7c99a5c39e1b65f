"""The consolidated integrity opinion as a PDF laid out as a Chinese official document (GB/T 9704):
the issuing body's mark in red over a red rule, the reference number (文号), the title, the body, the
issuing body and the date in Chinese numerals (二〇二六年十二月六日) as 落款, the 版记 below a rule, and
page numbers 「— 1 —」 at the foot of every page.

Every glyph is drawn: the text is set in an embeddable Chinese TrueType font found on the machine
(embedded, subset, so the PDF reads the same everywhere); a character that font lacks is set in
reportlab's built-in Song CID font instead. Without any such font on the machine, everything falls back to
that CID font (not embedded: each PDF reader supplies its own Song typeface)."""

from __future__ import annotations

import io
import re
from datetime import date
from functools import cache
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from ..display_words import entry_status, word
from ..timefmt import PLATFORM_ZONE, as_moment, local_date, local_time, zone

CID_FONT = "STSong-Light"  # reportlab's built-in Song (Adobe-GB1): never embedded, every reader has one
EMBEDDED_FONT = "XinfangCJK"
# Embeddable Chinese TrueType fonts (glyf outlines: reportlab embeds those, not CFF), Song style first.
FONT_FILES = (
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # AR PL UMing (Debian fonts-arphic-uming)
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # WenQuanYi Zen Hei (Debian fonts-wqy-zenhei)
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
RED = colors.HexColor("#d40000")
ISSUER = "信访监督平台"
CN_DIGITS = "〇一二三四五六七八九"


def status_words(kind: str, status: str) -> str:
    """An entry's status as the reader says it (display_words: card/action states, the default
    workflow's petition states, document statuses); empty for none."""
    return entry_status(kind, status, "zh") if status else ""


@cache
def fonts() -> tuple[str, TTFont | None]:
    """(the main font's name, its TrueType face or None): the first embeddable font found, else the CID font."""
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    for path, index in FONT_FILES:
        if Path(path).is_file():
            face = TTFont(EMBEDDED_FONT, path, subfontIndex=index)
            pdfmetrics.registerFont(face)
            return EMBEDDED_FONT, face
    return CID_FONT, None


def has_glyph(face: TTFont | None, ch: str) -> bool:
    return face is None or ord(ch) in face.face.charToGlyph


def chinese_date(value) -> str:
    """A date as an official document writes it: 二〇二六年十二月六日 (an instant: its day in China)."""
    moment = as_moment(value)
    day = moment.astimezone(zone(PLATFORM_ZONE)).date() if moment else value if isinstance(value, date) else None
    if day is None:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value or "")

    def number(n: int) -> str:
        tens, ones = divmod(n, 10)
        return (("" if tens == 1 else CN_DIGITS[tens]) + "十" if tens else "") + (CN_DIGITS[ones] if ones or not tens else "")

    return "".join(CN_DIGITS[int(d)] for d in str(day.year)) + f"年{number(day.month)}月{number(day.day)}日"


@cache
def _styles() -> dict[str, ParagraphStyle]:
    font, _ = fonts()
    return {
        "issuer": ParagraphStyle("issuer", fontName=font, fontSize=24, leading=30, alignment=1, textColor=RED),
        "number": ParagraphStyle("number", fontName=font, fontSize=12, leading=16, alignment=1, spaceBefore=8),
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, spaceBefore=10, spaceAfter=10),
        "body": ParagraphStyle("body", fontName=font, fontSize=12, leading=20, firstLineIndent=24),
        "plain": ParagraphStyle("plain", fontName=font, fontSize=12, leading=20),
        "signature": ParagraphStyle("signature", fontName=font, fontSize=12, leading=20, alignment=2, rightIndent=24),
        "record": ParagraphStyle("record", fontName=font, fontSize=10, leading=15),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=12),
    }


def _markup(text) -> str:
    """Escaped text for a Paragraph; a character the main font lacks is set in the CID font."""
    _, face = fonts()
    out = []
    for ch in str(text or ""):
        piece = escape(ch)
        out.append(piece if has_glyph(face, ch) or not ch.strip() else f'<font name="{CID_FONT}">{piece}</font>')
    return re.sub(f'</font><font name="{CID_FONT}">', "", "".join(out))


def _p(text, style: str = "body") -> Paragraph:
    return Paragraph(_markup(text), _styles()[style])


class Rule(Flowable):
    """A full-width horizontal rule: red under the issuing body's mark, black in the 版记."""

    def __init__(self, colour=RED, thickness: float = 1.5, space: float = 3 * mm):
        super().__init__()
        self.colour, self.thickness, self.space = colour, thickness, space

    def wrap(self, available_width, available_height):
        self.width = available_width
        return available_width, self.thickness + 2 * self.space

    def draw(self):
        self.canv.setStrokeColor(self.colour)
        self.canv.setLineWidth(self.thickness)
        self.canv.line(0, self.space, self.width, self.space)


def _page_number(canvas, doc) -> None:
    """「— n —」 centred at the foot of every page."""
    font, _ = fonts()
    canvas.saveState()
    canvas.setFont(font, 12)
    canvas.drawCentredString(A4[0] / 2, 18 * mm, f"— {doc.page} —")
    canvas.restoreState()


def opinion_pdf(opinion: dict) -> bytes:
    review, summary = opinion["review"], opinion["summary"]
    issuer = opinion.get("issuer") or ISSUER
    buffer = io.BytesIO()
    # GB/T 9704 margins: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (the page number sits in the bottom margin).
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
                            title=f"关于{review['official_name']}同志的干部廉政情况综合意见", author=issuer,
                            initialFontName=fonts()[0])  # no Helvetica (never embedded) named on any page
    story = [
        _p(issuer, "issuer"),
        _p(review["reference_no"], "number"),
        Rule(),
        _p(f"关于{review['official_name']}同志的干部廉政情况综合意见", "title"),
        _p(f"根据{review['purpose_name']['zh']}工作需要（{review['reference_no']}），事由：{review['justification']}。"
           f"经查阅各单位廉政档案，现将{review['official_name']}同志的有关情况汇总如下："),
        _p(f"共涉及 {summary['tenants']} 个单位，{summary['entries']} 条记录（按时间由近及远）。"),
        Spacer(1, 3 * mm),
    ]
    rows = [[_p(h, "cell") for h in ("日期", "单位", "类别", "事项", "状态", "结果")]]
    for entry in opinion["entries"]:
        kind = word("entry_kind", entry["kind"], "zh")
        if entry.get("type_name"):
            kind = f"{kind}（{entry['type_name']['zh']}）"
        rows.append([_p(local_date(entry["on"], PLATFORM_ZONE), "cell"), _p(entry["tenant"]["name"]["zh"], "cell"), _p(kind, "cell"),
                     _p(entry["title"], "cell"), _p(status_words(entry["kind"], entry["status"]), "cell"), _p(entry["result"] or "", "cell")])
    if len(rows) == 1:
        rows.append([_p("—", "cell"), _p("各单位均无记录", "cell"), "", "", "", ""])
    table = Table(rows, colWidths=[27 * mm, 29 * mm, 29 * mm, 35 * mm, 18 * mm, 18 * mm], repeatRows=1)  # 156 mm: the type area
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("FONTNAME", (0, 0), (-1, -1), fonts()[0]),
    ]))
    story.append(table)
    if opinion["possible_matches"]:
        story += [Spacer(1, 3 * mm), _p("另有以下同名干部，尚未认定为同一人，未予合并，请人工核实：")]
        story += [_p(f"{n}. {m['tenant']['name']['zh']}：{m['name']} {m['unit'] or ''} {m['position'] or ''}", "plain")
                  for n, m in enumerate(opinion["possible_matches"], 1)]
    generated = opinion["generated_at"]
    story += [
        Spacer(1, 10 * mm),
        _p(issuer, "signature"),
        _p(chinese_date(generated), "signature"),
        Spacer(1, 10 * mm),
        Rule(colors.black, 0.8, 1 * mm),
        _p(f"发起：{review['requested_by']}　　批准：{review['approved_by'] or '（无需）'}　　查阅有效期至：{local_time(review['expires_at'], PLATFORM_ZONE)}", "record"),
        _p(f"生成于 {local_time(generated, PLATFORM_ZONE)}，本次查阅已记入审计日志，被查阅单位可见。", "record"),
        Rule(colors.black, 0.8, 1 * mm),
    ]
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()
