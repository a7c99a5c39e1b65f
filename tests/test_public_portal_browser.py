"""Headless Chromium on the integrity portal (廉政监督网): every public page at phone width (360 px) and desk width
(1280 px) checked by axe-core (WCAG 2.1 A and AA rules) with zero violations; the pages followed and a suggestion
sent with JavaScript switched off; the publishing pages of the staff console checked the same way.

axe-core is the npm package's axe.min.js, vendored under tests/data/axe-core (scripts/fetch_axe_core.sh fetches
the pinned version and checks its integrity). It is injected into a context that bypasses the page's CSP (the
portal allows no inline or foreign script). Screenshots go to the test's tmp dir (printed)."""

from __future__ import annotations

import asyncio

import uuid
from pathlib import Path

from tests.conftest import login_token
from tests.login_pages import sign_in
from tests.test_public_portal import publish
from playwright.async_api import expect

AXE = Path(__file__).parent / "data" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 900}


async def axe_violations(page) -> list[dict]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    assert len(result["passes"]) > 5  # axe ran its rules on this page
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"][:5]]}
            for v in result["violations"]]


async def seed(client, slug: str) -> dict:
    mark = uuid.uuid4().hex[:6]
    ids = {
        "notices": await publish(client, slug, "notice", f"关于开展师德师风专项整治的通知（{mark}）",
                                 "各中小学：\n为进一步加强师德师风建设，经研究，决定在全县教育系统开展专项整治。\n请于12月20日前报送自查情况。"),
        "cases": await formatted_case_with_files(client, slug, mark),
        "policies": await publish(client, slug, "policy", f"泗阳县教育系统信访监督工作办法（{mark}）",
                                  "第一条 为规范信访监督工作，制定本办法。\n第二条 对反映问题需要书面说明的，发放询问卡，被反映人应在15个工作日内书面说明。",
                                  source="泗教纪发〔2026〕3号"),
    }
    suggestion = await publish(client, slug, "suggestion", f"建议公开学校食堂收支（{mark}）", "希望每月在校门口公示食堂收支情况。",
                               reply="已要求各校自下月起每月公示，接受家长监督。")
    ids["suggestions"] = suggestion
    return {"ids": ids, "mark": mark}


CASE_TEXT = """## 基本情况

经查，该校2026年秋季学期**违规向学生收取资料费**共计1.2万元。

## 处理结果

- 县教育局纪委已责令全额退还；
- 对相关责任人进行诫勉谈话。

| 事项 | 金额 | 处理 |
|:--|--:|:--|
| 资料费 | 1.2万元 | 全额退还 |

依据：[《中小学收费管理办法》](https://jyj.example.gov.cn/policy/12)。"""


async def formatted_case_with_files(client, slug: str, mark: str) -> str:
    """A 曝光台 case in Markdown with a photo and a PDF: written and given files by the leader, approved by the deputy."""
    import io

    from werkzeug.datastructures import FileStorage

    from tests.test_public_portal import draft, png

    leader, deputy = await login_token(client, slug, "leader"), await login_token(client, slug, "deputy")
    item = await draft(client, slug, leader, "case", f"某中学违规收取资料费问题通报（{mark}）", CASE_TEXT, source="某中学", format="markdown")
    for data, name, description in ((png(480, 270), "退费现场.png", "学校向学生退还资料费的现场"),
                                    (b"%PDF-1.4\n%%EOF\n", "处理决定.pdf", "县教育局纪委处理决定（PDF）")):
        added = await client.post(f"/t/{slug}/staff/portal/items/{item}/files", headers=leader, form={"description": description},
                                  files={"file": FileStorage(io.BytesIO(data), filename=name)})
        assert added.status_code == 302, await added.get_data(as_text=True)
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=leader, form={})).status_code == 302
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=deputy, form={})).status_code == 302
    return item


