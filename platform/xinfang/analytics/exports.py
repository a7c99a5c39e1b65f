"""A free report as a table people take away: XLSX (numbers as numbers), CSV (UTF-8 with a BOM, so Excel opens the
Chinese right) and PDF (a CJK font, see archives/pdf.py). The same table the page shows: the dimensions' words, then
each measure's number, and with a comparison the number before and its change in per cent.

Words a person typed (a region's or a category's name) may start with ``=``; such a text cell is written with a
leading ``'`` so no spreadsheet runs it as a formula (petitions/exports.guard).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from ..petitions.exports import guard
from ..timefmt import local_date
from .labels import DIMENSION_NAMES, MEASURE_NAMES
from .reports import TIME_DIMENSIONS, ReportCell, ReportResult

MEASURE_HELP: dict[str, dict[str, str]] = {
    "received": {"zh": "按收到日期计", "en": "by the date received"},
    "closed": {"zh": "按办结当日计", "en": "by the day closed"},
    "overdue": {"zh": "期内收到、现在超期未办结或超期后才办结（超期办结）的", "en": "received in the period and open past their time limit, or closed after it (closed late)"},
    "open_now": {"zh": "期内收到、现在仍未办结的", "en": "received in the period and not closed now"},
    "cards_issued": {"zh": "按发出日期计", "en": "by the day issued"},
    "actions_taken": {"zh": "谈话、通知书、会议；按发出日期计", "en": "talks, notices, meetings; by the day issued"},
    "repeats": {"zh": "被认定为重复信访的", "en": "linked as a repeat of an earlier petition"},
    "collective": {"zh": "属于集体访事项的", "en": "part of a collective matter"},
}
COMPARE_NAMES = {
    "previous": {"zh": "环比", "en": "vs previous period"},
    "last_year": {"zh": "同比", "en": "vs a year earlier"},
}
BEFORE_NAMES = {
    "previous": {"zh": "上期", "en": "Previous period"},
    "last_year": {"zh": "去年同期", "en": "Same period last year"},
}
TOTAL = {"zh": "合计", "en": "Total"}
EXPORT_ROWS_MAX = 5000


def time_axis(time: str, start: date, end: date) -> list[str]:
    """The keys of a time dimension over the period, as the rollups write them (a week by its Monday)."""
    if time == "day":
        return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    if time == "week":
        monday = start - timedelta(days=start.weekday())
        return [(monday + timedelta(days=7 * n)).isoformat() for n in range((end - monday).days // 7 + 1)]
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current.strftime("%Y-%m"))
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def _time_words(time: str, code: str) -> dict[str, str]:
    if time == "week":
        iso = date.fromisoformat(code).isocalendar()
        return {"zh": f"{iso.year}年第{iso.week}周（{code}起）", "en": f"Week {iso.week} of {iso.year} (from {code})"}
    return {"zh": code, "en": code}


def complete(result: ReportResult) -> ReportResult:
    """The rows as a table shows them: by time first where time is a dimension, and by time alone every day, week or
    month of the period a row (a quiet one with its zeros: the rollups leave those out)."""
    time = next((d for d in result.spec.dimensions if d in TIME_DIMENSIONS), None)
    if time is None:
        return result
    if result.spec.dimensions == [time] and len(result.rows) < 1000:
        # By time alone: every day, week or month of the period is a row, a quiet one with its zeros.
        seen = {c.key.get(time) for c in result.rows}
        zeros = {m: 0 for m in result.spec.measures}
        compare = set(result.spec.compare)
        result = result.model_copy(update={"rows": list(result.rows) + [
            ReportCell(key={time: k}, labels={time: _time_words(time, k)}, values=dict(zeros),
                       previous=dict(zeros) if "previous" in compare else {}, last_year=dict(zeros) if "last_year" in compare else {})
            for k in time_axis(time, result.spec.start, result.spec.end) if k not in seen]})
    order = [time] + [d for d in result.spec.dimensions if d != time]
    rows = sorted(result.rows, key=lambda c: tuple(c.key.get(d, "") for d in order))
    return result.model_copy(update={"rows": rows})


def change(now: int, before: int | None) -> float | None:
    """The change in per cent from ``before`` to ``now`` (one decimal); None where there was nothing before."""
    if before is None or before == 0:
        return None
    return round(100.0 * (now - before) / before, 1)


def change_words(now: int, before: int | None, lang: str) -> str:
    """"+12.5%", "-3%", "持平"; "—" where nothing came before (a change from zero has no per cent)."""
    pct = change(now, before)
    if pct is None:
        return "—" if not now else ("新增" if lang == "zh" else "new")
    if pct == 0:
        return "持平" if lang == "zh" else "no change"
    return f"{pct:+.1f}%".replace(".0%", "%")


def cell_words(cell: ReportCell, dimension: str, lang: str) -> str:
    """What a person reads for one dimension of a row: its label, never a code (a code only where no label came)."""
    names = cell.labels.get(dimension) or {}
    return names.get(lang) or names.get("zh") or cell.key.get(dimension, "")


def columns(result: ReportResult, lang: str) -> list[dict]:
    """The table's columns after the dimensions: each measure, and per comparison its number before and the change."""
    out = []
    for measure in result.spec.measures:
        out.append({"measure": measure, "kind": "value", "title": MEASURE_NAMES[measure][lang]})
        for compare in result.spec.compare:
            before = BEFORE_NAMES[compare][lang]
            out.append({"measure": measure, "kind": compare, "title": f"{MEASURE_NAMES[measure][lang]}（{before}）" if lang == "zh"
                        else f"{MEASURE_NAMES[measure][lang]} ({before.lower()})"})
            out.append({"measure": measure, "kind": f"{compare}_change", "title": f"{COMPARE_NAMES[compare][lang]} %" if lang == "zh"
                        else f"% {COMPARE_NAMES[compare][lang]}"})
    return out


