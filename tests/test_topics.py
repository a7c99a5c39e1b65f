"""Frequent words as topics: what a petition is counted under, the store's regions and categories, the topic
score, burst detection, and the page and API with their filters."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, timedelta

from tests.conftest import eventually, login_token
from tests.test_petitions import submitted
from tests.test_search import marker
from xinfang_search import topics
from xinfang_search.terms import FRAGMENT, NOUN, OTHER, VERB, TermStore, petition_terms, shown, word_class

TENANT = "t-topics"


def test_a_petition_is_counted_under_its_content_words_and_phrases_not_artefacts_numbers_masked_names_or_stop_words():
    terms = petition_terms("梅溪湖畔小区楼下烧烤店油烟扰民_x000d_",
                           "尊敬的领导：我要反映一下，张某开的湘味烧烤油烟扰民3个月了，王XX也不管_x000d_，希望尽快处理。")
    assert {"油烟", "扰民", "油烟 扰民", "湘味 烧烤", "梅溪 湖畔 小区"} <= set(terms)
    assert not [t for t in terms if "x000d" in t or "某" in t or "xx" in t or any(ch.isdigit() for ch in t)]
    assert not {"反映", "一下", "希望", "领导", "尽快", "处理"} & set(terms)  # how any petition is written
    assert len(terms) == len(set(terms)) and shown("梅溪 湖畔 小区") == "梅溪湖畔小区" and shown("wifi 信号") == "wifi信号"
    inside = set(petition_terms("物业公司乱收费", "学校收取资料费"))
    assert {"物业公司", "物业", "乱收费", "收费", "资料费"} <= inside and "料费" not in inside  # as search finds them; no dictionary junk


def test_only_words_whose_part_of_speech_names_a_topic_are_counted():
    assert {w: word_class(w) for w in ("油烟", "底商", "补课", "个事", "一天两天", "每人", "晚上", "寒假", "偷偷", "没到", "群里", "吵得")} == {
        "油烟": NOUN, "底商": NOUN, "补课": VERB,  # 底商: unknown to jieba, a noun by its parts
        "个事": OTHER, "一天两天": OTHER, "每人": OTHER, "晚上": OTHER, "寒假": OTHER, "偷偷": OTHER, "没到": OTHER, "群里": OTHER, "吵得": OTHER}
    terms = set(petition_terms("", "不是一天两天了，每人收2400元，晚上偷偷往河里排废水，我要反映个事，工资到现在没到。"))
    assert {"废水", "工资"} <= terms and not {"一天两天", "每人", "晚上", "偷偷", "个事", "没到", "晚上 偷偷"} & terms


def test_a_phrase_is_of_whole_words_and_an_occurrence_that_cuts_a_word_is_counted_a_fragment():
    estate = petition_terms("", "投诉洋湖湾小区底商油烟。")
    assert "洋 湖湾 小区" in estate and FRAGMENT + "洋 湖湾 小区" not in estate  # the place name with its first character
    assert FRAGMENT + "湖湾 小区" in estate  # counted (a search for 湖湾小区 finds it), marked a fragment of the name
    ride = petition_terms("", "在曹操出行打网约车，司机绕路。", tenant_words=frozenset({"网约车"}))
    assert FRAGMENT + "打网" in ride and FRAGMENT + "出行 打网" in ride and FRAGMENT + "司机 绕路" not in ride  # 打网 cuts 网约车
    pivot = petition_terms("", "老师暗示学生去他开的补习班。")
    assert FRAGMENT + "暗示 学生" in pivot  # whom 暗示 makes do something: no unit
    assert FRAGMENT + "拖欠 工资" not in petition_terms("", "公司拖欠工资三个月。")


def test_a_phrase_is_shown_only_as_a_collocation_of_enough_petitions():
    counts = Counter({"湘味 烧烤": 8, "湘味": 8, "烧烤": 10, "小区 电梯": 20, "小区": 200, "电梯": 40, "金星 小区": 6, "金星": 6})
    assert topics.is_collocation("湘味 烧烤", 8, counts, 600)  # expected 0.2 by chance
    assert not topics.is_collocation("小区 电梯", 20, counts, 600)  # expected 13: two common words of one matter
    assert not topics.is_collocation("湘味 烧烤", 2, counts, 600)  # too few petitions in the window
    assert topics.is_collocation("金星 小区", 6, counts, 600) and topics.is_collocation("油烟", 2, counts, 600)  # a place; a word


def test_a_phrase_mostly_a_fragment_or_no_collocation_is_not_shown(tmp_path):
    store, end = TermStore(tmp_path / "terms.sqlite3"), date(2026, 3, 31)
    rows = [(f"f{n}", TENANT, "2026-03-20", "天心区", ["餐饮油烟"], ["油烟", "湖湾", "洋 湖湾 小区", "湖湾 小区", FRAGMENT + "湖湾 小区"])
            for n in range(6)]
    rows += [(f"o{n}", TENANT, "2026-03-20", "雨花区", ["物业管理"], ["物业", "电梯"] + (["物业 电梯"] if n < 3 else []))
             for n in range(12)]
    store.put_many(rows)
    shown_terms = {t["term"] for t in topics.topics_of(store, TENANT, end=end, days=30)["top"]}
    assert "洋湖湾小区" in shown_terms and "湖湾小区" not in shown_terms and not any(FRAGMENT in t for t in shown_terms)
    assert "物业电梯" not in shown_terms and {"物业", "电梯"} <= shown_terms  # 3 of 12: what the words predict
    store.close()


def test_a_store_counted_by_an_earlier_version_is_rebuilt(tmp_path):
    path = tmp_path / "terms.sqlite3"
    store = TermStore(path)
    store.put_many([("p1", TENANT, "2026-03-01", "", [], ["油烟"])])
    assert not store.is_stale(TENANT)
    store._db.execute("UPDATE term_counting SET version = 1")
    store._db.commit()
    store.close()
    store = TermStore(path)
    assert store.is_stale(TENANT)
    store.close()


def test_the_store_counts_by_region_and_category_once_per_petition_and_moves_a_changed_petition(tmp_path):
    store = TermStore(tmp_path / "terms.sqlite3")
    store.put_many([("p1", TENANT, "2026-03-01", "岳麓区", ["餐饮油烟", "噪音扰民"], ["油烟", "噪音"]),
                    ("p2", TENANT, "2026-03-02", "雨花区", ["餐饮油烟"], ["油烟"]),
                    ("p3", "other-tenant", "2026-03-02", "岳麓区", ["餐饮油烟"], ["油烟"])])
    whole = dict(first_day="2026-03-01", last_day="2026-03-31")
    assert store.counts(TENANT, **whole) == Counter({"油烟": 2, "噪音": 1})  # two categories, counted once
    assert store.counts(TENANT, **whole, region="岳麓区") == Counter({"油烟": 1, "噪音": 1})
    assert store.counts(TENANT, **whole, category="噪音扰民") == Counter({"油烟": 1, "噪音": 1})
    assert store.counts(TENANT, **whole, category="噪音") == Counter()  # a whole category name, not a part of one
    assert store.petitions(TENANT, **whole, category="餐饮油烟") == 2 and store.regions(TENANT) == ["岳麓区", "雨花区"]
    by_region, by_category = store.spread(TENANT, "2026-03-01", "2026-03-31", ["油烟"])
    assert by_region["油烟"] == Counter({"岳麓区": 1, "雨花区": 1}) and by_category["油烟"] == Counter({"餐饮油烟": 2, "噪音扰民": 1})
    store.put_many([("p1", TENANT, "2026-03-05", "雨花区", [], ["物业"])])  # edited: its old counts leave
    assert store.counts(TENANT, **whole) == Counter({"油烟": 1, "物业": 1}) and store.counts(TENANT, **whole, region="岳麓区") == Counter()
    store.remove("p2")
    store.remove_tenant(TENANT)
    assert store.counts(TENANT, **whole) == Counter() and store.counts("other-tenant", **whole) == Counter({"油烟": 1})
    store.close()


def test_a_rebuild_counts_again_in_place_so_the_counts_are_never_partial_and_drops_only_what_is_gone(tmp_path):
    store, whole = TermStore(tmp_path / "terms.sqlite3"), dict(first_day="2026-03-01", last_day="2026-03-31")
    store.put_many([("p1", TENANT, "2026-03-01", "", [], ["住房", "城乡"]), ("p2", TENANT, "2026-03-02", "", [], ["油烟"]),
                    ("p3", "other-tenant", "2026-03-02", "", [], ["油烟"])])
    store.put_many([("p1", TENANT, "2026-03-01", "", [], ["住房城乡建设局"])])  # the rebuild's first petition, a new word
    assert store.counts(TENANT, **whole) == Counter({"住房城乡建设局": 1, "油烟": 1})  # p2 still counted meanwhile
    store.keep_only(TENANT, {"p1"})  # p2 left the store before the rebuild
    assert store.counts(TENANT, **whole) == Counter({"住房城乡建设局": 1}) and store.counts("other-tenant", **whole) == Counter({"油烟": 1})
    store.close()


def test_a_prefecture_or_province_code_counts_the_counties_under_it_and_is_offered_in_words(tmp_path):
    store = TermStore(tmp_path / "terms.sqlite3")
    store.put_many([("p1", TENANT, "2026-03-01", "430104", [], ["油烟"]), ("p2", TENANT, "2026-03-01", "430111", [], ["油烟"]),
                    ("p3", TENANT, "2026-03-01", "440106", [], ["油烟"]), ("p4", TENANT, "2026-03-01", "湖南省长沙市", [], ["油烟"])])
    counted = {code: store.counts(TENANT, "2026-03-01", "2026-03-01", region=code)["油烟"] for code in ("430100", "430000", "430104", "440000")}
    assert counted == {"430100": 2, "430000": 2, "430104": 1, "440000": 1}
    offered = {r["value"]: r["name"] for r in topics.region_choices(store.regions(TENANT))}
    assert offered["430100"] == "湖南省 长沙市" and offered["430104"] == "湖南省 长沙市 岳麓区" and offered["湖南省长沙市"] == "湖南省长沙市"
    assert "430000" in offered and "440100" in offered
    store.close()


def test_a_store_of_the_first_layout_is_carried_over(tmp_path):
    path = tmp_path / "terms.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE petition_terms (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, day TEXT NOT NULL, terms TEXT NOT NULL);
                        CREATE TABLE day_terms (tenant TEXT NOT NULL, day TEXT NOT NULL, term TEXT NOT NULL, df INTEGER NOT NULL,
                                                PRIMARY KEY (tenant, day, term));
                        INSERT INTO petition_terms VALUES ('p1', 't-topics', '2026-03-01', '["油烟"]');
                        INSERT INTO day_terms VALUES ('t-topics', '2026-03-01', '油烟', 1);""")
    db.commit()
    db.close()
    store = TermStore(path)
    assert store.counts(TENANT, "2026-03-01", "2026-03-01") == Counter({"油烟": 1})
    store.put_many([("p1", TENANT, "2026-03-01", "岳麓区", [], ["噪音"])])  # the carried-over row is replaced exactly
    assert store.counts(TENANT, "2026-03-01", "2026-03-01") == Counter({"噪音": 1})
    tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {"petition_terms", "day_terms"} & tables
    assert store.is_stale(TENANT) and not store.is_stale("another-tenant")  # the indexer's next drain rebuilds this tenant
    store.keep_only(TENANT, {"p1"})  # what the rebuild does last
    assert not store.is_stale(TENANT) and store.counts(TENANT, "2026-03-01", "2026-03-01") == Counter({"噪音": 1})
    store.close()


