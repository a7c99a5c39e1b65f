"""Client lifecycle: one AsyncMongoClient per event loop, Beanie bound to it.

An AsyncMongoClient belongs to the loop that first uses it, so the web server
opens it in ``before_serving`` and each Celery worker process opens its own on
its own loop (see ``xinfang.worker``).
"""

from __future__ import annotations

import logging

from beanie import init_beanie
from pymongo import AsyncMongoClient

from ..audit.context import configure_audit
from ..settings import Settings

log = logging.getLogger(__name__)


# How long an operation waits for an unreachable store before it fails (and the request answers 503
# with Retry-After). Long enough to ride out the embedded store's restart by the supervisor (about
# a second), short enough that nobody stares at a hung page while the store is down. Put
# serverSelectionTimeoutMS in XINFANG_MONGODB_URI to choose otherwise (e.g. for slow failovers).
SERVER_SELECTION_TIMEOUT_MS = 1_500


def durable_client(uri: str) -> AsyncMongoClient:
    """A client whose writes are acknowledged only once journaled and on a majority.

    On a replica set ``w=majority`` waits for a majority of members; on a single
    server (embedded or standalone) a majority is that server. ``j=True`` waits
    for the journal (the embedded store commits its SQLite WAL before it answers).

    When the store goes away and comes back (a restart, a failover) the client
    reconnects by itself: the failed operation clears its connection pool, and
    the next ones wait for the server again, so nothing here needs resetting.
    """
    options = {} if "serverselectiontimeoutms" in uri.lower() else {"serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS}
    return AsyncMongoClient(
        uri,
        w="majority",
        journal=True,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="xinfang",
        **options,
    )


def driver_sees_a_server(client: AsyncMongoClient) -> bool:
    """Whether the driver currently knows a reachable server (no I/O: what its monitor last saw).

    False from the moment an operation or a heartbeat failed to reach the store until one
    reaches it again. Lets a caller that has an older answer give it at once instead of
    waiting the whole server-selection time for a store that is down.
    """
    return any(server.is_server_type_known for server in client.topology_description.server_descriptions().values())


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
        # Record keys (crypto.RecordKey) live in their own database, so the data's backups never hold them.
        keys = [m for m in document_models if getattr(m, "lives_in_key_database", False)]
        await init_beanie(database=store.database, document_models=[m for m in document_models if m not in keys])
        if keys:
            await init_beanie(database=client[settings.effective_key_database], document_models=keys)
        configure_audit(settings)  # audit records now go to this store: append with these settings' keys
        return store

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True
