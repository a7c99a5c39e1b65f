"""The record kinds retention knows, their default periods, what the end of each means, and the form's check.

Defaults: the seeds say nothing about how long records are kept except that a second yellow card within two years
counts as a red one (DOMAIN.md), so cards are kept at least three years. The rest follow the usual periods of
Chinese archive practice (短期 10 年, 长期 30 年); a tenant sets its own to its archive office's schedule.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from ..errors import InvalidInput

PERMANENT = "permanent"


@dataclasses.dataclass(frozen=True)
class Kind:
    key: str
    name: dict  # {"zh", "en"}
    counted_from: dict  # the day the period starts
    at_the_end: dict  # what the sweep does when it ends
    default: int | None  # years; None: permanent
    minimum: int  # the shortest period allowed, in years


KINDS: tuple[Kind, ...] = (
    Kind("closed_petitions", {"zh": "已办结的信访件", "en": "Closed petitions"},
         {"zh": "自办结之日起", "en": "from the day the case was closed"},
         {"zh": "销毁信访人身份信息（销毁该件的专用密钥，备份中的密文也无法再解密）；件号、日期、办理结果、类别、地区等统计数据保留。",
          "en": "the petitioner's identity is destroyed (the case's own key is destroyed, so the sealed copies, in backups too, "
                "never open again); number, dates, outcome, category and region stay for statistics."},
         10, 1),
    Kind("cards", {"zh": "监督卡与监督措施", "en": "Supervision cards and actions"},
         {"zh": "自发出之日起", "en": "from the day it was issued"},
         {"zh": "列入“到期待鉴定”清单，由档案部门鉴定后按规定处置；平台不自动删除。",
          "en": "listed as due for appraisal by the archive office, which disposes of it by the rules; the platform deletes nothing."},
         10, 3),  # a second yellow card within 2 years counts as red: the first must still be there
    Kind("archive_entries", {"zh": "廉政档案条目", "en": "Integrity archive entries"},
         {"zh": "自所记事项发生之日起", "en": "from the day the recorded fact happened"},
         {"zh": "列入“到期待鉴定”清单，由档案部门鉴定后按规定处置；平台不自动删除。",
          "en": "listed as due for appraisal by the archive office, which disposes of it by the rules; the platform deletes nothing."},
         30, 1),
    Kind("audit_records", {"zh": "审计记录", "en": "Audit records"},
         {"zh": "自记录之日起", "en": "from the day it was recorded"},
         {"zh": "审计记录前后相连（哈希链），删除任何一条都会使整条链无法校验，因此不删除；到期的记录列入“到期待鉴定”清单。",
          "en": "audit records are hash-chained: deleting one would break the check of the whole chain, so none is deleted; "
                "those past their period are listed as due for appraisal."},
         30, 1),
)
KIND_BY_KEY = {k.key: k for k in KINDS}
CHOICES = (1, 2, 3, 5, 10, 15, 20, 30, 50, 100)
MAX_YEARS = 100


def effective_years(saved: dict[str, int | None] | None) -> dict[str, int | None]:
    saved = saved or {}
    return {k.key: saved[k.key] if k.key in saved else k.default for k in KINDS}


def parse_form(form) -> dict[str, int | None]:
    """The page's selects -> years by kind (None: permanent); InvalidInput with zh/en words per field."""
    years: dict[str, int | None] = {}
    problems: dict = {}
    for kind in KINDS:
        raw = (form.get(kind.key) or "").strip()
        if raw == PERMANENT:
            years[kind.key] = None
            continue
        try:
            value = int(raw)
        except ValueError:
            problems[kind.key] = {"zh": "请选择保存年限，或选“永久保存”", "en": "choose a number of years, or keep permanently"}
            continue
        if not kind.minimum <= value <= MAX_YEARS:
            problems[kind.key] = {"zh": f"保存年限须在 {kind.minimum} 至 {MAX_YEARS} 年之间",
                                  "en": f"the period must be {kind.minimum} to {MAX_YEARS} years"}
            continue
        years[kind.key] = value
    if problems:
        raise InvalidInput(fields=problems)
    return years


def end_of(start: date, years: int) -> date:
    """The day a period of whole years starting on ``start`` ends (29 February ends on 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def cutoff(today: date, years: int) -> date:
    """Records whose period started on or before this day have ended their period by ``today``."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def years_words(value: int | None) -> dict:
    return {"zh": "永久保存", "en": "permanently"} if value is None else {"zh": f"{value} 年", "en": f"{value} years"}
