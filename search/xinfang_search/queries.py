"""A query as a person types it, made into a Whoosh query over a tenant's index (recall first).

* Each word is looked for in the word fields (title, text, subject: where it ranks) and, as a substring, in
  the ``ngram`` field (a phrase of its bigrams, with a low boost): so 梅溪湖 is found inside 梅溪湖畔 and a
  name jieba splits oddly is found where it is written. A word of the tenant's synonym groups looks for
  each word of its group the same way.
* What is typed without spaces (a piece) is cut into words. Which rule applies:
    - a piece of at most ``ALL_REQUIRED_UP_TO`` content words (学校食堂收费, 物业 电梯): every word is
      required (AND), as people expect of a few short words;
    - a longer piece: every word if that finds at least ``StrictFirst.ENOUGH`` petitions (a long name,
      泗阳洋河街道中心幼儿园), else (a sentence) at least ``minimum_should_match(n)`` of its n content words
      (half, never fewer than the short rule's count; single characters joined or left out, see
      ``sentence_words``), ranked by BM25 over the words found;
  and a piece of several words (a pasted fragment, 有老人和小) also matches as one substring of the text,
  boosted, so its own message comes first; a piece of at least ``EXACT_FIRST_FROM`` characters ranks every
  petition holding it as typed (folded) above every one that holds its words apart (``ExactFirst``).
* Pieces typed apart (spaces), operators (AND, OR, NOT), field:value and quoted phrases go through Whoosh's
  parser as before; spaced pieces are ANDed. A quoted phrase is exact: the phrase itself as a substring of
  the folded title, text or subject.
* A trailing ``*`` looks for words beginning with the last word (物业* finds 物业公司).
* Stop words are left out of a piece and said back (``Plan.ignored``); a query of nothing but the platform's
  stop words finds nothing (never everything); one of nothing but the tenant's stop words searches them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from whoosh.matching import AndMaybeMatcher, ListMatcher, Matcher, NullMatcher
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.qparser import QueryParser
from whoosh.query import And, AndMaybe, Every, Not, NullQuery, Or, Prefix, Query, Term

from .analysis import fold, segment, stop_words
from .docsets import FEW_CANDIDATES, count, doc_set, having
from .substrings import at, has_han, score_at, substring_query

WORD_FIELDS = ("title", "text", "subject")
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
NGRAM_BOOST = 0.3  # a word found as a substring only ranks below one found as a word
WHOLE_PIECE_BOOST = 3.0  # a fragment found as typed ranks above its words found apart
ALL_REQUIRED_UP_TO = 3
EXACT_FIRST_FROM = 6  # characters: a piece this long was pasted or typed as one string
EXACT_FIRST_BONUS = 1000.0  # above any BM25 sum of a piece's words (a long sentence's best is about 150)
SHOULD_MATCH_SHARE = 0.5  # tuned on the dev split of bench/search_quality.py (0.4: more found, no better; 0.6: recall 0.74)


def minimum_should_match(words: int) -> int:
    """How many of a piece's ``words`` content words a petition must have (see the module's rule)."""
    if words <= ALL_REQUIRED_UP_TO:
        return words
    return max(ALL_REQUIRED_UP_TO, math.ceil(SHOULD_MATCH_SHARE * words))


class MinimumShouldMatch(Or):
    """Or of subqueries, matching only documents that match at least ``minmatch`` of them (whoosh's own
    ``Or(minmatch=)`` is not implemented). The documents with enough are found by sets first (``docsets``:
    each subquery's postings read once), then only those are scored: each subquery's matcher skipped to them."""

    POSTINGS = "minimum should match"  # how postings.Evaluator scores it

    def __init__(self, subqueries, boost: float = 1.0, minmatch: int = 1):
        super().__init__(subqueries, boost=boost, minmatch=minmatch)
        self._enough: dict = {}

    def __eq__(self, other):
        return super().__eq__(other) and getattr(other, "minmatch", None) == self.minmatch

    def __hash__(self):
        return super().__hash__() ^ hash(self.minmatch)

    def __str__(self):
        return f"({' OR '.join(str(q) for q in self.subqueries)})>={self.minmatch}"

    def normalize(self):
        subs = [q.normalize() for q in self.subqueries]
        return MinimumShouldMatch([q for q in subs if q is not NullQuery], boost=self.boost, minmatch=self.minmatch)

    def apply(self, fn):
        return MinimumShouldMatch([fn(q) for q in self.subqueries], boost=self.boost, minmatch=self.minmatch)

    def estimate_size(self, ixreader):
        return min(q.estimate_size(ixreader) for q in self.subqueries) if self.subqueries else 0

    def doc_set(self, searcher) -> set[int]:
        """The documents of this segment with at least ``minmatch`` of the subqueries (kept for the count)."""
        reader = searcher.reader()
        kept = self._enough.get(id(reader))
        if kept is None or kept[0] is not reader:
            kept = self._enough[id(reader)] = (reader, self._with_enough(searcher))
        return kept[1]

    def _with_enough(self, searcher) -> set[int]:
        """A document with ``minmatch`` of n subqueries has one of any n - minmatch + 1 of them: the rarest
        that many give the candidates (read whole), the commonest are only checked on those (skipped to)."""
        subs, needed = self.subqueries, self.minmatch
        if len(subs) < needed:
            return set()
        reader = searcher.reader()
        subs = sorted(subs, key=lambda q: q.estimate_size(reader))
        counts: Counter = Counter()
        for sub in subs[:len(subs) - needed + 1]:
            counts.update(doc_set(sub, searcher))
        candidates = set(counts)
        for sub in subs[len(subs) - needed + 1:]:
            if len(candidates) * FEW_CANDIDATES < sub.estimate_size(reader):
                counts.update(having(sub, searcher, candidates))
            else:
                counts.update(doc_set(sub, searcher) & candidates)
        return {docnum for docnum, n in counts.items() if n >= needed}

    def matcher(self, searcher, context=None):
        enough = self.doc_set(searcher)
        if not enough:
            return NullMatcher()
        subs = [q.matcher(searcher, context) for q in self.subqueries]
        return _ScoredList(sorted(enough), subs, self.boost)


class _ScoredList(ListMatcher):
    """The given documents, each scored as the sum of the sub-matchers that match it."""

    def __init__(self, ids, subs, boost=1.0):
        super().__init__(ids, all_weights=None, scorer=None)
        self._subs, self._boost = subs, boost

    def copy(self):
        return self

    def supports_block_quality(self):
        return False

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()

    def score(self):
        docnum, total = self.id(), 0.0
        for sub in self._subs:
            if sub.is_active() and sub.id() < docnum:
                sub.skip_to(docnum)
            if sub.is_active() and sub.id() == docnum:
                total += sub.score()
        return total * self._boost


@dataclass
class Piece:
    """What was typed between spaces, outside quotes: its words (stop words out), as typed."""
    text: str
    words: list[str]
    all_words: list[str]
    prefix: bool = False


@dataclass
class Plan:
    """The query made of a typed text, and what the page says back about it."""
    query: object
    ignored: list[str] = field(default_factory=list)
    pieces: list[Piece] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # of field:value

    @property
    def only_common_words(self) -> bool:
        return self.query is NullQuery

    def needles(self, synonyms: tuple[tuple[str, ...], ...] = ()) -> list[str]:
        """What to mark in a petition's text: every word searched, its synonyms, phrases and fragments (folded)."""
        found: list[str] = []
        for piece in self.pieces:
            found.append(piece.text.rstrip("*"))
            for word in piece.words:
                if len(word) > 1 or len(piece.words) == 1:  # a sentence's single characters would mark everywhere
                    found.extend(_group_of(word, synonyms))
        found += self.phrases + self.values
        out = []
        for text in found:
            folded = fold(text)
            if folded.strip() and folded not in out:
                out.append(folded)
        return sorted(out, key=len, reverse=True)


def _group_of(word: str, synonyms: tuple[tuple[str, ...], ...]) -> list[str]:
    folded = fold(word)
    for group in synonyms:
        if folded in (fold(w) for w in group):
            return [folded] + [fold(w) for w in group if fold(w) != folded]
    return [folded]


def _merge_synonyms(words: list[str], synonyms: tuple[tuple[str, ...], ...]) -> list[str]:
    """Adjacent words that together are a synonym group's word become that word (违章 建筑 -> 违章建筑)."""
    known = {fold(w) for group in synonyms for w in group}
    if not known:
        return words
    out, i = [], 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i + 1, -1):
            if fold("".join(words[i:j])) in known:
                out.append("".join(words[i:j]))
                i = j
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _piece(core: str, stops: frozenset[str], synonyms) -> tuple[Piece | None, list[str]]:
    prefix = core.endswith("*")
    text = core.rstrip("*")
    found = _merge_synonyms([w for w, _, _ in segment(text)], synonyms)
    kept = [w for w in found if w not in stop_words() and w.lower() not in stops]
    if prefix and found and found[-1] not in kept:
        kept.append(found[-1])  # the beginning of longer words: searched even when a stop word alone
    ignored = [w for w in found if w not in kept]
    if not kept:
        return None, ignored
    return Piece(text=text, words=kept, all_words=found, prefix=prefix and kept[-1] == found[-1]), ignored


