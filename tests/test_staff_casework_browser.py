"""Headless Chromium: a registrar registers a visit with the day it came in and a scan, and prints the visitor's receipt.

Screenshots (the receipt page on a desk, and as printed) go to the test's tmp dir."""

from __future__ import annotations

from datetime import timedelta

from xinfang.store.documents import utcnow
from xinfang.timefmt import zone
from tests.login_pages import sign_in
from tests.test_petitions import PNG


async def test_a_registrar_registers_a_visit_and_prints_the_receipt(live_server, browser, tenants, tmp_path):
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "registrar")
    await page.wait_for_url(f"**/t/{tenants.A}/staff/")
    assert await page.evaluate("document.querySelector('main').getBoundingClientRect().width") > 1100  # a desk's width
    await page.locator(f"nav.staff a[href='/t/{tenants.A}/staff/register']").click()
    await page.wait_for_url(f"**/t/{tenants.A}/staff/register")

    received = utcnow().astimezone(zone("Asia/Shanghai")).date() - timedelta(days=3)
    await page.select_option("#channel", "visit")
    await page.fill("#received_on", (received + timedelta(days=10)).isoformat())  # a slip of the pen: a day to come
    await page.check("input[name='_anonymous']")
    await page.fill("#xf-title", "来访反映校车超载")
    await page.select_option("#xf-category", "other")
    await page.fill("#xf-content", "来访人反映某小学校车每天超载接送学生。")
    await page.click("form.register-form button[type='submit']")
    await page.wait_for_selector("#received_on-error")
    assert await page.locator("#received_on-error").inner_text() == "收到日期不能晚于今天"
    assert await page.input_value("#xf-title") == "来访反映校车超载"  # what was typed stays
    await page.screenshot(path=str(tmp_path / "register-refused-date.png"), full_page=True)
    await page.fill("#received_on", received.isoformat())
    await page.set_input_files("#files", files=[{"name": "来访登记表.png", "mimeType": "image/png", "buffer": PNG}])
    await page.click("form.register-form button[type='submit']")
    await page.wait_for_selector("article.slip")

    slip = page.locator("article.slip")
    text = await slip.inner_text()
    number = await slip.locator(".case-number").inner_text()
    assert number.startswith("SIYANG-EDU-") and "泗阳县教育局纪委" in text and "来访" in text
    assert f"{received.year}年{received.month}月{received.day}日" in text
    assert len((await slip.locator(".receipt-number").get_attribute("data-receipt"))) == 16
    await page.screenshot(path=str(tmp_path / "receipt-desk.png"), full_page=True)

    # The print button prints (print.js, no inline script); the printed page is the slip alone.
    await page.evaluate("window.print = () => { window.__printed = true; }")
    await page.get_by_role("button", name="打印回执").click()
    assert await page.evaluate("window.__printed === true")
    await page.emulate_media(media="print")
    assert await page.evaluate("getComputedStyle(document.querySelector('nav.staff')).display") == "none"
    assert await page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "none"
    assert await slip.is_visible()
    await page.screenshot(path=str(tmp_path / "receipt-printed.png"), full_page=True)
    await page.emulate_media(media="screen")

    # The case it opened: the scan and the day received are on it.
    await page.get_by_role("link", name="打开信访件").click()
    await page.wait_for_selector("dd.received")
    assert await page.locator("dd.received").inner_text() == f"{received.year}年{received.month}月{received.day}日"
    assert await page.get_by_text("来访登记表.png").count() == 1
    answers = await page.locator("dl.answers").inner_text()
    assert "False" not in answers and "True" not in answers  # a yes/no answer in words
    await page.screenshot(path=str(tmp_path / "case-page-desk.png"), full_page=True)
    case_url = page.url
    await desk.close()

    # The leader accepts it on the case page and prints the acceptance notice; the inbox offers bulk assignment and exports.
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    await page.wait_for_url(f"**/t/{tenants.A}/staff/")
    assert await page.locator("#bulk-assign .bulk-bar").count() == 1 and await page.locator("p.exports a").count() == 2
    await page.screenshot(path=str(tmp_path / "inbox-leader.png"), full_page=True)
    await page.goto(case_url)
    await page.locator("form[data-action='accept'] button[type='submit']").click()
    await page.get_by_role("link", name="打印受理告知书").click()
    await page.wait_for_selector("article.notice")
    notice = await page.locator("article.notice").inner_text()
    assert "信访事项受理告知书" in notice and number in notice and "泗阳县教育局纪委" in notice
    await page.emulate_media(media="print")
    await page.screenshot(path=str(tmp_path / "acceptance-notice-printed.png"), full_page=True)
    await desk.close()

    # The citizen portal stays a phone's width.
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    portal = await phone.new_page()
    await portal.goto(f"{live_server}/t/{tenants.A}/petition/petition")
    assert await portal.evaluate("document.documentElement.scrollWidth") <= 390
    await phone.close()
