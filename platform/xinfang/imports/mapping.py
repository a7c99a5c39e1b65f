"""Which column feeds which field, and one row of text turned into a petition's answers the way the intake reads a
form: cells in words (choice titles, 是/否, dates as people write them) become the values the form's fields take,
then ``forms.rendering.parse_form`` types them exactly as for a page, and ``validate_submission`` checks them against
the form's JSON Schema exactly as the intake does. Every problem is a (column, zh, en) for the dry run's list."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from ..forms import regions
from ..forms.messages import validate_submission
from ..forms.model import Field
from ..forms.models import FormVersion
from ..forms.reading import label_of, path_labels, read_form, walk_fields
from ..forms.rendering import parse_form
from ..petitions.models import CHANNEL_NAMES, Channel
from ..petitions.service import EARLIEST_RECEIVED

SOURCE_ID = "_source_id"
RECEIVED_ON = "_received_on"
CHANNEL = "_channel"
ANONYMOUS = "_anonymous"
STATE = "_state"
CLOSED_ON = "_closed_on"
IGNORE = ""

SPECIAL: dict[str, dict] = {
    SOURCE_ID: {"zh": "原系统编号（必选，用于防止重复导入）", "en": "ID in the old system (required: no row is imported twice)"},
    RECEIVED_ON: {"zh": "收到日期（必选）", "en": "Date received (required)"},
    CHANNEL: {"zh": "渠道（来信、来访、来电、网上）", "en": "Channel (letter, visit, phone, online)"},
    ANONYMOUS: {"zh": "是否匿名（是、否）", "en": "Anonymous (yes, no)"},
    STATE: {"zh": "原系统办理状态（如：已办结、办理中）", "en": "State in the old system (e.g. closed, in hand)"},
    CLOSED_ON: {"zh": "办结日期", "en": "Date closed"},
}
# Words of a register's state column that mean the case is finished (besides the names of the workflow's final states),
# and words that mean it is still open (it then starts where a new case starts, for staff to take it up).
CLOSED_WORDS = {"办结", "已办结", "办毕", "已办毕", "结案", "已结案", "已结", "办理完毕", "完结", "已完结", "closed", "done", "finished"}
OPEN_WORDS = {"办理中", "在办", "正在办理", "未办结", "未结", "待办", "待受理", "已登记", "open", "inprogress", "pending"}
REQUIRED_SPECIAL = (SOURCE_ID, RECEIVED_ON)
SKIPPED_KINDS = {"group", "file", "section", "identity_group"}

CHANNEL_WORDS = {
    Channel.LETTER: ("来信", "信件", "书信", "信", "letter", "mail"),
    Channel.VISIT: ("来访", "走访", "上访", "访", "visit"),
    Channel.PHONE: ("来电", "电话", "热线", "12345", "phone", "call"),
    Channel.ONLINE: ("网上", "网上信访", "网络", "网络举报", "留言", "留言板", "网站", "邮箱", "市长信箱", "online", "web", "email"),
}
TRUE_WORDS = {"是", "有", "√", "✓", "y", "yes", "true", "1", "对", "匿名"}
FALSE_WORDS = {"否", "无", "×", "✗", "n", "no", "false", "0", "不", "实名"}
LIST_SPLIT = re.compile(r"[,，、;；/|]+")


@dataclasses.dataclass(frozen=True)
class Target:
    key: str  # a field's dotted path, or one of SPECIAL
    label: dict  # {"zh", "en"} as the mapping page shows it
    field: Field | None = None


def targets(form: FormVersion) -> list[Target]:
    """What a column may feed: the special columns, then the form's fields in its order (identity ones marked)."""
    model = read_form(form.json_schema)
    out = [Target(key, label) for key, label in SPECIAL.items()]
    for path, f, _ in walk_fields(model):
        if f.kind in SKIPPED_KINDS:
            continue
        zh, en = path_labels(model, path)
        if f.identity:
            zh, en = zh + "（身份信息，加密保存）", en + " (identity, kept sealed)"
        out.append(Target(path, {"zh": zh, "en": en}, f))
    return out


def _norm(text: str) -> str:
    return "".join(str(text).split()).lower()