class Ranked(AndMaybe):
    """AndMaybe(what matches, what only ranks), with the ranking part read only for documents that match
    (Whoosh's AndMaybe skips both parts together, so an And of several words moved every word's word fields
    along at each candidate). For a count (no scores wanted) only the matching part is walked."""

    POSTINGS = "ranked"

    def __init__(self, a, b, words: tuple[str, ...] = ()):
        super().__init__(a, b)
        self.words = words  # set by word_query: the word (and its synonyms) this ranks, folded

    def matcher(self, searcher, context=None):
        required = self.a.matcher(searcher, context)
        if not required.is_active():
            return NullMatcher()
        if context is not None and not context.weighting:
            return required
        return _RankedMatcher(required, self.b.matcher(searcher, context))


class _RankedMatcher(AndMaybeMatcher):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def copy(self):
        return _RankedMatcher(self.a.copy(), self.b.copy())

    def next(self):
        self.a.next()
        return True

    def skip_to(self, id):
        self.a.skip_to(id)
        return True

    def replace(self, minquality=0):
        return self if self.a.is_active() else NullMatcher()

    def supports_block_quality(self):
        return False

    def _ranking_here(self) -> bool:
        b, here = self.b, self.a.id()
        if b.is_active() and b.id() < here:
            b.skip_to(here)
        return b.is_active() and b.id() == here

    def at(self, docnum: int) -> bool:
        return at(self.a, docnum)

    def score_at(self, docnum: int) -> float:
        b = self.b
        if b.is_active() and b.id() < docnum:
            b.skip_to(docnum)
        return score_at(self.a, docnum) + (b.score() if b.is_active() and b.id() == docnum else 0.0)

    def weight(self):
        return self.a.weight() + (self.b.weight() if self._ranking_here() else 0.0)

    def score(self):
        return self.a.score() + (self.b.score() if self._ranking_here() else 0.0)


