"""The import pages (staff console): upload a file, map its columns, dry run, import; progress as JSON for the bar."""

from __future__ import annotations

from quart import Blueprint, current_app, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..forms.service import list_forms, require_form
from ..http import staff_page
from ..petitions.models import CHANNEL_NAMES, Channel
from ..tenancy.resolution import current_tenant
from ..worker import send_task_async
from . import service
from .mapping import IGNORE, targets
from .models import RUN_STATE_WORDS, RunState
from .reading import FILE_FIELD, MAX_FILE_BYTES, read_table
from .tasks import RUN

imports_bp = Blueprint("imports", __name__, url_prefix="/t/<tenant_slug>/staff/imports")

SAMPLES = 3  # values shown under each column heading on the mapping page
SHOWN_ERRORS = 1000


async def _send(tenant_id: str, run_id: str, real: bool) -> None:
    await send_task_async(current_app.extensions["xinfang.celery"], RUN, [tenant_id, run_id, real])


# -- pages ---------------------------------------------------------------------------------------------------------


async def _list_page(*, errors: dict | None = None, values: dict | None = None, status: int = 200):
    ctx = current_tenant()
    return await staff_page("staff/imports.html", status, forms=await list_forms(ctx.scope), sources=await service.sources(ctx),
                            runs=await service.recent_runs(ctx), states=RUN_STATE_WORDS, errors=errors or {}, values=values or {},
                            max_mb=MAX_FILE_BYTES // 1024 // 1024)


async def _run_page(run_id: str, *, errors: dict | None = None, status: int = 200):
    ctx = current_tenant()
    run = await service.access_run(ctx, run_id)
    form = await require_form(ctx.scope, run.form_key)
    _, rows = read_table(run.filename, run.data)
    samples = {h: [r[i] for r in rows if r[i]][:SAMPLES] for i, h in enumerate(run.headers)}
    return await staff_page("staff/import_run.html", status, run=run, form=form, targets=targets(form), samples=samples,
                            ignore=IGNORE, channels={c.value: CHANNEL_NAMES[c] for c in Channel}, states=RUN_STATE_WORDS,
                            running=run.state in service.RUNNING, can_import=run.state in (RunState.CHECKED, RunState.IMPORTED, RunState.FAILED),
                            shown_errors=run.errors[:SHOWN_ERRORS], shown_limit=SHOWN_ERRORS, errors=errors or {})


async def upload(ctx, principal):
    submitted, files = await request.form, await request.files
    upload_file = files.get(FILE_FIELD)
    values = {"source": submitted.get("source", ""), "form": submitted.get("form", "")}
    try:
        if upload_file is None or not upload_file.filename:
            raise InvalidInput(fields={FILE_FIELD: {"zh": "请选择要导入的文件（.xlsx 或 .csv）", "en": "choose a file to import (.xlsx or .csv)"}})
        run = await service.do_upload(ctx, principal, source=values["source"], form_key=values["form"], filename=upload_file.filename,
                                      data=upload_file.read(MAX_FILE_BYTES + 1))
    except InvalidInput as refused:
        return await _list_page(errors={**refused.fields, "_": refused.message}, values=values, status=refused.status)
    return redirect(url_for("imports.run_page", tenant_slug=ctx.tenant.slug, run_id=str(run.id)), 303)


async def check(ctx, principal, run_id):
    submitted = await request.form
    run = await service.access_run(ctx, run_id)
    mapping = {h: submitted.get(f"col-{i}", IGNORE) for i, h in enumerate(run.headers)}
    try:
        run = await service.do_set_mapping(ctx, principal, run, mapping, submitted.get("default_channel", ""))
        await service.do_start(ctx, principal, run, real=False, send=_send)
    except InvalidInput as refused:
        by_column = {f"col-{run.headers.index(k)}" if k in run.headers else k: m for k, m in refused.fields.items()}
        return await _run_page(run_id, errors={**by_column, "_": refused.message}, status=refused.status)
    except DomainError as refused:
        return await _run_page(run_id, errors={"_": refused.message}, status=refused.status)
    return redirect(url_for("imports.run_page", tenant_slug=ctx.tenant.slug, run_id=run_id), 303)


async def start_import(ctx, principal, run_id):
    run = await service.run_status(ctx, run_id)
    try:
        await service.do_start(ctx, principal, run, real=True, send=_send)
    except DomainError as refused:
        return await _run_page(run_id, errors={"_": refused.message}, status=refused.status)
    return redirect(url_for("imports.run_page", tenant_slug=ctx.tenant.slug, run_id=run_id), 303)


def progress_view(run) -> dict:
    return {"state": run.state.value, "state_words": RUN_STATE_WORDS[run.state], "running": run.state in service.RUNNING,
            "processed": run.processed, "total": run.total_rows, "valid": run.valid, "imported": run.imported,
            "already": run.already, "changed": run.changed, "invalid": run.invalid, "errors": len(run.errors), "message": run.message,
            "rows_per_second": run.rows_per_second}


# -- routes (three lines each) ------------------------------------------------------------------------------------


@imports_bp.get("")
@requires(Permission.PETITIONS_IMPORT)
async def imports_page(tenant_slug):
    return await _list_page()


@imports_bp.post("")
@requires(Permission.PETITIONS_IMPORT)
async def upload_submit(tenant_slug):
    return await upload(current_tenant(), current_principal())


@imports_bp.get("/<run_id>")
@requires(Permission.PETITIONS_IMPORT)
async def run_page(tenant_slug, run_id):
    return await _run_page(run_id)


@imports_bp.post("/<run_id>/check")
@requires(Permission.PETITIONS_IMPORT)
async def check_submit(tenant_slug, run_id):
    return await check(current_tenant(), current_principal(), run_id)


@imports_bp.post("/<run_id>/import")
@requires(Permission.PETITIONS_IMPORT)
async def import_submit(tenant_slug, run_id):
    return await start_import(current_tenant(), current_principal(), run_id)


@imports_bp.get("/<run_id>/progress")
@requires(Permission.PETITIONS_IMPORT)
async def progress(tenant_slug, run_id):
    return progress_view(await service.run_status(current_tenant(), run_id))
