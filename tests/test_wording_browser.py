"""Headless Chromium: a tenant admin changes a card's document wording by clicks and typing only (a placeholder
inserted with its button, a preview on sample data), saves it, and the next card issued shows the new wording
to the handler. Screenshots go to the test's tmp dir (and /tmp/wording-*.png for a person to look at)."""

from __future__ import annotations

import shutil

import httpx

from tests.login_pages import live_token, sign_in
from tests.test_wording import bazhou as bazhou_reset  # the fixture that puts 巴州's wording back afterwards

bazhou = bazhou_reset


async def test_an_admin_rewords_a_card_and_the_next_card_issued_reads_so(live_server, browser, tenants, tmp_path, bazhou):
    base, slug = live_server, tenants.B
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", "admin")
    await page.wait_for_load_state()
    await page.locator("nav.staff").get_by_text("监督配置").click()
    await page.get_by_role("link", name="文书与提醒文字").first.click()
    await page.wait_for_url(f"**/t/{slug}/admin/wording")
    await page.screenshot(path="/tmp/wording-index.png", full_page=True)
    await page.locator("tr[data-key='blue']").get_by_role("link", name="修改文字").click()
    await page.wait_for_url(f"**/t/{slug}/admin/wording/cards/blue")

    # The default wording first: previewed as the GB/T 9704 document it prints as.
    await page.get_by_role("button", name="用示例数据预览").click()
    await page.locator(".document-page .red-head").wait_for()
    await page.locator(".document-page").screenshot(path="/tmp/wording-default-preview.png")
    area = page.locator("textarea#template")
    await area.fill("")
    await area.type("<p>")
    await page.locator("tr", has_text="被监督对象：人员姓名或单位名称").get_by_role("button", name="插入").click()
    await area.type("同志：经研究，请于")
    await page.locator("tr", has_text="书面说明期限，如").get_by_role("button", name="插入").click()
    await area.type("前书面说明。</p>")
    assert await area.input_value() == ("<p>{{ subject.name }}同志：经研究，请于{% if response_due %}{{ response_due[:4] }}年"
                                        "{{ response_due[5:7]|int }}月{{ response_due[8:10]|int }}日{% endif %}前书面说明。</p>")
    await page.get_by_role("button", name="用示例数据预览").click()
    preview = page.locator(".document-page")
    await preview.wait_for()
    assert "王建国同志：经研究，请于" in await preview.inner_text()
    await page.screenshot(path=str(tmp_path / "wording-preview.png"), full_page=True)
    shutil.copy(tmp_path / "wording-preview.png", "/tmp/wording-preview.png")

    await page.get_by_role("button", name="保存").click()
    await page.wait_for_url(f"**/t/{slug}/admin/wording/cards/blue?saved=save")
    assert "已保存" in await page.content() and "第 2 版" in await page.content()
    await page.screenshot(path=str(tmp_path / "wording-saved.png"), full_page=True)
    shutil.copy(tmp_path / "wording-saved.png", "/tmp/wording-saved.png")

    # The next card: written and issued by the handler (approved by a leader), read on the handler's card page.
    handler, leader = live_token(base, slug, "handler"), live_token(base, slug, "leader")
    async with httpx.AsyncClient(base_url=f"{base}/t/{slug}/api") as api:
        made = await api.post("/supervisions", headers=handler, json={"kind": "card", "type_key": "blue",
                                                                      "subject": {"kind": "person", "name": "孙七", "unit": "某中学"}})
        assert made.status_code == 201, made.text
        card = made.json()["id"]
        assert (await api.post(f"/supervisions/{card}/submit", headers=handler)).status_code == 200
        assert (await api.post(f"/supervisions/{card}/approve", headers=leader)).status_code == 200
        issued = await api.post(f"/supervisions/{card}/issue", headers=handler)
        assert issued.status_code == 200, issued.text
    desk_h = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk_h.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", "handler")
    await page.wait_for_load_state()
    await page.goto(f"{base}/t/{slug}/staff/supervisions/{card}")
    await page.goto(base + await page.get_by_role("link", name="查看/打印已发出的文书").get_attribute("href"))  # opens in a new tab
    assert "孙七同志：经研究，请于" in await page.locator("main").inner_text()
    await page.screenshot(path=str(tmp_path / "wording-issued-card.png"), full_page=True)
    shutil.copy(tmp_path / "wording-issued-card.png", "/tmp/wording-issued-card.png")
    await desk_h.close()
    phone_h = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = await phone_h.new_page()  # the list of cards on a phone: one card a row, not five squeezed columns
    await sign_in(page, f"{base}/t/{slug}/staff/login", "handler")
    await page.wait_for_load_state()
    await page.goto(f"{base}/t/{slug}/staff/supervisions")
    row = page.locator(f'table.supervisions tr[data-id="{card}"]')
    assert (await row.locator("td.title").bounding_box())["width"] >= 250 and await page.locator("table.supervisions thead").is_hidden()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(tmp_path / "supervisions-phone.png"), full_page=True)
    shutil.copy(tmp_path / "supervisions-phone.png", "/tmp/supervisions-phone.png")
    await phone_h.close()

    # A notification's wording, previewed the same way (not saved).
    page = await desk.new_page()
    await page.goto(f"{base}/t/{slug}/admin/wording/notifications/approval")
    await page.fill("#text-zh", "请审批：")
    await page.locator("tr", has_text="监督卡或监督措施的名称").get_by_role("button", name="插入").click()
    await page.get_by_role("button", name="用示例数据预览").click()
    await page.locator(".message-preview").first.wait_for()
    assert "请审批：提醒函" in await page.locator(".preview").inner_text()
    await page.screenshot(path="/tmp/wording-notification.png", full_page=True)
    await desk.close()


async def test_the_wording_pages_fit_a_phone(live_server, browser, tenants):
    base, slug = live_server, tenants.B
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", "admin")
    await page.wait_for_load_state()
    too_wide = []
    for name, path in (("index", "/admin/wording"), ("card", "/admin/wording/cards/orange"),
                       ("notification", "/admin/wording/notifications/citizen_notice"),
                       ("index-en", "/admin/wording?lang=en")):  # English names are longer (last: the language sticks)
        await page.goto(f"{base}/t/{slug}{path}")
        if name == "card":
            await page.get_by_role("button", name="用示例数据预览").click()
            await page.locator(".document-page").wait_for()
        await page.screenshot(path=f"/tmp/wording-phone-{name}.png", full_page=True)
        wide = await page.evaluate("() => { const e = document.scrollingElement; return [e.scrollWidth, e.clientWidth]; }")
        if wide[0] > wide[1] + 1:
            too_wide.append(f"{path}: {wide[0]} px wide in a {wide[1]} px screen")
    await context.close()
    assert not too_wide, too_wide
