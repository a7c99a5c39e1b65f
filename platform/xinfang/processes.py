"""Child processes that never outlive the process that started them, and what their pid files say."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1

# Files and folders the platform creates are for its own user only: the data directory holds
# the signing and encryption keys, the bootstrap passwords, the store and the search indexes.
PRIVATE_UMASK = 0o077


def die_with_parent(death_signal: int = signal.SIGTERM) -> None:
    """``preexec_fn`` for Popen: the kernel sends ``death_signal`` to the child when its parent dies.

    Without it, a ``kill -9`` of ``xinfang run`` would leave the embedded store and
    the worker running, and a worker left over from an earlier run would go on
    taking messages from the same broker folder with its old database.

    The setting is not inherited across fork (Celery sets its own for its pool
    processes), and the parent may already be gone before it takes effect: then
    the child ends itself at once.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, death_signal)
    except OSError:  # not Linux: the supervisor's own clean-up still applies
        return
    if os.getppid() != parent:  # the parent died between fork and prctl
        os.kill(os.getpid(), death_signal)


def private_child() -> None:
    """``preexec_fn`` for the platform's own children: private files, and death with the parent."""
    os.umask(PRIVATE_UMASK)
    die_with_parent()


def raise_keyboard_interrupt(signum, frame) -> None:
    """SIGTERM handler: unwind like Ctrl-C, so every ``finally`` stops what it started."""
    raise KeyboardInterrupt(f"signal {signum}")


# -- which processes are alive, and whose --------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a running process; a zombie (dead, not yet reaped) is not."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux): kill(0) is all we know
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def process_argv(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def processes_of_data_dir(data_dir: Path) -> list[tuple[int, list[str]]]:
    """Every live process started with ``XINFANG_DATA_DIR=data_dir`` (pid and command line), read from /proc."""
    marker = f"XINFANG_DATA_DIR={data_dir}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ and pid_alive(int(entry)):
            found.append((int(entry), process_argv(int(entry))))
    return found


def is_beat(argv: list[str]) -> bool:
    """`xinfang beat`, or a worker that would fork an embedded beat (--beat)."""
    return "beat" in argv or "--beat" in argv


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def clear_stale_pid_file(path: Path, is_ours: Callable[[list[str]], bool]) -> int | None:
    """Remove ``path`` unless it names a live process of ours; return that process's pid, else None.

    A pid file outlives a process killed with SIGKILL. Its pid then belongs to nobody,
    to a zombie nobody reaped, or (after the pids wrapped around) to an unrelated
    process; only a live process whose command line ``is_ours`` still owns the file.
    """
    pid = read_pid_file(path)
    if pid is not None and pid_alive(pid) and is_ours(process_argv(pid)):
        return pid
    if path.exists():
        log.warning("过期的 pid 文件已删除 / removed a stale pid file: %s (pid %s is %s)", path, pid,
                    "not alive" if pid is None or not pid_alive(pid) else "not ours")
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return None


def signal_name(returncode: int | None) -> str:
    """How a child ended, for log lines: ``exit 1`` or ``SIGKILL``."""
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"
