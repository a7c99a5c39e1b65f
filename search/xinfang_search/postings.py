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

import hashlib
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

from .substrings import NgramPhrase

_INT_SIZE = 4
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)


class Unsupported(Exception):
    """A query part scored here would differ from Whoosh's (or is not known here): ask Whoosh."""


class TermCache:
    """Raw postings (ids, weights, field lengths) of terms with many documents, per segment, least recently used
    first out, at most ``limit`` bytes (``XINFANG_SEARCH_TERM_CACHE_MB``, default 64, through ``configure_caches``; 0: nothing kept)."""

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


DEFAULT_CACHE_MB = 64.0  # Settings.search_term_cache_mb; configure_caches sets what a process was given
term_cache = TermCache(int(DEFAULT_CACHE_MB * 2**20))
# a substring's documents (a phrase of several bigrams, positions checked), per segment: a sixteenth as much
phrase_cache = TermCache(int(DEFAULT_CACHE_MB * 2**16), min_docs=0)


def configure_caches(megabytes: float) -> None:
    """Bound the term and substring caches to what the settings allow (emptied: a smaller bound applies at once)."""
    for cache, limit in ((term_cache, int(megabytes * 2**20)), (phrase_cache, int(megabytes * 2**16))):
        cache.clear()
        cache.limit = max(0, limit)


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


_columns = TermCache(32 * 2**20, min_docs=0)  # sort keys of whole segments


def _column_values(reader, fieldname: str) -> tuple[np.ndarray, int, str] | None:
    """A segment's numeric column as stored (raw values, the value of a document without one, the typecode), read
    from the column's bytes at once and kept per segment (a segment's columns never change); None when the
    column is not a plain numeric one."""
    key = (_segment_key(reader), "column", fieldname)
    kept = _columns.get(key) if key[0][1] is not None else None
    if kept is not None:
        return kept[0], int(kept[1][0]), kept[2].tobytes().decode()
    if not reader.has_column(fieldname):
        return None
    column = reader.column_reader(fieldname, translate=False)
    typecode = getattr(column, "_typecode", None)
    if typecode not in ("b", "B", "h", "H", "i", "I", "l", "L", "q", "Q") or column._reverse or not hasattr(column, "_dbfile"):
        return None
    count = reader.doc_count_all()
    dtype = np.dtype(">" + typecode)
    stored = min(count, column._count)
    raw = column._dbfile.get(column._basepos, stored * column._fixedlen) if stored else b""
    values = np.full(count, column._default, dtype=dtype.newbyteorder("="))
    values[:stored] = np.frombuffer(raw, dtype=dtype)
    if key[0][1] is not None:
        _columns.put(key, (values, np.array([column._default], dtype=np.uint64 if typecode == "Q" else np.int64),
                           np.frombuffer(typecode.encode(), dtype=np.uint8)))
    return values, column._default, typecode


def column_keys(reader, fieldname: str) -> np.ndarray:
    """Every document's sort key in a segment's numeric column (what ``sort_key`` orders by), as int64 in the
    same order (unsigned 64 bits with the top bit flipped)."""
    found = _column_values(reader, fieldname)
    if found is None:
        column = reader.column_reader(fieldname)
        return np.array([column.sort_key(d) for d in range(reader.doc_count_all())], dtype=np.int64)
    values, _default, typecode = found
    if typecode == "Q":
        return (values.astype(np.uint64) ^ np.uint64(1 << 63)).view(np.int64)
    return values.astype(np.int64)


def filter_ids(query, searcher) -> np.ndarray:
    """The documents (the searcher's numbers, deleted ones out) a filter allows: its terms' postings and a date
    range over the column, intersected; ``Unsupported`` for anything else."""
    parts = []
    for leaf, offset in searcher.leaf_searchers():
        parts.append(_filter_segment(query, leaf) + offset)
    return np.concatenate(parts) if parts else _EMPTY_IDS


