"""The indexer's task: drain one tenant's backlog. Sent to the search queue, whose single worker
(concurrency 1) is the only writer; the tenant's writer lock keeps a rebuild from writing at the same time."""

from __future__ import annotations

import logging

DRAIN = "xinfang.search.drain"
REBUILD = "xinfang.search.rebuild"
log = logging.getLogger(__name__)


def register(celery_app, runtime) -> None:
    @celery_app.task(name=DRAIN, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def drain_tenant(tenant_id: str) -> None:
        async def run(rt, tenant):
            from .indexer import drain

            from .items import drain_items

            report = await drain(rt.settings.data_dir, tenant)
            if report.indexed or report.removed:
                log.info("search: tenant %s %s", tenant, report)
            items = await drain_items(rt.settings.data_dir, tenant)  # official documents and archived records (items.py)
            if items.indexed or items.removed:
                log.info("search: tenant %s documents and records %s", tenant, items)

        runtime.run(run, tenant_id)

    @celery_app.task(name=REBUILD, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def rebuild_tenant(tenant_id: str) -> None:
        """After the tenant's dictionary changed: words are cut differently, so every document is indexed again."""
        async def run(rt, tenant):
            from .indexer import rebuild

            log.info("search: rebuilt %s", await rebuild(rt.settings.data_dir, tenant))

        runtime.run(run, tenant_id)
