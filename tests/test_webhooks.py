"""Signed outbound webhooks (issue 15): a real local receiver checks the signature; a failing receiver is retried
with back-off from the store (not Celery ETAs) until it answers; the delivery log shows every attempt; payloads
carry no petitioner identity; private addresses are refused unless the platform setting allows them."""

from __future__ import annotations

ISOLATION_CASES = {
    "exchange_api.list_webhooks": dict(method="GET", path="/api/exchange/webhooks", kind="collection"),
    # a made-up event list: nothing is created on the shared tenants (an endpoint would get every test's events)
    "exchange_api.add_webhook": dict(method="POST", path="/api/exchange/webhooks", kind="collection", expect=(422,),
                                     body={"name": "隔离测试", "url": "https://example.org/hook", "events": ["no.such.event"]}),
    "exchange_api.disable_webhook": dict(method="POST", path="/api/exchange/webhooks/{id}/disable", kind="object"),
    "exchange_api.list_deliveries": dict(method="GET", path="/api/exchange/webhooks/{id}/deliveries", kind="object"),
    "exchange_pages.webhooks_page": dict(method="GET", path="/admin/exchange/webhooks", kind="collection"),
    "exchange_pages.add_webhook_submit": dict(method="POST", path="/admin/exchange/webhooks", kind="collection", form=True,
                                              body={"name": "隔离测试", "url": "https://example.org/hook"}, expect=(422,)),
    "exchange_pages.disable_webhook_submit": dict(method="POST", path="/admin/exchange/webhooks/{id}/disable", kind="object", form=True),
    "exchange_pages.deliveries_page": dict(method="GET", path="/admin/exchange/webhooks/{id}/deliveries", kind="object"),
    "exchange_api.rotate_webhook": dict(method="POST", path="/api/exchange/webhooks/{id}/rotate", kind="object", body={"grace_hours": 1}),
    "exchange_pages.rotate_webhook_submit": dict(method="POST", path="/admin/exchange/webhooks/{id}/rotate", kind="object", form=True,
                                                 body={"grace_hours": "1"}),
}

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import eventually, free_port, login_token
from playwright.async_api import expect
from xinfang.errors import InvalidInput
from xinfang.events import OutboxEvent
from xinfang.exchange import delivery, webhooks
from xinfang.exchange.models import WebhookDelivery, WebhookEndpoint
from xinfang.petitions.models import Petition
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant

NAME, PHONE, ID_NUMBER = "赵推送", "13800001111", "110101199003078515"


