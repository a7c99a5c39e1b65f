"""Built-in plugin: the platform's own scrape-time readings (the broker's queues are read by readings.py itself)."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
async def xinfang_metrics_readings(settings):
    """Event lag, pending and failed events."""
    from .readings import event_readings

    return await event_readings()
