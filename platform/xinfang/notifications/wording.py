"""The wording of notifications, as a tenant admin writes it (issue 12: notification wording).

Each message the platform sends (the event handlers in handlers.py, the daily sweeps in cards/sweeper.py and
deadlines.py, the escalation rules in cards/rules.py, the upper/lower body messages in petitions/upper_level.py)
has a key here, its placeholders (the case
number, the subject's name, the step the petitioner took, ...) and its default wording in Chinese and
English. A tenant may replace either language's wording with its own template: the sandboxed Jinja
that card documents use (``xinfang.sandbox``: its own process, a time and output budget). An admin
never needs to know that: the editor lists the placeholders and inserts ``{{ name }}`` for them.

Where it is kept: the tenant's wording *is* the newest version of the configuration area
``notification_wording`` (tenancy/config_versions.py), content ``{message key: {"zh": template, "en":
template}}`` holding only what the tenant changed ("" = that language's default). Every change is a
version by construction; rolling back applies an older content through ``do_set_notification_wording``.

At send time (``worded``) a template that fails (over its budget, an error, an empty result) is logged
and the default wording goes out instead: a notification is never lost to a wording.

The helpers at the top (placeholders a template uses, a refusal in words) serve the card and action
document editor too (cards/wording.py).
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import logging
import re
from datetime import date, timedelta

from jinja2 import TemplateSyntaxError, meta, nodes

from ..errors import InvalidInput, ServiceUnavailable
from ..sandbox.environment import document_sandbox
from ..sandbox.limits import DEFAULT_BUDGET, TemplateRefused
from ..sandbox.pool import render_untrusted
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..tenancy.service import get_tenant
from ..timefmt import as_day, local_date, zone
from ..tenancy.config_versions import (ConfigActor, do_record_config_version, latest_config_version,
                                       register_config_area)

log = logging.getLogger(__name__)
LANGS = ("zh", "en")
AREA = "notification_wording"
MESSAGE_CHARS = 500  # a notification holds 100 Chinese / 200 English characters; a template a little more


# -- what a template uses, and what is wrong with it, in words -------------------------------------------------


def names_used(source: str) -> tuple[set[str], set[tuple[str, str]]] | None:
    """The top-level names a template reads and the (name, attribute) pairs it reads (``subject.name``,
    ``subject['name']``); None when it does not parse (the sandbox then says where the syntax is wrong).
    Only parsed here, never run: running is the sandbox worker's."""
    try:
        tree = document_sandbox().parse(source)
    except TemplateSyntaxError:
        return None
    attributes = {(n.node.name, n.attr) for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name)}
    attributes |= {(n.node.name, n.arg.value) for n in tree.find_all(nodes.Getitem)
                   if isinstance(n.node, nodes.Name) and isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str)}
    return set(meta.find_undeclared_variables(tree)), attributes


def unknown_placeholders(source: str, known: set[str], known_attributes: dict[str, set[str]] | None = None) -> list[str]:
    """The placeholders a template names that its values do not have, as the admin wrote them (``subject.nme``)."""
    used = names_used(source)
    if used is None:
        return []
    names, attributes = used
    unknown = sorted(names - known)
    for name, attribute in sorted(attributes):
        allowed = (known_attributes or {}).get(name)
        if name in known and allowed is not None and attribute not in allowed:
            unknown.append(f"{name}.{attribute}")
    return unknown


def unknown_words(unknown: list[str], what: dict) -> dict:
    shown = "、".join("{{ " + u + " }}" for u in unknown[:5])
    return {"zh": f"{what['zh']}中有不认识的占位符：{shown}。请从“可用的占位符”中选择，或检查拼写",
            "en": f"{what['en']} names placeholders that do not exist: {', '.join('{{ ' + u + ' }}' for u in unknown[:5])}. "
                  "Pick one from the list of placeholders, or check the spelling"}


