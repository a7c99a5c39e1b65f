"""Web server for the submission benchmarks: the real app, plus a bare endpoint, under Hypercorn.

Run as its own process by bench/submissions.py and bench/fault_submissions.py
(``python bench/_server.py``); configured only by the usual ``XINFANG_*``
variables (``XINFANG_HOST`` / ``XINFANG_PORT`` choose the bind address).

The bare endpoint, ``POST /t/<tenant_slug>/bench/bare``, is registered through
the platform's own plugin hook (``xinfang_blueprints``) and so runs behind the
same ASGI middleware and the same request pipeline (tenant, identity,
permission) as the real submission. It then does only what any submission must
do: parse the JSON body, hash a fresh receipt with the same argon2 parameters
(off the event loop, as the platform does), and insert one document of the
shape and size of a real petition into the same ``petitions`` collection
through the same durable client (w=majority, j=true). No form lookup, no
schema validation, no counter, no transaction, no receipt row, no outbox, no
broker.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta

from collections import Counter

from bson import ObjectId
from hypercorn.asyncio import serve
from hypercorn.config import Config
from pymongo import monitoring
from quart import Blueprint, current_app, request

from xinfang.app import create_app
from xinfang.auth.permissions import public
from xinfang.hookspecs import hookimpl
from xinfang.petitions.models import Petition
from xinfang.tenancy.resolution import current_tenant
from xinfang.settings import Settings

bare_bp = Blueprint("bench_bare", __name__)


class CommandStats(monitoring.CommandListener):
    """Every command the web process sends to the store: how many, and the driver's round-trip time.

    Registered globally before the app opens its client, so it sees the platform's own
    client; the benchmark reads it before and after each phase (GET /bench/stats).
    """

    def __init__(self):
        self.count: Counter = Counter()
        self.micros: Counter = Counter()
        self.failures: Counter = Counter()
        self._labels: dict[tuple, str] = {}

    @staticmethod
    def _key(event) -> tuple:
        return (event.connection_id, event.request_id)

    def started(self, event):
        target = event.command.get(event.command_name)
        label = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        self._labels[self._key(event)] = label

    def succeeded(self, event):
        label = self._labels.pop(self._key(event), event.command_name)
        self.count[label] += 1
        self.micros[label] += event.duration_micros

    def failed(self, event):
        label = self._labels.pop(self._key(event), event.command_name)
        self.failures[label] += 1
        self.micros[label] += event.duration_micros


COMMANDS = CommandStats()
monitoring.register(COMMANDS)


@bare_bp.get("/bench/stats")
@public("benchmark instrumentation: counts of store commands")
async def bench_stats():
    return {"count": COMMANDS.count, "micros": COMMANDS.micros, "failures": COMMANDS.failures}

# Stand-ins for what the real submission reads from the form and the workflow: same lengths.
FORM_DIGEST = hashlib.sha256(b"bench").hexdigest()


def bare_petition(tenant_id: str, answers: dict, now: datetime) -> dict:
    """A document of the same fields, types and size as what Beanie writes for a real online petition."""
    title = answers.get("title") if isinstance(answers.get("title"), str) else ""
    return {
        "_id": ObjectId(),
        "tenant_id": tenant_id,
        "created_at": now,
        "number": f"BARE-{uuid.uuid4().hex[:17].upper()}",  # as long as SIYANG-EDU-2026-000001
        "origin_tenant_id": tenant_id,
        "form_key": "petition",
        "form_version": 1,
        "form_digest": FORM_DIGEST,
        "kind": "petition",
        "channel": "online",
        "anonymous": True,
        "answers": answers,
        "identity_sealed": None,
        "title": title[:100],
        "subject_name": None,
        "state": "registered",
        "due_on": (now + timedelta(days=15)).date().isoformat(),
        "due_rule": "acceptance",
        "overdue": False,
        "assignee_id": None,
        "used_once": [],
        "steps": [{
            "at": now, "tenant_id": tenant_id, "actor": "citizen", "actor_name": "信访人 Petitioner",
            "action": "submitted", "from_state": None, "to_state": "registered", "public": True,
            "fields": {"channel": "online"}, "public_fields": [],
        }],
        "attachment_ids": [],
        "revision": 0,
    }


@bare_bp.post("/t/<tenant_slug>/bench/bare")
@public("benchmark baseline: only the unavoidable work of a submission")
async def bare_submit(tenant_slug):
    body = await request.get_json(force=True)
    answers = body["answers"]
    keyring = current_app.extensions["xinfang.keyring"]
    receipt = f"{secrets.randbelow(10**16):016d}"
    await asyncio.to_thread(keyring.receipt_hash, receipt)
    doc = bare_petition(current_tenant().tenant_id, answers, datetime.now(UTC))
    await Petition.get_pymongo_collection().insert_one(doc)
    return {"number": doc["number"], "receipt": receipt, "state": doc["state"]}, 201, {"Cache-Control": "no-store"}


class BarePlugin:
    @hookimpl
    def xinfang_blueprints(self):
        return [bare_bp]


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    app = create_app(settings, plugins=[BarePlugin()])
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.graceful_timeout = 3

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(run())


if __name__ == "__main__":
    main()
