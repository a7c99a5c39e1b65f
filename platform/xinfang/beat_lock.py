"""One beat scheduler per deployment, ever: an exclusive lock file under the data directory.

Two schedulers would each send every sweep (twice the work, and two sweepers
racing over the same documents). Whatever starts a beat (``xinfang beat``, a
worker with ``--beat``, plain ``celery beat`` with our app) goes through
``SingleBeatScheduler``, which takes ``DATA_DIR/beat.lock`` with ``flock`` before
it schedules anything and holds it for the life of the process. The kernel
drops the lock when that process dies, however it dies, so a crashed beat never
leaves a stale lock behind; a second beat finds it taken and exits with a
message naming the holder. On Kubernetes the data volume is shared, so the lock
holds across pods as well.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path

from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)

LOCK_NAME = "beat.lock"
# Exit status of a beat that found another one running (EX_TEMPFAIL: try again later).
ANOTHER_BEAT_EXIT = 75

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
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        os.close(fd)
        raise AnotherBeatRunning(path, holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _held[path] = fd
    return path


def holds_beat_lock(data_dir: Path) -> bool:
    return lock_path(data_dir) in _held


class SingleBeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler, refusing to run while another beat holds the lock."""

    def __init__(self, *args, **kwargs):
        app = kwargs.get("app") or args[0]
        try:
            acquire_beat_lock(app.xinfang_settings.data_dir)
        except AnotherBeatRunning as exc:
            log.error("%s / %s", exc.message["zh"], exc.message["en"])
            raise SystemExit(ANOTHER_BEAT_EXIT) from None
        super().__init__(*args, **kwargs)