def refusal_words(refused: TemplateRefused, what: dict) -> dict:
    """Why the sandbox refused a template, in Chinese and English; ``what`` names it ({"zh": "提醒文字", ...})."""
    zh, en, detail = what["zh"], what["en"], refused.detail
    where_zh, where_en = (f"第 {refused.lineno} 行", f"line {refused.lineno}: ") if refused.lineno else ("", "")
    if refused.kind == "timeout":
        return {"zh": f"{zh}运行超时（超过 {DEFAULT_BUDGET.seconds:g} 秒），请减少循环", "en": f"{en} ran longer than {DEFAULT_BUDGET.seconds:g} s; use fewer loops"}
    if refused.kind == "output":
        return {"zh": f"{zh}生成的内容过长（超过 {DEFAULT_BUDGET.output_chars} 个字符）", "en": f"{en} produces too much text (over {DEFAULT_BUDGET.output_chars} characters)"}
    if refused.kind == "too_long":
        return {"zh": f"{zh}过长（超过 {DEFAULT_BUDGET.source_chars} 个字符）", "en": f"{en} is too long (over {DEFAULT_BUDGET.source_chars} characters)"}
    if refused.kind == "crashed":
        return {"zh": f"{zh}使生成程序异常退出", "en": f"{en} made its renderer fail"}
    # the sandbox's own detail is English (Jinja's words): it goes to the English message only
    if refused.kind == "syntax":
        return {"zh": f"{zh}{where_zh}写法有误（例如花括号不成对）", "en": f"{en}, {where_en}syntax error: {detail}"}
    if refused.kind == "forbidden":
        return {"zh": f"{zh}{where_zh}使用了不允许的写法", "en": f"{en}, {where_en}not allowed: {detail}"}
    return {"zh": f"{zh}{where_zh}生成时出错，请检查写法", "en": f"{en}, {where_en}fails when filled in: {detail}"}


BUSY = {"zh": "预览繁忙，请稍后再试", "en": "the preview is busy; try again shortly"}


# -- the messages --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Placeholder:
    name: str
    meaning: dict  # {"zh", "en"}


@dataclasses.dataclass(frozen=True)
class Message:
    key: str
    title: dict  # what it is, in words: the index and the editor's heading
    audience: dict  # who receives it
    placeholders: tuple[str, ...]
    default: dict  # {"zh": template, "en": template}: ``{{ name }}`` only, filled in without the sandbox


PLACEHOLDERS = {p.name: p for p in (
    Placeholder("subject_name", {"zh": "被监督对象（人员姓名或单位名称）", "en": "the subject (a person's or a unit's name)"}),
    Placeholder("type_name", {"zh": "监督卡或监督措施的名称，如“提醒函”", "en": "the card or action's name, e.g. “Reminder letter”"}),
    Placeholder("case_number", {"zh": "信访件编号", "en": "the petition's number"}),
    Placeholder("title", {"zh": "信访件标题", "en": "the petition's title"}),
    Placeholder("deadline", {"zh": "办理期限（日期）", "en": "the petition's time limit (a date)"}),
    Placeholder("step_name", {"zh": "信访人提出的申请，如“申请复查”", "en": "what the petitioner asked for, e.g. “Request a review”"}),
    Placeholder("state_name", {"zh": "信访件现在的办理状态，如“已受理”", "en": "the petition's state now, e.g. “Accepted”"}),
    Placeholder("body_name", {"zh": "本单位名称", "en": "this body's name"}),
    Placeholder("answer_due", {"zh": "书面说明的期限，如 2027年1月18日", "en": "the answer deadline (2027-01-18)"}),
    Placeholder("visit_on", {"zh": "回访日期，如 2027年4月4日", "en": "the follow-up visit's date (2027-04-04)"}),
    Placeholder("reason", {"zh": "规则写明的理由，如“两年内第二次被发预警卡……”", "en": "the reason the rule gives, e.g. “the second yellow card within 2 years …”"}),
    Placeholder("copy_to", {"zh": "要抄送的部门名称，如“组织人事部门”", "en": "who the copy is for, e.g. “Organization and personnel department”"}),
    Placeholder("sender_name", {"zh": "抄送来的单位名称", "en": "the body the copy comes from"}),
    Placeholder("issued_on", {"zh": "发文日期，如 2027年1月4日", "en": "the date of issue (2027-01-04)"}),
    Placeholder("due_on", {"zh": "办理期限，如 2027年3月5日", "en": "the time limit (2027-03-05)"}),
    Placeholder("item_name", {"zh": "督办的事项，如“信访件 KORLA-2026-000012”", "en": "what is supervised, e.g. “petition KORLA-2026-000012”"}),
)}

