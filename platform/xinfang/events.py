"""Domain events: recorded with the write, dispatched only after it committed.

``unit_of_work()`` opens a transaction. Services write their documents with
``session=uow.session`` and ``uow.record(...)`` their events; on a clean exit the
events are inserted as ``OutboxEvent`` documents *in the same transaction*, the
transaction commits, and only then is each event handed to Celery. If the
broker is unreachable or the message is lost, the event stays ``pending`` in the
database and the beat sweeper hands it over again: nothing is lost, and since
handlers are idempotent, nothing is done twice.

On the embedded store there is no transaction (``uow.session`` is None): its
transactions share one SQLite connection between all clients, so one client's
abort rolls back other clients' writes in flight and one client's commit ends
another's transaction (tests/test_store_contract.py pins this). There, writes
are made in order and the events are inserted once every write succeeded; a
failed unit of work records no event, but writes made before the failure stay,
and a crash between the last write and the event insert loses the event (never
the data). Production runs on a replica set, with transactions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from .store.documents import IdRef, PlatformDocument, UtcDateTime, utcnow

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Something that happened. Carries ids, never documents or personal data."""

    name: str
    tenant_id: str | None
    subject_id: str | None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


class EventStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS; shown to operators, never dropped silently


class OutboxEvent(PlatformDocument):
    """The processing state of one event lives here, not in the broker.

    Platform data (not tenant-scoped) because the sweeper and the dispatcher
    work across tenants; handlers receive a TenantContext of the event's tenant.
    """

    name: str
    tenant_id: IdRef | None
    subject_id: IdRef | None
    data: dict[str, Any] = Field(default_factory=dict)
    status: EventStatus = EventStatus.PENDING
    handled_by: list[str] = Field(default_factory=list)  # plugin names that finished
    attempts: int = 0
    dispatched_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    last_error: str | None = None

    class Settings:
        name = "outbox_events"
        indexes = [
            IndexModel([("status", ASCENDING), ("dispatched_at", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)]),
        ]


# Set by the process (web app or worker) once its store is open: hands event ids to the broker.
_enqueue: Callable[[list[str]], Any] | None = None
_store: Any = None


def configure_dispatch(store, enqueue: Callable[[list[str]], Any] | None) -> None:
    """``store``: the process's open ``xinfang.store.client.Store``."""
    global _enqueue, _store
    _store, _enqueue = store, enqueue


class UnitOfWork:
    def __init__(self, session):
        self.session = session
        self.events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)


def _outbox_rows(events: list[DomainEvent]) -> list[OutboxEvent]:
    now = utcnow()
    return [
        OutboxEvent(
            # Ids chosen here: insert_many does not write them back onto the objects.
            id=ObjectId(), created_at=now, dispatched_at=now,
            name=event.name, tenant_id=event.tenant_id, subject_id=event.subject_id, data=event.data,
        )
        for event in events
    ]


@contextlib.asynccontextmanager
async def unit_of_work():
    """The documents and their events together (one transaction where the store has them); enqueue after."""
    if _store is None:
        raise RuntimeError("the store is not open in this process")
    outbox: list[OutboxEvent] = []
    if _store.supports_transactions:
        async with _store.client.start_session() as session:
            async with await session.start_transaction():
                uow = UnitOfWork(session)
                yield uow
                outbox = _outbox_rows(uow.events)
                if outbox:
                    await OutboxEvent.insert_many(outbox, session=session)
    else:
        uow = UnitOfWork(None)
        yield uow
        outbox = _outbox_rows(uow.events)
        if outbox:
            await OutboxEvent.insert_many(outbox)
    # Committed. From here on a failure only delays the event until the next sweep.
    if outbox and _enqueue is not None:
        try:
            await _enqueue([str(e.id) for e in outbox])
        except Exception:  # the broker is down: the sweeper will hand it over
            log.warning("could not enqueue %d event(s); the sweeper will retry", len(outbox), exc_info=True)
