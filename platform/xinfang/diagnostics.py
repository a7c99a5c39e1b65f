"""Built-in plugin: health check, and a probe that proves a worker is alive and sane.

The probe also reports where the ``platform`` module came from in each process:
our source root ``platform/`` must never shadow the standard library's.
"""

from __future__ import annotations

import os
import platform as stdlib_platform
import sys

from quart import Blueprint, current_app

from .auth.permissions import Permission, public, superuser_only
from .errors import NotFound, ServiceUnavailable
from .hookspecs import hookimpl
from .plugins import PluginInfo
from .store.documents import PlatformDocument, UtcDateTime, utcnow
from .store.scoped import parse_object_id
from .worker import PROBE, send_task_async

diagnostics_bp = Blueprint("diagnostics", __name__)


class WorkerProbe(PlatformDocument):
    answered_by_pid: int | None = None
    platform_module: str | None = None
    python: str | None = None
    answered_at: UtcDateTime | None = None

    class Settings:
        name = "worker_probes"


def process_facts() -> dict:
    return {
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "platform_module": stdlib_platform.__file__,
        "platform_is_stdlib": hasattr(stdlib_platform, "python_implementation"),
    }


async def record_probe(runtime, probe_id: str) -> None:
    facts = process_facts()
    await WorkerProbe.get_pymongo_collection().update_one(
        {"_id": parse_object_id(probe_id), "answered_at": None},
        {"$set": {"answered_by_pid": facts["pid"], "platform_module": facts["platform_module"],
                  "python": facts["python"], "answered_at": utcnow()}},
    )


@diagnostics_bp.get("/healthz")
@public("load balancers and Kubernetes probes ask it")
async def healthz():
    try:
        await current_app.extensions["xinfang.store"].ping()
    except Exception:
        raise ServiceUnavailable({"zh": "数据库不可用", "en": "document store unreachable"}) from None
    return {"status": "ok"}


@diagnostics_bp.get("/api/platform/diagnostics")
@superuser_only(Permission.PLATFORM_ADMIN)
async def diagnostics():
    settings = current_app.extensions["xinfang.settings"]
    return dict(process_facts(), embedded_store=settings.embedded_store, embedded_broker=settings.embedded_broker)


@diagnostics_bp.post("/api/platform/diagnostics/probes")
@superuser_only(Permission.PLATFORM_ADMIN)
async def start_probe():
    probe = await WorkerProbe().insert()
    await send_task_async(current_app.extensions["xinfang.celery"], PROBE, [str(probe.id)])
    return {"id": str(probe.id)}, 202


@diagnostics_bp.get("/api/platform/diagnostics/probes/<probe_id>")
@superuser_only(Permission.PLATFORM_ADMIN)
async def show_probe(probe_id):
    probe = await WorkerProbe.find_one({"_id": parse_object_id(probe_id)}) if parse_object_id(probe_id) else None
    if probe is None:
        raise NotFound()
    return probe.model_dump(mode="json")


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("diagnostics", {"zh": "运行状态", "en": "Diagnostics"}, required=True)


@hookimpl
def xinfang_document_models():
    return [WorkerProbe]


@hookimpl
def xinfang_blueprints():
    return [diagnostics_bp]
