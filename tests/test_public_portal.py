"""The integrity portal (廉政监督网): publishing with a second person's approval, the public pages (escaped,
cacheable), policy search, suggestions with replies, the theme, and tenant isolation of all of it."""

from __future__ import annotations

import re
import struct
import time
import uuid
import zlib

import pytest

from tests.conftest import in_one_window, login_token

ISOLATION_CASES = {
    # public pages: only published items of the tenant in the URL (isolation of content: tests below)
    "public_portal.home": {"method": "GET", "path": "/integrity/", "kind": "public"},
    "public_portal.section_page": {"method": "GET", "path": "/integrity/policies/?q=%E4%BF%A1%E8%AE%BF", "kind": "public"},
    "public_portal.item_page": {"method": "GET", "path": "/integrity/notices/0123456789abcdef01234567", "kind": "public"},
    "public_portal.suggestion_form": {"method": "GET", "path": "/integrity/suggestions/new", "kind": "public"},
    "public_portal.suggestion_submit": {"method": "POST", "path": "/integrity/suggestions/new", "kind": "public"},
    "public_portal.logo": {"method": "GET", "path": "/integrity/logo/" + "0" * 64, "kind": "public"},
    # staff publishing
    "portal_console.items_page": {"method": "GET", "path": "/staff/portal/", "kind": "collection"},
    "portal_console.new_item_page": {"method": "GET", "path": "/staff/portal/new?kind=policy", "kind": "collection"},
    "portal_console.create_item_submit": {"method": "POST", "path": "/staff/portal/new", "kind": "collection", "form": True,
                                          "body": {"kind": "notice", "title": "", "body": ""}, "expect": (422,)},
    "portal_console.item_page": {"method": "GET", "path": "/staff/portal/items/{id}", "kind": "object", "owner_object": "petition"},
    "portal_console.edit_item_submit": {"method": "POST", "path": "/staff/portal/items/{id}", "kind": "object", "form": True,
                                        "owner_object": "petition", "body": {"title": "隔离", "body": "隔离"}},
    "portal_console.submit_item": {"method": "POST", "path": "/staff/portal/items/{id}/submit", "kind": "object", "form": True,
                                   "owner_object": "petition"},
    "portal_console.approve_item": {"method": "POST", "path": "/staff/portal/items/{id}/approve", "kind": "object", "form": True,
                                    "owner_object": "petition"},
    "portal_console.return_item": {"method": "POST", "path": "/staff/portal/items/{id}/return", "kind": "object", "form": True,
                                   "owner_object": "petition", "body": {"note": "隔离"}},
    "portal_console.unpublish_item": {"method": "POST", "path": "/staff/portal/items/{id}/unpublish", "kind": "object", "form": True,
                                      "owner_object": "petition", "body": {"note": "隔离"}},
    "portal_console.suggestions_page": {"method": "GET", "path": "/staff/portal/suggestions", "kind": "collection"},
    "portal_console.take_up_suggestion": {"method": "POST", "path": "/staff/portal/suggestions/{id}/take-up", "kind": "object",
                                          "form": True, "owner_object": "petition"},
    # files of publications (PDF, images): the staff's upload, removal and preview, and the public file of a public item
    "portal_console.add_file_submit": {"method": "POST", "path": "/staff/portal/items/{id}/files", "kind": "object", "form": True,
                                       "owner_object": "petition", "body": {"description": "隔离"}},
    "portal_console.remove_file_submit": {"method": "POST", "path": "/staff/portal/items/{id}/files/{id}/remove", "kind": "object",
                                          "form": True, "owner_object": "petition"},
    "portal_console.file_download": {"method": "GET", "path": "/staff/portal/items/{id}/files/{id}", "kind": "object", "owner_object": "petition"},
    "public_portal.file_page": {"method": "GET", "path": "/integrity/notices/0123456789abcdef01234567/files/0123456789abcdef01234567",
                                "kind": "public"},
    "portal_console.theme_page": {"method": "GET", "path": "/admin/portal-theme", "kind": "collection"},
    "portal_console.theme_submit": {"method": "POST", "path": "/admin/portal-theme", "kind": "collection", "form": True,
                                    "body": {"primary": "#ffff00", "accent": "#1d4f91"}, "expect": (422,)},
}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def draft(client, slug: str, headers: dict, kind: str, title: str, body: str, **extra) -> str:
    """A draft written over the console's form (a bearer token: no CSRF); its id from the redirect."""
    created = await client.post(f"/t/{slug}/staff/portal/new", headers=headers, form={"kind": kind, "title": title, "body": body, **extra})
    assert created.status_code == 302, await created.get_data(as_text=True)
    return created.headers["Location"].rstrip("/").rsplit("/", 1)[-1].split("?")[0]


