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
}
