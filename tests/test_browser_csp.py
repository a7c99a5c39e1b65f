"""The pages still work under their Content-Security-Policy, in a real Chromium (Debian's, via Playwright).

Chromium reports every refused script, handler, style or frame as a console error naming the policy; these
flows must produce none, and the check is shown to catch one (an inline handler added to a live page).
"""

from __future__ import annotations

from tests.login_pages import sign_in
from playwright.async_api import expect

POLICY_WORDS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy", "Permissions Policy")


def watch(page) -> list[str]:
    """Console errors and warnings about our policies (and uncaught page errors), as they happen."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if m.type in ("error", "warning") and any(w in m.text for w in POLICY_WORDS) else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    return seen


async def test_the_citizen_flow_runs_under_the_policy_without_a_violation(live_server, browser, tenants):
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    violations = watch(page)
    home = await page.goto(f"{live_server}/t/{tenants.A}/")
    policy = home.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline' " not in policy.split("script-src", 1)[1].split(";")[0]
    await page.click(f"a[href='/t/{tenants.A}/petition/petition']")
    await page.wait_for_url(f"**/t/{tenants.A}/petition/petition", wait_until="load")  # count on the form, not mid-navigation
    assert await page.locator("script:not([src])").count() == 0  # no inline script on the form
    await page.check("input[name='_anonymous'][value='1']")
    await page.fill("input[name='title']", "CSP 测试：校服收费")
    await page.select_option("select[name='category']", "integrity")
    await page.fill("textarea[name='content']", "校服每套多收 30 元。")
    await page.click("button[type='submit']")
    receipt = await page.get_attribute(".receipt-number", "data-receipt")
    assert receipt and len(receipt) == 16
    await page.click(f"a[href='/t/{tenants.A}/track']")
    await page.fill("input[name='receipt']", receipt)
    await page.click("button[type='submit']")
    await expect(page.locator(".state")).to_have_attribute("data-state", "registered")
    await page.fill("textarea[name='text']", "补充：收费时间为九月")
    await page.click("form[action$='/track/supplement'] button[type='submit']")
    await expect(page.locator("main")).to_contain_text("补充：收费时间为九月")
    assert violations == [], violations
    await context.close()


async def test_the_form_admin_live_preview_runs_under_the_policy(live_server, browser, tenants):
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    violations = watch(page)
    await sign_in(page, f"{live_server}/t/{tenants.A}/admin/forms?key=suggestion", "admin")  # to the login page, then back
    await page.locator("#preview label").first.wait_for(timeout=10_000)  # form-admin.js ran: fetch + DOM under the CSP
    schema = await page.input_value("#schema")
    await page.fill("#schema", schema.replace('"title": "建议主题"', '"title": "CSP 预览标题"', 1))
    await page.locator("#preview", has_text="CSP 预览标题").wait_for()
    assert violations == [], violations

    # The watch does catch a violation: an inline handler slipped into the live page is refused and reported.
    await page.evaluate("""() => { const i = document.createElement('img'); i.setAttribute('onerror', 'window.injected = 1');
                                  i.src = '/static/no-such-image.png'; document.body.appendChild(i); }""")
    await page.wait_for_timeout(500)
    assert await page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in v for v in violations), violations
    await context.close()
