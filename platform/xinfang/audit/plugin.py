"""Built-in plugin: the audit log's documents, and the sweeper step that anchors its head."""

from __future__ import annotations

import logging

from ..hookspecs import hookimpl
from .keys import AuditKeys
from .models import AuditRecord
from .sweep import anchor_head

log = logging.getLogger(__name__)


@hookimpl
def xinfang_document_models():
    return [AuditRecord]


@hookimpl
async def xinfang_sweep(now, runtime):
    # A failure here must not stop the other plugins' sweeps; the next beat tries again.
    try:
        anchor = await anchor_head(runtime.settings.data_dir, AuditKeys.from_settings(runtime.settings), now)
    except Exception:
        log.exception("could not anchor the audit log's head")
        return
    if anchor is not None:
        log.info("audit log anchored at %s:%s by the sweeper", anchor.seq, anchor.hash)