async def publish(client, slug: str, kind: str, title: str, body: str, **extra) -> str:
    """Written and sent by the leader, approved by the deputy: public."""
    leader, deputy = await login_token(client, slug, "leader"), await login_token(client, slug, "deputy")
    item = await draft(client, slug, leader, kind, title, body, **extra)
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=leader, form={})).status_code == 302
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=deputy, form={})).status_code == 302
    return item


async def test_a_draft_goes_public_only_with_another_persons_approval(client, tenants):
    from xinfang.audit.models import AuditRecord

    slug = tenants.A
    leader, deputy, handler = [await login_token(client, slug, name) for name in ("leader", "deputy", "handler")]
    title = unique("关于开展作风建设专项检查的通知")
    item = await draft(client, slug, handler, "notice", title, "第一段。\n第二段：请各校于月底前自查。")
    public_url = f"/t/{slug}/integrity/notices/{item}"
    assert (await client.get(public_url)).status_code == 404  # a draft is not public
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=leader, form={})).status_code == 409  # not sent yet
    # a handler may write and send, but not approve
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=handler, form={})).status_code == 302
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=handler, form={})).status_code == 403
    # the leader returns it; the leader then edits it, sends it, and may not approve it: it is now their own work
    returned = await client.post(f"/t/{slug}/staff/portal/items/{item}/return", headers=leader, form={"note": "请补充时间"})
    assert returned.status_code == 302
    edited = await client.post(f"/t/{slug}/staff/portal/items/{item}", headers=leader, form={"title": title, "body": "第一段。\n请各校于11月30日前自查。"})
    assert edited.status_code == 302
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=leader, form={})).status_code == 302
    own = await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=leader, form={})
    assert own.status_code == 403
    assert "不能审核自己" in await own.get_data(as_text=True)
    assert (await client.get(public_url)).status_code == 404
    approved = await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=deputy, form={})
    assert approved.status_code == 302
    page = await client.get(public_url)
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and title in text and "<p>请各校于11月30日前自查。</p>" in text
    assert title in await (await client.get(f"/t/{slug}/integrity/")).get_data(as_text=True)
    # withdrawn: gone from the public pages at once, and needs a reason
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/unpublish", headers=deputy, form={"note": ""})).status_code == 422
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/unpublish", headers=deputy, form={"note": "已过期"})).status_code == 302
    assert (await client.get(public_url)).status_code == 404
    actions = [r.action async for r in AuditRecord.find({"subject": item}).sort("seq")]
    assert actions == ["portal.draft", "portal.submit", "portal.return", "portal.edit", "portal.submit", "portal.publish", "portal.unpublish"]
    history = await (await client.get(f"/t/{slug}/staff/portal/items/{item}", headers=deputy)).get_data(as_text=True)
    assert "审核发布" in history and "已过期" in history


