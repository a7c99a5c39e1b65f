"""Built-in plugin: health check, and a probe that proves a worker is alive and sane.

The probe also reports where the ``platform`` module came from in each process:
our source root ``platform/`` must never shadow the standard library's.

``/healthz`` checks each part the platform needs and says which is down, in
Chinese and English: the store (a ping within a second), the broker (a
connection, or the broker folder), the beat (its record in the beat lock file:
alive, and sending), background work (the heartbeat the sweep writes: beat
sent it and a worker ran it; a stale one is reported, not counted as down,
since a worker behind a backlog looks the same) and, under ``xinfang run``, the
supervised processes. 200 when every part is up, else 503 with Retry-After.
``?parts=store,broker`` checks only those (what a load balancer needs to send a
web replica requests, without taking every replica out when the beat is down);
``?parts=web`` only that this process answers (a liveness probe).

``/livez`` and ``/readyz`` are those two probes by name (Kubernetes' conventions): ``/livez`` is
``?parts=web``, ``/readyz`` is ``?parts=store,broker`` and says which of the two is down.
"""

from __future__ import annotations

import asyncio
import os
import platform as stdlib_platform
import socket
import sys
import time

import pymongo
from quart import Blueprint, current_app, request

from .auth.permissions import Permission, public, superuser_only
from .beat_lock import read_beat_record
from .errors import InvalidInput, NotFound
from .hookspecs import hookimpl
from .plugins import PluginInfo
from .processes import pid_alive
from .store.documents import PlatformDocument, UtcDateTime, utcnow
from .store.scoped import parse_object_id
from .worker import send_task_async

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


PROBE = "xinfang.diagnostics.probe"


async def record_probe(runtime, probe_id: str) -> None:
    facts = process_facts()
    await WorkerProbe.get_pymongo_collection().update_one(
        {"_id": parse_object_id(probe_id), "answered_at": None},
        {"$set": {"answered_by_pid": facts["pid"], "platform_module": facts["platform_module"],
                  "python": facts["python"], "answered_at": utcnow()}},
    )


HEARTBEATS = "heartbeats"  # platform-wide, one document per kind of heartbeat
SWEEP_HEARTBEAT = "sweep"
PROBE_TIMEOUT_SECONDS = 1.0
_WEB_STARTED = time.monotonic()

PART_NAMES = {
    "web": {"zh": "网站进程", "en": "web process"},
    "store": {"zh": "数据库", "en": "document store"},
    "broker": {"zh": "消息队列", "en": "message broker"},
    "beat": {"zh": "定时调度进程", "en": "beat scheduler"},
    "background": {"zh": "后台任务（定时调度与工作进程）", "en": "background work (beat and worker)"},
    "processes": {"zh": "受监管的进程", "en": "supervised processes"},
}


def _part(ok: bool | None, zh: str, en: str, **facts) -> dict:
    return {"ok": ok, "message": {"zh": zh, "en": en}, **facts}


async def _store_part() -> dict:
    started = time.monotonic()
    try:
        with pymongo.timeout(PROBE_TIMEOUT_SECONDS):
            await current_app.extensions["xinfang.store"].ping()
    except Exception as exc:
        return _part(False, "数据库无法连接", "document store unreachable", error=type(exc).__name__)
    return _part(True, "数据库正常", "document store reachable", ms=round((time.monotonic() - started) * 1000, 1))


def _broker_reachable(settings, celery_app) -> None:
    if settings.embedded_broker:
        queue = settings.broker_folder / "queue"
        if not (queue.is_dir() and os.access(queue, os.W_OK)):
            raise OSError(f"broker folder {queue} missing or not writable")
        return
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=PROBE_TIMEOUT_SECONDS)


async def _broker_part() -> dict:
    settings = current_app.extensions["xinfang.settings"]
    try:
        await asyncio.wait_for(asyncio.to_thread(_broker_reachable, settings, current_app.extensions["xinfang.celery"]),
                               PROBE_TIMEOUT_SECONDS * 2)
    except Exception as exc:
        return _part(False, "消息队列无法连接", "message broker unreachable", error=type(exc).__name__)
    return _part(True, "消息队列正常", "message broker reachable")


def heartbeat_limit_seconds(settings) -> float:
    """How old the last sweep may be: three sweep intervals, plus time for a long sweep."""
    return 3 * settings.sweep_interval_seconds + 30


async def _background_part() -> dict:
    settings = current_app.extensions["xinfang.settings"]
    limit = heartbeat_limit_seconds(settings)
    try:
        with pymongo.timeout(PROBE_TIMEOUT_SECONDS):
            beat = await current_app.extensions["xinfang.store"].database[HEARTBEATS].find_one({"_id": SWEEP_HEARTBEAT})
    except Exception:
        return _part(None, "数据库无法连接，无法判断", "unknown: the store is unreachable")
    age = time.time() - float(beat["at"]) if beat and "at" in beat else None
    if age is not None and age <= limit:
        return _part(True, "后台任务正常", "background work running", last_sweep_seconds_ago=round(age, 1))
    if time.monotonic() - _WEB_STARTED < limit:  # just started: the first sweep is still to come
        return _part(None, "刚启动，等待第一次定时清扫", "starting: waiting for the first sweep",
                     last_sweep_seconds_ago=None if age is None else round(age, 1))
    # Reported, not counted as down: a worker busy with a backlog looks the same as a stopped one here
    # (the beat's own record and, under `xinfang run`, the processes say which one is down).
    return _part(None, f"超过 {limit:.0f} 秒没有完成定时清扫：工作进程停了或任务积压",
                 f"no sweep ran for over {limit:.0f} s: the worker is down or behind",
                 last_sweep_seconds_ago=None if age is None else round(age, 1))


