"""The frequent-words and matters pages, and a petition's likely-repeats panel, in Debian Chromium at a phone's
width (390 px) and a desktop's: no sideways scrolling, the matter's place, its words and 集体访 in words.

Five people write about one estate's restaurant fumes, registered with dates received in a month long ago (so the
windows hold only these petitions). Screenshots go to $XINFANG_TEST_SCREENSHOTS, else the test's tmp dir.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from pathlib import Path

import httpx

from tests.conftest import eventually
from tests.login_pages import live_token, sign_in
from tests.test_search import person

ESTATE = "洋湖湾小区"
TEXTS = ["洋湖湾小区楼下的柳州螺蛳粉店油烟直接往楼上排，窗户都不敢开，老人咳嗽加重了。",
         "我是洋湖湾小区的住户，楼下螺蛳粉店没有装油烟净化器，油烟熏得家里发黄。",
         "洋湖湾小区底商开了柳州螺蛳粉店，排烟管道对着住户窗户，油烟大，孩子老是咳嗽。",
         "投诉洋湖湾小区楼下螺蛳粉店油烟扰民，反映多次没人管。",
         "洋湖湾小区楼下柳州螺蛳粉店油烟直排，整栋楼都是油烟味，请尽快处理。"]
SIZES = {"phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
         "desk": {"viewport": {"width": 1366, "height": 900}}}


async def _no_sideways_scroll(page, what: str) -> None:
    width = await page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width[0] <= width[1] + 1, f"{what} scrolls sideways ({width[0]} > {width[1]} px)"


async def test_frequent_words_matters_and_repeats_read_on_a_phone_and_a_desk(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base, slug = live_server, tenants.A
    first = date(2003, 1, 1) + timedelta(days=random.randrange(0, 6 * 365))  # a month nobody else's petitions are in
    end = (first + timedelta(days=12)).isoformat()
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        registrar = live_token(base, slug, "registrar")
        ids = []
        for n, text in enumerate(TEXTS):
            filed = await api.post(f"/t/{slug}/api/petitions", headers=registrar, json={
                "form": "petition", "channel": "visit", "anonymous": False, "received_on": (first + timedelta(days=2 * n)).isoformat(),
                "answers": {"title": f"{ESTATE}螺蛳粉店油烟扰民", "content": text, "category": "mass", "region": "天心区"} | person()})
            assert filed.status_code == 201, filed.text
            ids.append(filed.json()["id"])
        handler = live_token(base, slug, "handler")

        async def indexed():  # the indexer built the matter and the words of these petitions
            matters = (await api.get(f"/t/{slug}/api/matters", headers=handler, params={"days": "30", "end": end})).json()
            words = (await api.get(f"/t/{slug}/api/frequent-words", headers=handler, params={"days": "30", "end": end})).json()
            matter = next((m for m in matters["matters"] if set(ids) <= {p["id"] for p in m["petitions"]}), None)
            return matter if matter and matter["collective"] and words["petitions"] == len(ids) else None

        # The session's one indexer serves every test of this process: on a loaded machine it may be minutes behind
        # (one run in four at 60 s, right after a file's worth of imports); a stall would still fail here.
        await eventually(indexed, timeout=180, message="the five petitions' matter, flagged collective")
        flagged = [pid for pid in ids if any("collective" in c["reasons"] for c in
                                            (await api.get(f"/t/{slug}/api/petitions/{pid}/duplicates", headers=handler)).json()["candidates"])]
    assert flagged, "no petition of the five carries the collective flag"

    for size, options in SIZES.items():
        context = await browser.new_context(locale="zh-CN", **options)
        page = await context.new_page()
        await sign_in(page, f"{base}/t/{slug}/staff/login", "handler")
        await page.goto(f"{base}/t/{slug}/staff/frequent-words?days=30&end={end}")
        await _no_sideways_scroll(page, f"the frequent-words page ({size})")
        topics = await page.locator(".topic-bars").inner_text()
        assert "频发词汇" in await page.inner_text("h1") and ("螺蛳粉" in topics or ESTATE in topics) and "油烟" in topics
        assert await page.input_value("input[name='end']") == end  # the window's end is shown and can be changed
        if size == "phone":  # the rising words: one card a word, not four squeezed columns
            assert (await page.locator("table.rising tbody tr td.title").first.bounding_box())["width"] >= 250
        await page.screenshot(path=str(shots / f"frequent-words-{size}.png"), full_page=True)

        await page.goto(f"{base}/t/{slug}/staff/matters?days=30&end={end}")
        await _no_sideways_scroll(page, f"the matters page ({size})")
        matter = page.locator("section.matter", has_text=ESTATE)
        text = await matter.inner_text()
        assert "集体访" in text and "5 件" in text and "5 名不同信访人" in text and "油烟" in text and "螺蛳粉" in text
        await page.screenshot(path=str(shots / f"matters-{size}.png"), full_page=True)

        await page.goto(f"{base}/t/{slug}/staff/petitions/{flagged[0]}")
        await _no_sideways_scroll(page, f"a petition with likely repeats ({size})")
        panel = await page.locator("section.duplicates").inner_text()
        assert "集体访" in panel and "收到于" in panel and "很可能是同一事项" in panel
        await page.locator("section.duplicates").screenshot(path=str(shots / f"likely-repeats-{size}.png"))
        await context.close()
