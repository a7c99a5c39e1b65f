"""Small time-bounded caches for what every request reads: tenant configuration, the tenant directory.

Forms, workflows and calendars change a few times a year but are read by every
submission; each read is a round trip to the store. Entries live ``ttl``
seconds, and the process that changes one drops it at once, so a change is
seen immediately here and within ``ttl`` seconds on the other replicas.

Bounded two ways (issue 18: 2,156 tenants on one deployment): an entry past its
lifetime is gone (expired entries are purged at least once a lifetime, so
memory follows the tenants served lately, not all tenants ever served), and
past ``max_entries`` the least recently used entry goes first (never all at
once: the tenants being served keep their entries). The bound is a setting
(``XINFANG_CONFIG_CACHE_ENTRIES``), given to every cache by ``configure_caches``.

Loads are single-flight: when many requests miss the same key at once (a cold
start, an entry just expired), one of them loads it and the others await that
same load, so a burst costs the store one read instead of one per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

CONFIG_TTL_SECONDS = 10.0
DEFAULT_MAX_ENTRIES = 5_000


@dataclasses.dataclass
class CacheLimits:
    """The bounds every process applies (settings.py's values; these defaults until ``configure_caches``)."""

    config_entries: int = DEFAULT_MAX_ENTRIES
    searchers_per_thread: int = 32
    searcher_idle_seconds: float = 300.0


limits = CacheLimits()


def configure_caches(settings) -> None:
    """Apply the settings' bounds in this process (the web app and each worker call it once, at start)."""
    limits.config_entries = max(1, settings.config_cache_entries)
    limits.searchers_per_thread = max(1, settings.searchers_per_thread)
    limits.searcher_idle_seconds = max(0.0, settings.searcher_idle_seconds)


class LruTtl:
    """A dict bounded by age (``ttl`` seconds since it was stored) and by count (least recently used out first).

    Not thread-safe: each instance is used from one event loop's thread (the async caches) or one thread
    (the searcher caches, one per thread). ``max_entries`` None follows ``limits.config_entries``.
    """

    def __init__(self, ttl: float, max_entries: int | None = None, *, on_evict: Callable[[Any, Any], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self._on_evict = on_evict
        self._clock = clock
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()  # least recently used first
        self._purged_at = clock()

    @property
    def bound(self) -> int:
        return self.max_entries if self.max_entries is not None else limits.config_entries

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key) -> bool:
        hit = self._entries.get(key)
        return hit is not None and self._clock() - hit[0] < self.ttl

    def get(self, key, default=None):
        hit = self._entries.get(key)
        if hit is None:
            return default
        if self._clock() - hit[0] >= self.ttl:
            self._drop(key)
            return default
        self._entries.move_to_end(key)
        return hit[1]

    def set(self, key, value) -> None:
        now = self._clock()
        if key in self._entries:
            old = self._entries.pop(key)[1]
            if old is not value and self._on_evict:
                self._on_evict(key, old)
        self._entries[key] = (now, value)
        if now - self._purged_at >= self.ttl:
            self.purge_expired(now)
        while len(self._entries) > self.bound:
            self._drop(next(iter(self._entries)))

    def purge_expired(self, now: float | None = None) -> None:
        """Drop every entry past its lifetime (each is O(1); the whole pass at most once a lifetime from ``set``)."""
        now = self._clock() if now is None else now
        self._purged_at = now
        for key in [k for k, (stored, _) in self._entries.items() if now - stored >= self.ttl]:
            self._drop(key)

    def pop(self, key, default=None):
        hit = self._entries.pop(key, None)
        return default if hit is None else hit[1]

    def _drop(self, key) -> None:
        stored, value = self._entries.pop(key)
        if self._on_evict:
            self._on_evict(key, value)

    def clear(self) -> None:
        for key in list(self._entries):
            self._drop(key)

    def items(self):
        return [(k, v) for k, (_, v) in self._entries.items()]


class TtlCache:
    """Async read-through cache over ``LruTtl`` with single-flight loads."""

    def __init__(self, ttl: float = CONFIG_TTL_SECONDS, max_entries: int | None = None):
        self.ttl = ttl
        self._entries = LruTtl(ttl, max_entries)
        self._flights: dict[Any, asyncio.Task] = {}
        self.loads = 0  # how many times a value was read from the store (tests and benchmarks count them)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key, load: Callable[[], Awaitable[Any]]):
        hit = self._entries.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        flight = self._flights.get(key)
        if flight is None or flight.get_loop() is not asyncio.get_running_loop():
            # A task of its own, shielded below: a caller that gives up (a client gone, a timeout of its
            # own) does not cancel the load the others wait for. It carries this caller's context
            # (pymongo.timeout, the request's log fields).
            flight = asyncio.ensure_future(self._load(key, load))
            self._flights[key] = flight
        return await asyncio.shield(flight)

    async def _load(self, key, load):
        try:
            self.loads += 1
            value = await load()
            # Kept only while this load is still the key's: a drop() meanwhile (the value changed under
            # it) hands the value read to those who waited for it, but does not keep it.
            if self._flights.get(key) is asyncio.current_task():
                self._entries.set(key, value)
            return value
        finally:
            if self._flights.get(key) is asyncio.current_task():
                del self._flights[key]

    def drop(self, key) -> None:
        self._entries.pop(key)
        self._flights.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._flights.clear()


_MISSING = object()

tenant_config = TtlCache()
