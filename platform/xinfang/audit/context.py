"""What this process's audit appends use: the keys and this host's anchors file.

``do_append_audit`` keeps the signature every caller knows, so the keys come from
here. ``Store.open(settings, ...)`` calls ``configure_audit(settings)``: every
process that can reach the store (web, worker, beat, the CLI, scripts) can
append, and it appends with the settings it opened the store with, as Beanie
binds the records to that store. The keys are derived on the first append, so
opening the store has no other effect. A process that never configured refuses
to append (and so to answer the read it would log) rather than write a record
nobody could verify.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..settings import Settings
from .anchors import AnchorLog, anchors_dir
from .keys import AuditKeys


@dataclass(frozen=True)
class AuditContext:
    keys: AuditKeys
    anchor_log: AnchorLog


class AuditNotConfigured(RuntimeError):
    """An append in a process that never called configure_audit(settings)."""


_lock = threading.Lock()
_settings: Settings | None = None
_context: AuditContext | None = None


def configure_audit(settings: Settings) -> None:
    global _settings, _context
    with _lock:
        if settings != _settings:
            _settings, _context = settings, None


def audit_context() -> AuditContext:
    global _context
    with _lock:
        if _context is None:
            if _settings is None:
                raise AuditNotConfigured("the audit log's keys are not configured in this process: call "
                                         "xinfang.audit.context.configure_audit(settings) when it starts")
            keys = AuditKeys.from_settings(_settings)
            _context = AuditContext(keys, AnchorLog(anchors_dir(_settings.data_dir), keys.anchors))
        return _context
