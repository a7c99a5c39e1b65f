"""What the fingerprint and word-count stores share: one SQLite file in WAL mode beside the indexes,
written by the indexer only, and a transaction helper."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path


class SideStore:
    SCHEMA = ""  # the subclass's CREATE TABLE / INDEX statements

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.executescript("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n" + self.SCHEMA)

    def close(self) -> None:
        self._db.close()

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
