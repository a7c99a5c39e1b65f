"""Leaders' instructions (批示, issue 15): written on a case by a leader, acted on by the people named, confirmed
fulfilled or asked again by a leader who did not report the action; an upper body instructs on a case it assigned
down; the beat flags an overdue one once. Isolation cases for every route are checked by tests/test_isolation.py."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from xinfang.instructions.models import Instruction
from xinfang.instructions.sweep import flag_overdue_instructions
from xinfang.petitions.service import china_today, tenant_calendar
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import eventually, login_token
from tests.test_petitions import ANONYMOUS, petition_id_of, submitted
from tests.test_upper_level import assigned_down

ISOLATION_CASES = {
    "instructions.list_instructions": dict(method="GET", path="/api/instructions", kind="collection"),
    "instructions.case_instructions": dict(method="GET", path="/api/petitions/{id}/instructions", kind="object", owner_object="petition"),
    "instructions.card_instructions": dict(method="GET", path="/api/supervisions/{id}/instructions", kind="object", owner_object="supervision"),
    "instructions.instruct_case": dict(method="POST", path="/api/petitions/{id}/instructions", kind="object", owner_object="petition",
                                       body={"text": "请核实", "assignee_roles": ["handler"], "due_working_days": 5}),
    "instructions.instruct_card": dict(method="POST", path="/api/supervisions/{id}/instructions", kind="object", owner_object="supervision",
                                       body={"text": "请核实", "assignee_roles": ["handler"], "due_working_days": 5}),
    "instructions.show_instruction": dict(method="GET", path="/api/instructions/{id}", kind="object", owner_object="petition"),
    "instructions.record_action": dict(method="POST", path="/api/instructions/{id}/actions", kind="object", owner_object="petition",
                                       body={"text": "已落实"}),
    "instructions.fulfil": dict(method="POST", path="/api/instructions/{id}/fulfil", kind="object", owner_object="petition", body={}),
    "instructions.ask_again": dict(method="POST", path="/api/instructions/{id}/ask-again", kind="object", owner_object="petition",
                                   body={"text": "请继续落实"}),
    "instruction_pages.instructions_page": dict(method="GET", path="/staff/instructions", kind="collection"),
    "instruction_pages.instruction_page": dict(method="GET", path="/staff/instructions/{id}", kind="object", owner_object="petition"),
    "instruction_pages.case_instructions_page": dict(method="GET", path="/staff/petitions/{id}/instructions", kind="object",
                                                     owner_object="petition"),
    "instruction_pages.card_instructions_page": dict(method="GET", path="/staff/supervisions/{id}/instructions", kind="object",
                                                     owner_object="supervision"),
    "instruction_pages.instruct_case_submit": dict(method="POST", path="/staff/petitions/{id}/instructions", kind="object", form=True,
                                                   owner_object="petition", body={"text": "请核实", "assignee_roles": "handler",
                                                                                  "due_working_days": "5"}),
    "instruction_pages.instruct_card_submit": dict(method="POST", path="/staff/supervisions/{id}/instructions", kind="object", form=True,
                                                   owner_object="supervision", body={"text": "请核实", "assignee_roles": "handler",
                                                                                     "due_working_days": "5"}),
    "instruction_pages.act_submit": dict(method="POST", path="/staff/instructions/{id}/act", kind="object", form=True, owner_object="petition"),
    "instructions.instruction_file": dict(method="GET", path="/api/instructions/{id}/files/{id}", kind="object", owner_object="petition"),
    "instruction_pages.file_download": dict(method="GET", path="/staff/instructions/{id}/files/{id}", kind="object", owner_object="petition"),
    "instruction_pages.fulfil_submit": dict(method="POST", path="/staff/instructions/{id}/fulfil", kind="object", form=True,
                                            owner_object="petition"),
    "instruction_pages.ask_again_submit": dict(method="POST", path="/staff/instructions/{id}/ask-again", kind="object", form=True,
                                               owner_object="petition"),
}


async def _accounts(client, slug: str, headers: dict) -> dict[str, str]:
    rows = (await (await client.get(f"/t/{slug}/api/accounts", headers=headers)).get_json())["accounts"]
    return {a["username"]: a["id"] for a in rows}


async def _case(client, slug: str, title: str) -> str:
    result = await submitted(client, slug, dict(ANONYMOUS, title=title), anonymous=True)
    return await petition_id_of(slug, result["number"])


def _instruct(slug: str, pid: str) -> str:
    return f"/t/{slug}/api/petitions/{pid}/instructions"


def _one(slug: str, iid: str, tail: str = "") -> str:
    return f"/t/{slug}/api/instructions/{iid}{tail}"


async def _ids(client, slug: str, headers: dict, query: str) -> list[str]:
    answer = await client.get(f"/t/{slug}/api/instructions?{query}", headers=headers)
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    return [i["id"] for i in (await answer.get_json())["items"]]


async def _timeline(client, slug: str, headers: dict, pid: str) -> list[dict]:
    return (await (await client.get(f"/t/{slug}/api/petitions/{pid}", headers=headers)).get_json())["timeline"]


async def test_an_instruction_is_written_acted_on_and_fulfilled(client, tenants):
    slug = tenants.B
    leader, deputy, handler = [await login_token(client, slug, u) for u in ("leader", "deputy", "handler")]
    people = await _accounts(client, slug, leader)
    pid = await _case(client, slug, f"批示测试 {ObjectId()}")

    # Refusals name the field: nobody named, the writer naming themselves, a past date, a day off.
    nobody = await client.post(_instruct(slug, pid), headers=leader, json={"text": "请核实", "due_working_days": 3})
    assert nobody.status_code == 422 and "assignees" in (await nobody.get_json())["error"]["fields"]
    myself = await client.post(_instruct(slug, pid), headers=leader, json={"text": "请核实", "assignee_ids": [people["leader"]], "due_working_days": 3})
    assert myself.status_code == 422 and "assignee_ids" in (await myself.get_json())["error"]["fields"]
    past = await client.post(_instruct(slug, pid), headers=leader, json={"text": "请核实", "assignee_ids": [people["handler"]], "due_on": "2020-01-06"})
    assert past.status_code == 422 and "due_on" in (await past.get_json())["error"]["fields"]
    calendar = await tenant_calendar(TenantScope((await Tenant.find_one({"slug": slug})).id))
    day_off = next(d for d in (china_today() + timedelta(days=n) for n in range(1, 30)) if not calendar.is_working_day(d))
    off = await client.post(_instruct(slug, pid), headers=leader, json={"text": "请核实", "assignee_ids": [people["handler"]], "due_on": day_off.isoformat()})
    assert off.status_code == 422 and calendar.add_working_days(day_off, 1).isoformat() in (await off.get_json())["error"]["fields"]["due_on"]["zh"]
    far = await client.post(_instruct(slug, pid), headers=leader, json={"text": "请核实", "assignee_ids": [people["handler"]], "due_on": "9999-12-31"})
    assert far.status_code == 422 and "due_on" in (await far.get_json())["error"]["fields"]
    # A handler may not write one (leaders only).
    assert (await client.post(_instruct(slug, pid), headers=handler, json={"text": "x", "assignee_roles": ["handler"], "due_working_days": 1})).status_code == 403

    written = await client.post(_instruct(slug, pid), headers=leader, json={
        "text": "请信访室三个工作日内核实并报告", "assignee_ids": [people["handler"]], "due_working_days": 3})
    assert written.status_code == 201, await written.get_data(as_text=True)
    item = await written.get_json()
    iid = item["id"]
    assert item["state"] == "open" and item["assignee_names"] == ["杨帆"] and item["due_on"] > china_today().isoformat()
    assert item["may_ask_again"] and not item["may_fulfil"] and not item["may_act"]
    # On the case's timeline (staff only), in words; in the handler's to-do list and the leader's open list.
    step = (await _timeline(client, slug, leader, pid))[-1]
    assert step["action"] == "instruction_written" and step["action_name"]["zh"] == "领导批示" and "请信访室" in step["fields"]["opinion"]
    assert iid in await _ids(client, slug, handler, "tab=todo")
    assert iid in await _ids(client, slug, leader, "tab=open") and iid not in await _ids(client, slug, deputy, "tab=open")
    assert iid in await _ids(client, slug, deputy, "tab=open&who=all")
    assert iid not in await _ids(client, slug, leader, "tab=todo")

    # Only a person named acts; the leader cannot fulfil before anything was reported.
    assert (await client.post(_one(slug, iid, "/actions"), headers=deputy, json={"text": "我来"})).status_code == 403
    assert (await client.post(_one(slug, iid, "/fulfil"), headers=leader, json={})).status_code == 409
    acted = await client.post(_one(slug, iid, "/actions"), headers=handler, json={"text": "已约谈校长，收费已全部退还。"})
    assert acted.status_code == 200, await acted.get_data(as_text=True)
    assert (await acted.get_json())["state"] == "acted"
    assert (await client.post(_one(slug, iid, "/actions"), headers=handler, json={"text": "再报"})).status_code == 409
    assert iid not in await _ids(client, slug, handler, "tab=todo")
    assert (await client.post(_one(slug, iid, "/fulfil"), headers=handler, json={})).status_code == 403  # not a leader

    # The leader asks again with a new date; the handler reports again; the leader confirms.
    again = await client.post(_one(slug, iid, "/ask-again"), headers=leader, json={"text": "请附退款凭证", "due_working_days": 2})
    assert again.status_code == 200 and (await again.get_json())["state"] == "open"
    assert iid in await _ids(client, slug, handler, "tab=todo")
    assert (await client.post(_one(slug, iid, "/actions"), headers=handler, json={"text": "退款凭证已附卷。"})).status_code == 200
    done = await client.post(_one(slug, iid, "/fulfil"), headers=leader, json={"note": "同意"})
    assert done.status_code == 200, await done.get_data(as_text=True)
    shown = await done.get_json()
    assert shown["state"] == "fulfilled" and [s["kind"] for s in shown["steps"]] == ["written", "acted", "asked_again", "acted", "fulfilled"]
    assert iid in await _ids(client, slug, leader, "tab=done") and iid not in await _ids(client, slug, leader, "tab=open")
    actions = [s["action"] for s in await _timeline(client, slug, leader, pid)]
    assert actions[-5:] == ["instruction_written", "instruction_acted", "instruction_asked_again", "instruction_acted", "instruction_fulfilled"]

    # The handler heard of it in their inbox, with a link to the instruction's page.
    async def noticed():
        rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=handler)).get_json())["notifications"]
        return [n for n in rows if n["kind"] == "instruction" and n["link"] == f"/t/{slug}/staff/instructions/{iid}"] or None

    assert await eventually(noticed, timeout=30, message="the handler's notice")
    # Another tenant's leader does not find it, on their own URL.
    other = await login_token(client, tenants.A, "leader")
    assert (await client.get(_one(tenants.A, iid), headers=other)).status_code == 404
    assert (await client.get(_instruct(tenants.A, pid), headers=other)).status_code == 404


async def test_nobody_fulfils_their_own_instruction(client, tenants):
    slug = tenants.B
    leader, deputy = [await login_token(client, slug, u) for u in ("leader", "deputy")]
    pid = await _case(client, slug, f"批示职责分离 {ObjectId()}")
    written = await client.post(_instruct(slug, pid), headers=leader, json={"text": "领导班子成员落实", "assignee_roles": ["leader"], "due_working_days": 5})
    assert written.status_code == 201, await written.get_data(as_text=True)
    iid = (await written.get_json())["id"]
    assert (await client.post(_one(slug, iid, "/actions"), headers=leader, json={"text": "我自己办了"})).status_code == 403  # the writer
    assert iid in await _ids(client, slug, deputy, "tab=todo")  # named by role
    assert (await client.post(_one(slug, iid, "/actions"), headers=deputy, json={"text": "已落实"})).status_code == 200
    refused = await client.post(_one(slug, iid, "/fulfil"), headers=deputy, json={})
    assert refused.status_code == 403 and "不能由您本人确认" in (await refused.get_json())["error"]["message"]["zh"]
    assert (await client.post(_one(slug, iid, "/ask-again"), headers=deputy, json={"text": "x"})).status_code == 403
    assert (await (await client.get(_one(slug, iid), headers=deputy)).get_json())["may_fulfil"] is False
    assert (await client.post(_one(slug, iid, "/fulfil"), headers=leader, json={})).status_code == 200


async def test_an_upper_body_instructs_on_a_case_it_assigned_down(client, tenants):
    case = await assigned_down(client, tenants)
    korla = await _accounts(client, tenants.CHILD_OF_B, case.korla_leader)
    bazhou = await _accounts(client, tenants.B, case.bazhou_leader)
    # The people named belong to the body holding the case, not to the one writing.
    wrong = await client.post(_instruct(tenants.B, case.pid), headers=case.bazhou_leader, json={
        "text": "请核实", "assignee_ids": [bazhou["handler"]], "due_working_days": 5})
    assert wrong.status_code == 422 and "assignee_ids" in (await wrong.get_json())["error"]["fields"]
    written = await client.post(_instruct(tenants.B, case.pid), headers=case.bazhou_leader, json={
        "text": "请库尔勒市纪委五个工作日内查清并报告", "assignee_ids": [korla["handler"]], "due_working_days": 5})
    assert written.status_code == 201, await written.get_data(as_text=True)
    iid = (await written.get_json())["id"]
    # 库尔勒 sees it on its case (timeline and list) and in its handler's to-do list; 巴州 on the followed case.
    assert iid in await _ids(client, tenants.CHILD_OF_B, case.korla_handler, "tab=todo")
    assert "instruction_written" in [s["action"] for s in await _timeline(client, tenants.CHILD_OF_B, case.korla_handler, case.pid)]
    on_case = await (await client.get(_instruct(tenants.CHILD_OF_B, case.pid), headers=case.korla_leader)).get_json()
    assert [i["id"] for i in on_case["items"]] == [iid] and on_case["items"][0]["author_body"]["zh"].startswith("巴")
    followed = await (await client.get(f"/t/{tenants.B}/api/followed/{case.pid}", headers=case.bazhou_leader)).get_json()
    assert followed["timeline"][-1]["action_name"]["zh"] == "领导批示"
    # 库尔勒's leaders cannot confirm 巴州's instruction; 库尔勒's handler reports, 巴州's deputy confirms.
    assert (await client.post(_one(tenants.CHILD_OF_B, iid, "/actions"), headers=case.korla_handler, json={"text": "已查清，情况属实，已处理。"})).status_code == 200
    assert (await client.post(_one(tenants.CHILD_OF_B, iid, "/fulfil"), headers=case.korla_leader, json={})).status_code == 403
    deputy = await login_token(client, tenants.B, "deputy")
    assert (await client.post(_one(tenants.B, iid, "/fulfil"), headers=deputy, json={})).status_code == 200
    # A body that neither holds nor follows the case finds nothing.
    siyang = await login_token(client, tenants.A, "leader")
    assert (await client.post(_instruct(tenants.A, case.pid), headers=siyang, json={"text": "x", "assignee_roles": ["handler"], "due_working_days": 1})).status_code == 404
    assert (await client.get(_one(tenants.A, iid), headers=siyang)).status_code == 404


async def test_an_overdue_instruction_is_flagged_once(client, tenants):
    slug = tenants.B
    leader, handler = [await login_token(client, slug, u) for u in ("leader", "handler")]
    people = await _accounts(client, slug, leader)
    pid = await _case(client, slug, f"批示逾期 {ObjectId()}")
    written = await client.post(_instruct(slug, pid), headers=leader, json={"text": "限期落实", "assignee_ids": [people["handler"]], "due_working_days": 1})
    iid = (await written.get_json())["id"]
    yesterday = (china_today() - timedelta(days=1)).isoformat()
    await Instruction.get_pymongo_collection().update_one({"_id": ObjectId(iid)}, {"$set": {"due_on": yesterday}})
    await flag_overdue_instructions(china_today())
    await flag_overdue_instructions(china_today())  # and the beat's own rounds meanwhile: still once
    shown = await (await client.get(_one(slug, iid), headers=leader)).get_json()
    assert shown["flagged_overdue"] is True and [s["kind"] for s in shown["steps"]].count("overdue") == 1
    assert iid in await _ids(client, slug, leader, "tab=overdue")
    page = await (await client.get(f"/t/{slug}/staff/instructions/{iid}", headers=leader)).get_data(as_text=True)
    assert "<small translate=\"no\">系统</small>" in page and "系统 system" not in page  # the sweep's step, in the page's language
    page_en = await (await client.get(f"/t/{slug}/staff/instructions/{iid}?lang=en", headers=leader)).get_data(as_text=True)
    assert "<small translate=\"no\">System</small>" in page_en

    async def noticed(headers):
        rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=headers)).get_json())["notifications"]
        return [n for n in rows if n["kind"] == "instruction_overdue" and n["link"].endswith(iid)] or None

    assert len(await eventually(lambda: noticed(handler), timeout=30, message="the overdue notice")) == 1
    assert len(await eventually(lambda: noticed(leader), timeout=30, message="the writer's overdue notice")) == 1
    # Asked again with a new date: no longer overdue, and it may be flagged again once that date passes.
    again = await client.post(_one(slug, iid, "/ask-again"), headers=leader, json={"text": "再限期", "due_working_days": 2})
    assert (await again.get_json())["flagged_overdue"] is False
    assert iid not in await _ids(client, slug, leader, "tab=overdue")


async def test_an_instruction_on_a_supervision_card(client, tenants):
    slug = tenants.B
    leader, handler = [await login_token(client, slug, u) for u in ("leader", "handler")]
    card = await client.post(f"/t/{slug}/api/supervisions", headers=handler, json={
        "kind": "action", "type_key": "supervision_notice", "subject": {"kind": "person", "name": f"批示卡 {ObjectId()}", "unit": "某中学"}})
    assert card.status_code == 201, await card.get_data(as_text=True)
    sid = (await card.get_json())["id"]
    written = await client.post(f"/t/{slug}/api/supervisions/{sid}/instructions", headers=leader, json={
        "text": "请督促被监督对象按时书面说明", "assignee_roles": ["handler"], "due_working_days": 5})
    assert written.status_code == 201, await written.get_data(as_text=True)
    item = await written.get_json()
    assert item["target_kind"] == "supervision" and "某中学" in item["target_label"]
    listed = await (await client.get(f"/t/{slug}/api/supervisions/{sid}/instructions", headers=handler)).get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"]] and listed["items"][0]["may_act"] is True
    page = await client.get(f"/t/{slug}/staff/supervisions/{sid}/instructions", headers=handler)
    assert page.status_code == 200 and "请督促被监督对象按时书面说明" in await page.get_data(as_text=True)
    other = await login_token(client, tenants.A, "leader")
    assert (await client.get(f"/t/{tenants.A}/api/supervisions/{sid}/instructions", headers=other)).status_code == 404
