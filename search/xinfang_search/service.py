"""Search, as the platform uses it: queue for indexing, drain a tenant's backlog (the one writer),
rebuild from the store, query (one tenant or the tenants below), duplicates, frequent words.

The request path: a petition is written -> its event reaches this plugin in the
main worker, which records the petition in the tenant's backlog (``SearchBacklog``)
and sends ``xinfang.search.drain`` to the search queue -> the indexer (a worker on
that queue with concurrency 1) drains the backlog under the tenant's writer lock:
index, fingerprint, duplicate check, frequent-word counts. A lost message changes
nothing: the beat sweep sends the drain again for any tenant whose backlog waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pymongo.errors import DuplicateKeyError
from whoosh import highlight
from whoosh.qparser import MultifieldParser
from whoosh.query import And, DateRange, Every, NullQuery, Term
from whoosh.searching import Hit

from xinfang.display_words import words as display_words
from xinfang.errors import InvalidInput, ServiceUnavailable
from xinfang.forms.reading import choice_labels
from xinfang.forms.service import list_forms
from xinfang.petitions.models import Petition
from xinfang.petitions.service import tenant_workflow
from xinfang.store.cache import TtlCache
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import descendants_of

from . import duplicates
from .analysis import segment, stop_words
from .index import IndexUnavailable, TenantIndexDir
from .models import DuplicateCandidate, SearchBacklog, SearchDictionary
from .terms import TermStore, petition_terms, top_and_rising

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
DRAIN_BATCH = 500
FILTERS = ("category", "region", "channel", "status", "kind")
SORTS = ("relevance", "newest", "oldest")
MAX_PAGE_SIZE = 100
COLLECTIVE_MIN_PETITIONERS = 5  # 信访条例: more than five people on one matter is a collective petition (集体访)

UNAVAILABLE = {"zh": "全文检索索引正在建立或暂不可用，请稍后再试（不会给出不完整的结果）",
               "en": "the search index is being built or is unavailable; try again shortly (no partial results are given)"}


class SearchUnavailable(ServiceUnavailable):
    code = "search_unavailable"
    message = UNAVAILABLE


# ----------------------------------------------------------------------------- per-process stores


@dataclass
class Stores:
    root: Path
    fingerprints: duplicates.FingerprintStore
    terms: TermStore


_stores: dict[Path, Stores] = {}


def stores(data_dir: Path) -> Stores:
    """The SQLite side stores of this data directory, opened once per process."""
    root = Path(data_dir)
    if root not in _stores:
        _stores[root] = Stores(root, duplicates.FingerprintStore(root / "search" / "fingerprints.sqlite3"),
                               TermStore(root / "search" / "terms.sqlite3"))
    return _stores[root]


_words_cache = TtlCache(ttl=10.0)


async def tenant_words(tenant_id: str) -> frozenset[str]:
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return frozenset(row.words) if row else frozenset()

    return await _words_cache.get(tenant_id, load)


async def tenant_stop_words(tenant_id: str) -> frozenset[str]:
    """The tenant's own stop words (lower-cased, as the index's words are)."""
    async def load():
        row = await TenantScope(tenant_id).repo(SearchDictionary).find_one({})
        return frozenset(w.lower() for w in row.stop_words) if row else frozenset()

    return await _words_cache.get(("stop", tenant_id), load)


# ----------------------------------------------------------------------------- queueing


async def do_queue_for_indexing(tenant_id: str, petition_id: str) -> None:
    """Note that this petition's index entry is behind (idempotent: a second note keeps one entry, newer)."""
    repo = TenantScope(tenant_id).repo(SearchBacklog)
    stamp = time.time_ns()
    try:
        await repo.insert(SearchBacklog(tenant_id=tenant_id, petition_id=petition_id, queued_ns=stamp))
    except DuplicateKeyError:
        await repo.update_one({"petition_id": petition_id}, {"$set": {"queued_ns": stamp}})


async def waiting_tenants(older_than_seconds: float = 0.0) -> list[str]:
    """Tenants with backlog older than this (for the sweep to send their drain again)."""
    from xinfang.store.documents import cross_tenant_reads

    cutoff = time.time_ns() - int(older_than_seconds * 1e9)
    with cross_tenant_reads("search: find tenants whose index is behind"):
        rows = await SearchBacklog.find({"queued_ns": {"$lt": cutoff}}).limit(5000).to_list()
    return sorted({r.tenant_id for r in rows})


