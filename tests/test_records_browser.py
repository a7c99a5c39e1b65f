"""Headless Chromium at phone width (390 px): 泗阳's leader opens a case the handler closed, archives it (归档) from the
case's page, reads the archived record (the read is in the audit chain) and downloads its package (a ZIP whose manifest
hashes match its files); the case's page then says 已归档 with the 归档号. Screenshots in the tmp dir (and
XINFANG_SHOTS, when set)."""

from __future__ import annotations

import hashlib
import json
import zipfile

from bson import ObjectId

from xinfang.audit.models import AuditRecord
from tests.conftest import login_token
from tests.login_pages import sign_in
from tests.test_documents_studio_browser import _shot
from tests.test_records import _close, _filed

PHONE = {"width": 390, "height": 844}
CODES = ("petition", "supervision", "records.read", "None", "closed")


async def _fits_and_speaks(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    text = await page.inner_text("main") if await page.locator("main").count() else await page.inner_text("body")
    for code in CODES:
        assert code not in text, code


async def test_a_leader_archives_reads_and_downloads_a_closed_case_on_a_phone(live_server, browser, client, tenants, tmp_path):
    a = tenants.A
    leader = await login_token(client, a, "leader")
    rows = (await (await client.get(f"/t/{a}/api/accounts", headers=leader)).get_json())["accounts"]
    accounts, names = {r["username"]: r["id"] for r in rows}, {r["username"]: r["display_name"] for r in rows}
    title = f"归档浏览器测试 {ObjectId()}"[:40]
    pid = await _filed(client, a, leader, title)
    await _close(pid, accounts["handler"], names["handler"])  # the handler closed it: the leader may archive it

    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True)
    page = await phone.new_page()
    case_url = f"{live_server}/t/{a}/staff/petitions/{pid}"
    await sign_in(page, case_url, "leader")
    await page.wait_for_url(case_url)
    panel = page.locator("#archive-record")
    await panel.scroll_into_view_if_needed()
    assert "办结" in await panel.inner_text()
    await _fits_and_speaks(page)
    await _shot(page, tmp_path, "record-archive-button-phone.png")

    await panel.get_by_role("button", name="归档并编归档号").click()
    await page.wait_for_url("**/staff/records/*")
    number = await page.locator("#record-number").inner_text()
    record_id = page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    main = await page.locator("main").inner_text()
    assert number and title in main and "本次查阅已记入审计日志" in main
    reads = await AuditRecord.get_pymongo_collection().find({"action": "records.read", "subject": record_id}).to_list(None)
    assert reads and reads[-1]["actor_username"] == "leader"
    await _shot(page, tmp_path, "record-read-phone.png")
    await _fits_and_speaks(page)

    async with page.expect_download() as waiting:
        await page.locator("#export").click()
    download = await waiting.value
    saved = tmp_path / "package.zip"
    await download.save_as(str(saved))
    with zipfile.ZipFile(saved) as package:
        names_in = set(package.namelist())
        manifest_name = next(n for n in names_in if n.endswith("manifest.json"))
        manifest = json.loads(package.read(manifest_name))
        assert manifest["archive_number"] == number
        entries = manifest["files"]
        assert entries, manifest
        for entry in entries:
            assert hashlib.sha256(package.read(entry["path"])).hexdigest() == entry["sha256"], entry
    exports = await AuditRecord.get_pymongo_collection().find({"action": "records.export", "subject": record_id}).to_list(None)
    assert exports

    await page.goto(f"{live_server}/t/{a}/staff/records")  # the list a clerk looks the record up in, on the same phone
    assert number in await page.locator("table#records").inner_text()
    assert (await page.locator("table#records tbody tr", has_text=number).locator("td.title").bounding_box())["width"] >= 250
    await _fits_and_speaks(page)  # the table scrolls in its box: the page was 485 px wide
    await _shot(page, tmp_path, "record-list-phone.png")

    await page.goto(case_url)
    panel = page.locator("#archive-record")
    await panel.scroll_into_view_if_needed()
    text = await panel.inner_text()
    assert "已归档" in text and number in text and "不能再更改" in text
    assert await panel.get_by_role("link", name="查看归档记录（查阅将记入审计日志）").count() == 1
    # The case followed its workflow's 归档 step: its state reads 已归档 and no step is offered any more.
    assert "已归档" in await page.locator("main dl").first.inner_text()
    assert await page.get_by_role("button", name="归档").count() == 0
    await _fits_and_speaks(page)
    await _shot(page, tmp_path, "record-case-archived-phone.png")

    await phone.clear_cookies()  # the tenant admin sets the rules on the same phone: each retention reads whole
    admin = await phone.new_page()
    await sign_in(admin, f"{live_server}/t/{a}/admin/records", "admin")
    await admin.wait_for_url("**/admin/records")
    assert (await admin.locator("#years_petition").bounding_box())["width"] >= 100  # it was squeezed to 40 px, blank
    await _fits_and_speaks(admin)
    await _shot(admin, tmp_path, "record-rules-phone.png")
    await phone.close()
