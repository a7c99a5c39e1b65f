"""In Chromium: a tenant admin publishes a form. A refused schema is told in words (the page's language only,
each field's message listed, never raw JSON); a published version shows in the form's tab at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.login_pages import sign_in

ENGLISH = re.compile(r"\b(is|are|must|not|the|of)\b")


async def open_admin(browser, live_server, slug: str, key: str, lang: str):
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/admin/forms?key={key}&lang={lang}", "admin")
    try:
        await page.wait_for_selector("#preview label", timeout=15_000)
    except Exception:
        raise AssertionError(f"no preview at {page.url}: {(await page.inner_text('main'))[:800]}") from None
    return context, page


async def test_a_refused_schema_is_told_in_words_and_a_new_version_shows_in_the_tab(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    context, page = await open_admin(browser, live_server, tenants.B, "report", "zh")
    tab = page.locator("#form-tabs a[data-key='report'] .version")
    before = int(re.search(r"\d+", await tab.inner_text()).group())
    schema = await page.input_value("#schema")

    await page.fill("#schema", schema.replace('"type": "object"', '"type": "objekt"', 1))
    await page.click("#publish")
    errors = page.locator("#publish-errors")
    await errors.locator("li").first.wait_for()
    told = await errors.inner_text()
    assert told.startswith("表单定义不符合要求") and "invalid_input" not in told and '{"' not in told
    for line in (await errors.locator("li").all_inner_texts()):
        words = line.split("（位置")[0]
        assert re.search(r"[\u4e00-\u9fff]", words) and "{" not in words, line  # a sentence in Chinese, not JSON
        assert not ENGLISH.search(words), line  # no English sentence beside it on a Chinese page
    assert await tab.inner_text() == f"第 {before} 版"
    await page.screenshot(path=str(shots / "form-publish-refused.png"), full_page=True)

    await page.fill("#schema", schema[:-3])  # cut short: not JSON at all
    await page.click("#publish")
    await page.locator("#publish-errors", has_text="不是有效的 JSON").wait_for()

    edited = schema.replace('"title": "被反映人"', '"title": "被反映人（发布测试）"', 1)
    assert edited != schema, "the report template changed its subject's title; update this test"
    await page.fill("#schema", edited)
    await page.click("#publish")
    await page.locator("#status", has_text=f"已发布为第 {before + 1} 版").wait_for()
    assert await errors.is_hidden()
    assert await tab.inner_text() == f"第 {before + 1} 版"  # the tab reads the new version without a reload
    await page.screenshot(path=str(shots / "form-published.png"), full_page=True)
    await page.click("#publish")
    await page.locator("#status", has_text=f"与第 {before + 1} 版相同").wait_for()
    await page.reload()
    assert await page.locator("#form-tabs a[data-key='report'] .version").inner_text() == f"第 {before + 1} 版"
    await context.close()

    context, page = await open_admin(browser, live_server, tenants.B, "report", "en")
    await page.fill("#schema", schema.replace('"type": "object"', '"type": "objekt"', 1))
    await page.click("#publish")
    await page.locator("#publish-errors li").first.wait_for()
    told = await page.inner_text("#publish-errors")
    assert "the form schema was refused" in told and not re.search(r"[\u4e00-\u9fff]", told)  # English only
    await context.close()
