"""Headless Chromium: the platform's front page on a phone, and a tenant admin's day starting from it (issue 11).

Screenshots go to the test's tmp dir."""

from __future__ import annotations

from tests.login_pages import sign_in


async def test_from_the_front_page_a_tenant_admin_reaches_the_configuration_hub(live_server, browser, tenants, tmp_path):
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = await phone.new_page()
    front = await page.goto(f"{live_server}/")
    assert front.status == 200
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    await page.screenshot(path=str(tmp_path / "front-page-phone.png"), full_page=True)
    assert await page.locator("li.card").count() >= 3

    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await page.goto(f"{live_server}/")
    await page.locator(f"a[href='/t/{tenants.A}/staff/login']").click()
    await sign_in(page, None, "admin")
    await page.wait_for_url(f"**/t/{tenants.A}/admin/studio")
    nav = page.locator("nav.staff")
    assert await nav.get_by_text("表单管理").count() == 1 and await nav.get_by_text("监督配置").count() == 1
    assert await nav.get_by_text("待办").count() == 0 and await nav.get_by_text("检索").count() == 0
    await page.screenshot(path=str(tmp_path / "tenant-admin-home.png"), full_page=True)
    await nav.get_by_text("监督配置").click()
    await page.wait_for_url(f"**/t/{tenants.A}/admin/supervision")
    assert "无权访问" not in await page.content()
    await phone.close()
    await desk.close()