def guess(headings: list[str], form: FormVersion, saved: dict[str, str] | None = None) -> dict[str, str]:
    """A first mapping: what the source saved for these headings, else a heading that reads as a field's title."""
    saved = saved or {}
    by_words: dict[str, str] = {}
    for t in targets(form):
        for word in (t.key, t.label["zh"], t.label["en"], label_of(t.field)["zh"] if t.field else ""):
            if word:
                by_words.setdefault(_norm(word), t.key)
    extra = {"编号": SOURCE_ID, "原编号": SOURCE_ID, "登记编号": SOURCE_ID, "id": SOURCE_ID, "来信日期": RECEIVED_ON,
             "来访日期": RECEIVED_ON, "收到日期": RECEIVED_ON, "登记日期": RECEIVED_ON, "留言时间": RECEIVED_ON, "渠道": CHANNEL,
             "来源渠道": CHANNEL, "信访方式": CHANNEL, "匿名": ANONYMOUS, "办理状态": STATE, "状态": STATE, "办结情况": STATE,
             "是否办结": STATE, "办结日期": CLOSED_ON, "结案日期": CLOSED_ON, "办结时间": CLOSED_ON}
    out = {}
    for heading in headings:
        if heading in saved:
            out[heading] = saved[heading]
        else:
            out[heading] = by_words.get(_norm(heading)) or extra.get(_norm(heading), IGNORE)
    return out


def mapping_problems(mapping: dict[str, str], form: FormVersion) -> dict[str, dict]:
    """What makes a mapping unusable, by the page's field name: a required special column missing, a target twice."""
    known = {t.key for t in targets(form)}
    problems: dict[str, dict] = {}
    chosen: dict[str, str] = {}
    for heading, target in mapping.items():
        if target == IGNORE:
            continue
        if target not in known:
            problems[heading] = {"zh": "没有这个字段", "en": "no such field"}
        elif target in chosen:
            problems[heading] = {"zh": f"与“{chosen[target]}”列对应到了同一项", "en": f"maps to the same field as column '{chosen[target]}'"}
        else:
            chosen[target] = heading
    for key in REQUIRED_SPECIAL:
        if key not in chosen:
            problems[key] = {"zh": f"请指定哪一列是“{SPECIAL[key]['zh'].split('（')[0]}”",
                             "en": f"choose the column that holds '{SPECIAL[key]['en'].split(' (')[0]}'"}
    return problems


