"""The wording of card and action documents, as a tenant admin edits it (issue 12: document wording).

A card type's or action type's ``document_template`` is the sandboxed Jinja the issued document is rendered
from (cards/documents.py); empty means the platform's default (templates/documents/default.html, GB/T 9704).
Here it is edited without knowing Jinja: every value a document can show is listed with its meaning and the
text that shows it (``PLACEHOLDERS``), a draft is previewed on realistic sample values of this tenant (a sample
official, its own 文号, dates in its time zone, its own deadline and copies), and what is wrong comes back in
words at the field: a placeholder that does not exist, a syntax error, a render over the time or size budget.

Every change is a configuration version: area ``card_wording:<key>`` or ``action_wording:<key>``, content
``{"key": key, "document_template": template}`` ("" = the default). The key is inside the content because an
area's writer is given the content alone (rollback, import). The first change of a wording that has no version
yet records the wording it replaces first, so the change can always be rolled back.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import timedelta
from functools import partial

from markupsafe import Markup

from ..errors import InvalidInput, NotFound, ServiceUnavailable
from ..events import DomainEvent, unit_of_work
from ..notifications.wording import BUSY, refusal_words, tenant_today, unknown_placeholders, unknown_words
from ..petitions.service import tenant_calendar
from ..sandbox.limits import TemplateRefused
from ..sandbox.pool import render_untrusted
from ..store.scoped import TenantScope
from ..tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, incoming_content, register_config_area
from ..tenancy.models import Tenant
from ..tenancy.service import get_tenant
from .configuration import SECTIONS, record_wording_version, stored_wording
from .document_html import clean_document_html_off_loop
from .documents import _DEFAULT as DEFAULT_TEMPLATE, plain_date_values
from .models import ActionType, CardType
from .rules import period_end

KINDS = {"card": CardType, "action": ActionType}
AREA_PREFIX = {"card": "card_wording", "action": "action_wording"}
FIELD = "document_template"
WHAT = {"zh": "文书文字", "en": "the document wording"}


UNIT_AND_POSITION = "{% if subject.unit %}（{{ subject.unit }}{{ subject.position or '' }}）{% endif %}"


@dataclasses.dataclass(frozen=True)
class Placeholder:
    label: dict  # what it is: {"zh", "en"}
    insert: str  # what the editor inserts (and what to type without JavaScript)
    cards_only: bool = False  # actions have no colour, "when" or "consequence"


PLACEHOLDERS = (
    Placeholder({"zh": "发文机关（本单位名称）", "en": "the issuing body (this body's name)"}, "{{ tenant_name }}"),
    Placeholder({"zh": "文号，如 巴纪〔2027〕8号", "en": "the document number (文号)"}, "{{ document_no }}"),
    Placeholder({"zh": "文书名称（监督卡、监督措施的名称）", "en": "the document's name (the card or action's name)"}, "{{ type_name }}"),
    Placeholder({"zh": "被监督对象：人员姓名或单位名称", "en": "the subject: a person's or a unit's name"}, "{{ subject.name }}"),
    Placeholder({"zh": "称呼：姓名，个人加“同志”", "en": "the salutation: the name, with 同志 for a person"},
                "{{ subject.name }}{% if subject.kind == 'person' %}同志{% endif %}"),
    Placeholder({"zh": "被监督人所在单位", "en": "the subject's unit"}, "{{ subject.unit }}"),
    Placeholder({"zh": "被监督人职务", "en": "the subject's position"}, "{{ subject.position }}"),
    Placeholder({"zh": "被监督人所在单位和职务，带括号，如（某镇中心小学副校长）；没有单位时不显示",
                 "en": "the subject's unit and position in brackets; nothing when there is no unit"}, UNIT_AND_POSITION),
    Placeholder({"zh": "落款日期（中文数字），如 二〇二七年一月四日", "en": "the date of issue in Chinese numerals (落款), e.g. 二〇二七年一月四日"},
                "{{ issued_on_chinese }}"),
    Placeholder({"zh": "发文日期，如 2027年1月4日", "en": "the date of issue, e.g. 2027年1月4日"},
                "{{ issued_on[:4] }}年{{ issued_on[5:7]|int }}月{{ issued_on[8:10]|int }}日"),
    Placeholder({"zh": "书面说明期限，如 2027年1月18日（没有期限时不显示）", "en": "the answer deadline, e.g. 2027年1月18日 (nothing when there is none)"},
                "{% if response_due %}{{ response_due[:4] }}年{{ response_due[5:7]|int }}月{{ response_due[8:10]|int }}日{% endif %}"),
    Placeholder({"zh": "书面说明的截止日期（简写），如 2027年1月18日", "en": "the answer deadline (short form), e.g. 2027年1月18日"},
                "{{ response_due_day }}"),
    Placeholder({"zh": "有书面说明期限时才显示的一段（把这段文字放在两者之间）", "en": "a passage shown only when there is an answer deadline (put it in between)"},
                "{% if response_due %}{% endif %}"),
    Placeholder({"zh": "发文日期（数字格式，如 2027-01-04）", "en": "the date of issue as digits (2027-01-04)"}, "{{ issued_on }}"),
    Placeholder({"zh": "书面说明期限（数字格式）", "en": "the answer deadline as digits"}, "{{ response_due }}"),
    Placeholder({"zh": "颜色名称，如 黄色", "en": "the colour's name, e.g. yellow"}, "{{ colour_name }}", cards_only=True),
    Placeholder({"zh": "卡的颜色（色值，用于画颜色名称下的色条）", "en": "the card's colour (its value, for the bar under the colour's name)"},
                "{{ colour }}", cards_only=True),
    Placeholder({"zh": "适用情形", "en": "when the card is used"}, "{{ when }}", cards_only=True),
    Placeholder({"zh": "后果", "en": "what follows"}, "{{ consequence }}", cards_only=True),
    Placeholder({"zh": "抄送单位，用顿号隔开", "en": "who it is copied to, separated by 、"}, "{{ copies|join('、') }}"),
    Placeholder({"zh": "抄送单位，用逗号隔开（公文抄送栏的写法）", "en": "who it is copied to, separated by ， (as a document's copy line)"},
                "{{ copies|join('，') }}"),
    Placeholder({"zh": "有抄送单位时才显示的一段（把这段文字放在两者之间）", "en": "a passage shown only when it is copied to someone (put it in between)"},
                "{% if copies %}{% endif %}"),
)
# Every value render_document gives a template (documents.py); subject's fields are checked one by one.
KNOWN = {"kind", "tenant_name", "type_name", "colour", "colour_name", "when", "consequence", "subject", "issued_on",
         "response_due", "copies", "document_no", "issued_on_chinese", "response_due_day"}
KNOWN_ATTRIBUTES = {"subject": {"kind", "name", "position", "unit"}}
SAMPLE_SUBJECT = {"kind": "person", "name": "王建国", "position": "副校长", "unit": "某镇中心小学"}


def placeholders_for(kind: str) -> list[Placeholder]:
    return [p for p in PLACEHOLDERS if kind == "card" or not p.cards_only]


async def access_document_type(scope: TenantScope, kind: str, key: str) -> CardType | ActionType:
    """This tenant's card or action type by key; 404 otherwise (another tenant's key is simply not here)."""
    row = await scope.repo(KINDS[kind]).find_one({"key": key}) if kind in KINDS else None
    if row is None:
        raise NotFound({"zh": "本单位没有这种监督卡或监督措施", "en": "no such card or action type here"})
    return row


async def sample_context(scope: TenantScope, tenant: Tenant, kind: str, kind_type: CardType | ActionType) -> dict:
    """What render_document would give this type's next document, with a sample official as its subject."""
    today = tenant_today(tenant)
    due = None
    if kind_type.response_deadline:
        try:
            due = period_end(await tenant_calendar(scope), today, kind_type.response_deadline).isoformat()
        except Exception:  # noqa: BLE001 - a year the calendar does not know: a sample date will do
            due = (today + timedelta(days=14)).isoformat()
    prefix = (tenant.settings.document_prefix or tenant.name.zh).strip()
    return {
        "kind": kind, "tenant_name": tenant.name.zh, "type_name": kind_type.name.zh,
        "colour": getattr(kind_type, "colour", "#444444"),
        "colour_name": getattr(getattr(kind_type, "colour_name", None), "zh", ""),
        "when": getattr(getattr(kind_type, "when", None), "zh", ""),
        "consequence": getattr(getattr(kind_type, "consequence", None), "zh", ""),
        "subject": dict(SAMPLE_SUBJECT), "issued_on": today.isoformat(), "response_due": due,
        "copies": [c.name.zh for c in getattr(kind_type, "copy_to", [])], "document_no": f"{prefix}〔{today.year}〕8号",
        **plain_date_values(today.isoformat(), due),
    }


