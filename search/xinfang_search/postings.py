"""A query's every match scored at once from its postings, in numpy, for exact totals and a stable top N.

Whoosh walks a query's matcher tree one document at a time in Python (a broad word, 学校 at 100,000
petitions: 60,000 documents through a union of four postings, about 200 ms). Here each term's postings are
read block by block into arrays (ids, weights, the documents' field lengths), scored with Whoosh's own BM25F
formula and statistics (the scorer Whoosh would use gives idf, average length, B and K1), and combined as
the query says: an Or sums where any matches, an And where all do, an AndMaybe (``Ranked``) ranks the
required part's documents by both. A substring (``substrings.NgramPhrase``) intersects its bigrams'
documents and checks positions only where nothing else says it is there: a document holding the word in a
word field holds it as a substring (the same folding on both sides), so only the other candidates are read.

Raw postings of frequent terms are kept per segment (``TermCache``: ids, weights, lengths, bounded in
bytes), so a segment not changed by a drain keeps them across index generations; scores are computed per
query (the statistics change with the index).

Any part this does not know (a prefix, NOT, a field:value range ...) raises ``Unsupported``: the caller then
asks Whoosh's matchers as before."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from itertools import accumulate
from pickle import loads

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, AndMaybe, NullQuery, Or, Term
from whoosh.scoring import BM25FScorer
from whoosh.util.numeric import byte_to_length

_INT_SIZE = 4
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)


class Unsupported(Exception):
    """A query part scored here would differ from Whoosh's (or is not known here): ask Whoosh."""


