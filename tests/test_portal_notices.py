"""The citizen's status page: a change that went through is told in a neutral notice, a refusal in the red alert."""

from __future__ import annotations

import re

from tests.test_portal import _receipt_in

ALERT = re.compile(r'<div class="alert" role="alert">([^<]*)</div>')
NOTICE = re.compile(r'<div class="notice" role="status">([^<]*)</div>')


async def _followed(browser, slug: str) -> str:
    filed = await browser.post(f"/t/{slug}/petition/petition", form={
        "_anonymous": "1", "title": "提示框测试", "content": "网页提交的信访内容", "category": "other"}, scope_base={"client": ("10.62.0.1", 1)})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    status = await browser.post(f"/t/{slug}/track", form={"receipt": _receipt_in(await filed.get_data(as_text=True))},
                                scope_base={"client": ("10.62.0.1", 1)})
    return re.search(r'name="csrf_token" value="([^"]+)"', await status.get_data(as_text=True)).group(1)


async def test_a_done_change_is_a_notice_and_a_refused_one_an_alert(app, tenants):
    browser = app.test_client()
    csrf = await _followed(browser, tenants.A)
    added = await browser.post(f"/t/{tenants.A}/track/supplement", form={"csrf_token": csrf, "text": "补充：九月一日收费"})
    html = await added.get_data(as_text=True)
    assert added.status_code == 200
    assert NOTICE.findall(html) == ["已收到您的补充材料。"] and ALERT.findall(html) == []

    empty = await browser.post(f"/t/{tenants.A}/track/supplement", form={"csrf_token": csrf, "text": ""})
    html = await empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert ALERT.findall(html) == ["请填写补充内容或上传附件"] and NOTICE.findall(html) == []


async def test_the_notice_box_is_not_the_alert_box(client):
    css = await (await client.get("/static/xinfang.css")).get_data(as_text=True)
    notice = re.search(r"\.notice \{([^}]*)\}", css).group(1)
    alert = re.search(r"\.alert \{([^}]*)\}", css).group(1)
    assert "var(--accent)" in alert and "var(--accent)" not in notice and "var(--ok)" in notice
