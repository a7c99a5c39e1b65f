"""Repeats across people and wordings, matters (同一事项), collective petitions (集体访) and the system-wide check
(全系统判重): pure functions first (places, pair scores, clusters), then through the real indexer."""

from __future__ import annotations

from tests.conftest import eventually, login_token
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from xinfang_search.indexer import recheck_repeats
from xinfang_search.models import DuplicateCandidate
from tests.test_search import _indexed, file, marker, person
from xinfang_search import clusters, duplicates
from xinfang_search.matter_places import place_relation, places

ISOLATION_CASES = {
    "search.list_matters": {"method": "GET", "path": "/api/matters", "kind": "collection"},
    "search_pages.matters_page": {"method": "GET", "path": "/staff/matters", "kind": "collection"},
}


def fp(pid: str, title: str, text: str, petitioner: str, day: str) -> duplicates.Fingerprint:
    return duplicates.fingerprint(petition_id=pid, tenant_id="t", title=title, content=text, subject_name=None, petitioner=petitioner,
                                  created=day)


def test_places_are_found_by_their_suffixes_and_close_names_match():
    found = places("我是梅溪湖畔小區的住户，楼下湘味烧烤店油烟很大，麓山外国语学校门口也堵，物业公司不管。")
    assert ("estate", "梅溪湖畔小区") in found and ("organisation", "湘味烧烤店") in found and ("school", "麓山外国语学校") in found
    assert not [name for _, name in found if name.startswith("物业")]  # a generic noun names no place
    assert place_relation([("estate", "梅西湖畔小区")], [("estate", "梅溪湖畔小区")])[0] == "same"  # one wrong character
    assert place_relation([("estate", "梅溪湖畔小区")], [("estate", "麓谷林语小区")])[0] == "conflict"
    assert place_relation([("road", "金星北路")], [("road", "劳动东路")])[0] == "unknown"  # a road alone never conflicts


def test_one_matter_reworded_by_another_person_is_likely_and_another_estate_is_not():
    # written as the corpus's cluster c01 and a same-topic message about another estate (tests/data/search_corpus)
    a = fp("a", "梅溪湖畔小区楼下餐馆油烟扰民", "梅溪湖畔小区楼下的湘味烧烤店油烟直接往楼上排，窗户都不敢开。希望有关部门管一管！", "p1", "2025-09-01")
    b = fp("b", "湘味烧烤店油烟问题", "您好！我家就在梅溪湖畔小区，湘味烧烤店没有装油烟净化器，整栋楼都是油烟味，老人咳嗽加重了。", "p2", "2025-09-10")
    other = fp("c", "麓谷林语小区楼下餐馆油烟扰民", "麓谷林语小区楼下的川味火锅店油烟直接往楼上排，窗户都不敢开。希望有关部门管一管！", "p3", "2025-09-12")
    score, _, reasons = duplicates.pair_score(b, a)
    assert duplicates.is_likely_duplicate(score) and "same_place" in reasons
    assert not duplicates.is_likely_duplicate(duplicates.pair_score(other, a)[0])  # the same sentences at another estate
    a_year_on = fp("d", b.title, "我家就在梅溪湖畔小区，湘味烧烤店没有装油烟净化器，整栋楼都是油烟味。", "p4", "2026-09-10")
    assert "same_place" not in duplicates.pair_score(a_year_on, a)[2]  # beyond the window the place adds nothing
    at_a_company = fp("e", "恒盛物业公司拖欠工资", "我在恒盛物业公司干了6个月，工资一直没发。", "p5", "2025-09-01")
    sewage = fp("f", "恒盛物业公司排污", "恒盛物业公司晚上偷偷往河里排废水，河水发黑发臭。", "p6", "2025-09-03")
    assert at_a_company.issues == {"wages"} and sewage.issues == {"pollution"}  # the company's name raises no property issue
    assert "same_place" not in duplicates.pair_score(sewage, at_a_company)[2]  # one place, two issues: two matters


