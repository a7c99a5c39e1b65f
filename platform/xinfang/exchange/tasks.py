"""Webhook deliveries in the background: the event hook writes the rows and asks for a send at once; the beat's
sweep sends whatever is due (retries after their back-off, and sends a lost message never made)."""

from __future__ import annotations

import logging
import time

from ..store.scoped import TenantScope
from . import delivery as sender
from .models import Attempt, WebhookEndpoint

log = logging.getLogger(__name__)

DELIVER = "xinfang.exchange.deliver"
DUE_BATCH = 200  # deliveries one sweep hands over
KEEP_DAYS = 30  # delivered and failed deliveries are kept this long (the default of Settings.webhook_delivery_keep_days), then deleted


def _settings():
    from ..settings import Settings

    return Settings.from_env()


async def deliver(delivery_ids: list[str], settings=None) -> dict[str, str]:
    """Try each due delivery once (claimed first: two workers never send one delivery at once)."""
    from ..notifications.service import process_keyring
    from .webhooks import endpoint_secret, previous_secret

    settings = settings or _settings()
    results = {}
    for delivery_id in delivery_ids:
        delivery = await sender.claim(delivery_id, time.time())
        if delivery is None:
            results[delivery_id] = "not due"
            continue
        endpoint = await TenantScope(delivery.tenant_id).repo(WebhookEndpoint).get(delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            attempt, final = Attempt(at=time.time(), error="推送地址已停用 / the endpoint was disabled"), True
        else:
            try:
                secret = await endpoint_secret(process_keyring(), endpoint)
                previous = await previous_secret(process_keyring(), endpoint, time.time())
            except Exception:  # a secret that no longer opens (the platform key changed): say so, do not retry forever
                log.exception("webhook endpoint %s: its signing secret cannot be opened", endpoint.id)
                attempt, final = Attempt(at=time.time(), error="签名密钥无法读取，请重新添加推送地址 / the signing secret cannot be read; add the endpoint again"), True
            else:
                attempt, final = await sender.send(delivery, endpoint, secret, previous_secret=previous,
                                                   allow_private=settings.webhook_allow_private_addresses), False
        done = await sender.record(delivery, attempt, settings.webhook_retry_seconds, final=final)
        results[delivery_id] = done.status
    return results


async def due_deliveries(now: float, limit: int = DUE_BATCH) -> list[str]:
    """Deliveries whose next attempt is due, across tenants (the platform's own bookkeeping, like the outbox sweep):
    one equality and one range on the (status, next_attempt_at) index."""
    from .models import WebhookDelivery

    cursor = WebhookDelivery.get_pymongo_collection().find(
        {"status": {"$eq": "pending"}, "next_attempt_at": {"$lte": now}}, projection={"_id": 1}).limit(limit)
    return [str(doc["_id"]) async for doc in cursor]


async def prune_deliveries(now: float, days: float = KEEP_DAYS) -> int:
    """Delete the delivery rows finished (delivered, or failed for good) more than ``days`` ago, across tenants: one
    delete on the (status, finished_at) index. Pending rows are never deleted, however old."""
    from .models import WebhookDelivery

    cutoff = now - max(days, 1.0) * 86400
    done = await WebhookDelivery.get_pymongo_collection().delete_many(
        {"status": {"$in": ["delivered", "failed"]}, "finished_at": {"$lt": cutoff}})
    return done.deleted_count


def register(celery_app, runtime) -> None:
    @celery_app.task(name=DELIVER, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def deliver_task(delivery_ids: list[str]) -> None:
        async def run(rt):
            await deliver(delivery_ids, rt.settings)

        runtime.run(run)