# -- the plain starting text ------------------------------------------------------------------------------------
# The default (templates/documents/default.html) is written for the platform: a comment, macros for the dates.
# An admin who changes the wording of a type on the default starts from this instead: the same document, with only
# the placeholders of the list above. What the type itself says (its colour's name, when it is used, what follows)
# is decided here: a passage the type has nothing for is left out, one it has is plain text around its placeholder.
# Only what differs from one document to the next keeps its condition (the subject's unit, the deadline, the copies).

_RED_HEAD = ('  <header class="red-head" style="border-bottom: 2px solid #d40000; padding-bottom: 6px; margin-bottom: 18px">\n'
             '    <p class="issuer" style="color: #d40000; text-align: center; font-size: 26pt; letter-spacing: 0.08em; font-weight: bold; '
             'margin: 0 0 10px">{{ tenant_name }}</p>\n'
             '    <p class="document-no" style="text-align: center; margin: 0">{{ document_no }}</p>\n'
             '  </header>\n')
_PARAGRAPH = '  <p style="text-indent: 2em; margin: 0 0 6px">{}</p>\n'


def starting_text(kind: str, kind_type: CardType | ActionType) -> str:
    """The default wording of ``kind_type`` as a plain template: renders the same document text as the default."""
    has = {name: bool(getattr(getattr(kind_type, name, None), "zh", "")) for name in ("colour_name", "when", "consequence")}
    text = f'<article class="document official" data-kind="{kind}">\n' + _RED_HEAD
    text += '  <h1 style="text-align: center; font-size: 20pt; letter-spacing: 0.2em; margin: 12px 0 4px">{{ type_name }}</h1>\n'
    if has["colour_name"]:
        text += ('  <p class="colour" style="text-align: center; margin: 0 0 16px"><span style="border-bottom: 4px solid {{ colour }}; '
                 'padding: 0 8px">{{ colour_name }}</span></p>\n')
    text += ('  <p class="addressee" style="margin: 12px 0 6px">{{ subject.name }}{% if subject.kind == \'person\' %}同志{% endif %}'
             + UNIT_AND_POSITION + '：</p>\n')
    if has["when"]:
        text += _PARAGRAPH.format("根据群众反映，{{ when }}。")
    if has["consequence"]:
        text += _PARAGRAPH.format("{{ consequence }}。")
    text += "  {% if response_due %}" + _PARAGRAPH.format("请于<strong>{{ response_due_day }}</strong>前书面说明有关情况。").strip() + "{% endif %}\n"
    text += ('  <div class="signature" style="text-align: right; margin: 36px 2em 24px 0">\n'
             '    <p class="issuer-signature" style="margin: 0">{{ tenant_name }}</p>\n'
             '    <p class="date" style="margin: 0">{{ issued_on_chinese }}</p>\n'
             '  </div>\n')
    text += ('  {% if copies %}<div class="record" style="border-top: 1px solid #000000; border-bottom: 1px solid #000000; padding: 4px 0; '
             "font-size: 11pt\">抄送：{{ copies|join('，') }}。</div>{% endif %}\n")
    return text + "</article>\n"


