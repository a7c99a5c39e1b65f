"""The export task: make one requested export (ids only; its state lives on the DataExport)."""

from __future__ import annotations

BUILD = "xinfang.data_export.build"


async def build_in_worker(_runtime, tenant_id: str, export_id: str) -> None:
    from ..imports.tasks import worker_keyring
    from ..tenancy.context import TenantContext
    from ..tenancy.models import Tenant
    from .service import build_export

    tenant = await Tenant.get(tenant_id)
    if tenant is not None:
        await build_export(TenantContext.of(tenant), worker_keyring(), export_id)


def register(celery_app, runtime) -> None:
    @celery_app.task(name=BUILD, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def build(tenant_id: str, export_id: str) -> None:
        runtime.run(build_in_worker, tenant_id, export_id)
