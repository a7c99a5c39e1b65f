"""The analytics task: recount the cells that events marked dirty.

An event only writes its fact and marks its months (``facts.refresh(settle=False)``); the worker sends one
``xinfang.analytics.settle`` per batch of events (``WorkerRuntime.send`` coalesces identical messages), so fifty
petitions filed at once cost one recount of their month, not fifty. The beat's sweep settles whatever a lost
message left.
"""

from __future__ import annotations

SETTLE = "xinfang.analytics.settle"


def register(celery_app, runtime) -> None:
    @celery_app.task(name=SETTLE, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def settle_marked() -> None:
        async def run(rt):
            from .cells import settle_all

            await settle_all()

        runtime.run(run)
