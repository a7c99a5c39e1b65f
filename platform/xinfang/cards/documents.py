"""Issued documents (cards, notices) rendered from the tenant's own template, kept as they went out.

Tenant templates are untrusted code: they render in the template sandbox
(``xinfang.sandbox``: Jinja's sandbox with autoescaping, in a separate worker
process, within a time and output budget) and see only the plain values below.
What comes out passes the official-document allow-list (``document_html``). A
broken template, or one over its budget, is refused with a message on
``document_template`` (422) instead of failing the issue half-way.
"""

from __future__ import annotations

from importlib import resources

from ..errors import InvalidInput, ServiceUnavailable
from ..sandbox.limits import DEFAULT_BUDGET, TemplateRefused
from ..sandbox.pool import render_untrusted
from ..tenancy.models import Tenant
from .document_html import clean_document_html_off_loop
from .models import ActionType, CardType, Supervision

_DEFAULT = resources.files("xinfang").joinpath("templates/documents/default.html").read_text(encoding="utf-8")
_DIGITS = "〇一二三四五六七八九"


def _chinese_number(n: int) -> str:
    tens = (_DIGITS[n // 10] if n >= 20 else "") + "十" if n >= 10 else ""
    return tens + (_DIGITS[n % 10] if n % 10 or n < 10 else "")


def date_words(iso: str | None) -> dict:
    """The dates a wording shows without logic of its own (the admin's plain wording, cards/wording.py): the date of
    issue in Chinese numerals (二〇二七年一月四日, as the default's 落款) and a day as 2027年1月25日."""
    parts = (iso or "").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return {"chinese": iso or "", "day": iso or ""}
    year, month, day = parts
    return {"chinese": "".join(_DIGITS[int(d)] for d in year) + f"年{_chinese_number(int(month))}月{_chinese_number(int(day))}日",
            "day": f"{int(year)}年{int(month)}月{int(day)}日"}


def plain_date_values(issued_on: str | None, response_due: str | None) -> dict:
    """``issued_on_chinese`` and ``response_due_day``: given to every document template besides the raw dates."""
    return {"issued_on_chinese": date_words(issued_on)["chinese"], "response_due_day": date_words(response_due)["day"]}


SAMPLE_CONTEXT = {
    "kind": "card", "tenant_name": "某某纪委", "type_name": "预警卡", "colour": "#f2c200", "colour_name": "黄色",
    "when": "适用情形", "consequence": "后果", "subject": {"kind": "person", "name": "张三", "position": "副校长", "unit": "某中学"},
    "issued_on": "2027-01-04", "response_due": "2027-01-25", "copies": ["组织人事部门"], "document_no": "某纪〔2027〕1号",
    **plain_date_values("2027-01-04", "2027-01-25"),
}


def template_problem(refused: TemplateRefused) -> dict[str, str]:
    """What is wrong with a template, in Chinese and English, for the ``document_template`` field."""
    detail = refused.detail
    where_zh, where_en = (f"第 {refused.lineno} 行", f"line {refused.lineno}: ") if refused.lineno else ("", "")
    if refused.kind == "timeout":
        seconds = DEFAULT_BUDGET.seconds
        return {"zh": f"文书模板运行超时（超过 {seconds:g} 秒），请减少循环", "en": f"document template ran longer than {seconds:g} s; use fewer loops"}
    if refused.kind == "output":
        limit = DEFAULT_BUDGET.output_chars
        return {"zh": f"文书模板输出过大（超过 {limit} 个字符）", "en": f"document template produces too much output (over {limit} characters)"}
    if refused.kind == "too_long":
        limit = DEFAULT_BUDGET.source_chars
        return {"zh": f"文书模板过长（超过 {limit} 个字符）", "en": f"document template is too long (over {limit} characters)"}
    if refused.kind == "crashed":
        return {"zh": "文书模板使渲染进程异常退出", "en": "document template made its renderer fail"}
    if refused.kind == "syntax":
        return {"zh": f"文书模板{where_zh}有语法错误：{detail}", "en": f"document template, {where_en}syntax error: {detail}"}
    if refused.kind == "forbidden":
        return {"zh": f"文书模板{where_zh}使用了不允许的写法：{detail}", "en": f"document template, {where_en}not allowed: {detail}"}
    return {"zh": f"文书模板{where_zh}运行出错：{detail}", "en": f"document template, {where_en}fails when rendered: {detail}"}


async def _render(template: str, context: dict) -> str:
    try:
        html = await render_untrusted(template, context)
    except TemplateRefused as refused:
        if refused.kind == "busy":
            raise ServiceUnavailable({"zh": "文书生成繁忙，请稍后再试", "en": "documents are busy being rendered; try again shortly"}) from None
        raise InvalidInput(fields={"document_template": template_problem(refused)}) from None
    return await clean_document_html_off_loop(html)


async def check_template(template: str) -> None:
    """Try a tenant's template on sample values; raises InvalidInput (on ``document_template``) when it fails."""
    await _render(template, SAMPLE_CONTEXT)


async def render_document(tenant: Tenant, kind_type: CardType | ActionType, sup: Supervision) -> str:
    """The document as it goes out, already through the allow-list."""
    context = {
        "kind": sup.kind,
        "tenant_name": tenant.name.zh,
        "type_name": kind_type.name.zh,
        "colour": getattr(kind_type, "colour", "#444444"),
        "colour_name": getattr(getattr(kind_type, "colour_name", None), "zh", ""),
        "when": getattr(getattr(kind_type, "when", None), "zh", ""),
        "consequence": getattr(getattr(kind_type, "consequence", None), "zh", ""),
        "subject": sup.subject.model_dump(mode="json"),
        "issued_on": sup.issued_on,
        "response_due": sup.response_due,
        "copies": [c.name.zh for c in sup.copies],
        "document_no": sup.document_no or "",
        **plain_date_values(sup.issued_on, sup.response_due),
    }
    return await _render(kind_type.document_template or _DEFAULT, context)
