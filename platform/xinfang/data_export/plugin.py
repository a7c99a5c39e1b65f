"""Built-in plugin: a tenant's data as a documented archive file, made by a worker, downloaded by a tenant admin."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import PluginInfo


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("data_export", {"zh": "数据导出", "en": "Data export"}, required=True)


@hookimpl
def xinfang_document_models():
    from .models import DataExport, ExportChunk

    return [DataExport, ExportChunk]


@hookimpl
def xinfang_blueprints():
    from .http import data_export_bp

    return [data_export_bp]


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    from . import tasks

    tasks.register(celery_app, runtime)


@hookimpl
async def xinfang_sweep(now, runtime):
    """An export still queued two minutes after it was asked for lost its message: sent again, once."""
    from .service import lost_exports
    from .tasks import BUILD

    if runtime is None:
        return
    for tenant_id, export_id in await lost_exports(now):
        await runtime.send(BUILD, [tenant_id, export_id])