def _normalised(template: str | None, kind: str | None = None, kind_type: CardType | ActionType | None = None) -> str:
    """What is stored: "" for the default (nothing typed, the default itself, or the type's plain starting text
    saved as it was offered)."""
    text = stored_wording(template)
    if text and kind_type is not None and text.strip() == starting_text(kind, kind_type).strip():
        return ""
    return text


async def render_draft(template: str, context: dict) -> Markup:
    """The draft as the document it would issue (through the official-document allow-list); InvalidInput at
    ``document_template`` when a placeholder does not exist or the sandbox refuses it."""
    source = template if template.strip() else DEFAULT_TEMPLATE
    unknown = unknown_placeholders(source, KNOWN, KNOWN_ATTRIBUTES)
    if unknown:
        raise InvalidInput(fields={FIELD: unknown_words(unknown, WHAT)})
    try:
        html = await render_untrusted(source, context)
    except TemplateRefused as refused:
        if refused.kind == "busy":
            raise ServiceUnavailable(BUSY) from None
        raise InvalidInput(fields={FIELD: refusal_words(refused, WHAT)}) from None
    return Markup(await clean_document_html_off_loop(html))


async def preview_document(scope: TenantScope, kind: str, key: str, template: str) -> Markup:
    kind_type = await access_document_type(scope, kind, key)
    tenant = await get_tenant(scope.tenant_id)
    return await render_draft(template, await sample_context(scope, tenant, kind, kind_type))


