"""The import task: one dry run or real run of one uploaded file (ids only; progress lives on the ImportRun)."""

from __future__ import annotations

import functools

RUN = "xinfang.imports.run"


@functools.cache
def worker_keyring():
    from ..crypto import KeyRing
    from ..secrets_file import resolve_encryption_key
    from ..settings import Settings

    return KeyRing(resolve_encryption_key(Settings.from_env()))


async def run_in_worker(runtime, tenant_id: str, run_id: str, real: bool) -> None:
    from ..dispatch import dispatch_events
    from ..events import materialise_by_id
    from ..tenancy.context import TenantContext
    from ..tenancy.models import Tenant
    from .service import execute_run

    async def settle(petition_ids: list[str]) -> None:
        """A batch's events here, together: their follow-up messages (index drain, recount) go out once per batch.
        Each petition's own hand-over message then finds nothing left to do."""
        rows = await materialise_by_id("petitions", petition_ids)
        if rows:
            await dispatch_events(runtime, [str(row.id) for row in rows], rows=rows)

    tenant = await Tenant.get(tenant_id)
    if tenant is not None:
        await execute_run(TenantContext.of(tenant), worker_keyring(), run_id, real, settle)


def register(celery_app, runtime) -> None:
    @celery_app.task(name=RUN, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_import(tenant_id: str, run_id: str, real: bool) -> None:
        runtime.run(run_in_worker, tenant_id, run_id, real)