def test_burst_detection_says_rising_against_the_windows_before():
    assert topics.burst(9, [1, 2, 1, 1]) == {"previous_mean": 1.25, "windows": 4, "surprise": topics.burst(9, [1, 2, 1, 1])["surprise"],
                                             "rising": True}
    assert topics.burst(9, [1, 2, 1, 1])["surprise"] > 4
    assert not topics.burst(4, [3, 5, 4, 3])["rising"]  # as usual
    assert not topics.burst(2, [0, 0, 0, 0])["rising"]  # too few to say
    assert topics.burst(3, [0, 0, 0, 0])["rising"]  # three where there were none
    assert topics.poisson_surprise(0, 2.0) == 0 and topics.poisson_surprise(60, 1.0) > 50  # far past double precision, still finite


def _fill(store: TermStore, end: date) -> None:
    """Six categories of petitions over 150 days, each with words every petition is written with (说明, 群里),
    its category's own word, and in the last 30 days one estate's fumes cluster in one region."""
    rows, n = [], 0
    topic_words = {"物业管理": "物业", "噪音扰民": "噪音", "网约车": "网约车", "拖欠工资": "欠薪", "医疗": "医院", "低保评定": "低保"}
    for day in range(150):
        for k, (category, word) in enumerate(topic_words.items()):
            if (day + k) % 3:
                continue
            n += 1
            rows.append((f"p{n}", TENANT, (end - timedelta(days=day)).isoformat(), ["岳麓区", "雨花区", "天心区"][n % 3], [category],
                         ["说明", "群里", word]))
    for k in range(8):
        n += 1
        rows.append((f"p{n}", TENANT, (end - timedelta(days=3 * k)).isoformat(), "岳麓区", ["餐饮油烟"],
                     ["说明", "群里", "油烟", "梅溪", "湖畔", "梅溪 湖畔", "湖畔 小区", "梅溪 湖畔 小区"]))
    store.put_many(rows)


