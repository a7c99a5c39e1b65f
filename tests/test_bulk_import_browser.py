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


def old_register(tag: str, second: bool = False) -> bytes:
    """A 2023 register with its own state and closing date; the second file changes one title and closes one case."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["编号", "来信日期", "标题", "反映内容", "问题类别", "办理状态", "办结日期"])
    rows = [("1", "乡卫生院收红包", "已办结", "2023-05-06"), ("2", "村干部优亲厚友", "办理中", ""), ("3", "学校乱收费", "", "")]
    for number, title, state, closed in rows:
        if second and number == "1":
            title += "（补充了时间地点）"
        if second and number == "2":
            state, closed = "已办结", "2023-08-01"
        writer.writerow([f"DJ-{tag}-{number}", "2023-03-02", title, f"{title}，群众反映强烈。", "违反群众纪律", state, closed])
    return out.getvalue().encode("utf-8")


async def test_a_registrar_on_a_phone_sees_which_imported_rows_a_new_file_will_update(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or "/tmp")
    slug, tag = tenants.A, uuid.uuid4().hex[:5]
    await operator_account(slug, "import-clerk-2", ["registrar"])
    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        await sign_in(page, f"{live_server}/t/{slug}/staff/imports?lang=zh", "import-clerk-2", "long-enough-pw")
        for version, second in (("v1", False), ("v2", True)):
            register = tmp_path / f"登记簿-{version}.csv"
            register.write_bytes(old_register(tag, second))
            await page.goto(f"{live_server}/t/{slug}/staff/imports")
            await page.fill("#source", f"旧登记簿 {tag}")
            await page.set_input_files("#file", str(register))
            await page.click("form.import-upload button[type='submit']")
            await page.wait_for_selector("table.mapping")
            assert await page.input_value("#col-0") == "_source_id" and await page.input_value("#col-5") == "_state"
            assert await page.input_value("#col-6") == "_closed_on"  # guessed from the headings 办理状态, 办结日期
            if not second:  # on the phone each column is a block and its select the page's width: the chosen field reads whole
                assert (await page.locator("#col-5").bounding_box())["width"] > 300
                assert (await page.locator("table.mapping th[scope='row']").first.bounding_box())["width"] > 300
            await page.click("#dry-run")
            await page.wait_for_selector("#run-state:has-text('试运行完成')", timeout=180_000)
            if second:
                break
            await page.click("#start-import")
            await page.wait_for_selector("#run-state:has-text('已导入')", timeout=180_000)
            assert "本次导入 3" in await page.inner_text("#run-counts")
        changes = await page.inner_text("table.import-changes")
        assert f"DJ-{tag}-1" in changes and "标题" in changes and f"DJ-{tag}-2" in changes and "办理状态" in changes
        assert f"DJ-{tag}-3" not in changes and "将更新 2" in await page.inner_text("#run-counts")
        assert "其中更新 2 行" in await page.inner_text("#start-import")
        await page.screenshot(path=str(shots / "import-to-update-phone.png"), full_page=True)
        await page.click("#start-import")
        await page.wait_for_selector("#run-state:has-text('已导入')", timeout=180_000)
        assert "已更新 2" in await page.inner_text("#run-counts") and "已按文件更新的行（2 行）" in await page.inner_text("#row-changes")
        await page.screenshot(path=str(shots / "import-updated-phone.png"), full_page=True)
        await page.goto(f"{live_server}/t/{slug}/staff/imports")  # the recent imports on the phone: one card a file
        run = page.locator("table.import-runs tbody tr", has_text="登记簿-v2.csv").first
        assert (await run.locator("td.title").bounding_box())["width"] >= 250
        assert await run.locator("td.counts").inner_text() == "0 / 2 / 1 / 0"  # the two rows it updated are counted (0 / 1 / 0 read as nothing done)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=str(shots / "import-runs-phone.png"), full_page=True)
    finally:
        await context.close()
