"""Built-in plugin: the sweeper step that completes and hands over unfinished events."""

from __future__ import annotations

from .dispatch import recover_stale_work
from .hookspecs import hookimpl
from .events import OutboxEvent


@hookimpl
def xinfang_document_models():
    return [OutboxEvent]


@hookimpl
async def xinfang_sweep(now, runtime):
    """Documents whose carried events were never materialised, and events whose lease ran out."""
    await recover_stale_work(runtime, now=now)