STAFF = {"zh": "工作人员", "en": "staff"}
PETITIONER = {"zh": "信访人（短信、电子邮件）", "en": "the petitioner (SMS, e-mail)"}
HANDLERS = {"zh": "承办人和领导", "en": "handlers and leaders"}
CASE_HOLDER = {"zh": "承办人；还没有分办的，下一步办理人员", "en": "the handler; whoever acts next when nobody holds it yet"}
CARD_VALUES = ("subject_name", "type_name")
CASE_VALUES = ("case_number", "title", "deadline")
OVERSIGHT_VALUES = ("item_name", "due_on")  # 督办 (oversight/notify.py)
LOWER = {"zh": "被督办单位的承办人和领导", "en": "handlers and leaders of the supervised body"}

MESSAGES: dict[str, Message] = {m.key: m for m in (
    Message("approval", {"zh": "待审批（监督卡、措施报批）", "en": "To approve (a card or action submitted)"}, {"zh": "领导", "en": "leaders"},
            CARD_VALUES, {"zh": "待审批：对 {{ subject_name }} 的{{ type_name }}", "en": "Awaiting approval: {{ type_name }} to {{ subject_name }}"}),
    Message("approved", {"zh": "已批准，可以发出", "en": "Approved, may go out"}, {"zh": "起草人", "en": "its authors"},
            CARD_VALUES, {"zh": "已批准：对 {{ subject_name }} 的{{ type_name }}，可以发出",
                          "en": "Approved: the {{ type_name }} to {{ subject_name }} may go out"}),
    Message("returned", {"zh": "退回修改", "en": "Returned for revision"}, {"zh": "起草人", "en": "its authors"},
            CARD_VALUES, {"zh": "退回修改：对 {{ subject_name }} 的{{ type_name }}", "en": "Returned for revision: the {{ type_name }} to {{ subject_name }}"}),
    Message("answered", {"zh": "被监督对象已书面说明", "en": "The subject answered"}, {"zh": "起草人或承办人", "en": "its authors or the handlers"},
            CARD_VALUES, {"zh": "{{ subject_name }} 已通过答复链接对{{ type_name }}作出书面说明",
                          "en": "{{ subject_name }} answered the {{ type_name }} through the link"}),
    Message("arrived", {"zh": "交办、转送来件", "en": "A petition assigned or transferred here"}, {"zh": "登记人员和领导", "en": "registrars and leaders"},
            CASE_VALUES, {"zh": "上级或其他单位交办/转送来一件信访件", "en": "A petition was assigned or transferred here by another body"}),
    Message("assigned", {"zh": "分办给承办人", "en": "A petition given to a handler"}, {"zh": "承办人", "en": "the handler"},
            CASE_VALUES, {"zh": "信访件 {{ case_number }} 已分办给您：{{ title }}", "en": "Petition {{ case_number }} was assigned to you: {{ title }}"}),
    Message("citizen_request", {"zh": "信访人提出申请（复查、复核等）", "en": "The petitioner's request (review, re-review, ...)"},
            {"zh": "下一步办理人员", "en": "whoever acts next"}, CASE_VALUES + ("step_name",),
            {"zh": "信访人就信访件 {{ case_number }} {{ step_name }}", "en": "The petitioner of {{ case_number }}: {{ step_name }}"}),
    Message("supplement", {"zh": "信访人补充材料", "en": "The petitioner added material"}, {"zh": "承办人或下一步办理人员", "en": "the handler or whoever acts next"},
            CASE_VALUES, {"zh": "信访人为信访件 {{ case_number }} 补充了材料", "en": "The petitioner added material to {{ case_number }}"}),
    Message("citizen_notice", {"zh": "告知信访人办理进展", "en": "Telling the petitioner the case moved on"}, PETITIONER,
            ("body_name", "case_number", "state_name"),
            {"zh": "【{{ body_name }}】您的信访件 {{ case_number }} 有新进展：{{ state_name }}。请凭回执查询办理情况。",
             "en": "[{{ body_name }}] Your petition {{ case_number }} has moved on: {{ state_name }}. Use your receipt to follow it."}),
    # The daily sweeps (cards/sweeper.py, notifications/deadlines.py) and the escalation rules (cards/rules.py).
    Message("answer_reminder", {"zh": "书面说明即将到期", "en": "An answer falls due soon"}, HANDLERS,
            CARD_VALUES + ("answer_due",), {"zh": "{{ subject_name }} 的说明将于 {{ answer_due }} 到期",
                                            "en": "the answer of {{ subject_name }} is due on {{ answer_due }}"}),
    Message("answer_overdue", {"zh": "逾期未作书面说明", "en": "An answer is overdue"}, HANDLERS,
            CARD_VALUES + ("answer_due",), {"zh": "{{ subject_name }} 逾期未按要求作出说明（期限 {{ answer_due }}）",
                                            "en": "{{ subject_name }} missed the answer deadline of {{ answer_due }}"}),
    Message("follow_up", {"zh": "应当回访", "en": "A follow-up visit is due"}, HANDLERS,
            CARD_VALUES + ("visit_on",), {"zh": "应对 {{ subject_name }} 进行回访（{{ visit_on }}）",
                                          "en": "follow-up visit to {{ subject_name }} due ({{ visit_on }})"}),
    Message("proposal", {"zh": "按规则建议发卡", "en": "A card proposed by a rule"}, HANDLERS,
            CARD_VALUES + ("reason",), {"zh": "建议对 {{ subject_name }} 发{{ type_name }}：{{ reason }}",
                                        "en": "proposed {{ type_name }} for {{ subject_name }}: {{ reason }}"}),
    Message("treated_as", {"zh": "按规则从重处理（如两年内第二张预警卡）", "en": "A card treated as a stronger one by a rule"}, HANDLERS,
            CARD_VALUES + ("reason",), {"zh": "{{ subject_name }}：{{ reason }}", "en": "{{ subject_name }}: {{ reason }}"}),
    Message("copied", {"zh": "抄送本单位人员", "en": "A copy to people here"}, {"zh": "被抄送的本单位人员", "en": "the people here it is copied to"},
            CARD_VALUES + ("issued_on",), {"zh": "抄送：对 {{ subject_name }} 发出的{{ type_name }}",
                                           "en": "Copy: {{ type_name }} issued to {{ subject_name }}"}),
    Message("copied_from", {"zh": "其他单位抄送来的监督卡、措施", "en": "A copy from another body"},
            {"zh": "本单位的承办人和领导（由其他单位抄送）", "en": "handlers and leaders here (sent by another body)"},
            CARD_VALUES + ("sender_name", "issued_on"),
            {"zh": "{{ sender_name }}抄送：已对 {{ subject_name }} 发出{{ type_name }}（{{ issued_on }}）",
             "en": "Copy from {{ sender_name }}: {{ type_name }} issued to {{ subject_name }} on {{ issued_on }}"}),
    Message("copy_due", {"zh": "请把文书抄送给平台外的部门", "en": "A document to send to a department"}, HANDLERS,
            CARD_VALUES + ("copy_to",), {"zh": "请将对 {{ subject_name }} 的文书抄送{{ copy_to }}",
                                         "en": "Send the document about {{ subject_name }} to {{ copy_to }}"}),
    Message("case_reminder", {"zh": "信访件即将到期", "en": "A petition falls due soon"}, CASE_HOLDER,
            CASE_VALUES + ("due_on",), {"zh": "信访件 {{ case_number }} 将于 {{ due_on }} 到期：{{ title }}",
                                        "en": "Petition {{ case_number }} is due on {{ due_on }}: {{ title }}"}),
    Message("case_overdue", {"zh": "信访件超过办理期限", "en": "A petition past its time limit"}, CASE_HOLDER,
            CASE_VALUES + ("due_on",), {"zh": "信访件 {{ case_number }} 已超过办理期限（{{ due_on }}）：{{ title }}",
                                        "en": "Petition {{ case_number }} is past its time limit ({{ due_on }}): {{ title }}"}),
    # Between an upper body and a lower one (petitions/upper_level.py): the receiving body's wording.
    Message("result_reported", {"zh": "下级报送交办件办理结果", "en": "A lower body reported a result"},
            {"zh": "上级单位的承办人和领导", "en": "handlers and leaders of the upper body"}, ("case_number",),
            {"zh": "下级报送了交办件 {{ case_number }} 的办理结果，请审核",
             "en": "The lower body reported the result of assigned case {{ case_number }}; please decide"}),
    Message("result_accepted", {"zh": "上级采纳办理结果", "en": "The upper body accepted a result"},
            {"zh": "下级单位的承办人和领导", "en": "handlers and leaders of the lower body"}, ("case_number",),
            {"zh": "上级采纳了交办件 {{ case_number }} 的办理结果",
             "en": "The upper body accepted the result reported on case {{ case_number }}"}),
    Message("result_returned", {"zh": "上级退回办理结果", "en": "The upper body returned a result"},
            {"zh": "下级单位的承办人和领导", "en": "handlers and leaders of the lower body"}, ("case_number",),
            {"zh": "上级退回了交办件 {{ case_number }} 的办理结果，请重新报送",
             "en": "The upper body returned the result reported on case {{ case_number }}; report again"}),
    Message("upper_reminder", {"zh": "上级督办", "en": "A reminder from the upper body"},
            {"zh": "下级单位的承办人和领导", "en": "handlers and leaders of the lower body"}, ("case_number",),
            {"zh": "上级督办交办件 {{ case_number }}", "en": "The upper body sent a reminder on assigned case {{ case_number }}"}),
    # 督办 from any level above, of a case or a card (oversight/notify.py): the receiving body's wording.
    Message("oversight_opened", {"zh": "上级督办（新督办事项）", "en": "Oversight opened by an upper body"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "上级督办{{ item_name }}，请于 {{ due_on }} 前报送办理结果",
                               "en": "An upper body oversees {{ item_name }}: report the result by {{ due_on }}"}),
    Message("oversight_reminder", {"zh": "上级催办督办事项", "en": "An upper body chased an oversight item"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "上级催办{{ item_name }}（期限 {{ due_on }}）", "en": "The upper body chased {{ item_name }} (due {{ due_on }})"}),
    Message("oversight_due_soon", {"zh": "督办事项即将到期", "en": "An oversight item falls due soon"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "督办事项{{ item_name }}将于 {{ due_on }} 到期，请按时报送办理结果",
                               "en": "Oversight of {{ item_name }} is due on {{ due_on }}: report the result in time"}),
    Message("oversight_overdue", {"zh": "督办事项逾期未办结", "en": "An oversight item is overdue"},
            {"zh": "上下两级单位的承办人和领导", "en": "handlers and leaders of both bodies"},
            OVERSIGHT_VALUES, {"zh": "督办事项{{ item_name }}已超过期限（{{ due_on }}）未办结",
                               "en": "Oversight of {{ item_name }} is past its deadline ({{ due_on }})"}),
    Message("oversight_reported", {"zh": "下级报送督办事项办理结果", "en": "A lower body reported on an oversight item"},
            {"zh": "督办单位的承办人和领导", "en": "handlers and leaders of the supervising body"}, OVERSIGHT_VALUES,
            {"zh": "下级报送了督办事项{{ item_name }}的办理结果，请审核", "en": "The lower body reported on {{ item_name }}; please decide"}),
    Message("oversight_accepted", {"zh": "上级采纳督办事项办理结果", "en": "The upper body accepted an oversight result"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "上级采纳了督办事项{{ item_name }}的办理结果，督办办结",
                               "en": "The upper body accepted the result on {{ item_name }}; oversight closed"}),
    Message("oversight_withdrawn", {"zh": "上级撤销督办事项", "en": "The upper body withdrew an oversight"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "上级撤销了对{{ item_name }}的督办，无需再报送办理结果",
                               "en": "The upper body withdrew its oversight of {{ item_name }}; no result report is needed"}),
    Message("oversight_returned", {"zh": "上级退回督办事项办理结果", "en": "The upper body returned an oversight result"}, LOWER,
            OVERSIGHT_VALUES, {"zh": "上级退回了督办事项{{ item_name }}的办理结果，请重新报送",
                               "en": "The upper body returned the result on {{ item_name }}; report again"}),
)}

