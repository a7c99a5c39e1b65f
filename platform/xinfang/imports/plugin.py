"""Built-in plugin: bulk import of legacy registers and message-board exports."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import PluginInfo


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("imports", {"zh": "批量导入", "en": "Bulk import"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import ImportedRow, ImportRun, ImportSource

    return [ImportSource, ImportRun, ImportedRow]


@hookimpl
def xinfang_blueprints():
    from .http import imports_bp

    return [imports_bp]


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    from . import tasks

    tasks.register(celery_app, runtime)


@hookimpl
async def xinfang_sweep(now, runtime):
    """A run whose task was lost (a worker killed before it acknowledged) is sent again; it resumes idempotently."""
    from .service import stale_runs
    from .tasks import RUN

    if runtime is None:
        return
    for tenant_id, run_id, real in await stale_runs(now):
        await runtime.send(RUN, [tenant_id, run_id, real])