class Receiver:
    """A real HTTP server on 127.0.0.1: records every POST; on a path in ``fail_first`` each case number's first
    n deliveries are answered 500."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail_first: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                number = (json.loads(body).get("data") or {}).get("number")
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()})
                earlier = sum(1 for r in receiver.received if r["path"] == self.path and json.loads(r["body"])["data"].get("number") == number)
                status = 500 if number and earlier <= receiver.fail_first.get(self.path, 0) else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def for_number(self, number: str, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path and json.loads(r["body"])["data"].get("number") == number]


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


def verified(secret: str, request: dict) -> dict:
    """What a receiving system does: recompute the signature over timestamp.body, compare, refuse stale ones."""
    timestamp = request["headers"]["X-Xinfang-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{request['body']}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, request["headers"]["X-Xinfang-Signature"])
    assert abs(time.time() - int(timestamp)) < 300
    return json.loads(request["body"])


async def add_endpoint(client, slug: str, headers: dict, url: str, events: list[str]) -> dict:
    made = await client.post(f"/t/{slug}/api/exchange/webhooks", headers=headers, json={"name": f"测试接收 {uuid.uuid4().hex[:4]}",
                                                                                       "url": url, "events": events})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return await made.get_json()


async def submit(client, slug: str) -> str:
    filed = await client.post(f"/t/{slug}/api/petitions/submit", json={"form": "petition", "anonymous": False, "answers": {
        "title": "推送测试：学校食堂乱收费", "category": "other", "content": f"食堂每月多收伙食费。{uuid.uuid4().hex[:6]}",
        "petitioner_name": NAME, "id_number": ID_NUMBER, "phone": PHONE}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    return (await filed.get_json())["number"]


async def test_a_case_event_arrives_signed_and_without_the_petitioner(client, tenants, admin_a, receiver):
    path = f"/ok-{uuid.uuid4().hex[:6]}"
    endpoint = await add_endpoint(client, tenants.A, admin_a, receiver.url(path),
                                  ["petition.received", "petition.state_changed", "petition.closed"])
    assert endpoint["secret"].startswith("whsec_")
    raw = await WebhookEndpoint.get_pymongo_collection().find_one({"name": endpoint["name"]})
    assert endpoint["secret"] not in str(raw)  # sealed with the tenant's key, not stored in clear
    try:
        number = await submit(client, tenants.A)
        arrived = await eventually(lambda: _async(receiver.for_number(number, path)), timeout=60, message="the webhook")
        got = arrived[0]
        body = verified(endpoint["secret"], got)
        assert got["headers"]["X-Xinfang-Event"] == "petition.received" == body["event"]
        assert body["event_name"]["zh"].startswith("收到信访件") and body["tenant"]["slug"] == tenants.A
        assert body["data"]["number"] == number and body["data"]["status"] == "open" and body["data"]["state"] == "registered"
        for secret in (NAME, PHONE, ID_NUMBER, "食堂每月多收"):
            assert secret not in got["body"]
        # the workflow moves it on: accepted (state changed), then closed
        petition = await Petition.find_one({"number": number, "tenant_id": str((await Tenant.find_one({"slug": tenants.A})).id)})
        leader, handler = await login_token(client, tenants.A, "leader"), await login_token(client, tenants.A, "handler")
        accounts = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=leader)).get_json())["accounts"]
        handler_id = next(a["id"] for a in accounts if a["username"] == "handler")
        for headers, step, fields in ((leader, "accept", {}), (leader, "assign", {"assignee": handler_id}),
                                      (handler, "reply", {"reply": "已退还多收费用。"}), (handler, "close", {})):
            moved = await client.post(f"/t/{tenants.A}/api/petitions/{petition.id}/transitions/{step}", headers=headers, json={"fields": fields})
            assert moved.status_code == 200, await moved.get_data(as_text=True)

        async def closed():
            events = [verified(endpoint["secret"], r) for r in receiver.for_number(number, path)]
            return events if any(e["event"] == "petition.closed" for e in events) else None

        events = await eventually(closed, timeout=60, message="the closed event")
        changes = [e for e in events if e["event"] == "petition.state_changed"]
        assert {e["data"]["transition"] for e in changes} >= {"accept", "assign", "reply", "close"}
        assert next(e for e in events if e["event"] == "petition.closed")["data"]["status"] == "closed"
        assert "已退还多收费用" not in json.dumps(events, ensure_ascii=False)  # the reply stays in the platform
    finally:
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)


async def _async(value):
    return value


async def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(client, tenants, admin_b, receiver):
    path = f"/flaky-{uuid.uuid4().hex[:6]}"
    endpoint = await add_endpoint(client, tenants.B, admin_b, receiver.url(path), ["petition.received"])
    try:
        receiver.fail_first[path] = 2
        number = await submit(client, tenants.B)

        async def delivered():
            log = await (await client.get(f"/t/{tenants.B}/api/exchange/webhooks/{endpoint['id']}/deliveries", headers=admin_b)).get_json()
            mine = [d for d in log["deliveries"] if d["status"] == "delivered" and len(d["attempts"]) == 3]
            return mine or None

        found = await eventually(delivered, timeout=90, message="the third attempt")
        attempts = found[0]["attempts"]
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        assert attempts[0]["error"] == "HTTP 500" and attempts[2]["error"] is None
        first_gap, second_gap = attempts[1]["at"] - attempts[0]["at"], attempts[2]["at"] - attempts[1]["at"]
        assert first_gap >= 0.9 and second_gap >= 1.9, (first_gap, second_gap)  # 1 s, then twice as long
        sent = receiver.for_number(number, path)
        assert len(sent) == 3 and len({r["headers"]["X-Xinfang-Delivery"] for r in sent}) == 1
        assert len({r["body"] for r in sent}) == 1  # the same body every time, each signed afresh
        for request in sent:
            verified(endpoint["secret"], request)
        page = await client.get(f"/t/{tenants.B}/admin/exchange/webhooks/{endpoint['id']}/deliveries", headers=admin_b)
        html = await page.get_data(as_text=True)
        assert page.status_code == 200 and "已送达" in html and "HTTP 500" in html and "收到信访件" in html
    finally:
        await client.post(f"/t/{tenants.B}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_b)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.8", "169.254.169.254", "::1", "0.0.0.0"])
async def test_private_and_loopback_addresses_are_refused(host):
    with pytest.raises(delivery.Refused):
        await delivery.public_address(host, 80, allow_private=False)
    assert await delivery.public_address(host, 80, allow_private=True)  # only when the platform setting says so


# IPv6 spellings of IPv4 addresses that is_global calls public: NAT64 (64:ff9b::/96, to the cloud metadata address
# here), IPv4-compatible (::/96) and SIIT-translated (::ffff:0:0:0/96). Each reaches the IPv4 address it embeds.
@pytest.mark.parametrize("host", ["64:ff9b::a9fe:a9fe", "64:ff9b::a00:5", "::127.0.0.1", "::ffff:0:a00:1"])
async def test_ipv6_spellings_of_private_ipv4_addresses_are_refused(host, client, tenants):
    with pytest.raises(delivery.Refused):
        await delivery.public_address(host, 80, allow_private=False)
    assert await delivery.public_address("64:ff9b::808:808", 80, allow_private=False)  # NAT64 of a public address: allowed
    ctx = TenantContext.of(await Tenant.find_one({"slug": tenants.A}))
    with pytest.raises(InvalidInput):
        await webhooks.do_add_endpoint(ctx, None, None, name="内网", url=f"http://[{host}]/hook", events=["petition.received"],
                                       allow_private=False)


async def test_a_refused_address_is_never_called(receiver):
    path = f"/ssrf-{uuid.uuid4().hex[:6]}"
    endpoint = WebhookEndpoint(tenant_id="0" * 24, name="x", url=receiver.url(path), events=["petition.received"], secret_sealed="")
    row = WebhookDelivery(tenant_id="0" * 24, endpoint_id="0" * 24, event_id="e", event="petition.received",
                          body=json.dumps({"data": {"number": "N"}}), next_attempt_at=0)
    attempt = await delivery.send(row, endpoint, "secret", allow_private=False)
    assert attempt.status_code is None and "拒绝" in attempt.error
    assert not [r for r in receiver.received if r["path"] == path]
    allowed = await delivery.send(row, endpoint, "secret", allow_private=True)
    assert allowed.status_code == 200 and allowed.error is None and [r for r in receiver.received if r["path"] == path]


async def test_a_receiver_that_trickles_its_answer_does_not_hold_the_sender(client, monkeypatch):
    """A receiver may answer 200 and then send its body a byte at a time for ever (or a huge one): the sender takes
    the status and does not read on, and a whole attempt has a deadline, so one endpoint cannot hold a worker."""
    stop = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200 if self.path == "/body" else 201)
            self.send_header("Content-Length", "1000000")
            self.end_headers() if self.path == "/body" else self.wfile.write(b"X-Slow: ")
            while not stop.wait(0.5):  # half a second a byte: never a read timeout, never the end
                self.wfile.write(b"x")
                self.wfile.flush()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 3, raising=False)
    row = WebhookDelivery(tenant_id="0" * 24, endpoint_id="0" * 24, event_id="e", event="petition.received",
                          body=json.dumps({"data": {"number": "N"}}), next_attempt_at=0)
    try:
        for path in ("/body", "/headers"):
            endpoint = WebhookEndpoint(tenant_id="0" * 24, name="慢", url=f"http://127.0.0.1:{server.server_port}{path}",
                                       events=["petition.received"], secret_sealed="")
            started = time.monotonic()
            attempt = await delivery.send(row, endpoint, "secret", allow_private=True)
            assert time.monotonic() - started < 8, path
            if path == "/body":
                assert attempt.status_code == 200 and attempt.error is None
            else:
                assert attempt.status_code is None and attempt.error
    finally:
        stop.set()
        server.shutdown()


async def test_endpoint_urls_are_checked(client, tenants, admin_a):
    for url, word in (("ftp://example.org/x", "https://"), ("https://user:pw@example.org/x", "用户名"), ("not a url", "https://")):
        refused = await client.post(f"/t/{tenants.A}/api/exchange/webhooks", headers=admin_a,
                                    json={"name": "坏地址", "url": url, "events": ["petition.received"]})
        assert refused.status_code == 422, url
        assert word in (await refused.get_json())["error"]["fields"]["url"]["zh"]
    ctx = TenantContext.of(await Tenant.find_one({"slug": tenants.A}))
    with pytest.raises(InvalidInput) as refused:
        await webhooks.do_add_endpoint(ctx, None, None, name="内网", url="http://10.0.0.5/hook", events=["petition.received"],
                                       allow_private=False)
    assert "内网" in refused.value.fields["url"]["zh"]


async def test_a_disabled_endpoint_gets_nothing_more(client, tenants, admin_a, receiver):
    path = f"/off-{uuid.uuid4().hex[:6]}"
    endpoint = await add_endpoint(client, tenants.A, admin_a, receiver.url(path), ["petition.received"])
    off = await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)
    assert off.status_code == 200 and (await off.get_json())["active"] is False
    number = await submit(client, tenants.A)
    petition = await Petition.find_one({"number": number, "tenant_id": str((await Tenant.find_one({"slug": tenants.A})).id)})

    async def handled():
        event = await OutboxEvent.find_one({"subject_id": str(petition.id), "name": "petition.submitted"})
        return event is not None and "exchange" in event.handled_by

    await eventually(handled, timeout=60, message="the submitted event handled by the exchange plugin")
    assert await WebhookDelivery.get_pymongo_collection().count_documents({"endpoint_id": endpoint["id"]}) == 0
    assert not receiver.for_number(number, path)


@pytest.mark.parametrize("me, other", [("A", "B"), ("B", "A")])
async def test_an_endpoint_of_one_body_is_nothing_to_another(client, tenants, me, other):
    slugs = {"A": tenants.A, "B": tenants.B}
    mine, theirs = await login_token(client, slugs[me], "admin"), await login_token(client, slugs[other], "admin")
    endpoint = await add_endpoint(client, slugs[other], theirs, "https://hooks.example.invalid/isolation", ["card.issued"])
    try:
        for method, rest in (("GET", "deliveries"), ("POST", "disable")):
            foreign = await client.open(f"/t/{slugs[me]}/api/exchange/webhooks/{endpoint['id']}/{rest}", method=method, headers=mine)
            assert foreign.status_code == 404
        page = await client.get(f"/t/{slugs[me]}/admin/exchange/webhooks/{endpoint['id']}/deliveries", headers=mine)
        assert page.status_code == 404
        listed = await (await client.get(f"/t/{slugs[me]}/api/exchange/webhooks", headers=mine)).get_data(as_text=True)
        assert endpoint["id"] not in listed
    finally:
        await client.post(f"/t/{slugs[other]}/api/exchange/webhooks/{endpoint['id']}/disable", headers=theirs)


async def test_the_webhooks_page_adds_an_endpoint_and_shows_the_secret_once(client, tenants, admin_b):
    page = await client.get(f"/t/{tenants.B}/admin/exchange/webhooks", headers=admin_b)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "信访件办结" in html and "发出监督卡" in html
    made = await client.post(f"/t/{tenants.B}/admin/exchange/webhooks", headers=admin_b, form={
        "name": "页面添加的地址", "url": "https://hooks.example.invalid/page-hook", "events": "card.answered"})
    html = await made.get_data(as_text=True)
    assert made.status_code == 201 and "只显示这一次" in html and 'id="webhook-secret">whsec_' in html
    row = await WebhookEndpoint.get_pymongo_collection().find_one({"name": "页面添加的地址", "url": "https://hooks.example.invalid/page-hook"})
    again = await (await client.get(f"/t/{tenants.B}/admin/exchange/webhooks", headers=admin_b)).get_data(as_text=True)
    assert "whsec_" not in again and "页面添加的地址" in again
    off = await client.post(f"/t/{tenants.B}/admin/exchange/webhooks/{row['_id']}/disable", headers=admin_b, form={})
    assert off.status_code == 200 and "已停用" in await off.get_data(as_text=True)
    bad = await client.post(f"/t/{tenants.B}/admin/exchange/webhooks", headers=admin_b, form={"name": "x", "url": "https://example.org/y"})
    assert bad.status_code == 422 and "至少一种事件" in await bad.get_data(as_text=True)


async def test_an_admin_connects_a_mailbox_and_a_receiver_by_clicks(live_server, browser, tenants, receiver):
    """In Chromium, as a county admin would: register the mayor's mailbox, add a receiving system, watch a petition
    filed by the mailbox arrive in the delivery log. Screenshots in $XINFANG_TEST_SCREENSHOTS (or /tmp)."""
    import os
    from pathlib import Path

    import httpx

    from tests.login_pages import sign_in

    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or "/tmp")
    slug, path = tenants.A, f"/browser-{uuid.uuid4().hex[:6]}"
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await sign_in(page, f"{live_server}/t/{slug}/admin/exchange/clients", "admin")
        await page.wait_for_selector("#register-client")
        await page.click("nav.staff >> text=数据交换")
        await page.fill("#name", "县长信箱（浏览器测试）")
        await page.fill("#rate", "100")
        await page.click("#register-client button")
        key = (await page.inner_text("#api-key")).strip()
        assert key.startswith("xf_") and "只显示这一次" in await page.inner_text("#new-key")
        await page.screenshot(path=str(shots / "exchange-clients.png"), full_page=True)

        await page.click("text=事件推送")
        system = f"县纪委办公系统{uuid.uuid4().hex[:4]}"
        await page.fill("#name", system)
        await page.fill("#url", receiver.url(path))
        await page.check("#add-webhook >> text=收到信访件（网上提交、登记或转来）")
        await page.click("#add-webhook button")
        secret = (await page.inner_text("#webhook-secret")).strip()
        assert secret.startswith("whsec_")
        await page.screenshot(path=str(shots / "exchange-webhooks.png"), full_page=True)

        async with httpx.AsyncClient(base_url=live_server, timeout=30) as http:
            filed = await http.post(f"/t/{slug}/open311/v2/requests.json", data={
                "api_key": key, "service_code": "petition", "description": "村里的路灯坏了两个月，晚上出行不安全。",
                "attribute[category]": "other"})
        assert filed.status_code == 201, filed.text
        number = filed.json()[0]["service_request_id"]
        arrived = await eventually(lambda: _async(receiver.for_number(number, path)), timeout=60, message="the webhook")
        assert verified(secret, arrived[0])["data"]["number"] == number

        await page.click(f"#endpoints tr:has-text('{system}') >> text=推送记录")
        await page.wait_for_selector("#deliveries")
        log = await page.inner_text("#deliveries")
        assert "收到信访件" in log and "已送达" in log and "HTTP 200" in log and number in log
        await page.screenshot(path=str(shots / "exchange-deliveries.png"), full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})  # rotating the secret on a phone
        await page.goto(f"{live_server}/t/{slug}/admin/exchange/webhooks")
        await page.fill(f"#endpoints tr:has-text('{system}') input[name=grace_hours]", "48")
        await page.click(f"#endpoints tr:has-text('{system}') >> text=更换签名密钥")
        rotated = (await page.inner_text("#webhook-secret")).strip()
        assert rotated.startswith("whsec_") and rotated != secret
        assert "两个签名" in await page.inner_text("#grace-words")
        assert "旧密钥有效至" in await page.inner_text(f"#endpoints tr:has-text('{system}')")
        await page.screenshot(path=str(shots / "exchange-webhooks-rotated.png"), full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.click(f"#endpoints tr:has-text('{system}') >> text=停用")
        await expect(page.locator("#notice")).to_contain_text("不再向它推送")  # a new page: wait for it
    finally:
        await context.close()


async def test_a_card_issued_and_answered_reach_the_receiver(client, tenants, admin_a, receiver, app):
    path = f"/cards-{uuid.uuid4().hex[:6]}"
    endpoint = await add_endpoint(client, tenants.A, admin_a, receiver.url(path), ["card.issued", "card.answered"])
    try:
        handler, leader = await login_token(client, tenants.A, "handler"), await login_token(client, tenants.A, "leader")
        base = f"/t/{tenants.A}/api/supervisions"
        subject = f"推送卡对象{uuid.uuid4().hex[:4]}"
        sid = (await (await client.post(base, headers=handler, json={
            "kind": "card", "type_key": "white", "subject": {"kind": "person", "name": subject, "unit": "某小学"}})).get_json())["id"]
        await client.post(f"{base}/{sid}/submit", headers=handler)
        await client.post(f"{base}/{sid}/approve", headers=leader, json={"text": "同意"})
        link = (await (await client.post(f"{base}/{sid}/issue", headers=handler)).get_json())["answer_link"]
        assert (await app.test_client().post(link, form={"text": "书面说明：已自查。"})).status_code == 200

        async def both():
            got = {json.loads(r["body"])["event"]: r for r in receiver.received if r["path"] == path
                   and json.loads(r["body"])["data"].get("card_id") == sid}
            return got if {"card.issued", "card.answered"} <= set(got) else None

        got = await eventually(both, timeout=60, message="the card events")
        issued = verified(endpoint["secret"], got["card.issued"])
        assert issued["data"]["type"] == "white" and issued["data"]["type_name"]["zh"] and issued["data"]["document_no"]
        assert verified(endpoint["secret"], got["card.answered"])["data"]["state"] == "answered"
        for request in got.values():
            assert subject not in request["body"] and "已自查" not in request["body"]
    finally:
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)


async def test_a_transferred_case_is_a_change_for_the_sender_and_arrives_at_the_receiver(client, tenants, admin_a, admin_b, receiver):
    sent_path, got_path = f"/sender-{uuid.uuid4().hex[:6]}", f"/receiver-{uuid.uuid4().hex[:6]}"
    sender = await add_endpoint(client, tenants.A, admin_a, receiver.url(sent_path), ["petition.state_changed"])
    taker = await add_endpoint(client, tenants.B, admin_b, receiver.url(got_path), ["petition.received"])
    try:
        number = await submit(client, tenants.A)
        petition = await Petition.find_one({"number": number, "tenant_id": str((await Tenant.find_one({"slug": tenants.A})).id)})
        leader = await login_token(client, tenants.A, "leader")
        moved = await client.post(f"/t/{tenants.A}/api/petitions/{petition.id}/transitions/transfer", headers=leader,
                                  json={"fields": {"target_tenant": tenants.B, "reason": "属巴州管辖"}})
        assert moved.status_code == 200, await moved.get_data(as_text=True)

        async def both():
            out, into = receiver.for_number(number, sent_path), receiver.for_number(number, got_path)
            return (out, into) if out and into else None

        out, into = await eventually(both, timeout=60, message="both bodies' webhooks")
        change = verified(sender["secret"], out[0])
        assert change["event"] == "petition.state_changed" and change["tenant"]["slug"] == tenants.A
        assert change["data"]["transition"] == "transfer" and change["data"]["moved_to"]["slug"] == tenants.B
        arrival = verified(taker["secret"], into[0])
        assert arrival["event"] == "petition.received" and arrival["tenant"]["slug"] == tenants.B
        for request in out + into:
            assert NAME not in request["body"] and "属巴州管辖" not in request["body"]
    finally:
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{sender['id']}/disable", headers=admin_a)
        await client.post(f"/t/{tenants.B}/api/exchange/webhooks/{taker['id']}/disable", headers=admin_b)


# -- rotating a secret in place; old delivery rows deleted by the beat ------------------------------------------------


def signatures_of(request: dict) -> list[str]:
    return [part.strip() for part in request["headers"]["X-Xinfang-Signature"].split(",")]


def accepts(secret: str, request: dict) -> bool:
    """A receiver holding ``secret``: any one of the header's signatures made with it, over timestamp.body."""
    timestamp = request["headers"]["X-Xinfang-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.{request['body']}".encode(), hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given) for given in signatures_of(request))


