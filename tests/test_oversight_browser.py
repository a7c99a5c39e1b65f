"""Headless Chromium at desktop width: 巴州's leader opens a 督办 of a case 库尔勒 holds from the 督办 page, finds it in
the list with its statistics, and accepts 库尔勒's result report on the item's page. Screenshots go to
XINFANG_TEST_SCREENSHOTS, else the test's tmp dir."""

from __future__ import annotations

import os
from pathlib import Path

from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import has_lower_bodies

from tests.login_pages import sign_in
from tests.test_upper_level import assigned_down


async def test_the_prefecture_supervises_from_its_oversight_list(live_server, browser, client, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    case = await assigned_down(client, tenants)
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.B}/staff/oversight", "leader")
    await page.wait_for_url(f"**/t/{tenants.B}/staff/oversight")
    assert await page.locator("nav.staff").get_by_role("link", name="督办", exact=True).count() == 1  # in the staff navigation
    assert await page.locator("nav.sub-tabs a[aria-current='page']").inner_text() == "本单位发起的督办"

    await page.goto(f"{live_server}/t/{tenants.B}/staff/oversight?subject={case.number}")  # as a link from the case would
    form = page.locator("form[data-action='open-oversight']")
    assert await form.locator("input[name='subject']").input_value() == case.number
    await form.locator("textarea[name='requirement']").fill("请于 5 个工作日内核实并报送办理结果")
    await form.locator("input[name='working_days']").fill("5")
    await form.get_by_role("button", name="发起督办").click()
    await page.wait_for_url("**/staff/oversight/*")
    assert await page.locator("dd.oversight-state").inner_text() == "督办中，待下级报送结果"
    assert "库尔勒" in await page.locator("dl.facts").first.inner_text()
    oversight_id = page.url.rsplit("/", 1)[1]

    report = await client.post(f"/t/{tenants.CHILD_OF_B}/api/oversight/{oversight_id}/reports", headers=case.korla_handler,
                               json={"text": "已约谈被反映人，责令退还费用，整改完毕。"})
    assert report.status_code == 201, await report.get_data(as_text=True)

    await page.goto(f"{live_server}/t/{tenants.B}/staff/oversight")
    row = page.locator("table.oversight tr", has_text=case.number)
    assert await row.get_by_text("结果已报送，待上级审核").count() == 1
    assert await page.locator("table.per-body th[scope='row']", has_text="库尔勒").count() == 1
    content = await page.content()
    assert "awaiting_report" not in content.replace('data-state="awaiting_report"', "").replace("state=awaiting_report", "")
    await page.screenshot(path=str(shots / "oversight-list-desktop.png"), full_page=True)

    await row.get_by_role("link").first.click()
    await page.wait_for_url(f"**/staff/oversight/{oversight_id}")
    assert await page.locator("section.report blockquote").inner_text() == "已约谈被反映人，责令退还费用，整改完毕。"
    await page.locator("form[data-action='accept']").get_by_role("button", name="采纳").click()
    await page.wait_for_url(f"**/staff/oversight/{oversight_id}")
    assert "结果已采纳，督办办结" in await page.locator("dd.oversight-state").inner_text()
    assert await page.locator("form[data-action='remind']").count() == 0
    await page.screenshot(path=str(shots / "oversight-item-accepted.png"), full_page=True)
    print("screenshots:", shots)
    await desk.close()


PHONE = {"width": 390, "height": 844}


