"""A text as a substring of a petition's folded title, text or subject: a phrase of its bigrams in the ``ngram``
field (``analysis.BigramTokenizer``: each bigram at the character where it starts).

Whoosh's own ``Phrase`` checks positions through its span machinery, in Python objects per position: with
bigrams of common characters (00, 20, 中心) that took hundreds of milliseconds at 20,000 petitions. Here the
bigrams' documents are intersected as sets (``docsets``: in C, not a Python walk of skip_to per document) and a
candidate is kept when its positions line up, bigram i at p + i, by set arithmetic; the documents found are kept
on the segment's reader for the search's next asks; scores are the bigrams' BM25 summed."""

from __future__ import annotations

from bisect import bisect_left

from whoosh import matching
from whoosh.query import And, Query, Term

from .analysis import bigrams, fold

FIELD = "ngram"


class _LinedUpMatcher(matching.Matcher):
    """The documents where a stretch's bigrams line up (found beforehand as a set, ``NgramPhrase.lined_up``), in
    order; each scored as the intersection of its bigram leaves was (their BM25 summed, rarest first, times the
    boost): the leaves are only skipped to the documents that match."""

    def __init__(self, docs, leaves, boost=1.0, i=0):
        self._docs = docs  # sorted document numbers
        self._leaves = leaves  # rarest first, as the intersection summed them
        self._boost = boost
        self._i = i

    def copy(self):
        return _LinedUpMatcher(self._docs, [leaf.copy() for leaf in self._leaves], self._boost, self._i)

    def is_active(self):
        return self._i < len(self._docs)

    def id(self):
        return self._docs[self._i]

    def next(self):
        self._i += 1
        return True

    def skip_to(self, id):
        if self.is_active() and self._docs[self._i] < id:
            self._i = bisect_left(self._docs, id, self._i)
        return True

    def at(self, docnum: int) -> bool:
        """Whether this document holds the text (asked in increasing document order)."""
        self.skip_to(docnum)
        return self.is_active() and self._docs[self._i] == docnum

    def _leaves_here(self):
        here = self._docs[self._i]
        for leaf in self._leaves:
            if leaf.id() < here:
                leaf.skip_to(here)
        return self._leaves

    def score(self):
        total = 0.0
        for leaf in self._leaves_here():
            total += leaf.score()
        return total * self._boost

    def score_at(self, docnum: int) -> float:
        return self.score()

    def weight(self):
        total = 0.0
        for leaf in self._leaves_here():
            total += leaf.weight()
        return total * self._boost

    def max_quality(self):
        return sum(leaf.max_quality() for leaf in self._leaves if leaf.is_active()) * self._boost

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self):
        return False

    def supports(self, astype):
        return False


def at(matcher, docnum: int) -> bool:
    """Whether ``matcher`` matches this document (matchers asked in increasing document order)."""
    if hasattr(matcher, "at"):
        return matcher.at(docnum)
    if matcher.is_active() and matcher.id() < docnum:
        matcher.skip_to(docnum)
    return matcher.is_active() and matcher.id() == docnum


def score_at(matcher, docnum: int) -> float:
    """The score of a matcher that ``at`` found at this document."""
    return matcher.score_at(docnum) if hasattr(matcher, "score_at") else matcher.score()


