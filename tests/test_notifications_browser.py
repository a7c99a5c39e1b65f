"""Headless Chromium (issue 11): a leader's notifications (a card awaiting approval, read one and all, the SMS
choice) and a handler who asks a subject to explain again and gets the new one-time link.

Screenshots go to the test's tmp dir."""

from __future__ import annotations

import uuid

from xinfang.cards import service as cards
from xinfang.cards.models import Subject
from xinfang.notifications.models import Notification, NotificationDelivery
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually
from tests.login_pages import sign_in
from tests.test_supervision import staff


async def _scope(slug: str) -> TenantScope:
    return TenantScope((await Tenant.find_one({"slug": slug})).id)


async def test_a_leader_reads_the_approval_notice_and_marks_everything_read(live_server, browser, tenants, tmp_path):
    scope = await _scope(tenants.A)
    handler, leader = await staff(scope, "handler"), await staff(scope, "leader")
    name = f"浏览器待批{uuid.uuid4().hex[:4]}"
    sup = await cards.do_create_supervision(scope, kind="card", type_key="yellow", subject=Subject(kind="person", name=name),
                                            petition_ids=[], actor=handler)
    await cards.do_submit_for_approval(scope, sup, handler)

    async def delivered():
        row = await scope.repo(Notification).find_one({"subject_id": str(sup.id), "kind": "approval"})
        return row if row and await scope.repo(NotificationDelivery).count({"notification_id": str(row.id), "account_id": leader.account_id}) else None

    await eventually(delivered, message="the approval notice delivered")
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "leader")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenants.A}/staff/notifications")
    item = page.locator("ul.notifications li.unread", has_text=name)
    assert await item.count() == 1 and "待审批" in await item.inner_text()
    await page.screenshot(path=str(tmp_path / "leader-notifications.png"), full_page=True)
    await item.get_by_role("link").click()
    await page.wait_for_url(f"**/staff/supervisions/{sup.id}")
    assert await page.locator("form[data-verb='approve']").count() == 1
    await page.go_back()
    await page.get_by_role("button", name="全部标为已读").click()
    await page.wait_for_url(f"**/t/{tenants.A}/staff/notifications")
    assert await page.locator("ul.notifications li.unread").count() == 0
    assert await page.locator("ul.notifications li", has_text=name).count() == 1
    await page.check("#channel-sms")
    await page.fill("#pref-phone", "123")
    await page.get_by_role("button", name="保存").click()
    await page.get_by_text("手机号码格式不对", exact=True).wait_for()  # the refusal is a new page: wait for it rather than read the page in between
    await page.fill("#pref-phone", "13900003333")
    await page.get_by_role("button", name="保存").click()
    await page.wait_for_url(f"**/t/{tenants.A}/staff/notifications")
    assert await page.input_value("#pref-phone") == "13900003333" and await page.is_checked("#channel-sms")
    await page.screenshot(path=str(tmp_path / "leader-notifications-read.png"), full_page=True)
    await page.uncheck("#channel-sms")
    await page.get_by_role("button", name="保存").click()
    await desk.close()


async def test_a_handler_asks_for_a_new_explanation_and_gets_the_new_link(live_server, browser, tenants, tmp_path):
    scope = await _scope(tenants.A)
    handler, leader = await staff(scope, "handler"), await staff(scope, "leader")
    sup = await cards.do_create_supervision(scope, kind="card", type_key="white", subject=Subject(kind="person", name="浏览器重说明"),
                                            petition_ids=[], actor=handler)
    sup = await cards.do_approve(scope, await cards.do_submit_for_approval(scope, sup, handler), leader)
    sup, token = await cards.do_issue(scope, sup, handler)
    await cards.do_answer_by_link(scope, token, "说得不清楚")
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "handler")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenants.A}/staff/supervisions/{sup.id}")
    decide = page.locator("form[data-verb='decide']")
    await decide.locator("#outcome-must_explain").check()
    await decide.locator("textarea[name='text']").fill("请重新书面说明")
    await decide.get_by_role("button").click()
    link = page.locator(".answer-link code.link-value")
    await link.wait_for()
    assert "新的一次性答复链接" in await page.locator(".answer-link").inner_text()
    await page.screenshot(path=str(tmp_path / "handler-new-answer-link.png"), full_page=True)
    subject = await desk.new_page()
    answer = await subject.goto(await link.inner_text())
    assert answer.status == 200
    await subject.fill("textarea[name='text']", "重新说明：已退还全部费用")
    await subject.locator("button[type='submit']").click()
    await subject.wait_for_load_state()
    assert (await cards.access_supervision(scope, str(sup.id))).answer == "重新说明：已退还全部费用"
    await desk.close()