WHAT = {"zh": "提醒文字", "en": "the notification wording"}
_PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")


def _value(value, lang: str) -> str:
    if isinstance(value, dict):
        value = value.get(lang) or value.get("zh")
    if isinstance(value, str) and as_day(value):
        return local_date(value, lang=lang)  # a day as the pages say it: 2027年1月6日 (an ISO day in English)
    return "" if value is None else str(value)


def fill_default(template: str, values: dict, lang: str) -> str:
    """A default wording filled in (our own text, ``{{ name }}`` only: no sandbox needed)."""
    return _PLACEHOLDER.sub(lambda m: _value(values.get(m.group(1)), lang), template)


def _one_line(text: str) -> str:
    return " ".join(html.unescape(text).split())  # autoescaped output back to text: pages and SMS escape it themselves


async def render_message(source: str, values: dict, lang: str) -> str:
    """A tenant's template filled in, in the sandbox within its budget; raises TemplateRefused."""
    return _one_line(await render_untrusted(source, {k: _value(v, lang) for k, v in values.items()}))


# -- the tenant's wording ------------------------------------------------------------------------------------


async def tenant_wording(scope: TenantScope) -> dict:
    """{message key: {"zh": template or "", "en": ...}}: what the tenant changed (nothing: all defaults)."""
    newest = await latest_config_version(scope, AREA)
    return dict(newest.content) if newest is not None else {}