class NgramPhrase(Query):
    """One stretch of text (no punctuation) as a substring: its bigrams at consecutive positions."""

    def __init__(self, grams: list[str], boost: float = 1.0, offsets: list[int] | None = None):
        self.grams = list(grams)
        self.offsets = list(offsets) if offsets is not None else list(range(len(self.grams)))
        self.boost = boost

    def __repr__(self):
        return f"NgramPhrase({self.grams!r}, boost={self.boost})"

    def __str__(self):
        return f'{FIELD}:"{"".join(f"{g}@{o}" for g, o in zip(self.grams, self.offsets))}"'

    def __eq__(self, other):
        return isinstance(other, NgramPhrase) and (other.grams, other.offsets, other.boost) == (self.grams, self.offsets, self.boost)

    def __hash__(self):
        return hash((tuple(self.grams), tuple(self.offsets), self.boost))

    def is_leaf(self):
        return True

    def has_terms(self):
        return True

    def terms(self, phrases=True):
        for gram in self.grams:
            yield FIELD, gram

    def field(self):
        return FIELD

    def normalize(self):
        return self

    def estimate_size(self, ixreader):
        return min(ixreader.doc_frequency(FIELD, g) for g in self.grams)

    def _order(self, reader):
        """The bigrams' byte texts, rarest first; None when one is not in the index."""
        field = reader.schema[FIELD]
        texts = []
        for gram in self.grams:
            btext = field.to_bytes(gram)
            if (FIELD, btext) not in reader:
                return None
            texts.append((reader.doc_frequency(FIELD, btext), len(texts), btext))
        return [btext for _, _, btext in sorted(texts)]

    def lined_up(self, searcher) -> list[int]:
        """The documents of this segment holding the stretch, sorted: the bigrams' postings intersected as sets
        (``docsets``, in C), then positions read for the candidates alone. Kept on the segment's reader (a reader
        never changes; the platform keeps a searcher per index generation): a search asks three times (whether a
        long piece finds enough, the ranking, the count), and queries repeat (the next page, a colleague's)."""
        reader = searcher.reader()
        cache = reader.__dict__.setdefault("_xinfang_lined_up", {})
        key = (tuple(self.grams), tuple(self.offsets))
        found = cache.get(key)
        if found is not None:
            return found
        if FIELD not in reader.schema or (order := self._order(reader)) is None:
            found = []
        else:
            from .docsets import FEW_CANDIDATES, having, term_docs  # docsets reads a query's documents; no cycle at import
            candidates = term_docs(reader, FIELD, order[0])
            for btext in order[1:]:
                if not candidates:
                    break
                if len(candidates) * FEW_CANDIDATES < reader.doc_frequency(FIELD, btext):
                    candidates = having(Term(FIELD, reader.schema[FIELD].from_bytes(btext)), searcher, candidates)
                else:
                    candidates &= term_docs(reader, FIELD, btext)
            found = self._positions_line_up(reader, sorted(candidates)) if len(self.grams) > 1 else sorted(candidates)
        if len(cache) > 512:
            cache.clear()
        cache[key] = found
        return found

    def _positions_line_up(self, reader, candidates: list[int]) -> list[int]:
        field = reader.schema[FIELD]
        leaves = [reader.postings(FIELD, field.to_bytes(gram)) for gram in self.grams]
        kept = []
        for docnum in candidates:
            starts = None
            for offset, leaf in zip(self.offsets, leaves):
                if leaf.id() < docnum:
                    leaf.skip_to(docnum)
                here = {p - offset for p in leaf.value_as("positions")}
                starts = here if starts is None else starts & here
                if not starts:
                    break
            if starts:
                kept.append(docnum)
        return kept

    def doc_set(self, searcher) -> set[int]:
        return set(self.lined_up(searcher))

    def matcher(self, searcher, context=None):
        if FIELD not in searcher.schema:
            return matching.NullMatcher()
        docs = self.lined_up(searcher)
        if not docs:
            return matching.NullMatcher()
        weighting = context.weighting if context is not None else searcher.weighting
        leaves = [searcher.postings(FIELD, btext, weighting=weighting) for btext in self._order(searcher.reader())]
        return _LinedUpMatcher(docs, leaves, boost=self.boost)


def _covering(grams: list[str], exact: bool) -> list[tuple[str, int]]:
    """The bigrams that pin a stretch down, with their offsets: every other one and the last (中心 @0, 小学 @2 are
    中心小学 exactly: half the postings to intersect), and only those with a Han character (a run of digits or
    Latin letters is a word of its own, searched as one: 2000元 is the word 2000 and 0元 after it), unless the
    text must be found ``exact`` (a quoted phrase: 收取200元 is not 收取250元)."""
    if not grams:
        return []
    wanted = list(range(0, len(grams), 2))
    if wanted[-1] != len(grams) - 1:
        wanted.append(len(grams) - 1)
    return [(grams[i], i) for i in wanted if exact or has_han(grams[i])]


def has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def substring_query(text: str, boost: float = 1.0, exact: bool = False):
    """``text`` as a substring of the folded title, text or subject: each stretch between punctuation or spaces
    one ``NgramPhrase`` (all of them required). None when no stretch has two characters, or the text has no
    Han character: a number or a Latin word is a word of its own (2000 must not find 12000, and a substring of
    common digits, 20 00 00, is the costliest phrase there is)."""
    if not has_han(text):
        return None
    parts = []
    for stretch in "".join(ch if ch.isalnum() else " " for ch in fold(text)).split():
        grams = _covering([g for g, _ in bigrams(stretch)], exact)
        if len(grams) == 1:
            parts.append(Term(FIELD, grams[0][0], boost=boost))
        elif grams:
            parts.append(NgramPhrase([g for g, _ in grams], boost=boost, offsets=[o for _, o in grams]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)