# ----------------------------------------------------------------------------- the indexer


def petition_fields(petition: Petition) -> dict:
    """What the index holds of a petition: its public words and facets. Never the petitioner's identity
    (sealed apart in ``identity_sealed``; ``answers`` never contains it)."""
    answers = petition.answers or {}
    content = answers.get("content") if isinstance(answers.get("content"), str) else ""
    region = answers.get("region") if isinstance(answers.get("region"), str) else ""
    return dict(id=str(petition.id), tenant_id=petition.tenant_id, number=petition.number, title=petition.title or "",
                text=content or "", subject=petition.subject_name or "", category=",".join(categories_of(answers)), region=region,
                channel=str(getattr(petition.channel, "value", petition.channel)), status=petition.state, kind=petition.kind,
                received=petition.received_at.astimezone(UTC).replace(tzinfo=None))


def categories_of(answers: dict) -> list[str]:
    """The petition's categories: one (a string) or several (the report form's list), each indexed on its own."""
    value = answers.get("category")
    values = value if isinstance(value, list) else [value]
    return [v.replace(",", " ").strip() for v in values if isinstance(v, str) and v.strip()]


def china_day(moment: datetime) -> str:
    return moment.astimezone(CHINA).date().isoformat()


async def hierarchy_of(tenant_id: str) -> list[str]:
    """The tenant, its ancestors and its descendants: where a repeat petition may have gone before."""
    tenant = await Tenant.get(parse_object_id(tenant_id))
    if tenant is None:
        return [tenant_id]
    below = await descendants_of(tenant)
    return sorted({tenant_id, *tenant.ancestor_ids, *(str(t.id) for t in below)})


@dataclass
class DrainReport:
    indexed: int = 0
    removed: int = 0
    candidates: int = 0
    collective: int = 0
    batches: int = 0


async def drain(data_dir: Path, tenant_id: str, *, batch: int = DRAIN_BATCH) -> DrainReport:
    """Bring the tenant's index up to date with its backlog. Only one drain per tenant writes at a time."""
    report = DrainReport()
    index_dir, side = TenantIndexDir(Path(data_dir), tenant_id), stores(data_dir)
    scope = TenantScope(tenant_id)
    if await asyncio.to_thread(index_dir.schema_outdated):  # an index of an earlier release: every petition again
        log.warning("search: the index of tenant %s has an older schema; rebuilding it from the store", tenant_id)
        await rebuild(data_dir, tenant_id)
    words = await tenant_words(tenant_id)
    with index_dir.writer_lock():
        ix = index_dir.open_or_create_for_writing(words)
        while True:
            backlog = await scope.repo(SearchBacklog).find({}).sort("queued_ns").limit(batch).to_list()
            if not backlog:
                break
            report.batches += 1
            ids = [parse_object_id(b.petition_id) for b in backlog]
            present = {str(p.id): p for p in await scope.repo(Petition).find({"_id": {"$in": [i for i in ids if i]}}).to_list()}
            writer = ix.writer()
            fresh: list[Petition] = []
            for entry in backlog:
                petition = present.get(entry.petition_id)
                if petition is None:  # moved to another tenant, or gone: not searchable here any more
                    writer.delete_by_term("id", entry.petition_id)
                    side.terms.remove(entry.petition_id)
                    report.removed += 1
                    continue
                writer.update_document(**petition_fields(petition))
                fresh.append(petition)
            writer.commit()
            report.indexed += len(fresh)
            found, collective = await _fingerprint_and_check(scope, side, fresh, words)
            report.candidates += found
            report.collective += collective
            side.terms.put_many([(str(p.id), tenant_id, china_day(p.received_at), petition_terms(p.title, _content(p), words)) for p in fresh])
            for entry in backlog:  # only if nobody queued it again meanwhile
                await scope.repo(SearchBacklog).delete_many({"_id": entry.id, "queued_ns": entry.queued_ns})
    return report


def _content(petition: Petition) -> str:
    content = (petition.answers or {}).get("content")
    return content if isinstance(content, str) else ""


def _fingerprint_of(petition: Petition, words) -> duplicates.Fingerprint:
    return duplicates.fingerprint(petition_id=str(petition.id), tenant_id=petition.tenant_id, number=petition.number,
                                  title=petition.title or "", content=_content(petition), subject_name=petition.subject_name,
                                  petitioner=petition.petitioner_key, created=petition.received_at.astimezone(UTC).isoformat(),
                                  tenant_words=words)


