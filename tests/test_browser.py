"""A real headless Chromium against the real HTTP server: a citizen files and follows, a handler acts.

The server is ``xinfang serve`` in its own process, on the test store, Redis and worker
(the ``live_server`` and ``browser`` fixtures in conftest.py).
"""

from __future__ import annotations

import urllib.parse
import uuid

import httpx

from tests.login_pages import sign_in
from tests.conftest import PASSWORD
from playwright.async_api import expect


async def test_a_citizen_files_and_follows_and_a_handler_moves_it_forward(live_server, browser, tenants):
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await phone.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/")
    await page.click(f"a[href='/t/{tenants.A}/petition/petition']")
    await page.check("input[name='_anonymous'][value='1']")
    await page.fill("input[name='title']", "浏览器测试：食堂收费")
    await page.select_option("select[name='category']", "integrity")
    await page.fill("textarea[name='content']", "学校食堂每餐多收 2 元，没有公示。")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the form scrolls sideways on a phone"
    await page.click("button[type='submit']")
    receipt = await page.get_attribute(".receipt-number", "data-receipt")
    assert receipt and len(receipt) == 16
    number = (await page.inner_text("main strong")).strip()

    await page.click(f"a[href='/t/{tenants.A}/track']")
    await page.fill("input[name='receipt']", receipt)
    await page.click("button[type='submit']")
    await expect(page.locator(".state")).to_have_attribute("data-state", "registered")
    assert "浏览器测试：食堂收费" in await page.inner_text("h1")

    desk = await browser.new_context(locale="zh-CN")
    staff = await desk.new_page()
    await sign_in(staff, f"{live_server}/t/{tenants.A}/staff/", "handler")
    await staff.click(f"text={number}")
    await staff.fill("form[data-action='accept'] textarea[name='opinion']", "属实，予以受理")
    await staff.click("form[data-action='accept'] button[type='submit']")
    await expect(staff.locator(".state")).to_have_attribute("data-state", "accepted")
    assert "属实，予以受理" in await staff.inner_text("ol.timeline")

    await page.goto(f"{live_server}/t/{tenants.A}/track?lang=en")
    await page.fill("input[name='receipt']", receipt)
    await page.click("button[type='submit']")
    await expect(page.locator(".state")).to_have_attribute("data-state", "accepted")
    assert "Accept" in await page.inner_text("ol.timeline")  # English on request
    assert "属实，予以受理" not in await page.inner_text("main")  # the internal opinion stays internal
    await phone.close()
    await desk.close()


async def test_a_tenant_admin_edits_a_form_with_a_live_preview(live_server, browser, tenants):
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/admin/forms?key=suggestion")  # not logged in: to the login page
    await page.fill("input[name='username']", "admin")
    await page.fill("input[name='password']", PASSWORD)
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    await page.click("button[type='submit']")
    try:
        await page.wait_for_selector("#preview label", timeout=10_000)
    except Exception:
        raise AssertionError(f"no preview at {page.url}; console: {messages}; page: {(await page.content())[:1500]}") from None
    assert "/admin/forms" in page.url
    schema = await page.input_value("#schema")
    edited = schema.replace('"title": "建议主题"', '"title": "建议的题目（预览）"', 1)
    assert edited != schema, "the suggestion template changed its topic title; update this test"
    await page.fill("#schema", edited)
    # Locator waits, not wait_for_function: the page's CSP (no eval) refuses a predicate compiled from a string.
    await page.locator("#preview", has_text="建议的题目（预览）").wait_for()
    await page.fill("#schema", edited.replace('"type": "object"', '"type": "objekt"', 1))
    await page.locator("#problems li").first.wait_for()
    await context.close()


async def _staff_page(browser, base: str, slug: str, username: str):
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", username)
    return context, page