def word_query(word: str, synonyms=(), prefix: bool = False):
    """A word as a substring of the folded text (what it matches), ranked by where it stands as a word
    (title, text, subject). Every document a word-field term matches holds the word as a substring (the same
    folding on both sides), so the substrings alone decide what matches, and the word fields only add to the
    score: AndMaybe(substrings, word fields), which walks the substring's documents and skips through the word
    fields' (cheaper than an Or walking both). A word with no substring query (one character, a number, a
    Latin word) or a prefix (物业*) is looked for in the word fields only, as an Or. Each word of its synonym
    group alike."""
    terms, substrings = [], []
    for variant in _group_of(word, synonyms):
        term = variant.lower()
        terms += [Prefix(name, term) if prefix else Term(name, term) for name in WORD_FIELDS]
        substrings.append(None if prefix else substring_query(variant, NGRAM_BOOST))
    if any(q is None for q in substrings):
        return Or(terms + [q for q in substrings if q is not None])
    return Ranked(substrings[0] if len(substrings) == 1 else Or(substrings), Or(terms),
                  words=tuple(_group_of(word, synonyms)))


COVERED = 0.98


def _nearly_always_a_word(words: tuple[str, ...], reader) -> bool:
    """Each of ``words`` stands as a word (or inside a word) in the word fields of at least ``COVERED`` of the
    petitions that could hold it as a substring (its rarest bigram's count, an upper bound): then the substring,
    the costly part at 100,000 petitions (a phrase of common bigrams, 中心小学), finds at most 2 % more, and the
    word fields alone are searched. A word jieba splits (梅溪湖 in 梅溪湖畔: a third of its petitions) keeps it."""
    for word in words:
        grams = [word[i:i + 2] for i in range(len(word) - 1)]
        if not grams:
            return False
        at_most = min(reader.doc_frequency("ngram", g) for g in grams)
        as_word = max(reader.doc_frequency(name, word.lower()) for name in WORD_FIELDS)
        if as_word < COVERED * at_most:
            return False
    return True


