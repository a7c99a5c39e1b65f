"""Log formats: ``text`` (a readable line) or ``json`` (one object per line, for a log collector).

Each JSON line has time (UTC, ISO 8601), level, logger, message, and, where known, request_id, tenant (slug),
user (an account id: staff or superuser, never a petitioner, never a name), route (the URL rule, never the raw
path: that may hold ids and a search query), status, duration_ms, task. Nothing else is copied from the record:
a caller's ``extra`` is taken only under these names.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from .context import log_fields

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields a line may carry besides the fixed ones; taken from the context first, then from the record's ``extra``.
CONTEXT_FIELDS = ("request_id", "tenant", "user", "route", "method", "status", "duration_ms", "task", "task_id")


def _request_identity() -> dict:
    """Tenant slug and account id of the request in hand, read when the line is written (they are known
    only once the request pipeline has resolved them). Empty outside a request."""
    if "quart" not in sys.modules:
        return {}
    from quart import g, has_request_context

    if not has_request_context():
        return {}
    found = {}
    tenant_ctx = g.get("tenant_ctx")
    if tenant_ctx is not None:
        found["tenant"] = getattr(getattr(tenant_ctx, "tenant", None), "slug", None)
    principal = g.get("principal")
    if principal is not None:
        found["user"] = getattr(principal, "account_id", None)
    return {k: v for k, v in found.items() if v}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = {**log_fields(), **_request_identity()}
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = context.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The platform's readable line, with the request id after the logger's name when there is one."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or log_fields().get("request_id")
        text = super().format(record)
        if request_id:
            head, sep, rest = text.partition(": ")
            text = f"{head} [{request_id}]{sep}{rest}"
        return text


def configure_logging(settings) -> None:
    """One handler on the root logger, on stderr, in the configured format (replaces any earlier one)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)  # a library's warning is a line in the same format, not a stray text line among the JSON
