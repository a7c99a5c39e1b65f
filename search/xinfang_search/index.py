"""One Whoosh index per tenant, on the indexer's disk: layout, the single writer, reading.

    DATA_DIR/search/<tenant_id>/CURRENT          name of the live generation
    DATA_DIR/search/<tenant_id>/gen-<n>/         a Whoosh index
    DATA_DIR/search/<tenant_id>/writer.lock      held by whoever writes (indexer or rebuild)

A rebuild writes a new generation beside the live one and switches CURRENT
atomically, so readers see the old index or the new one, never half of either.
Whoosh's own lock fails at once when taken (STACK.md); the writer lock here
waits, so the indexer and a rebuild take turns instead of losing batches.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.index import FileIndex

from .analysis import BigramTokenizer, chinese_analyzer

WRITER_WAIT_SECONDS = 120.0


class IndexUnavailable(Exception):
    """The tenant's index cannot answer right now (being built for the first time, or unreadable)."""


def make_schema(tenant_words=()) -> Schema:
    analyzer = chinese_analyzer(tenant_words)
    return Schema(
        id=ID(stored=True, unique=True),
        tenant_id=ID(stored=True),
        number=ID(stored=True),
        # No positions in the word fields: a quoted phrase is a substring of the n-gram field, and scores need only
        # each word's frequency and the field's length (the same as with positions); a smaller index, whose blocks
        # read faster. An index written with positions reads the same.
        title=TEXT(analyzer=analyzer, stored=True, phrase=False, field_boost=2.0),
        text=TEXT(analyzer=analyzer, stored=True, phrase=False),
        subject=TEXT(analyzer=analyzer, stored=True, phrase=False, field_boost=1.5),
        # title, text and subject's characters two by two (filled in by the writer, see ngram_value)
        ngram=TEXT(analyzer=BigramTokenizer(), phrase=True),
        category=KEYWORD(stored=True, commas=True),  # every value of a list-valued category (the report form's 可多选)
        region=ID(stored=True),
        channel=ID(stored=True),
        status=ID(stored=True),
        kind=ID(stored=True),
        received=DATETIME(stored=True, sortable=True),
    )


NGRAM_SOURCES = ("title", "text", "subject")


def ngram_value(fields: dict) -> str:
    """The n-gram field's text: title, text and subject one after the other, a line apart (no bigram spans two;
    a match's position minus where its field begins is its character in that field)."""
    return "\n".join(str(fields.get(name) or "") for name in NGRAM_SOURCES)


class _NgramFillingWriter:
    """A writer that adds the n-gram field to every document (whoever writes: the indexer, a rebuild, a bench)."""

    def __init__(self, writer):
        self._writer = writer

    def __getattr__(self, name):
        return getattr(self._writer, name)

    def add_document(self, **fields):
        self._writer.add_document(**_with_ngram(fields))

    def update_document(self, **fields):
        self._writer.update_document(**_with_ngram(fields))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._writer.__exit__(*exc)


def _with_ngram(fields: dict) -> dict:
    return fields if "ngram" in fields else {**fields, "ngram": ngram_value(fields)}


class TenantIndex(FileIndex):
    """A tenant's Whoosh index whose writers fill in the n-gram field."""

    def writer(self, procs=1, **kwargs):
        return _NgramFillingWriter(super().writer(procs, **kwargs))


def _tenant_index(ix):
    if isinstance(ix, FileIndex) and not isinstance(ix, TenantIndex):
        ix.__class__ = TenantIndex  # the same object, its writers wrapped
    return ix


class TenantIndexDir:
    def __init__(self, root: Path, tenant_id: str):
        self.tenant_id = tenant_id
        self.path = root / "search" / tenant_id

    @property
    def current_file(self) -> Path:
        return self.path / "CURRENT"

    def current_generation(self) -> Path | None:
        try:
            name = self.current_file.read_text().strip()
        except FileNotFoundError:
            return None
        return self.path / name if name else None

    def open(self):
        """The live index for reading, or IndexUnavailable."""
        generation = self.current_generation()
        if generation is None:
            raise IndexUnavailable(self.tenant_id)
        for attempt in range(3):  # a switch can land between reading CURRENT and opening: read it again
            try:
                return _tenant_index(whoosh_index.open_dir(str(generation)))
            except (OSError, whoosh_index.EmptyIndexError):
                time.sleep(0.05 * (attempt + 1))
                generation = self.current_generation() or generation
        raise IndexUnavailable(self.tenant_id)

    @contextlib.contextmanager
    def writer_lock(self, wait: float = WRITER_WAIT_SECONDS):
        """Exclusive right to write this tenant's index, across processes on this host."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "writer.lock", "a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the index of tenant {self.tenant_id} stayed locked for {wait:.0f} s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def schema_outdated(self) -> bool:
        """The live generation was written with other fields than ``make_schema`` gives now (an index from an
        earlier release): it must be rebuilt from the store before it is written to again."""
        generation = self.current_generation()
        if generation is None or not whoosh_index.exists_in(str(generation)):
            return False
        live, wanted = whoosh_index.open_dir(str(generation)).schema, make_schema()
        return {name: type(live[name]) for name in live.names()} != {name: type(wanted[name]) for name in wanted.names()}

    def open_or_create_for_writing(self, tenant_words=()):
        """The live index (creating an empty first generation if there is none). Hold writer_lock."""
        generation = self.current_generation()
        if generation is not None and whoosh_index.exists_in(str(generation)):
            return _tenant_index(whoosh_index.open_dir(str(generation)))
        return self.new_generation(tenant_words, switch=True)

    def new_generation(self, tenant_words=(), *, switch: bool = False):
        """A fresh, empty index beside the live one (switched to at once only when asked). Hold writer_lock."""
        name = f"gen-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
        target = self.path / name
        target.mkdir(parents=True)
        ix = _tenant_index(whoosh_index.create_in(str(target), make_schema(tenant_words)))
        if switch:
            self.switch_to(target)
        return ix

    def switch_to(self, generation: Path) -> None:
        """Make ``generation`` live atomically; older generations go (open readers keep their files)."""
        temporary = self.path / "CURRENT.tmp"
        temporary.write_text(generation.name)
        os.replace(temporary, self.current_file)
        for old in self.path.glob("gen-*"):
            if old != generation:
                shutil.rmtree(old, ignore_errors=True)
