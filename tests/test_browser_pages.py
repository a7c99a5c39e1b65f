"""Headless Chromium on pages of issue 11: the staff petition page (attachments, the assignee's name) and the
citizen's form after an empty submit (only the fields in error outlined). Screenshots go to the test's tmp dir."""

from __future__ import annotations

import json

import httpx

from tests.login_pages import live_token, sign_in
from tests.test_petitions import ANONYMOUS, PNG

ACCENT = "rgb(179, 38, 30)"  # --accent in xinfang.css


async def test_the_staff_petition_page_lists_attachments_and_names_the_assignee(live_server, browser, tenants, tmp_path):
    base, slug = live_server, tenants.A
    filed = httpx.post(f"{base}/t/{slug}/api/petitions/submit", data={"payload": json.dumps({"form": "petition", "answers": ANONYMOUS, "anonymous": True})},
                       files={"files": ("现场照片.png", PNG, "image/png")})
    assert filed.status_code == 201, filed.text
    registrar, leader = live_token(base, slug, "registrar"), live_token(base, slug, "leader")
    found = httpx.get(f"{base}/t/{slug}/api/petitions", params={"page_size": 50}, headers=leader).json()["items"]
    pid = next(i["id"] for i in found if i["number"] == filed.json()["number"])
    handler = next(a for a in httpx.get(f"{base}/t/{slug}/api/accounts", headers=leader).json()["accounts"] if a["username"] == "handler")
    assert httpx.post(f"{base}/t/{slug}/api/petitions/{pid}/transitions/accept", json={"fields": {"opinion": "受理"}}, headers=registrar).status_code == 200
    assert httpx.post(f"{base}/t/{slug}/api/petitions/{pid}/transitions/assign", json={"fields": {"assignee": handler["id"]}}, headers=leader).status_code == 200

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, f"{base}/t/{slug}/staff/login", "leader")
    await page.goto(f"{base}/t/{slug}/staff/petitions/{pid}")
    assert "现场照片.png" in await page.inner_text("ul.attachments")
    timeline = await page.inner_text("ol.timeline")
    assert handler["display_name"] in timeline and handler["id"] not in timeline
    await page.screenshot(path=str(tmp_path / "staff-petition.png"), full_page=True)
    async with page.expect_download() as downloading:
        await page.click("ul.attachments a")
    download = await downloading.value
    assert download.suggested_filename == "现场照片.png"
    assert open(await download.path(), "rb").read() == PNG
    await context.close()


async def test_after_an_empty_submit_only_fields_in_error_are_outlined(live_server, browser, tenants, tmp_path):
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await phone.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/report")
    await page.click("button[type='submit']")
    await page.locator(".xf-error").first.wait_for()  # the errors may come back as a new page: wait, then count
    assert await page.locator(".xf-error").count() > 0

    def border(selector: str):
        return page.eval_on_selector(selector, "e => getComputedStyle(e).borderTopColor")

    assert await border("textarea[name='content']") == ACCENT  # required and empty
    # Optional fields inside the 被反映人 fieldset (which has an error of its own) keep the plain border.
    for optional in ("subject.unit", "subject.position"):
        assert await border(f"[data-field='{optional}'] input, [data-field='{optional}'] select") != ACCENT, optional
    assert await page.eval_on_selector("fieldset[data-field='subject']", "e => getComputedStyle(e).borderLeftColor") == ACCENT
    await page.screenshot(path=str(tmp_path / "report-empty-submit.png"), full_page=True)
    await phone.close()


async def test_the_colour_picker_shows_a_swatch_that_follows_it_under_the_csp(live_server, browser, tenants, tmp_path):
    from tests.test_browser_csp import watch

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    violations = watch(page)
    await sign_in(page, f"{live_server}/t/{tenants.B}/admin/supervision?edit=card:orange", "admin")  # to the login page, then back

    def swatch():
        return page.eval_on_selector("#colour-swatch", "e => [getComputedStyle(e).backgroundColor, e.getBoundingClientRect().width]")

    colour, width = await swatch()
    assert colour == "rgb(251, 133, 0)" and width >= 40  # the bundle's orange, visibly wide
    assert await page.inner_text("#colour-swatch output") == "#fb8500"
    await page.wait_for_load_state("load")  # the page's deferred script listens from here on (a loaded machine may be slower)
    await page.fill("input[type=color][name='colour']", "#1a7f37")  # picking fires input/change like a person's pick
    await page.wait_for_function("() => getComputedStyle(document.querySelector('#colour-swatch')).backgroundColor"
                                 " === 'rgb(26, 127, 55)'", timeout=10_000)
    assert (await swatch())[0] == "rgb(26, 127, 55)"
    assert await page.inner_text("#colour-swatch output") == "#1a7f37"
    await page.locator("#definition").screenshot(path=str(tmp_path / "colour-swatch.png"))
    assert violations == [], violations
    await context.close()