async def _fingerprint_and_check(scope: TenantScope, side: Stores, petitions: list[Petition], words) -> tuple[int, int]:
    """Duplicate check for petitions seen for the first time; every petition's fingerprint is (re)stored."""
    found = collective = 0
    hierarchy = await hierarchy_of(scope.tenant_id) if petitions else []
    for petition in petitions:
        fp = _fingerprint_of(petition, words)
        if not side.fingerprints.contains(fp.petition_id):
            for other, score, similarity, reasons in duplicates.scored_candidates(side.fingerprints, fp, hierarchy):
                try:
                    await scope.repo(DuplicateCandidate).insert(DuplicateCandidate(
                        tenant_id=scope.tenant_id, petition_id=fp.petition_id, other_id=other.petition_id, other_tenant_id=other.tenant_id,
                        other_number=other.number, other_title=other.title, reasons=reasons, similarity=round(similarity, 3),
                        score=round(score, 3)))
                    found += 1
                except DuplicateKeyError:
                    pass  # found by an earlier drain of the same petition
            collective += await _flag_collective(scope, side, fp)
        side.fingerprints.put(fp)
    return found, collective


async def _flag_collective(scope: TenantScope, side: Stores, fp: duplicates.Fingerprint) -> int:
    """Many petitioners on one matter: the likely duplicates of this petition, counted by distinct petitioner."""
    likely = await scope.repo(DuplicateCandidate).find({"petition_id": fp.petition_id}).to_list()
    petitioners = {fp.petitioner} if fp.petitioner else set()
    for candidate in likely:
        if duplicates.is_likely_duplicate(candidate.score):
            if petitioner := side.fingerprints.petitioner_of(candidate.other_id):
                petitioners.add(petitioner)
    if len(petitioners) >= COLLECTIVE_MIN_PETITIONERS:
        await scope.repo(DuplicateCandidate).update_many({"petition_id": fp.petition_id}, {"$addToSet": {"reasons": "collective"}})
        return 1
    return 0


async def rebuild(data_dir: Path, tenant_id: str, progress: Callable[[int, int], None] | None = None) -> dict:
    """A new index generation of this tenant from the store, switched to when complete; the same counts as the store."""
    index_dir, side = TenantIndexDir(Path(data_dir), tenant_id), stores(data_dir)
    scope = TenantScope(tenant_id)
    _words_cache.drop(tenant_id)
    words = await tenant_words(tenant_id)
    total = await scope.repo(Petition).count({})
    done = 0
    with index_dir.writer_lock(wait=600):
        ix = index_dir.new_generation(words)
        writer = ix.writer(limitmb=256)
        side.terms.remove_tenant(tenant_id)
        side.fingerprints.remove_tenant(tenant_id)
        pending_terms, pending_fps = [], []
        async for petition in scope.repo(Petition).find({}).sort("created_at"):
            writer.add_document(**petition_fields(petition))
            pending_terms.append((str(petition.id), tenant_id, china_day(petition.received_at), petition_terms(petition.title, _content(petition), words)))
            pending_fps.append(_fingerprint_of(petition, words))
            done += 1
            if len(pending_terms) >= 1000:
                side.terms.put_many(pending_terms)
                side.fingerprints.put_many(pending_fps)
                pending_terms, pending_fps = [], []
                if progress:
                    progress(done, total)
        side.terms.put_many(pending_terms)
        side.fingerprints.put_many(pending_fps)
        writer.commit()
        index_dir.switch_to(Path(ix.storage.folder))
        if progress:
            progress(done, total)
        with ix.searcher() as searcher:
            indexed = searcher.doc_count()
    _searchers.drop(tenant_id)
    return {"tenant_id": tenant_id, "petitions": total, "indexed": indexed, "fingerprints": side.fingerprints.count(tenant_id)}


# ----------------------------------------------------------------------------- searching