def area_of(kind: str, key: str) -> str:
    return f"{AREA_PREFIX[kind]}:{key}"


async def do_set_document_wording(scope: TenantScope, kind: str, key: str, template: str | None, actor: ConfigActor,
                                  note: str = "") -> CardType | ActionType:
    """Check the wording on sample values, save it on the type (marked as the admin's, so a bundle reload keeps
    it) and record the version. ``template`` None or "" restores the default."""
    kind_type = await access_document_type(scope, kind, key)
    template = _normalised(template, kind, kind_type)
    tenant = await get_tenant(scope.tenant_id)
    await render_draft(template, await sample_context(scope, tenant, kind, kind_type))
    before_template = kind_type.document_template
    before = _normalised(before_template)
    if before != template:
        kind_type.document_template = template or None
        kind_type.source = "admin"
        async with unit_of_work() as uow:
            await scope.repo(KINDS[kind]).save(kind_type, session=uow.session)
            uow.record(DomainEvent(f"{SECTIONS[KINDS[kind]]}.defined", scope.tenant_id, str(kind_type.id),
                                   {"actor_id": actor.account_id, "key": key, "wording": True}))
    await record_wording_version(scope, KINDS[kind], key, before_template, template, actor, note=note,
                                 before_actor=BUNDLE_ACTOR if kind_type.source == "bundle" else actor)
    return kind_type


def _applier(kind: str):
    async def apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
        key = content.get("key") if isinstance(content, dict) else None
        if not isinstance(key, str):
            raise InvalidInput(fields={"key": {"zh": "缺少监督卡或措施的代码", "en": "the content names no card or action type"}})
        await do_set_document_wording(scope, kind, key, content.get(FIELD) or "", actor, note)
    return apply


async def _subject(kind: str, scope: TenantScope, key: str, lang: str) -> str | None:
    """``card_wording:blue`` as people say it: the type's name (the configuration pages' label)."""
    row = await scope.repo(KINDS[kind]).find_one({"key": key})
    return (row.name.model_dump().get(lang) or row.name.zh) if row else None


async def _current(kind: str, scope: TenantScope) -> dict:
    """Every type's wording as it stands, for types whose wording has no version yet (export)."""
    return {area_of(kind, row.key): {"key": row.key, FIELD: _normalised(row.document_template)}
            async for row in scope.repo(KINDS[kind]).find({})}


async def _check(kind: str, scope: TenantScope, area: str, content: dict) -> dict:
    """What is wrong with a content before any is applied (import): the type must exist here, the wording must work."""
    key = content.get("key") if isinstance(content, dict) else None
    if not isinstance(key, str) or area != area_of(kind, key):
        return {"key": {"zh": "内容与监督卡或措施不符", "en": "the content does not name this card or action type"}}
    try:
        arriving = incoming_content(f"{kind}_type:{key}")  # a type the same import brings (applied before its wording)
        if arriving is not None:
            kind_type = KINDS[kind].model_validate(dict(arriving, key=key, tenant_id=scope.tenant_id))
        else:
            kind_type = await access_document_type(scope, kind, key)
        await render_draft(_normalised(content.get(FIELD)), await sample_context(scope, await get_tenant(scope.tenant_id), kind, kind_type))
    except InvalidInput as refused:
        return refused.fields
    except NotFound as missing:
        return {"key": missing.message}
    return {}


def _path_label(path: str, lang: str) -> str | None:
    """A diff path of this area in words (the configuration hub's diff view)."""
    words = {FIELD: {"zh": "文书文字", "en": "document wording"}, "key": {"zh": "监督卡或措施", "en": "card or action type"}}.get(path)
    return words[lang] if words else None


def _register() -> None:
    titles = {"card": {"zh": "监督卡文书文字", "en": "Card document wording"},
              "action": {"zh": "监督措施文书文字", "en": "Action document wording"}}
    hooks = inspect.signature(register_config_area).parameters  # the optional hooks, where this platform has them
    for kind, prefix in AREA_PREFIX.items():
        extra = {name: hook for name, hook in (("subject", partial(_subject, kind)), ("current", partial(_current, kind)),
                                               ("check", partial(_check, kind)),
                                               ("path_label", _path_label)) if name in hooks}
        register_config_area(prefix, titles[kind], _applier(kind), **extra)


_register()
