"""A text as a substring of a petition's folded title, text or subject: a phrase of its bigrams in the ``ngram``
field (``analysis.BigramTokenizer``: each bigram at the character where it starts).

Whoosh's own ``Phrase`` checks positions through its span machinery, in Python objects per position: with
bigrams of common characters (00, 20, 中心) that took hundreds of milliseconds at 20,000 petitions. Here the
bigrams' postings are intersected (Whoosh's IntersectionMatcher, skipping by blocks) and a candidate is kept
when its positions line up, bigram i at p + i, by set arithmetic; scores are the bigrams' BM25 summed."""

from __future__ import annotations

from whoosh import matching
from whoosh.matching.binary import IntersectionMatcher
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.query import And, Query, Term

from .analysis import bigrams, fold

FIELD = "ngram"


class _AdjacentMatcher(WrappingMatcher):
    """The documents of an intersection of bigram postings whose positions run one after another."""

    def __init__(self, child, grams, offsets, boost=1.0):
        super().__init__(child, boost)
        self._grams = grams  # the leaf matchers, in the text's order, each at the child's document
        self._offsets = offsets  # where each bigram stands from the first
        self._pending = True  # moved on to a lined-up document only when asked (see ``at``)

    def copy(self):
        raise NotImplementedError  # never needed: the collector copies no matcher of a query shaped here

    def _lined_up(self) -> bool:
        starts = None
        for offset, gram in zip(self._offsets, self._grams):
            here = {p - offset for p in gram.value_as("positions")}
            starts = here if starts is None else starts & here
            if not starts:
                return False
        return True

    def _settle(self) -> None:
        self._pending = False
        while self.child.is_active() and not self._lined_up():
            self.child.next()

    def is_active(self):
        if self._pending:
            self._settle()
        return self.child.is_active()

    def id(self):
        if self._pending:
            self._settle()
        return self.child.id()

    def next(self):
        if self._pending:
            self._settle()
        self.child.next()
        self._settle()
        return True

    def skip_to(self, id):
        self.child.skip_to(id)
        self._settle()
        return True

    def at(self, docnum: int) -> bool:
        """Whether this document holds the text, read at that document alone (no walk on to the next one that
        does, which an And with a rarer part never needs); leaves the matcher to be settled again if used on."""
        self._pending = True
        child = self.child
        if child.is_active() and child.id() < docnum:
            child.skip_to(docnum)
        return child.is_active() and child.id() == docnum and self._lined_up()

    def score_at(self, docnum: int) -> float:
        return self.child.score() * self.boost

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def replace(self, minquality=0):
        if not self.is_active():
            return matching.NullMatcher()
        return self  # the leaves must stay the ones the check reads


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

    def supports_block_quality(self):
        return False

    def supports(self, astype):
        return False


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

    def matcher(self, searcher, context=None):
        if FIELD not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[FIELD]
        reader = searcher.reader()
        weighting = context.weighting if context is not None else searcher.weighting
        leaves, sizes = [], []
        for gram in self.grams:
            btext = field.to_bytes(gram)
            if (FIELD, btext) not in reader:
                return matching.NullMatcher()
            leaves.append(searcher.postings(FIELD, btext, weighting=weighting))
            sizes.append(reader.doc_frequency(FIELD, btext))
        rarest_first = [leaves[i] for i in sorted(range(len(leaves)), key=lambda i: sizes[i])]
        child = rarest_first[0]
        for leaf in rarest_first[1:]:
            child = IntersectionMatcher(child, leaf)
        if len(leaves) == 1:
            return matching.WrappingMatcher(child, boost=self.boost) if self.boost != 1.0 else child
        return _AdjacentMatcher(child, leaves, self.offsets, boost=self.boost)


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
