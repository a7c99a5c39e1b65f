"""The integrity opinion PDF says what a reader can read: glyphs STSong-Light has, statuses in words,
times in China Standard Time. The text is taken out of the real PDF reportlab writes."""

from __future__ import annotations

import base64
import re
import zlib

from xinfang.archives.pdf import opinion_pdf
from xinfang.cards.console import STATE_NAMES
from xinfang.petitions.workflow import default_workflow

RAW_STATUSES = ["rectifying", "closed", "issued", "reviewed", "registered", "handling", "filed"]


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes (ISO 32000-1, 7.3.4.2)."""
    out, i = bytearray(), 0
    while i < len(literal):
        c = literal[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        nxt = literal[i + 1:i + 2]
        if nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4]).group()
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
            i += 2
    return bytes(out)


def pdf_text(pdf: bytes) -> str:
    """Every string shown with Tj in the content streams; /F2 is the CID font (UCS-2, big-endian), /F1 Helvetica."""
    shown = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = match.group(1).strip()
        try:
            content = zlib.decompress(base64.a85decode(raw if raw.startswith(b"<~") else b"<~" + raw, adobe=True))
        except ValueError:
            continue
        font = None
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if token.group(1):
                font = token.group(1)
                continue
            data = _unescape(token.group(2))
            shown.append(data.decode("utf-16-be") if font == b"F2" else data.decode("latin-1"))
    return "\n".join(shown)


def _opinion(entries, matches=()) -> dict:
    return {
        "review": {"official_name": "张三", "purpose_name": {"zh": "提拔任用", "en": "Promotion"}, "reference_no": "组审〔2026〕7号",
                   "justification": "拟提拔", "requested_by": "org-reviewer", "approved_by": "org-approver",
                   "expires_at": "2026-12-06T02:05:00+00:00"},
        "summary": {"tenants": 2, "entries": len(entries)}, "generated_at": "2026-12-05T16:30:00.123456+00:00",
        "entries": entries, "possible_matches": list(matches),
    }


def _entry(kind, status, type_name=None, on="2026-11-30"):
    return {"kind": kind, "status": status, "type_name": {"zh": type_name, "en": type_name} if type_name else None, "on": on,
            "tenant": {"name": {"zh": "泗阳县教育局纪委", "en": "Siyang"}}, "title": "事项", "result": None}


def test_the_opinion_pdf_has_no_middle_dot_no_raw_status_and_local_times():
    entries = [_entry("card", "rectifying", "预警卡"), _entry("action", "closed", "提醒谈话"), _entry("card", "issued", "监督卡"),
               _entry("petition", "reviewed"), _entry("petition", "registered"), _entry("petition", "handling"),
               _entry("document", "filed", "年度述责述廉报告")]
    matches = [{"tenant": {"name": {"zh": "巴州纪委"}}, "name": "张三", "unit": "某局", "position": "科长"}]
    lines = pdf_text(opinion_pdf(_opinion(entries, matches)))
    text = lines.replace("\n", "")  # a table cell's words may wrap

    assert "干部廉政情况综合意见" in text and "张三" in text  # the extraction reads the document at all
    assert "\u00b7" not in text
    assert "监督卡（预警卡）" in text
    for raw in RAW_STATUSES:
        assert raw not in text, raw
    assert STATE_NAMES["rectifying"]["zh"] in text and STATE_NAMES["closed"]["zh"] in text
    petition_names = {s.key: s.name.zh for s in default_workflow().states}
    assert petition_names["reviewed"] in text and petition_names["registered"] in text and "已归档" in text
    # 02:05 UTC is 10:05 in Beijing; 16:30 UTC on the 5th is 00:30 on the 6th there. No "UTC" left.
    assert "2026年12月6日 10:05" in text and "2026年12月6日 00:30" in text and "UTC" not in text
    assert "2026年11月30日" in lines.split("\n")  # the date column fits a date on one line
