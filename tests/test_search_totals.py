"""Exact totals and stable paging: a broad word, many petitions with the same score, every page size.

The petitions go through the real schema, analyzer and writer of a tenant's index (``TenantIndexDir``), and are
searched by the same code the search API runs (``_search_sync``); a substring count of the texts is the truth."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import re

import pytest

from xinfang_search.index import TenantIndexDir
from xinfang_search.querying import SearchRequest, _search_sync, query_words
from tests.conftest import login_token
from tests.test_search import file, found, marker

SAME = "学校食堂收费不合理，家长反映多次没有回音。"
VARIED = ["{n}号楼旁边的学校门口每天早上堵车。", "学校要求购买指定资料，费用{n}元。", "小区物业{n}次停水，学校放学后孩子没水喝。",
          "某中学补课收费{n}元，学校不退。", "道路施工噪声扰民，已持续{n}天。", "村里{n}户的低保被取消，没有说明理由。"]


@pytest.fixture
def tenant_index(tmp_path):
    tenant_id = uuid.uuid4().hex[:24]
    index_dir = TenantIndexDir(tmp_path, tenant_id)
    start = datetime(2026, 3, 1, 8, 0)
    same = [dict(title="学校食堂", text=SAME, received=start + timedelta(hours=n // 4), category="education" if n % 3 else "other")
            for n in range(64)]  # identical texts: identical scores, and runs of one received time
    varied = [dict(title=f"来信{n}", text=VARIED[n % len(VARIED)].format(n=n), received=start + timedelta(hours=n),
                   category="education" if n % 2 else "other") for n in range(40)]
    docs = []  # interleaved, as petitions arrive: a lower score (the word in the text only) before and after higher ones
    while same or varied:
        docs.extend(varied[:2] + same[:3])
        varied, same = varied[2:], same[3:]
    docs += [dict(title="物业公司", text="物业公司乱收费，停车费一年涨两次。", received=start, category="other"),
             dict(title="来信", text="小区物业管理混乱，电梯经常坏。", received=start, category="other"),
             dict(title="来信", text="领导班子不作为，群众意见很大。", received=start, category="other")]
    with index_dir.writer_lock():
        ix = index_dir.open_or_create_for_writing()
        writer = ix.writer()
        for i, doc in enumerate(docs):
            doc |= dict(id=f"p{i:04d}", tenant_id=tenant_id, number=f"N{i:04d}", subject="", region="", channel="online",
                        status="registered", kind="petition")
            writer.add_document(**doc)
        writer.commit()
    return tmp_path, tenant_id, docs


def pages(data_dir, tenant_id, size, **request):
    seen, totals, page = [], set(), 1
    while True:
        answer = _search_sync(data_dir, [(tenant_id, "t", {"zh": "县", "en": "county"})],
                              SearchRequest(page=page, page_size=size, **request), set())
        totals.add(answer["total"])
        seen.extend(item["id"] for item in answer["items"])
        if page >= answer["pages"]:
            return seen, totals
        page += 1


def truth(docs, word, **filters):
    return {d["id"] for d in docs if (word in d["title"] or word in d["text"]) and all(d[k] == v for k, v in filters.items())}


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_totals_are_exact_and_pages_give_every_match_once_at_every_page_size(tenant_index, sort):
    data_dir, tenant_id, docs = tenant_index
    expected = truth(docs, "学校")
    assert len(expected) >= 80
    for size in (1, 5, 10, 20):
        seen, totals = pages(data_dir, tenant_id, size, q="学校", sort=sort)
        assert totals == {len(expected)}, (size, totals)
        assert len(seen) == len(set(seen)) and set(seen) == expected, size


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_a_filtered_search_is_exact_and_stable_too(tenant_index, sort):
    data_dir, tenant_id, docs = tenant_index
    expected = truth(docs, "学校", category="education")
    for size in (1, 5, 10, 20):
        seen, totals = pages(data_dir, tenant_id, size, q="学校", sort=sort, filters={"category": "education"})
        assert totals == {len(expected)}, (size, totals)
        assert len(seen) == len(set(seen)) and set(seen) == expected, size


def test_pages_follow_the_order_of_one_long_page_ties_by_id(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    whole, _ = pages(data_dir, tenant_id, 100, q="学校")
    for size in (1, 7, 20):
        assert pages(data_dir, tenant_id, size, q="学校")[0] == whole
    same = [pid for pid in whole if docs[int(pid[1:])]["text"] == SAME]
    assert same == sorted(same)  # equal scores: by petition id
    newest, _ = pages(data_dir, tenant_id, 100, q="学校", sort="newest")
    received = [docs[int(pid[1:])]["received"] for pid in newest]
    assert received == sorted(received, reverse=True)


def test_no_words_lists_everything_newest_first_with_an_exact_total(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    for size in (3, 20):
        seen, totals = pages(data_dir, tenant_id, size)
        assert totals == {len(docs)} and sorted(seen) == sorted(d["id"] for d in docs)


def test_a_trailing_star_finds_words_that_begin_with_the_word(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    plain, _ = pages(data_dir, tenant_id, 20, q="物业")
    starred, totals = pages(data_dir, tenant_id, 20, q="物业*")
    assert set(starred) == truth(docs, "物业") and totals == {len(truth(docs, "物业"))}
    assert set(plain) == set(starred)  # 物业公司 and 物业管理 hold 物业 (sub-words and the n-gram field): found by both


def test_stop_words_in_a_query_are_said_back_and_a_query_of_nothing_else_says_so(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    assert query_words("领导不作为") == ("作为", ["领导", "不"])
    assert query_words("物业*") == ("物业*", [])
    assert query_words("食堂", frozenset({"食堂"})) == ("食堂", [])  # the tenant's own stop word alone: searched
    answer = _search_sync(data_dir, [(tenant_id, "t", {})], SearchRequest(q="问题 物业管理 领导"), set())
    assert answer["ignored_words"] == ["问题", "领导"] and not answer["only_common_words"] and answer["total"] == 1
    answer = _search_sync(data_dir, [(tenant_id, "t", {})], SearchRequest(q="领导 问题"), set())
    assert answer["only_common_words"] and answer["ignored_words"] == ["领导", "问题"] and answer["total"] == 0  # never "everything"


async def test_the_search_page_says_which_common_words_it_ignored(client, tenants, worker):
    word = marker()
    handler = await login_token(client, tenants.A, "handler")
    pid = await file(client, tenants.A, title=f"{word}来信", content=f"{word}村领导不作为，问题拖了三年。")
    answer = await found(client, tenants.A, handler, 1, q=f"领导 {word}")
    assert answer["ignored_words"] == ["领导"] and [i["id"] for i in answer["items"]] == [pid]
    page = await client.get(f"/t/{tenants.A}/staff/search", headers=handler, query_string={"q": f"{word} 领导 问题"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "已忽略常用词：领导、问题" in html and f'data-id="{pid}"' in html
    page = await client.get(f"/t/{tenants.A}/staff/search", headers=handler, query_string={"q": "领导 问题", "lang": "en"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and re.search(r"常用词不单独检索|not searched on their own", html)


def test_words_anded_are_exact_and_stable_too(tenant_index):
    data_dir, tenant_id, docs = tenant_index
    expected = {d["id"] for d in docs if all(w in d["title"] + d["text"] for w in ("学校", "收费"))}
    assert len(expected) > 64
    for size in (1, 5, 10, 20):
        seen, totals = pages(data_dir, tenant_id, size, q="学校 收费")
        assert totals == {len(expected)} and len(seen) == len(set(seen)) and set(seen) == expected, size