def _number(cell: ReportCell, column: dict):
    measure, kind = column["measure"], column["kind"]
    now = cell.values.get(measure, 0)
    if kind == "value":
        return now
    if kind in ("previous", "last_year"):
        return (cell.previous if kind == "previous" else cell.last_year).get(measure, 0)
    before = (cell.previous if kind.startswith("previous") else cell.last_year).get(measure)
    return change(now, before)


def table(result: ReportResult, lang: str) -> tuple[list[str], list[list], list]:
    """(heading, rows, totals row): dimension words as text, counts as ints, changes as floats (per cent) or None."""
    dims = result.spec.dimensions
    cols = columns(result, lang)
    heading = [DIMENSION_NAMES[d][lang] for d in dims] + [c["title"] for c in cols]
    rows = [[cell_words(cell, d, lang) for d in dims] + [_number(cell, c) for c in cols] for cell in result.rows[:EXPORT_ROWS_MAX]]
    totals = ([TOTAL[lang]] + [""] * (len(dims) - 1) if dims else []) + [_number(result.totals, c) for c in cols]
    return heading, rows, totals


def period_words(result: ReportResult, lang: str) -> list[str]:
    """The lines above the table: the period, and each comparison's period (days as the pages say them: 2026年7月1日)."""
    spec = result.spec
    lines = [("统计期间：" if lang == "zh" else "Period: ") + f"{local_date(spec.start, lang=lang)} — {local_date(spec.end, lang=lang)}"]
    for compare, span in (("previous", result.previous_period), ("last_year", result.last_year_period)):
        if compare in spec.compare and span:
            lines.append(f"{BEFORE_NAMES[compare][lang]}{'：' if lang == 'zh' else ': '}"
                         f"{local_date(span[0], lang=lang)} — {local_date(span[1], lang=lang)}")
    return lines


def filename(slug: str, spec_end: date, kind: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "", slug) or "report"
    return f"{safe}-report-{spec_end.isoformat()}.{kind}"


def cut_note(result: ReportResult, lang: str) -> str | None:
    """Said in the file itself when it holds only the first rows."""
    if len(result.rows) <= EXPORT_ROWS_MAX:
        return None
    return (f"仅导出前 {EXPORT_ROWS_MAX} 行，共 {len(result.rows)} 行：请缩小期间或减少分组后分批导出。" if lang == "zh"
            else f"Only the first {EXPORT_ROWS_MAX} of {len(result.rows)} rows were exported: shorten the period or group by less.")


