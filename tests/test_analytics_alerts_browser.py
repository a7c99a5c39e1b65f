"""Headless Chromium at phone width: a leader sees an early-warning alert (raised by petitions filed here under a region
of this test's own) on the dashboard and the alerts page, and acknowledges it; who and when are shown after.

Screenshots go to the test's tmp dir."""

from __future__ import annotations

import re
import uuid

from tests.conftest import eventually, login_token
from tests.login_pages import sign_in
from tests.test_analytics_alerts import _file, _region_total, _tenant


async def test_a_leader_sees_the_alert_and_acknowledges_it(live_server, browser, client, tenants, tmp_path):
    from xinfang.analytics.alerts import run_alert_checks, tenant_today

    registrar = await login_token(client, tenants.A, "registrar")
    hot = f"浏览器预警区{uuid.uuid4().hex[:5]}"
    await _file(client, tenants.A, registrar, hot, 6)
    tenant = await _tenant(tenants.A)
    today = tenant_today(tenant)

    async def counted():
        return await _region_total(tenant, hot, today) == 6
    await eventually(counted, message="the rollups count the petitions filed")
    raised = [a for a in await run_alert_checks(tenant, today, only=("region",)) if a.subject == hot]
    assert len(raised) == 1

    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenants.A}/staff/analytics/")
    panel = page.locator("#alerts-panel")
    assert await panel.count() == 1 and hot in await panel.inner_text()
    await page.goto(f"{live_server}/t/{tenants.A}/staff/analytics/alerts")
    item = page.locator(f"li[data-alert='{raised[0].id}']")
    assert await item.count() == 1
    text = await item.inner_text()
    assert f"近7天 {hot} 地区 6 件，超过预期上限" in text and "待确认" in text
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the phone
    await page.screenshot(path=str(tmp_path / "alerts-before.png"), full_page=True)
    await item.get_by_role("button", name="确认已知悉").click()
    await page.wait_for_url(f"**/t/{tenants.A}/staff/analytics/alerts")
    item = page.locator(f"li[data-alert='{raised[0].id}']")
    text = await item.inner_text()
    assert "已确认" in text and "确认人" in text and await item.get_by_role("button", name="确认已知悉").count() == 0
    await page.screenshot(path=str(tmp_path / "alerts-acknowledged.png"), full_page=True)
    print("screenshots:", tmp_path)
    await page.goto(f"{live_server}/t/{tenants.A}/staff/analytics/")
    assert hot not in await page.locator("#alerts-panel").inner_text()  # the panel lists the open ones only
    await phone.close()


async def test_a_tenant_admin_names_alert_recipients_on_a_phone(live_server, browser, client, tenants, tmp_path):
    """The alert settings page at phone width: recipient roles and named people chosen by name (no JSON, no ids shown),
    the bodies-below setting in words; a named auditor saved and shown ticked; the tenant admin is not offered."""
    from xinfang.analytics.alert_settings import alert_settings
    from xinfang.store.scoped import TenantScope

    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "admin")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenants.A}/staff/analytics/alert-settings")
    named = page.locator("#named-recipients")
    assert await named.count() == 1
    words = await named.inner_text()
    assert "指定接收人" in words and not re.search(r"[0-9a-f]{24}", words)  # people by their names, never an id
    assert await named.get_by_label("admin", exact=False).count() == 0  # the administrator sets alerts up, never receives them
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    await page.screenshot(path=str(tmp_path / "alert-settings-phone.png"), full_page=True)
    boxes = named.locator("input[type=checkbox]")
    assert await boxes.count() >= 2
    first = boxes.first
    chosen = await first.get_attribute("value")
    await first.check()
    await page.get_by_role("button", name="保存").click()
    await page.wait_for_url("**/alert-settings?saved=1")
    assert "已保存" in await page.inner_text("main") and await page.locator(f"#person-{chosen}").is_checked()
    await page.screenshot(path=str(tmp_path / "alert-settings-saved.png"), full_page=True)
    tenant = await _tenant(tenants.A)
    try:
        assert chosen in (await alert_settings(TenantScope(str(tenant.id)))).recipient_accounts
    finally:
        await page.locator(f"#person-{chosen}").uncheck()
        await page.get_by_role("button", name="保存").click()
        await page.wait_for_url("**/alert-settings?saved=1")
    print("screenshots:", tmp_path)
    await phone.close()
