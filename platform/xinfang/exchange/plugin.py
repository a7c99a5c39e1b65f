"""Built-in plugin: the exchange API (API clients, Open311 intake) and signed outbound webhooks."""

from __future__ import annotations

import logging
import time

from ..hookspecs import hookimpl
from ..plugins import PluginInfo

log = logging.getLogger(__name__)

WEBHOOK_SOURCES = {"petition.submitted", "petition.moved", "petition.transitioned", "supervision.issued", "supervision.answered"}


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("exchange", {"zh": "数据交换（Open311 接口与事件推送）", "en": "Exchange (Open311 API and webhooks)"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import ApiClient, Open311Request, WebhookDelivery, WebhookEndpoint

    return [ApiClient, Open311Request, WebhookEndpoint, WebhookDelivery]


@hookimpl
def xinfang_blueprints():
    from .http import exchange_api_bp
    from .open311_http import open311_bp
    from .pages import exchange_pages_bp

    return [open311_bp, exchange_api_bp, exchange_pages_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A case event: a delivery row per subscribed endpoint (idempotent), then a send right away."""
    if tenant is None or event.name not in WEBHOOK_SOURCES or not event.subject_id:
        return
    from ..worker import current_runtime
    from .tasks import DELIVER
    from .webhooks import do_record_deliveries

    ids = await do_record_deliveries(event, tenant)
    runtime = current_runtime()
    if ids and runtime is not None:
        await runtime.send(DELIVER, [ids])  # lost or not sent: the sweep below finds them due


@hookimpl
async def xinfang_sweep(now, runtime):
    """Webhook deliveries that are due (first tries whose message was lost, retries after their back-off), and old
    finished delivery rows deleted (tasks.prune_deliveries: one indexed delete)."""
    from .tasks import DELIVER, KEEP_DAYS, due_deliveries, prune_deliveries

    keep = runtime.settings.webhook_delivery_keep_days if runtime is not None else KEEP_DAYS
    pruned = await prune_deliveries(time.time(), keep)
    if pruned:
        log.info("webhook deliveries: %d old rows deleted", pruned)
    due = await due_deliveries(time.time())
    if due and runtime is not None:
        await runtime.send(DELIVER, [due])


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    from . import tasks

    tasks.register(celery_app, runtime)