def test_a_matter_is_a_group_every_petition_agrees_with_not_a_chain_of_links():
    fumes = "梅溪湖畔小区楼下湘味烧烤店油烟直排，没有装油烟净化器，窗户都不敢开。"
    prints = {f"m{i}": fp(f"m{i}", "油烟直排", fumes, f"p{i}", f"2025-09-{1 + 3 * i:02d}") for i in range(5)}
    noise = fp("noise", "噪音扰民", "梅溪湖畔小区楼下广场舞音响太吵，晚上睡不着。", "p7", "2025-09-20")
    elsewhere = fp("elsewhere", "油烟直排", "洋湖湾小区楼下柳州螺蛳粉店油烟直排，窗户都不敢开。", "p8", "2025-09-21")
    late = fp("late", "油烟直排", fumes, "p9", "2026-03-01")
    assert not clusters.compatible(noise, prints["m0"]) and not clusters.compatible(elsewhere, prints["m0"])  # another issue, another estate
    assert not clusters.compatible(late, prints["m0"])  # half a year on
    both = fp("both", "投诉梅溪湖畔小区底商油烟", "湘味烧烤店晚上营业到凌晨，油烟加上噪音，住户苦不堪言。", "p6", "2025-09-19")
    assert both.issues == {"fumes", "noise"} and not clusters.compatible(both, noise) and clusters.compatible(both, prints["m0"])  # its title's
    members = {"m0": [prints["m0"]]}
    joins = []
    for i in range(1, 5):  # each joins the matter of the earlier ones, as the indexer checks them in turn
        group = members[f"m{i - 1}"]
        through = clusters.matters_to_join(prints[f"m{i}"], [(prints[f"m{i - 1}"], 0.9)], lambda pid: group)
        assert through == [f"m{i - 1}"]
        joins.append((f"m{i}", f"m{i - 1}"))
        members[f"m{i}"] = group + [prints[f"m{i}"]]
    # linked strongly to a member, but not every member agrees: it starts its own matter
    assert clusters.matters_to_join(noise, [(prints["m4"], 0.9)], lambda pid: members["m4"]) == []
    assert clusters.matters_to_join(late, [(prints["m4"], 0.9)], lambda pid: members["m4"]) == []
    matters = clusters.group({**prints, "noise": noise}, joins + [("noise", "noise")])
    assert [len(m.petition_ids) for m in matters] == [5] and matters[0].petitioners == 5 and matters[0].collective
    assert "梅溪湖畔小区" in matters[0].places and "油烟" in matters[0].words
    assert all(any(w in word for w in ("油烟", "净化器")) for word in matters[0].words)  # issue words only, no fragments


def test_a_petition_naming_no_place_joins_a_matter_it_is_like_in_words_at_several_petitions():
    school = [fp(f"s{i}", "梅溪湖实验小学乱收费", f"梅溪湖实验小学以资料费名义每人收120元，收钱不开票。第{i}次反映。", f"p{i}", "2026-06-01") for i in range(4)]
    unnamed = fp("u", "學校强制收費", "學校乱收費，班主任在群里通知交120元班费。", "p9", "2026-06-14")
    weak = [(s, 0.42) for s in school[:3]]  # alike, none a likely duplicate alone
    assert len(clusters.matters_to_join(unnamed, weak, lambda pid: school)) == 1
    assert clusters.matters_to_join(unnamed, weak[:1], lambda pid: school) == []  # like one of four: not the matter's


async def test_a_likely_repeat_at_an_unrelated_body_is_shown_as_existence_only(client, tenants, worker):
    word = marker()
    who = person()
    title, text = f"{word}桐梓坡花园违建", f"{word}：桐梓坡花园7栋顶楼业主在楼顶搭了彩钢棚，属于违章建筑，挡住了消防通道，城管来看过没下文。"
    handler_a, handler_b = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.B, "handler")
    first = await file(client, tenants.A, title=title, content=text, identity=who)
    await eventually(lambda: _indexed(client, tenants.A, handler_a, word, 1), timeout=60, message="the first body's petition indexed")
    again = await file(client, tenants.B, title=f"{word}再次反映违建", content=text, identity=who)

    async def other_body_rows():
        body = await (await client.get(f"/t/{tenants.B}/api/petitions/{again}/duplicates", headers=handler_b)).get_json()
        return [c for c in body["candidates"] if c["other_body"]]

    rows = await eventually(other_body_rows, timeout=60, message="the system-wide row")
    answer = await (await client.get(f"/t/{tenants.B}/api/petitions/{again}/duplicates", headers=handler_b)).get_data(as_text=True)
    page = await (await client.get(f"/t/{tenants.B}/staff/petitions/{again}", headers=handler_b)).get_data(as_text=True)
    first_number = (await (await client.get(f"/t/{tenants.A}/api/petitions/{first}", headers=handler_a)).get_json())["number"]
    row = rows[0]
    assert row["other_id"] is None and row["other_number"] == "" and row["other_title"] == "" and "other_body" in row["reasons"]
    assert row["other_body"]["tenant"]["zh"] and row["other_body"]["received_at"] and row["other_body"]["state"]
    for secret in (first, first_number, title, "彩钢棚"):  # nothing of the other body's petition but that it exists
        assert secret not in answer.replace(text, "") and secret not in page.replace(text, "")
    assert row["other_body"]["tenant"]["zh"] in page and "其他单位已收到" in page
    confirmed = await client.post(f"/t/{tenants.B}/api/duplicates/{row['id']}/confirm", headers=handler_b)
    assert confirmed.status_code == 200 and (await confirmed.get_json())["other_title"] == ""
    timeline = await (await client.get(f"/t/{tenants.B}/staff/petitions/{again}", headers=handler_b)).get_data(as_text=True)
    assert row["other_body"]["tenant"]["zh"] in timeline and first_number not in timeline  # the repeat is of that body's petition