async def test_published_text_is_escaped_and_plain(client, tenants):
    slug = tenants.A
    title = unique("<script>alert(1)</script>通报")
    item = await publish(client, slug, "case", title, '<img src=x onerror="alert(1)">某校违规收费问题\n<b>粗体</b>', source="某中学")
    text = await (await client.get(f"/t/{slug}/integrity/cases/{item}")).get_data(as_text=True)
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&lt;b&gt;粗体&lt;/b&gt;" in text


async def test_public_pages_are_cacheable_with_an_etag(client, tenants):
    url = f"/t/{tenants.A}/integrity/notices/"
    first = await client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60" and "Cookie" in first.headers["Vary"]
    etag = first.headers["ETag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and await again.get_data() == b""
    assert re.fullmatch(r"render;dur=[0-9.]+", first.headers["Server-Timing"])
    form = await client.get(f"/t/{tenants.A}/integrity/suggestions/new")
    assert form.headers["Cache-Control"] == "no-store"  # carries a CSRF token
    missing = await client.get(f"/t/{tenants.A}/integrity/nonsense/")
    assert missing.status_code == 404  # and its way back is to the integrity portal, not the petition portal beside it
    assert f'href="/t/{tenants.A}/integrity/">返回廉政监督网首页</a>' in await missing.get_data(as_text=True)
    assert (await client.get(f"/t/{tenants.A}/integrity/notices/?page=abc")).status_code == 200  # a bad page number: the first


async def test_policy_search_finds_a_word_inside_the_body(client, tenants):
    slug = tenants.A
    word = "校外培训机构" + uuid.uuid4().hex[:4]
    title = unique("中小学规范办学行为若干规定")
    body = "第一条 为规范办学行为，制定本规定。\n" + "第二条 学校不得组织学生参加任何收费补课。" * 20 + f"\n第九条 严禁教师在{word}兼职取酬。"
    item = await publish(client, slug, "policy", title, body, source="泗教发〔2026〕12号")
    started = time.perf_counter()
    found = await client.get(f"/t/{slug}/integrity/policies/", query_string={"q": word})
    took = (time.perf_counter() - started) * 1000
    text = await found.get_data(as_text=True)
    assert found.status_code == 200 and title in text and f"<mark>{word.lower()}</mark>" in text.lower()
    assert f"/integrity/policies/{item}" in text
    two_words = await (await client.get(f"/t/{slug}/integrity/policies/", query_string={"q": f"收费补课 {word}"})).get_data(as_text=True)
    assert title in two_words
    missing = await (await client.get(f"/t/{slug}/integrity/policies/", query_string={"q": f"{word} 无此词组{uuid.uuid4().hex[:6]}"})).get_data(as_text=True)
    assert title not in missing and "没有找到" in missing
    print(f"policy search over the tenant's policies: {took:.1f} ms for the whole page")


async def test_a_suggestion_is_published_with_a_reply_and_never_with_the_name(client, tenants):
    from xinfang.public_portal.models import Suggestion
    from tests.staffing import tenant_scope

    slug = tenants.A
    form = await client.get(f"/t/{slug}/integrity/suggestions/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.get_data(as_text=True)).group(1)
    title = unique("建议公开学校食堂账目")
    sent = await client.post(f"/t/{slug}/integrity/suggestions/new", form={
        "csrf_token": token, "title": title, "text": "希望每月公布食堂收支。", "name": "张建议", "contact": "13800000000"})
    assert sent.status_code == 201
    stale = await client.post(f"/t/{slug}/integrity/suggestions/new", form={"csrf_token": "wrong", "title": "x", "text": "y"})
    assert stale.status_code == 403
    empty = await client.post(f"/t/{slug}/integrity/suggestions/new", form={"csrf_token": token, "title": "", "text": ""})
    empty_html = await empty.get_data(as_text=True)
    assert empty.status_code == 422 and "请填写标题" in empty_html
    assert "请修改标出的内容后再提交" in empty_html and "字段" not in empty_html  # a citizen's words, not "请检查标出的字段"
    suggestion = await (await tenant_scope(slug)).repo(Suggestion).find_one({"title": title})
    handler, deputy = await login_token(client, slug, "handler"), await login_token(client, slug, "deputy")
    assert title in await (await client.get(f"/t/{slug}/staff/portal/suggestions", headers=handler)).get_data(as_text=True)
    taken = await client.post(f"/t/{slug}/staff/portal/suggestions/{suggestion.id}/take-up", headers=handler, form={})
    item = taken.headers["Location"].rsplit("/", 1)[-1]
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=handler, form={})).status_code == 422  # no reply yet
    await client.post(f"/t/{slug}/staff/portal/items/{item}", headers=handler, form={"title": title, "body": "希望每月公布食堂收支。",
                                                                                    "reply": "已要求各校自下月起每月公示。"})
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=handler, form={})).status_code == 302
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=deputy, form={})).status_code == 302
    page = await (await client.get(f"/t/{slug}/integrity/suggestions/{item}")).get_data(as_text=True)
    assert "已要求各校自下月起每月公示。" in page and "张建议" not in page and "13800000000" not in page


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


