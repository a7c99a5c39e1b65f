"""Searching one tenant's index or several (a body and those below it): the request as typed, the query
as parsed, filters, exact totals and stable pages, highlights."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from whoosh.query import And, AndMaybe, DateRange, Every, Term

from xinfang.errors import InvalidInput, ServiceUnavailable
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant

from . import docsets, postings, queries
from .analysis import segment, stop_words
from .dictionary import tenant_stop_words, tenant_synonyms
from .highlights import highlight
from .index import IndexUnavailable, TenantIndexDir, make_schema
from .searchers import SearcherCache
from .suggest import few, suggestion

CHINA = ZoneInfo("Asia/Shanghai")
FILTERS = ("category", "region", "channel", "status", "kind")
SORTS = ("relevance", "newest", "oldest")
MAX_PAGE_SIZE = 100

UNAVAILABLE = {"zh": "全文检索索引正在建立或暂不可用，请稍后再试（不会给出不完整的结果）",
               "en": "the search index is being built or is unavailable; try again shortly (no partial results are given)"}


class SearchUnavailable(ServiceUnavailable):
    code = "search_unavailable"
    message = UNAVAILABLE


class _PetitionSearchers(SearcherCache):
    """The petitions' index's open searchers (searchers.py: per thread, bounded), and the documents a filter allows."""

    def filter_docs(self, tenant_id: str, searcher, filter_query):
        """The documents a filter allows, kept while this searcher is current (filters repeat: a status,
        a channel, the last 90 days), so each search does not compute them again."""
        if filter_query is None:
            return None
        # Kept on the searcher itself: document numbers belong to one reader, and an id() of a
        # searcher that is gone can come back for a new one (a stale set gave wrong totals).
        cache = searcher.__dict__.setdefault("_xinfang_filter_docs", {})
        key = repr(filter_query)
        if key not in cache:
            if len(cache) > 256:
                cache.clear()
            try:  # terms' postings and a date range over its column, in numpy
                cache[key] = set(postings.filter_ids(filter_query, searcher).tolist())
            except postings.Unsupported:
                cache[key] = set(searcher.docs_for_query(filter_query))
        return cache[key]


_searchers = _PetitionSearchers(TenantIndexDir)


@dataclass
class SearchRequest:
    q: str = ""
    filters: dict = field(default_factory=dict)
    received_from: date | None = None
    received_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20


def parse_request(args) -> SearchRequest:
    problems = {}

    def day(name):
        value = args.get(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems[name] = {"zh": "日期格式应为 YYYY-MM-DD", "en": "dates are YYYY-MM-DD"}

    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        problems["sort"] = {"zh": "排序方式应为 relevance、newest 或 oldest", "en": f"sort is one of {', '.join(SORTS)}"}
    page, size = args.get("page", "1"), args.get("page_size", "20")
    if not str(page).isdigit() or int(page) < 1 or int(page) > 1000:
        problems["page"] = {"zh": "页码应为 1 到 1000", "en": "page is 1 to 1000"}
    if not str(size).isdigit() or not 1 <= int(size) <= MAX_PAGE_SIZE:
        problems["page_size"] = {"zh": f"每页 1 到 {MAX_PAGE_SIZE} 条", "en": f"page_size is 1 to {MAX_PAGE_SIZE}"}
    q = (args.get("q") or "").strip()
    if len(q) > 200:
        problems["q"] = {"zh": "检索词太长（最多 200 字）", "en": "the query is too long (200 characters at most)"}
    request = SearchRequest(q=q, filters={k: args.get(k) for k in FILTERS if args.get(k)}, received_from=day("from"), received_to=day("to"),
                            sort=sort, page=int(page) if str(page).isdigit() else 1, page_size=int(size) if str(size).isdigit() else 20)
    if problems:
        raise InvalidInput(fields=problems)
    return request


async def search(data_dir: Path, tenants: list[Tenant], request: SearchRequest) -> dict:
    """Search one or several tenants' indexes. An index that cannot answer makes the whole answer a 503:
    a list silently missing one tenant's petitions would mislead."""
    stops = await tenant_stop_words(str(tenants[0].id)) if tenants else frozenset()  # the searching tenant's own
    synonyms = await tenant_synonyms(str(tenants[0].id)) if tenants else ()
    return await asyncio.to_thread(_search_sync, Path(data_dir), [(str(t.id), t.slug, t.name.model_dump()) for t in tenants],
                                   request, await _tenants_with_petitions(tenants), stops, synonyms)


