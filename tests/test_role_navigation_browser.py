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


async def test_on_a_phone_the_staff_links_fold_behind_a_menu_and_at_a_desk_they_all_show(live_server, browser, tenants, tmp_path):
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    await page.wait_for_url(f"**/t/{tenants.A}/staff/")
    nav = page.locator("nav.staff")
    menu = nav.locator("label.menu-button")
    search = nav.get_by_role("link", name="检索", exact=True)
    assert await menu.is_visible() and await menu.inner_text() == "☰ 菜单"
    assert not await search.is_visible()  # folded
    assert await nav.locator("a[aria-current='page']").is_visible()  # where one is stays in sight
    assert await nav.get_by_role("button", name="退出").is_visible() and not await nav.locator("a.who").is_visible()
    folded = (await nav.bounding_box())["height"]
    assert folded < 110, folded  # one or two lines, not five
    await page.screenshot(path=str(tmp_path / "staff-nav-phone-folded.png"), full_page=False)
    # The inbox's filters fold too, so the list comes first; open by themselves when a filter is in use.
    filters, fold = page.locator("form.filters"), page.locator("label.fold-button")
    assert await fold.inner_text() == "筛选条件" and await filters.is_hidden()
    await fold.click()
    await filters.wait_for(state="visible")
    await page.goto(f"{live_server}/t/{tenants.A}/staff/?overdue=1")
    assert await fold.inner_text() == "筛选条件（已选 1 项）" and await filters.is_visible()
    await page.screenshot(path=str(tmp_path / "inbox-phone-filters-open.png"), full_page=False)
    await menu.click()
    await search.wait_for(state="visible")
    links = nav.locator("a")  # every page, and one's own account
    assert all([await links.nth(i).is_visible() for i in range(await links.count())])
    await page.screenshot(path=str(tmp_path / "staff-nav-phone-open.png"), full_page=False)
    await search.click()
    await page.wait_for_url(f"**/t/{tenants.A}/staff/search")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await phone.close()

    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    await page.wait_for_url(f"**/t/{tenants.A}/staff/")
    nav = page.locator("nav.staff")
    assert not await nav.locator("label.menu-button").is_visible()
    links = nav.locator("a")
    assert all([await links.nth(i).is_visible() for i in range(await links.count())])
    await desk.close()
    print("screenshots:", tmp_path)
