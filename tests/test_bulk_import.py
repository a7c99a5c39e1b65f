"""Bulk import of a legacy register: a GBK CSV of 200 rows with deliberate errors; the dry run lists each (row, column,
zh/en), the real run imports the rest exactly once (received date kept, identity sealed, read as imported by
analytics), running it again and importing the same rows as XLSX change nothing, and a run that crashes halfway and is
run again ends with the same petitions as one that never crashed."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from datetime import date

import pytest
from bson import ObjectId
from openpyxl import Workbook
from quart.datastructures import FileStorage

from xinfang.analytics.facts import _source
from xinfang.analytics.models import AnalyticsFact
from xinfang.id_numbers import check_character
from xinfang.imports import service as import_service
from xinfang.audit.models import AuditRecord
from xinfang.auth.models import StaffAccount
from xinfang.auth.principal import Principal
from xinfang.diagnostics import PROBE, WorkerProbe
from xinfang.worker import send_task_async
from xinfang.imports.http import progress_view
from xinfang.imports.mapping import read_date
from xinfang.imports.models import ImportedRow, ImportRun
from xinfang.imports.reading import read_table
from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.staffing import operator_account

ISOLATION_CASES = {
    "imports.imports_page": {"method": "GET", "path": "/staff/imports", "kind": "collection"},
    "imports.upload_submit": {"method": "POST", "path": "/staff/imports", "kind": "collection", "form": True,
                              "body": {"source": "iso"}, "expect": (422,)},
    "imports.run_page": {"method": "GET", "path": "/staff/imports/{id}", "kind": "object", "owner_object": "petition"},
    "imports.check_submit": {"method": "POST", "path": "/staff/imports/{id}/check", "kind": "object", "owner_object": "petition",
                             "form": True},
    "imports.import_submit": {"method": "POST", "path": "/staff/imports/{id}/import", "kind": "object", "owner_object": "petition",
                              "form": True},
    "imports.progress": {"method": "GET", "path": "/staff/imports/{id}/progress", "kind": "object", "owner_object": "petition"},
}

HEADINGS = ["编号", "来信日期", "标题", "问题类别", "反映内容", "姓名", "联系电话", "渠道", "身份证号"]
MAPPING = {"编号": "_source_id", "来信日期": "_received_on", "标题": "title", "问题类别": "category", "反映内容": "content",
           "姓名": "petitioner_name", "联系电话": "phone", "渠道": "_channel", "身份证号": "id_number"}
CATEGORIES = ["违反廉洁纪律", "违反群众纪律", "违反工作纪律", "其他"]
DATE_STYLES = ("{:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日")


ROWS = 90  # every kind of error in register() appears by row 87; more rows only load the shared worker longer


def register(tag: str, count: int = ROWS) -> tuple[list[list[str]], dict[int, tuple[str, str]]]:
    """``count`` rows of an old register; every so often one with a deliberate error: {row number: (column, words)}."""
    rows, bad = [], {}
    for i in range(count):
        number = i + 2  # the heading is row 1
        day = date(2023, 1 + i % 12, 1 + i % 28)
        row = [f"{tag}-{i:04d}", DATE_STYLES[i % 3].format(day, d=day), f"{tag} 第{i}号 学校收费问题", CATEGORIES[i % 4],
               f"反映某中学违规收取补课费，第 {i} 件。", "", "", ["来信", "来访", "电话", "网上"][i % 4], ""]
        if i % 3 == 0:  # a named petitioner: name, phone and ID number, as the form asks
            first17 = f"32132419800101{i % 1000:03d}"
            row[5], row[6], row[8] = f"王{i:03d}", f"1380000{i:04d}", first17 + check_character(first17)
        if i % 25 == 3:
            row[2], bad[number] = "", ("标题", "必填")
        elif i % 25 == 7:
            row[1], bad[number] = "2024/13/45", ("来信日期", "无法识别")
        elif i % 25 == 11:
            row[3], bad[number] = "廉政", ("问题类别", "不在可选项中")
        elif i % 25 == 19:
            row[7], bad[number] = "传真", ("渠道", "无法识别")
        elif i == 50:
            row[0], bad[number] = "", ("编号", "为空")
        elif i == 60:
            row[0], bad[number] = f"{tag}-{59:04d}", ("编号", "重复")
        elif i == 70:
            row[1], bad[number] = "2099-01-01", ("来信日期", "不能晚于今天")
        elif i == 80:
            first17 = f"32132419800101{i % 1000:03d}"
            row[5], row[6], row[8], bad[number] = "李四", "12345", first17 + check_character(first17), ("联系电话", "格式")
        rows.append(row)
    return rows, bad


def as_csv(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADINGS] + rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADINGS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_same_register_reads_alike_from_gbk_utf8_with_bom_and_xlsx():
    rows, _ = register("R", 40)
    gbk = read_table("register.csv", as_csv(rows, "gbk"))
    assert gbk == read_table("register.csv", as_csv(rows, "utf-8-sig")) == read_table("register.xlsx", as_xlsx(rows))
    assert gbk[0] == HEADINGS and gbk[1][0][2].endswith("学校收费问题")
    assert read_date("2024年3月5日") == read_date("2024/3/5") == read_date("20240305") == date(2024, 3, 5)
    assert read_date("2024/13/45") is None


async def _importer(client, slug: str) -> dict:
    await operator_account(slug, "importer-1", ["registrar"])
    return await login_token(client, slug, "importer-1", "long-enough-pw")


async def _upload(client, slug, headers, source: str, filename: str, data: bytes) -> str:
    answer = await client.post(f"/t/{slug}/staff/imports", headers=headers, form={"source": source, "form": "petition"},
                               files={"file": FileStorage(io.BytesIO(data), filename=filename)})
    assert answer.status_code == 303, await answer.get_data(as_text=True)
    return answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


async def _wait(client, slug, headers, run_id: str, state: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        progress = await (await client.get(f"/t/{slug}/staff/imports/{run_id}/progress", headers=headers)).get_json()
        seen.append(progress["processed"])
        if progress["state"] == state:
            progress["seen"] = seen
            return progress
        assert progress["state"] != "failed", progress
        await asyncio.sleep(0.3)
    raise AssertionError(f"run {run_id} did not reach {state}: {progress}")


async def _check(client, slug, headers, run_id: str, mapping: dict) -> dict:
    run = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(run_id)}, projection={"headers": 1})
    form = {f"col-{i}": mapping.get(h, "") for i, h in enumerate(run["headers"])} | {"default_channel": "letter"}
    answer = await client.post(f"/t/{slug}/staff/imports/{run_id}/check", headers=headers, form=form)
    assert answer.status_code == 303, await answer.get_data(as_text=True)
    return await _wait(client, slug, headers, run_id, "checked")


async def _import(client, slug, headers, run_id: str) -> dict:
    answer = await client.post(f"/t/{slug}/staff/imports/{run_id}/import", headers=headers, form={})
    assert answer.status_code == 303, await answer.get_data(as_text=True)
    return await _wait(client, slug, headers, run_id, "imported")


async def _inline(ctx: TenantContext, keyring, run_id: str, *, real: bool) -> dict:
    """A run started as the page starts it, made in this process (the worker runs the same ``execute_run``): the
    shared worker may still be busy with the events of the petitions just imported."""
    account = await ctx.scope.repo(StaffAccount).find_one({"username": "importer-1"})
    run = await import_service.run_status(ctx, run_id)

    async def here(tenant_id, rid, is_real):
        await import_service.execute_run(ctx, keyring, rid, is_real)

    await import_service.do_start(ctx, Principal.of_staff(account, "token"), run, real=real, send=here)
    return progress_view(await import_service.run_status(ctx, run_id))


async def _facts_of(app, petitions: list[Petition], timeout: float = 400.0) -> dict:
    """Each petition's analytics fact, once the worker has handled every petition's events and what they sent on:
    a probe message sent after them comes back (twice: the second follows whatever the first round sent), so the
    tests after this one find the shared worker idle again."""
    deadline = time.monotonic() + timeout
    for _ in range(2):
        probe = await WorkerProbe().insert()
        await send_task_async(app.app.extensions["xinfang.celery"], PROBE, [str(probe.id)])
        while (await WorkerProbe.get(probe.id)).answered_at is None:
            assert time.monotonic() < deadline, "the worker did not catch up with the imported petitions"
            await asyncio.sleep(1.0)
    ids = [p.id for p in petitions]
    facts = {doc["_id"]: doc async for doc in AnalyticsFact.get_pymongo_collection().find({"_id": {"$in": ids}})}
    assert len(facts) == len(ids), f"{len(ids) - len(facts)} of {len(ids)} imported petitions have no analytics fact"
    return facts


async def _petitions_of(scope: TenantScope, keyring, source: str, ids: list[str]) -> list[Petition]:
    wanted = [import_service.SubmissionKey(keyring, scope.tenant_id, import_service.submission_key(source, i)).petition_id for i in ids]
    return await scope.repo(Petition).find({"_id": {"$in": wanted}}).to_list()


async def test_a_register_with_errors_dry_run_lists_each_and_the_import_takes_the_rest_once(client, app, tenants, settings):
    slug, tag = tenants.A, f"IMP{uuid.uuid4().hex[:6]}"
    source = f"旧登记簿 {tag}"
    headers = await _importer(client, slug)
    scope = TenantScope((await Tenant.find_one({"slug": slug})).id)
    keyring = app.app.extensions["xinfang.keyring"]
    rows, bad = register(tag)

    run_id = await _upload(client, slug, headers, source, "登记簿.csv", as_csv(rows, "gbk"))
    page = await (await client.get(f"/t/{slug}/staff/imports/{run_id}", headers=headers)).get_data(as_text=True)
    assert "学校收费问题" in page and "原系统编号" in page  # the file read as GBK, the special targets offered

    checked = await _check(client, slug, headers, run_id, MAPPING)
    run = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(run_id)})
    by_row: dict[int, list[dict]] = {}
    for error in run["errors"]:
        by_row.setdefault(error["row"], []).append(error)
    assert set(by_row) == set(bad), sorted(set(by_row) ^ set(bad))
    for number, (column, words) in bad.items():
        assert any(e["column"] == column and words in e["zh"] and e["en"] for e in by_row[number]), (number, by_row[number])
    assert checked["invalid"] == len(bad) and checked["valid"] == ROWS - len(bad) and checked["already"] == 0
    print(f"\ndry run of {ROWS} rows at {checked['rows_per_second']} rows/s")
    assert await scope.repo(ImportedRow).count({"source": source}) == 0  # a dry run writes no petition

    imported = await _import(client, slug, headers, run_id)
    valid_ids = [r[0] for n, r in enumerate(rows, start=2) if n not in bad]
    assert imported["imported"] == len(valid_ids) == ROWS - len(bad)
    assert imported["rows_per_second"] and imported["rows_per_second"] > 1
    print(f"\nimported {imported['imported']} of {ROWS} rows at {imported['rows_per_second']} rows/s")
    petitions = await _petitions_of(scope, keyring, source, valid_ids)
    assert len(petitions) == len(valid_ids)
    assert await scope.repo(ImportedRow).count({"source": source}) == len(valid_ids)
    audited = await AuditRecord.find_one({"action": "petitions.import", "subject": run_id})
    assert audited is not None and audited.query["sha256"] == run["sha256"]
    first = next(p for p in petitions if p.title == f"{tag} 第0号 学校收费问题")
    assert first.received_on == "2023-01-01" and first.steps[0].actor == "system" and _source(first) == "imported"
    assert first.identity_sealed and "petitioner_name" not in first.answers and not first.anonymous  # row 0 named its petitioner
    second = next(p for p in petitions if p.title == f"{tag} 第1号 学校收费问题")
    assert second.received_on == "2023-02-02" and second.anonymous and second.channel == "visit"

    # again: the same run, then the same rows as an XLSX under the same source (its saved mapping reused): nothing new
    ctx = TenantContext.of(await Tenant.find_one({"slug": slug}))
    again = await _inline(ctx, keyring, run_id, real=True)
    assert (again["state"], again["imported"], again["already"]) == ("imported", 0, len(valid_ids))
    xlsx_run = await _upload(client, slug, headers, source, "登记簿.xlsx", as_xlsx(rows))
    saved = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(xlsx_run)}, projection={"mapping": 1})
    assert saved["mapping"] == MAPPING
    rechecked = await _inline(ctx, keyring, xlsx_run, real=False)
    assert rechecked["state"] == "checked" and rechecked["already"] == len(valid_ids) and rechecked["invalid"] == len(bad)
    reimported = await _inline(ctx, keyring, xlsx_run, real=True)
    assert (reimported["imported"], reimported["already"]) == (0, len(valid_ids))
    assert len(await _petitions_of(scope, keyring, source, valid_ids)) == len(valid_ids)
    assert await scope.repo(ImportedRow).count({"source": source}) == len(valid_ids)
    facts = await _facts_of(app, petitions)  # analytics counts them on the file's dates, as imported
    assert facts[first.id]["day"] == "2023-01-01" and facts[first.id]["source"] == "imported"
    assert {f["source"] for f in facts.values()} == {"imported"}


async def test_a_mapping_without_the_id_or_date_column_is_refused_by_column(client, tenants):
    slug = tenants.A
    headers = await _importer(client, slug)
    rows, _ = register(f"M{uuid.uuid4().hex[:6]}", 5)
    run_id = await _upload(client, slug, headers, f"无编号 {uuid.uuid4().hex[:6]}", "a.csv", as_csv(rows, "utf-8-sig"))
    refused = await client.post(f"/t/{slug}/staff/imports/{run_id}/check", headers=headers,
                                form={"col-2": "title", "col-3": "title", "default_channel": "letter"})
    assert refused.status_code == 422
    text = await refused.get_data(as_text=True)
    assert "原系统编号" in text and "同一项" in text
    premature = await client.post(f"/t/{slug}/staff/imports/{run_id}/import", headers=headers, form={})
    assert premature.status_code == 409 and "请先试运行" in await premature.get_data(as_text=True)
    broken = await client.post(f"/t/{slug}/staff/imports", headers=headers, form={"source": "x", "form": "petition"},
                               files={"file": FileStorage(io.BytesIO(b"PK\x03\x04garbage"), filename="x.xlsx")})
    assert broken.status_code == 422 and "Excel" in await broken.get_data(as_text=True)


async def test_a_run_that_crashes_halfway_and_runs_again_ends_as_if_it_never_crashed(client, app, tenants, settings, monkeypatch):
    slug, tag = tenants.A, f"CR{uuid.uuid4().hex[:6]}"
    source = f"留言板 {tag}"
    headers = await _importer(client, slug)
    tenant = await Tenant.find_one({"slug": slug})
    ctx, keyring = TenantContext.of(tenant), app.app.extensions["xinfang.keyring"]
    rows = [r for n, r in enumerate(register(tag, 25)[0], start=2) if n not in register(tag, 25)[1]]  # 21 good rows
    run_id = await _upload(client, slug, headers, source, "board.csv", as_csv(rows, "utf-8"))
    await TenantScope(tenant.id).repo(ImportRun).update_one({"_id": ObjectId(run_id)}, {"$set": {"mapping": MAPPING}})
    assert (await _inline(ctx, keyring, run_id, real=False))["valid"] == len(rows)  # the dry run (mapping saved by the source)

    real_submit, calls = import_service.do_submit_petition, []

    async def dies_on_the_twelfth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 12:
            raise RuntimeError("worker killed")
        return await real_submit(*args, **kwargs)

    monkeypatch.setattr(import_service, "do_submit_petition", dies_on_the_twelfth)
    await TenantScope(tenant.id).repo(ImportRun).update_one({"_id": ObjectId(run_id)}, {"$set": {"state": "importing", "claimed_by": None}})
    with pytest.raises(RuntimeError):
        await import_service.execute_run(ctx, keyring, run_id, True)  # in this process, so the crash is ours to make
    stopped = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(run_id)}, projection={"state": 1})
    assert stopped["state"] == "failed"
    ids = [r[0] for r in rows]
    part = len(await _petitions_of(ctx.scope, keyring, source, ids))
    assert 0 < part < len(rows)
    monkeypatch.setattr(import_service, "do_submit_petition", real_submit)

    resumed = await _inline(ctx, keyring, run_id, real=True)  # "run it again"
    assert resumed["state"] == "imported"
    assert resumed["imported"] + resumed["already"] == len(rows) and resumed["already"] >= part
    petitions = await _petitions_of(ctx.scope, keyring, source, ids)
    assert len(petitions) == len(rows)
    assert await ctx.scope.repo(ImportedRow).count({"source": source}) == len(rows)
    await _facts_of(app, petitions)