def _beat_part() -> dict:
    settings = current_app.extensions["xinfang.settings"]
    limit = heartbeat_limit_seconds(settings)
    record = read_beat_record(settings.data_dir)
    if record is None:
        if time.monotonic() - _WEB_STARTED < limit:
            return _part(None, "刚启动，尚无定时调度进程的记录", "starting: no beat has recorded itself yet")
        return _part(False, "没有定时调度进程在运行", "no beat scheduler has run on this data directory")
    facts = {"pid": record.get("pid"), "host": record.get("host")}
    if record.get("host") == socket.gethostname() and not pid_alive(int(record.get("pid") or 0)):
        return _part(False, f"定时调度进程（pid {facts['pid']}）已停止", f"the beat (pid {facts['pid']}) is not running", **facts)
    age = time.time() - max(float(record.get("started") or 0), float(record.get("sent") or 0))
    facts["last_sent_seconds_ago"] = round(age, 1)
    if age > limit:
        return _part(False, f"定时调度进程超过 {limit:.0f} 秒没有发出任务", f"the beat sent nothing for over {limit:.0f} s", **facts)
    return _part(True, "定时调度进程正常", "beat scheduler running", **facts)


def _processes_part() -> dict | None:
    from .supervisor import read_status

    status = read_status(current_app.extensions["xinfang.settings"].data_dir)
    if status is None:
        return None  # not under `xinfang run`
    children = status.get("children", {})
    down = sorted(name for name, child in children.items() if child.get("state") != "running")
    if down:
        return _part(False, "进程未运行（正在重启）：" + "、".join(down), "not running (being restarted): " + ", ".join(down),
                     children=children)
    return _part(True, "所有进程在运行", "every process running", children=children)


@diagnostics_bp.get("/healthz")
@public("load balancers and Kubernetes probes ask it")
async def healthz():
    wanted = {name for name in request.args.get("parts", "").split(",") if name} or set(PART_NAMES)
    unknown = wanted - set(PART_NAMES)
    if unknown:
        raise InvalidInput({"zh": "未知的部分：" + ", ".join(sorted(unknown)), "en": "unknown parts: " + ", ".join(sorted(unknown))},
                           field="parts")
    return await health_answer(wanted)


@diagnostics_bp.get("/livez")
@public("Kubernetes' liveness probe asks it: this process answers")
async def livez():
    return await health_answer({"web"})


@diagnostics_bp.get("/readyz")
@public("Kubernetes' readiness probe asks it: the store and the broker are reachable from this replica")
async def readyz():
    return await health_answer({"store", "broker"})


async def health_answer(wanted: set[str]):
    """The checks of ``wanted`` parts: 200 when none is down, else 503 naming the parts that are."""
    checks = {"store": _store_part, "broker": _broker_part, "background": _background_part}
    names = [name for name in checks if name in wanted]
    parts = dict(zip(names, await asyncio.gather(*(checks[name]() for name in names))))
    if "beat" in wanted:
        parts["beat"] = _beat_part()
    if "web" in wanted:  # this answer itself: what a liveness probe needs, and nothing else
        parts["web"] = _part(True, "网站进程在运行", "web process answering", pid=os.getpid())
    if "processes" in wanted and (processes := _processes_part()) is not None:
        parts["processes"] = processes
    down = [name for name, part in parts.items() if part["ok"] is False]
    if down:
        message = {"zh": "不可用：" + "、".join(PART_NAMES[n]["zh"] for n in down),
                   "en": "down: " + ", ".join(PART_NAMES[n]["en"] for n in down)}
        body = {"status": "down", "down": down, "message": message, "parts": parts}
        return body, 503, {"Retry-After": "5", "Cache-Control": "no-store"}
    body = {"status": "ok", "down": [], "message": {"zh": "运行正常", "en": "all parts up"}, "parts": parts}
    return body, 200, {"Cache-Control": "no-store"}


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


@hookimpl(tryfirst=True)
async def xinfang_sweep(now, runtime):
    """The heartbeat of background work: beat sent this sweep and a worker is running it (written first)."""
    await runtime.store.database[HEARTBEATS].update_one(
        {"_id": SWEEP_HEARTBEAT},
        # Seconds, not a datetime: the embedded store turns a $set datetime into a string.
        {"$set": {"at": now.timestamp(), "pid": os.getpid(), "host": socket.gethostname()}},
        upsert=True,
    )


@hookimpl
def xinfang_document_models():
    return [WorkerProbe]


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    @celery_app.task(name=PROBE, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def probe(probe_id: str) -> None:
        runtime.run(record_probe, probe_id)


@hookimpl
def xinfang_blueprints():
    return [diagnostics_bp]
