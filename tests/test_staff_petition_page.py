"""The staff petition page as a browser gets it: the citizen's attachments and the people named in the history."""

from __future__ import annotations

import html
import io
import json

from werkzeug.datastructures import FileStorage

from tests.conftest import login_token
from tests.login_pages import staff_login
from tests.test_petitions import ANONYMOUS, PNG, petition_id_of

SCAN = PNG + b"\x00" * 2000  # 2,072 bytes: shown as 2 KB


async def _filed_with_attachment(client, slug: str, address: str) -> str:
    payload = json.dumps({"form": "petition", "answers": ANONYMOUS, "anonymous": True})
    accepted = await client.post(f"/t/{slug}/api/petitions/submit", form={"payload": payload},
                                 files={"files": FileStorage(io.BytesIO(SCAN), filename="收费收据.png", content_type="image/png")},
                                 scope_base={"client": (address, 1)})
    assert accepted.status_code == 201, await accepted.get_data(as_text=True)
    return await petition_id_of(slug, (await accepted.get_json())["number"])


async def test_staff_see_and_download_the_citizens_attachments_on_the_page(app, tenants):
    client, browser = app.test_client(), app.test_client()
    pid = await _filed_with_attachment(client, tenants.A, "10.61.0.1")
    handler = await login_token(client, tenants.A, "handler")
    [attachment_id] = (await (await client.get(f"/t/{tenants.A}/api/petitions/{pid}", headers=handler)).get_json())["attachments"]

    await staff_login(browser, tenants.A, "handler")
    page = await browser.get(f"/t/{tenants.A}/staff/petitions/{pid}")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200, text
    link = f"/t/{tenants.A}/api/petitions/{pid}/attachments/{attachment_id}"
    assert f'href="{link}"' in text and "收费收据.png" in text and "2 KB" in text
    download = await browser.get(link)  # the page's link works with the page's session
    assert download.status_code == 200 and await download.get_data() == SCAN

    # Another tenant's staff get neither the page nor the file.
    stranger = app.test_client()
    await staff_login(stranger, tenants.B, "handler")
    assert (await stranger.get(f"/t/{tenants.B}/staff/petitions/{pid}")).status_code == 404
    assert (await stranger.get(f"/t/{tenants.B}/api/petitions/{pid}/attachments/{attachment_id}")).status_code == 404


async def _handlers_page_of_an_anonymous_petition(app, slug: str, address: str) -> str:
    """File an anonymous petition without attachments; its staff page as the handler's browser gets it."""
    client, browser = app.test_client(), app.test_client()
    response = await client.post(f"/t/{slug}/api/petitions/submit", json={"form": "petition", "answers": ANONYMOUS, "anonymous": True},
                                 scope_base={"client": (address, 1)})
    pid = await petition_id_of(slug, (await response.get_json())["number"])
    await staff_login(browser, slug, "handler")
    return await (await browser.get(f"/t/{slug}/staff/petitions/{pid}")).get_data(as_text=True)


async def test_a_petition_without_attachments_shows_no_attachment_section(app, tenants):
    text = await _handlers_page_of_an_anonymous_petition(app, tenants.A, "10.61.0.2")
    assert "/attachments/" not in text and "附件" not in text


async def test_the_timeline_names_the_assignee_not_its_id(app, tenants):
    client, browser = app.test_client(), app.test_client()
    pid = await _filed_with_attachment(client, tenants.A, "10.61.0.3")
    registrar, leader = [await login_token(client, tenants.A, u) for u in ("registrar", "leader")]
    accounts = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=leader)).get_json())["accounts"]
    handler = next(a for a in accounts if a["username"] == "handler")
    for key, fields in (("accept", {"opinion": "受理"}), ("assign", {"assignee": handler["id"]})):
        acted = await client.post(f"/t/{tenants.A}/api/petitions/{pid}/transitions/{key}", headers=registrar if key == "accept" else leader,
                                  json={"fields": fields})
        assert acted.status_code == 200, await acted.get_data(as_text=True)

    await staff_login(browser, tenants.A, "leader")
    text = await (await browser.get(f"/t/{tenants.A}/staff/petitions/{pid}")).get_data(as_text=True)
    timeline = text[text.index('class="timeline"'):]
    assert handler["id"] not in timeline
    assert html.escape(handler["display_name"]) in timeline


async def test_channel_and_form_show_in_words_not_codes(app, tenants):
    text = await _handlers_page_of_an_anonymous_petition(app, tenants.A, "10.61.0.4")
    assert "<dd>网上信访</dd>" in text and "渠道：</em>网上信访" in text  # the facts and the submission step
    assert ">online<" not in text and "channel：" not in text and "online</div>" not in text
    assert "（第 1 版）" in text and "petition v1" not in text
