"""The documents a query matches, as a set, without scoring: for exact totals and for minimum-should-match.

Whoosh's ``docs_for_query`` walks the query's matcher tree one document at a time (a union of a word's three
word fields and its n-gram phrase is four binary unions deep, in Python per document). Here a term's postings
are read block by block and combined with set operations (in C): an Or is a union, an And an intersection, an AndMaybe its required part.
Anything else (a prefix, NOT, a phrase of bigrams, a field:value of the parser) is walked by its own matcher.
Every function works on one segment's searcher (document numbers of that segment), as matchers do."""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, AndMaybe, Or, Term


FEW_CANDIDATES = 8  # an And's candidates this many times fewer than the next part's documents: checked one by one


def _leaf_ids(matcher) -> list[int]:
    ids: list[int] = []
    while not matcher._atend:  # one block's ids at a time (W3LeafMatcher's own arrays)
        if matcher._ids is None:
            matcher._read_ids()
        ids.extend(matcher._ids)
        if matcher._lastblock:
            break
        matcher._next_block()
    return ids


def _term_docs(query: Term, searcher) -> set[int]:
    if query.fieldname not in searcher.schema:
        return set()
    reader = searcher.reader()
    try:
        btext = searcher.schema[query.fieldname].to_bytes(query.text)
    except ValueError:
        return set()
    if (query.fieldname, btext) not in reader:
        return set()
    matcher = reader.postings(query.fieldname, btext)
    if isinstance(matcher, FilterMatcher) and isinstance(matcher.child, W3LeafMatcher):  # the segment's deleted documents
        found = set(_leaf_ids(matcher.child))
        return found - matcher._ids if matcher._exclude else found & matcher._ids
    return set(_leaf_ids(matcher)) if isinstance(matcher, W3LeafMatcher) else set(matcher.all_ids())


def doc_set(query, searcher) -> set[int]:
    """The documents of one segment that ``query`` matches."""
    if hasattr(query, "doc_set"):
        return query.doc_set(searcher)
    if type(query) is Term:
        return _term_docs(query, searcher)
    if type(query) is Or or type(query).__name__ == "RankedOr":
        found: set[int] = set()
        for sub in query.subqueries:
            found |= doc_set(sub, searcher)
        return found
    if isinstance(query, AndMaybe):
        return doc_set(query.a, searcher)
    if type(query) is And and query.subqueries:
        reader = searcher.reader()
        subs = sorted(query.subqueries, key=lambda q: q.estimate_size(reader))
        found = doc_set(subs[0], searcher)
        for sub in subs[1:]:
            if not found:
                break
            if len(found) * FEW_CANDIDATES < sub.estimate_size(reader):
                found = having(sub, searcher, found)  # a few candidates: skip to each rather than read it all
            else:
                found &= doc_set(sub, searcher)
        return found
    return set(query.docs(searcher))


def having(query, searcher, candidates: set[int]) -> set[int]:
    """Those of ``candidates`` that ``query`` matches, its matcher skipped from one to the next."""
    matcher = query.matcher(searcher, searcher.boolean_context())
    kept = set()
    for docnum in sorted(candidates):
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            kept.add(docnum)
    return kept


def count(query, searcher, allowed: set[int] | None) -> int:
    """How many documents of the whole index (all its segments) match and pass the filter."""
    total = 0
    for leaf, offset in searcher.leaf_searchers():
        found = doc_set(query, leaf)
        if allowed is None:
            total += len(found)
        else:
            total += sum(1 for docnum in found if docnum + offset in allowed)
    return total
