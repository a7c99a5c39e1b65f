"""A piece of several words inside an OR (学校食堂 OR 物业公司): once the top N's heap was full, Whoosh asked the
piece's matcher (AllOf) for its best score (``replace(minscore)`` of the Or's union), which it cannot say: on a
large index the search was a server error (NoQualityAvailable). Such a query is scored whole (``_ranked``'s
unlimited pass); its total is exact and its pages stable at every page size."""

from __future__ import annotations

import pytest
from whoosh.matching.mcore import NoQualityAvailable

from xinfang_search import queries
from xinfang_search.querying import _plan, _scores_every_match, _searchers
from tests import test_search_totals

pages = test_search_totals.pages
tenant_index = test_search_totals.tenant_index  # the fixture, shared

QUERY = "学校食堂 OR 物业公司"


def test_a_piece_of_several_words_inside_an_or_is_scored_whole(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    searcher = _searchers.get(data_dir, tenant_id)
    query = queries.resolve(_plan(searcher.schema, QUERY).query, searcher)
    with pytest.raises(NoQualityAvailable):  # what Whoosh's top N did once its heap was full
        query.matcher(searcher, searcher.context()).replace(0.001)
    assert _scores_every_match(query)
    truth = {f"p{i:04d}" for i, d in enumerate(docs)
             if ("学校" in d["title"] + d["text"] and "食堂" in d["title"] + d["text"]) or "物业公司" in d["title"] + d["text"]}
    assert len(truth) > 5
    for size in (1, 5):
        seen, totals = pages(data_dir, tenant_id, size, q=QUERY)
        assert totals == {len(truth)}
        assert sorted(seen) == sorted(truth)  # every match once