async def worded(scope: TenantScope, key: str, values: dict, *, wording: dict | None = None) -> dict:
    """The text of message ``key`` in both languages: the tenant's wording where set and working, else the default.
    ``wording``: the tenant's wording already read (``tenant_wording``), for a sweep that words many messages.

    Never raises for a wording: a template that fails now (it passed when saved) is logged and the default goes out.
    """
    message = MESSAGES[key]
    text = {lang: fill_default(message.default[lang], values, lang) for lang in LANGS}
    try:
        custom = (wording if wording is not None else await tenant_wording(scope)).get(key) or {}
    except Exception:  # noqa: BLE001 - the wording must never cost the notification
        log.exception("notification wording of tenant %s unreadable; the default wording goes out", scope.tenant_id)
        return text
    for lang in LANGS:
        source = custom.get(lang) if isinstance(custom, dict) else None
        if not (isinstance(source, str) and source.strip()):
            continue
        try:
            filled = await render_message(source, values, lang)
        except Exception as error:  # noqa: BLE001 - TemplateRefused, or anything the worker pool raises
            log.warning("notification wording %s/%s of tenant %s failed (%s); the default wording goes out", key, lang, scope.tenant_id, error)
            continue
        if filled:
            text[lang] = filled
        else:
            log.warning("notification wording %s/%s of tenant %s is empty; the default wording goes out", key, lang, scope.tenant_id)
    return text


