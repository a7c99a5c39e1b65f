"""In Chromium: a registrar uploads a mayor's-mailbox export (GBK CSV), maps the columns the page could not guess by
choosing field titles from lists, makes a dry run, and reads each faulty row's problem in Chinese; the progress bar
fills while the worker checks the rows."""

from __future__ import annotations

import csv
import io
import os
import uuid
from pathlib import Path

from tests.login_pages import sign_in
from tests.staffing import operator_account


def mailbox_export(tag: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["留言编号", "留言时间", "留言标题", "留言内容", "问题类别", "备注"])
    for i in range(30):
        title, when, category = f"{tag} 村务公开问题 {i}", f"2024/{1 + i % 12}/{1 + i % 27}", "违反群众纪律"
        if i == 4:
            title = ""
        if i == 9:
            when = "去年春节前后"
        if i == 15:
            category = "吃拿卡要"
        writer.writerow([f"MB-{tag}-{i}", when, title, f"村里的账目一直没有公开，第 {i} 条留言。", category, "市长信箱"])
    return out.getvalue().encode("gbk")


async def test_a_registrar_maps_a_mailbox_export_and_reads_the_dry_runs_problems(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or "/tmp")
    slug, tag = tenants.A, uuid.uuid4().hex[:5]
    await operator_account(slug, "import-clerk", ["registrar"])
    export = tmp_path / "市长信箱留言.csv"
    export.write_bytes(mailbox_export(tag))
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await sign_in(page, f"{live_server}/t/{slug}/staff/imports?lang=zh", "import-clerk", "long-enough-pw")
        await page.wait_for_selector("#source")
        await page.fill("#source", f"市长信箱 {tag}")
        await page.set_input_files("#file", str(export))
        await page.click("form.import-upload button[type='submit']")
        await page.wait_for_selector("table.mapping")
        # guessed from the headings: the date and the category; the rest chosen by their titles
        assert await page.input_value("#col-1") == "_received_on" and await page.input_value("#col-4") == "category"
        assert "村里的账目一直没有公开" in await page.inner_text("table.mapping")  # GBK read as Chinese
        await page.select_option("#col-0", label="原系统编号（必选，用于防止重复导入）")
        await page.select_option("#col-2", label="标题")
        await page.select_option("#col-3", label="反映内容")
        await page.select_option("#default_channel", label="网上信访")
        await page.screenshot(path=str(shots / "import-mapping.png"), full_page=True)

        await page.click("#dry-run")
        await page.wait_for_selector("table.import-errors", timeout=180_000)
        errors = await page.inner_text("table.import-errors")
        assert "标题：必填" in errors and "去年春节前后" in errors and "“吃拿卡要”不在可选项中" in errors
        rows = await page.locator("table.import-errors tbody tr").all_inner_texts()
        assert [r.split("\t")[0] for r in rows] == ["6", "11", "17"], rows
        assert "试运行完成" in await page.inner_text("#run-state")
        assert "正式导入 27 行" in await page.inner_text("#start-import")
        assert await page.get_attribute("#run-progress", "value") == "30"
        await page.screenshot(path=str(shots / "import-dry-run.png"), full_page=True)
    finally:
        await context.close()