async def test_the_tenant_admin_sets_the_theme_within_limits(client, tenants):
    from xinfang.public_portal.theme import Theme, do_set_portal_theme
    from xinfang.tenancy.config_versions import BUNDLE_ACTOR
    from tests.staffing import tenant_scope

    slug = tenants.B
    admin = await login_token(client, slug, "admin")
    assert (await client.get(f"/t/{slug}/admin/portal-theme", headers=await login_token(client, slug, "leader"))).status_code == 403
    pale = await client.post(f"/t/{slug}/admin/portal-theme", headers=admin, form={"primary": "#ffd700", "accent": "#1d4f91"})
    assert pale.status_code == 422 and "对比度" in await pale.get_data(as_text=True)
    svg = await client.post(f"/t/{slug}/admin/portal-theme", headers=admin, form={"primary": "#1a5e20", "accent": "#1d4f91"},
                            files={"logo": _file("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")})
    assert svg.status_code == 422 and "PNG 或 JPEG" in await svg.get_data(as_text=True)
    huge = await client.post(f"/t/{slug}/admin/portal-theme", headers=admin, form={"primary": "#1a5e20", "accent": "#1d4f91"},
                             files={"logo": _file("big.png", png(2000, 10))})
    assert huge.status_code == 422
    name = unique("巴州廉政网")
    saved = await client.post(f"/t/{slug}/admin/portal-theme", headers=admin,
                              form={"name_zh": name, "name_en": "Bazhou integrity", "primary": "#1A5E20", "accent": "#1d4f91"},
                              files={"logo": _file("logo.png", png(64, 64))})
    assert saved.status_code == 302, await saved.get_data(as_text=True)
    home = await (await client.get(f"/t/{slug}/integrity/")).get_data(as_text=True)
    assert name in home and "--brand: #1a5e20" in home
    logo_url = re.search(r'src="(/t/[^"]+/integrity/logo/[0-9a-f]{64})"', home).group(1)
    logo = await client.get(logo_url)
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png" and "immutable" in logo.headers["Cache-Control"]
    assert (await client.get(logo_url.replace(f"/t/{slug}/", f"/t/{tenants.A}/"))).status_code == 404  # B's logo is not A's
    # B's theme imported into A (configuration exchange): applied without the logo A does not hold, not refused
    from xinfang.public_portal.theme import portal_theme
    from xinfang.tenancy.config_versions import config_area, latest_config_version

    exported = (await latest_config_version(await tenant_scope(slug), "portal_theme")).content
    assert exported["logo"]
    scope_a = await tenant_scope(tenants.A)
    await config_area("portal_theme").apply(scope_a, exported, BUNDLE_ACTOR, "import")
    imported = await portal_theme(scope_a)
    assert imported.display_name.zh == name and imported.logo == ""
    await do_set_portal_theme(scope_a, Theme().model_dump(), BUNDLE_ACTOR)
    await do_set_portal_theme(await tenant_scope(slug), Theme().model_dump(), BUNDLE_ACTOR)  # back to the defaults for other tests


