"""The tenant's archive number rule and retention classes: defaults, the admin form's check, the number's text.

Retention classes reuse retention/policy.py (its choices of years, ``end_of``, the words for a period): an archived
record's period is counted, like a closed petition's, from the day the case was closed.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from ..retention import policy
from ..store.scoped import TenantScope
from ..tenancy.models import Tenant
from .models import SUBJECT_KINDS, ArchiveRule

DEFAULT_CODES = {"petition": "XF", "supervision": "JD"}  # 信访, 监督
DEFAULT_YEARS = {"petition": 30, "supervision": 10}  # 长期 30 年 for cases, 短期 10 年 for cards and actions
YEAR_CHOICES = (10, 30)  # with 永久: the classes of archive practice (永久, 30 年, 10 年)
SEPARATORS = ("-", "·", "/", "")
MARK = re.compile(r"^[\w\u4e00-\u9fff〔〕]{1,12}$")


def effective(rule: ArchiveRule | None, tenant: Tenant) -> dict:
    rule = rule or ArchiveRule(tenant_id=str(tenant.id))
    return {
        "prefix": rule.prefix or (tenant.settings.document_prefix or tenant.name.zh).strip() + "档",
        "separator": rule.separator,
        "category_codes": {k: rule.category_codes.get(k) or DEFAULT_CODES[k] for k in SUBJECT_KINDS},
        "width": rule.width,
        "retention_years": {k: rule.retention_years[k] if k in rule.retention_years else DEFAULT_YEARS[k] for k in SUBJECT_KINDS},
    }


async def rule_of(scope: TenantScope, tenant: Tenant) -> dict:
    return effective(await scope.repo(ArchiveRule).find_one({}), tenant)


def format_number(rule: dict, year: str, kind: str, serial: int) -> str:
    """prefix-year-category-sequence, e.g. 泗阳教育纪委档-2026-XF-0001."""
    return rule["separator"].join([rule["prefix"], year, rule["category_codes"][kind], str(serial).zfill(rule["width"])])


def parse_form(form) -> dict:
    """The admin page's fields -> a rule; InvalidInput with zh/en words per field."""
    problems: dict = {}
    prefix = (form.get("prefix") or "").strip()
    if not MARK.match(prefix):
        problems["prefix"] = {"zh": "前缀为 1 到 12 个汉字、字母或数字", "en": "the prefix is 1 to 12 Chinese characters, letters or digits"}
    separator = form.get("separator") or ""
    if separator not in SEPARATORS:
        problems["separator"] = {"zh": "请选择分隔符", "en": "choose a separator"}
    codes = {}
    for kind in SUBJECT_KINDS:
        code = (form.get(f"code_{kind}") or "").strip()
        if not MARK.match(code):
            problems[f"code_{kind}"] = {"zh": "类别标识为 1 到 12 个汉字、字母或数字", "en": "a category mark is 1 to 12 Chinese characters, letters or digits"}
        codes[kind] = code
    if len(set(codes.values())) < len(codes) and not problems:
        problems["code_supervision"] = {"zh": "两类记录的类别标识不能相同", "en": "the two kinds need different category marks"}
    try:
        width = int(form.get("width") or "")
    except ValueError:
        width = 0
    if not 3 <= width <= 6:
        problems["width"] = {"zh": "流水号位数为 3 到 6", "en": "the sequence has 3 to 6 digits"}
    years: dict[str, int | None] = {}
    for kind in SUBJECT_KINDS:
        raw = (form.get(f"years_{kind}") or "").strip()
        if raw == policy.PERMANENT:
            years[kind] = None
        elif raw.isdigit() and int(raw) in YEAR_CHOICES:
            years[kind] = int(raw)
        else:
            problems[f"years_{kind}"] = {"zh": "请选择永久、30 年或 10 年", "en": "choose permanent, 30 years or 10 years"}
    if problems:
        raise InvalidInput(fields=problems)
    return {"prefix": prefix, "separator": separator, "category_codes": codes, "width": width, "retention_years": years}


async def do_set_rule(scope: TenantScope, values: dict, actor_name: str) -> None:
    """Numbers already given keep their text; the new rule applies to the next archiving."""
    repo = scope.repo(ArchiveRule)
    row = await repo.find_one({}) or ArchiveRule(tenant_id=scope.tenant_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.changed_by_name = actor_name
    await repo.save(row)


def years_words(value: int | None) -> dict:
    return policy.years_words(value)