async def test_on_phones_the_county_reports_with_a_file_and_the_prefecture_withdraws(live_server, browser, client, tenants, tmp_path):
    """390 px: 库尔勒's handler reports with a PDF; 巴州's leader sees the file and withdraws the 督办 with a reason; 库尔勒
    then sees 已撤销 with the reason, and no report form."""
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    case = await assigned_down(client, tenants)
    opened = await client.post(f"/t/{tenants.B}/api/oversight", headers=case.bazhou_leader, json={
        "subject_kind": "petition", "subject": case.number, "requirement": "请核实后报送整改材料", "working_days": 5})
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    oid = (await opened.get_json())["id"]
    pdf = tmp_path / "整改材料.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% phone upload\n")

    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    county = await phone.new_page()
    await sign_in(county, f"{live_server}/t/{tenants.CHILD_OF_B}/staff/oversight/{oid}", "handler")
    await county.wait_for_url(f"**/staff/oversight/{oid}")
    form = county.locator("form[data-action='report']")
    await form.locator("textarea[name='text']").fill("已核实，附整改材料。")
    await form.locator("input[type='file']").set_input_files(str(pdf))
    await county.screenshot(path=str(shots / "oversight-report-file-phone.png"), full_page=True)
    await form.get_by_role("button", name="报送").click()
    await county.wait_for_url(f"**/staff/oversight/{oid}")
    assert await county.locator("section.report ul.attachments a").inner_text() == "整改材料.pdf"
    assert await county.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    await phone.clear_cookies()
    upper = await phone.new_page()
    await sign_in(upper, f"{live_server}/t/{tenants.B}/staff/oversight/{oid}", "leader")
    await upper.wait_for_url(f"**/staff/oversight/{oid}")
    link = upper.locator("section.report ul.attachments a")
    assert await link.inner_text() == "整改材料.pdf"
    async with upper.expect_download() as download:
        await link.click()
    assert (await (await download.value).path()).read_bytes() == pdf.read_bytes()
    withdraw = upper.locator("form[data-action='withdraw']")
    await withdraw.locator("textarea[name='reason']").fill("该件已并入信访联席会议统一督办")
    await upper.screenshot(path=str(shots / "oversight-withdraw-phone.png"), full_page=True)
    await withdraw.get_by_role("button", name="撤销督办").click()
    await upper.wait_for_url(f"**/staff/oversight/{oid}")
    assert await upper.locator("dd.oversight-state").inner_text() == "已撤销"
    assert "该件已并入信访联席会议统一督办" in await upper.locator("dd.withdrawn").inner_text()
    assert await upper.locator("form[data-action='withdraw'], form[data-action='remind']").count() == 0
    assert await upper.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await upper.screenshot(path=str(shots / "oversight-withdrawn-phone.png"), full_page=True)
    await upper.goto(f"{live_server}/t/{tenants.B}/staff/oversight?state=withdrawn")
    assert await upper.locator("table.oversight tr", has_text=case.number).get_by_text("已撤销").count() == 1
    card = upper.locator("table.oversight tr", has_text=case.number)  # on the phone each item is a card, its facts named
    assert (await card.locator("td.title").bounding_box())["width"] >= 250
    assert "督办期限" in await card.locator("td[data-label='督办期限']").evaluate("td => getComputedStyle(td, '::before').content")
    await upper.screenshot(path=str(shots / "oversight-list-withdrawn-phone.png"), full_page=True)

    await phone.clear_cookies()
    lower = await phone.new_page()
    await sign_in(lower, f"{live_server}/t/{tenants.CHILD_OF_B}/staff/oversight/{oid}", "handler")
    await lower.wait_for_url(f"**/staff/oversight/{oid}")
    assert await lower.locator("dd.oversight-state").inner_text() == "已撤销"
    assert await lower.locator("form[data-action='report']").count() == 0
    await lower.screenshot(path=str(shots / "oversight-withdrawn-lower-phone.png"), full_page=True)
    # 督办 in the navigation: a body with none below it lands on what its upper body asked of it, not on an empty list
    await lower.goto(f"{live_server}/t/{tenants.CHILD_OF_B}/staff/oversight")
    korla = await Tenant.find_one({"slug": tenants.CHILD_OF_B})
    landing = "本单位发起的督办" if await has_lower_bodies(str(korla.id)) else "上级对本单位的督办"
    assert await lower.locator("nav.sub-tabs a[aria-current='page']").inner_text() == landing
    if landing == "上级对本单位的督办":
        assert await lower.locator("table.oversight tr", has_text=case.number).count() == 1
    print("screenshots:", shots)
    await phone.close()
