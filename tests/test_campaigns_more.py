"""排查, the steps added after issue 15's first round: another leader approves a campaign before it starts (nobody
their own), report deadlines per unit with a warning before and an overdue flag after (the beat, once per deadline),
the owner's closing step with its summary of open items, and the results exported as XLSX and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

from bson import ObjectId
from openpyxl import load_workbook

from tests.conftest import eventually, login_token
from tests.test_campaigns import _report_url, _tenant_id
from xinfang.campaigns.models import Campaign
from xinfang.campaigns.service import sweep
from xinfang.petitions.service import china_today
from xinfang.store.documents import utcnow
from xinfang.timefmt import local_date


def _api(slug: str, tail: str = "") -> str:
    return f"/t/{slug}/api/campaigns{tail}"


async def _start(client, tenants, leader, **extra) -> dict:
    today = china_today()
    korla_id = await _tenant_id(client, tenants.CHILD_OF_B)
    body = {"title": f"排查 {ObjectId()}", "period_start": (today - timedelta(days=5)).isoformat(),
            "period_end": (today + timedelta(days=40)).isoformat(), "checklist": ["是否存在违规收费", "是否存在作风问题"],
            "unit_tenant_ids": [korla_id], "internal_units": [f"州直第二中学 {ObjectId()}"], **extra}
    made = await client.post(_api(tenants.B), headers=leader, json=body)
    assert made.status_code == 201, await made.get_data(as_text=True)
    return await made.get_json()


async def test_a_campaign_starts_only_once_another_leader_approves_it(client, tenants):
    leader, deputy = await login_token(client, tenants.B, "leader"), await login_token(client, tenants.B, "deputy")
    korla = await login_token(client, tenants.CHILD_OF_B, "handler")
    view = await _start(client, tenants, leader)
    cid = view["id"]
    assert view["status"] == "awaiting_approval" and view["status_name"]["zh"] == "待审批"
    assert view["may_approve"] is False and view["awaits_other_leader"] is True
    # Until approved, the lower body neither lists it nor opens it, and nobody reports.
    assert cid not in [c["id"] for c in (await (await client.get(_api(tenants.CHILD_OF_B), headers=korla)).get_json())["items"]]
    assert (await client.get(_api(tenants.CHILD_OF_B, f"/{cid}"), headers=korla)).status_code == 404
    unit = next(u["key"] for u in view["units"] if u["kind"] == "tenant")
    early = await client.post(_report_url(tenants.CHILD_OF_B, cid, unit), headers=korla, json={"results": []})
    assert early.status_code == 404
    # The leader who started it may not approve it; a handler has no approval right; the lower body cannot.
    own = await client.post(_api(tenants.B, f"/{cid}/approve"), headers=leader)
    assert own.status_code == 403 and "另一位领导" in (await own.get_json())["error"]["message"]["zh"]
    assert (await client.post(_api(tenants.B, f"/{cid}/approve"), headers=await login_token(client, tenants.B, "handler"))).status_code == 403
    assert (await client.post(_api(tenants.CHILD_OF_B, f"/{cid}/approve"), headers=await login_token(client, tenants.CHILD_OF_B, "leader"))).status_code == 404
    ok = await client.post(_api(tenants.B, f"/{cid}/approve"), headers=deputy)
    assert ok.status_code == 200, await ok.get_data(as_text=True)
    running = await ok.get_json()
    assert running["status"] == "running" and running["approved_by_name"] and running["approved_at"]
    assert (await client.post(_api(tenants.B, f"/{cid}/approve"), headers=deputy)).status_code == 409
    seen = await client.get(_api(tenants.CHILD_OF_B, f"/{cid}"), headers=korla)
    assert seen.status_code == 200 and (await seen.get_json())["units"][0]["may_report"] is True


async def test_units_get_deadlines_a_warning_before_and_an_overdue_flag_once(client, tenants):
    leader, deputy = await login_token(client, tenants.B, "leader"), await login_token(client, tenants.B, "deputy")
    korla = await login_token(client, tenants.CHILD_OF_B, "handler")
    today = china_today()
    # The campaign's default deadline must fall within the period.
    outside = await client.post(_api(tenants.B), headers=leader, json={
        "title": "期限外", "period_start": today.isoformat(), "period_end": (today + timedelta(days=10)).isoformat(),
        "checklist": ["x"], "internal_units": ["y"], "report_due_on": (today + timedelta(days=11)).isoformat()})
    assert outside.status_code == 422 and "report_due_on" in (await outside.get_json())["error"]["fields"]
    default_due = (today + timedelta(days=20)).isoformat()
    view = await _start(client, tenants, leader, report_due_on=default_due)
    cid = view["id"]
    await client.post(_api(tenants.B, f"/{cid}/approve"), headers=deputy)
    korla_unit = next(u["key"] for u in view["units"] if u["kind"] == "tenant")
    school_unit = next(u["key"] for u in view["units"] if u["kind"] == "internal")
    assert {u["due_on"] for u in view["units"]} == {default_due}

    # One unit gets its own deadline; outside the period or in the past is refused with the field named.
    for bad in ((today + timedelta(days=99)).isoformat(), (today - timedelta(days=1)).isoformat()):
        refused = await client.post(_api(tenants.B, f"/{cid}/units/{korla_unit}/deadline"), headers=leader, json={"due_on": bad})
        assert refused.status_code == 422 and "due_on" in (await refused.get_json())["error"]["fields"]
    assert (await client.post(_api(tenants.CHILD_OF_B, f"/{cid}/units/{korla_unit}/deadline"), headers=await login_token(
        client, tenants.CHILD_OF_B, "leader"), json={"due_on": default_due})).status_code == 403
    tomorrow = (today + timedelta(days=1)).isoformat()
    changed = await client.post(_api(tenants.B, f"/{cid}/units/{korla_unit}/deadline"), headers=leader, json={"due_on": tomorrow})
    assert changed.status_code == 200, await changed.get_data(as_text=True)
    units = {u["key"]: u for u in (await changed.get_json())["units"]}
    assert units[korla_unit]["due_on"] == tomorrow and units[korla_unit]["own_deadline"] is True
    assert units[school_unit]["due_on"] == default_due and units[school_unit]["own_deadline"] is False

    # The beat's question: due tomorrow with a warning two working days before, so it is due today (unless the
    # running beat's sweep came between the change and this read, and has warned already).
    collection = Campaign.get_pymongo_collection()
    raw = await collection.find_one({"_id": ObjectId(cid)})
    warned_by_the_beat = next(u for u in raw["units"] if u["key"] == korla_unit).get("reminded_for") == tomorrow
    assert raw["next_check_on"] <= today.isoformat() or warned_by_the_beat
    await asyncio.gather(sweep(utcnow()), sweep(utcnow()))
    raw = await collection.find_one({"_id": ObjectId(cid)})
    korla_raw = next(u for u in raw["units"] if u["key"] == korla_unit)
    assert korla_raw["reminded_for"] == tomorrow and korla_raw.get("overdue_for") is None
    assert raw["next_check_on"] > today.isoformat()  # nothing more to do today

    # Its deadline passed (yesterday): two sweeps at once, and the beat's own, flag it once.
    yesterday = (today - timedelta(days=1)).isoformat()
    raw["units"] = [dict(u, due_on=yesterday) if u["key"] == korla_unit else u for u in raw["units"]]
    await collection.replace_one({"_id": raw["_id"]}, dict(raw, next_check_on=today.isoformat(), revision=raw["revision"] + 1))
    await asyncio.gather(sweep(utcnow()), sweep(utcnow()), sweep(utcnow()))
    raw = await collection.find_one({"_id": ObjectId(cid)})
    assert next(u for u in raw["units"] if u["key"] == korla_unit)["overdue_for"] == yesterday
    await sweep(utcnow())
    shown = await (await client.get(_api(tenants.B, f"/{cid}"), headers=leader)).get_json()
    flags = {u["key"]: u["overdue"] for u in shown["units"]}
    assert flags == {korla_unit: True, school_unit: False}
    page = await (await client.get(f"/t/{tenants.B}/staff/campaigns/{cid}", headers=leader)).get_data(as_text=True)
    assert "逾期未报送" in page

    async def notices(slug, headers, needle, count):
        rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=headers)).get_json())["notifications"]
        found = [n for n in rows if (n["link"] or "").endswith(cid) and needle in n["text"]["zh"]]  # other notices may have no link
        return found if len(found) == count else None

    await eventually(lambda: notices(tenants.CHILD_OF_B, korla, f"请于 {local_date(tomorrow)} 前报送", 1), timeout=60, message="the warning")
    await eventually(lambda: notices(tenants.CHILD_OF_B, korla, "已超过报送期限", 1), timeout=60, message="the unit's overdue notice")
    await eventually(lambda: notices(tenants.B, leader, "已超过报送期限", 1), timeout=60, message="the owner's overdue notice")
    await asyncio.sleep(2)  # nothing more arrives
    assert await notices(tenants.CHILD_OF_B, korla, "已超过报送期限", 1)


async def test_the_owner_closes_with_a_summary_and_exports_the_results(client, tenants):
    leader, deputy, handler = [await login_token(client, tenants.B, u) for u in ("leader", "deputy", "handler")]
    korla = await login_token(client, tenants.CHILD_OF_B, "handler")
    view = await _start(client, tenants, leader)
    cid = view["id"]
    assert (await client.post(_api(tenants.B, f"/{cid}/close"), headers=leader)).status_code == 409  # never approved
    await client.post(_api(tenants.B, f"/{cid}/approve"), headers=deputy)
    korla_unit = next(u["key"] for u in view["units"] if u["kind"] == "tenant")
    reported = await client.post(_report_url(tenants.CHILD_OF_B, cid, korla_unit), headers=korla, json={"results": [
        {"item_key": "i1", "risk": True, "description": "=HYPERLINK(\"x\") 收取资料费", "measures": "已责令退还"},
        {"item_key": "i2", "risk": True, "description": "工作日饮酒", "measures": "已谈话", "resolved": True}]})
    assert reported.status_code == 201, await reported.get_data(as_text=True)

    # Export: the running body only (a unit sees its own unit, not all); XLSX with Chinese headings and numbers as numbers.
    assert (await client.get(_api(tenants.CHILD_OF_B, f"/{cid}/export/xlsx"), headers=korla)).status_code == 403
    assert (await client.get(_api(tenants.B, f"/{cid}/export/pdf"), headers=leader)).status_code == 404
    xlsx = await client.get(_api(tenants.B, f"/{cid}/export/xlsx"), headers=leader)
    assert xlsx.status_code == 200 and xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(await xlsx.get_data()))
    assert book.sheetnames == ["排查结果", "按项目汇总"]
    sheet = book["排查结果"]
    assert [c.value for c in sheet[2]][:7] == ["单位", "单位类型", "报送期限", "是否报送", "报送时间", "报送人", "排查项目"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    korla_rows = [r for r in rows if r[0] == "库尔勒市纪委监委"]
    assert [(r[6], r[7], r[10]) for r in korla_rows] == [("是否存在违规收费", "是", "否"), ("是否存在作风问题", "是", "是")]
    assert korla_rows[0][8].startswith("'=HYPERLINK") and "年" in korla_rows[0][4]  # never a formula; the time in words
    assert [r[3] for r in rows if r[0] != "库尔勒市纪委监委"] == ["否", "否"]
    summary = [[c.value for c in r] for r in book["按项目汇总"].iter_rows(min_row=3)]
    assert summary == [["是否存在违规收费", 1, 1, 1], ["是否存在作风问题", 1, 1, 0]]
    assert all(isinstance(v, int) for row in summary for v in row[1:])
    text = (await (await client.get(_api(tenants.B, f"/{cid}/export/csv"), headers=leader)).get_data()).decode("utf-8")
    assert text.startswith("\ufeff单位,单位类型,报送期限")
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(parsed) == 1 + 4 and parsed[1][0] == "库尔勒市纪委监委"

    # Closing: a handler has no right, the lower body neither; the owner's leader closes with a note.
    assert (await client.post(_api(tenants.B, f"/{cid}/close"), headers=handler)).status_code == 403
    assert (await client.post(_api(tenants.CHILD_OF_B, f"/{cid}/close"), headers=await login_token(client, tenants.CHILD_OF_B, "leader"),
                              json={})).status_code == 403
    closed = await client.post(_api(tenants.B, f"/{cid}/close"), headers=leader, json={"note": "未化解问题转入下次排查"})
    assert closed.status_code == 200, await closed.get_data(as_text=True)
    done = await closed.get_json()
    assert done["status"] == "closed" and done["status_name"]["zh"] == "已结束"
    summary = done["closing_summary"]
    assert summary["units_total"] == 2 and summary["units_reported"] == 1 and len(summary["units_missing"]) == 1
    assert [o["item"] for o in summary["open_items"]] == ["是否存在违规收费"]
    late = await client.post(_report_url(tenants.CHILD_OF_B, cid, korla_unit), headers=korla, json={"results": [
        {"item_key": "i1", "risk": False}, {"item_key": "i2", "risk": False}]})
    assert late.status_code == 409 and "已结束" in (await late.get_json())["error"]["message"]["zh"]
    assert (await client.post(_api(tenants.B, f"/{cid}/close"), headers=leader, json={})).status_code == 409
    page = await (await client.get(f"/t/{tenants.B}/staff/campaigns/{cid}", headers=leader)).get_data(as_text=True)
    assert "结束时的情况" in page and "已报送 1 / 2 个单位" in page and "未化解问题转入下次排查" in page
