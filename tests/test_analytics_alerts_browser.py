"""Headless Chromium at phone width: a leader sees an early-warning alert (raised by petitions filed here under a region
of this test's own) on the dashboard and the alerts page, and acknowledges it; who and when are shown after.

Screenshots go to the test's tmp dir."""

from __future__ import annotations

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
