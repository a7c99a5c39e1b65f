"""Domain events: recorded with the write, dispatched only after it was acknowledged.

Two ways to record them:

* **Carried in the document** (``carry``): a document that mixes in ``CarriesEvents``
  holds its own pending events (``outbox``, with ``outbox_pending`` set), so the
  document and its events are ONE single-document write, atomic on every store,
  with no transaction. After the write the document's id goes to the broker
  (``hand_over_carried``: no store write); a worker then *materialises* it
  (``materialise_carried``): the carrier's derived rows (for a petition: its receipt
  row, its attachments' tenant after a move), an ``OutboxEvent`` row per carried
  event under the id chosen at the write (a repeat is a duplicate key, so it is
  written once), and finally the embedded copies are cleared. A crash anywhere
  leaves a document that still says ``outbox_pending``; the beat sweeper finds it
  (``stale_carriers``) and materialises it again, idempotently. Petitions work
  this way: a submission is one store write.
* **``unit_of_work()``**, for services that change several documents: a
  transaction where the server isolates them. Services write their documents with
  ``session=uow.session`` and ``uow.record(...)`` their events; on a clean exit the
  events are inserted as ``OutboxEvent`` documents *in the same transaction*, the
  transaction commits, and only then is each event handed to Celery.

  On the embedded store there is no transaction (``uow.session`` is None): its
  transactions share one SQLite connection between all clients, so one client's
  abort rolls back other clients' writes in flight and one client's commit ends
  another's transaction (tests/test_store_contract.py pins this). There, writes
  are made in order and the events are inserted once every write succeeded; a
  failed unit of work records no event, but writes made before the failure stay,
  and a crash between the last write and the event insert loses the event (never
  the data). Production runs on a replica set, with transactions.

Either way, if the broker is unreachable or the message is lost, the work stays
pending in the database and the beat sweeper hands it over again: nothing is
lost, and since handlers are idempotent, nothing is done twice.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from beanie.odm.utils.dump import get_dict
from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError

from .store.documents import IdRef, PlatformDocument, UtcDateTime, utcnow
from .store.scoped import parse_object_id

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
    claimed_by: str | None = None  # the token of the sweep that last claimed it (dispatch.claim_stale_events)

    class Settings:
        name = "outbox_events"
        indexes = [
            IndexModel([("status", ASCENDING), ("dispatched_at", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)]),
        ]


class EmbeddedEvent(BaseModel):
    """An event written inside the document it is about, in the same single-document write."""

    id: IdRef  # the _id its OutboxEvent row gets: chosen once, so materialising it twice writes it once
    name: str
    tenant_id: IdRef | None
    subject_id: IdRef | None
    data: dict[str, Any] = Field(default_factory=dict)
    at: UtcDateTime


class CarriesEvents(BaseModel):
    """Mixed into a document that carries its own pending events (see the module's docstring).

    ``outbox_pending`` is a plain boolean because the embedded store cannot ask for a
    non-empty list (``{"a.0": {"$exists": true}}`` matches nothing there); the carrier's
    model indexes it, for the sweeper. A carrier written more than once also needs a
    ``revision`` that every writer bumps: clearing the embedded copies is guarded by it,
    so an event carried by a later write is never cleared unseen. (A carrier written
    once, like a notification, needs none.)
    """

    outbox: list[EmbeddedEvent] = Field(default_factory=list)
    outbox_pending: bool = False


def carry(document: CarriesEvents, event: DomainEvent, now: datetime | None = None) -> EmbeddedEvent:
    """Put ``event`` into ``document``: it is recorded by the document's own next write, atomically."""
    embedded = EmbeddedEvent(id=str(ObjectId()), name=event.name, tenant_id=event.tenant_id, subject_id=event.subject_id,
                             data=event.data, at=now or utcnow())
    document.outbox.append(embedded)
    document.outbox_pending = True
    return embedded


Derive = Callable[[list[Any]], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Carrier:
    model: type  # a Beanie document class that mixes in CarriesEvents
    derive: Derive | None  # writes the rows derived from a batch of documents; idempotent


_carriers: dict[str, Carrier] = {}


def register_carrier(model: type, derive: Derive | None = None) -> str:
    """Declare a document class that carries events (its module calls this once). Returns its kind."""
    kind = model.Settings.name
    _carriers[kind] = Carrier(model, derive)
    return kind


def carrier_kinds() -> list[str]:
    return sorted(_carriers)


class Handover(abc.ABC):
    """What a process uses to hand work to the broker (ids only; never a store write).

    Implemented by ``xinfang.worker.BrokerHandover``.
    """

    @abc.abstractmethod
    async def events(self, event_ids: list[str]) -> None:
        """Dispatch these OutboxEvent rows."""

    @abc.abstractmethod
    async def carried(self, kind: str, document_id: str) -> None:
        """Materialise and dispatch what this document (of a registered carrier kind) carries."""


# Set by the process (web app, worker, command) once its store is open: hands ids to the broker. A
# Handover; a plain ``async def enqueue(event_ids)`` (tests, scripts) hands over events only, and
# carried documents then wait for the sweeper.
_enqueue: Handover | Callable[[list[str]], Any] | None = None
_store: Any = None


def configure_dispatch(store, enqueue: Handover | Callable[[list[str]], Any] | None) -> None:
    """``store``: the process's open ``xinfang.store.client.Store``."""
    global _enqueue, _store
    _store, _enqueue = store, enqueue


async def _hand_over_events(event_ids: list[str]) -> None:
    if not event_ids or _enqueue is None:
        return
    try:
        if isinstance(_enqueue, Handover):
            await _enqueue.events(event_ids)
        else:
            await _enqueue(event_ids)
    except Exception:  # the broker is down: the sweeper will hand it over
        log.warning("could not enqueue %d event(s); the sweeper will retry", len(event_ids), exc_info=True)


async def hand_over_carried(document) -> None:
    """After ``document``'s acknowledged write: a worker is to materialise and dispatch what it carries.

    A broker message only. If it is lost, the sweeper finds the document by its
    ``outbox_pending`` flag once the event lease has run out.
    """
    if not getattr(document, "outbox_pending", False) or not isinstance(_enqueue, Handover):
        return
    try:
        await _enqueue.carried(type(document).Settings.name, str(document.id))
    except Exception:
        log.warning("could not hand over %s %s; the sweeper will", type(document).__name__, document.id, exc_info=True)


# -- materialising carried events -------------------------------------------------------------------


def outbox_row(event: EmbeddedEvent, dispatched_at: datetime) -> OutboxEvent:
    return OutboxEvent(id=ObjectId(event.id), created_at=event.at, dispatched_at=dispatched_at, name=event.name,
                       tenant_id=event.tenant_id, subject_id=event.subject_id, data=event.data)


async def insert_new(collection, documents: list[dict]) -> set[int]:
    """Insert what is not there yet (by _id or a unique key); the positions that were new.

    One round trip for the batch; a duplicate key means an earlier attempt wrote it.
    """
    if not documents:
        return set()
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return set(range(len(documents))) - {e["index"] for e in errors}
    return set(range(len(documents)))


async def materialise_carried(kind: str, raw_documents: list[dict], now: datetime | None = None) -> list[OutboxEvent]:
    """Derived rows, then an OutboxEvent row per carried event, then clear the embedded copies.

    Returns the rows this call inserted (the caller dispatches them; a row another
    call inserted first is that call's to dispatch). Safe to run twice or at once.
    """
    carrier = _carriers[kind]
    documents = [parse_obj(carrier.model, raw) for raw in raw_documents]
    documents = [d for d in documents if d.outbox_pending]
    if not documents:
        return []
    now = now or utcnow()
    if carrier.derive is not None:
        await carrier.derive(documents)
    rows = [outbox_row(event, now) for document in documents for event in document.outbox]
    collection = OutboxEvent.get_pymongo_collection()
    new = await insert_new(collection, [get_dict(row, to_db=True) for row in rows])
    # Cleared only where nobody wrote the document since it was read: a later write may carry more.
    await carrier.model.get_pymongo_collection().bulk_write(
        [UpdateOne(_unchanged_since_read(d), {"$set": {"outbox": [], "outbox_pending": False}}) for d in documents],
        ordered=False,
    )
    return [row for i, row in enumerate(rows) if i in new]


def _unchanged_since_read(document) -> dict:
    """A document written again carries a higher revision; one written once (a notification) has none."""
    query = {"_id": document.id, "outbox_pending": True}
    if "revision" in type(document).model_fields:
        query["revision"] = document.revision
    return query


async def materialise_by_id(kind: str, document_ids: Iterable[str]) -> list[OutboxEvent]:
    """Materialise these documents (the task the web process sends after a carried write)."""
    oids = [oid for oid in (parse_object_id(i) for i in document_ids) if oid is not None]
    if not oids or kind not in _carriers:
        return []
    collection = _carriers[kind].model.get_pymongo_collection()
    raw = [doc async for doc in collection.find({"_id": {"$in": oids}})]
    return await materialise_carried(kind, raw)


async def stale_carriers(kind: str, older_than: datetime, limit: int) -> list[dict]:
    """Documents of ``kind`` whose carried events are still not materialised after ``older_than``.

    Across tenants: the platform's own bookkeeping, like the OutboxEvent sweep. The
    ``outbox_pending`` index keeps this to the few that are pending.
    """
    collection = _carriers[kind].model.get_pymongo_collection()
    found = []
    async for raw in collection.find({"outbox_pending": {"$eq": True}}).limit(limit):
        carried = [EmbeddedEvent.model_validate(event) for event in raw.get("outbox") or []]
        if min((event.at for event in carried), default=older_than) <= older_than:
            found.append(raw)
    return found


async def materialise_stale(lease_seconds: float, now: datetime | None = None, limit: int = 5000,
                            batch: int = 200) -> AsyncIterator[list[OutboxEvent]]:
    """The sweeper's part: every carrier document pending longer than the lease is materialised.

    Yields the new rows batch by batch, so the caller can hand each over while the next is written.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    for kind in carrier_kinds():
        stale = await stale_carriers(kind, cutoff, limit)
        for start in range(0, len(stale), batch):
            rows = await materialise_carried(kind, stale[start:start + batch], now)
            if rows:
                yield rows


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
    await _hand_over_events([str(e.id) for e in outbox])
