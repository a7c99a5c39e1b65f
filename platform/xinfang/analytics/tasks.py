"""The analytics task: recount the cells that events marked dirty.

An event only writes its fact and marks its months (``facts.refresh(settle=False)``); the worker sends one
``xinfang.analytics.settle`` per batch of events (``WorkerRuntime.send`` coalesces identical messages), so fifty
petitions filed at once cost one recount of their month, not fifty. The beat's sweep settles whatever a lost
message left.
"""

from __future__ import annotations

from .task_names import CARD_COLOURS, REFRESH, SETTLE


def register(celery_app, runtime) -> None:
    @celery_app.task(name=SETTLE, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def settle_marked() -> None:
        async def run(rt):
            from .cells import settle_all

            await settle_all()

        runtime.run(run)

    @celery_app.task(name=CARD_COLOURS, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def card_colours(tenant_id: str, type_key: str, after: str = "") -> None:
        async def run(rt):
            from .facts import refresh_card_colours

            following = await refresh_card_colours(tenant_id, type_key, after)
            if following:  # more cards of the type: the next batch in a message of its own
                await rt.send(CARD_COLOURS, [tenant_id, type_key, following])

        runtime.run(run)

    @celery_app.task(name=REFRESH, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def refresh_facts(subject: str, entity_ids: list[str]) -> None:
        async def run(rt):
            from .cells import settle_all
            from .facts import refresh_all

            await refresh_all(subject, entity_ids[:500])  # read, marked and written together
            await settle_all()  # the marks these refreshes left, recounted once for the batch

        runtime.run(run)