def sentence_words(piece: Piece) -> list[str]:
    """The words a sentence is matched by: single characters next to each other joined (鑫 达 -> 鑫达, a name
    jieba does not know, found as a substring), a single character left alone dropped (坏, 搭: too weak to count)."""
    out, run = [], ""
    for word in piece.all_words + [""]:
        if len(word) == 1 and word in piece.words:
            run += word
            continue
        if len(run) > 1:
            out.append(run)
        run = ""
        if word in piece.words and len(word) > 1:
            out.append(word)
    return out or piece.words


class AllOf(And):
    """Every word of a piece: the rarest word's documents walked, each checked in the others at that document
    alone (``substrings.at``). Whoosh's And moved each part on to its own next match, and a phrase of common
    bigrams (中心小学) walked every document holding both, far past the rarer word's next one."""

    POSTINGS = "all of"

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        subs = sorted(self.subqueries, key=lambda q: q.estimate_size(reader))
        matchers = [q.matcher(searcher, context) for q in subs]
        if any(not m.is_active() for m in matchers[:1]) or any(m is NullMatcher for m in matchers):
            return NullMatcher()
        return _AllOfMatcher(matchers[0], matchers[1:])

    def apply(self, fn):
        return AllOf([fn(q) for q in self.subqueries], boost=self.boost)

    def doc_set(self, searcher) -> set[int]:
        reader = searcher.reader()
        subs = sorted(self.subqueries, key=lambda q: q.estimate_size(reader))
        found = doc_set(subs[0], searcher)
        for sub in subs[1:]:
            if not found:
                break
            matcher = sub.matcher(searcher, searcher.boolean_context())
            found = {docnum for docnum in sorted(found) if at(matcher, docnum)}
        return found


class _WholeScoring:
    """A matcher scored document by document: no block quality to skip by, no weights or positions of its own,
    itself as its copy, and nothing left once inactive."""

    def copy(self):
        return self

    def supports_block_quality(self):
        return False

    def supports(self, astype):
        return False

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()


class _AllOfMatcher(_WholeScoring, Matcher):
    def __init__(self, driver, others):
        self._driver, self._others = driver, others
        self._settle()

    def _settle(self):
        driver = self._driver
        while driver.is_active():
            here = driver.id()
            if all(at(m, here) for m in self._others):
                return
            driver.next()

    def is_active(self):
        return self._driver.is_active()

    def id(self):
        return self._driver.id()

    def next(self):
        self._driver.next()
        self._settle()
        return True

    def skip_to(self, id):
        self._driver.skip_to(id)
        self._settle()
        return True

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()


    def weight(self):
        return self.score()

    def score(self):
        here = self._driver.id()
        return self._driver.score() + sum(score_at(m, here) for m in self._others)


