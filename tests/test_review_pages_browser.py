"""In Chromium: a reviewer finds an official registered without an identity number, opens the review on them,
and (once approved) links a same-name record of another body through the opinion page, with a reason.
Screenshots of the review and opinion pages go to $XINFANG_TEST_SCREENSHOTS, else the test's tmp dir."""

from __future__ import annotations

import os
import random
from pathlib import Path

import httpx

from tests.conftest import PASSWORD
from tests.login_pages import sign_in
from playwright.async_api import expect


async def test_a_reviewer_finds_opens_and_links_through_the_pages(live_server, browser, tenants, tmp_path):
    name = f"页面无号{random.randint(1000, 9999)}"
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)  # kept where asked, else the test's tmp dir
    shots.mkdir(parents=True, exist_ok=True)
    ids = {}
    async with httpx.AsyncClient(base_url=live_server) as api:
        for slug, unit in ((tenants.A, "泗阳县某中学"), (tenants.B, "库尔勒市教育局")):
            token = (await api.post(f"/t/{slug}/api/tokens", json={"username": "handler", "password": PASSWORD})).json()["access_token"]
            made = await api.post(f"/t/{slug}/api/officials", headers={"Authorization": f"Bearer {token}"}, json={"name": name, "unit": unit})
            assert made.status_code == 201, made.text
            ids[slug] = made.json()["id"]

    async def superuser(username: str):
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await sign_in(page, f"{live_server}/platform/reviews", username)
        await page.wait_for_selector("#open-review")
        return context, page

    reviewer_ctx, reviewer = await superuser("org-reviewer")
    await reviewer.fill("#open-review input[name='official_name']", name)
    await reviewer.fill("#open-review input[name='reference_no']", "宿组干〔2027〕9号")
    await reviewer.fill("#open-review textarea[name='justification']", "拟提拔任用，征求廉政意见")
    await reviewer.click("#find-officials")
    choices = reviewer.locator("#found-officials input[name='official_id']")
    await expect(choices).to_have_count(2)
    assert "未登记证件号码" in await reviewer.inner_text("#found-officials")
    await reviewer.screenshot(path=str(shots / "review-find-officials.png"), full_page=True)
    await reviewer.check(f"#found-officials input[value='{ids[tenants.A]}']")
    await reviewer.click("#open-review button:not(#find-officials)")
    await expect(reviewer.locator(".state")).to_have_attribute("data-state", "awaiting_approval")
    review_url = reviewer.url

    approver_ctx, approver = await superuser("org-approver")
    await approver.goto(review_url)
    await approver.click("form[data-verb='approve'] button")
    await expect(approver.locator(".state")).to_have_attribute("data-state", "active")

    await reviewer.goto(review_url)
    await reviewer.screenshot(path=str(shots / "review-page.png"), full_page=True)
    buttons = [" ".join(t.split()) for t in await reviewer.locator("main .button").all_inner_texts()]  # each says what it does
    assert buttons == ["查看综合意见", "下载综合意见（PDF）", "结束查阅"], buttons
    await reviewer.click("text=查看综合意见")
    await expect(reviewer.locator("main .summary")).to_have_text("涉及 1 个单位 · 记录 0 条")  # counts with what they count
    match = reviewer.locator(f"li[data-official='{ids[tenants.B]}']")
    assert "库尔勒市教育局" in await match.inner_text()
    await match.locator("input[name='reason']").fill("经核对履历为同一人")
    await match.locator("button").click()
    linked = reviewer.locator(f"li[data-official='{ids[tenants.B]}']")
    await expect(linked).to_contain_text("取消认定")  # now among the records linked by hand, with the way back
    await reviewer.screenshot(path=str(shots / "review-opinion-linked.png"), full_page=True)
    await linked.locator("input[name='reason']").fill("误认")
    await linked.locator("button").click()
    await expect(reviewer.locator(f"li[data-official='{ids[tenants.B]}']")).to_contain_text("认定为同一人")
    assert await reviewer.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    print(f"screenshots: {shots}")
    for context in (reviewer_ctx, approver_ctx):
        await context.close()
