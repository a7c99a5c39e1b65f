"""Headless Chromium: a tenant admin opens the configuration hub, a versions page, a diff, and rolls one back by clicks.

The area is the search dictionary (a real area, registered in the server process); its versions are made through
its own API first. Screenshots of the hub and the diff go to /tmp."""

from __future__ import annotations

import httpx
import pytest

from tests.login_pages import live_token, sign_in

SHOTS = "/tmp"


async def test_an_admin_compares_two_versions_and_goes_back_to_the_older_one(live_server, browser, tenants):
    slug = tenants.CHILD_OF_B  # the county: its dictionary is not what the search tests read
    admin = live_token(live_server, slug, "admin")
    for words in (["孔雀河", "铁门关"], ["孔雀河", "铁门关", "梨城"]):
        put = httpx.put(f"{live_server}/t/{slug}/api/search-dictionary", headers=admin, json={"words": words, "stop_words": []})
        assert put.status_code == 200, put.text
    versions = httpx.get(f"{live_server}/t/{slug}/api/config-versions/search_dictionary", headers=admin)
    if versions.status_code != 200 or len(versions.json()["versions"]) < 2:
        pytest.skip("the search dictionary records no versions in this tree yet")
    newest = versions.json()["versions"][0]["number"]

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/staff/login?next=/t/{slug}/admin/studio", "admin")
    await page.wait_for_url(f"**/t/{slug}/admin/studio")
    assert await page.locator("h1").inner_text() == "配置中心"
    await page.screenshot(path=f"{SHOTS}/studio-hub.png", full_page=True)

    phone = await (await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                             storage_state=await context.storage_state())).new_page()
    await phone.goto(f"{live_server}/t/{slug}/admin/studio")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    await phone.screenshot(path=f"{SHOTS}/studio-hub-phone.png", full_page=True)
    await phone.context.close()

    await page.locator("#section-search a.versions-link").first.click()
    await page.wait_for_url(f"**/t/{slug}/admin/versions/search_dictionary")
    assert await page.locator(f"#version-{newest}").count() == 1
    await page.screenshot(path=f"{SHOTS}/studio-versions.png", full_page=True)
    phone = await (await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                             storage_state=await context.storage_state())).new_page()
    await phone.goto(page.url)  # the versions on a phone: one card a version, not five squeezed columns
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert (await phone.locator(f"#version-{newest} td.title").bounding_box())["width"] >= 250
    await phone.screenshot(path=f"{SHOTS}/studio-versions-phone.png", full_page=True)
    await phone.context.close()
    await page.locator(f"#version-{newest} a.diff-link").click()
    await page.wait_for_url("**/diff?to=*")
    table = page.locator("table.diff")
    assert "梨城" in await table.inner_text() and "新增" in await table.inner_text()
    await page.screenshot(path=f"{SHOTS}/studio-diff.png", full_page=True)

    await page.get_by_role("link", name=f"恢复到第 {newest - 1} 版").click()
    await page.wait_for_url(f"**/versions/search_dictionary/{newest - 1}/rollback")
    assert "删除" in await page.locator("table.diff").inner_text()  # going back removes 梨城
    await page.screenshot(path=f"{SHOTS}/studio-rollback.png", full_page=True)
    await page.get_by_role("button", name=f"确认恢复到第 {newest - 1} 版").click()
    await page.wait_for_url("**/admin/versions/search_dictionary?rolled_back=*")
    assert "已恢复到第" in await page.locator(".notice").inner_text()
    assert await page.locator(f"#version-{newest + 1}").count() == 1
    words = httpx.get(f"{live_server}/t/{slug}/api/search-dictionary", headers=live_token(live_server, slug, "handler")).json()["words"]
    assert "梨城" not in words and "孔雀河" in words
    await context.close()


async def test_an_offer_from_above_is_previewed_and_declined_by_clicks(live_server, browser, tenants):
    offered = httpx.post(f"{live_server}/t/{tenants.B}/api/config-exchange/offers", headers=live_token(live_server, tenants.B, "admin"),
                         json={"to": tenants.CHILD_OF_B, "note": "州里的统一配置"}, timeout=60)  # a whole configuration exported
    assert offered.status_code == 201, offered.text
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    slug = tenants.CHILD_OF_B
    await sign_in(page, f"{live_server}/t/{slug}/staff/login?next=/t/{slug}/admin/config-exchange", "admin")
    await page.wait_for_url(f"**/t/{slug}/admin/config-exchange")
    row = page.locator(f"#offer-{offered.json()['id']}")
    assert "州里的统一配置" in await row.inner_text()
    await row.get_by_role("link", name="预览与导入").click()
    await page.wait_for_url(f"**/admin/config-exchange/offers/{offered.json()['id']}")
    assert await page.locator("section.offer-area").count() >= 1
    await page.screenshot(path=f"{SHOTS}/studio-offer-preview.png", full_page=True)
    await page.get_by_role("button", name="不予采用").click()
    await page.wait_for_url("**/admin/config-exchange?done=declined")
    assert "未采用" in await page.locator(f"#offer-{offered.json()['id']}").inner_text()
    await context.close()
