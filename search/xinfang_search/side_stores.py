"""The SQLite side stores of a data directory (fingerprints for repeats, word counts for topics), opened once per
process: what the indexer writes and the pages, the analytics flags and the topics read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import duplicates
from .terms import TermStore


@dataclass
class Stores:
    root: Path
    fingerprints: duplicates.FingerprintStore
    terms: TermStore


_stores: dict[Path, Stores] = {}


def stores(data_dir: Path) -> Stores:
    """The SQLite side stores of this data directory, opened once per process."""
    root = Path(data_dir)
    if root not in _stores:
        _stores[root] = Stores(root, duplicates.FingerprintStore(root / "search" / "fingerprints.sqlite3"),
                               TermStore(root / "search" / "terms.sqlite3"))
    return _stores[root]