def _all_of(words: list, whole, texts: list[str]):
    """Every word required, each matching as a substring and ranked by its own BM25 (ranking by the piece as
    typed too cost a positions check of all its bigrams per candidate, a third of a place name's time, and
    changed no ranking on the bench's corpus); if one of them is a single character or a number (丁某某, 有老人和小, 2000元: a name or a fragment jieba cut
    where it is not a word, whose characters apart mean little), the piece as typed, with its numbers and Latin
    words as words (2000元 is not in 12000元; and the number's postings, not the digits', drive the search)."""
    combined = words[0] if len(words) == 1 else AllOf(words)
    if whole is None:
        return combined
    if not all(isinstance(w, AndMaybe) for w in words):
        numbers = [q for q, text in zip(words, texts) if not has_han(text)]
        return AllOf(numbers + [whole]) if numbers else whole
    return combined


def piece_query(piece: Piece, synonyms=()):
    query = _piece_query(piece, synonyms)
    if len(piece.text) >= EXACT_FIRST_FROM and len(piece.words) > 1 and not piece.prefix:
        exact = substring_query(piece.text)
        if exact is not None:
            return ExactFirst(query, exact)
    return query


def _piece_query(piece: Piece, synonyms=()):
    last = len(piece.words) - 1
    whole = substring_query(piece.text, WHOLE_PIECE_BOOST) if len(piece.all_words) > 1 else None
    words = [word_query(w, synonyms, prefix=piece.prefix and i == last) for i, w in enumerate(piece.words)]
    strict = _all_of(words, whole, piece.words)
    if len(words) <= ALL_REQUIRED_UP_TO:
        return strict
    sentence = [word_query(w, synonyms) for w in sentence_words(piece)]
    needed = minimum_should_match(len(sentence))
    if needed == len(sentence):
        partial = _all_of(sentence, whole, sentence_words(piece))
    else:
        partial = MinimumShouldMatch(sentence, minmatch=needed)
        if whole is not None:  # ranked by the piece as typed; ORed with it where it finds more (see _all_of)
            partial = Ranked(partial, whole) if all(isinstance(w, AndMaybe) for w in sentence) else Or([partial, whole])
    return StrictFirst(strict, partial)


class _NamedParts(Query):
    """A query made of named parts (``PARTS``): its repr, equality and hash come from them (Whoosh compares and
    hashes queries when it simplifies them)."""

    PARTS: tuple[str, ...] = ()

    def _parts(self) -> tuple:
        return tuple(getattr(self, name) for name in self.PARTS)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(repr(part) for part in self._parts())})"

    def __eq__(self, other):
        return type(other) is type(self) and other._parts() == self._parts()

    def __hash__(self):
        return hash((type(self).__name__, self._parts()))

    def is_leaf(self):
        return False


class ExactFirst(_NamedParts):
    """A long piece's query, the petitions holding the piece as typed (``exact``, a substring of the folded text)
    scored ``EXACT_FIRST_BONUS`` higher: the same documents as the piece's query (counts read only those), so
    totals and pages do not change, only the order. No block skipping: kept by ``resolve`` only where every
    match is scored anyway (at 20,000 petitions a sentence's Or wrapped so went from 10 to 130 ms)."""

    POSTINGS = "exact first"
    BONUS = EXACT_FIRST_BONUS

    PARTS = ("query", "exact")

    def __init__(self, query, exact):
        self.query, self.exact = query, exact

    def __str__(self):
        return f"({self.query} EXACT FIRST {self.exact})"

    def children(self):
        return [self.query]

    def apply(self, fn):
        return ExactFirst(fn(self.query), self.exact)

    def estimate_size(self, ixreader):
        return self.query.estimate_size(ixreader)

    def doc_set(self, searcher) -> set[int]:
        return doc_set(self.query, searcher)

    def matcher(self, searcher, context=None):
        matcher = self.query.matcher(searcher, context)
        if not matcher.is_active() or (context is not None and not context.weighting):
            return matcher
        return _ExactFirstMatcher(matcher, self.exact.matcher(searcher, context))


