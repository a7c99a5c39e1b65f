"""Imports of registers with their own state: a 2023 register's closed cases (已办结 with a closing date) arrive
closed, with the step recorded as imported, and are not overdue; open ones start where new cases start. A row
imported before whose content changed in a later file is listed 将更新 with its changed fields by the dry run and
updated by the real run (audited, the case's history keeps what it said before); running it again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

from bson import ObjectId

from tests.conftest import login_token
from tests.test_bulk_import import _facts_of, _importer, _inline, _petitions_of, _upload
from xinfang.audit.models import AuditRecord
from xinfang.imports import service as import_service
from xinfang.imports.models import ImportedRow, ImportRun
from xinfang.petitions.service import china_today, flag_overdue
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant

HEADINGS = ["编号", "来信日期", "标题", "问题类别", "反映内容", "办理状态", "办结日期"]
MAPPING = {"编号": "_source_id", "来信日期": "_received_on", "标题": "title", "问题类别": "category", "反映内容": "content",
           "办理状态": "_state", "办结日期": "_closed_on"}


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADINGS] + rows)
    return out.getvalue().encode("utf-8")


async def _setup(client, app, tenants, tag: str):
    slug = tenants.A
    headers = await _importer(client, slug)
    tenant = await Tenant.find_one({"slug": slug})
    return slug, headers, TenantContext.of(tenant), app.app.extensions["xinfang.keyring"]


async def _run(client, slug, headers, ctx, keyring, source: str, name: str, rows: list[list[str]], *,
               real: bool = True) -> tuple[str, dict, dict | None]:
    """Upload, map, dry run and (``real``) import, the runs made in this process as the worker makes them."""
    run_id = await _upload(client, slug, headers, source, name, as_csv(rows))
    await ctx.scope.repo(ImportRun).update_one({"_id": ObjectId(run_id)}, {"$set": {"mapping": MAPPING}})
    checked = await _inline(ctx, keyring, run_id, real=False)
    done = await _inline(ctx, keyring, run_id, real=True) if real else None
    return run_id, checked, done


def row(tag: str, i: int, title: str, state: str = "", closed: str = "", received: str = "2023-03-06") -> list[str]:
    return [f"{tag}-{i}", received, title, "其他", f"反映某单位办事拖延，第 {i} 件。", state, closed]


async def test_a_2023_registers_closed_cases_arrive_closed_and_not_overdue(client, app, tenants):
    tag = f"ST{uuid.uuid4().hex[:6]}"
    slug, headers, ctx, keyring = await _setup(client, app, tenants, tag)
    rows = [
        row(tag, 1, "已办结的旧案", "已办结", "2023-04-10"),
        row(tag, 2, "办结的旧案（只写办结）", "办结", "2023/5/1"),
        row(tag, 3, "只有办结日期", "", "2023年6月2日"),
        row(tag, 4, "仍在办理", "办理中"),
        row(tag, 5, "没写状态"),
        row(tag, 6, "办结但没有日期", "已办结"),  # a problem: a closed case needs its closing date
        row(tag, 7, "办理中却有办结日期", "办理中", "2023-04-01"),  # a problem: contradicts itself
        row(tag, 8, "看不懂的状态", "暂缓"),  # a problem: not a state
        row(tag, 9, "办结早于收到", "已办结", "2023-01-01"),  # a problem: closed before it came in
    ]
    source = f"旧登记簿 {tag}"
    run_id, checked, done = await _run(client, slug, headers, ctx, keyring, source, "2023登记簿.csv", rows)
    assert (checked["valid"], checked["invalid"]) == (5, 4), checked
    run = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(run_id)})
    by_row = {e["row"]: e for e in run["errors"]}
    assert "须填写办结日期" in by_row[7]["zh"] and by_row[7]["en"]
    assert "未办结" in by_row[8]["zh"] and by_row[8]["column"] == "办结日期"
    assert "无法识别" in by_row[9]["zh"] and "已办结" in by_row[9]["zh"] and by_row[9]["column"] == "办理状态"
    assert "不能早于收到日期" in by_row[10]["zh"]
    assert done["imported"] == 5 and done["state"] == "imported"

    petitions = {p.title: p for p in await _petitions_of(ctx.scope, keyring, source, [f"{tag}-{i}" for i in range(1, 10)])}
    assert len(petitions) == 5
    assert all(p.receipt_hash is None for p in petitions.values())  # no receipt nobody is shown: no argon2 hash spent
    for title, closed_on, words in (("已办结的旧案", "2023-04-10", "已办结"), ("办结的旧案（只写办结）", "2023-05-01", "办结"),
                                    ("只有办结日期", "2023-06-02", "办结")):
        closed = petitions[title]
        assert closed.state == "closed" and closed.due_on is None and closed.overdue is False, title
        step = closed.steps[-1]
        assert step.action == "imported_state" and step.to_state == "closed" and step.actor == "system"
        assert step.fields == {"state_in_source": words, "closed_on": closed_on}
        assert closed.last_due_on  # the time limit that ran (analytics reads a late closing from it)
    for title in ("仍在办理", "没写状态"):
        assert petitions[title].state == "registered" and petitions[title].due_on < china_today().isoformat()
    assert closed.steps[-1].at.date().isoformat() == "2023-06-02"  # dated the day the register says it closed
    # analytics counts each closed on the register's day (the worker handles the events the writes carried)
    facts = await _facts_of(app, list(petitions.values()))
    assert facts[petitions["已办结的旧案"].id]["closed_day"] == "2023-04-10" and facts[petitions["已办结的旧案"].id]["open"] is False
    assert facts[petitions["仍在办理"].id]["open"] is True
    # the overdue sweep flags the open 2023 cases, never the closed ones
    await flag_overdue(ctx.scope, china_today())
    after = {p.title: p for p in await _petitions_of(ctx.scope, keyring, source, [f"{tag}-{i}" for i in range(1, 6)])}
    assert after["仍在办理"].overdue is True and after["没写状态"].overdue is True
    assert not any(after[t].overdue for t in ("已办结的旧案", "办结的旧案（只写办结）", "只有办结日期"))
    # the staff timeline names the step in words
    leader = await login_token(client, slug, "leader")
    page = await (await client.get(f"/t/{slug}/staff/petitions/{petitions['已办结的旧案'].id}", headers=leader)).get_data(as_text=True)
    assert "按原系统登记簿办结" in page and "2023-04-10" in page and "imported_state" not in page


async def test_a_changed_row_is_shown_to_update_then_updated_once_with_its_history(client, app, tenants):
    tag = f"UP{uuid.uuid4().hex[:6]}"
    slug, headers, ctx, keyring = await _setup(client, app, tenants, tag)
    source = f"留言板 {tag}"
    first = [row(tag, 1, "路灯不亮"), row(tag, 2, "垃圾清运不及时"), row(tag, 3, "不会变的一行"), row(tag, 4, "平台上已受理的一行")]
    _, _, done = await _run(client, slug, headers, ctx, keyring, source, "v1.csv", first)
    assert done["imported"] == 4
    ids = [f"{tag}-{i}" for i in range(1, 5)]
    before = {p.title: p for p in await _petitions_of(ctx.scope, keyring, source, ids)}
    leader = await login_token(client, slug, "leader")
    for _ in range(5):  # 409 "changed meanwhile" (the session's worker still at the import's events): reload and retry, as a person would
        accepted = await client.post(f"/t/{slug}/api/petitions/{before['平台上已受理的一行'].id}/transitions/accept", headers=leader,
                                     json={"fields": {}})
        if accepted.status_code != 409:
            break
        await asyncio.sleep(1)
    assert accepted.status_code == 200, await accepted.get_data(as_text=True)

    second = [row(tag, 1, "路灯不亮（已补充地点）"), row(tag, 2, "垃圾清运不及时", "已办结", "2023-05-01"), row(tag, 3, "不会变的一行"),
              row(tag, 4, "平台上已受理的一行", "已办结", "2023-05-02")]
    run_id, checked, _ = await _run(client, slug, headers, ctx, keyring, source, "v2.csv", second, real=False)
    assert (checked["changed"], checked["already"], checked["imported"], checked["invalid"]) == (2, 1, 0, 1), checked
    run = await ImportRun.get_pymongo_collection().find_one({"_id": ObjectId(run_id)})
    changes = {c["source_id"]: c for c in run["changes"]}
    assert changes[f"{tag}-1"]["fields_zh"] == "标题" and changes[f"{tag}-1"]["fields_en"] and changes[f"{tag}-1"]["petition_number"]
    assert changes[f"{tag}-2"]["fields_zh"] == "办理状态"
    unchanged = {p.title for p in await _petitions_of(ctx.scope, keyring, source, ids)}
    assert "路灯不亮" in unchanged  # the dry run wrote nothing
    page = await (await client.get(f"/t/{slug}/staff/imports/{run_id}", headers=headers)).get_data(as_text=True)
    assert "将更新的行（2 行）" in page and "将更新 2" in page and f"{tag}-1" in page
    assert any("已有办理" in e["zh"] and e["row"] == 5 for e in run["errors"])  # staff accepted it: its state is theirs

    done = await _inline(ctx, keyring, run_id, real=True)
    assert (done["changed"], done["already"], done["imported"], done["invalid"]) == (2, 1, 0, 1), done
    after = {str(p.id): p for p in await _petitions_of(ctx.scope, keyring, source, ids)}
    lamp = after[str(before["路灯不亮"].id)]
    assert lamp.title == "路灯不亮（已补充地点）" and lamp.steps[-1].action == "import_updated"
    assert lamp.steps[-1].fields["changed"] == "标题" and "路灯不亮" in lamp.steps[-1].fields["previous"]  # both kept
    rubbish = after[str(before["垃圾清运不及时"].id)]
    assert rubbish.state == "closed" and rubbish.due_on is None and rubbish.steps[-1].action == "imported_state"
    assert [s.action for s in rubbish.steps[-2:]] == ["import_updated", "imported_state"]
    assert after[str(before["平台上已受理的一行"].id)].state == "accepted"
    audited = await AuditRecord.find({"action": "petitions.import.update", "query.source": source}).to_list()
    assert sorted(a.query["source_id"] for a in audited) == [f"{tag}-1", f"{tag}-2"]
    ledger = await ctx.scope.repo(ImportedRow).find_one({"source": source, "source_id": f"{tag}-2"})
    assert (ledger.state, ledger.closed_on, ledger.updated_run_id) == ("closed", "2023-05-01", run_id)

    # a third run of the same file changes nothing (the accepted case's row stays a problem, in words)
    _, again, third = await _run(client, slug, headers, ctx, keyring, source, "v2-again.csv", second)
    assert (again["changed"], again["already"], again["invalid"]) == (0, 3, 1)
    assert (third["changed"], third["imported"], third["already"]) == (0, 0, 3)
    steps = {str(p.id): len(p.steps) for p in await _petitions_of(ctx.scope, keyring, source, ids)}
    assert steps == {pid: len(p.steps) for pid, p in after.items()}
    assert len(await AuditRecord.find({"action": "petitions.import.update", "query.source": source}).to_list()) == 2


def test_the_state_words_of_a_register():
    from xinfang.imports.mapping import CLOSED_WORDS, closed_state, final_states
    from xinfang.petitions.workflow import default_workflow

    assert "已办结" in CLOSED_WORDS and import_service.IMPORTED_STATE == "imported_state"
    workflow = default_workflow()
    assert closed_state(workflow) == "closed" and final_states(workflow)["已办结"] == "closed"
