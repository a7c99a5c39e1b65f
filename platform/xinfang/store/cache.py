"""A small time-bounded cache for tenant configuration read on every request.

Forms, workflows and calendars change a few times a year but are read by every
submission; each read is a round trip to the store. Entries live ``ttl``
seconds, and the process that changes one drops it at once, so a change is
seen immediately here and within ``ttl`` seconds on the other replicas.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

CONFIG_TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000


class TtlCache:
    def __init__(self, ttl: float = CONFIG_TTL_SECONDS):
        self.ttl = ttl
        self._entries: dict[Any, tuple[float, Any]] = {}

    async def get(self, key, load: Callable[[], Awaitable[Any]]):
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = await load()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value

    def drop(self, key) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


tenant_config = TtlCache()
