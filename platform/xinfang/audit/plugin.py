"""Built-in plugin: the audit log's documents, and the sweeper step that anchors its head."""

from __future__ import annotations

import logging

from ..hookspecs import hookimpl
from .anchors import anchor_head
from .models import AuditRecord

log = logging.getLogger(__name__)


@hookimpl
def xinfang_document_models():
    return [AuditRecord]


@hookimpl
async def xinfang_sweep(now, runtime):
    # A failure here must not stop the other plugins' sweeps; the next beat tries again.
    try:
        anchor = await anchor_head(runtime.settings.data_dir, now)
    except Exception:
        log.exception("could not anchor the audit log's head")
        return
    if anchor is not None:
        log.info("audit log anchored at %s:%s", anchor.seq, anchor.hash)