def test_topics_rank_category_words_and_the_cluster_above_general_words_and_show_it_rising(tmp_path):
    store, end = TermStore(tmp_path / "terms.sqlite3"), date(2026, 3, 31)
    _fill(store, end)
    found = topics.topics_of(store, TENANT, end=end, days=30)
    order = [t["term"] for t in found["top"]]
    assert order[:2] == ["梅溪湖畔小区", "油烟"] or order[:2] == ["油烟", "梅溪湖畔小区"]  # the cluster first
    assert "梅溪湖畔" not in order and "湖畔" not in order  # shown as the estate it is part of
    assert order.index("物业") < order.index("说明") and order.index("低保") < order.index("群里")  # frequent is not topical
    counts = {t["term"]: t for t in found["top"]}
    assert counts["说明"]["count"] > counts["物业"]["count"]
    estate = counts["梅溪湖畔小区"]
    assert estate["count"] == 8 and estate["previous"] == 0 and estate["query"] == '"梅溪湖畔小区"' and estate["words"] == ["梅溪", "湖畔", "小区"]
    assert estate["mostly_region"] == {"value": "岳麓区", "name": "岳麓区"}
    assert sum(bar["count"] for bar in estate["series"]) == 8 and estate["series"][-1]["to"] == end.isoformat()
    rising = {r["term"]: r for r in found["rising"]}
    assert set(rising) >= {"梅溪湖畔小区", "油烟"} and "物业" not in rising and "说明" not in rising
    assert rising["油烟"]["previous_mean"] == 0 and rising["油烟"]["windows"] == 4 and rising["油烟"]["growth"] == 9
    assert found["petitions"] == store.petitions(TENANT, "2026-03-02", "2026-03-31") and len(found["history"]["petitions"]) == 4

    narrowed = topics.topics_of(store, TENANT, end=end, days=30, region="雨花区")
    assert "油烟" not in {t["term"] for t in narrowed["top"]} and narrowed["filters"]["region"] == "雨花区"
    by_category = topics.topics_of(store, TENANT, end=end, days=30, category="医疗")
    assert "医院" in {t["term"] for t in by_category["top"]} <= {"医院", "说明", "群里"}  # that category's petitions only
    told = topics.topics_of(store, TENANT, end=end, days=30, tenant_stops=frozenset({"油烟", "小区"}))
    assert not {"油烟", "梅溪湖畔小区"} & {t["term"] for t in told["top"]}  # the tenant's stop word, alone or in a phrase
    store.close()