def tenant_today(tenant) -> date:
    """Today in the tenant's own time zone (its settings), as its people's calendars say."""
    return utcnow().astimezone(zone(tenant.settings.time_zone)).date()


def sample_values(tenant, today: date) -> dict:
    """Realistic values for a preview: a case number of this tenant, dates in its zone."""
    due = today + timedelta(days=30)
    return {
        "subject_name": "王建国", "type_name": {"zh": "提醒函", "en": "Reminder letter"},
        "case_number": f"{tenant.slug.upper()}-{today.year}-000012",
        "title": {"zh": "反映某镇中心小学违规收取资料费", "en": "反映某镇中心小学违规收取资料费"},
        "deadline": {"zh": f"{due.year}年{due.month}月{due.day}日", "en": due.isoformat()},
        "step_name": {"zh": "申请复查", "en": "Request a review"}, "state_name": {"zh": "已受理", "en": "Accepted"},
        "body_name": tenant.name.model_dump(),
        "answer_due": (today + timedelta(days=14)).isoformat(), "visit_on": (today + timedelta(days=90)).isoformat(),
        "reason": {"zh": "两年内第二次被发预警卡，按警诫卡处理并抄送组织人事部门",
                   "en": "the second yellow card to the same subject within 2 years: treated as a red card"},
        "copy_to": {"zh": "组织人事部门", "en": "Organization and personnel department"},
        "sender_name": {"zh": "某县纪委监委", "en": "a county commission"}, "issued_on": today.isoformat(),
        "due_on": due.isoformat(),
        "item_name": {"zh": f"信访件 {tenant.slug.upper()}-{today.year}-000012", "en": f"petition {tenant.slug.upper()}-{today.year}-000012"},
    }


async def message_problems(key: str, draft: dict, samples: dict) -> dict:
    """{"zh"|"en": {zh, en}} for what is wrong with a draft of message ``key``: too long, a placeholder it does
    not have, a syntax error, over the budget when tried on the sample values."""
    message = MESSAGES[key]
    problems: dict = {}
    for lang in LANGS:
        source = draft.get(lang) or ""
        if not source.strip():
            continue
        if len(source) > MESSAGE_CHARS:
            problems[lang] = {"zh": f"提醒文字过长（最多 {MESSAGE_CHARS} 个字符）", "en": f"the wording is too long (at most {MESSAGE_CHARS} characters)"}
            continue
        unknown = unknown_placeholders(source, set(message.placeholders))
        if unknown:
            problems[lang] = unknown_words(unknown, WHAT)
            continue
        try:
            filled = await render_message(source, samples, lang)
        except TemplateRefused as refused:
            if refused.kind == "busy":
                raise ServiceUnavailable(BUSY) from None
            problems[lang] = refusal_words(refused, WHAT)
            continue
        if not filled:
            problems[lang] = {"zh": "提醒文字生成后是空的", "en": "the wording comes out empty"}
    return problems


