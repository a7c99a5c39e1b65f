"""A citizen's day on a phone (390 x 844, Debian Chromium): find the form, file a petition under their name,
keep the receipt, look the case up later, add information, and see the case move, in words, without
sideways scrolling and without an internal code on any page. Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import re

import httpx

from tests.login_pages import live_token

# Codes the portal must never show a citizen (states, channels, field keys of the workflow).
CODE_WORDS = re.compile(r"\b(submitted|registered|accepted|assigned|handling|closed|online|visit|letter|anonymous|"
                        r"petition_state|supplement|[a-z]+_[a-z_]+)\b")
LATIN_LABEL = re.compile(r"[A-Za-z_]+\s*：")  # a field key used as a label ("text：") on a Chinese page
VALID_ID = "11010519491231002X"  # GB 11643 example number with a right check digit


async def _no_sideways_scroll(page, what: str) -> None:
    width = await page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width[0] <= width[1] + 1, f"{what}: the page scrolls sideways on a phone ({width[0]} > {width[1]} px)"


async def _visible_text(page) -> str:
    return await page.evaluate("() => document.body.innerText")


async def _check_page(page, what: str, shots, name: str) -> str:
    await _no_sideways_scroll(page, what)
    text = await _visible_text(page)
    found = sorted(set(CODE_WORDS.findall(text)) | set(LATIN_LABEL.findall(text)))
    assert not found, f"{what} shows internal codes to a citizen: {found}"
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    return text


async def test_a_citizen_files_follows_and_adds_to_a_petition_on_a_phone(live_server, browser, tenants, tmp_path):
    base, slug = live_server, tenants.A
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await phone.new_page()

    await page.goto(f"{base}/t/{slug}/")
    home = await _check_page(page, "the portal's front page", tmp_path, "1-portal")
    assert "信访" in home
    await page.click("a[href$='/petition/petition']")
    await page.wait_for_selector("form textarea[name='content']")
    await _check_page(page, "the petition form", tmp_path, "2-form")
    # A checkbox's help sits on its own line under the box and its label, not squeezed into a column beside the label;
    # the label stays beside its box even when long (the English one, with the Chinese after it).
    for lang in ("en", "zh"):  # Chinese last: the choice is kept in a cookie for the rest of the visit
        await page.goto(f"{base}/t/{slug}/petition/petition?lang={lang}")
        field = page.locator(".xf-checkbox:has([name='reported_elsewhere'])")
        box, label, help_box = [await field.locator(part).bounding_box() for part in ("input", "label", ".xf-help")]
        assert label["x"] > box["x"] + box["width"] and label["y"] < box["y"] + box["height"], (lang, box, label)
        assert help_box["y"] >= label["y"] + label["height"] - 1 and help_box["width"] > 300, (lang, label, help_box)

    await page.fill("input[name='title']", "学校食堂收费不公开")
    await page.select_option("select[name='category']", index=1)
    await page.fill("textarea[name='content']", "某中学食堂每月加收伙食费二十元，没有公示收费依据，家长多次询问无人答复。")
    await page.fill("input[name='petitioner_name']", "王小明")
    await page.fill("input[name='id_number']", VALID_ID)
    await page.fill("input[name='phone']", "13800138000")
    await page.click("button[type='submit']")
    await page.wait_for_selector(".receipt-number")
    receipt_page = await _check_page(page, "the receipt page", tmp_path, "3-receipt")
    receipt = await page.get_attribute(".receipt-number", "data-receipt")
    assert receipt and re.fullmatch(r"\d{16}", receipt), receipt
    lines = await page.evaluate("""() => { const range = document.createRange(); range.selectNodeContents(document.querySelector('.receipt-number'));
                                           return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }""")
    assert lines == 1, f"the receipt breaks over {lines} lines on a phone: four groups of four digits must stay on one line"
    assert "回执" in receipt_page and VALID_ID not in receipt_page  # the identity is never echoed back

    # Later: the case is accepted by the registrar; the citizen looks it up with the receipt.
    registrar = live_token(base, slug, "registrar")
    found = httpx.get(f"{base}/t/{slug}/api/petitions", params={"page_size": 100}, headers=live_token(base, slug, "leader")).json()["items"]
    pid = next(item["id"] for item in found if item["title"] == "学校食堂收费不公开")
    moved = httpx.post(f"{base}/t/{slug}/api/petitions/{pid}/transitions/accept", json={"fields": {"opinion": "受理"}}, headers=registrar)
    assert moved.status_code == 200, moved.text

    await page.goto(f"{base}/t/{slug}/track")
    await _check_page(page, "the look-up page", tmp_path, "4-track")
    await page.fill("input[name='receipt']", receipt)
    await page.click("button[type='submit']")
    await page.wait_for_selector("textarea[name='text']")
    status = await _check_page(page, "the status page", tmp_path, "5-status")
    assert "受理" in status  # the state in words
    assert "UTC" not in status and not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", status)  # times in the tenant's zone, not ISO

    await page.fill("textarea[name='text']", "补充：收费通知单照片已在家长群里，可以提供。")
    await page.click("form:has(textarea[name='text']) button[type='submit']")
    await page.wait_for_selector("text=已收到您的补充材料")
    after = await _check_page(page, "the status page after adding information", tmp_path, "6-supplement")
    assert "收费通知单照片" in after
    await phone.close()
