"""Superusers log out from the platform's pages (there was no way but closing the browser)."""

from __future__ import annotations

import re

from tests.login_pages import form_login


async def test_a_superuser_logs_out_from_the_review_pages(app):
    browser = app.test_client()
    assert (await form_login(browser, "/platform/login", "org-reviewer")).status_code == 302
    page = await (await browser.get("/platform/reviews")).get_data(as_text=True)
    assert 'action="/platform/logout"' in page and "退出" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    forged = await browser.post("/platform/logout", form={"csrf_token": "not-the-token"})
    assert forged.status_code in (400, 403)  # a cross-site form cannot sign the reviewer out
    assert (await browser.get("/platform/reviews")).status_code == 200

    out = await browser.post("/platform/logout", form={"csrf_token": token})
    assert out.status_code == 302 and out.headers["Location"].endswith("/platform/login")
    after = await browser.get("/platform/reviews")
    assert after.status_code == 302 and "/platform/login" in after.headers["Location"]  # signed out: back to the login


async def test_logging_out_without_a_session_is_refused_not_an_error(app):
    stranger = app.test_client()
    answer = await stranger.post("/platform/logout", form={})
    assert 300 <= answer.status_code < 500
