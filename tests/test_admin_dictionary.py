"""The tenant admin's search dictionary page: own words (2-20 characters, no spaces) and own stop words, added and
removed on the page, each change a version; a preview of how a sentence is split; stop words left out of frequent
words and of what a query looks for (so of its highlights). Synonym groups: checked, added and changed on the page
without a rebuild, versioned and rolled back, the platform's recommended groups adopted once, carried by the API."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from xinfang.errors import InvalidInput
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import do_roll_back_config, list_config_versions, ConfigActor
from xinfang.tenancy.models import Tenant
from xinfang_search import admin, dictionary, querying
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
    # synonyms: an empty form is refused with a message (the starter list too: nothing ticked)
    "search_dictionary_admin.add_synonyms": dict(method="POST", path="/admin/search-dictionary/synonyms", kind="collection", form=True,
                                                 expect=(422,)),
    "search_dictionary_admin.add_synonym": dict(method="POST", path="/admin/search-dictionary/synonyms/words", kind="collection",
                                                form=True, expect=(422,)),
    "search_dictionary_admin.remove_synonym": dict(method="POST", path="/admin/search-dictionary/synonyms/words/removed", kind="collection",
                                                   form=True, expect=(422,)),
    "search_dictionary_admin.remove_synonyms": dict(method="POST", path="/admin/search-dictionary/synonyms/removed", kind="collection",
                                                    form=True, expect=(422,)),
    "search_dictionary_admin.adopt_starter_synonyms": dict(method="POST", path="/admin/search-dictionary/synonyms/starter", kind="collection",
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
    if row is not None and (row.words or row.stop_words or row.synonyms):
        await dictionary.do_set_dictionary(scope, [], stop_words=[], synonyms=[])


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


# ----------------------------------------------------------------------------- synonyms


def refusal(groups) -> str:
    with pytest.raises(InvalidInput) as refused:
        dictionary.check_synonyms(groups)
    return refused.value.fields["synonyms"]["zh"] + " / " + refused.value.fields["synonyms"]["en"]


def test_synonym_groups_are_checked_with_a_message_that_names_the_group():
    assert dictionary.split_group(" 噪音 噪声、扰民，噪音,吵闹;  ") == ["噪音", "噪声", "扰民", "吵闹"]
    assert dictionary.check_synonyms([[" 噪音", "噪声 ", "噪音"], ["违建", "违章建筑"]]) == [["噪音", "噪声"], ["违建", "违章建筑"]]
    assert "2 到 10 个不同的词：噪音" in refusal([["噪音", "噪音"]])
    assert "2 to 10" in refusal([[f"词{n}" for n in range(11)]])
    assert "最多 20 个字" in refusal([["噪音", "很" * 21]])
    assert "不能有空格" in refusal([["噪音", "噪 声"]])
    message = refusal([["噪音", "噪声"], ["扰民", "噪声"]])
    assert "“噪声”已在另一组同义词中（噪音 = 噪声）" in message and "is already in another group" in message
    assert "另一组" in refusal([["WiFi", "无线网"], ["wifi", "无线网络"]])  # as a query compares them: ignoring case
    assert "500" in refusal([[f"甲{n}", f"乙{n}"] for n in range(501)])
    assert "若干" in refusal([["噪音", 3]]) and "若干" in refusal("噪音 噪声")
    # the import's check says the same, at "synonyms"
    assert "另一组" in admin._check(None, "search_dictionary", {"words": [], "synonyms": [["甲乙", "丙丁"], ["丙丁", "戊己"]]})["synonyms"]["zh"]
    assert admin._check(None, "search_dictionary", {"words": [], "stop_words": [], "synonyms": [["噪音", "噪声"]]}) == {}
    assert admin._path_label("synonyms[3]", "zh") == "第 3 组同义词" and admin._path_label("stop_words", "en") == "stop words of this body"


def test_the_starter_list_is_valid_and_adopting_it_twice_adds_nothing_the_second_time():
    starter = dictionary.starter_synonyms()
    assert 30 <= len(starter) <= 80 and ("噪音", "噪声") in starter and ("违建", "违章建筑", "违法建筑", "违章搭建") in starter
    mine = [["噪音", "吵闹"], ["欠薪", "讨薪", "拖欠工资", "欠工资"], ["城管", "执法队"]]
    adopted, added = dictionary.with_starter(mine)
    assert adopted[0] == ["噪音", "吵闹", "噪声"]  # the one group it overlaps gains the words it lacks
    assert adopted[1] == mine[1] and adopted[2] == ["城管", "执法队", "城管局", "城市管理局"]
    assert len(adopted) == 3 + len(starter) - 3 and len(added) == len(starter) - 1  # 欠薪's group had all of its words
    dictionary.check_synonyms(adopted)  # still no word in two groups
    again, added_again = dictionary.with_starter(adopted)
    assert again == adopted and added_again == [] and dictionary.starter_not_adopted(adopted) == []
    only, added = dictionary.with_starter([], {("噪音", "噪声")})
    assert only == [["噪音", "噪声"]] and len(dictionary.starter_not_adopted(only)) == len(starter) - 1


def test_the_try_it_box_says_what_a_search_also_finds():
    groups = [["噪音", "噪声", "扰民"], ["违建", "违章建筑"]]
    assert admin.synonym_tryout("噪音", groups, frozenset()) == [{"word": "噪音", "also": ["噪声", "扰民"]}]
    assert admin.synonym_tryout("违章建筑", groups, frozenset()) == [{"word": "违章建筑", "also": ["违建"]}]
    assert admin.synonym_tryout("小区噪音和违建", groups, frozenset()) == [{"word": "噪音", "also": ["噪声", "扰民"]},
                                                                      {"word": "违建", "also": ["违章建筑"]}]
    assert admin.synonym_tryout("食堂", groups, frozenset()) == []
    assert admin.synonym_tryout("违章 建筑", groups, frozenset()) == [{"word": "违章建筑", "also": ["违建"]}]  # joined as a query joins them
    assert admin.synonym_tryout("噪聲", groups, frozenset())[0]["also"] == ["噪音", "扰民"]  # folded as a query folds them
    assert "另一组" in refusal([["噪声", "噪音"], ["噪聲", "吵闹"]])


async def follow(browser, response) -> str:
    assert response.status_code == 303, text_of(await response.get_data(as_text=True))[:600]
    location = urlsplit(response.headers["Location"])
    return await (await browser.get(location.path, query_string=dict(parse_qsl(location.query)))).get_data(as_text=True)


async def test_synonyms_are_added_changed_and_removed_on_the_page_each_a_version_without_a_rebuild(app, bazhou, monkeypatch):
    rebuilds = []

    async def count_rebuild(tenant_id):
        rebuilds.append(tenant_id)

    monkeypatch.setattr(admin, "send_rebuild", count_rebuild)
    browser, token = await admin_browser(app, bazhou.slug)
    scope = TenantScope(bazhou.id)
    base = f"/t/{bazhou.slug}/admin/search-dictionary"
    before = len(await list_config_versions(scope, "search_dictionary"))
    page = text_of(await (await browser.get(base)).get_data(as_text=True))
    assert "还没有同义词" in page and f"采用推荐同义词（{len(dictionary.starter_synonyms())} 组）" in page

    for typed, message in (("噪音", "至少要有两个不同的词"), ("", "请填写两个或更多"), ("甲 乙 丙 丁 戊 己 庚 辛 壬 癸 子", "2 到 10 个不同的词")):
        refused = await browser.post(f"{base}/synonyms", form={"csrf_token": token, "group": typed})
        shown = await refused.get_data(as_text=True)
        assert refused.status_code == 422 and re.search(rf'id="group-error" role="alert">[^<]*{message}', shown), (typed, text_of(shown)[:600])
    page = await follow(browser, await browser.post(f"{base}/synonyms", form={"csrf_token": token, "group": "噪音，噪声、扰民"}))
    assert "已加入同义词：噪音 = 噪声 = 扰民" in text_of(page)
    assert re.search(r'id="synonym-group-1">.*?<li>噪音.*?=</li><li>噪声.*?=</li><li>扰民', page, re.S)  # chips: 噪音 = 噪声 = 扰民
    clash = await browser.post(f"{base}/synonyms", form={"csrf_token": token, "group": "吵闹 噪声"})
    assert clash.status_code == 422 and "“噪声”已在另一组同义词中（噪音 = 噪声 = 扰民）" in text_of(await clash.get_data(as_text=True))
    await follow(browser, await browser.post(f"{base}/synonyms", form={"csrf_token": token, "group": "违建 违章建筑"}))
    page = await follow(browser, await browser.post(f"{base}/synonyms/words", form={"csrf_token": token, "in_group": "违建", "synonym": "违法建筑"}))
    assert "已加入同义词：违法建筑（违建 = 违章建筑 = 违法建筑）" in text_of(page)
    taken = await browser.post(f"{base}/synonyms/words", form={"csrf_token": token, "in_group": "违建", "synonym": "扰民"})
    shown = await taken.get_data(as_text=True)
    assert taken.status_code == 422 and re.search(r'id="synonym-error" role="alert">[^<]*“扰民”已在另一组', shown)
    assert re.search(r'id="synonym-group-2">.*?aria-invalid="true"', shown, re.S)  # at the group it was typed for
    await follow(browser, await browser.post(f"{base}/synonyms/words/removed", form={"csrf_token": token, "synonym": "扰民"}))
    tried = text_of(await (await browser.get(base, query_string={"try_word": "噪声"})).get_data(as_text=True))
    assert "检索“噪声”时也找：噪音" in tried
    english = text_of(await (await browser.get(base, query_string={"try_word": "噪声", "lang": "en"})).get_data(as_text=True))
    assert "A search for “噪声” also finds: 噪音" in english and "Synonyms (2 groups)" in english
    await browser.get(base, query_string={"lang": "zh"})  # the language sticks: back to Chinese for the rest
    row = await scope.repo(SearchDictionary).find_one({})
    assert row.synonyms == [["噪音", "噪声"], ["违建", "违章建筑", "违法建筑"]]
    assert await dictionary.tenant_synonyms(bazhou.id) == (("噪音", "噪声"), ("违建", "违章建筑", "违法建筑"))  # the cache was dropped
    versions = await list_config_versions(scope, "search_dictionary")
    assert len(versions) == before + 4 and versions[0].note == "删除同义词：扰民"
    assert versions[0].content == {"words": [], "stop_words": [], "synonyms": [["噪音", "噪声"], ["违建", "违章建筑", "违法建筑"]]}

    # the recommended groups: ticking none is refused; adopting adds the words not yet in a group; a second time nothing
    nothing = await browser.post(f"{base}/synonyms/starter", form={"csrf_token": token})
    assert nothing.status_code == 422 and "请至少勾选一组" in text_of(await nothing.get_data(as_text=True))
    everything = [" ".join(g) for g in dictionary.starter_synonyms()]
    ticked = dict(headers={"Content-Type": "application/x-www-form-urlencoded"},  # every box, as the page ticks them
                  data=urlencode([("csrf_token", token)] + [("starter", g) for g in everything]))
    page = await follow(browser, await browser.post(f"{base}/synonyms/starter", **ticked))
    row = await scope.repo(SearchDictionary).find_one({})
    assert row.synonyms[:2] == [["噪音", "噪声"], ["违建", "违章建筑", "违法建筑", "违章搭建"]] and len(row.synonyms) == len(everything)
    assert f"新增或补充 {len(everything) - 1} 组" in text_of(page) and "推荐同义词都已采用" in text_of(page)
    again = await browser.post(f"{base}/synonyms/starter", **ticked)
    assert again.status_code == 422 and "都已在本单位的同义词中" in text_of(await again.get_data(as_text=True))
    assert (await scope.repo(SearchDictionary).find_one({})).synonyms == row.synonyms

    page = await follow(browser, await browser.post(f"{base}/synonyms/removed", form={"csrf_token": token, "in_group": "噪声"}))
    assert "已删除这组同义词：噪音 = 噪声" in text_of(page)
    page = await follow(browser, await browser.post(f"{base}/synonyms/words/removed", form={"csrf_token": token, "synonym": "社会保险"}))
    assert "已从同义词删除：社会保险（社保）。这组只剩一个词，已一并删除。" in text_of(page)
    assert dictionary.group_of("社保", (await scope.repo(SearchDictionary).find_one({})).synonyms) is None
    versions = await list_config_versions(scope, "search_dictionary")
    await do_roll_back_config(scope, "search_dictionary", versions[3].number, actor=ConfigActor(None, "test"))  # before the adoption
    assert (await scope.repo(SearchDictionary).find_one({})).synonyms == [["噪音", "噪声"], ["违建", "违章建筑", "违法建筑"]]
    assert rebuilds == []  # synonyms apply to queries as they are read: no change of theirs rebuilt the index
    handler = app.test_client()
    await staff_login(handler, bazhou.slug, "handler")
    handler_token = TOKEN.search(await (await handler.get(f"/t/{bazhou.slug}/staff/search")).get_data(as_text=True)).group(1)
    assert (await handler.post(f"{base}/synonyms", form={"csrf_token": handler_token, "group": "甲乙 丙丁"})).status_code == 403


async def test_the_api_carries_synonyms_and_keeps_them_when_a_put_leaves_them_out(client, bazhou):
    admin_token = await login_token(client, bazhou.slug, "admin")
    url = f"/t/{bazhou.slug}/api/search-dictionary"
    saved = await client.put(url, headers=admin_token, json={"words": [], "synonyms": [["噪音", "噪声"], [" 违建", "违章建筑"]]})
    assert saved.status_code == 200 and await saved.get_json() == {"words": [], "stop_words": [], "synonyms": [["噪音", "噪声"], ["违建", "违章建筑"]],
                                                                    "rebuilding": False}
    kept = await (await client.put(url, headers=admin_token, json={"words": [], "stop_words": ["情况"]})).get_json()
    assert kept["synonyms"] == [["噪音", "噪声"], ["违建", "违章建筑"]] and kept["rebuilding"] is False
    handler = await login_token(client, bazhou.slug, "handler")
    assert (await (await client.get(url, headers=handler)).get_json())["synonyms"] == [["噪音", "噪声"], ["违建", "违章建筑"]]
    refused = await client.put(url, headers=admin_token, json={"words": [], "synonyms": [["噪音", "噪声"], ["噪声", "扰民"]]})
    assert refused.status_code == 422 and "另一组" in json.dumps(await refused.get_json(), ensure_ascii=False)
    assert (await client.put(url, headers=handler, json={"words": [], "synonyms": []})).status_code == 403
    exported = await (await client.get(f"/t/{bazhou.slug}/api/config-exchange/export", headers=admin_token)).get_json()
    assert exported["areas"]["search_dictionary"]["synonyms"] == [["噪音", "噪声"], ["违建", "违章建筑"]]
    cleared = await (await client.put(url, headers=admin_token, json={"words": [], "stop_words": [], "synonyms": []})).get_json()
    assert cleared["synonyms"] == []
