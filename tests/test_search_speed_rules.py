"""The search's fast path (``postings``: every match scored at once from the postings, in numpy) gives what
Whoosh's matchers give: the same total, the same petitions in the same order on every page, the same scores,
for every shape of query the search makes (words, substrings, pieces, sentences, phrases, ORs, filters, date
sorts), over several segments with deleted documents, with the per-segment term cache cold or warm."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from whoosh.codec.whoosh3 import W3Codec

from xinfang_search import postings, querying
from xinfang_search.index import TenantIndexDir
from xinfang_search.querying import SearchRequest, _filters, _query, _ranked, _ranked_at_once, _searchers

PLACES = ["梅溪湖", "梅溪湖畔", "泗阳魏营乡中心小学", "洋河街道中心幼儿园", "县第五中学", "桐梓坡小区", "新城花园"]
ISSUES = ["食堂收费不合理", "校车超载严重", "有偿补课屡禁不止", "物业公司乱收费", "噪音扰民，晚上无法休息", "工程款拖欠两年",
          "家里有老人和小孩，停水三天", "學校收費問題", "收取２０００元资料费", "违章建筑占用消防通道"]
TAILS = ["希望领导重视。", "请尽快调查处理。", "多次反映没有回音。", "家长意见很大。", ""]

QUERIES = ["学校", "收费", "梅溪湖", "中心小学", "泗阳魏营乡中心小学", "学校食堂收费", "物业 收费", "家里有老人和小",
           "学校食堂 OR 校车超载", '"中心小学"', '"乱收费"', "2000元", "食堂收费问题长期得不到解决希望领导重视",
           "學校", "噪声", "title:学校", "有老人和小孩停水", "湖畔"]


@pytest.fixture
def index(tmp_path):
    rnd = random.Random(13)
    tenant_id = uuid.uuid4().hex[:24]
    index_dir = TenantIndexDir(tmp_path, tenant_id)
    start = datetime(2026, 1, 5, 9, 0)
    docs = []
    for n in range(240):
        place, issue = rnd.choice(PLACES), rnd.choice(ISSUES)
        text = f"{place}{rnd.choice(['附近', '的', ''])}{issue}，{rnd.choice(TAILS)}" + ("学校门口堵车。" if n % 3 == 0 else "")
        docs.append(dict(id=f"p{n:04d}", tenant_id=tenant_id, number=f"N{n:04d}", title=rnd.choice([place + "问题", "来信", issue[:4]]),
                         text=text, subject=place if n % 4 == 0 else "", category=rnd.choice(["education", "other"]), region="",
                         channel="online", status="registered", kind="petition",
                         received=start + timedelta(hours=n // 3)))
    with index_dir.writer_lock():
        for chunk in (docs[:120], docs[120:200], docs[200:]):  # three segments
            writer = index_dir.open_or_create_for_writing().writer(codec=W3Codec(blocklimit=4))  # many blocks a term
            for doc in chunk:
                writer.add_document(**doc)
            writer.commit(merge=False)
        writer = index_dir.open_or_create_for_writing().writer(codec=W3Codec(blocklimit=4))
        for doc in docs[::7]:  # deleted and written again: deleted documents in the older segments
            writer.update_document(**(doc | {"text": doc["text"] + "再次反映。"}))
        writer.commit(merge=False)
    return tmp_path, tenant_id


def _whoosh(searcher, query, allowed, sort, wanted, monkeypatch):
    """What Whoosh's matchers give: by relevance every match scored (no block skipping: Whoosh's top N skips by
    block quality, and a substring's matcher moved that way could pass a better document), then by petition id."""
    if sort == "relevance":
        results = searcher.search(query, limit=None, filter=allowed)
        items = sorted(((-score, searcher.stored_fields(docnum)["id"], docnum, score) for score, docnum in results.top_n),
                       key=lambda item: (item[0], item[1]))
        return len(items), items[:wanted]

    def unsupported(*args, **kwargs):
        raise postings.Unsupported("Whoosh's way asked for")

    with monkeypatch.context() as m:
        m.setattr(postings, "evaluate", unsupported)
        return _ranked(searcher, query, allowed, sort, wanted)


def _same(fast, slow):
    assert fast[0] == slow[0]
    assert [item[1] for item in fast[1]] == [item[1] for item in slow[1]]
    for a, b in zip(fast[1], slow[1]):
        assert (a[3] is None and b[3] is None) or a[3] == pytest.approx(b[3], rel=1e-12)


@pytest.mark.parametrize("cache", ["kept", "none", "blocks"])
def test_the_numpy_path_gives_whoosh_s_totals_pages_and_scores(index, monkeypatch, cache):
    """kept: terms and substrings kept per segment; none: nothing kept; blocks: nothing kept, and every part of an
    AND after the first read from the blocks that can hold the documents found so far only (small blocks)."""
    data_dir, tenant_id = index
    if cache != "kept":
        monkeypatch.setattr(postings, "term_cache", postings.TermCache(0))
        monkeypatch.setattr(postings, "phrase_cache", postings.TermCache(0, min_docs=0))
    if cache == "blocks":
        monkeypatch.setattr(postings._Term, "RESTRICT_BELOW", 0.01)
    searcher = _searchers.get(data_dir, tenant_id)
    assert len(searcher.leaf_searchers()) > 1 and searcher.reader().has_deletions()
    checked = 0
    for q in QUERIES:
        for sort, filters, wanted in [("relevance", {}, 20), ("relevance", {}, 1), ("relevance", {"category": "education"}, 10),
                                      ("newest", {}, 20), ("oldest", {"category": "other"}, 5)]:
            request = SearchRequest(q=q, sort=sort, filters=filters)
            query = _query(searcher.schema, q, searcher=searcher)
            allowed = _searchers.filter_docs(tenant_id, searcher, _filters(request))
            for _ in range(2):  # the second time from the term cache, if kept
                fast = _ranked_at_once(searcher, query, allowed, sort, wanted)
                _same(fast, _whoosh(searcher, query, allowed, sort, wanted, monkeypatch))
            checked += fast[0] > 0
    assert checked > 60