class _SearcherCache:
    """Open searchers, one per tenant index per thread (a Whoosh searcher is not shared across threads),
    reopened when the index changed: opening is the expensive part of a small query."""

    def __init__(self):
        self._local = threading.local()

    def get(self, data_dir: Path, tenant_id: str):
        cache = self._local.__dict__.setdefault("open", {})
        index_dir = TenantIndexDir(Path(data_dir), tenant_id)
        generation = index_dir.current_generation()
        cached = cache.get(tenant_id)
        if cached and generation is not None and cached[0] == generation.name:
            try:
                if cached[1].up_to_date():
                    return cached[1]
            except Exception:  # files of a finished generation went away: open afresh below
                pass
            with contextlib.suppress(Exception):
                cached[1].close()
        searcher = index_dir.open().searcher()
        cache[tenant_id] = (generation.name if generation else "", searcher)
        return searcher

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
            cache[key] = set(searcher.docs_for_query(filter_query))
        return cache[key]

    def drop(self, tenant_id: str) -> None:
        cache = self._local.__dict__.get("open", {})
        cache.pop(tenant_id, None)


_searchers = _SearcherCache()


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
    return await asyncio.to_thread(_search_sync, Path(data_dir), [(str(t.id), t.slug, t.name.model_dump()) for t in tenants],
                                   request, await _tenants_with_petitions(tenants), stops)


async def _tenants_with_petitions(tenants: list[Tenant]) -> set[str]:
    found = set()
    for tenant in tenants:
        if await TenantScope(tenant.id).repo(Petition).find_one({}) is not None:
            found.add(str(tenant.id))
    return found