def _file(name: str, data: bytes):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    return FileStorage(BytesIO(data), filename=name, content_type="image/png")


async def test_one_tenants_items_stay_out_of_the_other_tenants_portal_and_console(client, tenants):
    a_title, b_draft_title = unique("泗阳通知"), unique("巴州草稿")
    a_item = await publish(client, tenants.A, "policy", a_title, f"{a_title} 正文：信访监督工作规则。")
    b_leader = await login_token(client, tenants.B, "leader")
    b_item = await draft(client, tenants.B, b_leader, "notice", b_draft_title, "巴州的草稿正文")
    a_leader, a_deputy = await login_token(client, tenants.A, "leader"), await login_token(client, tenants.A, "deputy")
    # A's staff: B's draft is a plain 404 under A's URL, refused under B's URL, absent from A's list
    for path in (f"/staff/portal/items/{b_item}", f"/staff/portal/items/{b_item}/approve"):
        method = client.get if path.endswith(b_item) else client.post
        mine = await method(f"/t/{tenants.A}{path}", headers=a_deputy)
        assert mine.status_code == 404 and b_draft_title not in await mine.get_data(as_text=True)
        theirs = await method(f"/t/{tenants.B}{path}", headers=a_deputy)
        assert theirs.status_code in (401, 403) and b_draft_title not in await theirs.get_data(as_text=True)
    assert b_draft_title not in await (await client.get(f"/t/{tenants.A}/staff/portal/", headers=a_leader)).get_data(as_text=True)
    # B's public pages: none of A's items, by list, by search or by id
    for url in ("/integrity/", "/integrity/policies/"):
        text = await (await client.get(f"/t/{tenants.B}{url}")).get_data(as_text=True)
        assert a_title not in text and a_item not in text
    searched = await (await client.get(f"/t/{tenants.B}/integrity/policies/", query_string={"q": a_title})).get_data(as_text=True)
    assert a_item not in searched and "找到 0 篇" in searched  # the query is echoed, nothing is found
    assert (await client.get(f"/t/{tenants.B}/integrity/policies/{a_item}")).status_code == 404
    assert a_title in await (await client.get(f"/t/{tenants.A}/integrity/policies/", query_string={"q": a_title})).get_data(as_text=True)


PHRASES = ("信访监督", "廉洁自律", "党风廉政建设", "违规收费", "公务用车", "诫勉谈话", "整改通知书", "书面说明", "组织人事部门",
           "学校食堂", "校外培训", "师德师风", "专项检查", "问责", "纪律处分", "民主生活会", "通报批评", "限期整改", "回访", "举报",
           "第一条", "第二条", "本办法", "应当", "不得", "依照", "有关规定", "工作日", "责任人", "监督检查")


