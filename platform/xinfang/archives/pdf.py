"""The consolidated integrity opinion as a PDF (reportlab; Chinese through its built-in CID font,
so no font file ships with the platform and every PDF reader shows it with its own Song typeface)."""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from ..display_words import entry_status, word
from ..timefmt import PLATFORM_ZONE, local_date, local_time

FONT = "STSong-Light"


def status_words(kind: str, status: str) -> str:
    """An entry's status as the reader says it (display_words: card/action states, the default
    workflow's petition states, document statuses); empty for none."""
    return entry_status(kind, status, "zh") if status else ""


@cache
def _styles() -> dict[str, ParagraphStyle]:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1, spaceAfter=6),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=10, textColor=colors.grey),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11),
    }


def _p(text, style: str = "body") -> Paragraph:
    return Paragraph(escape(str(text or "")), _styles()[style])


def opinion_pdf(opinion: dict) -> bytes:
    styles = _styles()
    review, summary = opinion["review"], opinion["summary"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"廉政意见 {review['official_name']}", author="xinfang")
    story = [
        Paragraph("干部廉政情况综合意见", styles["title"]),
        _p(f"干部：{review['official_name']}　　用途：{review['purpose_name']['zh']}　　文号：{review['reference_no']}"),
        _p(f"事由：{review['justification']}"),
        _p(f"发起：{review['requested_by']}　　批准：{review['approved_by'] or '（无需）'}　　有效期至：{local_time(review['expires_at'], PLATFORM_ZONE)}"),
        _p(f"涉及 {summary['tenants']} 个单位，共 {summary['entries']} 条记录；生成于 {local_time(opinion['generated_at'], PLATFORM_ZONE)}，本次查阅已记入审计日志。", "small"),
        Spacer(1, 4 * mm),
    ]
    rows = [[_p("日期", "cell"), _p("单位", "cell"), _p("类别", "cell"), _p("事项", "cell"), _p("状态", "cell"), _p("结果", "cell")]]
    for entry in opinion["entries"]:
        kind = word("entry_kind", entry["kind"], "zh")
        if entry.get("type_name"):
            kind = f"{kind}（{entry['type_name']['zh']}）"  # not U+00B7: STSong-Light has no glyph for it
        rows.append([_p(local_date(entry["on"], PLATFORM_ZONE), "cell"), _p(entry["tenant"]["name"]["zh"], "cell"), _p(kind, "cell"), _p(entry["title"], "cell"),
                     _p(status_words(entry["kind"], entry["status"]), "cell"), _p(entry["result"] or "", "cell")])
    if len(rows) == 1:
        rows.append([_p("—", "cell"), _p("各单位均无记录", "cell"), "", "", "", ""])
    table = Table(rows, colWidths=[26 * mm, 34 * mm, 28 * mm, 46 * mm, 20 * mm, 26 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    if opinion["possible_matches"]:
        story += [Spacer(1, 4 * mm), _p("同名但未认定为同一人的干部（未合并，需人工核实）：", "body")]
        story += [_p(f"{n}. {m['tenant']['name']['zh']}：{m['name']} {m['unit'] or ''} {m['position'] or ''}", "small")
                  for n, m in enumerate(opinion["possible_matches"], 1)]
    doc.build(story)
    return buffer.getvalue()
