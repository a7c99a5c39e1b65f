"""What the fingerprint and word-count stores share: one SQLite file in WAL mode beside the indexes,
written by the indexer only, and a transaction helper.

Each thread has its own connection: web requests read these stores from several threads at once
(``asyncio.to_thread``), and one sqlite3 connection used by two threads at the same moment fails
(``InterfaceError``, found by the API fuzz on the frequent-words page). WAL lets the readers go on
while the indexer writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


class SideStore:
    SCHEMA = ""  # the subclass's CREATE TABLE / INDEX statements

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._db.executescript("PRAGMA journal_mode=WAL;\n" + self.SCHEMA)

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close this thread's connection (another thread's closes with its thread)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextlib.contextmanager
    def transaction(self):
        """All or nothing, one writer thread at a time."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