async def test_every_portal_page_passes_axe_on_a_phone_and_a_desk(live_server, browser, client, tenants, tmp_path):
    slug = tenants.A
    seeded = await seed(client, slug)
    base = f"{live_server}/t/{slug}/integrity"
    pages = {"home": f"{base}/", "search": f"{base}/policies/?q=询问卡", "suggest": f"{base}/suggestions/new"}
    for section, item in seeded["ids"].items():
        pages[section] = f"{base}/{section}/"
        pages[f"{section}-item"] = f"{base}/{section}/{item}"
    found: dict[str, list] = {}
    timings = []
    for label, viewport in (("phone", PHONE), ("desk", DESK)):
        context = await browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
        page = await context.new_page()
        for name, url in pages.items():
            answer = await page.goto(url)
            assert answer.status == 200, (name, answer.status)
            timings.append(float((await answer.all_headers()).get("server-timing", "render;dur=0").split("=")[1]))
            if label == "phone":
                assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name  # no sideways scrolling
            await page.screenshot(path=str(tmp_path / f"{label}-{name}.png"), full_page=True)
            violations = await axe_violations(page)
            if violations:
                found[f"{label} {name}"] = violations
        await context.close()
    print("screenshots:", tmp_path)
    # the check can fail: a picture without words added to a page is reported
    context = await browser.new_context(locale="zh-CN", viewport=DESK, bypass_csp=True)
    page = await context.new_page()
    await page.goto(pages["home"])
    await page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\\'/static/none.png\\'>')")
    assert "image-alt" in {v["id"] for v in await axe_violations(page)}
    await context.close()
    timings.sort()
    print(f"portal pages rendered in {timings[len(timings) // 2]:.1f} ms (median), {timings[-1]:.1f} ms (slowest) of {len(timings)}")
    assert found == {}


async def test_a_citizen_without_javascript_reads_and_suggests_on_a_phone(live_server, browser, client, tenants, tmp_path):
    slug = tenants.A
    seeded = await seed(client, slug)
    context = await browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False, is_mobile=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{slug}/integrity/")
    await page.get_by_role("navigation", name="栏目").get_by_role("link", name="曝光台").click()
    await page.get_by_role("link", name=f"某中学违规收取资料费问题通报（{seeded['mark']}）").click()
    article = page.locator("article")
    await expect(article).to_contain_text("诫勉谈话")
    # Formatted text and files work without JavaScript: a heading, a list, a table, the photo with its words, the PDF link.
    assert await article.get_by_role("heading", name="处理结果").count() == 1 and await article.locator("table td").count() == 3
    assert await article.get_by_role("img", name="学校向学生退还资料费的现场").count() == 1
    # The photo is loading="lazy": on a phone it loads once scrolled to, and may still be on its way (a full run's load).
    await page.locator("section.files img").scroll_into_view_if_needed()
    natural = 0
    for _ in range(200):
        natural = await page.evaluate("(() => { const i = document.querySelector('section.files img'); return i.complete ? i.naturalWidth : 0; })()")
        if natural:
            break
        await asyncio.sleep(0.1)
    assert natural == 480
    assert await article.get_by_role("link", name="县教育局纪委处理决定（PDF）").count() == 1
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "phone-nojs-case.png"), full_page=True)
    await page.get_by_role("link", name="政策法规").first.click()
    await page.get_by_label("搜索政策法规").fill("15个工作日")
    await page.get_by_role("button", name="搜索").click()
    results = page.locator("ul.items li")
    await expect(results.filter(has_text=f"信访监督工作办法（{seeded['mark']}）")).to_have_count(1)
    assert await results.locator("mark").first.inner_text() == "15个工作日"
    await page.screenshot(path=str(tmp_path / "phone-nojs-search.png"), full_page=True)
    await page.get_by_role("link", name="人民建议征集").click()
    await page.get_by_role("heading", name="人民建议征集").wait_for()
    # The button has a paragraph of its own: inside the intro it pulled the text's lines apart on a phone.
    assert await page.locator("main p:has(a.button)").inner_text() == "提出建议"
    await page.get_by_role("link", name="提出建议").first.click()
    await page.get_by_label("标题").fill("   ")  # blank: the server says so next to the field, in red, and keeps the text
    await page.get_by_label("建议内容").fill("城南片区学生上学路远，建议增加一条校车线路。")
    await page.get_by_role("button", name="提交建议").click()
    await page.locator("#e-title").wait_for()
    error_colour, link_colour = await page.evaluate("""() => [getComputedStyle(document.querySelector('#e-title')).color,
                                                             getComputedStyle(document.querySelector('nav.portal-nav a:not([aria-current])')).color]""")
    assert error_colour != link_colour, "a field's error is in the links' colour: it reads as a link"
    assert await page.get_by_label("建议内容").input_value() == "城南片区学生上学路远，建议增加一条校车线路。"
    await page.get_by_label("标题").fill(f"建议增加校车线路（{seeded['mark']}）")
    await page.get_by_role("button", name="提交建议").click()
    await page.get_by_role("heading", name="建议已收到").wait_for()  # a new page: wait for it rather than count mid-navigation
    assert await page.get_by_role("heading", name="建议已收到").count() == 1
    await page.screenshot(path=str(tmp_path / "phone-nojs-suggested.png"), full_page=True)
    print("screenshots:", tmp_path)
    await context.close()