async def _tenants_with_petitions(tenants: list[Tenant]) -> set[str]:
    found = set()
    for tenant in tenants:
        if await TenantScope(tenant.id).repo(Petition).find_one({}) is not None:
            found.add(str(tenant.id))
    return found


def _search_sync(data_dir: Path, tenants: list[tuple[str, str, dict]], request: SearchRequest, non_empty: set[str],
                 stops: frozenset[str] = frozenset(), synonyms: tuple[tuple[str, ...], ...] = ()) -> dict:
    with _searchers.holding():  # a tenant's searcher evicted by a later tenant's stays open until the hits are read
        return _search_held(data_dir, tenants, request, non_empty, stops, synonyms)


def _search_held(data_dir: Path, tenants: list[tuple[str, str, dict]], request: SearchRequest, non_empty: set[str],
                 stops: frozenset[str], synonyms: tuple[tuple[str, ...], ...]) -> dict:
    started = time.perf_counter()
    ranked, total, answered, searchers = [], 0, [], []
    wanted = request.page * request.page_size
    plan = None
    for tenant_id, slug, name in tenants:
        try:
            searcher = _searchers.get(data_dir, tenant_id)
        except IndexUnavailable:
            if tenant_id in non_empty:
                raise SearchUnavailable() from None
            continue  # no petitions, no index yet: nothing is missing
        searchers.append(searcher)
        plan = plan or _plan(searcher.schema, request.q, stops, synonyms)
        allowed = _searchers.filter_docs(tenant_id, searcher, _filters(request))
        if allowed is not None and not allowed:
            continue  # nothing passes the filters here (Whoosh reads an empty allow-set as "no filter")
        count, first = _ranked(searcher, queries.resolve(plan.query, searcher), allowed, request.sort, wanted)
        total += count
        place = len(answered)
        answered.append((searcher, slug, name))
        ranked.extend((key, pid, place, docnum, score) for key, pid, docnum, score in first)
    ranked.sort(key=lambda r: (r[0], r[1]))  # one order over the tenants too: the same key, then the petition id
    start = (request.page - 1) * request.page_size
    needles = plan.needles(synonyms) if plan else []
    hits = []
    for _key, _pid, place, docnum, score in ranked[start:start + request.page_size]:  # only the shown page is read and highlighted
        searcher, slug, name = answered[place]
        hit = searcher.stored_fields(docnum)
        received = hit.get("received")
        categories = [c for c in (hit.get("category") or "").split(",") if c]
        hits.append({
            "id": hit["id"], "number": hit["number"], "title": hit["title"], "subject": hit.get("subject") or None,
            "category": categories[0] if categories else None, "categories": categories, "region": hit.get("region") or None,
            "channel": hit.get("channel"),
            "status": hit.get("status"), "received": received.replace(tzinfo=UTC).isoformat() if received else None,
            "score": round(score or 0.0, 4), "tenant": {"slug": slug, "name": name},
            "highlights": {"title": highlight(hit.get("title"), needles), "text": highlight(hit.get("text"), needles, top=2)},
        })
    plan = plan or _plan(make_schema(), request.q, stops, synonyms)  # no index answered: the words said back all the same
    corrected = _suggestion(searchers, request.q, plan, stops, synonyms) if request.q.strip() and total <= few(searchers) else None
    return {"total": total, "page": request.page, "page_size": request.page_size, "pages": max(1, -(-total // request.page_size)),
            "items": hits, "ignored_words": plan.ignored, "only_common_words": bool(request.q.strip()) and plan.only_common_words,
            "suggestion": corrected, "took_ms": round((time.perf_counter() - started) * 1000, 1)}


def _suggestion(searchers, text: str, plan, stops, synonyms) -> str | None:
    """``suggest.suggestion``, kept while the searchers are current (the close spellings of a rare word walk the
    term lists: hundreds of ms at 100,000 petitions; the same search asked again, for its next page or with
    another filter, finds the same)."""
    if not searchers:
        return suggestion(searchers, text, plan)
    cache = searchers[0].__dict__.setdefault("_xinfang_suggestions", {})
    key = (text, stops, synonyms)
    kept = cache.get(key)
    if kept is not None and len(kept[0]) == len(searchers) and all(a is b for a, b in zip(kept[0], searchers)):
        return kept[1]
    if len(cache) > 256:
        cache.clear()
    found = suggestion(searchers, text, plan)
    cache[key] = (tuple(searchers), found)
    return found


def _ranked(searcher, query, allowed, sort: str, wanted: int):
    """Every match of the query (and filter) counted, and the first ``wanted`` of them in one total order:
    relevance (highest score first), or the received time, then the petition id, so that the pages of one
    search put together give every match exactly once, whatever the page size.

    Whoosh's top-N collector skips what cannot reach the top N (``matcher.replace(minscore)`` drops the part of
    an OR, a word in the text only, whose best score is under the heap's least): right for the top N, but the
    count it kept then missed those petitions, by how many depending on the page and its size. So relevance
    takes the top N+1 that way and counts the matches apart, walking the postings without scoring them (only
    when there are more than N); when the score at the cut runs on past it (copied texts score the same), one
    unlimited pass takes every match instead, and the run is ordered by id. A date sort collects every match
    anyway, and counts them as it does. Any query shape keeps this: a word's Or over the word fields and its
    n-gram phrase, an And of such, a MinimumShouldMatch (its matcher yields the documents with enough words
    only, so the count walks the same set the ranking does).
    Returns (total, [(key, petition id, docnum, score)]).

    Queries ``postings`` knows (words, substrings, their Ors and Ands, sentences, phrases: all the search
    makes of what is typed, except prefixes and NOT) are scored in one pass over their postings instead, every
    match at once: the same scores, total and order."""
    if not isinstance(query, Every):
        try:
            return _ranked_at_once(searcher, query, allowed, sort, wanted)
        except postings.Unsupported:
            pass
    if sort != "relevance" or isinstance(query, Every):  # no words: every score is the same, newest first
        results = searcher.search(query, limit=None, filter=allowed, sortedby="received")
        newest = sort != "oldest"
        items = [((-key if newest else key), docnum, None) for key, docnum in results.top_n]
        items.sort(key=lambda item: item[0])
        total = len(items)
    else:
        # Words ANDed (or a sentence's): every match is scored either way (the skips gain little), so one unlimited
        # pass, counted as it goes. Otherwise the top N+1, one past the cut, to see whether equal scores run on past it.
        exhaustive = _scores_every_match(query)
        results = searcher.search(query, limit=None if exhaustive else wanted + 1, filter=allowed)
        top, total = results.top_n, None
        if len(top) <= wanted or exhaustive:
            total = len(top)  # the heap never filled (nothing was skipped) or no limit: these are all
        elif top[wanted][0] == top[wanted - 1][0]:  # equal scores run on past the cut: every match, once
            results = searcher.search(query, limit=None, filter=allowed)
            top = results.top_n
            total = len(top)
        items = [(-score, docnum, score) for score, docnum in top]
        if total is None:
            total = _count(searcher, query, allowed)
    if len(items) > wanted:  # the page's cut falls inside a run of equal keys: the whole run, ordered by id below
        boundary = items[wanted - 1][0]
        items = [item for item in items if item[0] <= boundary]
    first = [(key, searcher.stored_fields(docnum)["id"], docnum, score) for key, docnum, score in items]
    first.sort(key=lambda item: (item[0], item[1]))
    return total, first[:wanted]


def _ranked_at_once(searcher, query, allowed, sort: str, wanted: int):
    """``_ranked`` for a query ``postings`` scores: every match's score from the postings in numpy, the total
    their number, the first ``wanted`` by key (the whole run of equal keys at the cut), then by petition id."""
    parts = postings.evaluate(query, searcher)
    found = [(scored, offset) for scored, offset in parts if len(scored.ids)]
    if not found:
        return 0, []
    ids = np.concatenate([scored.ids + offset for scored, offset in found])
    scores = np.concatenate([scored.scores for scored, _ in found])
    if allowed is not None:
        keep = _allowed_mask(searcher, allowed)[ids]
        ids, scores = ids[keep], scores[keep]
    total = len(ids)
    if not total:
        return 0, []
    if sort == "relevance":
        keys = -scores
    else:
        received = _sort_keys(searcher, "received")[ids]
        keys = -received if sort != "oldest" else received
    if total > wanted:
        cut = np.partition(keys, wanted - 1)[wanted - 1]
        pick = keys <= cut
        ids, keys, scores = ids[pick], keys[pick], scores[pick]
    relevance = sort == "relevance"
    first = [(key, searcher.stored_fields(docnum)["id"], docnum, score if relevance else None)
             for key, docnum, score in zip(keys.tolist(), ids.tolist(), scores.tolist())]
    first.sort(key=lambda item: (item[0], item[1]))
    return total, first[:wanted]


def _allowed_mask(searcher, allowed: set[int]) -> np.ndarray:
    """The filter's documents as a mask over the searcher's document numbers, kept with the set."""
    cache = searcher.__dict__.setdefault("_xinfang_filter_masks", {})
    kept = cache.get(id(allowed))
    if kept is None or kept[0] is not allowed:
        mask = np.zeros(searcher.doc_count_all() + 1, dtype=bool)
        if allowed:
            mask[np.fromiter(allowed, dtype=np.int64, count=len(allowed))] = True
        if len(cache) > 256:
            cache.clear()
        kept = cache[id(allowed)] = (allowed, mask)
    return kept[1]


def _sort_keys(searcher, fieldname: str) -> np.ndarray:
    """Every document's sort key of a sortable field (what Whoosh's ``sortedby`` orders by), kept on the searcher
    (each segment's column read once: ``postings.column_keys``)."""
    cache = searcher.__dict__.setdefault("_xinfang_sort_keys", {})
    if fieldname not in cache:
        parts = [postings.column_keys(leaf.reader(), fieldname) for leaf, _offset in searcher.leaf_searchers()]
        cache[fieldname] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return cache[fieldname]


def _scores_every_match(query) -> bool:
    """Whoosh scores every match of this query anyway (words ANDed, a piece's words ANDed and ranked by the piece
    as typed, a sentence's documents with enough words): one unlimited pass, counted as it goes, is cheaper."""
    if isinstance(query, (And, queries.MinimumShouldMatch, queries.ExactFirst)):  # ExactFirst: no block skipping
        return True
    if isinstance(query, AndMaybe) and _scores_every_match(query.a):
        return True
    return _has_part_without_best_score(query)


def _has_part_without_best_score(query) -> bool:
    """A part whose matcher cannot say its best score (a piece's words as AllOf, a sentence's MinimumShouldMatch,
    ExactFirst) anywhere in the query: once the top N's heap is full, Whoosh asks an Or's parts for theirs
    (``max_quality``), which failed (学校食堂 OR 校车超载 was a server error). Such a query is scored whole instead."""
    if isinstance(query, (queries.AllOf, queries.MinimumShouldMatch, queries.ExactFirst)):
        return True
    if query.is_leaf():
        return False
    return any(_has_part_without_best_score(sub) for sub in query.children())


def _count(searcher, query, allowed) -> int:
    """How many documents match (and pass the filter): postings read as sets, nothing scored (``docsets``)."""
    return docsets.count(query, searcher, allowed)


OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def spaced_words(text: str, stops: frozenset[str] = frozenset()) -> str:
    """Chinese typed without spaces becomes separate words outside quotes, so every word may be in any
    field ("学校食堂收费" finds 学校 in the title and 食堂收费 in the text); quoted phrases, operators and
    field:value stay as typed. Stop words (the platform's and the tenant's ``stops``) are left out there, so they
    neither narrow the search nor light up in the highlights (``query_words`` says which); a query of nothing
    but the tenant's stop words searches for them all the same. A trailing ``*`` searches words beginning with
    the last word (物业* finds 物业公司, 物业管理), a stop word too (领导* finds 领导班子)."""
    return query_words(text, stops)[0]


def query_words(text: str, stops: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """The query as the parser gets it, and the words left out of it (stop words, in the order typed, once each).
    The platform's stop words are not in the index: a query of nothing else gives an empty string."""
    ignored: list[str] = []
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        pieces = []
        for piece in parts[i].split():
            if piece in OPERATORS or ":" in piece or not any("\u4e00" <= ch <= "\u9fff" for ch in piece):
                pieces.append(piece)
                continue
            prefix = piece.endswith("*")
            found = [w for w, _, _ in segment(piece.rstrip("*"))]
            kept = [w for w in found if w not in stop_words() and w.lower() not in stops]
            if prefix and found and found[-1] not in kept:
                kept.append(found[-1])  # the beginning of longer words: searched even when a stop word alone
            if kept:
                ignored.extend(w for w in found if w not in kept)
                pieces.extend(kept[:-1] + [kept[-1] + ("*" if prefix and kept[-1] == found[-1] else "")])
            elif stops and any(w.lower() in stops for w in found):
                ignored.extend(found)  # the tenant's stop words: searched below if nothing else is
            else:
                ignored.extend(found)  # only the platform's stop words: not in the index, nothing to search
        parts[i] = (" " if i else "") + " ".join(pieces) + (" " if i + 1 < len(parts) else "")
    spaced = '"'.join(parts)
    if not spaced.strip() and stops:  # nothing but stop words, some of them the tenant's: search those after all
        return query_words(text)
    seen: list[str] = []
    for word in ignored:
        if word not in seen:
            seen.append(word)
    return spaced, seen


def _plan(schema, text: str, stops: frozenset[str] = frozenset(), synonyms: tuple[tuple[str, ...], ...] = ()) -> queries.Plan:
    try:
        return queries.plan(schema, text, stops, synonyms)
    except Exception:  # whoosh's parser is lenient; anything it still refuses is the client's query
        raise InvalidInput(fields={"q": {"zh": "检索式无法解析", "en": "the query cannot be parsed"}}) from None


def _query(schema, text: str, stops: frozenset[str] = frozenset(), synonyms: tuple[tuple[str, ...], ...] = (), searcher=None):
    """The Whoosh query for a typed text (``queries.plan``): what the search runs (decided for ``searcher``'s
    index when given, ``queries.resolve``), and the benches count with."""
    query = _plan(schema, text, stops, synonyms).query
    return queries.resolve(query, searcher) if searcher is not None else query


def _filters(request: SearchRequest):
    parts = [Term(name, value) for name, value in request.filters.items()]
    if request.received_from or request.received_to:
        start = datetime.combine(request.received_from, datetime.min.time(), CHINA).astimezone(UTC).replace(tzinfo=None) if request.received_from else None
        end = (datetime.combine(request.received_to + timedelta(days=1), datetime.min.time(), CHINA).astimezone(UTC).replace(tzinfo=None)
               - timedelta(microseconds=1)) if request.received_to else None
        parts.append(DateRange("received", start, end))
    return And(parts) if parts else None
