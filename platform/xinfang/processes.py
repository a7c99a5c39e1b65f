"""Child processes that never outlive the process that started them."""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for Popen: the kernel sends SIGTERM to the child when its parent dies.

    Without it, a ``kill -9`` of ``xinfang run`` would leave the embedded store and
    the worker running, and a worker left over from an earlier run would go on
    taking messages from the same broker folder with its old database.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the supervisor's own clean-up still applies
        pass


def raise_keyboard_interrupt(signum, frame) -> None:
    """SIGTERM handler: unwind like Ctrl-C, so every ``finally`` stops what it started."""
    raise KeyboardInterrupt(f"signal {signum}")
