"""Built-in plugin: the sweeper step that hands stale pending events over again."""

from __future__ import annotations

import logging

from .dispatch import claim_stale_events
from .hookspecs import hookimpl
from .events import OutboxEvent

log = logging.getLogger(__name__)


@hookimpl
def xinfang_document_models():
    return [OutboxEvent]


@hookimpl
async def xinfang_sweep(now, runtime):
    claimed = await claim_stale_events(runtime.settings.event_lease_seconds, now=now)
    if claimed:
        log.info("sweeper re-enqueues %d unfinished event(s)", len(claimed))
        await runtime.enqueue(claimed)
