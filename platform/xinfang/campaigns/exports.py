"""A campaign's results as a file for the running body: XLSX (openpyxl) or CSV.

One row per unit and item (checklist items, then the items carried over for that unit): the unit, its kind, its
report deadline, whether and when (in the tenant's zone) and by whom it reported, the item, risk found, what was
found, measures, resolved. The XLSX has a second sheet, 按项目汇总, with the counts per item as numbers. Headings
are Chinese; text cells that would start a formula get a leading ``'`` (petitions/exports.guard).
A lower body in the campaign sees only its own unit on the pages, so the export is the running body's only (403).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from quart import Response

from ..auth.principal import Principal
from ..errors import Forbidden, NotFound
from ..petitions.exports import guard
from ..timefmt import local_time, request_zone
from .models import Campaign
from .service import reports_of

HEADINGS = ["单位", "单位类型", "报送期限", "是否报送", "报送时间", "报送人", "排查项目", "是否发现风险", "具体情况", "整改措施", "是否已化解"]
SUMMARY_HEADINGS = ["排查项目", "已报送单位数", "发现风险单位数", "其中未化解单位数"]
YES, NO = "是", "否"


def _text(value):
    return guard(value) if isinstance(value, str) else value


async def rows(campaign: Campaign, tz: str) -> tuple[list[list], list[list]]:
    """(detail rows, summary rows) in the headings' order; counts are ints."""
    reports = await reports_of(campaign)
    detail = []
    for unit in campaign.units:
        report = reports.get(unit.key)
        results = {r.item_key: r for r in report.results} if report else {}
        items = [(i.key, i.text) for i in campaign.checklist] + [(c.key, f"（上次遗留）{c.item_text}") for c in campaign.carried
                                                                 if c.unit_key == unit.key]
        head = [unit.name["zh"], "下级单位" if unit.kind == "tenant" else "内部单位", campaign.due_of(unit), YES if report else NO,
                local_time(report.reported_at, tz) if report else "", report.reported_by_name if report else ""]
        for key, text in items:
            result = results.get(key)
            detail.append(head + [text, (YES if result.risk else NO) if result else "", result.description if result else "",
                                  result.measures if result else "", (YES if result.resolved else NO) if result and result.risk else ""])
    summary = []
    for item in campaign.checklist:
        found = [r for report in reports.values() for r in report.results if r.item_key == item.key]
        summary.append([item.text, len(found), sum(1 for r in found if r.risk), sum(1 for r in found if r.risk and not r.resolved)])
    return detail, summary


def as_csv(detail: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    for row in detail:
        writer.writerow([_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet(sheet, title: str, headings: list[str], body: list[list], widths: list[int]) -> None:
    sheet.append([guard(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headings)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF1F4")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in body:
        sheet.append([_text(v) for v in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = width
    sheet.freeze_panes = "A3"


def as_xlsx(campaign: Campaign, detail: list[list], summary: list[list]) -> bytes:
    book = Workbook()
    results = book.active
    results.title = "排查结果"
    period = f"{campaign.title}（{campaign.period_start} 至 {campaign.period_end}）"
    _sheet(results, period, HEADINGS, detail, [20, 10, 12, 9, 20, 12, 28, 12, 36, 36, 10])
    _sheet(book.create_sheet("按项目汇总"), period, SUMMARY_HEADINGS, summary, [32, 14, 16, 18])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def export_response(campaign: Campaign, principal: Principal, fmt: str) -> Response:
    if fmt not in ("xlsx", "csv"):
        raise NotFound({"zh": "只能导出 xlsx 或 csv", "en": "xlsx or csv only"})
    if principal.tenant_id != campaign.tenant_id:
        raise Forbidden({"zh": "只有开展排查的单位可以导出全部结果", "en": "only the body running the campaign exports its results"})
    detail, summary = await rows(campaign, request_zone())
    name = f"排查结果-{campaign.title}"[:80] + f".{fmt}"
    if fmt == "csv":
        body, kind = as_csv(detail), "text/csv; charset=utf-8"
    else:
        body, kind = as_xlsx(campaign, detail, summary), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, content_type=kind, headers={
        "Content-Disposition": f"attachment; filename=\"campaign.{fmt}\"; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