def test_what_the_numpy_path_does_not_know_is_asked_of_whoosh(index):
    data_dir, tenant_id = index
    searcher = _searchers.get(data_dir, tenant_id)
    for q in ("物业*", "学校 NOT 食堂"):
        query = _query(searcher.schema, q, searcher=searcher)
        with pytest.raises(postings.Unsupported):
            postings.evaluate(query, searcher)
        total, first = querying._ranked(searcher, query, None, "relevance", 20)
        assert total > 0 and first


def test_a_substring_s_positions_are_checked_where_no_word_field_vouches_for_it(index):
    """梅溪湖 is a word in some petitions and only a substring (梅溪湖畔) in others: both are found; 湖畔 is a
    substring nowhere a word, 溪畔 is in no petition at all (its bigrams are, apart)."""
    data_dir, tenant_id = index
    searcher = _searchers.get(data_dir, tenant_id)
    texts = [searcher.stored_fields(d) for d in searcher.document_numbers()]
    for word in ("梅溪湖", "湖畔", "溪湖畔", "心小"):
        query = _query(searcher.schema, word, searcher=searcher)
        total, _ = _ranked_at_once(searcher, query, None, "relevance", 20)
        assert total == sum(1 for t in texts if any(word in (t.get(f) or "") for f in ("title", "text", "subject"))), word
    query = _query(searcher.schema, '"溪畔"', searcher=searcher)
    assert _ranked_at_once(searcher, query, None, "relevance", 20)[0] == 0


def test_the_term_cache_keeps_at_most_its_bytes(monkeypatch):
    cache = postings.TermCache(10_000)
    monkeypatch.setattr(postings.TermCache, "MIN_DOCS", 1)
    import numpy as np

    for n in range(10):
        cache.put(("segment", n), (np.zeros(300, dtype=np.int64), np.zeros(300), np.zeros(300)))  # 7,200 bytes each
    assert cache.used <= 10_000 and len(cache._items) == 1 and cache.get(("segment", 9)) is not None
    cache.put(("segment", "big"), (np.zeros(2000, dtype=np.int64), np.zeros(2000), np.zeros(2000)))  # over the limit alone
    assert cache.get(("segment", "big")) is None


def test_filters_from_postings_and_the_date_column_allow_what_whoosh_allows(index):
    from whoosh.query import And, DateRange, Term

    data_dir, tenant_id = index
    searcher = _searchers.get(data_dir, tenant_id)
    day = datetime(2026, 1, 5, 9, 0)
    filters = [Term("category", "education"), Term("category", "nothing such"),
               DateRange("received", day + timedelta(hours=20), day + timedelta(hours=50)),
               DateRange("received", None, day + timedelta(hours=30)), DateRange("received", day + timedelta(hours=70), None),
               DateRange("received", day + timedelta(hours=20), day + timedelta(hours=50), startexcl=True, endexcl=True),
               And([Term("category", "other"), DateRange("received", day, day + timedelta(hours=40))])]
    for query in filters:
        assert set(postings.filter_ids(query, searcher).tolist()) == set(searcher.docs_for_query(query)), query
    request = SearchRequest(q="学校", received_from=day.date(), received_to=(day + timedelta(days=1)).date(), filters={"category": "other"})
    assert _searchers.filter_docs(tenant_id, searcher, _filters(request)) == set(searcher.docs_for_query(_filters(request)))


def test_the_cache_size_comes_from_the_settings_through_the_configure_hook(monkeypatch):
    """XINFANG_SEARCH_TERM_CACHE_MB is a setting like any other (Settings refuses unknown XINFANG_* names), and a
    process's plugin manager hands it to the search plugin, which bounds both caches."""
    from xinfang.plugins import make_plugin_manager
    from xinfang.settings import Settings

    monkeypatch.setattr(postings, "term_cache", postings.TermCache(1))
    monkeypatch.setattr(postings, "phrase_cache", postings.TermCache(1, min_docs=0))
    settings = Settings.from_env({"XINFANG_SEARCH_TERM_CACHE_MB": "2"})
    make_plugin_manager().hook.xinfang_configure(settings=settings)
    assert postings.term_cache.limit == 2 * 2**20 and postings.phrase_cache.limit == 2 * 2**16
    make_plugin_manager().hook.xinfang_configure(settings=Settings.from_env({"XINFANG_SEARCH_TERM_CACHE_MB": "0"}))
    assert postings.term_cache.limit == 0 and postings.phrase_cache.limit == 0