class TermCache:
    """Raw postings (ids, weights, field lengths) of terms with many documents, per segment, least recently used
    first out, at most ``limit`` bytes (``XINFANG_SEARCH_TERM_CACHE_MB``, default 64; 0: nothing kept)."""

    MIN_DOCS = 256  # fewer are read faster than looked after

    def __init__(self, limit: int, min_docs: int | None = None):
        self.limit, self.used = limit, 0
        if min_docs is not None:
            self.MIN_DOCS = min_docs
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item) -> None:
        size = sum(a.nbytes for a in item)
        if size > self.limit or len(item[0]) < self.MIN_DOCS:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self.used += size
            while self.used > self.limit and self._items:
                _, old = self._items.popitem(last=False)
                self.used -= sum(a.nbytes for a in old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


_CACHE_MB = float(os.environ.get("XINFANG_SEARCH_TERM_CACHE_MB", "64"))
term_cache = TermCache(int(_CACHE_MB * 2**20))
# a substring's documents (a phrase of several bigrams, positions checked), per segment: a sixteenth as much
phrase_cache = TermCache(int(_CACHE_MB * 2**16), min_docs=0)


def _segment_key(reader) -> tuple:
    """The segment's folder and id (random, never reused), the same for every reader of it."""
    segment = reader.segment()
    storage = getattr(reader, "_storage", None)
    folder = getattr(storage, "folder", None) or getattr(getattr(storage, "b", None), "folder", None)
    if segment is None or folder is None:
        return (id(reader), None)  # not kept beyond this reader's life: see term_cache.put
    return (folder, segment.segment_id())


def _lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length in this field (as Whoosh decodes it), kept on the reader."""
    kept = reader.__dict__.setdefault("_xinfang_lengths", {})
    if fieldname not in kept:
        column = reader._perdoc._cached_reader(f"_{fieldname}_len", _LENGTHS_COLUMN())
        count = reader.doc_count_all()
        if column is None:
            kept[fieldname] = np.ones(count, dtype=np.float64)
        else:
            raw = column._dbfile.get(column._basepos, column._count * column._fixedlen) if column._count else b""
            codes = np.frombuffer(raw, dtype=np.uint8)
            full = np.zeros(count, dtype=np.uint8)
            full[:min(count, len(codes))] = codes[:count]
            kept[fieldname] = _LENGTHS[full]
    return kept[fieldname]


def _LENGTHS_COLUMN():
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN
    return LENGTHS_COLUMN


def _deleted(reader) -> np.ndarray | None:
    """A mask of this segment's deleted documents (None: none deleted), kept on the reader."""
    if not reader.has_deletions():
        return None
    if "_xinfang_deleted" not in reader.__dict__:
        mask = np.zeros(reader.doc_count_all() + 1, dtype=bool)
        deleted = reader.deleted_docs_set
        mask[np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = True
        reader.__dict__["_xinfang_deleted"] = mask
    return reader.__dict__["_xinfang_deleted"]


def _leaf(reader, fieldname: str, btext: bytes):
    matcher = reader.postings(fieldname, btext)
    return matcher.child if isinstance(matcher, FilterMatcher) else matcher


def _read(reader, fieldname: str, btext: bytes):
    """(ids, weights, block starts, block offsets) of a term's postings in one segment, deleted documents
    included; the blocks (where each begins among the postings and in the file) let positions be read later
    from the blocks holding the documents asked for only. No blocks (None) for an inlined term."""
    leaf = _leaf(reader, fieldname, btext)
    ids_parts, weight_parts, starts, offsets = [], [], [], []
    if isinstance(leaf, W3LeafMatcher) and not leaf._byteids:
        count_before, position = 0, leaf._baseoffset
        while not leaf._atend:
            if leaf._data is None:
                leaf._read_data()
            raw_ids, raw_weights, _ = leaf._data
            count = leaf._blocklength
            starts.append(count_before)
            offsets.append(position)
            count_before += count
            ids_parts.append(np.cumsum(np.array(raw_ids, dtype=np.int64)))
            if raw_weights is None:
                weight_parts.append(np.ones(count))
            elif isinstance(raw_weights, float):  # Whoosh reads a block's one weight as a float32 array
                weight_parts.append(np.full(count, float(np.float32(raw_weights))))
            else:
                weight_parts.append(np.array(raw_weights, dtype=np.float64))
            if leaf._lastblock:
                break
            position = leaf._nextoffset
            leaf._next_block()
        ids = np.concatenate(ids_parts) if ids_parts else _EMPTY_IDS
        weights = np.concatenate(weight_parts) if weight_parts else _EMPTY_SCORES
        return ids, weights, np.array(starts, dtype=np.int64), np.array(offsets, dtype=np.int64)
    id_list, weight_list = [], []  # inlined (a term of one document) or another codec: walked
    while leaf.is_active():
        id_list.append(leaf.id())
        weight_list.append(leaf.weight())
        leaf.next()
    return np.array(id_list, dtype=np.int64), np.array(weight_list, dtype=np.float64), None, None


def _positions(value: bytes) -> list[int]:
    """Whoosh's Positions.decode_positions."""
    return list(accumulate(loads(value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b".")))


class _Term:
    """One term in one segment: ids (deleted ones out), weights, lengths; positions read when asked."""

    def __init__(self, searcher, fieldname: str, text: str):
        self.searcher, self.fieldname = searcher, fieldname
        reader = searcher.reader()
        self.reader = reader
        self.btext = searcher.schema[fieldname].to_bytes(text)
        self.text = text
        self.present = (fieldname, self.btext) in reader
        self._ids = self._weights = self._lengths = None
        self._raw = None

    def _load(self):
        if self._ids is not None:
            return
        if not self.present:
            self._ids, self._weights, self._lengths = _EMPTY_IDS, _EMPTY_SCORES, _EMPTY_SCORES
            self._raw = (_EMPTY_IDS, None, None)
            return
        reader = self.reader
        key = (_segment_key(reader), self.fieldname, self.btext)
        cacheable = key[0][1] is not None
        item = term_cache.get(key) if cacheable else None
        if item is None:
            ids, weights, starts, offsets = _read(reader, self.fieldname, self.btext)
            lengths = _lengths(reader, self.fieldname)[ids] if self.searcher.schema[self.fieldname].scorable else _EMPTY_SCORES
            item = (ids, weights, lengths) + ((starts, offsets) if starts is not None else ())
            if cacheable:
                term_cache.put(key, item)
        ids, weights, lengths = item[:3]
        self._raw = (ids, *(item[3:] if len(item) > 3 else (None, None)))
        deleted = _deleted(reader)
        if deleted is not None and len(ids):
            keep = ~deleted[ids]
            ids, weights, lengths = ids[keep], weights[keep], (lengths[keep] if len(lengths) else lengths)
        self._ids, self._weights, self._lengths = ids, weights, lengths

    def ids(self) -> np.ndarray:
        self._load()
        return self._ids

    def scores(self, weighting) -> np.ndarray:
        self._load()
        if not len(self._ids):
            return _EMPTY_SCORES
        scorer = weighting.scorer(self.searcher, self.fieldname, self.text)
        if type(scorer) is not BM25FScorer:
            raise Unsupported(type(scorer).__name__)
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        tf = self._weights
        # bm25(): idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))), operation by operation
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * self._lengths / avgfl)))

    def positions_at(self, docnums: np.ndarray) -> list[list[int]]:
        """The positions of this term in each of ``docnums`` (all of them hold it), read from the blocks that
        hold them only."""
        self._load()
        ids, starts, offsets = self._raw
        at = np.searchsorted(ids, docnums)
        if starts is None:  # inlined: walked
            values = []
            leaf = self.reader.postings(self.fieldname, self.btext)
            while leaf.is_active():
                values.append(leaf.value())
                leaf.next()
            return [_positions(values[i]) for i in at.tolist()]
        blocks = np.searchsorted(starts, at, side="right") - 1
        leaf = _leaf(self.reader, self.fieldname, self.btext)
        out, current, values = [], -1, None
        for i, block in zip(at.tolist(), blocks.tolist()):
            if block != current:
                leaf._goto(int(offsets[block]))
                leaf._read_data()
                values, current = leaf._data[2], block
            out.append(_positions(values[i - int(starts[block])]))
        return out


