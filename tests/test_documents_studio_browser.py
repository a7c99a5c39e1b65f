"""Headless Chromium: 泗阳's tenant admin goes from the 配置中心 to the 督办函 template, inserts a placeholder by clicking,
previews on sample data, saves (a version); the handler's next 督办函 shows it. At desktop width and at 390 px; every
page fits the phone; words, never codes. Screenshots in the tmp dir (and XINFANG_SHOTS, when set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from xinfang.tenancy.config_versions import list_config_versions
from tests.login_pages import sign_in
from tests.test_documents_studio import siyang  # noqa: F401 (the fixture: 泗阳's templates as they were, afterwards)

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CODES = ("supervision_letter", "document_template", "None")
MARK = "本委督办专用版式"


def _keep(path: Path) -> None:
    shots = os.environ.get("XINFANG_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(shots) / path.name)


async def _shot(page, tmp_path, name: str) -> None:
    path = tmp_path / name
    await page.screenshot(path=str(path), full_page=True)
    _keep(path)


async def _speaks(page, width: int | None = None) -> None:
    if width:
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
    text = await page.inner_text("main") if await page.locator("main").count() else await page.inner_text("body")
    for code in CODES:
        assert code not in text, code


async def test_an_admin_edits_the_supervision_letter_template_in_the_studio(live_server, browser, tenants, tmp_path, siyang):  # noqa: F811
    slug = tenants.A
    desk = await browser.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/admin/studio", "admin")
    await page.wait_for_url("**/admin/studio")
    assert "公文模板" in await page.locator("#section-document_templates h2").inner_text()
    await page.locator("#section-document_templates a.open").click()
    await page.wait_for_url("**/staff/document-settings")
    await page.get_by_role("link", name="督办函").click()
    await page.wait_for_url("**/staff/document-templates/supervision_letter")
    await _speaks(page)
    await _shot(page, tmp_path, "document-template-desktop.png")

    area = page.locator("textarea#template")
    await area.fill(f'<p style="text-align: center">{MARK}</p>\n<p>')
    await area.press("End")
    row = page.locator("tr", has=page.locator("code", has_text="{{ tenant_name }}"))
    await row.get_by_role("button", name="插入").click()  # the placeholder lands at the cursor
    await area.press("End")
    await area.type("：</p>\n")
    paragraphs = page.locator("tr", has=page.locator("code", has_text="for paragraph in paragraphs"))
    await paragraphs.get_by_role("button", name="插入").click()
    value = await area.input_value()
    assert "{{ tenant_name }}" in value and "{% for paragraph in paragraphs %}" in value
    await page.get_by_role("button", name="用示例数据预览").click()
    await page.wait_for_selector(".document-page")
    preview = await page.locator(".document-page").inner_text()
    assert MARK in preview and "第一段。" in preview and "泗阳" in preview
    await _shot(page, tmp_path, "document-template-preview-desktop.png")
    await page.get_by_role("button", name="保存").click()
    await page.wait_for_url("**saved=save")
    assert "已保存" in await page.locator("main").inner_text()
    assert (await list_config_versions(siyang, "document_template:supervision_letter"))[0].content["template"].startswith(
        f'<p style="text-align: center">{MARK}')
    await desk.close()

    phone = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{slug}/staff/document-templates/supervision_letter", "admin")
    await page.wait_for_url("**/staff/document-templates/supervision_letter")
    await page.get_by_role("button", name="用示例数据预览").click()
    await page.wait_for_selector(".document-page")
    await _speaks(page, PHONE["width"])
    assert "第 1 版" in await page.locator("section.versions").inner_text()
    await _shot(page, tmp_path, "document-template-phone.png")

    # The handler's next 督办函 is drafted from it.
    await phone.clear_cookies()
    await sign_in(page, f"{live_server}/t/{slug}/staff/documents/new", "handler")
    await page.wait_for_url("**/staff/documents/new")
    await page.select_option("select[name='kind']", "supervision_letter")
    await page.fill("input[name='title']", "关于督促办理食堂收费问题的督办函")
    await page.fill("textarea[name='body']", "请于五个工作日内核实办理并报告结果。")
    await page.fill("input[name='to_departments']", "县教育局")
    await page.get_by_role("button", name="保存草稿，送核稿").click()
    await page.wait_for_selector("span.badge.state[data-state='draft']")
    body = await page.locator("section.document-body").inner_text()
    assert MARK in body and "请于五个工作日内核实办理并报告结果。" in body
    await _speaks(page, PHONE["width"])
    await _shot(page, tmp_path, "document-drafted-from-template-phone.png")
    await phone.close()