async def test_a_yellow_card_from_a_petition_approved_issued_answered_and_closed(live_server, browser, tenants):
    async with httpx.AsyncClient(base_url=live_server) as api:
        token = (await api.post(f"/t/{tenants.A}/api/tokens", json={"username": "registrar", "password": PASSWORD})).json()["access_token"]
        filed = await api.post(f"/t/{tenants.A}/api/petitions", headers={"Authorization": f"Bearer {token}"}, json={
            "form": "petition", "channel": "letter", "anonymous": True,
            "answers": {"title": "浏览器测试：违规收费", "content": "某中学副校长违规收取资料费。", "category": "other"}})
        assert filed.status_code == 201, filed.text
        petition_id = filed.json()["id"]

    desk, handler = await _staff_page(browser, live_server, tenants.A, "handler")
    await handler.goto(f"{live_server}/t/{tenants.A}/staff/petitions/{petition_id}")
    await handler.click("text=据此发监督卡或采取监督措施")
    await handler.check("input[value='card:yellow']")
    await handler.fill("input[name='subject_name']", "浏览器测试对象")
    await handler.fill("input[name='subject_unit']", "某中学")
    await handler.click("button[type='submit']")
    await expect(handler.locator(".state")).to_have_attribute("data-state", "draft")
    chip = await handler.get_attribute("h1 .chip", "style")
    assert "#f2c200" in chip  # the tenant's own colour for its yellow card
    card_url = handler.url
    await handler.click("form[data-verb='submit'] button")
    await expect(handler.locator(".state")).to_have_attribute("data-state", "awaiting_approval")
    assert await handler.query_selector("form[data-verb='approve']") is None  # a handler cannot approve

    office, leader = await _staff_page(browser, live_server, tenants.A, "leader")
    await leader.goto(card_url)
    await leader.fill("form[data-verb='approve'] textarea", "同意发预警卡")
    await leader.click("form[data-verb='approve'] button")
    await expect(leader.locator(".state")).to_have_attribute("data-state", "draft")

    await handler.goto(card_url)
    await handler.click("form[data-verb='issue'] button")
    await expect(handler.locator(".state")).to_have_attribute("data-state", "issued")
    link = (await handler.inner_text(".answer-link .link-value")).strip()
    assert "/answer/" in link
    await handler.reload()
    assert await handler.query_selector(".answer-link") is None  # shown once only

    outside = await browser.new_context(locale="zh-CN")
    subject = await outside.new_page()
    await subject.goto(link)
    assert "预警卡" in await subject.inner_text("main")  # the issued document, as it went out
    await subject.fill("textarea[name='text']", "已退还全部资料费，并在全校作检查。")
    await subject.click("button[type='submit']")
    await subject.goto(link)
    assert "已使用" in await subject.inner_text("main")  # one-time

    await handler.goto(card_url)
    await expect(handler.locator(".state")).to_have_attribute("data-state", "answered")
    assert "已退还全部资料费" in await handler.inner_text("blockquote.answer")
    await handler.check("form[data-verb='decide'] input[value='close']")
    await handler.click("form[data-verb='decide'] button")
    await expect(handler.locator(".state")).to_have_attribute("data-state", "closed")

    await handler.goto(f"{live_server}/t/{tenants.A}/staff/supervision-stats")
    yellow_bar = await handler.get_attribute(".bar-row[data-type='yellow'] .bar", "style")
    assert "#f2c200" in yellow_bar and int(await handler.inner_text(".bar-row[data-type='yellow'] .bar-value")) >= 1
    # the count by action type under its own heading, not under 逾期 (where it read as overdue per type)
    assert await handler.locator("table.action-types").evaluate("t => t.previousElementSibling.textContent") == "监督措施（按种类）"
    assert (await handler.inner_text("p.overdue")).startswith("监督卡 ")
    for context in (desk, office, outside):
        await context.close()


