"""Recall first, and queries as people type them (issue 13): words inside longer words, traditional and full-width
characters, pasted fragments, sentences, quoted phrases, synonyms, did you mean; exact totals with these query shapes.

One small index in a temporary directory through the real schema, analyzer and writer (``TenantIndexDir``),
searched by the function the search API runs (``_search_sync``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import re

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import Schema

from xinfang_search.index import TenantIndexDir, make_schema
from xinfang_search.querying import SearchRequest, _search_sync

TEXTS = [
    ("物业乱收费", "梅溪湖畔小区的物业公司乱收费，停车费一年涨两次。"),
    ("物业管理混乱", "小区物业管理混乱，电梯经常坏，没人修。"),
    ("油烟扰民", "桐梓坡路的湘味烧烤店油烟直排，家里有老人和小孩，晚上还很吵。"),
    ("施工噪声", "工地每天晚上施工到两点，噪声很大，睡不着。"),
    ("学校补课", "星沙二中的老师周末有偿补课，每人收费两千元。"),
    ("违章建筑", "楼顶有人私自加建违章建筑，已经反映多次。"),
    ("拆迁补偿", "2025年拆迁补偿款至今没有到位。"),
    ("桐梓坡路灯", "桐梓坡一带的路灯坏了一个月。"),
    ("桐梓坡积水", "桐梓坡下雨就积水，车都开不过去。"),
    ("桐梓坡公交", "桐梓坡公交站被占用。"),
    ("<b>转义</b>", "标题里的<script>不能照样显示，梅溪湖也是。"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("recall")
    tenant_id = uuid.uuid4().hex[:24]
    index_dir = TenantIndexDir(data_dir, tenant_id)
    start = datetime(2026, 3, 1, 8, 0)
    filler = [(f"来信{n}", f"小区门口第{n}次堵车，学校放学时更严重。") for n in range(30)]
    with index_dir.writer_lock():
        writer = index_dir.open_or_create_for_writing().writer()
        for i, (title, text) in enumerate(TEXTS + filler):
            writer.add_document(id=f"p{i:04d}", tenant_id=tenant_id, number=f"N{i:04d}", title=title, text=text, subject="",
                                category="other", region="", channel="online", status="registered", kind="petition",
                                received=start + timedelta(hours=i))
        writer.commit()
    return data_dir, tenant_id


def search(index, q, *, page=1, page_size=20, synonyms=()):
    data_dir, tenant_id = index
    return _search_sync(data_dir, [(tenant_id, "t", {})], SearchRequest(q=q, page=page, page_size=page_size), set(), frozenset(), synonyms)


def titles(answer):
    return [item["title"] for item in answer["items"]]


def test_a_word_finds_longer_words_holding_it(index):
    assert "物业乱收费" in titles(search(index, "收费"))  # 乱收费
    assert {"物业乱收费", "物业管理混乱"} <= set(titles(search(index, "物业")))  # 物业公司, 物业管理
    assert "物业乱收费" in titles(search(index, "梅溪湖"))  # inside 梅溪湖畔, which jieba cuts 梅溪 湖畔


def test_traditional_and_full_width_are_folded(index):
    assert set(titles(search(index, "物業"))) == set(titles(search(index, "物业"))) != set()
    assert titles(search(index, "２０２５")) == ["拆迁补偿"]
    answer = search(index, "收費")
    assert "<mark" in answer["items"][0]["highlights"]["text"]


def test_a_pasted_fragment_finds_its_message_first(index):
    assert titles(search(index, "有老人和小"))[0] == "油烟扰民"
    assert titles(search(index, "天晚上施"))[0] == "施工噪声"


def test_a_sentence_ranks_the_matching_message_first_instead_of_nothing(index):
    answer = search(index, "梅溪湖畔小区物业公司乱收停车费太贵了")
    assert answer["total"] >= 1 and titles(answer)[0] == "物业乱收费"
    assert search(index, "学校 收费")["total"] == 1  # a few words typed: every one required
    assert search(index, "小区门口学校放学")["total"] == 30  # a long string whose words are all found often: all required


def test_a_quoted_phrase_stays_exact(index):
    assert titles(search(index, '"物业公司乱收费"')) == ["物业乱收费"]
    assert search(index, '"物业乱收费停车"')["total"] == 0
    assert search(index, '"收费物业"')["total"] == 0 and search(index, '"公司乱收"')["total"] == 1


def test_operators_field_values_and_prefixes_keep_working(index):
    assert titles(search(index, "title:违章建筑")) == ["违章建筑"]
    assert "物业乱收费" not in titles(search(index, "物业 NOT 收费")) and "物业管理混乱" in titles(search(index, "物业 NOT 收费"))
    assert set(titles(search(index, "噪声 OR 补课"))) == {"施工噪声", "学校补课"}
    assert {"物业乱收费", "物业管理混乱"} <= set(titles(search(index, "物业*")))
    answer = search(index, "领导 桐梓坡")
    assert answer["ignored_words"] == ["领导"] and answer["total"] == 4  # 桐梓坡路 too


def test_a_synonym_group_finds_either_word(index):
    assert "施工噪声" not in titles(search(index, "噪音"))
    groups = (("噪音", "噪声"), ("违建", "违章建筑"))
    assert "施工噪声" in titles(search(index, "噪音", synonyms=groups))
    assert titles(search(index, "违建", synonyms=groups)) == ["违章建筑"]


def test_did_you_mean_a_close_common_name_and_never_for_a_common_word(index):
    assert search(index, "桐子坡")["suggestion"] == "桐梓坡"
    assert search(index, "桐子坡 路灯")["suggestion"] == "桐梓坡 路灯"
    assert search(index, "小区")["suggestion"] is None and search(index, "堵车")["suggestion"] is None


def test_highlights_mark_substring_matches_and_stay_escaped(index):
    item = search(index, "梅溪湖 转义")["items"][0]
    assert item["highlights"]["title"] == '&lt;b&gt;<mark class="match term0">转义</mark>&lt;/b&gt;'
    assert re.search(r'<mark class="match term\d">梅溪湖</mark>', item["highlights"]["text"]) and "&lt;script&gt;" in item["highlights"]["text"]


@pytest.mark.parametrize("q", ["梅溪湖", "有老人和小", "小区门口学校放学堵车严重", "物业*", "收费 OR 堵车"])
def test_totals_are_exact_and_pages_stable_with_the_new_query_shapes(index, q):
    whole = search(index, q, page_size=100)
    assert 0 < whole["total"] == len(whole["items"])
    for size in (1, 3, 7):
        seen, page = [], 1
        while True:
            answer = search(index, q, page=page, page_size=size)
            assert answer["total"] == whole["total"], (q, size)
            seen += [item["id"] for item in answer["items"]]
            if page >= answer["pages"]:
                break
            page += 1
        assert seen == [item["id"] for item in whole["items"]], (q, size)


def test_an_index_without_the_ngram_field_is_rebuilt(tmp_path):
    index_dir = TenantIndexDir(tmp_path, "t1")
    current = make_schema()
    generation = index_dir.path / "gen-old"
    generation.mkdir(parents=True)
    whoosh_index.create_in(str(generation), Schema(**{name: current[name] for name in current.names() if name != "ngram"}))
    index_dir.switch_to(generation)
    assert index_dir.schema_outdated()


async def test_the_search_page_offers_the_close_name_as_a_link(client, tenants, worker):
    from urllib.parse import quote

    from tests.conftest import login_token
    from tests.test_search import file, found, marker

    word = marker()
    handler = await login_token(client, tenants.A, "handler")
    for n in range(3):
        await file(client, tenants.A, title=f"{word}路灯{n}", content=f"桐梓坡{word}一带的路灯坏了{n + 2}个月。")
    await found(client, tenants.A, handler, 3, q=word)
    page = await client.get(f"/t/{tenants.A}/staff/search", headers=handler, query_string={"q": "桐子坡", "sort": "newest"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "您是不是要找" in html
    assert re.search(rf'href="[^"]*q={re.escape(quote("桐梓坡"))}[^"]*sort=newest|href="[^"]*sort=newest[^"]*q={re.escape(quote("桐梓坡"))}', html)


def test_pages_of_a_broad_word_over_many_blocks_follow_one_order(tmp_path):
    """Enough petitions for the postings to span blocks, so the top-N collector skips blocks by their best score."""
    tenant_id = uuid.uuid4().hex[:24]
    index_dir = TenantIndexDir(tmp_path, tenant_id)
    with index_dir.writer_lock():
        writer = index_dir.open_or_create_for_writing().writer()
        for n in range(400):
            text = "物业" * (1 + n % 5) + "，小区" + "门口停车" * (n % 11) + ("物业公司" if n % 3 else "") + "。"
            writer.add_document(id=f"p{n:04d}", tenant_id=tenant_id, number=f"N{n:04d}", title="物业" if n % 7 == 0 else "来信",
                                text=text, subject="", category="other", region="", channel="online", status="registered",
                                kind="petition", received=datetime(2026, 3, 1) + timedelta(hours=n))
        writer.commit()
    index = (tmp_path, tenant_id)
    whole = [item["id"] for item in search(index, "物业", page_size=100)["items"]]
    for size in (7, 30):
        paged = []
        for page in range(1, 100 // size + 2):
            paged += [item["id"] for item in search(index, "物业", page=page, page_size=size)["items"]]
        assert paged[:100] == whole, size


async def test_the_search_page_says_what_to_do_when_nothing_is_listed_and_folds_the_less_used_filters(client, tenants):
    from tests.conftest import login_token
    from tests.test_search import marker

    handler = await login_token(client, tenants.A, "handler")
    url = f"/t/{tenants.A}/staff/search"
    html = await (await client.get(url, headers=handler, query_string={"q": "领导"})).get_data(as_text=True)
    assert "只有常用词" in html and "search-results" not in html and 'class="pager"' not in html and "共 0" not in html
    html = await (await client.get(url, headers=handler, query_string={"q": "查无此事" + marker()})).get_data(as_text=True)
    assert 'class="empty-state"' in html and "search-results" not in html and " ms</p>" not in html
    assert '<details class="more-filters">' in html  # folded: none of its filters is set
    html = await (await client.get(url, headers=handler, query_string={"q": "查无此事", "region": "岳麓"})).get_data(as_text=True)
    assert '<details class="more-filters" open>' in html



SNIPPET_TEXT = ("楼下湘味烧烤店开业半年了，每天晚上营业到凌晨三点，油烟直接往楼上排，窗户都不敢开，大家在业主群里讨论了很多次，物业说管不了。"
                "我家就在湘味烧烤店的正上方，老人孩子天天闻油烟，孩子晚上一直是咳嗽，去医院看了好几次，医生说和空气有关。希望有关部门尽快处理。") * 2


def test_snippets_start_and_end_at_clause_or_word_edges_and_never_repeat_text():
    from xinfang_search.analysis import segment
    from xinfang_search.highlights import NOT_A_START, highlight

    text = SNIPPET_TEXT
    edges = {0, len(text)} | {i for _, s, e in segment(text) for i in (s, e)}
    for at in range(0, len(text) - 2, 5):
        needle = text[at:at + 2]
        if set(needle) & NOT_A_START:
            continue
        pieces = re.sub(r"<[^>]+>", "", highlight(text, [needle])).split("…")
        for piece in pieces:
            start = text.find(piece)
            assert piece and piece[0] not in NOT_A_START, (needle, piece)
            assert start in edges or text[start - 1] in NOT_A_START, (needle, piece)  # a word is not cut at the start
            assert start + len(piece) in edges or text[start + len(piece)] in NOT_A_START, (needle, piece)
        assert sum(map(len, pieces)) <= len(text), needle
    assert re.sub(r"<[^>]+>", "", highlight(text[:len(text) // 2], ["医院"])).startswith("我家就在湘味烧烤店")  # the clause's start


def test_the_web_app_warms_search_up_in_a_thread_as_it_starts_serving(app):
    from xinfang_search.http import warm_up, warm_up_in_background

    assert warm_up_in_background in app.app.before_serving_funcs
    warm_up()  # loads jieba, OpenCC and the stop words (already loaded here: cheap); never raises


@pytest.mark.parametrize("q", ["湘味烧烤油烟直接往楼上排", "家里有老人和小孩"])
def test_petitions_holding_a_long_piece_as_typed_rank_above_those_holding_its_words_apart(tmp_path, q):
    tenant_id = uuid.uuid4().hex[:24]
    index_dir = TenantIndexDir(tmp_path, tenant_id)
    exact = {"p0000": "我要反映一个拖了很久的事情，街道和区里都去过了，没有人管，小区楼下的湘味烧烤油烟直接往楼上排，家里有老人和小孩，窗户都不敢开。",
             "p0001": "洋湖湾小区的湘味烧烤油烟直接往楼上排，家里有老人和小孩。"}
    apart = ["湘味烧烤湘味烧烤，油烟油烟直接直接往楼上楼上排，家里家里老人老人小孩小孩。"] * 8  # more of each word, in a shorter text
    with index_dir.writer_lock():
        writer = index_dir.open_or_create_for_writing().writer()
        for n, text in enumerate([*exact.values(), *apart]):
            writer.add_document(id=f"p{n:04d}", tenant_id=tenant_id, number=f"N{n:04d}", title="油烟", text=text, subject="",
                                category="other", region="", channel="online", status="registered", kind="petition",
                                received=datetime(2026, 3, 1) + timedelta(hours=n))
        writer.commit()
    answer = search((tmp_path, tenant_id), q, page_size=5)
    assert {item["id"] for item in answer["items"][:2]} == set(exact)
    assert answer["total"] == len([item for item in search((tmp_path, tenant_id), q, page_size=100)["items"]])