async def test_the_page_and_api_narrow_topics_to_a_region_and_a_category(client, tenants, worker):
    handler = await login_token(client, tenants.A, "handler")
    region = "测试区" + marker()  # a region nobody else's petitions name
    for n in range(3):
        await submitted(client, tenants.A, {"title": f"湘味烧烤油烟扰民{n}", "content": "梅溪湖畔小区楼下的湘味烧烤油烟直排，家里窗户不敢开。",
                                            "category": "mass", "region": region}, anonymous=True, address=f"10.9.{n}.7")

    async def topics_of_region():
        answer = await client.get(f"/t/{tenants.A}/api/frequent-words", headers=handler,
                                  query_string={"days": "7", "region": region, "category": "mass"})
        body = await answer.get_json()
        return body if answer.status_code == 200 and body["petitions"] >= 3 else None

    body = await eventually(topics_of_region, timeout=60, message="the petitions counted under their region")
    top = {t["term"]: t for t in body["top"]}
    assert top["湘味烧烤"]["count"] == 3 and {"term", "count", "previous", "series", "query"} <= set(top["湘味烧烤"])
    assert body["filters"] == {"region": region, "category": "mass"} and region in {r["value"] for r in body["regions"]}
    assert "反映" not in top and "希望" not in top
    other = await (await client.get(f"/t/{tenants.A}/api/frequent-words", headers=handler,
                                    query_string={"days": "7", "region": region, "category": "integrity"})).get_json()
    assert other["petitions"] == 0 and other["top"] == []
    page = await client.get(f"/t/{tenants.A}/staff/frequent-words", headers=handler, query_string={"days": "7", "region": region, "category": "mass"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "湘味烧烤" in html and "<svg class=\"sparkline\"" in html and "违反群众纪律" in html
    assert "q=%22%E6%B9%98%E5%91%B3%E7%83%A7%E7%83%A4%22" in html or "q=湘味烧烤" in html  # the search for the phrase, quoted
    bad = await client.get(f"/t/{tenants.A}/api/frequent-words", headers=handler, query_string={"region": "区" * 101})
    assert bad.status_code == 422
    whole = await client.get(f"/t/{tenants.A}/api/frequent-words", headers=handler, query_string={"days": "all", "region": region})
    body = await whole.get_json()  # the whole period: from the tenant's first petition, its petitions all counted
    assert whole.status_code == 200 and 7 <= body["window"]["days"] <= 3650 and body["petitions"] == 3
    page = await client.get(f"/t/{tenants.A}/staff/frequent-words", headers=handler, query_string={"days": "all"})
    assert page.status_code == 200 and '<option value="all" selected>' in await page.get_data(as_text=True)
    too_long = await client.get(f"/t/{tenants.A}/api/frequent-words", headers=handler, query_string={"days": "3651"})
    assert too_long.status_code == 422


def test_the_store_is_read_from_many_threads_at_once(tmp_path):
    """Web requests read the word counts in threads of their own (asyncio.to_thread): one shared sqlite3
    connection failed there (InterfaceError, a 500 on the frequent-words page found by the API fuzz)."""
    from concurrent.futures import ThreadPoolExecutor

    store = TermStore(tmp_path / "terms.sqlite3")
    store.put_many([(f"p{n}", TENANT, "2026-03-01", f"43010{n % 5}", [], ["油烟", "噪音"]) for n in range(50)])

    def read(_):
        return len(store.regions(TENANT)), store.counts(TENANT, "2026-03-01", "2026-03-01")["油烟"], store.first_day(TENANT)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = set(pool.map(read, range(400)))
    assert answers == {(5, 50, "2026-03-01")}
    store.close()
