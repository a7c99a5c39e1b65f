"""Frequent words (频发词汇), counted: per tenant, day, region and categories, in how many petitions each word or
short phrase appeared.

What is counted of a petition (``petition_terms``): its content words (two characters or more; no stop word of
the topic stop list, digits, spreadsheet artefacts such as ``_x000d_``, masked names such as 张某 or 王XX; a part
of speech that can name a topic: nouns, names of places and organisations, verbs, not adverbs, numerals and
measures, pronouns, times, idioms: 一天两天, 每人, 晚上, 偷偷 and 个事 are no topics), the dictionary words inside
them as search finds them (物业 inside 物业公司), and its phrases of whole words: two touching content words that
make a noun phrase or an issue (油烟 扰民, 物业 公司, 拖欠 工资; not a verb that goes on to its object, as 寒假 组织
in 寒假组织补课), three nouns (梅溪 湖畔 小区, 柳州 螺蛳 粉店), and a place name with the single character
before it (洋 湖湾 小区, not 湖湾小区). No word or phrase whose edge cuts a domain or tenant word (打网 of 打网约车).
Whether a phrase is a real collocation is decided when shown (``topics``), against its words' counts.
A phrase is kept with a space between its words, so a search for it can quote it; it is shown joined.

Kept in SQLite beside the fingerprints (the indexer writes it as it indexes), so a window of any length is one
grouped, indexed query. The store is derived data: ``indexer.rebuild`` fills it again from the petitions.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from functools import cache
from importlib import resources

import jieba
import jieba.posseg

from .analysis import normalise, segment, stop_words, with_sub_words
from .petition_text import categories_of, china_day, content_of
from .sidestore import SideStore

log = logging.getLogger(__name__)

ARTEFACT = re.compile(r"_x[0-9a-fA-F]{4}_")  # a control character as a spreadsheet export escapes it (_x000d_)
MASKED = re.compile(r"某|[xX*＊×]{2,}")  # a name hidden before publication: 张某, 某某公司, 王XX
MAX_PHRASE_CHARS = 8
# A third word that closes a place name, so 梅溪湖畔小区 is counted whole and not only as 梅溪湖畔 and 湖畔小区.
PLACE_ENDINGS = frozenset("小区 花园 公寓 大厦 广场 社区 新村 家园 街道 学校 中学 小学 幼儿园 医院 公司 市场 大道 路 街 村 镇 乡 苑 湾 城".split())
CATEGORY_SEPARATOR = "\x1f"
# What petition_terms counts, as a number: a store counted otherwise is rebuilt (``TermStore.is_stale``).
COUNTING_VERSION = 2
# jieba's parts of speech (ICTCLAS tags): a noun-like word names a topic alone and in any phrase; a verb alone
# (补课, 拖欠, 强拆) and in an issue (拖欠 工资); nothing else does (numerals, measures, pronouns, times, places
# relative to something (楼上), adverbs, idioms (没人管), particles ...).
NOUN_TAGS = frozenset("n nr nr1 nr2 nrj nrf nrfg nrt ns nsf nt nz nl ng vn an j eng b".split())
VERB_TAGS = frozenset("v vi vl vg".split())
# A word unknown to jieba (found by its HMM) is judged by its dictionary parts: no topic when it starts with a
# numeral, measure, pronoun, adverb, preposition, conjunction or particle (个事, 元到, 越盖越大) or a negation (没谈),
# or ends in a particle, direction, numeral or measure (吵得, 群里, 没批).
NOT_FIRST = frozenset("m mq q r rr rz d df dg p c u uj ul ud uz ug uv y e o".split())
NOT_LAST = frozenset("u uj ul ud uz ug uv y e o f m mq q r rr rz".split())
NEGATIONS = frozenset("没不别未无")
# A single character glued before a place name is part of it (洋 of 洋湖湾小区) when it is a noun or adjective morpheme.
NAME_CHARACTER_TAGS = frozenset("ag ng n nr ns nz j b".split())
NOUN, VERB, OTHER = "noun", "verb", "other"
# Marks a term's occurrence whose edge cuts a word or whose words make no unit there (寒假 组织 of 寒假组织补课):
# counted beside the term, so the term's count stays what a search for it finds and its share of fragments says
# whether it is shown (``topics.FRAGMENT_SHARE``).
FRAGMENT = "~"
MIN_SUB_WORD_FREQ = 10  # a word inside a word counted only if jieba's dictionary has it as a word (料费, 化器 are entries of 2 or 3)


@cache
def standard_stop_words() -> frozenset[str]:
    """The maintained standard Chinese stop list (stopwords-iso, MIT licence), with the search's own."""
    import stopwordsiso

    return frozenset(stopwordsiso.stopwords("zh")) | stop_words()