async def test_a_promotion_review_from_opening_to_the_opinion_and_the_tenants_access_log(live_server, browser, tenants):
    from tests.test_archives import resident_id

    number, name = resident_id(), "浏览器测试干部"
    async with httpx.AsyncClient(base_url=live_server) as api:
        for slug, unit in ((tenants.A, "泗阳县某中学"), (tenants.B, "库尔勒市教育局")):
            token = (await api.post(f"/t/{slug}/api/tokens", json={"username": "handler", "password": PASSWORD})).json()["access_token"]
            made = await api.post(f"/t/{slug}/api/officials", headers={"Authorization": f"Bearer {token}"},
                                  json={"name": name, "unit": unit, "id_number": number})
            assert made.status_code == 201, made.text
            if slug == tenants.A:
                official_a = made.json()["id"]
                doc = await api.post(f"/t/{slug}/api/officials/{official_a}/documents", headers={"Authorization": f"Bearer {token}"},
                                     json={"type_key": "integrity_evaluation", "on": "2026-06-30", "data": {"rating": "good", "participants": 41}})
                assert doc.status_code == 201, doc.text

    async def superuser(username: str):
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, f"{live_server}/platform/reviews", username)  # not logged in: to the log-in page and back
        return context, page

    reviewer_ctx, reviewer = await superuser("org-reviewer")
    await reviewer.fill("#open-review input[name='official_name']", name)
    await reviewer.fill("#open-review input[name='id_number']", number)
    await reviewer.fill("#open-review input[name='reference_no']", "宿组干〔2027〕1号")
    await reviewer.fill("#open-review textarea[name='justification']", "拟提拔任用，征求廉政意见")
    await reviewer.click("#open-review button")
    await expect(reviewer.locator(".state")).to_have_attribute("data-state", "awaiting_approval")
    assert await reviewer.query_selector("text=查看综合意见") is None  # nothing to read before approval
    review_url = reviewer.url

    approver_ctx, approver = await superuser("org-approver")
    await approver.goto(review_url)
    await approver.click("form[data-verb='approve'] button")
    await expect(approver.locator(".state")).to_have_attribute("data-state", "active")

    await reviewer.goto(review_url)
    await reviewer.click("text=查看综合意见")
    await expect(reviewer.locator("table.archive")).to_contain_text("民主评廉")  # the click starts a navigation: wait for the new page
    table = await reviewer.inner_text("table.archive")
    assert "泗阳县教育局" in table and "民主评廉" in table
    async with reviewer.expect_download() as download_info:
        await reviewer.click("text=PDF")
    download = await download_info.value
    assert (await download.path()).read_bytes().startswith(b"%PDF")

    desk, handler = await _staff_page(browser, live_server, tenants.A, "handler")
    await handler.goto(f"{live_server}/t/{tenants.A}/staff/officials?name={name}")
    await handler.click(f"a[href='/t/{tenants.A}/staff/officials/{official_a}']")
    await expect(handler.locator("table.archive")).to_contain_text("民主评廉")
    await handler.set_viewport_size({"width": 390, "height": 844})  # on a phone: one card an entry, not five squeezed columns
    assert (await handler.locator("table.archive tbody tr td.title").first.bounding_box())["width"] >= 250
    assert await handler.evaluate("document.documentElement.scrollWidth") <= 390
    await handler.set_viewport_size({"width": 1280, "height": 900})
    await handler.goto(f"{live_server}/t/{tenants.A}/staff/archive-access-log")
    log = await handler.inner_text("table")
    assert "何晓东" in log and "查阅廉政综合意见（网页）" in log  # the reader by name, the action in words
    assert "org-reviewer" not in log and "archive.opinion.page" not in log
    whose = await handler.locator("table.access-log td.whose").all_inner_texts()  # whose archive each read was
    # This review's reads name its official (other tests read other officials of the tenant: their names, never an id).
    assert name in whose and not any(len(w) == 24 and all(c in "0123456789abcdef" for c in w) for w in whose), whose
    await handler.set_viewport_size({"width": 390, "height": 844})  # on a phone: one card a read
    assert (await handler.locator("table.access-log tbody tr td.title").first.bounding_box())["width"] >= 250
    for context in (reviewer_ctx, approver_ctx, desk):
        await context.close()


async def test_staff_search_with_highlights_and_the_frequent_words_chart(live_server, browser, tenants):
    # A place of this test's own: the chart of the tenant's month is crowded by the other tests' petitions (one run had
    # 营养餐 out of its top 30); filtered to the place, this test's words are the chart.
    place = f"浏览器测试镇{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=live_server) as api:
        for n in range(3):
            filed = await api.post(f"/t/{tenants.A}/api/petitions/submit", json={"form": "petition", "anonymous": True, "answers": {
                "title": f"浏览器检索营养餐缩水{n}", "content": "学校营养餐缩水，牛奶经常断供，家长意见很大。", "category": "other",
                "region": place}})
            assert filed.status_code == 201, filed.text
    desk, handler = await _staff_page(browser, live_server, tenants.A, "handler")
    for _ in range(100):  # the indexer catches up within a second or two (until then: 503, never partial)
        await handler.goto(f"{live_server}/t/{tenants.A}/staff/search")
        await handler.fill("input[name='q']", "浏览器检索 营养餐")
        await handler.click("form.search-form button")
        if len(await handler.query_selector_all("ol.search-results li[data-id]")) >= 3:
            break
        await handler.wait_for_timeout(200)
    assert len(await handler.query_selector_all("ol.search-results li[data-id]")) >= 3
    assert await handler.query_selector("ol.search-results mark") is not None  # the words are highlighted
    await handler.click("text=频发词汇")
    await handler.wait_for_load_state()
    await handler.goto(f"{handler.url.split('?')[0]}?{urllib.parse.urlencode({'region': place})}")
    for _ in range(50):  # words are counted right after the index commit, by the same drain
        if await handler.query_selector(".bar-row[data-term='营养餐'] .bar"):
            break
        await handler.wait_for_timeout(200)
        await handler.reload()
    bar = await handler.get_attribute(".bar-row[data-term='营养餐'] .bar", "style")
    assert bar and "--share" in bar
    await desk.close()