async def test_policy_search_speed_over_a_hundred_documents(app, tenants):
    """Measured, not a benchmark: 100 policies of about 2,000 characters each, 30 searches; the figures are printed."""
    import random
    import statistics

    from xinfang.public_portal import text
    from xinfang.public_portal.models import Publication
    from xinfang.public_portal.queries import Searched, search_policies
    from xinfang.store.documents import utcnow
    from tests.staffing import tenant_scope

    scope = await tenant_scope(tenants.B)
    rng = random.Random(15)
    batch = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    rows = []
    for n in range(100):
        body = "。".join("".join(rng.choice(PHRASES) for _ in range(6)) for _ in range(60))
        title = f"测速规定{batch}第{n}号"
        rows.append(Publication(tenant_id=scope.tenant_id, kind="policy", title=title, body=body, state="published", author_id="speed",
                                published_at=utcnow(), terms=text.search_terms(title, "", body)))
    await Publication.insert_many(rows)
    indexed = (time.perf_counter() - started) * 1000
    try:
        timings, counts, each = [], [], {}
        for query in ("诫勉谈话", "学校食堂 违规收费", "限期整改回访", "师德", f"{batch}第7号", "不存在的词语组合"):
            for _ in range(5):
                started = time.perf_counter()
                hits = await search_policies(scope, query)
                timings.append((time.perf_counter() - started) * 1000)
            counts.append((query, len(hits)))
            each[query] = round(statistics.median(timings[-5:]), 1)
        scan = []  # for comparison: no index, every public policy's text read and searched
        for _ in range(5):
            started = time.perf_counter()
            every = await scope.repo(Publication).find({"kind": "policy", "state": "published"}).project(Searched).to_list()
            [r for r in every if "诫勉谈话" in text.fold(r.body)]
            scan.append((time.perf_counter() - started) * 1000)
        print(f"reading and scanning all {len(every)} public policies instead: p50 {statistics.median(scan):.1f} ms")
        assert dict(counts)[f"{batch}第7号"] == 1 and dict(counts)["不存在的词语组合"] == 0 and dict(counts)["诫勉谈话"] == 50  # capped at 50
        print(f"policy search, 100 documents of ~2,000 characters: stored in {indexed:.0f} ms; "
              f"query p50 {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms; hits {counts}; ms by query {each}")
        assert statistics.median(timings) < 1000
    finally:
        await scope.repo(Publication).delete_many({"author_id": "speed"})


async def test_suggestions_are_limited_per_address_but_corrections_do_not_count(client, tenants):
    slug = tenants.B
    form = await client.get(f"/t/{slug}/integrity/suggestions/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.get_data(as_text=True)).group(1)
    for _ in range(3):  # a citizen getting the form wrong is told so, not counted
        assert (await client.post(f"/t/{slug}/integrity/suggestions/new", form={"csrf_token": token, "title": "", "text": ""})).status_code == 422
    await in_one_window(3600)  # suggestions are counted an hour at a time
    answers = [(await client.post(f"/t/{slug}/integrity/suggestions/new", form={
        "csrf_token": token, "title": unique("限流测试"), "text": "建议内容"})).status_code for _ in range(6)]
    assert answers == [201] * 5 + [429]


async def test_a_step_taken_on_a_stale_copy_is_refused_not_written_over_a_newer_change(client, tenants):
    """Two people at once: an approver's page was read while the item was pending; meanwhile a colleague returned
    it and its author changed it. The late approval is a 409; the return, the change and their history stand."""
    from xinfang.auth.principal import Principal
    from xinfang.errors import Conflict
    from xinfang.public_portal import service
    from xinfang.public_portal.models import Publication
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant

    tenant = await Tenant.find_one({"slug": tenants.A})
    scope = TenantScope(str(tenant.id))

    def person(name: str) -> Principal:
        return Principal(account_id=uuid.uuid4().hex[:24], username=name, tenant_id=scope.tenant_id, permissions=frozenset(), via="token",
                         display_name=name)

    author, approver, colleague = person("author"), person("approver"), person("colleague")
    title = unique("并发审核")
    row = await service.do_create_publication(scope, author, "notice", {"title": title, "body": "第一稿"})
    await service.do_submit_publication(scope, row, author)
    stale = await service.access_publication(scope, str(row.id))  # the approver's copy, read while pending
    fresh = await service.access_publication(scope, str(row.id))
    await service.do_return_publication(scope, fresh, colleague, "请补充")
    await service.do_edit_publication(scope, fresh, author, {"title": title, "body": "第二稿"})
    with pytest.raises(Conflict):
        await service.do_approve_publication(scope, stale, approver)
    stored = await Publication.get_pymongo_collection().find_one({"_id": row.id})
    assert stored["state"] == "draft" and stored["body"] == "第二稿"
    assert [s["action"] for s in stored["steps"]] == ["created", "submitted", "returned", "edited"]