async def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(client, tenants, admin_a, receiver):
    path = f"/rotate-{uuid.uuid4().hex[:6]}"
    endpoint = await add_endpoint(client, tenants.A, admin_a, receiver.url(path), ["petition.received"])
    old = endpoint["secret"]
    url = f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/rotate"
    try:
        rotated = await client.post(url, headers=admin_a, json={"grace_hours": 2})
        assert rotated.status_code == 200, await rotated.get_data(as_text=True)
        assert rotated.headers["Cache-Control"] == "no-store"
        answer = await rotated.get_json()
        new = answer["secret"]
        assert new.startswith("whsec_") and new != old and answer["id"] == endpoint["id"] and answer["url"] == endpoint["url"]
        assert 7000 < answer["previous_secret_valid_until"] - time.time() <= 7200
        raw = await WebhookEndpoint.get_pymongo_collection().find_one({"name": endpoint["name"]})
        assert new not in str(raw) and old not in str(raw)  # both sealed
        listed = await (await client.get(f"/t/{tenants.A}/api/exchange/webhooks", headers=admin_a)).get_data(as_text=True)
        assert new not in listed  # shown once
        number = await submit(client, tenants.A)
        got = (await eventually(lambda: _async(receiver.for_number(number, path)), timeout=60, message="the webhook"))[0]
        assert len(signatures_of(got)) == 2
        assert accepts(new, got) and accepts(old, got)  # a receiver still on the old secret keeps accepting
        assert not accepts("whsec_someone-else", got)
        first = "sha256=" + hmac.new(new.encode(), f"{got['headers']['X-Xinfang-Timestamp']}.{got['body']}".encode(), hashlib.sha256).hexdigest()
        assert signatures_of(got)[0] == first  # the new secret's signature comes first

        # rotating again with no grace: only the newest signs, the two before are refused by a careful receiver
        again = await client.post(url, headers=admin_a, json={"grace_hours": 0})
        newest = (await again.get_json())["secret"]
        assert (await again.get_json())["previous_secret_valid_until"] is None
        number = await submit(client, tenants.A)
        got = (await eventually(lambda: _async(receiver.for_number(number, path)), timeout=60, message="the webhook"))[0]
        assert signatures_of(got) and len(signatures_of(got)) == 1
        assert accepts(newest, got) and not accepts(new, got) and not accepts(old, got)
        from xinfang.audit.models import AuditRecord

        audited = await AuditRecord.find({"action": "exchange.webhook.rotated", "subject": endpoint["id"]}).to_list()
        assert [r.query["grace_hours"] for r in audited] == [2, 0]  # both rotations in the chain, in order
        # refusals in words: grace out of range, a disabled endpoint
        bad = await client.post(url, headers=admin_a, json={"grace_hours": 500})
        assert bad.status_code == 422 and "grace_hours" in (await bad.get_json())["error"]["fields"]
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)
        gone = await client.post(url, headers=admin_a, json={})
        assert gone.status_code == 409 and "停用" in (await gone.get_json())["error"]["message"]["zh"]
    finally:
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)


