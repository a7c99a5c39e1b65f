"""An uploaded register read into a heading row and data rows of text: XLSX (openpyxl, read-only) or CSV in UTF-8
(with or without a byte-order mark) or GB18030 (a superset of GBK and GB2312, what Chinese government systems and
Excel on a Chinese Windows write). Cells come back as strings; a spreadsheet's dates as ISO dates."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time

from ..errors import InvalidInput

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
MAX_CELL = 10_000
ENCODINGS = ("utf-8-sig", "gb18030")  # tried in this order; strict UTF-8 rarely passes on GBK bytes by accident

FILE_FIELD = "file"


def _refused(zh: str, en: str) -> InvalidInput:
    return InvalidInput({"zh": "无法读取上传的文件", "en": "the uploaded file cannot be read"}, fields={FILE_FIELD: {"zh": zh, "en": en}})


def read_table(filename: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """(headings, rows): every row as long as the headings, each cell text; blank rows dropped. 422 if unreadable."""
    if not data:
        raise _refused("文件是空的", "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise _refused(f"文件不能超过 {MAX_FILE_BYTES // 1024 // 1024} MB", f"the file may be at most {MAX_FILE_BYTES // 1024 // 1024} MB")
    if data[:4] == b"PK\x03\x04":
        table = _xlsx(data)
    elif (filename or "").lower().endswith((".xlsx", ".xlsm")):
        raise _refused("不是有效的 Excel（.xlsx）文件", "not a valid Excel (.xlsx) file")
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _refused("旧版 Excel（.xls）请先另存为 .xlsx 或 CSV", "save an old Excel (.xls) file as .xlsx or CSV first")
    else:
        table = _csv(data)
    table = [[_clean(c) for c in row[:MAX_COLUMNS]] for row in table]
    table = [row for row in table if any(row)]
    if not table:
        raise _refused("文件里没有内容", "the file holds no rows")
    headings = _headings(table[0])
    rows = table[1:]
    if not rows:
        raise _refused("文件只有标题行，没有数据", "the file has a heading row but no data")
    if len(rows) > MAX_ROWS:
        raise _refused(f"一次最多导入 {MAX_ROWS} 行，请分成几个文件", f"at most {MAX_ROWS} rows at a time; split the file")
    width = len(headings)
    return headings, [(row + [""] * width)[:width] for row in rows]


def _headings(row: list[str]) -> list[str]:
    """The heading row, each heading unique and never blank (列3 for a blank third heading, 姓名(2) for a repeat)."""
    seen: dict[str, int] = {}
    out = []
    for index, text in enumerate(row, start=1):
        name = " ".join(text.split())[:60] or f"列{index}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}({seen[name]})")
    return out


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).replace("\x00", "").strip()
    return text[:MAX_CELL]


def decode(data: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refused("文字编码无法识别（请存为 UTF-8 或 GBK）", "the text encoding is not recognised (save it as UTF-8 or GBK)")


def _csv(data: bytes) -> list[list[str]]:
    text = decode(data)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for _, row in zip(range(MAX_ROWS + 2), csv.reader(io.StringIO(text), dialect))]
    except csv.Error:
        raise _refused("CSV 格式有误（引号不成对？）", "the CSV is malformed (unbalanced quotes?)") from None


def _xlsx(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise _refused("不是有效的 Excel（.xlsx）文件", "not a valid Excel (.xlsx) file") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise _refused("工作簿里没有工作表", "the workbook has no sheet")
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()