@cache
def domain_words() -> frozenset[str]:
    """The platform's domain words (domain_words.txt): shown as themselves, never only inside a phrase, and never
    cut by a term's edge."""
    text = resources.files("xinfang_search").joinpath("domain_words.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@cache
def topic_stop_words() -> frozenset[str]:
    """What never makes a topic: the standard list and the words every petition is written with (topic_stopwords.txt)."""
    text = resources.files("xinfang_search").joinpath("topic_stopwords.txt").read_text(encoding="utf-8")
    petition_words = {line.split("#")[0].strip() for line in text.splitlines()}
    return standard_stop_words() | frozenset(w for w in petition_words if w)


def is_countable(word: str, stops: frozenset[str]) -> bool:
    """A word that can be (part of) a topic: no stop word, digit, masked name or punctuation."""
    return (bool(word) and word not in stops and not any(ch.isdigit() for ch in word) and MASKED.search(word) is None
            and all(ch.isalpha() for ch in word))


# Words jieba's dictionary tags as nouns that are times (老师 寒假 is no phrase, 寒假 no topic alone).
TIME_WORDS = {w: "t" for w in "寒假 暑假 假期 节假日 双休日 工作日 上午 下午 中午 傍晚 凌晨 深夜 白天 周一 周二 周三 周四 周五 周六 周日".split()}
# Other nouns of jieba's dictionary that say where or in what name relative to something (一楼 住户, 以 资料费 名义),
# and verbs it tags as names (克扣).
RETAGGED = {**{w: "s" for w in "一楼 二楼 三楼 顶楼 楼上 楼下 隔壁 对面 旁边 附近 门口".split()}, "名义": "f", "克扣": "v"}


@cache
def _tags() -> dict[str, str]:
    _ = segment("")  # jieba loaded with the platform's domain words
    return {**jieba.posseg.dt.word_tag_tab, **TIME_WORDS, **RETAGGED}


@cache
def word_class(word: str) -> str:
    """NOUN, VERB or OTHER: what a word can be in a topic, by jieba's part of speech, or for a word jieba's
    dictionary does not have, by its dictionary parts (个事: measure + noun, OTHER; 底商, 彩钢棚: NOUN)."""
    tag = _tags().get(word)
    if tag is None:
        parts = [part for part in jieba.dt.cut(word, HMM=False) if part.strip()]
        if not parts or word[0] in NEGATIONS:
            return OTHER
        first, last = _tags().get(parts[0], "x"), _tags().get(parts[-1], "x")
        if first in NOT_FIRST or (len(parts) > 1 and last in NOT_LAST):
            return OTHER
        return VERB if len(parts) == 2 and first in VERB_TAGS and last in VERB_TAGS else NOUN
    if tag in NOUN_TAGS:
        return NOUN
    if tag == "l" and word[0] not in NEGATIONS and not set(word) & set("了得着过吗呢吧"):  # 违章建筑, not 没人管 or 说实话了
        return NOUN
    if word[0] in NEGATIONS and _tags().get(word[1:], "x") in VERB_TAGS:  # 没到, 不管: what did not happen
        return OTHER
    return VERB if tag in VERB_TAGS else OTHER


def _known_word_spans(text: str, known: frozenset[str]) -> list[tuple[int, int]]:
    """Where the domain and tenant words occur in the text (the words a term must not cut)."""
    spans = []
    for word in known:
        start = text.find(word)
        while start >= 0:
            spans.append((start, start + len(word)))
            start = text.find(word, start + 1)
    return spans


def cuts_a_word(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether [start, end) starts or ends inside one of these words without holding it (打网 of 打网约车)."""
    return any((a < start < b or a < end < b) and not (start <= a and b <= end) for a, b in spans)


def _one_cover(pieces: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The longest word at each place, none overlapping: the words a person reads, whether segmentation gave
    overlapping sub-words (search mode) or not."""
    cover, reached = [], -1
    for word, start, end in sorted(pieces, key=lambda p: (p[1], -(p[2] - p[1]))):
        if start >= reached:
            cover.append((word, start, end))
            reached = end
    return cover


def petition_terms(title: str, content: str, tenant_words=frozenset(), stops: frozenset[str] | None = None) -> list[str]:
    """The distinct words and phrases a petition is counted under (a phrase's words joined by a space)."""
    stops = topic_stop_words() if stops is None else stops
    known = domain_words() | frozenset(w.lower() for w in tenant_words)
    text = ARTEFACT.sub(" ", f"{title}\n{content}")
    pieces = [(w.lower(), s, e) for w, s, e in _one_cover(segment(text, frozenset(tenant_words)))]
    folded = normalise(text).lower()
    spans = _known_word_spans(folded, known) if len(folded) == len(text) else []
    classes = [NOUN if w in known else word_class(w) for w, _, _ in pieces]
    kinds = [kind if is_countable(w, stops) else OTHER for kind, (w, _, _) in zip(classes, pieces)]
    inside: dict[int, list[str]] = {}
    for word, _, _, position in with_sub_words(pieces):
        if word != pieces[position][0]:
            inside.setdefault(position, []).append(word)

    def touching(i: int) -> bool:  # piece i and piece i + 1 with nothing between them
        return i + 1 < len(pieces) and pieces[i][2] == pieces[i + 1][1]

    def glued_character(i: int) -> bool:  # a single name character right at piece i's edge (洋 of 洋湖湾)
        return (0 <= i < len(pieces) and len(pieces[i][0]) == 1 and _tags().get(pieces[i][0]) in NAME_CHARACTER_TAGS)

    seen: dict[str, None] = {}

    def add(term: str, start: int, end: int, fragment: bool = False) -> None:
        seen.setdefault(term)
        if fragment or cuts_a_word(start, end, spans):
            seen.setdefault(FRAGMENT + term)

    def add_phrase(first: int, last: int, fragment: bool) -> None:
        """Pieces first..last as one phrase, marked a fragment when an edge cuts a word: a place name takes the
        single name character glued before it (洋 湖湾 小区, and 湖湾 小区 a fragment of it); another phrase with
        such a character at an edge is a fragment of a name."""
        parts = [pieces[k][0] for k in range(first, last + 1)]
        if sum(map(len, parts)) > MAX_PHRASE_CHARS:
            return
        before = first > 0 and touching(first - 1) and glued_character(first - 1)
        after = touching(last) and glued_character(last + 1)
        place = pieces[last][0] in PLACE_ENDINGS
        if before and place and len(pieces[first - 1][0]) + sum(map(len, parts)) <= MAX_PHRASE_CHARS:
            add(" ".join([pieces[first - 1][0], *parts]), pieces[first - 1][1], pieces[last][2], fragment)
        add(" ".join(parts), pieces[first][1], pieces[last][2], fragment or before or (after and not place))

    for i, (word, start, end) in enumerate(pieces):
        if kinds[i] == OTHER:
            continue
        if len(word) > 1:
            add(word, start, end)
        for part in inside.get(i, ()):  # 物业 inside 物业公司, 收费 inside 乱收费: counted as search finds them
            if is_countable(part, stops) and jieba.dt.FREQ.get(part, 0) >= MIN_SUB_WORD_FREQ and word_class(part) != OTHER:
                seen.setdefault(part)
        if len(word) < 2 or not touching(i) or kinds[i + 1] == OTHER or len(pieces[i + 1][0]) < 2:
            continue
        # Every phrase of two whole content words is counted (what a search for it finds); an occurrence whose
        # words do not make a unit there is counted a fragment too, and a phrase mostly a fragment is not shown.
        third = classes[i + 2] if touching(i + 1) else OTHER
        if kinds[i] == NOUN and kinds[i + 1] == NOUN:
            add_phrase(i, i + 1, False)
            if third != OTHER and kinds[i + 2] == NOUN and (len(pieces[i + 2][0]) > 1 or pieces[i + 2][0] in PLACE_ENDINGS):
                add_phrase(i, i + 2, False)  # 梅溪 湖畔 小区, 柳州 螺蛳 粉店
        elif kinds[i] == NOUN and kinds[i + 1] == VERB:
            add_phrase(i, i + 1, third == VERB)  # 油烟 扰民; not 寒假 组织 of 寒假组织补课 (the verb goes on)
        elif kinds[i] == VERB and kinds[i + 1] == NOUN:
            add_phrase(i, i + 1, third == VERB)  # 拖欠 工资; not 暗示 学生 of 暗示学生去 (whom the verb makes do something)
    return list(seen)


def shown(term: str) -> str:
    """A term as a person reads it: a phrase's words joined again (油烟 扰民 -> 油烟扰民)."""
    parts = term.split(" ")
    joined = parts[0]
    for part in parts[1:]:  # a space stays only between two latin words (wifi 信号 -> wifi信号, not "app store")
        joined += (" " if joined[-1:].isascii() and part[:1].isascii() else "") + part
    return joined


def petition_row(petition, tenant_words=frozenset()) -> tuple[str, str, str, str, list[str], list[str]]:
    """What ``TermStore.put_many`` takes for a petition: (id, tenant id, day received in China, region, categories, terms)."""
    answers = petition.answers or {}
    region = answers.get("region") if isinstance(answers.get("region"), str) else ""
    return (str(petition.id), petition.tenant_id, china_day(petition.received_at), region.strip(), categories_of(answers),
            petition_terms(petition.title or "", content_of(petition), tenant_words))


def _categories_key(categories: list[str]) -> str:
    """A petition's categories as one column: every petition counted once in an unfiltered total, and a filter by
    one category an exact match on a whole name (``instr`` of SEP name SEP)."""
    return (CATEGORY_SEPARATOR + CATEGORY_SEPARATOR.join(sorted(set(categories))) + CATEGORY_SEPARATOR) if categories else ""


class TermStore(SideStore):
    """Per (tenant, day, region, categories, term): in how many petitions it appeared; and each petition's terms,
    so a petition changed or moved is taken out of the counts exactly."""

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS term_petitions (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, day TEXT NOT NULL,
                                                       region TEXT NOT NULL, cats TEXT NOT NULL, terms TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS term_petitions_by_day ON term_petitions (tenant, day);
            CREATE TABLE IF NOT EXISTS term_days (tenant TEXT NOT NULL, day TEXT NOT NULL, region TEXT NOT NULL, cats TEXT NOT NULL,
                                                  term TEXT NOT NULL, df INTEGER NOT NULL,
                                                  PRIMARY KEY (tenant, day, region, cats, term)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS term_stale_tenants (tenant TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS term_counting (version INTEGER NOT NULL);
    """

    def __init__(self, path):
        super().__init__(path)
        self._take_over_the_first_layout()
        self._mark_tenants_counted_otherwise()

    def _mark_tenants_counted_otherwise(self) -> None:
        """Tenants whose petitions were counted by an earlier ``petition_terms`` (``COUNTING_VERSION``) are noted
        stale, so the indexer's next drain of each counts them again (phrases, parts of speech, fragments)."""
        row = self._db.execute("SELECT version FROM term_counting").fetchone()
        if row is not None and row[0] == COUNTING_VERSION:
            return
        with self.transaction():
            if row is None or row[0] < COUNTING_VERSION:
                self._db.execute("INSERT OR IGNORE INTO term_stale_tenants SELECT DISTINCT tenant FROM term_petitions")
            self._db.execute("DELETE FROM term_counting")
            self._db.execute("INSERT INTO term_counting VALUES (?)", (COUNTING_VERSION,))

    def _take_over_the_first_layout(self) -> None:
        """The first layout (petition_terms, day_terms: no region, categories or phrases) is carried over with an
        empty region and categories, so counts stay shown until ``indexer.rebuild`` counts every petition again; the
        tenants carried over are noted (``is_stale``), and the indexer's next drain of each rebuilds it."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"petition_terms", "day_terms"} <= tables:
            return
        log.warning("search: frequent-word counts of the first layout carried over; each tenant's index is rebuilt at its next drain")
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO term_stale_tenants SELECT DISTINCT tenant FROM petition_terms")
            self._db.execute("INSERT OR IGNORE INTO term_petitions SELECT pid, tenant, day, '', '', terms FROM petition_terms")
            self._db.execute("INSERT OR IGNORE INTO term_days SELECT tenant, day, '', '', term, df FROM day_terms WHERE df > 0")
            self._db.execute("DROP TABLE petition_terms")
            self._db.execute("DROP TABLE day_terms")

    def put_many(self, rows: list[tuple[str, str, str, str, list[str], list[str]]]) -> None:
        """(petition id, tenant id, day, region, categories, terms): counted once per petition, moved if any of these changed."""
        with self.transaction():
            for pid, tenant, day, region, categories, terms in rows:
                self._remove(pid)
                cats = _categories_key(categories)
                self._db.execute("INSERT INTO term_petitions VALUES (?, ?, ?, ?, ?, ?)",
                                 (pid, tenant, day, region, cats, json.dumps(terms, ensure_ascii=False)))
                self._db.executemany(
                    "INSERT INTO term_days VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (tenant, day, region, cats, term) DO UPDATE SET df = df + 1",
                    [(tenant, day, region, cats, term) for term in terms])

    def remove(self, pid: str) -> None:
        with self.transaction():
            self._remove(pid)

    def _remove(self, pid: str) -> None:
        row = self._db.execute("SELECT tenant, day, region, cats, terms FROM term_petitions WHERE pid = ?", (pid,)).fetchone()
        if row is None:
            return
        tenant, day, region, cats, terms = row[0], row[1], row[2], row[3], json.loads(row[4])
        key = (tenant, day, region, cats)
        self._db.executemany("UPDATE term_days SET df = df - 1 WHERE tenant = ? AND day = ? AND region = ? AND cats = ? AND term = ?",
                             [(*key, t) for t in terms])
        self._db.execute("DELETE FROM term_days WHERE tenant = ? AND day = ? AND region = ? AND cats = ? AND df <= 0", key)
        self._db.execute("DELETE FROM term_petitions WHERE pid = ?", (pid,))

    def remove_tenant(self, tenant_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM term_petitions WHERE tenant = ?", (tenant_id,))
            self._db.execute("DELETE FROM term_days WHERE tenant = ?", (tenant_id,))
            self._db.execute("DELETE FROM term_stale_tenants WHERE tenant = ?", (tenant_id,))

    def keep_only(self, tenant_id: str, petition_ids: set[str]) -> None:
        """After a rebuild counted every petition again in place: the tenant's petitions not among these are gone
        from the counts, and the tenant is no longer stale. (Counting in place, not after emptying the tenant, keeps
        the counts whole while a rebuild runs.)"""
        with self.transaction():
            present = [row[0] for row in self._db.execute("SELECT pid FROM term_petitions WHERE tenant = ?", (tenant_id,))]
            for pid in present:
                if pid not in petition_ids:
                    self._remove(pid)
            self._db.execute("DELETE FROM term_stale_tenants WHERE tenant = ?", (tenant_id,))

    def is_stale(self, tenant_id: str) -> bool:
        """This tenant's counts were carried over from the first layout (no regions, categories or phrases)."""
        return self._db.execute("SELECT 1 FROM term_stale_tenants WHERE tenant = ?", (tenant_id,)).fetchone() is not None

    @staticmethod
    def _where(tenant_id: str, first_day: str, last_day: str, region: str | None, category: str | None) -> tuple[str, list]:
        sql, args = "tenant = ? AND day BETWEEN ? AND ?", [tenant_id, first_day, last_day]
        if region and _is_division_above_county(region):  # a prefecture or province: the counties under it too
            prefix = region[:2] if region.endswith("0000") else region[:4]
            sql, args = sql + " AND (region = ? OR (length(region) = 6 AND substr(region, 1, ?) = ?))", [*args, region, len(prefix), prefix]
        elif region:
            sql, args = sql + " AND region = ?", [*args, region]
        if category:
            sql, args = sql + " AND instr(cats, ?) > 0", [*args, CATEGORY_SEPARATOR + category + CATEGORY_SEPARATOR]
        return sql, args

    def counts(self, tenant_id: str, first_day: str, last_day: str, *, region: str | None = None, category: str | None = None,
               at_least: int = 1) -> Counter:
        """In how many petitions of these days (of this region, of this category) each term appeared."""
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        rows = self._db.execute(f"SELECT term, SUM(df) FROM term_days WHERE {where} GROUP BY term HAVING SUM(df) >= ?",
                                (*args, max(1, at_least))).fetchall()
        return Counter(dict(rows))

    def spread(self, tenant_id: str, first_day: str, last_day: str, terms: list[str], *, region: str | None = None,
               category: str | None = None) -> tuple[dict[str, Counter], dict[str, Counter]]:
        """How these terms' petitions spread over regions and over categories (a petition of two categories counts
        in both): term -> Counter(region), term -> Counter(category)."""
        by_region: dict[str, Counter] = defaultdict(Counter)
        by_category: dict[str, Counter] = defaultdict(Counter)
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        for chunk in _chunks(terms, 500):
            marks = ",".join("?" * len(chunk))
            for term, reg, cats, df in self._db.execute(
                    f"SELECT term, region, cats, SUM(df) FROM term_days WHERE {where} AND term IN ({marks}) GROUP BY term, region, cats",
                    (*args, *chunk)):
                by_region[term][reg] += df
                for name in (cats.strip(CATEGORY_SEPARATOR).split(CATEGORY_SEPARATOR) if cats else [""]):
                    by_category[term][name] += df
        return by_region, by_category

    def petition_spread(self, tenant_id: str, first_day: str, last_day: str, *, region: str | None = None,
                        category: str | None = None) -> tuple[Counter, Counter]:
        """The same for all petitions of these days: Counter(region), Counter(category)."""
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        regions, categories = Counter(), Counter()
        for reg, cats, n in self._db.execute(f"SELECT region, cats, COUNT(*) FROM term_petitions WHERE {where} GROUP BY region, cats", args):
            regions[reg] += n
            for name in (cats.strip(CATEGORY_SEPARATOR).split(CATEGORY_SEPARATOR) if cats else [""]):
                categories[name] += n
        return regions, categories

    def daily(self, tenant_id: str, first_day: str, last_day: str, terms: list[str] | None = None, *, region: str | None = None,
              category: str | None = None, at_least: int = 1) -> dict[str, Counter]:
        """term -> Counter(day -> petitions) over these days: of these terms, or of every term counted ``at_least``
        times over the days."""
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        out: dict[str, Counter] = defaultdict(Counter)
        if terms is None:
            sql = (f"SELECT term, day, SUM(df) FROM term_days WHERE {where} AND term IN "
                   f"(SELECT term FROM term_days WHERE {where} GROUP BY term HAVING SUM(df) >= ?) GROUP BY term, day")
            rows = self._db.execute(sql, (*args, *args, max(1, at_least)))
            for term, day, df in rows:
                out[term][day] += df
            return out
        for chunk in _chunks(terms, 500):
            marks = ",".join("?" * len(chunk))
            for term, day, df in self._db.execute(
                    f"SELECT term, day, SUM(df) FROM term_days WHERE {where} AND term IN ({marks}) GROUP BY term, day", (*args, *chunk)):
                out[term][day] += df
        return out

    def petitions(self, tenant_id: str, first_day: str, last_day: str, *, region: str | None = None, category: str | None = None) -> int:
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        return self._db.execute(f"SELECT COUNT(*) FROM term_petitions WHERE {where}", args).fetchone()[0]

    def petitions_by_day(self, tenant_id: str, first_day: str, last_day: str, *, region: str | None = None,
                         category: str | None = None) -> Counter:
        where, args = self._where(tenant_id, first_day, last_day, region, category)
        return Counter(dict(self._db.execute(f"SELECT day, COUNT(*) FROM term_petitions WHERE {where} GROUP BY day", args).fetchall()))

    def first_day(self, tenant_id: str) -> str | None:
        """The day this tenant's earliest counted petition was received (None: none counted)."""
        return self._db.execute("SELECT MIN(day) FROM term_petitions WHERE tenant = ?", (tenant_id,)).fetchone()[0]

    def regions(self, tenant_id: str) -> list[str]:
        """The regions this tenant's petitions name (what the page's region filter offers)."""
        rows = self._db.execute("SELECT DISTINCT region FROM term_petitions WHERE tenant = ? AND region != '' ORDER BY region", (tenant_id,))
        return [r[0] for r in rows]


def _is_division_above_county(region: str) -> bool:
    """A GB/T 2260 code of a province (XX0000) or prefecture (XXXX00), as the report form's region field gives."""
    return len(region) == 6 and region.isdigit() and region.endswith("00")


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