class Scored:
    """A query part's documents in one segment (sorted ids) and their scores."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: np.ndarray, scores: np.ndarray):
        self.ids, self.scores = ids, scores


EMPTY = Scored(_EMPTY_IDS, _EMPTY_SCORES)


def _union(parts: list[Scored]) -> Scored:
    parts = [p for p in parts if len(p.ids)]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([p.ids for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    unique, inverse = np.unique(ids, return_inverse=True)
    return Scored(unique, np.bincount(inverse, weights=scores, minlength=len(unique)))


def _intersection(parts: list[Scored]) -> Scored:
    if not parts or any(not len(p.ids) for p in parts):
        return EMPTY
    result = parts[0]
    for part in parts[1:]:
        common, left, right = np.intersect1d(result.ids, part.ids, assume_unique=True, return_indices=True)
        result = Scored(common, result.scores[left] + part.scores[right])
        if not len(common):
            return EMPTY
    return result


def _within(part: Scored, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``ids`` stands in ``part`` and whether it is there."""
    if not len(part.ids):
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    at = np.searchsorted(part.ids, ids)
    at_clipped = np.minimum(at, len(part.ids) - 1)
    return at_clipped, part.ids[at_clipped] == ids


class Evaluator:
    """Scores a (resolved) query over one segment's searcher."""

    def __init__(self, searcher, weighting=None):
        self.searcher = searcher
        self.weighting = weighting or searcher.weighting
        self._terms: dict = {}

    def term(self, fieldname: str, text: str) -> _Term:
        key = (fieldname, text)
        if key not in self._terms:
            if fieldname not in self.searcher.schema:
                raise Unsupported(fieldname)
            self._terms[key] = _Term(self.searcher, fieldname, text)
        return self._terms[key]

    def run(self, query, known: np.ndarray | None = None) -> Scored:
        """``known``: documents known to match a substring part of this query (see the module's docstring)."""
        from .queries import AllOf, ExactFirst, MinimumShouldMatch, Ranked, RankedOr, StrictFirst
        from .substrings import NgramPhrase

        kind = type(query)
        if query is NullQuery:
            return EMPTY
        if kind is Term:
            if query.fieldname not in self.searcher.schema:
                return EMPTY
            term = self.term(query.fieldname, query.text)
            ids = term.ids()
            if not len(ids):
                return EMPTY
            scores = term.scores(self.weighting)
            return Scored(ids, scores * query.boost if query.boost != 1.0 else scores)
        if kind is NgramPhrase:
            return self._phrase(query, known)
        if kind in (Or, RankedOr):
            subs = query.subqueries
            if kind is RankedOr:  # the first part is the substring of the words the others look for
                words = _union([self.run(q) for q in subs[1:]])
                found = self.run(subs[0], known=words.ids if known is None else np.union1d(known, words.ids))
                result = _union([found, words])
            else:
                result = _union([self.run(q) for q in subs])
            return _boosted(result, query.boost)
        if kind in (And, AllOf):
            return _boosted(self._all(query.subqueries), query.boost)
        if kind is Ranked or kind is AndMaybe:
            if kind is Ranked:
                ranking = self.run(query.b)
                required = self.run(query.a, known=ranking.ids)
            else:
                required = self.run(query.a)
                ranking = self.run(query.b)
            if not len(required.ids):
                return EMPTY
            at, present = _within(ranking, required.ids)
            extra = np.where(present, ranking.scores[at] if len(ranking.ids) else 0.0, 0.0)
            return _boosted(Scored(required.ids, required.scores + extra), query.boost)
        if kind is MinimumShouldMatch:
            parts = [self.run(q) for q in query.subqueries]
            parts = [p for p in parts if len(p.ids)]
            if len(parts) < query.minmatch:
                return EMPTY
            ids = np.concatenate([p.ids for p in parts])
            scores = np.concatenate([p.scores for p in parts])
            unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
            sums = np.bincount(inverse, weights=scores, minlength=len(unique))
            enough = counts >= query.minmatch
            return Scored(unique[enough], sums[enough] * query.boost)
        if kind is ExactFirst:
            from .queries import EXACT_FIRST_BONUS
            inner = self.run(query.query)
            if not len(inner.ids):
                return EMPTY
            exact = self._restricted(query.exact, inner.ids)
            _, present = _within(exact, inner.ids)
            return Scored(inner.ids, inner.scores + np.where(present, EXACT_FIRST_BONUS, 0.0))
        if kind is StrictFirst:
            raise Unsupported("StrictFirst is decided by resolve() first")
        raise Unsupported(kind.__name__)

    def _all(self, subqueries) -> Scored:
        parts = []
        for q in subqueries:
            part = self.run(q)
            if not len(part.ids):
                return EMPTY
            parts.append(part)
        return _intersection(parts)

    def _restricted(self, query, candidates: np.ndarray) -> Scored:
        """``query``'s documents among ``candidates`` (scores as ``run`` gives them)."""
        found = self.run(query, known=None) if not _is_phrase_like(query) else self._phrase_among(query, candidates)
        at, present = _within(found, candidates)
        return Scored(candidates[present], found.scores[at[present]] if len(found.ids) else _EMPTY_SCORES)

    def _phrase_among(self, query, candidates):
        from .substrings import NgramPhrase
        if type(query) is NgramPhrase:
            return self._phrase(query, None, among=candidates)
        if type(query) is And:
            parts = []
            for q in query.subqueries:
                part = self._phrase_among(q, candidates)
                if not len(part.ids):
                    return EMPTY
                parts.append(part)
            return _boosted(_intersection(parts), query.boost)
        return self.run(query)

    def _phrase(self, query, known: np.ndarray | None, among: np.ndarray | None = None) -> Scored:
        """The documents holding the phrase's bigrams at consecutive positions: the intersection of their
        documents, and positions checked only for the candidates not ``known`` to hold it."""
        if FIELD not in self.searcher.schema:
            return EMPTY
        terms = [self.term(FIELD, gram) for gram in query.grams]
        if any(not t.present for t in terms):
            return EMPTY
        reader = self.searcher.reader()
        order = sorted(range(len(terms)), key=lambda i: reader.doc_frequency(FIELD, terms[i].btext))  # as NgramPhrase.matcher
        key = (_segment_key(reader), tuple(query.grams), tuple(query.offsets))
        cacheable = key[0][1] is not None and len(terms) > 1
        cached = phrase_cache.get(key) if cacheable else None
        if cached is not None:  # this segment's documents holding the phrase, as found before
            ids = cached[0]
            deleted = _deleted(reader)
            if deleted is not None and len(ids):
                ids = ids[~deleted[ids]]
            if among is not None:
                ids = np.intersect1d(ids, among, assume_unique=True)
        else:
            ids = terms[order[0]].ids() if among is None else np.intersect1d(terms[order[0]].ids(), among, assume_unique=True)
            for i in order[1:]:
                if not len(ids):
                    break
                ids = np.intersect1d(ids, terms[i].ids(), assume_unique=True)
            if len(terms) > 1 and len(ids):
                unsure = ids if known is None or not len(known) else ids[~np.isin(ids, known, assume_unique=True)]
                if len(unsure):
                    lined = _lined_up([t.positions_at(unsure) for t in terms], query.offsets)
                    ids = np.union1d(np.setdiff1d(ids, unsure, assume_unique=True), unsure[lined])
            if cacheable and among is None:
                phrase_cache.put(key, (ids,))
        if not len(ids):
            return EMPTY
        total = None
        for i in order:  # summed rarest first, as the intersection of their matchers does
            term = terms[i]
            score = term.scores(self.weighting)[np.searchsorted(term.ids(), ids)]
            total = score if total is None else total + score
        return Scored(ids, total * query.boost if query.boost != 1.0 else total)


FIELD = "ngram"


def _is_phrase_like(query) -> bool:
    from .substrings import NgramPhrase
    return type(query) is NgramPhrase or (type(query) is And and all(_is_phrase_like(q) for q in query.subqueries))


def _lined_up(positions: list[list[list[int]]], offsets: list[int]) -> np.ndarray:
    """For each candidate, whether some start has every bigram i at start + offsets[i]."""
    out = np.zeros(len(positions[0]), dtype=bool)
    for c in range(len(out)):
        starts = None
        for offset, per_term in zip(offsets, positions):
            here = {p - offset for p in per_term[c]}
            starts = here if starts is None else starts & here
            if not starts:
                break
        out[c] = bool(starts)
    return out


def _boosted(result: Scored, boost: float) -> Scored:
    return result if boost == 1.0 or not len(result.ids) else Scored(result.ids, result.scores * boost)


def evaluate(query, searcher) -> list[tuple[Scored, int]]:
    """``query`` scored in each segment of ``searcher``: [(Scored, the segment's document offset)]."""
    weighting = searcher.weighting
    return [(Evaluator(leaf, weighting).run(query), offset) for leaf, offset in searcher.leaf_searchers()]
