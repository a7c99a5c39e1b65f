"""Client lifecycle: one AsyncMongoClient per event loop, Beanie bound to it.

An AsyncMongoClient belongs to the loop that first uses it, so the web server
opens it in ``before_serving`` and each Celery worker process opens its own on
its own loop (see ``xinfang.worker``).
"""

from __future__ import annotations

import logging

from beanie import init_beanie
from pymongo import AsyncMongoClient

from ..settings import Settings

log = logging.getLogger(__name__)


def durable_client(uri: str) -> AsyncMongoClient:
    """A client whose writes are acknowledged only once journaled and on a majority.

    On a replica set ``w=majority`` waits for a majority of members; on a single
    server (embedded or standalone) a majority is that server. ``j=True`` waits
    for the journal (the embedded store commits its SQLite WAL before it answers).
    """
    return AsyncMongoClient(
        uri,
        w="majority",
        journal=True,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=10_000,
        appname="xinfang",
    )


class Store:
    """The open connection of one process (and one event loop)."""

    def __init__(self, settings: Settings, client: AsyncMongoClient):
        self.settings = settings
        self.client = client
        self.database = client[settings.mongodb_database]
        self.supports_transactions = False  # decided by open(), from what the server says it is

    @classmethod
    async def open(cls, settings: Settings, document_models: list[type]) -> "Store":
        client = durable_client(settings.effective_mongodb_uri)
        store = cls(settings, client)
        hello = await client.admin.command("hello")
        # MongoDB has isolated multi-document transactions on a replica set (setName) or
        # behind mongos (isdbgrid). A standalone server has none, and the embedded store's
        # are not isolated between clients (see events.py), so neither gets them.
        store.supports_transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        await init_beanie(database=store.database, document_models=document_models)
        return store

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True