class _ExactFirstMatcher(_WholeScoring, WrappingMatcher):
    """The piece's matcher, scored higher where ``exact`` (the piece as typed) is found: checked at each of the
    piece's documents alone (few: its words ANDed; cheaper than reading every petition with the piece's bigrams)."""

    def __init__(self, child, exact):
        super().__init__(child)
        self._exact = exact


    def next(self):
        self.child.next()
        return True

    def skip_to(self, id):
        self.child.skip_to(id)
        return True

    def at(self, docnum: int) -> bool:
        return at(self.child, docnum)

    def _bonus(self, docnum: int) -> float:
        return EXACT_FIRST_BONUS if at(self._exact, docnum) else 0.0

    def score_at(self, docnum: int) -> float:
        return score_at(self.child, docnum) + self._bonus(docnum)

    def weight(self):
        return self.score()

    def score(self):
        return self.child.score() + self._bonus(self.child.id())


class StrictFirst(_NamedParts):
    """A long piece: every word (a long name, 泗阳洋河街道中心幼儿园) when that finds at least ``ENOUGH``
    petitions in the index, else the sentence's minimum-should-match (its partial matches ranked). Decided once
    for the whole index (``resolve``) before the search; a segment decides alone only if nobody resolved it."""

    POSTINGS = "strict first"

    ENOUGH = 10
    PARTS = ("strict", "partial")

    def __init__(self, strict, partial):
        self.strict, self.partial = strict, partial

    def __str__(self):
        return f"({self.strict} ELSE {self.partial})"

    def children(self):
        return [self.strict, self.partial]

    def apply(self, fn):
        return StrictFirst(fn(self.strict), fn(self.partial))

    def estimate_size(self, ixreader):
        return self.partial.estimate_size(ixreader)

    def _chosen(self, searcher):
        return self.strict if len(doc_set(self.strict, searcher)) >= self.ENOUGH else self.partial

    def matcher(self, searcher, context=None):
        return self._chosen(searcher).matcher(searcher, context)

    def doc_set(self, searcher) -> set[int]:
        return doc_set(self._chosen(searcher), searcher)


def resolve(query, searcher):
    """The query with each long piece decided for this index (``StrictFirst``), counted over all its segments;
    a word alone as an Or of its substring and its word fields: the same documents (the substring's) and the same
    scores, and Whoosh's top N of an Or skips the blocks that cannot reach them (its AndMaybe's skipping gave
    another top N at another page size: pages repeated and missed petitions)."""
    query = _decided(query, searcher)
    if type(query) is ExactFirst:  # kept where every match is scored anyway (words ANDed, a sentence's enough words)
        inner = _unranked(query.query)  # an Or (ranked by the piece as typed already) keeps Whoosh's block skipping
        return ExactFirst(inner, query.exact) if isinstance(inner, (And, MinimumShouldMatch)) else inner
    return _unranked(query)


class RankedOr(Or):
    """A word's Or as ``resolve`` gives it to Whoosh: its substring first, then the word fields it ranks by (each
    of whose documents holds the substring: ``postings`` checks the substring's positions only elsewhere)."""

    POSTINGS = "ranked or"

    def apply(self, fn):
        return RankedOr([fn(q) for q in self.subqueries], boost=self.boost)

    def normalize(self):
        return self


def _unranked(query):
    if type(query) is Ranked:
        ranking = list(query.b.subqueries) if type(query.b) is Or else [query.b]
        return RankedOr([query.a, *ranking])
    return query