def _filter_segment(query, leaf) -> np.ndarray:
    from whoosh.query import DateRange

    kind = type(query)
    if kind is And and query.subqueries:
        found = None
        for sub in query.subqueries:
            ids = _filter_segment(sub, leaf)
            found = ids if found is None else np.intersect1d(found, ids, assume_unique=True)
        return found
    if kind is Term:
        if query.fieldname not in leaf.schema:
            return _EMPTY_IDS
        return _Term(leaf, query.fieldname, query.text).ids()
    if kind is DateRange:  # a DATETIME column holds each date's number as the range does (datetime_to_long)
        reader = leaf.reader()
        found = _column_values(reader, query.fieldname)
        if found is None:
            raise Unsupported("a date range without its column")
        values, default, _ = found
        mask = values != default  # a document without the date is in no range
        if query.start is not None:
            mask &= (values > query.start) if query.startexcl else (values >= query.start)
        if query.end is not None:
            mask &= (values < query.end) if query.endexcl else (values <= query.end)
        deleted = _deleted(reader)
        if deleted is not None:
            mask &= ~deleted[:len(mask)]
        return np.nonzero(mask)[0].astype(np.int64)
    raise Unsupported(kind.__name__)


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


def _read(reader, fieldname: str, btext: bytes, among: np.ndarray | None = None):
    """(ids, weights, block starts, block offsets) of a term's postings in one segment, deleted documents
    included; the blocks (where each begins among the postings and in the file) let positions be read later
    from the blocks holding the documents asked for only. No blocks (None) for an inlined term. With ``among``
    (sorted document numbers), only the blocks that could hold one of them are read (their headers say their
    last id): the others' documents are left out."""
    leaf = _leaf(reader, fieldname, btext)
    ids_parts, weight_parts, starts, offsets = [], [], [], []
    if isinstance(leaf, W3LeafMatcher) and not leaf._byteids:
        count_before, position, previous_max = 0, leaf._baseoffset, -1
        while not leaf._atend:
            if among is not None:
                last = leaf._maxid
                wanted = np.searchsorted(among, previous_max, side="right") < np.searchsorted(among, last, side="right")
                previous_max = last
                if not wanted:
                    if leaf._lastblock:
                        break
                    position = leaf._nextoffset
                    leaf._next_block()
                    continue
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

    RESTRICT_BELOW = 256  # candidates this many times fewer than the term's documents (about one for every other block): only their blocks read

    def __init__(self, searcher, fieldname: str, text: str):
        self.searcher, self.fieldname = searcher, fieldname
        reader = searcher.reader()
        self.reader = reader
        self.btext = searcher.schema[fieldname].to_bytes(text)
        self.text = text
        self.present = (fieldname, self.btext) in reader
        self._full = None  # (ids, weights, lengths) of every live document, once read
        self._full_raw = None
        self._raw = None  # (ids, block starts, block offsets) of the last read, for positions_at
        self._scorer = None
        self._df = None

    @property
    def df(self) -> int:
        """Its documents in this segment (deleted ones included), as the term index says."""
        if self._df is None:
            self._df = self.reader.doc_frequency(self.fieldname, self.btext) if self.present else 0
        return self._df

    def _live(self, ids, weights, lengths):
        deleted = _deleted(self.reader)
        if deleted is not None and len(ids):
            keep = ~deleted[ids]
            return ids[keep], weights[keep], (lengths[keep] if len(lengths) else lengths)
        return ids, weights, lengths

    def _lengths_of(self, ids):
        return _lengths(self.reader, self.fieldname)[ids] if self.searcher.schema[self.fieldname].scorable else _EMPTY_SCORES

    def load(self, among: np.ndarray | None = None):
        """(ids, weights, lengths): every document of the term, or, given ``among`` (sorted), at least those of
        them that hold it (only their blocks read when they are few and the term is not kept already)."""
        if not self.present:
            self._raw = (_EMPTY_IDS, None, None)
            return _EMPTY_IDS, _EMPTY_SCORES, _EMPTY_SCORES
        if self._full is None:
            reader = self.reader
            key = (_segment_key(reader), self.fieldname, self.btext)
            cacheable = key[0][1] is not None
            item = term_cache.get(key) if cacheable else None
            if item is None and among is not None and \
                    len(among) * self.RESTRICT_BELOW < self.df:
                ids, weights, starts, offsets = _read(reader, self.fieldname, self.btext, among)
                self._raw = (ids, starts, offsets)
                return self._live(ids, weights, self._lengths_of(ids))
            if item is None:
                ids, weights, starts, offsets = _read(reader, self.fieldname, self.btext)
                item = (ids, weights, self._lengths_of(ids)) + ((starts, offsets) if starts is not None else ())
                if cacheable:
                    term_cache.put(key, item)
            self._full = self._live(*item[:3])
            self._full_raw = (item[0], *(item[3:] if len(item) > 3 else (None, None)))
        self._raw = self._full_raw
        return self._full

    def ids(self, among: np.ndarray | None = None) -> np.ndarray:
        return self.load(among)[0]

    def scored(self, weighting, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, BM25F scores) as Whoosh's scorer for this term computes them."""
        ids, tf, lengths = self.load(among)
        if not len(ids):
            return _EMPTY_IDS, _EMPTY_SCORES
        if self._scorer is None:
            scorer = weighting.scorer(self.searcher, self.fieldname, self.text)
            if type(scorer) is not BM25FScorer:
                raise Unsupported(type(scorer).__name__)
            self._scorer = scorer
        scorer = self._scorer
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        # bm25(): idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))), operation by operation
        return ids, idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * lengths / avgfl)))

    def positions_at(self, docnums: np.ndarray) -> list[list[int]]:
        """The positions of this term in each of ``docnums`` (all of them hold it, and were in the last read),
        read from the blocks that hold them only."""
        ids, starts, offsets = self._raw
        at = np.searchsorted(ids, docnums)
        if starts is None:  # inlined: walked
            values, found = [], []
            leaf = self.reader.postings(self.fieldname, self.btext)
            while leaf.is_active():
                found.append(leaf.id())
                values.append(leaf.value())
                leaf.next()
            at = np.searchsorted(np.array(found, dtype=np.int64), docnums)
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

    def run(self, query, known: np.ndarray | None = None, among: np.ndarray | None = None) -> Scored:
        """The query's documents and scores. ``known``: documents known to hold a substring part of this query
        (see the module's docstring). ``among`` (sorted document numbers): only those are asked about; the result
        is right for each of them, and may hold others, not necessarily right (the caller intersects)."""
        kind = type(query)
        shape = getattr(kind, "POSTINGS", None)  # the search's own query classes (queries.py) say what they are
        if query is NullQuery:
            return EMPTY
        if kind is Term:
            if query.fieldname not in self.searcher.schema:
                return EMPTY
            ids, scores = self.term(query.fieldname, query.text).scored(self.weighting, among)
            if not len(ids):
                return EMPTY
            return Scored(ids, scores * query.boost if query.boost != 1.0 else scores)
        if kind is NgramPhrase:
            return self._phrase(query, known, among)
        if kind is Or or shape == "ranked or":
            subs = query.subqueries
            if shape == "ranked or":  # the first part is the substring of the words the others look for
                words = _union([self.run(q, among=among) for q in subs[1:]])
                found = self.run(subs[0], known=words.ids if known is None else np.union1d(known, words.ids), among=among)
                result = _union([found, words])
            else:
                result = _union([self.run(q, among=among) for q in subs])
            return _boosted(result, query.boost)
        if kind is And or shape == "all of":
            return _boosted(self._all(query.subqueries, among), query.boost)
        if kind is AndMaybe or shape == "ranked":
            if shape == "ranked":
                ranking = self.run(query.b, among=among)
                required = self.run(query.a, known=ranking.ids, among=among)
            else:
                required = self.run(query.a, among=among)
                ranking = self.run(query.b, among=required.ids) if len(required.ids) else EMPTY
            if not len(required.ids):
                return EMPTY
            at, present = _within(ranking, required.ids)
            extra = np.where(present, ranking.scores[at] if len(ranking.ids) else 0.0, 0.0)
            return _boosted(Scored(required.ids, required.scores + extra), query.boost)
        if shape == "minimum should match":
            parts = [self.run(q, among=among) for q in query.subqueries]
            parts = [p for p in parts if len(p.ids)]
            if len(parts) < query.minmatch:
                return EMPTY
            ids = np.concatenate([p.ids for p in parts])
            scores = np.concatenate([p.scores for p in parts])
            unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
            sums = np.bincount(inverse, weights=scores, minlength=len(unique))
            enough = counts >= query.minmatch
            return Scored(unique[enough], sums[enough] * query.boost)
        if shape == "exact first":
            inner = self.run(query.query, among=among)
            if not len(inner.ids):
                return EMPTY
            exact = self.run(query.exact, among=inner.ids)
            _, present = _within(exact, inner.ids)
            return Scored(inner.ids, inner.scores + np.where(present, query.BONUS, 0.0))
        if shape == "strict first":
            raise Unsupported("StrictFirst is decided by resolve() first")
        raise Unsupported(kind.__name__)

    def _all(self, subqueries, among: np.ndarray | None) -> Scored:
        """Every part: the one with the fewest documents first, each next one asked about those found so far."""
        reader = self.searcher.reader()
        ordered = sorted(subqueries, key=lambda q: q.estimate_size(reader))
        found = None
        for q in ordered:
            part = self.run(q, among=among if found is None else found.ids)
            if not len(part.ids):
                return EMPTY
            found = part if found is None else _intersection([found, part])
            if not len(found.ids):
                return EMPTY
        return found if found is not None else EMPTY

    def _phrase(self, query, known: np.ndarray | None, among: np.ndarray | None = None) -> Scored:
        """The documents holding the phrase's bigrams at consecutive positions: the intersection of their
        documents (each bigram asked about the documents of the rarer ones only), and positions checked only
        for the candidates not ``known`` to hold it."""
        if FIELD not in self.searcher.schema:
            return EMPTY
        terms = [self.term(FIELD, gram) for gram in query.grams]
        if any(not t.present for t in terms):
            return EMPTY
        reader = self.searcher.reader()
        order = sorted(range(len(terms)), key=lambda i: terms[i].df)  # as NgramPhrase.matcher
        key = (_segment_key(reader), tuple(query.grams), tuple(query.offsets))
        cacheable = key[0][1] is not None and len(terms) > 1
        cached = phrase_cache.get(key) if cacheable else None
        # asked about some documents only (the other parts of an AND): kept for those documents too (the same
        # search asked again, for another page or the count of a StrictFirst)
        among_key = key + (hashlib.blake2b(among.tobytes(), digest_size=16).digest(),) if among is not None and cacheable else None
        if cached is None and among_key is not None:
            cached = phrase_cache.get(among_key)
        if cached is not None:  # this segment's documents holding the phrase, as found before
            ids = cached[0]
            deleted = _deleted(reader)
            if deleted is not None and len(ids):
                ids = ids[~deleted[ids]]
            if among is not None:
                ids = np.intersect1d(ids, among, assume_unique=True)
        else:
            ids = among
            for i in order:
                found = terms[i].ids(ids)
                ids = found if ids is None else np.intersect1d(ids, found, assume_unique=True)
                if not len(ids):
                    break
            if len(terms) > 1 and len(ids):
                unsure = ids if known is None or not len(known) else ids[~np.isin(ids, known, assume_unique=True)]
                for gram in _between(query.grams, query.offsets):  # the bigrams the phrase skips: absent, no phrase
                    if not len(unsure):
                        break
                    extra = self.term(FIELD, gram)
                    unsure = np.intersect1d(unsure, extra.ids(unsure), assume_unique=True) if extra.present else _EMPTY_IDS
                if len(unsure):
                    lined = _lined_up([t.positions_at(unsure) for t in terms], query.offsets)
                    unsure = unsure[lined]
                sure = ids if known is None or not len(known) else ids[np.isin(ids, known, assume_unique=True)]
                ids = np.union1d(sure, unsure) if known is not None and len(known) else unsure
            if cacheable and among is None:
                phrase_cache.put(key, (ids,))
            elif among_key is not None:
                phrase_cache.put(among_key, (np.intersect1d(ids, among, assume_unique=True),))
        if not len(ids):
            return EMPTY
        total = None
        for i in order:  # summed rarest first, as the intersection of their matchers does
            term_ids, scores = terms[i].scored(self.weighting, ids)
            score = scores[np.searchsorted(term_ids, ids)]
            total = score if total is None else total + score
        return Scored(ids, total * query.boost if query.boost != 1.0 else total)


FIELD = "ngram"


def _between(grams: list[str], offsets: list[int]) -> list[str]:
    """The bigrams of the stretch a phrase stands for that it does not look for (``substrings._covering`` takes
    every other one), when its bigrams give every character of it; a document lacking one cannot hold it."""
    length = offsets[-1] + 2 if offsets else 0
    chars: list[str | None] = [None] * length
    for gram, offset in zip(grams, offsets):
        chars[offset:offset + 2] = list(gram)
    if any(ch is None for ch in chars):
        return []
    kept = set(zip(grams, offsets))
    return list(dict.fromkeys("".join(chars[i:i + 2]) for i in range(length - 1) if ("".join(chars[i:i + 2]), i) not in kept))


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