async def preview_message(key: str, draft: dict, samples: dict) -> dict:
    """The draft (or the default, for a language left empty) filled in with the sample values; raises
    InvalidInput at ``zh`` / ``en`` when a language's draft is wrong."""
    problems = await message_problems(key, draft, samples)
    if problems:
        raise InvalidInput(fields=problems)
    message = MESSAGES[key]
    return {lang: (await render_message(draft[lang], samples, lang) if (draft.get(lang) or "").strip()
                   else fill_default(message.default[lang], samples, lang)) for lang in LANGS}


def _normalised(content: dict) -> dict:
    """Only messages that exist, both languages as text, "" for a default; messages left all-default dropped."""
    out = {}
    for key, texts in (content or {}).items():
        if key not in MESSAGES or not isinstance(texts, dict):
            continue
        row = {lang: (texts.get(lang) or "").replace("\r\n", "\n").strip() if isinstance(texts.get(lang), str) else "" for lang in LANGS}
        row = {lang: ("" if text == MESSAGES[key].default[lang] else text) for lang, text in row.items()}
        if any(row.values()):
            out[key] = row
    return dict(sorted(out.items()))


async def do_set_notification_wording(scope: TenantScope, content: dict, actor: ConfigActor, note: str = "", *, samples: dict) -> dict:
    """Check every message's wording on the sample values and record the whole content as the newest version.
    Problems come back at ``<message key>.<lang>`` (422)."""
    content = _normalised(content)
    problems = {}
    for key, draft in content.items():
        problems |= {f"{key}.{lang}": words for lang, words in (await message_problems(key, draft, samples)).items()}
    if problems:
        raise InvalidInput(fields=problems)
    await do_record_config_version(scope, AREA, content, actor=actor, note=note)
    return content


async def do_set_message_wording(scope: TenantScope, key: str, draft: dict | None, actor: ConfigActor, *, samples: dict) -> dict:
    """One message's wording changed (None: back to the default); the others stay as they are."""
    content = await tenant_wording(scope)
    if draft is None:
        content.pop(key, None)
    else:
        content[key] = draft
    note = f"{MESSAGES[key].title['zh']}：{'恢复默认' if draft is None else '修改'} / {MESSAGES[key].title['en']}: " \
           f"{'default restored' if draft is None else 'changed'}"
    try:
        return await do_set_notification_wording(scope, content, actor, note, samples=samples)
    except InvalidInput as refused:  # the page shows a message's problems at its own two fields
        raise InvalidInput(fields={path.split(".", 1)[1]: words for path, words in refused.fields.items() if path.startswith(f"{key}.")}
                           or refused.fields) from None


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """The area's writer for rollback and import: the samples only serve the trial render."""
    tenant = await get_tenant(scope.tenant_id)
    await do_set_notification_wording(scope, content, actor, note, samples=sample_values(tenant, tenant_today(tenant)))


async def _check(scope: TenantScope, area: str, content: dict) -> dict:
    """What is wrong with a content before any is applied (import): each message's wording on sample values."""
    tenant = await get_tenant(scope.tenant_id)
    samples = sample_values(tenant, tenant_today(tenant))
    problems = {}
    for key, draft in _normalised(content).items():
        problems |= {f"{key}.{lang}": words for lang, words in (await message_problems(key, draft, samples)).items()}
    return problems


def _path_label(path: str, lang: str) -> str | None:
    """``approval.zh`` in words: 待审批（监督卡、措施报批）（中文）, for the configuration hub's diff view."""
    key, _, language = path.partition(".")
    message = MESSAGES.get(key)
    if message is None:
        return None
    which = {"zh": {"zh": "中文", "en": "Chinese"}, "en": {"zh": "英文", "en": "English"}}.get(language)
    title = message.title.get(lang) or message.title["zh"]
    return f"{title}（{which[lang]}）" if which and lang == "zh" else f"{title} ({which[lang]})" if which else title


def _register() -> None:
    hooks = inspect.signature(register_config_area).parameters  # the optional hooks, where this platform has them
    extra = {name: hook for name, hook in (("check", _check), ("path_label", _path_label)) if name in hooks}
    register_config_area(AREA, {"zh": "提醒文字", "en": "Notification wording"}, _apply, **extra)


_register()
