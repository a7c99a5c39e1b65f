"""The staff inbox's current filter as a spreadsheet: CSV and XLSX, in words, in the tenant's time zone.

Every cell a person typed (titles, names) may start with ``=``, ``+``, ``-`` or ``@``; a spreadsheet
would run it as a formula (CSV/formula injection), so such a cell is written with a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from ..timefmt import UNLABELLED_ZONE, as_moment, offset_label, zone
from .models import CHANNEL_NAMES, Petition
from .workflow import Workflow

EXPORT_MAX = 5000  # rows in one export; the inbox filter narrows it further
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    ("number", {"zh": "编号", "en": "Number"}),
    ("title", {"zh": "标题", "en": "Title"}),
    ("subject", {"zh": "被反映人", "en": "Subject"}),
    ("channel", {"zh": "渠道", "en": "Channel"}),
    ("state", {"zh": "状态", "en": "Status"}),
    ("received", {"zh": "收到日期", "en": "Date received"}),
    ("registered", {"zh": "登记时间", "en": "Registered at"}),
    ("due", {"zh": "办理时限", "en": "Due"}),
    ("overdue", {"zh": "超期", "en": "Overdue"}),
    ("assignee", {"zh": "承办人", "en": "Handler"}),
)
YES_NO = {True: {"zh": "是", "en": "yes"}, False: {"zh": "否", "en": "no"}}


def guard(value: str) -> str:
    """A text cell no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def zone_words(tz: str, lang: str) -> str:
    """What the time column's heading says about its clock: 北京时间, or the offset."""
    if tz == UNLABELLED_ZONE:
        return "（北京时间）" if lang == "zh" else " (China Standard Time)"
    return offset_label(datetime.now(zone(tz)), lang)


def _state_words(workflow: Workflow, key: str) -> dict:
    state = next((s for s in workflow.states if s.key == key), None)
    return state.name.model_dump() if state else {"zh": key, "en": key}


def rows(petitions: list[Petition], workflows: dict[int | None, Workflow], names: dict[str, str], tz: str, lang: str) -> list[list[str]]:
    """The heading row and one row per petition, every cell a guarded string; each case's state in the words of
    the workflow version it runs on (``service.petition_workflows``)."""
    local = zone(tz)
    heading = [title[lang] + (zone_words(tz, lang) if key == "registered" else "") for key, title in COLUMNS]
    out = [heading]
    for p in petitions:
        registered = as_moment(p.created_at).astimezone(local)
        received = p.received_on or as_moment(p.created_at).astimezone(local).date().isoformat()
        channel = CHANNEL_NAMES.get(p.channel, {"zh": str(p.channel), "en": str(p.channel)})
        out.append([guard(str(cell)) for cell in (
            p.number, p.title, p.subject_name or "", channel[lang], _state_words(workflows[p.workflow_version], p.state)[lang], received,
            registered.strftime("%Y-%m-%d %H:%M"), p.due_on or "", YES_NO[bool(p.overdue)][lang],
            names.get(p.assignee_id or "", ""),
        )])
    return out


def as_csv(table: list[list[str]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese right."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(table: list[list[str]], sheet_title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    for values in table:
        sheet.append(values)
    for row in sheet.iter_rows():
        for cell in row:  # text, never a formula (openpyxl takes a string starting with = for one)
            cell.data_type = TYPE_STRING
    for letter, width in zip("ABCDEFGHIJ", (24, 40, 12, 10, 18, 12, 18, 12, 6, 12)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
