"""A template worker process: renders one request at a time from stdin, answers on stdout.

Started by ``pool.py`` as ``python -m xinfang.sandbox.worker MEMORY_BYTES`` with no secrets in
its environment. It limits its own address space, stops a render that runs past
the budget by itself (a timer), and the web process kills it should that fail (a
render stuck inside one C call). It exits when its pipe closes or its parent dies.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateError

from .environment import render_capped, template_line
from .frames import read_frame, write_frame
from .limits import DEFAULT_BUDGET, TemplateRefused


class _Overtime(BaseException):
    """Raised by the timer inside the render; a BaseException so no ``except Exception`` swallows it."""


def _on_alarm(signum, frame):
    raise _Overtime()


def _watch_parent(parent: int) -> None:
    """An orphaned worker (the web process was killed) goes away instead of spinning on."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _limit_resources(memory_bytes: int) -> None:
    for limit, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a lower hard limit already applies
            pass


def _refusal(kind: str, detail: str, lineno: int | None, *, recycle: bool = False) -> dict:
    return {"error": {"kind": kind, "detail": detail[:500], "lineno": lineno}, "recycle": recycle}


def handle(request: dict) -> dict:
    """Render one request; every way a template can fail becomes a refusal with its kind."""
    signal.setitimer(signal.ITIMER_REAL, request["seconds"])
    try:
        return {"html": render_capped(request["source"], request["context"], request["max_output"])}
    except _Overtime:
        return _refusal("timeout", f"ran longer than {request['seconds']} s", None)
    except TemplateRefused as refused:
        return _refusal(refused.kind, refused.detail, refused.lineno)
    except TemplateSyntaxError as error:
        return _refusal("syntax", error.message or str(error), error.lineno)
    except SecurityError as error:
        return _refusal("forbidden", str(error), template_line(error))
    except TemplateError as error:
        return _refusal("runtime", error.message or str(error), template_line(error))
    except (RecursionError, MemoryError) as error:  # the process may be in a poor state: replace it
        return _refusal("runtime", f"{type(error).__name__}: {error}", template_line(error), recycle=True)
    except Exception as error:  # IndexError, ZeroDivisionError, TypeError, ...: the template's own fault
        return _refusal("runtime", f"{type(error).__name__}: {error}", template_line(error))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main() -> None:
    # The protocol owns the original stdin/stdout; anything else printed goes to stderr.
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the whole group: the parent closes us
    _limit_resources(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUDGET.memory_bytes)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    write_frame(answers, {"ready": True})
    while (request := read_frame(requests)) is not None:
        try:
            answer = handle(request)
        except _Overtime:  # the timer fired just as the render finished, before it was stopped
            answer = _refusal("timeout", f"ran longer than {request['seconds']} s", None)
        write_frame(answers, answer)


if __name__ == "__main__":
    main()