async def test_the_staff_publishing_pages_pass_axe(live_server, browser, client, tenants, tmp_path):
    slug = tenants.A
    leader = await login_token(client, slug, "leader")
    from tests.test_public_portal import draft

    item = await draft(client, slug, leader, "policy", f"待审核的规定（{uuid.uuid4().hex[:6]}）", "第一条 本规定自发布之日起施行。")
    await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=leader, form={})
    context = await browser.new_context(locale="zh-CN", viewport=DESK, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/staff/login", "deputy")
    await page.wait_for_load_state()
    found = {}
    import io

    from werkzeug.datastructures import FileStorage

    with_file = await draft(client, slug, leader, "notice", f"带附件的草稿（{uuid.uuid4().hex[:6]}）", "## 小标题\n\n- 一\n- 二", format="markdown")
    added = await client.post(f"/t/{slug}/staff/portal/items/{with_file}/files", headers=leader, form={"description": "通知原件（PDF）"},
                              files={"file": FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="通知.pdf")})
    assert added.status_code == 302
    for name, path in (("list", "/staff/portal/"), ("new", "/staff/portal/new?kind=policy"), ("item", f"/staff/portal/items/{item}"),
                       ("draft-with-file", f"/staff/portal/items/{with_file}"), ("suggestions", "/staff/portal/suggestions")):
        await page.goto(f"{live_server}/t/{slug}{path}")
        await page.screenshot(path=str(tmp_path / f"staff-{name}.png"), full_page=True)
        violations = await axe_violations(page)
        if violations:
            found[name] = violations
    await page.set_viewport_size(PHONE)  # the list on a phone: one card an item, not five columns a character wide
    await page.goto(f"{live_server}/t/{slug}/staff/portal/")
    assert (await page.locator(f"tr[data-item='{item}'] td.title").bounding_box())["width"] >= 250
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "staff-list-phone.png"), full_page=True)
    await page.set_viewport_size(DESK)
    await page.goto(f"{live_server}/t/{slug}/staff/portal/items/{item}")
    await page.get_by_role("button", name="审核通过并发布").click()
    await expect(page.locator("#state")).to_have_text("已发布")
    await page.screenshot(path=str(tmp_path / "staff-approved.png"), full_page=True)
    print("screenshots:", tmp_path)
    await context.close()
    assert found == {}


async def test_a_tenants_theme_in_english_on_a_phone_passes_axe(live_server, browser, client, tenants, tmp_path):
    """巴州's own name, colours and logo, the English pages: still no violation (the colours were checked on saving)."""
    from xinfang.public_portal.theme import Theme, do_set_portal_theme, do_store_logo
    from xinfang.tenancy.config_versions import BUNDLE_ACTOR
    from tests.staffing import tenant_scope
    from tests.test_public_portal import png

    scope = await tenant_scope(tenants.B)
    logo = await do_store_logo(scope, png(96, 96))
    await do_set_portal_theme(scope, {"display_name": {"zh": "巴州廉政监督网", "en": "Bazhou Integrity Watch"}, "primary": "#1a5e20",
                                      "accent": "#6a1b9a", "logo": logo.digest}, BUNDLE_ACTOR)
    try:
        await publish(client, tenants.B, "notice", f"关于公布举报电话的公告（{uuid.uuid4().hex[:6]}）", "举报电话：0996-12388。")
        context = await browser.new_context(locale="en-US", viewport=PHONE, bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{live_server}/t/{tenants.B}/integrity/?lang=en")
        assert await page.locator("header.portal-top").inner_text() != ""
        assert "Bazhou Integrity Watch" in await page.locator("header.portal-top").inner_text()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=str(tmp_path / "phone-bazhou-en.png"), full_page=True)
        assert await axe_violations(page) == []
        await page.goto(f"{live_server}/t/{tenants.B}/integrity/suggestions/new")
        assert await axe_violations(page) == []
        await page.screenshot(path=str(tmp_path / "phone-bazhou-en-suggest.png"), full_page=True)
        print("screenshots:", tmp_path)
        await context.close()
    finally:
        await do_set_portal_theme(scope, Theme().model_dump(), BUNDLE_ACTOR)