def _search_sync(data_dir: Path, tenants: list[tuple[str, str, dict]], request: SearchRequest, non_empty: set[str],
                 stops: frozenset[str] = frozenset()) -> dict:
    started = time.perf_counter()
    ranked, total, answered = [], 0, []
    wanted = request.page * request.page_size
    for tenant_id, slug, name in tenants:
        try:
            searcher = _searchers.get(data_dir, tenant_id)
        except IndexUnavailable:
            if tenant_id in non_empty:
                raise SearchUnavailable() from None
            continue  # no petitions, no index yet: nothing is missing
        query = _query(searcher.schema, request.q, stops)
        allowed = _searchers.filter_docs(tenant_id, searcher, _filters(request))
        if allowed is not None and not allowed:
            continue  # nothing passes the filters here (Whoosh reads an empty allow-set as "no filter")
        results, count, first = _ranked(searcher, query, allowed, request.sort, wanted)
        results.fragmenter = highlight.ContextFragmenter(maxchars=120, surround=30)
        results.formatter = highlight.HtmlFormatter(tagname="mark", between="…")
        total += count
        place = len(answered)
        answered.append((results, slug, name))
        ranked.extend((key, pid, place, docnum, score) for key, pid, docnum, score in first)
    ranked.sort(key=lambda r: (r[0], r[1]))  # one order over the tenants too: the same key, then the petition id
    start = (request.page - 1) * request.page_size
    hits = []
    for _key, _pid, place, docnum, score in ranked[start:start + request.page_size]:  # only the shown page is read and highlighted
        results, slug, name = answered[place]
        hit = Hit(results, docnum, score=score)
        received = hit.get("received")
        categories = [c for c in (hit.get("category") or "").split(",") if c]
        hits.append({
            "id": hit["id"], "number": hit["number"], "title": hit["title"], "subject": hit.get("subject") or None,
            "category": categories[0] if categories else None, "categories": categories, "region": hit.get("region") or None,
            "channel": hit.get("channel"),
            "status": hit.get("status"), "received": received.replace(tzinfo=UTC).isoformat() if received else None,
            "score": round(score or 0.0, 4), "tenant": {"slug": slug, "name": name},
            "highlights": {"title": hit.highlights("title") or None, "text": hit.highlights("text", top=2) or None},
        })
    spaced, ignored = query_words(request.q, stops)
    return {"total": total, "page": request.page, "page_size": request.page_size, "pages": max(1, -(-total // request.page_size)),
            "items": hits, "ignored_words": ignored, "only_common_words": bool(request.q) and not spaced.strip(),
            "took_ms": round((time.perf_counter() - started) * 1000, 1)}


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
    anyway, and counts them as it does.
    Returns (results, total, [(key, petition id, docnum, score)])."""
    if sort != "relevance" or isinstance(query, Every):  # no words: every score is the same, newest first
        results = searcher.search(query, limit=None, filter=allowed, sortedby="received", terms=True)
        newest = sort != "oldest"
        items = [((-key if newest else key), docnum, None) for key, docnum in results.top_n]
        items.sort(key=lambda item: item[0])
        total = len(items)
    else:
        # Words ANDed: every match is scored either way (the skips gain little), so one unlimited pass, counted as
        # it goes. Otherwise the top N+1, one past the cut, to see whether equal scores run on past it.
        results = searcher.search(query, limit=None if isinstance(query, And) else wanted + 1, filter=allowed, terms=True)
        top, total = results.top_n, None
        if len(top) <= wanted or isinstance(query, And):
            total = len(top)  # the heap never filled (nothing was skipped) or no limit: these are all
        elif top[wanted][0] == top[wanted - 1][0]:  # equal scores run on past the cut: every match, once
            results = searcher.search(query, limit=None, filter=allowed, terms=True)
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
    return results, total, first[:wanted]


def _count(searcher, query, allowed) -> int:
    """How many documents match (and pass the filter): the postings walked, nothing scored."""
    docs = searcher.docs_for_query(query)
    if allowed is None:
        return sum(1 for _ in docs)
    return sum(1 for docnum in docs if docnum in allowed)


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


def _query(schema, text: str, stops: frozenset[str] = frozenset()):
    if not text:
        return Every()
    spaced = spaced_words(text, stops)
    if not spaced.strip():
        return NullQuery  # stop words only: they are not in the index (never "everything")
    parser = MultifieldParser(["title", "text", "subject"], schema)  # words are ANDed, as people expect
    try:
        return parser.parse(spaced)
    except Exception:  # whoosh's parser is lenient; anything it still refuses is the client's query
        raise InvalidInput(fields={"q": {"zh": "检索式无法解析", "en": "the query cannot be parsed"}}) from None


def _filters(request: SearchRequest):
    parts = [Term(name, value) for name, value in request.filters.items()]
    if request.received_from or request.received_to:
        start = datetime.combine(request.received_from, datetime.min.time(), CHINA).astimezone(UTC).replace(tzinfo=None) if request.received_from else None
        end = (datetime.combine(request.received_to + timedelta(days=1), datetime.min.time(), CHINA).astimezone(UTC).replace(tzinfo=None)
               - timedelta(microseconds=1)) if request.received_to else None
        parts.append(DateRange("received", start, end))
    return And(parts) if parts else None


# ----------------------------------------------------------------------------- filter choices


def category_choices(schema: dict) -> dict[str, dict]:
    """A form's categories as value -> {"zh", "en"}: the choices of its ``category`` field as the form's model
    reads them (xinfang.forms.reading: labelled choices with x-en, or a plain enum; a single category or a list)."""
    return {value: names for value, names in choice_labels(schema or {}, "category").items() if isinstance(value, str)}


async def filter_choices(tenants: list[Tenant]) -> dict:
    """What the search page's filters offer, in words: the categories of the tenants' published forms, their
    workflows' states, the channels and form kinds; the first tenant's words win where two name one value.
    ``state_names`` gives each tenant's own state words, for showing results."""
    categories: dict[str, dict] = {}
    states: dict[str, dict] = {}
    state_names: dict[str, dict] = {}
    for tenant in tenants:
        scope = TenantScope(str(tenant.id))
        for form in await list_forms(scope):
            for value, names in category_choices(form.json_schema).items():
                categories.setdefault(value, names)
        own = {state.key: state.name.model_dump() for state in (await tenant_workflow(scope)).states}
        state_names[tenant.slug] = own
        for key, names in own.items():
            states.setdefault(key, names)
    return {"category": categories, "status": states, "channel": display_words("channel"), "kind": display_words("form_kind"),
            "state_names": state_names}


# ----------------------------------------------------------------------------- frequent words


async def frequent_words(data_dir: Path, tenant_id: str, *, days: int = 30, end: date | None = None, top: int = 30) -> dict:
    end = end or datetime.now(CHINA).date()
    first = end - timedelta(days=days - 1)
    previous_first, previous_last = first - timedelta(days=days), first - timedelta(days=1)
    side = stores(data_dir)
    current = side.terms.counts(tenant_id, first.isoformat(), end.isoformat())
    previous = side.terms.counts(tenant_id, previous_first.isoformat(), previous_last.isoformat())
    for word in await tenant_stop_words(tenant_id):  # counted when indexed, left out when shown: no rebuild needed
        current.pop(word, None)
        previous.pop(word, None)
    tops, rising = top_and_rising(current, previous, top)
    return {"window": {"from": first.isoformat(), "to": end.isoformat(), "days": days},
            "previous": {"from": previous_first.isoformat(), "to": previous_last.isoformat()},
            "petitions": side.terms.petitions(tenant_id, first.isoformat(), end.isoformat()),
            "top": tops, "rising": rising}


# ----------------------------------------------------------------------------- dictionary and decisions


MAX_WORD, MIN_WORD = 20, 2
MAX_STOP_WORDS = 500


def check_word(word: str, field: str = "word", *, shortest: int = MIN_WORD) -> str:
    """One dictionary or stop word as typed: ``shortest``..20 characters, no spaces; else a message at ``field``."""
    word = (word or "").strip()
    if not word:
        raise InvalidInput(fields={field: {"zh": "请填写词语", "en": "enter a word"}})
    if any(ch.isspace() for ch in word):
        raise InvalidInput(fields={field: {"zh": "词语中不能有空格", "en": "a word has no spaces"}})
    if not shortest <= len(word) <= MAX_WORD:
        raise InvalidInput(fields={field: {"zh": f"词语应为 {shortest} 到 {MAX_WORD} 个字", "en": f"a word has {shortest} to {MAX_WORD} characters"}})
    return word


async def do_set_dictionary(scope: TenantScope, words: list[str], *, stop_words: list[str] | None = None, actor: ConfigActor | None = None,
                            note: str = "") -> SearchDictionary:
    """The tenant's own words and (when given; else kept) its stop words; a change is a version of "search_dictionary".
    Only a change of ``words`` changes segmentation (the caller rebuilds the index then)."""
    cleaned = []
    for word in words:
        word = "".join((word or "").split())
        if word and word not in cleaned:
            if len(word) > MAX_WORD:
                raise InvalidInput(fields={"words": {"zh": f"词语过长：{word[:20]}…", "en": "a word is longer than 20 characters"}})
            cleaned.append(word)
    if len(cleaned) > 2000:
        raise InvalidInput(fields={"words": {"zh": "最多 2000 个词", "en": "2000 words at most"}})
    repo = scope.repo(SearchDictionary)
    row = await repo.find_one({}) or SearchDictionary(tenant_id=scope.tenant_id)
    stops = row.stop_words
    if stop_words is not None:
        stops = []
        for word in stop_words:
            word = "".join((word or "").split())
            if word and word not in stops:
                if len(word) > MAX_WORD:
                    raise InvalidInput(fields={"stop_words": {"zh": f"停用词过长：{word[:20]}…", "en": "a stop word is longer than 20 characters"}})
                stops.append(word)
        if len(stops) > MAX_STOP_WORDS:
            raise InvalidInput(fields={"stop_words": {"zh": f"停用词最多 {MAX_STOP_WORDS} 个", "en": f"{MAX_STOP_WORDS} stop words at most"}})
    row.words, row.stop_words, row.revision = cleaned, stops, row.revision + 1
    await repo.save(row)
    _words_cache.drop(scope.tenant_id)
    _words_cache.drop(("stop", scope.tenant_id))
    await do_record_config_version(scope, "search_dictionary", {"words": row.words, "stop_words": row.stop_words},
                                   actor=actor or BUNDLE_ACTOR, note=note)
    return row




async def do_decide_candidate(scope: TenantScope, candidate_id: str, confirmed: bool, actor_name: str, actor_id: str = "") -> DuplicateCandidate:
    from xinfang.errors import NotFound
    from xinfang.petitions.service import do_note_repeat

    from .models import CandidateStatus

    candidate = await scope.repo(DuplicateCandidate).get(candidate_id)
    if candidate is None:
        raise NotFound({"zh": "没有这条疑似重复", "en": "no such duplicate candidate"})
    was_confirmed = candidate.status == CandidateStatus.CONFIRMED
    candidate.status = CandidateStatus.CONFIRMED if confirmed else CandidateStatus.DISMISSED
    candidate.decided_by = actor_name
    await scope.repo(DuplicateCandidate).save(candidate)
    if confirmed != was_confirmed:  # a confirmed repeat (or its withdrawal) joins the petition's history
        await do_note_repeat(scope, candidate.petition_id, other_number=candidate.other_number, confirmed=confirmed,
                             actor_id=actor_id, actor_name=actor_name)
    return candidate
