"""How fast a real import runs in the worker with its petitions' events handled (the page's path): a measurement, run
on request because it loads the shared worker for minutes. ``XINFANG_IMPORT_SPEED_ROWS=300 ./dev test
tests/test_bulk_import_speed.py -s`` prints rows/s as the run records it and the wall time until the worker is idle."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tests.test_bulk_import import MAPPING, _check, _facts_of, _import, _importer, _petitions_of, _upload, as_csv, register
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant

ROWS = int(os.environ.get("XINFANG_IMPORT_SPEED_ROWS", "0") or 0)
pytestmark = pytest.mark.skipif(ROWS <= 0, reason="a measurement: set XINFANG_IMPORT_SPEED_ROWS (e.g. 300) to run it")


async def test_import_speed_with_events_handled(client, app, tenants):
    slug, tag = tenants.A, f"SPD{uuid.uuid4().hex[:6]}"
    headers = await _importer(client, slug)
    rows, bad = register(tag, ROWS + ROWS // 8)
    rows = [r for n, r in enumerate(rows, start=2) if n not in bad][:ROWS]
    run_id = await _upload(client, slug, headers, f"测速 {tag}", "speed.csv", as_csv(rows, "utf-8"))
    checked = await _check(client, slug, headers, run_id, MAPPING)
    assert checked["valid"] == len(rows), checked
    started = time.monotonic()
    imported = await _import(client, slug, headers, run_id)
    run_seconds = time.monotonic() - started
    assert imported["imported"] == len(rows)
    scope = TenantScope((await Tenant.find_one({"slug": slug})).id)
    petitions = await _petitions_of(scope, app.app.extensions["xinfang.keyring"], f"测速 {tag}", [r[0] for r in rows])
    assert len(petitions) == len(rows)
    await _facts_of(app, petitions, timeout=1200)
    idle_seconds = time.monotonic() - started
    print(f"\n{len(rows)} rows: the run's own figure {imported['rows_per_second']} rows/s; page to imported {run_seconds:.1f} s "
          f"({len(rows) / run_seconds:.1f} rows/s); until the worker is idle {idle_seconds:.1f} s ({len(rows) / idle_seconds:.1f} rows/s)")


async def test_registering_rows_without_receipts_against_with_them(app, client, tenants, monkeypatch):
    """The rows' own part (no events: the worker handles those), in this process, the same number of rows each way,
    alternating halves so both meet the same load: imported rows as now (no receipt) against the same rows each with
    the argon2-hashed receipt they had before."""
    from tests.test_bulk_import import _inline
    from xinfang.imports import service as import_service
    from xinfang.imports.models import ImportRun
    from xinfang.tenancy.context import TenantContext
    from bson import ObjectId

    slug = tenants.A
    headers = await _importer(client, slug)
    ctx = TenantContext.of(await Tenant.find_one({"slug": slug}))
    keyring = app.app.extensions["xinfang.keyring"]
    real_submit = import_service.do_submit_petition

    async def with_receipts(*args, **kwargs):
        return await real_submit(*args, **{**kwargs, "with_receipt": True})

    figures: dict[str, list[float]] = {"without": [], "with": []}
    half = max(ROWS // 4, 10)
    for round_ in range(2):
        for how in ("without", "with"):
            tag = f"R{how[0]}{round_}{uuid.uuid4().hex[:5]}"
            rows, bad = register(tag, half + half // 4)
            rows = [r for n, r in enumerate(rows, start=2) if n not in bad][:half]
            run_id = await _upload(client, slug, headers, f"收据对比 {tag}", "r.csv", as_csv(rows, "utf-8"))
            await ctx.scope.repo(ImportRun).update_one({"_id": ObjectId(run_id)}, {"$set": {"mapping": MAPPING}})
            assert (await _inline(ctx, keyring, run_id, real=False))["valid"] == len(rows)
            monkeypatch.setattr(import_service, "do_submit_petition", with_receipts if how == "with" else real_submit)
            started = time.monotonic()
            done = await _inline(ctx, keyring, run_id, real=True)
            figures[how].append(len(rows) / (time.monotonic() - started))
            monkeypatch.setattr(import_service, "do_submit_petition", real_submit)
            assert done["imported"] == len(rows)
    print(f"\n{half} rows x 2 each way, rows/s without receipts {[round(f, 1) for f in figures['without']]}, "
          f"with argon2 receipts {[round(f, 1) for f in figures['with']]}")
    assert all(f > 0 for f in figures["without"] + figures["with"])