# -- one row ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class RowOutcome:
    row: int
    source_id: str = ""
    received_on: date | None = None
    channel: Channel = Channel.LETTER
    anonymous: bool = True
    answers: dict = dataclasses.field(default_factory=dict)
    errors: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (column, zh, en)
    state: str | None = None  # the workflow's final state the register says the case reached; None: where new cases start
    state_text: str = ""  # the register's own words for it
    closed_on: date | None = None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def read_date(text: str) -> date | None:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, a time after it, or an Excel day number; else None."""
    text = text.strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    if text.isdigit() and 20000 <= int(text) <= 80000:  # a date cell read as its serial number (days since 1899-12-30)
        return date(1899, 12, 30) + timedelta(days=int(text))
    return None


class RowReader:
    """Reads rows of one file under one mapping for one form (make once per run)."""

    def __init__(self, form: FormVersion, mapping: dict[str, str], headings: list[str], default_channel: Channel,
                 zone: str, today: date, workflow=None):
        self.form = form
        self.schema = form.json_schema
        self.headings = headings
        self.mapping = {h: t for h, t in mapping.items() if t != IGNORE and h in headings}
        self.fields = {t.key: t for t in targets(form) if t.field is not None}
        self.column_of = {t: h for h, t in self.mapping.items()}
        self.identity = {k for k, t in self.fields.items() if t.field.identity}
        self.default_channel = default_channel
        self.zone = ZoneInfo(zone)
        self.today = today
        self.final_states = final_states(workflow) if workflow is not None else {}
        self.closed_state = closed_state(workflow) if workflow is not None else None

    def read(self, number: int, cells: list[str]) -> RowOutcome:
        row = dict(zip(self.headings, cells))
        out = RowOutcome(row=number, channel=self.default_channel)
        submitted = MultiDict()
        given_identity = False
        unread: set[str] = set()  # fields whose words fit no value: said once, not again as "required"
        anonymous_said: bool | None = None
        state_cell = closed_cell = None
        for heading, target in self.mapping.items():
            text = row.get(heading, "").strip()
            if target == SOURCE_ID:
                out.source_id = " ".join(text.split())[:200]
                if not out.source_id:
                    out.errors.append((heading, "原系统编号为空", "the ID in the old system is empty"))
            elif target == RECEIVED_ON:
                self._received(out, heading, text)
            elif target == CHANNEL:
                if text:
                    channel = _channel(text)
                    if channel is None:
                        out.errors.append((heading, f"渠道“{text[:20]}”无法识别（可填：来信、来访、来电、网上）",
                                           f"channel '{text[:20]}' is not recognised (letter, visit, phone or online)"))
                    else:
                        out.channel = channel
            elif target == STATE:
                state_cell = (heading, text)
            elif target == CLOSED_ON:
                closed_cell = (heading, text)
            elif target == ANONYMOUS:
                if text:
                    anonymous_said = _yes_no(text)
                    if anonymous_said is None:
                        out.errors.append((heading, "应填“是”或“否”", "should be yes or no"))
            elif text:
                value = self._field_value(out, heading, self.fields[target].field, text)
                if value is None:
                    unread.add(target)
                else:
                    submitted.setlist(target, value)
                    given_identity = given_identity or target in self.identity
        self._state(out, state_cell, closed_cell)
        out.anonymous = anonymous_said if anonymous_said is not None else not given_identity
        out.answers = parse_form(self.schema, submitted)
        for error in validate_submission(self.schema, out.answers, anonymous=out.anonymous):
            if error.path in unread:
                continue
            out.errors.append((self._column_for(error.path), error.zh, error.en))
        return out

    def _column_for(self, path: str) -> str:
        while path:
            if path in self.column_of:
                return self.column_of[path]
            path = path.rpartition(".")[0]
        return ""

    def _received(self, out: RowOutcome, heading: str, text: str) -> None:
        if not text:
            out.errors.append((heading, "收到日期为空", "the date received is empty"))
            return
        day = read_date(text)
        if day is None:
            out.errors.append((heading, f"日期“{text[:20]}”无法识别（例：2024-03-05）", f"the date '{text[:20]}' cannot be read (e.g. 2024-03-05)"))
        elif day > self.today:
            out.errors.append((heading, "收到日期不能晚于今天", "the date received cannot be in the future"))
        elif day < EARLIEST_RECEIVED:
            out.errors.append((heading, "收到日期不能早于2000年", "the date received cannot be before 2000"))
        else:
            out.received_on = day

    def _state(self, out: RowOutcome, state_cell: tuple[str, str] | None, closed_cell: tuple[str, str] | None) -> None:
        """The register's state and closing date -> the workflow state the case is imported in. A closed case (its state
        says so, or only a closing date is given) goes to the workflow's final state with its closing date, so an old
        closed case is not overdue; an open one starts where new cases start. A closed case needs its closing date."""
        state_heading, state_text = state_cell or ("", "")
        closed_heading, closed_text = closed_cell or ("", "")
        if closed_text:
            day = read_date(closed_text)
            if day is None:
                out.errors.append((closed_heading, f"日期“{closed_text[:20]}”无法识别（例：2024-03-05）",
                                   f"the date '{closed_text[:20]}' cannot be read (e.g. 2024-03-05)"))
                return
            if day > self.today:
                out.errors.append((closed_heading, "办结日期不能晚于今天", "the date closed cannot be in the future"))
                return
            if out.received_on and day < out.received_on:
                out.errors.append((closed_heading, "办结日期不能早于收到日期", "the date closed cannot be before the date received"))
                return
            out.closed_on = day
        word = _norm(state_text)
        if not word:
            if out.closed_on is not None and self.closed_state:  # only a closing date: the case is closed
                out.state, out.state_text = self.closed_state, "办结"
            return
        if word in {_norm(w) for w in OPEN_WORDS}:
            if out.closed_on is not None:
                out.errors.append((closed_heading, f"状态“{state_text[:20]}”未办结，却填了办结日期",
                                   f"the state '{state_text[:20]}' is not closed, yet a date closed is given"))
            out.state_text = state_text[:40]
            return
        key = self.final_states.get(word) or (self.closed_state if word in {_norm(w) for w in CLOSED_WORDS} else None)
        if key is None:
            names = "、".join(sorted({"已办结", "办理中", *(w for w in self.final_states if not w.isascii())}))
            out.errors.append((state_heading, f"状态“{state_text[:20]}”无法识别（可填：{names}）",
                               f"the state '{state_text[:20]}' is not recognised (closed, in hand, or a final state's name)"))
            return
        if out.closed_on is None:
            out.errors.append((closed_heading or state_heading, "已办结的信访件须填写办结日期", "a closed case needs its date closed"))
            return
        out.state, out.state_text = key, state_text[:40]

    def _field_value(self, out: RowOutcome, heading: str, f: Field, text: str) -> list[str] | None:
        """The text(s) a page would send for this field; None (with an error noted) when the words fit no value."""
        if f.kind == "checkbox":
            said = _yes_no(text)
            if said is None:
                out.errors.append((heading, "应填“是”或“否”", "should be yes or no"))
                return None
            return ["1"] if said else []
        if f.kind == "date":
            day = read_date(text)
            if day is None:
                out.errors.append((heading, f"日期“{text[:20]}”无法识别（例：2024-03-05）", f"the date '{text[:20]}' cannot be read (e.g. 2024-03-05)"))
                return None
            return [day.isoformat()]
        if f.kind == "region":
            return [_region_code(text)]
        if f.choices and f.kind == "multiple_choice":
            values = []
            for part in (p.strip() for p in LIST_SPLIT.split(text)):
                if part:
                    value = _choice(f, part)
                    if value is None:
                        out.errors.append(_not_in_list(heading, f, part))
                        return None
                    values.append(value)
            return values
        if f.choices:
            value = _choice(f, text)
            if value is None:
                out.errors.append(_not_in_list(heading, f, text))
                return None
            return [value]
        if f.json_type in ("integer", "number"):
            return [text.replace(",", "").replace("，", "")]
        return [text]


def final_states(workflow) -> dict[str, str]:
    """The workflow's final states by their words (key, Chinese and English names, normalised) -> key."""
    out = {}
    for state in workflow.states:
        if state.terminal:
            for word in (state.key, state.name.zh, state.name.en):
                if word:
                    out.setdefault(_norm(word), state.key)
    return out


