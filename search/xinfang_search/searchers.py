"""Open searchers, one per tenant index per thread, bounded: the petitions' index (querying.py) and the
documents' and records' sibling index (items.py) each keep one ``SearcherCache``, told which index
directory to open.

A Whoosh searcher is not shared across threads, and opening one is the expensive part of a small query,
so each search thread keeps its own open, reopened when the index changed (a new generation, or new
segments). Bounded (issue 18: 2,156 tenants, each thread would otherwise keep every tenant it ever
searched open): at most ``XINFANG_SEARCHERS_PER_THREAD`` per thread and index kind, least recently used
closed first, and one idle for ``XINFANG_SEARCHER_IDLE_SECONDS`` closed at the thread's next search
(store/cache.py ``limits``; an idle thread keeps its few until it searches again).

A search over a body and those below it opens one searcher per tenant and reads the hits of each at the
end: a searcher evicted meanwhile must not be closed under it. Searches run inside ``holding()``; what
is evicted or replaced then is closed when the thread's outermost ``holding()`` ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from xinfang.store.cache import LruTtl, limits

from .index import TenantIndexDir


class _ThreadSearchers:
    """One thread's open searchers of one index kind, and those retired while a search still holds them."""

    def __init__(self):
        self.open = LruTtl(limits.searcher_idle_seconds, limits.searchers_per_thread, on_evict=self._evicted)
        self.depth = 0  # how many holding() blocks this thread is in
        self.retired: list = []

    def _evicted(self, _tenant_id, entry) -> None:
        self.retire(entry[1])

    def retire(self, searcher) -> None:
        if self.depth:
            self.retired.append(searcher)
        else:
            _close(searcher)

    def close_retired(self) -> None:
        retired, self.retired = self.retired, []
        for searcher in retired:
            _close(searcher)


def _close(searcher) -> None:
    with contextlib.suppress(Exception):  # files of a finished generation may be gone already
        searcher.close()


class SearcherCache:
    def __init__(self, index_dir: Callable[[Path, str], TenantIndexDir] = TenantIndexDir):
        self._index_dir = index_dir
        self._local = threading.local()

    def _thread(self) -> _ThreadSearchers:
        state = self._local.__dict__.get("state")
        if state is None:
            state = self._local.__dict__["state"] = _ThreadSearchers()
        state.open.ttl, state.open.max_entries = limits.searcher_idle_seconds, limits.searchers_per_thread  # as configured now
        return state

    @contextlib.contextmanager
    def holding(self):
        """A search: searchers evicted or replaced inside are closed when this thread's outermost block ends."""
        state = self._thread()
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if not state.depth:
                state.close_retired()

    def get(self, data_dir: Path, tenant_id: str):
        """This thread's open searcher of the tenant's index, reopened when the index changed; IndexUnavailable when none."""
        state = self._thread()
        index_dir = self._index_dir(Path(data_dir), tenant_id)
        generation = index_dir.current_generation()
        cached = state.open.get(tenant_id)  # an entry idle past its time is closed here (or at the end of the search)
        if cached and generation is not None and cached[0] == generation.name:
            try:
                if cached[1].up_to_date():
                    state.open.set(tenant_id, cached)  # used now: idle time starts again
                    return cached[1]
            except Exception:  # files of a finished generation went away: open afresh below
                pass
        searcher = index_dir.open().searcher()
        state.open.set(tenant_id, (generation.name if generation else "", searcher))  # the old one, if any, is retired
        return searcher

    def drop(self, tenant_id: str) -> None:
        """Forget this thread's searcher of the tenant (the indexer after a rebuild)."""
        state = self._thread()
        entry = state.open.pop(tenant_id)
        if entry is not None:
            state.retire(entry[1])

    def open_count(self) -> int:
        """How many searchers this thread keeps open (tests)."""
        return len(self._thread().open)
