"""The map in a real Chromium: a national body's map drilled province -> prefecture by clicking the regions, and a
prefecture's map with numbers at phone width; screenshots kept (XINFANG_TEST_SCREENSHOTS, else the test's tmp dir)."""

from __future__ import annotations

import os
import random
import re
from datetime import date, timedelta
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, eventually
from tests.login_pages import sign_in
from tests.staffing import operator_account


async def _national_tenant(slug: str):
    from xinfang.tenancy.models import LocalizedName, Tenant, TenantLevel

    tenant = Tenant(slug=slug, name=LocalizedName(zh="地图测试全国单位", en="Map test national body"), level=TenantLevel.NATIONAL,
                    region_code="100000")
    await tenant.insert()
    return tenant


async def _forget(tenant) -> None:
    from xinfang.auth.models import StaffAccount
    from xinfang.store.scoped import TenantScope

    await TenantScope(tenant.id).repo(StaffAccount).delete_many({})
    await tenant.delete()


async def test_a_leader_drills_the_map_down_by_clicking(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    first = date(random.randrange(2001, 2020), random.randrange(1, 13), 1)
    last = first + timedelta(days=27)
    async with httpx.AsyncClient(base_url=live_server) as api:
        token = (await api.post(f"/t/{tenants.B}/api/tokens", json={"username": "handler", "password": PASSWORD})).json()["access_token"]
        for n, region in enumerate(["652822", "652822", "652822", "652801", "652826"]):
            filed = await api.post(f"/t/{tenants.B}/api/petitions", headers={"Authorization": f"Bearer {token}"}, json={
                "form": "petition", "channel": "visit", "anonymous": True, "received_on": (first + timedelta(days=n)).isoformat(),
                "answers": {"title": f"地图浏览器测试{n}", "content": "学校收费问题，家长反映多次未解决。", "category": "other", "region": region}})
            assert filed.status_code == 201, filed.text

    slug = f"map-cn-{random.randrange(10**6):06d}"
    national = await _national_tenant(slug)
    try:
        await operator_account(slug, "map-leader", ["leader"])
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await sign_in(page, f"{live_server}/t/{slug}/staff/analytics/map", "map-leader", "long-enough-pw")
        await page.wait_for_selector("svg.xf-map")
        if "/staff/analytics/map" not in page.url:
            await page.goto(f"{live_server}/t/{slug}/staff/analytics/map")
        assert "全国" in await page.inner_text(".map-crumbs")
        assert await page.locator("svg.xf-map path[id^='m-']").count() == 34  # every province, Taiwan, Hong Kong, Macao
        assert await page.locator("table.report tbody tr").count() == 34
        assert "南海诸岛" in await page.text_content("svg.xf-map")
        await page.screenshot(path=str(shots / "map-national.png"), full_page=True)

        await page.locator("#m-650000").click()  # 新疆 on the map
        await page.wait_for_url(re.compile(r"region=650000"))
        assert "新疆维吾尔自治区" in await page.inner_text("h1")
        assert await page.locator("svg.xf-map path[id^='m-']").count() >= 14
        await page.screenshot(path=str(shots / "map-province.png"), full_page=True)

        await page.locator("#m-652800").click()  # 巴州
        await page.wait_for_url(re.compile(r"region=652800"))
        assert "巴音郭楞蒙古自治州" in await page.inner_text("h1")
        assert await page.locator("svg.xf-map a").count() == 0  # counties: the bottom of the map
        crumbs = await page.inner_text(".map-crumbs")
        assert crumbs.index("全国") < crumbs.index("新疆维吾尔自治区") < crumbs.index("巴音郭楞蒙古自治州")
        await page.screenshot(path=str(shots / "map-prefecture.png"), full_page=True)
        await page.click(".map-crumbs a:has-text('全国')")
        await page.wait_for_selector("#m-710000")
        assert await page.get_attribute("#m-710000", "fill") == "url(#m-nodata)"  # Taiwan: on the map, no data
        await context.close()
    finally:
        await _forget(national)

    # the prefecture itself, with numbers, at phone width
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await phone.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.B}/staff/login", "leader")
    await page.wait_for_load_state()
    url = f"{live_server}/t/{tenants.B}/staff/analytics/map?measure=received&start={first}&end={last}"

    async def counted():
        await page.goto(url)
        row = page.locator("tr", has_text="轮台县")
        return (await row.inner_text()).endswith("3") or None

    await eventually(counted, timeout=60, message="the rollups counting the petitions")
    fills = {code: await page.get_attribute(f"#m-{code}", "fill") for code in ("652822", "652801", "652824")}
    assert fills["652822"] != fills["652801"] != fills["652824"]  # 3, 1 and 0 in three colours
    assert "轮台县：3" in await page.inner_html("#m-652822")
    assert (await page.inner_text("p.xf-help .period")).startswith("统计期间：20")  # a Chinese colon before a Chinese date
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    await page.screenshot(path=str(shots / "map-phone.png"), full_page=True)
    await page.goto(url + "&lang=en")
    assert "Map" in await page.inner_text("h1") and "Total" in await page.inner_text("table.report")
    await page.screenshot(path=str(shots / "map-phone-en.png"), full_page=True)
    await page.goto(f"{live_server}/t/{tenants.B}/staff/analytics/?lang=zh")
    panel = page.locator("section[aria-labelledby='map-panel-h']")
    assert await panel.locator("svg.xf-map").count() == 1
    await panel.screenshot(path=str(shots / "map-dashboard-panel.png"))
    await panel.locator("a", has_text="查看地图").click()
    await page.wait_for_url(re.compile(r"/staff/analytics/map"))
    await phone.close()
    print(f"screenshots: {shots}")
