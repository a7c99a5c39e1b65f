"""Domain events: recorded with the write, dispatched only after it committed.

``unit_of_work()`` opens a transaction. Services write their documents with
``session=uow.session`` and ``uow.record(...)`` their events; on a clean exit the
events are inserted as ``OutboxEvent`` documents *in the same transaction*, the
transaction commits, and only then is each event handed to Celery. If the
broker is unreachable or the message is lost, the event stays ``pending`` in the
database and the beat sweeper hands it over again: nothing is lost, and since
handlers are idempotent, nothing is done twice.
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
_client_getter: Callable[[], Any] | None = None


def configure_dispatch(client_getter: Callable[[], Any], enqueue: Callable[[list[str]], Any] | None) -> None:
    global _enqueue, _client_getter
    _client_getter, _enqueue = client_getter, enqueue


class UnitOfWork:
    def __init__(self, session):
        self.session = session
        self.events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)


@contextlib.asynccontextmanager
async def unit_of_work():
    """One transaction for the documents and their events; enqueue after commit."""
    if _client_getter is None:
        raise RuntimeError("the store is not open in this process")
    client = _client_getter()
    outbox: list[OutboxEvent] = []
    async with client.start_session() as session:
        async with await session.start_transaction():
            uow = UnitOfWork(session)
            yield uow
            now = utcnow()
            for event in uow.events:
                outbox.append(
                    OutboxEvent(
                        # Ids chosen here: insert_many does not write them back onto the objects.
                        id=ObjectId(),
                        created_at=now,
                        name=event.name,
                        tenant_id=event.tenant_id,
                        subject_id=event.subject_id,
                        data=event.data,
                        dispatched_at=now,
                    )
                )
            if outbox:
                await OutboxEvent.insert_many(outbox, session=session)
    # Committed. From here on a failure only delays the event until the next sweep.
    if outbox and _enqueue is not None:
        try:
            await _enqueue([str(e.id) for e in outbox])
        except Exception:  # the broker is down: the sweeper will hand it over
            log.warning("could not enqueue %d event(s); the sweeper will retry", len(outbox), exc_info=True)
