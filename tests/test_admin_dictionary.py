"""The tenant admin's search dictionary page: own words (2-20 characters, no spaces) and own stop words, added and
removed on the page, each change a version; a preview of how a sentence is split; stop words left out of frequent
words and of what a query looks for (so of its highlights)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import do_roll_back_config, list_config_versions, ConfigActor
from xinfang.tenancy.models import Tenant
from xinfang_search import dictionary, querying
from xinfang_search.models import SearchDictionary
from tests.conftest import eventually, login_token
from tests.login_pages import TOKEN, staff_login
from tests.test_search import file, found, marker

ISOLATION_CASES = {
    "search_dictionary_admin.dictionary_page": dict(method="GET", path="/admin/search-dictionary", kind="collection"),
    "search_dictionary_admin.add_word": dict(method="POST", path="/admin/search-dictionary/words", kind="collection", form=True, expect=(422,)),
    "search_dictionary_admin.remove_word": dict(method="POST", path="/admin/search-dictionary/words/removed", kind="collection", form=True,
                                                expect=(422,)),
    "search_dictionary_admin.add_stop_word": dict(method="POST", path="/admin/search-dictionary/stop-words", kind="collection", form=True,
                                                  expect=(422,)),
    "search_dictionary_admin.remove_stop_word": dict(method="POST", path="/admin/search-dictionary/stop-words/removed", kind="collection",
                                                     form=True, expect=(422,)),
}


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
async def bazhou(app, tenants):
    tenant = await Tenant.find_one({"slug": tenants.B})
    yield tenant
    scope = TenantScope(tenant.id)
    row = await scope.repo(SearchDictionary).find_one({})
    if row is not None and (row.words or row.stop_words):
        await dictionary.do_set_dictionary(scope, [], stop_words=[])


async def admin_browser(app, slug: str):
    browser = app.test_client()
    await staff_login(browser, slug, "admin")
    page = await browser.get(f"/t/{slug}/admin/search-dictionary")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200, text[:2000]
    return browser, TOKEN.search(text).group(1)


def test_a_query_leaves_the_tenants_stop_words_out():
    assert querying.spaced_words("学校食堂收费") == "学校 食堂 收费"
    assert querying.spaced_words("学校食堂收费", frozenset({"食堂"})) == "学校 收费"
    assert querying.spaced_words('"学校食堂"', frozenset({"食堂"})).strip() == '"学校食堂"'  # a quoted phrase stays as typed
    assert querying.spaced_words("食堂", frozenset({"食堂"})) == "食堂"  # a query of nothing but a stop word still searches


async def test_words_are_added_checked_removed_and_each_change_is_a_version(app, bazhou):
    browser, token = await admin_browser(app, bazhou.slug)
    scope = TenantScope(bazhou.id)
    before = len(await list_config_versions(scope, "search_dictionary"))
    base = f"/t/{bazhou.slug}/admin/search-dictionary"
    for typed, message in (("中", "2 到 20 个字"), ("城关镇 中心小学", "不能有空格"), ("很" * 21, "2 到 20 个字"), ("", "请填写词语")):
        refused = await browser.post(f"{base}/words", form={"csrf_token": token, "word": typed})
        page = await refused.get_data(as_text=True)
        assert refused.status_code == 422 and re.search(rf'id="word-error" role="alert">[^<]*{message}', page), (typed, text_of(page)[:600])
    added = await browser.post(f"{base}/words", form={"csrf_token": token, "word": "城关镇中心小学"})
    assert added.status_code == 303
    location = urlsplit(added.headers["Location"])
    page = await (await browser.get(location.path, query_string=dict(parse_qsl(location.query)))).get_data(as_text=True)
    assert "已加入词典：城关镇中心小学" in text_of(page)
    # the preview: jieba alone splits the school's name; with the dictionary it is one word
    assert re.search(r'id="split-without">.*?<li class=""[^>]*>城关镇</li><li class=""[^>]*>中心小学</li>', page, re.S)
    assert re.search(r'id="split-with">.*?<li class="own"[^>]*>城关镇中心小学</li>', page, re.S)
    again = await browser.post(f"{base}/words", form={"csrf_token": token, "word": "城关镇中心小学"})
    assert again.status_code == 422 and "已在列表中" in text_of(await again.get_data(as_text=True))
    assert (await browser.post(f"{base}/stop-words", form={"csrf_token": token, "stop_word": "反映"})).status_code == 303
    preview = await (await browser.get(base, query_string={"sentence": "学校收费反映"})).get_data(as_text=True)
    assert re.search(r'<li class=" stop"[^>]*>反映</li>', preview) and re.search(r'<li class=""[^>]*>收费</li>', preview)
    assert (await browser.post(f"{base}/words/removed", form={"csrf_token": token, "word": "城关镇中心小学"})).status_code == 303
    row = await scope.repo(SearchDictionary).find_one({})
    assert row.words == [] and row.stop_words == ["反映"]
    versions = await list_config_versions(scope, "search_dictionary")
    assert len(versions) == before + 3
    assert versions[0].content == {"words": [], "stop_words": ["反映"]} and versions[0].note == "从词典删除：城关镇中心小学"
    assert versions[0].author_name  # who
    await do_roll_back_config(scope, "search_dictionary", versions[1].number, actor=ConfigActor(None, "test"))
    assert (await scope.repo(SearchDictionary).find_one({})).words == ["城关镇中心小学"]  # rolled back through the same writer
    handler = app.test_client()
    await staff_login(handler, bazhou.slug, "handler")
    assert (await handler.get(base)).status_code == 403


async def test_a_stop_word_leaves_frequent_words_and_the_highlights(client, app, bazhou, worker):
    handler = await login_token(client, bazhou.slug, "handler")
    word = marker()
    for n in range(3):
        await file(client, bazhou.slug, title=f"{word}拖欠工程款{n}", content=f"{word}某公司拖欠学校工程款，农民工工资发不出来。")
    await found(client, bazhou.slug, handler, 3, q=word)

    async def top_terms():
        body = await (await client.get(f"/t/{bazhou.slug}/api/frequent-words", headers=handler, query_string={"days": "7"})).get_json()
        return {t["term"] for t in body["top"]}

    assert "工程款" in await eventually(top_terms, message="frequent words counted")
    highlighted = (await found(client, bazhou.slug, handler, 3, q=f"{word} 工程款"))["items"][0]["highlights"]
    assert re.search(r"<mark[^>]*>工程款</mark>", (highlighted["title"] or "") + (highlighted["text"] or ""))

    browser, token = await admin_browser(app, bazhou.slug)
    saved = await browser.post(f"/t/{bazhou.slug}/admin/search-dictionary/stop-words", form={"csrf_token": token, "stop_word": "工程款"})
    assert saved.status_code == 303
    assert "工程款" not in await top_terms()  # at once: no index rebuild needed
    body = await found(client, bazhou.slug, handler, 3, q=f"{word} 工程款")
    highlighted = body["items"][0]["highlights"]
    marked = (highlighted["title"] or "") + (highlighted["text"] or "")
    assert not re.search(r"<mark[^>]*>工程款</mark>", marked) and re.search(rf"<mark[^>]*>{word}</mark>", marked)
