"""One beat scheduler per deployment, ever: an exclusive lock file under the data directory.

Two schedulers would each send every sweep (twice the work, and two sweepers
racing over the same documents). Whatever starts a beat (``xinfang beat``, a
worker with ``--beat``, plain ``celery beat`` with our app) goes through
``beat_scheduler.SingleBeatScheduler``, which takes ``DATA_DIR/beat.lock`` with ``flock`` before
it schedules anything and holds it for the life of the process. The kernel
drops the lock when that process dies, however it dies, so a crashed beat never
leaves a stale lock behind; a second beat finds it taken and exits with a
message naming the holder. On Kubernetes the data volume is shared, so the lock
holds across pods as well.

The holder also writes into the lock file who it is and when it last sent a task
(``read_beat_record``): ``/healthz`` reads it to tell a stopped beat from a busy
worker, and ``xinfang run`` to know its beat is the one holding the lock.
This module imports no Celery: the supervisor reads the record too.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

LOCK_NAME = "beat.lock"
# Exit status of a beat that found another one running (EX_TEMPFAIL: try again later).
ANOTHER_BEAT_EXIT = 75
RECORD_SIZE = 256  # the record is rewritten in place, padded: a reader never sees half of it

_held: dict[Path, int] = {}  # lock path -> open descriptor, for as long as this process lives


class AnotherBeatRunning(RuntimeError):
    def __init__(self, path: Path, holder: str):
        self.path = path
        self.holder = holder or "unknown"
        self.message = {
            "zh": f"已有一个定时调度进程（beat）在运行（{self.holder}），本进程退出；每个部署只能有一个。锁文件：{path}",
            "en": f"another beat scheduler is running ({self.holder}); this one exits: one per deployment. Lock file: {path}",
        }
        super().__init__(self.message["en"])


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def acquire_beat_lock(data_dir: Path) -> Path:
    """Take the deployment's beat lock for this process, or raise ``AnotherBeatRunning``.

    Idempotent within one process. ``flock`` locks belong to the open file, not the
    process: taking it twice through two descriptors would refuse ourselves.
    """
    path = lock_path(data_dir)
    if path in _held:
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        record = _parse(os.pread(fd, RECORD_SIZE, 0))
        os.close(fd)
        holder = f"pid {record['pid']} on {record['host']}" if record else ""
        raise AnotherBeatRunning(path, holder) from None
    _held[path] = fd
    write_beat_record(fd, started=time.time(), sent=None)
    return path


def write_beat_record(fd: int, **facts) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), **facts}
    os.pwrite(fd, json.dumps(record).encode().ljust(RECORD_SIZE), 0)


def _parse(raw: bytes) -> dict | None:
    try:
        record = json.loads(raw.decode(errors="replace").strip() or "null")
    except ValueError:
        return None
    return record if isinstance(record, dict) and "pid" in record else None


def read_beat_record(data_dir: Path) -> dict | None:
    """Who holds (or last held) the beat lock, since when, and when it last sent a task (epoch seconds)."""
    try:
        return _parse(lock_path(data_dir).read_bytes()[:RECORD_SIZE])
    except OSError:
        return None


def held_lock_fd(data_dir: Path) -> int:
    """The descriptor of the lock this process holds (to rewrite its record)."""
    return _held[lock_path(data_dir)]
