"""A citizen on a 390 px phone fills a form with a conditional field and a region, in Chromium.

The form has one field of every kind the builder offers (tests/test_form_messages.every_kind_schema). With
JavaScript the field "其他问题说明" stays hidden until 问题类别 is 其他, and the region's city and county
lists follow the province and city chosen; nothing on the page scrolls sideways. Screenshots go to /tmp.

The form is published in 泗阳 for this test only and removed afterwards (other tests count 泗阳's forms), so
the complete submission is caught on its way out and read with parse_form, not filed; the submission that
the server refuses (nothing is stored) goes to the real page.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from xinfang.forms.messages import validate_submission
from xinfang.forms.models import FormVersion
from xinfang.forms.rendering import parse_form
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.login_pages import live_token
from tests.test_form_messages import every_kind_schema

pytestmark = pytest.mark.slow
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
KEY = "kinds_demo"


async def _no_sideways_scroll(page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


@pytest.fixture
async def kinds_demo_goes_away(app, tenants):
    """The form this test publishes in 泗阳 is gone afterwards."""
    yield
    scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    for row in await scope.repo(FormVersion).find({"key": KEY}).to_list():
        await scope.repo(FormVersion).delete(row)


async def test_a_citizen_fills_a_conditional_field_and_a_region_on_a_phone(live_server, browser, tenants, kinds_demo_goes_away):
    admin = live_token(live_server, tenants.A, "admin")
    published = httpx.post(f"{live_server}/t/{tenants.A}/api/forms/{KEY}/versions", headers=admin, json={"schema": every_kind_schema()})
    assert published.status_code in (200, 201), published.text

    context = await browser.new_context(locale="zh-CN", **PHONE)
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    other = page.locator("[data-field='other_detail']")
    money = page.locator("[data-field='money_amount']")
    await other.wait_for(state="hidden")
    assert await money.is_hidden()
    assert await page.locator(".xf-when").first.is_hidden()  # the note is for pages without JavaScript
    await _no_sideways_scroll(page)

    await page.fill("input[name='subject.name']", "张某")
    await page.check("input[name='category'][value='other']")
    await other.wait_for(state="visible")
    await page.fill("input[name='other_detail']", "违规收取审批费")
    await page.check("input[name='involves'][value='money']")
    await money.wait_for(state="visible")
    await page.fill("input[name='money_amount']", "2000")
    await page.fill("textarea[name='content']", "2024年3月以来收取宅基地审批费，每户两千元，未开票据。")

    # the region, province -> city -> county
    city = page.locator("select[name='region_code~city']")
    county = page.locator("select[name='region_code']")
    await page.select_option("select[name='region_code~province']", "650000")
    await expect(city.locator("option")).to_have_count(16)  # 请选择 and Xinjiang's 15 prefecture-level entries
    assert "巴音郭楞蒙古自治州" in await city.inner_text() and "南京市" not in await city.inner_text()
    await city.select_option("652800")
    await expect(county.locator("option[value='652801']")).to_have_count(1)
    await county.select_option("652801")
    await page.check("input[name='truthful']")
    await page.check("input[name='_anonymous'][value='1']")
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-phone.png", full_page=True)

    # changing one's mind hides the field again, and its answer is not sent
    await page.check("input[name='category'][value='work']")
    await other.wait_for(state="hidden")
    await page.check("input[name='category'][value='other']")
    await other.wait_for(state="visible")
    assert await page.input_value("input[name='other_detail']") == "违规收取审批费"

    sent: dict = {}

    async def catch(route):
        if route.request.method != "POST":
            return await route.continue_()
        sent["body"], sent["type"] = route.request.post_data_buffer, await route.request.header_value("content-type")
        await route.fulfill(status=200, content_type="text/html", body="<p id='caught'>ok</p>")

    await page.route(f"{live_server}/t/{tenants.A}/petition/{KEY}", catch)
    await page.click("button[type='submit']")
    await page.wait_for_selector("#caught")
    await page.unroute(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    environ = EnvironBuilder(method="POST", data=sent["body"], content_type=sent["type"]).get_environ()
    _, form, _ = parse_form_data(environ)
    assert form.get("region_code") == "652801" and form.get("region_code~city") == "652800"
    answers = parse_form(every_kind_schema(), form)
    assert (answers["category"], answers["other_detail"], answers["region_code"]) == ("other", "违规收取审批费", "652801")
    assert answers["involves"] == ["money"] and answers["money_amount"] == 2000
    assert validate_submission(every_kind_schema(), answers, anonymous=True) == []

    # the same page without a choice made: errors next to their fields, and the condition named
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    await page.check("input[name='category'][value='other']")
    await page.check("input[name='_anonymous'][value='1']")
    await page.click("button[type='submit']")
    error = page.locator("[data-field='other_detail'] .xf-error")
    await error.wait_for()
    assert "仅当“问题类别”选择“其他”时填写" in await error.inner_text()
    assert "请选择到区县一级" in await page.locator("[data-field='region_code'] .xf-error").inner_text() or \
        "必填" in await page.locator("[data-field='region_code'] .xf-error").inner_text()
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-errors.png", full_page=True)
    await context.close()

    # without JavaScript: the conditional field is in view with its note, the city list holds every city by province
    plain = await browser.new_context(locale="zh-CN", java_script_enabled=False, **PHONE)
    page = await plain.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}")
    assert await page.locator("[data-field='other_detail']").is_visible()
    assert await page.locator("[data-field='other_detail'] .xf-when").inner_text() == "↳ 仅当“问题类别”选择“其他”时填写" or \
        "仅当“问题类别”选择“其他”时填写" in await page.locator("[data-field='other_detail'] .xf-when").inner_text()
    assert await page.locator("select[name='region_code~city'] optgroup").count() == 31
    await _no_sideways_scroll(page)
    await page.screenshot(path="/tmp/xf-form-fields-nojs.png", full_page=True)
    await plain.close()

    # English, on a desk: the region's three selects side by side
    desk = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await page.goto(f"{live_server}/t/{tenants.A}/petition/{KEY}?lang=en")
    assert "Where it happened" in await page.locator("[data-field='region_code'] legend").inner_text()
    await page.select_option("select[name='region_code~province']", "320000")
    await expect(page.locator("select[name='region_code~city'] option[value='652800']")).to_have_count(0)  # narrowed to 江苏
    await page.select_option("select[name='region_code~city']", "321300")
    await expect(page.locator("select[name='region_code'] option[value='321323']")).to_have_count(1)
    await page.select_option("select[name='region_code']", "321323")
    await page.locator("[data-field='region_code']").screenshot(path="/tmp/xf-form-fields-region-desk.png")
    await page.screenshot(path="/tmp/xf-form-fields-desk-en.png", full_page=True)
    await desk.close()
