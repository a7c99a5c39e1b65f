"""Official documents (公文) and archived records (归档记录) in full-text search (issue 17), through the real indexer:
found by a sentence of their text (not only the title), by their 文号 / 归档号; shown with their kind in words and a
link only to those whose role opens that page; never to another tenant; the same after ``xinfang search rebuild``."""

from __future__ import annotations

import subprocess
import sys

from xinfang.tenancy.models import Tenant
from tests.conftest import REPO_ROOT, child_env, eventually, login_token
from tests.test_records import _close
from tests.test_search import file, found, marker, searched


async def _hits(client, slug, headers, q, expected_kind: str | None = None):
    """The documents and records the search API gives beside the petitions (waits for the indexer when a kind is expected)."""
    async def probe():
        status, body = await searched(client, slug, headers, q=q)
        if status != 200:
            return None
        hits = body.get("documents_and_records", [])
        return hits if expected_kind is None or any(h["kind"] == expected_kind for h in hits) else None
    if expected_kind is None:
        return await probe()
    return await eventually(probe, timeout=180, message=f"a {expected_kind} found by {q}")


async def test_documents_and_archived_records_are_searched_by_their_text_per_tenant_and_role(client, tenants, worker, settings):
    a, b = tenants.A, tenants.B
    leader, deputy, handler = [await login_token(client, a, u) for u in ("leader", "deputy", "handler")]
    other_leader = await login_token(client, b, "leader")
    rows = (await (await client.get(f"/t/{a}/api/accounts", headers=leader)).get_json())["accounts"]
    accounts, names = {r["username"]: r["id"] for r in rows}, {r["username"]: r["display_name"] for r in rows}
    word = marker()
    await file(client, a, title=f"{word}索引在", content=f"{word}本单位已有检索索引。")  # the tenant's petition index exists
    await found(client, a, leader, 1, q=word)

    # An incoming document registered from paper, and an outgoing draft: a body sentence finds each (the title lacks it).
    incoming = await client.post(f"/t/{a}/api/documents/incoming", headers=leader, json={
        "kind": "reply", "title": "关于药品价格问题的复函", "body": f"经核查，{word}乡卫生院药品加价销售属实，已责令整改并退还多收款项。",
        "sender_name": "某县卫生健康局", "document_no": f"卫健函〔2026〕{word}号"})
    assert incoming.status_code == 201, await incoming.get_data(as_text=True)
    incoming_id = (await incoming.get_json())["id"]
    draft = await client.post(f"/t/{a}/api/documents", headers=handler, json={
        "kind": "other", "title": "关于核查情况的报告", "body": f"{word}镇敬老院伙食费被挪用一事，经初步核实情况基本属实。",
        "recipients": [{"kind": "department", "name": "县民政局"}, {"kind": "citizen", "name": "张某某"}]})
    assert draft.status_code == 201, await draft.get_data(as_text=True)
    draft_id = (await draft.get_json())["id"]

    hits = await _hits(client, a, leader, f"{word}乡卫生院药品加价销售属实", "document")
    assert [h["id"] for h in hits] == [incoming_id]
    assert hits[0]["kind_words"] == {"zh": "公文", "en": "Official document"} and hits[0]["link"] == f"/t/{a}/staff/documents/{incoming_id}"
    assert "药品加价" in hits[0]["snippet"]
    assert [h["id"] for h in await _hits(client, a, handler, f"卫健函〔2026〕{word}号", "document")] == [incoming_id]  # by its 文号
    assert [h["id"] for h in await _hits(client, a, leader, f"{word}镇敬老院伙食费被挪用", "document")] == [draft_id]
    assert not await _hits(client, a, leader, f"张某某 {word}")  # a citizen recipient's name is not indexed
    # 核稿 and 签发: the issued document is found by the 文号 it was given (event on issue).
    assert (await client.post(f"/t/{a}/api/documents/{draft_id}/review", headers=leader, json={"approve": True})).status_code == 200
    signed = await client.post(f"/t/{a}/api/documents/{draft_id}/sign", headers=deputy)
    assert signed.status_code == 200, await signed.get_data(as_text=True)
    number = (await signed.get_json())["document_no"]
    assert number and [h["id"] for h in await _hits(client, a, leader, number, "document") if h["id"] == draft_id] == [draft_id]
    assert (await client.get(hits[0]["link"], headers=leader)).status_code == 200  # the link opens for this reader

    # A case closed by the leader, archived by the deputy: found by a sentence of its text and by its 归档号.
    filed = await client.post(f"/t/{a}/api/petitions", headers=leader, json={
        "form": "petition", "channel": "letter", "anonymous": True,
        "answers": {"title": "食堂收费问题", "content": f"{word}中学食堂每餐多收两元钱，学生家长意见很大。", "category": "other"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    pid = (await filed.get_json())["id"]
    await _close(pid, accounts["leader"], names["leader"])
    archived = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=deputy)
    assert archived.status_code == 201, await archived.get_data(as_text=True)
    record = await archived.get_json()
    sentence = f"{word}中学食堂每餐多收两元钱"
    by_text = await _hits(client, a, leader, sentence, "record")
    assert [h["id"] for h in by_text if h["kind"] == "record"] == [record["id"]]
    hit = next(h for h in by_text if h["kind"] == "record")
    assert hit["kind_words"]["zh"] == "归档记录" and hit["number"] == record["number"] and hit["link"] == f"/t/{a}/staff/records/{record['id']}"
    # By its number, first (another test's record of this year shares most of a number's pieces and may follow it).
    by_number = await _hits(client, a, leader, record["number"], "record")
    assert by_number and by_number[0]["id"] == record["id"], by_number
    assert all(h.get("number") != record["number"] for h in by_number[1:]), by_number

    # The staff page shows the kind in words and the links.
    page = await (await client.get(f"/t/{a}/staff/search", headers=leader, query_string={"q": sentence})).get_data(as_text=True)
    assert "归档记录" in page and f"/t/{a}/staff/records/{record['id']}" in page

    # A handler may not read the archive (records.read): no record hit, no link to it; documents yes.
    assert not [h for h in await _hits(client, a, handler, sentence) if h["kind"] == "record"]
    page = await (await client.get(f"/t/{a}/staff/search", headers=handler, query_string={"q": sentence})).get_data(as_text=True)
    assert "/staff/records/" not in page and record["number"] not in page
    assert [h["id"] for h in await _hits(client, a, handler, f"{word}乡卫生院药品加价", "document")] == [incoming_id]
    # A tenant admin, whose role reads neither petitions nor documents, gets no search at all.
    admin = await login_token(client, a, "admin")
    assert (await client.get(f"/t/{a}/api/search", headers=admin, query_string={"q": sentence})).status_code == 403

    # The other tenant's staff never see them. (Its own items may match: a record number such as XX-2026-XF-0003 can be
    # its own too, once other tests have archived its cases; what must never appear is this tenant's item.)
    ours = {record["id"], incoming_id, draft_id}
    for q in (sentence, record["number"], f"{word}乡卫生院药品加价销售属实", f"卫健函〔2026〕{word}号"):
        status, body = await searched(client, b, other_leader, q=q)
        assert status in (200, 503), body
        hits = body.get("documents_and_records", []) if status == 200 else []
        assert not [h for h in hits if h["id"] in ours or not h["link"].startswith(f"/t/{b}/")], body
        if q != record["number"]:  # sentences and 文号 made of this test's own word: nothing of the other tenant holds them
            assert hits == [], body

    # A rebuild from the store gives the same hits.
    before = {q: sorted(h["id"] for h in await _hits(client, a, leader, q)) for q in (sentence, record["number"], f"{word}乡卫生院药品加价")}
    tenant = await Tenant.find_one({"slug": a})
    assert (settings.data_dir / "search-items" / str(tenant.id) / "CURRENT").exists()
    rebuilt = subprocess.run([sys.executable, "-m", "xinfang", "search", "rebuild", "--tenant", a], env=child_env(settings),
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "归档记录" in rebuilt.stdout and "MISMATCH" not in rebuilt.stdout
    after = {q: sorted(h["id"] for h in await _hits(client, a, leader, q)) for q in before}
    assert after == before and record["id"] in after[sentence] and incoming_id in after[f"{word}乡卫生院药品加价"]

    # An index of documents never built (a body whose documents predate this release): the next drain builds it whole.
    current = settings.data_dir / "search-items" / str(tenant.id) / "CURRENT"
    current.unlink()
    status, meanwhile = await searched(client, a, leader, q=sentence)
    assert status == 200 and meanwhile["documents_and_records"] == [] and meanwhile["total"] >= 1  # petitions still answer
    await file(client, a, title=f"{word}再建", content=f"{word}触发一次索引。")
    await found(client, a, leader, 2, q=word)
    rebuilt_by_number = await _hits(client, a, leader, record["number"], "record")  # first, as above
    assert rebuilt_by_number and rebuilt_by_number[0]["id"] == record["id"], rebuilt_by_number
    assert all(h.get("number") != record["number"] for h in rebuilt_by_number[1:]), rebuilt_by_number


async def test_a_leader_on_a_phone_sees_a_document_among_the_search_results(live_server, browser, tenants, tmp_path):
    import httpx

    from tests.conftest import PASSWORD
    from tests.login_pages import sign_in

    word = marker()
    async with httpx.AsyncClient(base_url=live_server) as api:
        token = (await api.post(f"/t/{tenants.A}/api/tokens", json={"username": "leader", "password": PASSWORD})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        filed = await api.post(f"/t/{tenants.A}/api/petitions", headers=headers, json={"form": "petition", "channel": "letter", "anonymous": True,
                               "answers": {"title": f"{word}村道损坏", "content": f"{word}村道路面塌陷，雨天无法通行。", "category": "other"}})
        assert filed.status_code == 201, filed.text
        registered = await api.post(f"/t/{tenants.A}/api/documents/incoming", headers=headers, json={
            "kind": "reply", "title": "关于村道维修的复函", "body": f"{word}村道塌陷路段已列入今年维修计划，十二月底前完工。",
            "sender_name": "某县交通运输局", "document_no": "县交函〔2026〕7号"})
        assert registered.status_code == 201, registered.text
        document_id = registered.json()["id"]
    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    for _ in range(150):  # the indexer catches up within seconds
        await page.goto(f"{live_server}/t/{tenants.A}/staff/search?q={word}村道")
        if await page.query_selector("section.search-items li") and await page.query_selector("ol.search-results li[data-id]"):
            break
        await page.wait_for_timeout(300)
    item = await page.query_selector("section.search-items li.search-item-document")
    assert item is not None and "公文" in await item.inner_text() and "县交函〔2026〕7号" in await item.inner_text()
    await page.screenshot(path=str(tmp_path / "search-documents-phone.png"), full_page=True)
    print("screenshot:", tmp_path / "search-documents-phone.png")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # nothing wider than the phone
    await page.click("section.search-items li.search-item-document a")
    # the click returns once the navigation has started: wait for the document's page to load before reading it
    await page.wait_for_url(f"**/t/{tenants.A}/staff/documents/{document_id}", wait_until="load")
    assert "关于村道维修的复函" in await page.inner_text("main")
    await context.close()
