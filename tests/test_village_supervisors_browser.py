"""A village supervisor on a phone (信访监督员 use phones): the relay form at 390 px in a real Chromium, consent first,
a refusal without it, the receipt to write down for the villager, then a follow-up on the relay's page. Screenshots
go to XINFANG_TEST_SCREENSHOTS, else the test's tmp dir."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.login_pages import sign_in
from tests.staffing import operator_account
from tests.test_village_supervisors import township

PHONE = {"width": 390, "height": 844}


async def _fits(page) -> bool:
    """Nothing wider than the phone's screen: no sideways scrolling."""
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_a_supervisor_relays_on_a_phone(live_server, browser, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    slug, _ = await township(tmp_path)
    username = f"sv-phone-{uuid.uuid4().hex[:6]}"
    await operator_account(slug, username, ["village_supervisor"])
    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/staff/login", username, "long-enough-pw")
    await page.wait_for_url(f"**/t/{slug}/staff/relays")  # a supervisor's home is their own relays
    await page.click("text=代村民反映新的信访")
    await page.wait_for_url(f"**/t/{slug}/staff/relays/new")
    assert await _fits(page)
    await page.screenshot(path=str(shots / "supervisor-relay-form-phone.png"), full_page=True)

    await page.fill("#xf-title", "村道坑洼学生难行")
    await page.select_option("#xf-category", "other")
    await page.fill("#xf-content", "村里通往小学的路坑洼很深，下雨天孩子们只能绕行两公里，请镇里修一下。")
    await page.fill("[name='petitioner_name']", "王大爷")
    await page.fill("[name='id_number']", "11010519491231002X")
    await page.fill("[name='phone']", "13900001111")
    await page.click("form.relay-form button[type='submit']")  # no consent ticked yet
    await page.wait_for_selector("#consent-error")
    assert "请先征得村民同意" in await page.inner_text("#consent-error")
    assert await page.input_value("#xf-title") == "村道坑洼学生难行"  # what was typed stays
    await page.screenshot(path=str(shots / "supervisor-relay-refused-phone.png"), full_page=True)

    await page.check("#consent")
    await page.check("input[name='consent_method'][value='signed']")
    await page.click("form.relay-form button[type='submit']")
    await page.wait_for_selector(".receipt-number")
    receipt = (await page.get_attribute(".receipt-number", "data-receipt")) or ""
    assert len(receipt) == 16 and await _fits(page)
    await page.screenshot(path=str(shots / "supervisor-relayed-phone.png"), full_page=True)

    await page.click("text=查看这件信访")
    await page.wait_for_selector("form.follow-up-form")
    shown = await page.inner_text("main")
    assert "书面签字同意" in shown and "坑洼很深" in shown and "王大爷" not in shown and "13900001111" not in shown
    await page.select_option("#kind", "visit")
    await page.fill("#note", "上门看了，路还没修，村民说镇里来人量过。")
    await page.click("form.follow-up-form button[type='submit']")
    await page.wait_for_selector("ul.follow-ups li:has-text('镇里来人量过')")
    assert await _fits(page)
    await page.screenshot(path=str(shots / "supervisor-relay-page-phone.png"), full_page=True)
    await phone.close()


async def test_the_registration_page_says_whether_other_bodies_hold_a_similar_petition(live_server, browser, tenants, tmp_path):
    """The system-wide check beside the registration form (static/repeat-existence.js, the page's own session and
    CSRF token): a count in words, here none; and the prefecture's network statistics page, looked at on a desk."""
    from tests.conftest import PASSWORD

    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "registrar", PASSWORD)
    await page.wait_for_url(f"**/t/{tenants.A}/staff/")
    await page.goto(f"{live_server}/t/{tenants.A}/staff/register")
    await page.wait_for_selector("#repeat-existence:not([hidden])")
    await page.fill("#xf-content", f"村里的变压器{uuid.uuid4().hex[:6]}夏天经常跳闸，养殖户的冷库停电，损失很大，供电所一直推脱。")
    await page.click("#repeat-existence-check")
    await page.wait_for_selector("#repeat-existence-result:has-text('其他单位')")
    assert await page.inner_text("#repeat-existence-result") == "其他单位暂无相似信访"
    await page.locator("#repeat-existence").screenshot(path=str(shots / "register-repeat-existence.png"))
    await desk.close()

    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.B}/staff/login", "leader", PASSWORD)
    await page.wait_for_url(f"**/t/{tenants.B}/staff/")
    await page.click("nav.staff >> text=监督员网络")
    await page.wait_for_selector("table.network-table")
    assert "库尔勒" in await page.inner_text("table.network-table")
    await page.screenshot(path=str(shots / "supervisor-network-desk.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})  # the same page on a leader's phone
    name = page.locator("table.network-table tbody tr", has_text="库尔勒").locator("td").first
    assert (await name.bounding_box())["width"] >= 120  # the body's name reads across, not one character a line
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls in its box
    await page.screenshot(path=str(shots / "supervisor-network-phone.png"), full_page=True)
    await desk.close()