def _count(query, searcher) -> int:
    """How many petitions ``query`` matches: from its postings in numpy (``postings``), else as sets (``docsets``)."""
    from .postings import Unsupported, evaluate

    try:
        return sum(len(scored.ids) for scored, _offset in evaluate(query, searcher))
    except Unsupported:
        return count(query, searcher, None)


def _decided(query, searcher):
    if isinstance(query, StrictFirst):
        chosen = query.strict if _count(query.strict, searcher) >= StrictFirst.ENOUGH else query.partial
        return _decided(chosen, searcher)
    if isinstance(query, MinimumShouldMatch) or query.is_leaf():
        return query
    if type(query) is And and not any(isinstance(q, Not) for q in query.subqueries):  # pieces typed apart
        return AllOf([_decided(q, searcher) for q in query.subqueries], boost=query.boost)
    if isinstance(query, Ranked):
        if query.words and _nearly_always_a_word(query.words, searcher.reader()):
            return query.b
        return Ranked(_decided(query.a, searcher), _decided(query.b, searcher), words=query.words)
    return query.apply(lambda sub: _decided(sub, searcher))


def phrase_query(schema, text: str):
    """A quoted phrase: exactly as typed, a substring of the folded title, text or subject (the n-gram field).
    Not the word fields' phrase: the words inside a word share its position there, so 物业乱收费 would match
    物业公司乱收费. A phrase of a single character looks for that word."""
    substring = substring_query(text, exact=True)
    if substring is not None:
        return substring
    words = [t.text for t in schema["text"].analyzer(text, mode="query")]
    return Or([Term(name, words[0]) for name in WORD_FIELDS]) if words else NullQuery


def plan(schema, text: str, stops: frozenset[str] = frozenset(), synonyms: tuple[tuple[str, ...], ...] = ()) -> Plan:
    """The Whoosh query for ``text`` and what was left out of it (see the module's rules)."""
    if not text.strip():
        return Plan(Every())
    ignored: list[str] = []
    placeholders: dict[str, object] = {}
    result = Plan(NullQuery)
    parts = text.split('"')
    spaced = []
    for i, part in enumerate(parts):
        if i % 2:  # inside quotes
            if part.strip():
                name = f"xfquote{len(placeholders)}"
                placeholders[name] = phrase_query(schema, part)
                result.phrases.append(part)
                spaced.append(name)
            continue
        for raw in part.split():
            if raw in OPERATORS:
                spaced.append(raw)
                continue
            if ":" in raw:
                spaced.append(raw)
                result.values.append(raw.split(":", 1)[1].strip("()\"*"))
                continue
            opening = raw[:len(raw) - len(raw.lstrip("("))]
            core = raw.lstrip("(")
            closing = core[len(core.rstrip(")")):]
            core = core.rstrip(")")
            if not any(ch.isalnum() for ch in core):
                if opening or closing:
                    spaced.append(opening + closing)
                continue
            piece, left_out = _piece(core, stops, synonyms)
            ignored += left_out
            if piece is None:
                if opening or closing:
                    spaced.append(opening + closing)
                continue
            name = f"xfpiece{len(placeholders)}"
            placeholders[name] = piece_query(piece, synonyms)
            result.pieces.append(piece)
            spaced.append(opening + name + closing)
    if not placeholders and not any(":" in s for s in spaced):
        if stops:
            return plan(schema, text, frozenset(), synonyms)  # nothing but stop words, some the tenant's: search those
        result.ignored = _once(ignored)
        return result
    parser = QueryParser("title", schema)
    parsed = parser.parse(" ".join(spaced))

    def replace(query):
        if isinstance(query, Term) and query.text in placeholders:
            return placeholders[query.text]
        return query.apply(replace) if not query.is_leaf() else query

    result.query = replace(parsed)
    result.ignored = _once(ignored)
    return result


def _once(words: list[str]) -> list[str]:
    seen: list[str] = []
    for word in words:
        if word not in seen:
            seen.append(word)
    return seen
