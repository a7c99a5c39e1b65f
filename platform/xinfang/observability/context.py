"""The request id and the log fields of the work in hand (a request, or a task sent during one).

Kept in a context variable: each request and each task runs in its own context, and a task sent
from a thread of the broker pool carries the context it was sent from (``worker.send_task_async``).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
TASK_HEADER = "xinfang_request_id"  # the Celery message header that carries it into the worker
# What a proxy or a client may hand us: letters, digits and a few separators, at most 128 characters. Anything
# else (spaces, quotes, control characters, a name...) is replaced by an id of our own, so a log line cannot be forged.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

_fields: ContextVar[dict | None] = ContextVar("xinfang_log_fields", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The client's (or proxy's) id when it is well-formed, else a new one."""
    if incoming and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return new_request_id()


def log_fields() -> dict:
    """The fields every log line of this request or task carries (request_id, route, task...)."""
    return _fields.get() or {}


def current_request_id() -> str | None:
    return log_fields().get("request_id")


def begin(**fields) -> None:
    """Start this context's fields afresh (a new request: nothing of an earlier one may stay)."""
    _fields.set({k: v for k, v in fields.items() if v is not None})


def bind(**fields) -> None:
    """Add fields for the rest of this context (a request's handler, a task's run)."""
    _fields.set({**log_fields(), **{k: v for k, v in fields.items() if v is not None}})


@contextlib.contextmanager
def bound(**fields):
    token = _fields.set({**log_fields(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)
