"""Logging in through the login *pages* the way a browser does: fetch the page, send its token back."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def form_login(browser, login_path: str, username: str, password: str = PASSWORD, *, next: str = "", **options):
    """POST the login form of ``login_path`` (e.g. /t/<slug>/staff/login) with the token its page handed out."""
    page = await browser.get(login_path, **options)
    assert page.status_code == 200, await page.get_data(as_text=True)
    token = TOKEN.search(await page.get_data(as_text=True)).group(1)
    return await browser.post(login_path, form={"username": username, "password": password, "next": next, "csrf_token": token}, **options)


async def staff_login(browser, slug: str, username: str, password: str = PASSWORD, **options):
    return await form_login(browser, f"/t/{slug}/staff/login", username, password, **options)


async def sign_in(page, url: str | None, username: str, password: str = PASSWORD) -> None:
    """In a real browser: open ``url`` (a login page, or a page that sends there; None: the page already open), log in."""
    if url:
        await page.goto(url)
    await page.fill("input[name='username']", username)
    await page.fill("input[name='password']", password)
    await page.click("button[type='submit']")


def live_token(base: str, slug: str, username: str, password: str = PASSWORD) -> dict:
    """A bearer header for ``username`` of ``slug`` from a real server at ``base`` (the browser tests' API side)."""
    import httpx

    answer = httpx.post(f"{base}/t/{slug}/api/tokens", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