def test_a_store_written_before_the_place_columns_is_read_and_written(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "fingerprints.sqlite3")
    old.executescript("""CREATE TABLE docs (pid TEXT PRIMARY KEY, tenant TEXT NOT NULL, number TEXT, title TEXT, created TEXT,
                                            petitioner TEXT, subject TEXT, subject_core TEXT, terms TEXT NOT NULL);
                         INSERT INTO docs VALUES ('old', 't', 'N1', '旧的', '2025-09-01', 'p1', NULL, NULL, '{"油烟": 1.0}');""")
    old.close()
    store = duplicates.FingerprintStore(tmp_path / "fingerprints.sqlite3")
    new = fp("new", "油烟扰民", "梅溪湖畔小区楼下湘味烧烤店油烟扰民。", "p1", "2025-09-05")
    assert store.get("old").places == [] and {c.petition_id for c in store.candidates(new, ["t"])} == {"old"}  # same petitioner
    store.put(new)
    assert store.get("new").places == new.places and store.get("new").issues == new.issues
    store.close()


async def test_the_matters_page_lists_five_people_on_one_matter_as_a_collective_petition(client, tenants, worker, settings):
    word = marker()
    text = f"{word}：洋湖湾小区楼下的柳州螺蛳粉店油烟直接往楼上排，窗户都不敢开，老人咳嗽加重了。"
    ids = [await file(client, tenants.A, title=f"{word}油烟扰民", content=text, identity=person()) for _ in range(5)]
    handler = await login_token(client, tenants.A, "handler")

    async def matter():
        body = await (await client.get(f"/t/{tenants.A}/api/matters", headers=handler, query_string={"days": "30"})).get_json()
        return next((m for m in body["matters"] if set(ids) <= {p["id"] for p in m["petitions"]}), None)

    found = await eventually(matter, timeout=60, message="the matter of the five petitions")
    assert found["petitioners"] == 5 and "洋湖湾小区" in found["places"] and "油烟" in found["words"] and found["collective"]
    page = await (await client.get(f"/t/{tenants.A}/staff/matters?days=30&collective=1&min_people=5", headers=handler)).get_data(as_text=True)
    assert "同一事项" in page and "洋湖湾小区" in page and "集体访" in page and all(f"/staff/petitions/{pid}" in page for pid in ids)
    for pid in (ids[0], ids[-1]):  # the first petition says it too, not only the one that made five
        body = await (await client.get(f"/t/{tenants.A}/api/petitions/{pid}/duplicates", headers=handler)).get_json()
        assert body["matter"] == {"petitions": 5, "petitioners": 5, "collective": True}
    first = await (await client.get(f"/t/{tenants.A}/staff/petitions/{ids[0]}", headers=handler)).get_data(as_text=True)
    assert "集体访" in first
    many = await (await client.get(f"/t/{tenants.A}/api/matters", headers=handler, query_string={"days": "30", "min_people": "6"})).get_json()
    assert not [m for m in many["matters"] if set(ids) & {p["id"] for p in m["petitions"]}] and many["page_size"] == 20
    assert all(m["collective"] for m in (await (await client.get(f"/t/{tenants.A}/api/matters", headers=handler,
                                                                 query_string={"days": "30", "collective": "1"})).get_json())["matters"])
    bad = await client.get(f"/t/{tenants.A}/api/matters", headers=handler, query_string={"days": "0", "end": "yesterday"})
    assert bad.status_code == 422 and {"days"} <= set((await bad.get_json())["error"]["fields"])
    bad = await client.get(f"/t/{tenants.A}/staff/matters", headers=handler, query_string={"min_people": "x", "page": "0"})
    assert bad.status_code == 422

    # Petitions indexed before these rules had no links: a recheck (`xinfang search recheck-repeats`) links them as if
    # each had just arrived, against those received before it, and leaves the links already there alone.
    scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    before = {(c.petition_id, c.other_id, tuple(c.reasons)) for c in await scope.repo(DuplicateCandidate).find({"petition_id": {"$in": ids}}).to_list()}
    await scope.repo(DuplicateCandidate).delete_many({"petition_id": {"$in": ids[1:3]}})
    counts = await recheck_repeats(settings.data_dir, scope.tenant_id)
    after = {(c.petition_id, c.other_id, tuple(c.reasons)) for c in await scope.repo(DuplicateCandidate).find({"petition_id": {"$in": ids}}).to_list()}
    assert after == before and counts["links_added"] >= len([b for b in before if b[0] in ids[1:3]]) > 0
    assert (await matter())["collective"]
