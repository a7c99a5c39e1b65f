"""The integrity opinion PDF says what a reader can read: glyphs STSong-Light has, statuses in words,
times in China Standard Time. The text is taken out of the real PDF reportlab writes (pypdf)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from xinfang.archives.pdf import opinion_pdf
from xinfang.cards.console import STATE_NAMES
from xinfang.petitions.workflow import default_workflow

RAW_STATUSES = ["rectifying", "closed", "issued", "reviewed", "registered", "handling", "filed"]


def pdf_text(pdf: bytes) -> str:
    """The text of every page, as pypdf reads it out of the PDF (through each font's ToUnicode map)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


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
