"""Search, repeat petitions and frequent words, through the real indexer (its own worker and queue)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid

from xinfang.audit.models import AuditRecord
from xinfang.tenancy.models import Tenant
from tests.conftest import REPO_ROOT, child_env, eventually, login_token
from tests.test_archives import resident_id
from tests.test_petitions import petition_id_of, submitted


def marker() -> str:
    """A word nobody else's test writes, so assertions see only this test's petitions."""
    return "标记" + "".join(random.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(4))


async def file(client, slug: str, *, title: str, content: str, identity: dict | None = None, subject: str | None = None,
               category: str = "integrity", region: str | None = None) -> str:
    answers = {"title": title, "content": content, "category": category} | ({"region": region} if region else {})
    if identity:
        answers |= identity
    result = await submitted(client, slug, answers, anonymous=identity is None, address=f"10.{random.randint(1, 250)}.{random.randint(0, 250)}.9")
    return await petition_id_of(slug, result["number"])


def person() -> dict:
    return {"petitioner_name": "检索测试人" + uuid.uuid4().hex[:4], "id_number": resident_id(), "phone": f"139{random.randint(10000000, 99999999)}"}


async def searched(client, slug, headers, **params):
    answer = await client.get(f"/t/{slug}/api/search", headers=headers, query_string=params)
    return answer.status_code, await answer.get_json()


async def found(client, slug, headers, expected: int, **params):
    async def probe():
        status, body = await searched(client, slug, headers, **params)
        return body if status == 200 and body["total"] >= expected else None
    # Indexing runs through three processes (worker, its follow-up, the indexer): on a busy machine
    # that can take longer than the default 20 s; a pass returns at the first hit, so waiting costs nothing.
    # 180 s: a bulk import earlier in the same process can leave a few hundred events for the shared worker.
    return await eventually(probe, timeout=180, message=f"{expected} hits for {params}")


async def test_search_finds_words_and_phrases_in_its_own_tenant_only(client, tenants, worker):
    word = marker()
    handler_a, handler_b = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.B, "handler")
    who = person()
    pid = await file(client, tenants.A, title=f"{word}学校违规收取资料费", content=f"{word}某中学以资料费名义向学生收取二百元，没有开具收据。", identity=who)
    await file(client, tenants.A, title=f"{word}食堂饭菜", content=f"{word}学校食堂饭菜分量不足，收据也不给。")
    body = await found(client, tenants.A, handler_a, 2, q=word)
    assert {item["id"] for item in body["items"]} >= {pid} and body["items"][0]["tenant"]["slug"] == tenants.A
    phrase = await found(client, tenants.A, handler_a, 1, q=f'{word} "收取资料费"')
    assert [i["id"] for i in phrase["items"]] == [pid]  # the phrase is in one of them only
    assert "<mark" in (phrase["items"][0]["highlights"]["text"] or phrase["items"][0]["highlights"]["title"])
    status, nothing = await searched(client, tenants.B, handler_b, q=word)
    assert status in (200, 503) and (status == 503 or nothing["total"] == 0)  # 巴州 never sees 泗阳's petitions
    for secret in (who["petitioner_name"], who["phone"], who["id_number"]):
        status, body = await searched(client, tenants.A, handler_a, q=secret)
        assert status == 200 and body["total"] == 0  # identities are never indexed
    newest = await found(client, tenants.A, handler_a, 2, q=word, sort="newest", page_size=1)
    assert newest["pages"] >= 2 and len(newest["items"]) == 1
    filtered = await found(client, tenants.A, handler_a, 2, q=word, channel="online")
    assert all(i["channel"] == "online" for i in filtered["items"])
    bad = await client.get(f"/t/{tenants.A}/api/search", headers=handler_a, query_string={"q": word, "sort": "sideways", "page": "0"})
    assert bad.status_code == 422 and {"sort", "page"} <= set((await bad.get_json())["error"]["fields"])


async def test_a_prefecture_searches_the_counties_below_it_and_not_the_other_way(client, tenants, worker):
    word = marker()
    await file(client, tenants.CHILD_OF_B, title=f"{word}县里的事", content=f"{word}库尔勒某学校乱收费。")
    leader_b = await login_token(client, tenants.B, "leader")
    body = await found(client, tenants.B, leader_b, 1, q=word, scope="below")
    assert body["items"][0]["tenant"]["slug"] == tenants.CHILD_OF_B
    status, own_only = await searched(client, tenants.B, leader_b, q=word)
    assert status in (200, 503) and (status == 503 or own_only["total"] == 0)


async def test_a_repeat_petition_is_found_with_its_reasons_and_confirmed_by_staff(client, tenants, worker):
    word = marker()
    who = person()
    text = f"{word}：某县第三小学王某某老师长期在家中开办有偿补课班，每人每月收费八百元，学生不去就在课堂上点名批评。"
    first = await file(client, tenants.A, title=f"{word}有偿补课", content=text, identity=who)
    again = await file(client, tenants.A, title=f"{word}再次反映有偿补课", content=text + "已经反映过一次，至今没有处理。", identity=who)
    other = await file(client, tenants.A, title=f"{word}校车超载", content=f"{word}：某镇中心小学校车每天严重超载，存在安全隐患。", identity=person())
    handler = await login_token(client, tenants.A, "handler")

    async def candidates(pid):
        body = await (await client.get(f"/t/{tenants.A}/api/petitions/{pid}/duplicates", headers=handler)).get_json()
        return body["candidates"]

    found_again = await eventually(lambda: candidates(again), message="the repeat petition's candidates")
    best = found_again[0]
    assert best["other_id"] == first and best["likely"] and {"same_petitioner", "similar_text"} <= set(best["reasons"])
    await eventually(lambda: _indexed(client, tenants.A, handler, word, 3), message="all three indexed")
    assert not [c for c in await candidates(other) if c["other_id"] in (first, again) and c["likely"]]
    page = await (await client.get(f"/t/{tenants.A}/staff/petitions/{again}", headers=handler)).get_data(as_text=True)
    assert "疑似重复信访" in page and "同一信访人" in page
    decided = await client.post(f"/t/{tenants.A}/api/duplicates/{best['id']}/confirm", headers=handler)
    assert decided.status_code == 200 and (await decided.get_json())["status"] == "confirmed"
    earlier = await (await client.get(f"/t/{tenants.A}/staff/petitions/{first}", headers=handler)).get_data(as_text=True)
    assert "此后的重复信访" in earlier and again in earlier  # the earlier petition shows its confirmed repeat
    handler_b = await login_token(client, tenants.B, "handler")
    assert (await client.post(f"/t/{tenants.B}/api/duplicates/{best['id']}/dismiss", headers=handler_b)).status_code == 404


async def _indexed(client, slug, headers, word, n):
    status, body = await searched(client, slug, headers, q=word)
    return status == 200 and body["total"] >= n


async def test_many_petitioners_on_one_matter_are_flagged_as_a_collective_petition(client, tenants, worker):
    word = marker()
    text = f"{word}：某镇拆除村小学后，一百多名学生每天步行八公里到镇中心校上学，家长多次反映无人解决，要求恢复教学点或开通校车。"
    handler = await login_token(client, tenants.A, "handler")
    ids = [await file(client, tenants.A, title=f"{word}村小撤并", content=text, identity=person()) for _ in range(5)]

    async def flagged():
        body = await (await client.get(f"/t/{tenants.A}/api/petitions/{ids[-1]}/duplicates", headers=handler)).get_json()
        return [c for c in body["candidates"] if "collective" in c["reasons"]]

    assert await eventually(flagged, timeout=40, message="the collective flag on the fifth petition")


async def test_frequent_words_and_a_tenant_dictionary(client, tenants, worker, settings):
    handler, admin = await login_token(client, tenants.B, "handler"), await login_token(client, tenants.B, "admin")
    word = marker()
    # A region nobody else's petitions name: the topics ranked are these three, whatever other tests filed in B this week.
    region = f"测试区{word}"
    window = {"days": "7", "region": region}
    for n in range(3):
        await file(client, tenants.B, title=f"{word}住房城乡建设局拖欠工程款{n}", content=f"{word}县住房城乡建设局拖欠学校工程款，农民工工资发不出来。",
                   region=region)
    await found(client, tenants.B, handler, 3, q=word)
    top = await (await client.get(f"/t/{tenants.B}/api/frequent-words", headers=handler, query_string=window)).get_json()
    terms = {t["term"]: t["count"] for t in top["top"]}
    assert terms.get("工程款", 0) >= 3 and top["window"]["days"] == 7
    assert any(r["term"] == "工程款" for r in top["rising"]) or terms["工程款"] <= top["top"][0]["count"]
    saved = await client.put(f"/t/{tenants.B}/api/search-dictionary", headers=admin, json={"words": ["住房城乡建设局", " 住房城乡建设局 "]})
    try:  # the dictionary is B's for every later test: emptied again whatever happens here
        assert saved.status_code == 200 and (await saved.get_json())["words"] == ["住房城乡建设局"]

        async def merged():
            body = await (await client.get(f"/t/{tenants.B}/api/frequent-words", headers=handler, query_string=window)).get_json()
            return any(t["term"] == "住房城乡建设局" and t["count"] >= 3 for t in body["top"])

        assert await eventually(merged, timeout=40, message="the rebuilt index to count the tenant's word as one")
        assert (await client.put(f"/t/{tenants.B}/api/search-dictionary", headers=handler, json={"words": []})).status_code == 403
        page = await client.get(f"/t/{tenants.B}/staff/frequent-words", headers=handler, query_string=window)
        assert page.status_code == 200 and "住房城乡建设局" in await page.get_data(as_text=True)
    finally:
        await client.put(f"/t/{tenants.B}/api/search-dictionary", headers=admin, json={"words": []})


async def test_an_unusable_index_answers_503_and_the_cli_rebuilds_it_with_the_same_counts(client, tenants, worker, settings):
    handler = await login_token(client, tenants.A, "handler")
    word = marker()
    await file(client, tenants.A, title=f"{word}重建测试", content=f"{word}重建索引后仍能检索到。")
    await found(client, tenants.A, handler, 1, q=word)
    tenant = await Tenant.find_one({"slug": tenants.A})
    current = settings.data_dir / "search" / str(tenant.id) / "CURRENT"
    saved = current.read_text()
    current.unlink()
    try:
        status, body = await searched(client, tenants.A, handler, q=word)
        assert status == 503 and body["error"]["code"] == "search_unavailable"
        rebuilt = subprocess.run([sys.executable, "-m", "xinfang", "search", "rebuild", "--tenant", tenants.A], env=child_env(settings),
                                 cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "✓" in rebuilt.stdout and "MISMATCH" not in rebuilt.stdout
    finally:
        if not current.exists():
            current.write_text(saved)
    body = await found(client, tenants.A, handler, 1, q=word)
    assert body["items"][0]["title"].startswith(word)


async def test_a_superuser_searches_every_tenant_with_a_purpose_and_is_audited(client, tenants, worker):
    word = marker()
    await file(client, tenants.A, title=f"{word}甲", content=f"{word}泗阳的一件。")
    await file(client, tenants.B, title=f"{word}乙", content=f"{word}巴州的一件。")
    reviewer = await login_token(client, None, "org-reviewer")
    assert (await client.get("/api/platform/search", headers=reviewer, query_string={"q": word})).status_code == 422

    async def both():
        answer = await client.get("/api/platform/search", headers=reviewer, query_string={"q": word, "purpose": "专项检查 线索汇总"})
        body = await answer.get_json()
        return body if answer.status_code == 200 and {i["tenant"]["slug"] for i in body["items"]} >= {tenants.A, tenants.B} else None

    body = await eventually(both, message="hits in both tenants")
    record = await AuditRecord.find({"action": "cross_tenant.search"}).sort("-seq").first_or_none()
    assert record.purpose == "专项检查 线索汇总" and len(record.tenant_ids) >= 2 and json.dumps(body)
    staff = await login_token(client, tenants.A, "leader")
    assert (await client.get("/api/platform/search", headers=staff, query_string={"q": word, "purpose": "xxxx"})).status_code in (401, 403)


async def test_a_filtered_total_counts_only_what_the_filter_allows_and_a_phrase_spans_a_stop_word(client, tenants, worker):
    word = marker()
    handler = await login_token(client, tenants.A, "handler")
    await file(client, tenants.A, title=f"{word}工资", content=f"{word}学校长期扣发的工资至今没有补发。", category="other")
    for n in range(3):
        await file(client, tenants.A, title=f"{word}其他{n}", content=f"{word}与工资无关的另一件事{n}。")
    await found(client, tenants.A, handler, 4, q=word)
    nothing = await found(client, tenants.A, handler, 0, q=word, channel="visit")
    assert nothing["total"] == 0 and nothing["items"] == []  # all were filed online: the total must not say 4
    one = await found(client, tenants.A, handler, 1, q=word, category="other", page_size=1)
    assert one["total"] == 1 and one["pages"] == 1  # counted after the filter, not before
    phrase = await found(client, tenants.A, handler, 1, q=f'{word} "扣发的工资"')
    assert phrase["total"] == 1 and phrase["items"][0]["title"] == f"{word}工资"
