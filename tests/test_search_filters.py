"""Search filters as choices in words: the categories of the tenant's published forms (a report's list of
categories indexed value by value), the workflow's states, channels and kinds; result states in words."""

from __future__ import annotations

import json
import random
import re

from whoosh import index as whoosh_index
from whoosh.fields import ID, Schema

from xinfang_search.index import TenantIndexDir, make_schema
from xinfang_search.choices import category_choices
from xinfang_search.petition_text import categories_of
from tests.conftest import REPO_ROOT, eventually, login_token
from tests.test_petitions import petition_id_of, submitted
from tests.test_search import file, found, marker

TEMPLATES = {key: json.loads((REPO_ROOT / "form_schemas" / f"{key}.v1.json").read_text(encoding="utf-8")) for key in ("petition", "report")}


def test_categories_come_from_the_forms_as_words_for_one_value_or_a_list():
    single, several = category_choices(TEMPLATES["petition"]), category_choices(TEMPLATES["report"])
    assert single["integrity"] == {"zh": "违反廉洁纪律", "en": "Violation of integrity discipline"}
    assert several == single and len(several) == 8  # the report form's list uses the same words
    assert category_choices({"properties": {"category": {"type": "string", "enum": ["教育收费", "招生"]}}}) == {
        "教育收费": {"zh": "教育收费", "en": "教育收费"}, "招生": {"zh": "招生", "en": "招生"}}
    assert category_choices({"properties": {}}) == {}
    assert categories_of({"category": ["integrity", "work", 3, ""]}) == ["integrity", "work"]
    assert categories_of({"category": "other"}) == ["other"] and categories_of({}) == []


def test_an_index_of_an_earlier_schema_is_known_as_outdated(tmp_path):
    index_dir = TenantIndexDir(tmp_path, "t1")
    assert not index_dir.schema_outdated()  # no index yet: nothing to rebuild
    old = make_schema()
    fields = {name: old[name] for name in old.names()} | {"category": ID(stored=True)}  # category as one term, as before
    generation = index_dir.path / "gen-old"
    generation.mkdir(parents=True)
    whoosh_index.create_in(str(generation), Schema(**fields))
    index_dir.switch_to(generation)
    assert index_dir.schema_outdated()
    with index_dir.writer_lock():
        index_dir.new_generation(switch=True)
    assert not index_dir.schema_outdated()


async def file_report(client, slug: str, word: str, categories: list[str]) -> str:
    answers = {"subject": {"kind": "person", "name": "检索被反映人", "unit": "某中学"}, "category": categories,
               "content": f"{word}学校收取补课费，并要求学生购买指定资料。"}
    result = await submitted(client, slug, answers, form="report", anonymous=True,
                             address=f"10.{random.randint(1, 250)}.{random.randint(0, 250)}.7")
    return await petition_id_of(slug, result["number"])


async def test_a_report_is_found_by_each_of_its_categories_and_states_read_as_words(client, tenants, worker):
    word = marker()
    handler = await login_token(client, tenants.A, "handler")
    report = await file_report(client, tenants.A, word, ["integrity", "work"])
    single = await file(client, tenants.A, title=f"{word}食堂", content=f"{word}学校食堂饭菜分量不足。", category="other")
    async def both_indexed():
        # Another test's petition may share the 4-character marker (one in 10,000): wait for these two by id.
        body = await found(client, tenants.A, handler, 2, q=word)
        return body if {report, single} <= {i["id"] for i in body["items"]} else None

    everything = await eventually(both_indexed, timeout=180, message="the report and the single petition indexed")
    by_id = {i["id"]: i for i in everything["items"]}
    assert by_id[report]["categories"] == ["integrity", "work"] and by_id[single]["categories"] == ["other"]
    for category in ("integrity", "work"):
        hits = await found(client, tenants.A, handler, 1, q=word, category=category)
        assert [i["id"] for i in hits["items"]] == [report], category
    assert [i["id"] for i in (await found(client, tenants.A, handler, 1, q=word, category="other"))["items"]] == [single]
    assert (await found(client, tenants.A, handler, 2, q=word, status="registered"))["total"] == 2

    page = await client.get(f"/t/{tenants.A}/staff/search", headers=handler, query_string={"q": word, "category": "work"})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200
    category_select = re.search(r'<select name="category">(.*?)</select>', html, re.S).group(1)
    assert '<option value="work" selected>违反工作纪律</option>' in category_select and "违反廉洁纪律" in category_select
    status_select = re.search(r'<select name="status">(.*?)</select>', html, re.S).group(1)
    assert re.search(r'<option value="registered"\s*>已登记，待受理</option>', status_select)  # the workflow's words
    channel_select = re.search(r'<select name="channel">(.*?)</select>', html, re.S).group(1)
    assert "网上信访" in channel_select and ">online<" not in channel_select
    results = html[html.index('class="search-results"'):]
    assert f'data-id="{report}"' in results and f'data-id="{single}"' not in results
    assert '<span class="state" data-state="registered">已登记，待受理</span>' in results
    assert "违反廉洁纪律 · 违反工作纪律" in re.sub(r"\s+", " ", results)
    english = await (await client.get(f"/t/{tenants.A}/staff/search", headers=handler,
                                      query_string={"q": word, "category": "work", "lang": "en"})).get_data(as_text=True)
    assert "Violation of work discipline" in english and "违反工作纪律" not in english


async def test_the_choices_follow_each_tenant_and_the_page_stays_its_own(client, tenants):
    """Isolation: 巴州's page offers its own forms' categories and shows none of 泗阳's petitions."""
    word = marker()
    await file(client, tenants.A, title=f"{word}隔离", content=f"{word}只在泗阳。", category="integrity")
    handler_b = await login_token(client, tenants.B, "handler")
    page = await client.get(f"/t/{tenants.B}/staff/search", headers=handler_b, query_string={"q": word})
    html = await page.get_data(as_text=True)
    assert page.status_code in (200, 503) and word + "隔离" not in html
    handler_a = await login_token(client, tenants.A, "handler")
    other = await client.get(f"/t/{tenants.B}/staff/search", headers=handler_a, query_string={"q": word})
    assert other.status_code in (401, 403, 404) and word not in await other.get_data(as_text=True)
