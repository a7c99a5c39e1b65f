"""The tenant-scoped repository: the only door to tenant data.

A ``TenantScope`` is made once per request (or task) from the resolved tenant.
Its repositories stamp ``tenant_id`` on every insert and put it in front of
every filter, so a handler cannot forget it. Objects of another tenant are
simply not found: the caller answers 404, exactly as for an id that does not
exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from .documents import CrossTenantWriteError, TenantDocument, is_id_ref, scoped_tenant
from .portable import portable_filter

D = TypeVar("D", bound=TenantDocument)


def parse_object_id(value: Any) -> ObjectId | None:
    """An ObjectId, or None for anything that is not one (so it is 'not found', never a 500)."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


def _holds_object_id(value: Any) -> bool:
    if isinstance(value, ObjectId):
        return True
    if isinstance(value, Mapping):
        return any(_holds_object_id(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_object_id(v) for v in value)
    return False


async def count_matching(collection, query: Mapping[str, Any]) -> int:
    """How many documents of ``collection`` match ``query``, read through the query's index on both stores.

    The ``count`` command, not ``count_documents``: the driver sends ``count_documents`` as an aggregation
    ($match then $group), which the embedded store answers by reading every row of the collection (a
    shared collection: all tenants' rows; an empty inbox took 94 ms beside 966 other petitions), while
    its ``count`` goes through the index as ``find`` does. It also counts ``{"field": None}`` right, where
    the embedded store's ``count_documents`` answers 0. On MongoDB (a collection not sharded) both give the
    same number with a filter. tests/test_store_contract.py pins both stores' answers; bench/inbox_count.py
    measures them. A filter holding an ObjectId (``_id`` in a list) fails both counts on the embedded store,
    so those are counted as ids through ``find``, as the inbox's relayed cases were already.
    """
    query = dict(query)
    if _holds_object_id(query):
        return len([row async for row in collection.find(query, {"_id": 1})])
    reply = await collection.database.command({"count": collection.name, "query": query})
    return int(reply["n"])


class ScopedRepository(Generic[D]):
    def __init__(self, model: type[D], tenant_id: str):
        self.model = model
        self.tenant_id = tenant_id

    def _filter(self, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        query = dict(query or {})
        if "tenant_id" in query and scoped_tenant(query["tenant_id"]) != self.tenant_id:
            raise CrossTenantWriteError("a scoped query may not name another tenant")
        # {"$eq": id}, not the bare id: both mean the same on MongoDB, but the embedded store only
        # answers a bare equality from an index named after that one field (it adds "or an array
        # containing it"), so a bare tenant_id scanned every row (bench/archive_opinion.py).
        query["tenant_id"] = {"$eq": self.tenant_id}
        return portable_filter(query)  # an "$or" beside the tenant could widen the query past it on the embedded store

    async def get(self, object_id: Any, session: AsyncClientSession | None = None) -> D | None:
        oid = parse_object_id(object_id)
        if oid is None:
            return None
        return await self.model.find_one(self._filter({"_id": oid}), session=session)

    async def find_one(self, query: Mapping[str, Any], session=None) -> D | None:
        return await self.model.find_one(self._filter(query), session=session)

    def find(self, query: Mapping[str, Any] | None = None, **kwargs):
        return self.model.find(self._filter(query), **kwargs)

    async def count(self, query: Mapping[str, Any] | None = None) -> int:
        return await count_matching(self.model.get_pymongo_collection(), self._filter(query))

    def _stamp(self, document: D) -> D:
        if getattr(document, "tenant_id", None) is None:
            document.tenant_id = self.tenant_id
        elif document.tenant_id != self.tenant_id:
            raise CrossTenantWriteError(
                f"{type(document).__name__} belongs to tenant {document.tenant_id}, scope is {self.tenant_id}"
            )
        return document

    async def insert(self, document: D, session: AsyncClientSession | None = None) -> D:
        return await self._stamp(document).insert(session=session)

    async def save(self, document: D, session: AsyncClientSession | None = None) -> D:
        """Insert a new document, or replace an existing one *of this tenant* (filter includes tenant_id).

        Beanie's own ``save`` looks the document up by ``_id`` alone, which the
        tenant guard rightly refuses; replacing through the scoped filter also means
        a document of another tenant can never be overwritten here, whatever its id.
        """
        self._stamp(document)
        if document.id is None:
            return await document.insert(session=session)
        result = await self.model.get_pymongo_collection().replace_one(
            self._filter({"_id": document.id}), get_dict(document, to_db=True), session=session
        )
        if result.matched_count != 1:
            raise LookupError(f"{self.model.__name__} {document.id} is not in tenant {self.tenant_id}")
        return document

    async def replace_versioned(self, document: D, session: AsyncClientSession | None = None) -> bool:
        """Write ``document`` if nobody changed it since it was read; bumps ``document.revision``.

        Returns False when another writer got there first (the caller answers 409).
        """
        self._stamp(document)
        expected = document.revision
        document.revision = expected + 1
        result = await self.model.get_pymongo_collection().replace_one(
            self._filter({"_id": document.id, "revision": expected}), get_dict(document, to_db=True), session=session
        )
        if result.matched_count != 1:
            document.revision = expected
            return False
        return True

    async def move_to(self, document: D, target_tenant_id: str, session: AsyncClientSession | None = None) -> bool:
        """Hand a document over to another tenant: the one explicit way tenant_id ever changes.

        Guarded like ``replace_versioned`` when the document has a revision.
        """
        self._stamp(document)
        query = {"_id": document.id}
        expected = getattr(document, "revision", None)
        if expected is not None:
            query["revision"] = expected
            document.revision = expected + 1
        document.tenant_id = target_tenant_id
        result = await self.model.get_pymongo_collection().replace_one(
            self._filter(query), get_dict(document, to_db=True), session=session
        )
        if result.matched_count != 1:
            document.tenant_id = self.tenant_id
            if expected is not None:
                document.revision = expected
            return False
        return True

    async def update_many(self, query: Mapping[str, Any], update: Mapping[str, Any], session=None) -> int:
        result = await self.model.get_pymongo_collection().update_many(self._filter(query), update, session=session)
        return result.modified_count

    async def increment(self, query: Mapping[str, Any], field: str, session=None) -> int:
        """Atomically add one to ``field`` of the document matching ``query`` (created at 1 if missing)."""
        doc = await self.model.get_pymongo_collection().find_one_and_update(
            self._filter(query), {"$inc": {field: 1}}, upsert=True, return_document=ReturnDocument.AFTER, session=session
        )
        return doc[field]

    async def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any], session=None) -> int:
        collection = self.model.get_pymongo_collection()
        result = await collection.update_one(self._filter(query), update, session=session)
        return result.modified_count

    async def delete_many(self, query: Mapping[str, Any], session=None) -> int:
        result = await self.model.get_pymongo_collection().delete_many(self._filter(query), session=session)
        return result.deleted_count

    async def delete(self, document: D, session: AsyncClientSession | None = None) -> None:
        self._stamp(document)
        await self.model.get_pymongo_collection().delete_one(
            self._filter({"_id": document.id}), session=session
        )


class TenantScope:
    """Everything one tenant may touch. Built once per request or task."""

    def __init__(self, tenant_id: str | ObjectId):
        tenant_id = str(tenant_id)
        if not is_id_ref(tenant_id):
            raise ValueError(f"not a tenant id: {tenant_id!r}")
        self.tenant_id = tenant_id
        self._repositories: dict[type, ScopedRepository] = {}

    def repo(self, model: type[D]) -> ScopedRepository[D]:
        if not issubclass(model, TenantDocument):
            raise TypeError(f"{model.__name__} is not tenant data")
        if model not in self._repositories:
            self._repositories[model] = ScopedRepository(model, self.tenant_id)
        return self._repositories[model]