async def test_the_webhooks_page_rotates_a_secret_and_shows_it_once(client, tenants, admin_b, receiver):
    endpoint = await add_endpoint(client, tenants.B, admin_b, receiver.url("/page-rotate"), ["card.issued"])
    try:
        page = await client.get(f"/t/{tenants.B}/admin/exchange/webhooks", headers=admin_b)
        html = await page.get_data(as_text=True)
        assert "更换签名密钥" in html and f"/webhooks/{endpoint['id']}/rotate" in html
        rotated = await client.post(f"/t/{tenants.B}/admin/exchange/webhooks/{endpoint['id']}/rotate", headers=admin_b,
                                    form={"grace_hours": "24"})
        html = await rotated.get_data(as_text=True)
        assert rotated.status_code == 200, html
        stored = await WebhookEndpoint.get_pymongo_collection().find_one({"name": endpoint["name"]})
        assert stored["previous_secret_sealed"] and stored["rotated_at"]
        assert "新的签名密钥" in html and "两个签名" in html and "旧密钥有效至" in html
        refused = await client.post(f"/t/{tenants.B}/admin/exchange/webhooks/{endpoint['id']}/rotate", headers=admin_b,
                                    form={"grace_hours": "abc"})
        assert refused.status_code == 422 and "0 至 168 小时" in await refused.get_data(as_text=True)
    finally:
        await client.post(f"/t/{tenants.B}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_b)


async def test_the_beat_deletes_finished_deliveries_after_the_kept_days(client, tenants):
    from xinfang.exchange import plugin, tasks

    tenant = await Tenant.find_one({"slug": tenants.A})
    now = time.time()
    day = 86400
    endpoint_id = str(uuid.uuid4().hex[:24])

    def row(status: str, finished_days_ago: float | None, created_days_ago: float = 0) -> WebhookDelivery:
        from bson import ObjectId

        return WebhookDelivery(id=ObjectId(), tenant_id=str(tenant.id), endpoint_id=endpoint_id, event_id=uuid.uuid4().hex, event="petition.received",
                               body="{}", status=status, next_attempt_at=now + 10 * 365 * day,  # never due: the sweep leaves it
                               finished_at=now - finished_days_ago * day if finished_days_ago is not None else None,
                               delivered_at=now - finished_days_ago * day if status == "delivered" else None)

    old_delivered, old_failed = row("delivered", tasks.KEEP_DAYS + 1), row("failed", tasks.KEEP_DAYS + 5)
    recent, pending = row("delivered", tasks.KEEP_DAYS - 1), row("pending", None)
    rows = [old_delivered, old_failed, recent, pending]
    await WebhookDelivery.insert_many(rows)
    try:
        await plugin.xinfang_sweep(now=None, runtime=None)
        left = {str(d["_id"]) async for d in WebhookDelivery.get_pymongo_collection().find({"endpoint_id": endpoint_id})}
        assert left == {str(recent.id), str(pending.id)}
        assert await tasks.prune_deliveries(time.time()) == 0  # again: nothing more
        assert await tasks.prune_deliveries(time.time() + 2 * day) == 1  # the recent one, once it is old enough
    finally:
        await WebhookDelivery.get_pymongo_collection().delete_many({"endpoint_id": endpoint_id})


def test_a_finished_delivery_records_when_it_finished():
    first = WebhookDelivery(tenant_id="a" * 24, endpoint_id="b" * 24, event_id="x", event="petition.received", body="{}", next_attempt_at=1.0)
    assert first.finished_at is None
    signed = delivery.signatures(["a", "b"], "1", "{}")
    assert signed == f"{delivery.signature('a', '1', '{}')}, {delivery.signature('b', '1', '{}')}"


async def test_odd_rotation_requests_are_4xx_in_words(client, tenants, admin_a):
    endpoint = await add_endpoint(client, tenants.A, admin_a, "http://127.0.0.1:9/odd", ["petition.closed"])
    url = f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/rotate"
    try:
        for options in (dict(data=b"{not json", headers={**admin_a, "Content-Type": "application/json"}),
                        dict(json=None, headers=admin_a), dict(json=[1], headers=admin_a), dict(json={"grace_hours": "abc"}, headers=admin_a),
                        dict(json={"grace_hours": 2 ** 64}, headers=admin_a), dict(json={"grace_hours": -1}, headers=admin_a),
                        dict(json={"grace_hours": 1.5}, headers=admin_a), dict(json={"grace_hours": 1, "extra": 1}, headers=admin_a),
                        dict(data=b"\xff\xfe", headers={**admin_a, "Content-Type": "application/json"})):
            answer = await client.post(url, **options)
            body = await answer.get_json()
            assert 400 <= answer.status_code < 500, (options, answer.status_code, body)
            assert body["error"]["message"]["zh"] and body["error"]["message"]["en"], body
        for made_up in ("0" * 24, "not-an-id", "%00"):
            gone = await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{made_up}/rotate", headers=admin_a, json={})
            assert gone.status_code == 404, made_up
        assert (await client.post(url, json={})).status_code in (401, 403)  # no login
        handler = await login_token(client, tenants.A, "handler")
        assert (await client.post(url, headers=handler, json={})).status_code == 403  # caseworkers do not manage webhooks
    finally:
        await client.post(f"/t/{tenants.A}/api/exchange/webhooks/{endpoint['id']}/disable", headers=admin_a)


async def test_the_sweep_keeps_finished_deliveries_as_long_as_the_setting_says(client, tenants):
    """XINFANG_WEBHOOK_DELIVERY_KEEP_DAYS reaches the beat's sweep through the runtime's settings."""
    import types

    from xinfang.exchange import plugin
    from xinfang.settings import Settings

    async def send(*args, **kwargs):  # deliveries other tests left due are not this test's business
        return None

    tenant = await Tenant.find_one({"slug": tenants.A})
    now, day = time.time(), 86400
    endpoint_id = uuid.uuid4().hex[:24]
    from bson import ObjectId

    rows = [WebhookDelivery(id=ObjectId(), tenant_id=str(tenant.id), endpoint_id=endpoint_id, event_id=uuid.uuid4().hex, event="petition.received",
                            body="{}", status="delivered", next_attempt_at=now + 10 * 365 * day,
                            finished_at=now - age * day, delivered_at=now - age * day) for age in (3, 10)]
    await WebhookDelivery.insert_many(rows)
    try:
        runtime = types.SimpleNamespace(settings=Settings.from_env({"XINFANG_WEBHOOK_DELIVERY_KEEP_DAYS": "5"}), send=send)
        await plugin.xinfang_sweep(now=None, runtime=runtime)
        left = {str(d["_id"]) async for d in WebhookDelivery.get_pymongo_collection().find({"endpoint_id": endpoint_id})}
        assert left == {str(rows[0].id)}  # 10 days old: past 5; 3 days old: kept
    finally:
        await WebhookDelivery.get_pymongo_collection().delete_many({"endpoint_id": endpoint_id})