def closed_state(workflow) -> str | None:
    """The final state a register's 已办结 means: the one keyed ``closed``, else one named 办结, else the first final one."""
    finals = [s for s in workflow.states if s.terminal]
    return next((s.key for s in finals if s.key == "closed"), None) or \
        next((s.key for s in finals if "办结" in (s.name.zh or "")), None) or (finals[0].key if finals else None)


def _choice(f: Field, text: str) -> str | None:
    wanted = _norm(text)
    for c in f.choices or []:
        for word in (c.value, c.label_zh, c.label_en):
            if isinstance(word, (str, int, float)) and not isinstance(word, bool) and _norm(str(word)) == wanted:
                return str(c.value)
    return None


def _not_in_list(heading: str, f: Field, text: str) -> tuple[str, str, str]:
    titles_zh = "、".join(str(c.label_zh or c.value) for c in (f.choices or [])[:12])
    titles_en = ", ".join(str(c.label_en or c.label_zh or c.value) for c in (f.choices or [])[:12])
    return (heading, f"“{text[:30]}”不在可选项中（可选：{titles_zh}）", f"'{text[:30]}' is not in the list (choose: {titles_en})")


def _yes_no(text: str) -> bool | None:
    word = _norm(text)
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def _channel(text: str) -> Channel | None:
    word = _norm(text)
    for channel, words in CHANNEL_WORDS.items():
        if word == channel.value or word in words or _norm(CHANNEL_NAMES[channel]["zh"]) == word:
            return channel
    for channel, words in CHANNEL_WORDS.items():  # 群众来信, 电话举报: a known word inside
        if any(len(w) >= 2 and w in word for w in words):
            return channel
    return None


def _region_code(text: str) -> str:
    """A GB/T 2260 code as given, or the code whose full or short name is the text; else the text (validation says)."""
    if text.isdigit():
        return text
    wanted = _norm(text)
    for code, name in regions.names().items():
        if _norm(name) == wanted or _norm(regions.full_name(code)) == wanted:
            return code
    return text
