"""Health of the roles that serve no HTTP (worker, indexer, beat), for exec probes (``xinfang probe <role>``).

A worker or the indexer is alive when its Celery node on this host answers a ping through the broker: that proves
the process, its broker connection and its consumer loop in one round trip (a busy task process does not stop the
parent from answering). The beat is alive when the beat lock's record names a live process on this host that sent
a task within the limit /healthz uses. Each answer says why, in Chinese and English.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from .settings import Settings

PING_TIMEOUT_SECONDS = 5.0
# The node names `xinfang worker` and `xinfang indexer` give themselves (cli.py): xinfang-<pid>@host, xinfang-indexer-<pid>@host.
NODE_PREFIXES = {"worker": "xinfang-", "indexer": "xinfang-indexer-"}
ROLES = ("worker", "indexer", "beat")


@dataclass
class ProbeAnswer:
    ok: bool
    zh: str
    en: str


def _is_role(node: str, role: str) -> bool:
    name = node.split("@", 1)[0]
    if role == "indexer":
        return name.startswith(NODE_PREFIXES["indexer"])
    return name.startswith(NODE_PREFIXES["worker"]) and not name.startswith(NODE_PREFIXES["indexer"])


def probe_celery_node(settings: Settings, role: str) -> ProbeAnswer:
    from .worker import make_celery

    host = socket.gethostname()
    try:
        replies = make_celery(settings).control.ping(timeout=PING_TIMEOUT_SECONDS)
    except Exception as exc:  # the broker itself is unreachable
        return ProbeAnswer(False, f"消息队列无法连接（{type(exc).__name__}）", f"broker unreachable ({type(exc).__name__})")
    nodes = [node for reply in replies for node in reply]
    mine = [node for node in nodes if node.endswith(f"@{host}") and _is_role(node, role)]
    if mine:
        return ProbeAnswer(True, f"{role} 进程应答：{', '.join(mine)}", f"{role} answering: {', '.join(mine)}")
    return ProbeAnswer(False, f"本机（{host}）没有 {role} 进程应答", f"no {role} on this host ({host}) answered the ping")


def probe_beat(settings: Settings) -> ProbeAnswer:
    from .beat_lock import read_beat_record
    from .diagnostics import heartbeat_limit_seconds
    from .processes import pid_alive

    record = read_beat_record(settings.data_dir)
    if record is None:
        return ProbeAnswer(False, "没有定时调度进程的记录", "no beat has recorded itself on this data directory")
    host, pid = record.get("host"), int(record.get("pid") or 0)
    if host != socket.gethostname() or not pid_alive(pid):
        return ProbeAnswer(False, f"锁记录中的定时调度进程（{host} pid {pid}）不在本机运行",
                           f"the beat of the lock's record ({host} pid {pid}) is not running here")
    age = time.time() - max(float(record.get("started") or 0), float(record.get("sent") or 0))
    limit = heartbeat_limit_seconds(settings)
    if age > limit:
        return ProbeAnswer(False, f"定时调度进程超过 {limit:.0f} 秒没有发出任务", f"the beat sent nothing for over {limit:.0f} s")
    return ProbeAnswer(True, f"定时调度进程正常（pid {pid}）", f"beat running (pid {pid})")


def probe(settings: Settings, role: str) -> ProbeAnswer:
    return probe_beat(settings) if role == "beat" else probe_celery_node(settings, role)