def _text_cell(value):
    return guard(value) if isinstance(value, str) else ("" if value is None else value)


def as_csv(result: ReportResult, lang: str) -> bytes:
    heading, rows, totals = table(result, lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([guard(h) for h in heading])
    for values in rows + [totals]:
        writer.writerow([_text_cell(v) for v in values])
    if cut_note(result, lang):
        writer.writerow([cut_note(result, lang)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(result: ReportResult, lang: str, title: str) -> bytes:
    """One sheet: the title and period lines, the heading (bold, frozen), the rows, the totals (bold); counts are
    numbers (integers), changes are per cent numbers formatted as such, text is text."""
    heading, rows, totals = table(result, lang)
    book = Workbook()
    sheet = book.active
    sheet.title = ("报表" if lang == "zh" else "Report")
    sheet.append([guard(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in period_words(result, lang):
        sheet.append([line])
    sheet.append([])
    header_row = sheet.max_row + 1
    sheet.append([guard(h) for h in heading])
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF1F4")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    cols = len(result.spec.dimensions)
    kinds = [None] * cols + [c["kind"] for c in columns(result, lang)]
    for values in rows + [totals]:
        sheet.append([_text_cell(v) for v in values])
        for cell, kind in zip(sheet[sheet.max_row], kinds):
            if kind and kind.endswith("_change") and isinstance(cell.value, float):
                cell.value = cell.value / 100
                cell.number_format = "+0.0%;-0.0%;0%"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    if cut_note(result, lang):
        sheet.append([cut_note(result, lang)])
    for index in range(1, len(heading) + 1):
        sheet.column_dimensions[sheet.cell(row=header_row, column=index).column_letter].width = 16 if index > cols else 20
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=cols + 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_pdf(result: ReportResult, lang: str, title: str, tenant_name: str) -> bytes:
    """An A4 page (landscape when the table is wide) with the title, the period lines and the table, in a Chinese font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from ..archives.pdf import CID_FONT, fonts, has_glyph

    font, face = fonts()

    def markup(text: str) -> str:  # escaped; a character the embedded font lacks is set in the built-in Song CID font
        return "".join(xml_escape(ch) if has_glyph(face, ch) or not ch.strip() else f'<font name="{CID_FONT}">{xml_escape(ch)}</font>'
                       for ch in str(text))
    heading, rows, totals = table(result, lang)
    wide = len(heading) > 6
    pagesize = landscape(A4) if wide else A4
    size = 9 if len(heading) <= 10 else 7.5  # a wide table in smaller type rather than words broken letter by letter
    styles = {
        "title": ParagraphStyle("t", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=6),
        "line": ParagraphStyle("l", fontName=font, fontSize=10, leading=14),
        "cell": ParagraphStyle("c", fontName=font, fontSize=size, leading=size + 2),
        "num": ParagraphStyle("n", fontName=font, fontSize=size, leading=size + 2, alignment=2),
    }

    def shown(value, kind) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return ("持平" if lang == "zh" else "no change") if value == 0 else f"{value:+.1f}%".replace(".0%", "%")
        return str(value)

    kinds = [None] * len(result.spec.dimensions) + [c["kind"] for c in columns(result, lang)]
    data = [[Paragraph(markup(h), styles["cell"]) for h in heading]]
    for values in rows + [totals]:
        data.append([Paragraph(markup(shown(v, k)), styles["num" if k else "cell"]) for v, k in zip(values, kinds)])
    story = [Paragraph(markup(tenant_name), styles["line"]), Paragraph(markup(title), styles["title"])]
    story += [Paragraph(markup(line), styles["line"]) for line in period_words(result, lang)]
    story.append(Spacer(1, 4 * mm))
    usable = pagesize[0] - 30 * mm
    dims = len(result.spec.dimensions)
    unit = usable / (len(heading) + 1.2 * dims)  # a dimension's words get twice a number's room
    grid = Table(data, repeatRows=1, colWidths=[2.2 * unit] * dims + [unit] * (len(heading) - dims))
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8c959f")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f6f8fa")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(grid)
    if cut_note(result, lang):
        story.append(Paragraph(markup(cut_note(result, lang)), styles["line"]))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=title, author=tenant_name)
    doc.build(story)
    return buffer.getvalue()
