"""Screening campaigns (排查, issue 15): 巴州 (a prefecture) runs a campaign over 库尔勒 (a county below it) and one of
its own internal units with a checklist typed as lines; each unit reports item by item, 巴州 sees progress and the
risks by item; the open items carry over into the next campaign, where 库尔勒 reports on them again. Nobody else
reaches any of it. Isolation cases for every route are checked by tests/test_isolation.py."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from xinfang.petitions.service import china_today
from tests.conftest import eventually, login_token

ISOLATION_CASES = {
    "campaigns.list_campaigns": dict(method="GET", path="/api/campaigns", kind="collection"),
    "campaigns.create_campaign": dict(method="POST", path="/api/campaigns", kind="collection", body={
        "title": "隔离测试排查", "period_start": china_today().isoformat(), "period_end": (china_today() + timedelta(days=60)).isoformat(),
        "checklist": ["违规收费"], "internal_units": ["某中学"]}),
    "campaigns.show_campaign": dict(method="GET", path="/api/campaigns/{id}", kind="object", owner_object="petition"),
    "campaigns.report_unit": dict(method="POST", path="/api/campaigns/{id}/units/u-x/report", kind="object", owner_object="petition",
                                  body={"results": []}),
    "campaign_pages.campaigns_page": dict(method="GET", path="/staff/campaigns", kind="collection"),
    "campaign_pages.new_campaign_page": dict(method="GET", path="/staff/campaigns/new", kind="collection"),
    "campaign_pages.new_campaign_submit": dict(method="POST", path="/staff/campaigns/new", kind="collection", form=True, body={},
                                               expect=(422,)),
    "campaign_pages.campaign_page": dict(method="GET", path="/staff/campaigns/{id}", kind="object", owner_object="petition"),
    "campaign_pages.report_form_page": dict(method="GET", path="/staff/campaigns/{id}/units/u-x/report", kind="object",
                                            owner_object="petition"),
    "campaign_pages.report_submit": dict(method="POST", path="/staff/campaigns/{id}/units/u-x/report", kind="object", form=True,
                                         owner_object="petition"),
    "campaigns.approve_campaign": dict(method="POST", path="/api/campaigns/{id}/approve", kind="object", owner_object="petition"),
    "campaigns.unit_deadline": dict(method="POST", path="/api/campaigns/{id}/units/u-x/deadline", kind="object", owner_object="petition",
                                    body={"due_on": china_today().isoformat()}),
    "campaigns.close_campaign": dict(method="POST", path="/api/campaigns/{id}/close", kind="object", owner_object="petition", body={}),
    "campaigns.export_campaign": dict(method="GET", path="/api/campaigns/{id}/export/xlsx", kind="object", owner_object="petition"),
    "campaign_pages.approve_submit": dict(method="POST", path="/staff/campaigns/{id}/approve", kind="object", form=True, owner_object="petition"),
    "campaign_pages.deadline_submit": dict(method="POST", path="/staff/campaigns/{id}/units/u-x/deadline", kind="object", form=True,
                                           owner_object="petition"),
    "campaign_pages.close_submit": dict(method="POST", path="/staff/campaigns/{id}/close", kind="object", form=True, owner_object="petition"),
    "campaign_pages.export_download": dict(method="GET", path="/staff/campaigns/{id}/export/xlsx", kind="object", owner_object="petition"),
}

CHECKLIST = ["是否存在违规收费", "是否存在侵害群众利益问题", "是否存在作风问题"]


def _period(days: int = 30) -> dict:
    today = china_today()
    return {"period_start": today.isoformat(), "period_end": (today + timedelta(days=days)).isoformat()}


async def _tenant_id(client, slug: str) -> str:
    return (await (await client.get(f"/t/{slug}/api/tenant")).get_json())["id"]


def _report_url(slug: str, cid: str, unit: str) -> str:
    return f"/t/{slug}/api/campaigns/{cid}/units/{unit}/report"


async def approved(client, slug: str, cid: str, approver: str = "deputy") -> dict:
    """Another leader of the running body approves the campaign (the one who started it may not)."""
    answer = await client.post(f"/t/{slug}/api/campaigns/{cid}/approve", headers=await login_token(client, slug, approver))
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    return await answer.get_json()


async def test_a_campaign_is_run_reported_and_carried_over(client, tenants):
    leader, handler = [await login_token(client, tenants.B, u) for u in ("leader", "handler")]
    korla_handler, korla_leader = [await login_token(client, tenants.CHILD_OF_B, u) for u in ("handler", "leader")]
    siyang = await login_token(client, tenants.A, "leader")
    korla_id = await _tenant_id(client, tenants.CHILD_OF_B)
    school = f"州直第一中学 {ObjectId()}"

    # Refusals name the field: no checklist, a unit that is not below, no unit at all; handlers do not start campaigns.
    base = {"title": "春季信访矛盾风险排查", **_period(), "checklist": CHECKLIST, "unit_tenant_ids": [korla_id], "internal_units": [school]}
    empty = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json=dict(base, checklist=["  ", ""]))
    assert empty.status_code == 422 and "checklist" in (await empty.get_json())["error"]["fields"]
    foreign = await client.post(f"/t/{tenants.A}/api/campaigns", headers=siyang, json=base)
    assert foreign.status_code == 422 and "unit_tenant_ids" in (await foreign.get_json())["error"]["fields"]
    none = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json=dict(base, unit_tenant_ids=[], internal_units=[]))
    assert none.status_code == 422 and "units" in (await none.get_json())["error"]["fields"]
    assert (await client.post(f"/t/{tenants.B}/api/campaigns", headers=handler, json=base)).status_code == 403

    created = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json=base)
    assert created.status_code == 201, await created.get_data(as_text=True)
    first = await created.get_json()
    cid = first["id"]
    assert first["status"] == "awaiting_approval"
    first = await approved(client, tenants.B, cid)
    assert first["units_total"] == 2 and first["units_reported"] == 0 and [i["text"] for i in first["checklist"]] == CHECKLIST
    korla_unit, school_unit = f"t-{korla_id}", next(u["key"] for u in first["units"] if u["kind"] == "internal")

    # 库尔勒 finds it, sees its own unit only, and reports; a risk found needs its description.
    listed = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/campaigns", headers=korla_handler)).get_json()
    assert cid in [c["id"] for c in listed["items"]]
    seen = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/campaigns/{cid}", headers=korla_handler)).get_json()
    assert [u["key"] for u in seen["units"]] == [korla_unit] and "by_item" not in seen and seen["units"][0]["may_report"]
    bare = await client.post(_report_url(tenants.CHILD_OF_B, cid, korla_unit), headers=korla_handler, json={"results": [
        {"item_key": "i1", "risk": True}, {"item_key": "i2", "risk": False}, {"item_key": "i3", "risk": False}]})
    assert bare.status_code == 422 and "description-i1" in (await bare.get_json())["error"]["fields"]
    missing = await client.post(_report_url(tenants.CHILD_OF_B, cid, korla_unit), headers=korla_handler, json={"results": [
        {"item_key": "i1", "risk": False}]})
    assert missing.status_code == 422 and "risk-i2" in (await missing.get_json())["error"]["fields"]
    reported = await client.post(_report_url(tenants.CHILD_OF_B, cid, korla_unit), headers=korla_handler, json={"results": [
        {"item_key": "i1", "risk": True, "description": "某乡镇中学收取资料费", "measures": "已责令停止"},
        {"item_key": "i2", "risk": True, "description": "拖欠营养餐补助", "measures": "已补发", "resolved": True},
        {"item_key": "i3", "risk": False}]})
    assert reported.status_code == 201, await reported.get_data(as_text=True)
    # 库尔勒 cannot report for 巴州's internal unit; 泗阳 does not find the campaign at all.
    assert (await client.post(_report_url(tenants.CHILD_OF_B, cid, school_unit), headers=korla_leader, json={"results": []})).status_code == 403
    assert (await client.get(f"/t/{tenants.A}/api/campaigns/{cid}", headers=siyang)).status_code == 404
    assert cid not in [c["id"] for c in (await (await client.get(f"/t/{tenants.A}/api/campaigns", headers=siyang)).get_json())["items"]]

    # 巴州's handler reports for the internal unit; 巴州 sees the progress and the risks by item.
    assert (await client.post(_report_url(tenants.B, cid, school_unit), headers=handler, json={"results": [
        {"item_key": "i1", "risk": True, "description": "食堂违规收费", "measures": "", "resolved": False},
        {"item_key": "i2", "risk": False}, {"item_key": "i3", "risk": False}]})).status_code == 201
    progress = await (await client.get(f"/t/{tenants.B}/api/campaigns/{cid}", headers=leader)).get_json()
    assert progress["units_reported"] == 2 and progress["units_total"] == 2
    assert [(i["risks"], i["open"]) for i in progress["by_item"]] == [(2, 2), (1, 0), (0, 0)]
    page = await client.get(f"/t/{tenants.B}/staff/campaigns/{cid}", headers=leader)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "2 / 2" in html and "某乡镇中学收取资料费" in html

    # The next campaign carries over the open items (not the resolved one) of the units in it.
    nxt = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json=dict(base, title="秋季排查", carry_from=cid,
                                                                                        checklist=["是否存在违规收费"]))
    assert nxt.status_code == 201, await nxt.get_data(as_text=True)
    second = await approved(client, tenants.B, (await nxt.get_json())["id"])
    carried = {u["key"]: [c["description"] for c in u["carried"]] for u in second["units"]}
    assert carried == {korla_unit: ["某乡镇中学收取资料费"], school_unit: ["食堂违规收费"]}
    assert second["carried_total"] == 2 and second["carried_open"] == 2
    korla_view = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/campaigns/{second['id']}", headers=korla_handler)).get_json()
    c_key = korla_view["units"][0]["carried"][0]["key"]
    # 库尔勒 must answer the carried item too, and says it is resolved now.
    short = await client.post(_report_url(tenants.CHILD_OF_B, second["id"], korla_unit), headers=korla_handler,
                              json={"results": [{"item_key": "i1", "risk": False}]})
    assert short.status_code == 422 and f"risk-{c_key}" in (await short.get_json())["error"]["fields"]
    assert (await client.post(_report_url(tenants.CHILD_OF_B, second["id"], korla_unit), headers=korla_handler, json={"results": [
        {"item_key": "i1", "risk": False}, {"item_key": c_key, "risk": True, "description": "已退还全部资料费", "resolved": True}]})).status_code == 201
    after = await (await client.get(f"/t/{tenants.B}/api/campaigns/{second['id']}", headers=leader)).get_json()
    assert after["carried_open"] == 1 and after["units_reported"] == 1

    # 库尔勒 was told of each campaign; 巴州's leaders of each report (the notices follow from the writes' events).
    async def notices(slug, headers, wanted, needle):
        rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=headers)).get_json())["notifications"]
        found = [n for n in rows if n["kind"] == "campaign" and n["link"].rsplit("/", 1)[-1] in (cid, second["id"]) and needle in n["text"]["zh"]]
        return found if len(found) >= wanted else None

    assert len(await eventually(lambda: notices(tenants.CHILD_OF_B, korla_handler, 2, "开展排查"), timeout=30,
                                message="the county's notices")) == 2
    assert len(await eventually(lambda: notices(tenants.B, leader, 3, "已报送结果"), timeout=30, message="the reports' notices")) == 3


async def test_campaign_pages_start_one_without_json(client, tenants):
    from tests.login_pages import staff_login

    browser = client
    assert (await staff_login(browser, tenants.B, "leader")).status_code == 302
    form = await browser.get(f"/t/{tenants.B}/staff/campaigns/new")
    html = await form.get_data(as_text=True)
    assert form.status_code == 200 and "库尔勒" in html and 'name="checklist"' in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    title = f"页面排查 {ObjectId()}"
    bad = await browser.post(f"/t/{tenants.B}/staff/campaigns/new", form={"csrf_token": token, "title": title, **_period(), "checklist": ""})
    assert bad.status_code == 422 and "请至少列出一项排查内容" in await bad.get_data(as_text=True)
    made = await browser.post(f"/t/{tenants.B}/staff/campaigns/new", form={
        "csrf_token": token, "title": title, **_period(), "checklist": "是否存在违规收费\n\n是否存在作风问题\n", "internal_units": "县实验小学"})
    assert made.status_code == 302, await made.get_data(as_text=True)
    page = await browser.get(made.headers["Location"])
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and title in html and "0 / 1" in html and "是否存在作风问题" in html
    assert "须由本单位另一位领导审批" in html and 'data-action="approve"' not in html and "填报排查结果" not in html
    # Another leader approves it on the page.
    deputy = client.__class__(client.app)
    assert (await staff_login(deputy, tenants.B, "deputy")).status_code == 302
    other = await (await deputy.get(made.headers["Location"])).get_data(as_text=True)
    assert 'data-action="approve"' in other and "批准开展" in other
    deputy_token = other.split('name="csrf_token" value="')[1].split('"')[0]
    assert (await deputy.post(f"{made.headers['Location']}/approve", form={"csrf_token": deputy_token})).status_code == 302
    html = await (await browser.get(made.headers["Location"])).get_data(as_text=True)
    assert "进行中" in html and "审批：" in html
    listed = await (await browser.get(f"/t/{tenants.B}/staff/campaigns")).get_data(as_text=True)
    assert title in listed and "已报送 0 / 1 个单位" in listed
    unit = html.split("/report\"")[0].rsplit("/units/", 1)[1]  # the internal unit's key, from its report link
    report = await browser.get(f"{made.headers['Location']}/units/{unit}/report")
    assert report.status_code == 200 and 'name="risk-i1"' in await report.get_data(as_text=True)
    sent = await browser.post(f"{made.headers['Location']}/units/{unit}/report", form={
        "csrf_token": token, "risk-i1": "yes", "description-i1": "门卫室收取停车费", "risk-i2": "no"})
    assert sent.status_code == 302, await sent.get_data(as_text=True)
    html = await (await browser.get(made.headers["Location"])).get_data(as_text=True)
    assert "1 / 1" in html and "门卫室收取停车费" in html


async def test_a_report_after_the_period_is_refused(client, tenants):
    leader, handler = [await login_token(client, tenants.B, u) for u in ("leader", "handler")]
    today = china_today()
    made = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json={
        "title": f"已结束的排查 {ObjectId()}", "period_start": (today - timedelta(days=40)).isoformat(),
        "period_end": (today - timedelta(days=10)).isoformat(), "checklist": ["是否存在违规收费"], "internal_units": ["县实验小学"]})
    assert made.status_code == 201, await made.get_data(as_text=True)
    early = await client.post(_report_url(tenants.B, (await made.get_json())["id"], (await made.get_json())["units"][0]["key"]), headers=handler,
                              json={"results": [{"item_key": "i1", "risk": False}]})
    assert early.status_code == 409 and "尚未批准" in (await early.get_json())["error"]["message"]["zh"]
    view = await approved(client, tenants.B, (await made.get_json())["id"])
    assert view["phase"] == "after" and view["units"][0]["may_report"] is False
    late = await client.post(_report_url(tenants.B, view["id"], view["units"][0]["key"]), headers=handler,
                             json={"results": [{"item_key": "i1", "risk": False}]})
    assert late.status_code == 409 and "排查期已结束" in (await late.get_json())["error"]["message"]["zh"]
    backwards = await client.post(f"/t/{tenants.B}/api/campaigns", headers=leader, json={
        "title": "倒置", "period_start": today.isoformat(), "period_end": (today - timedelta(days=1)).isoformat(),
        "checklist": ["x"], "internal_units": ["y"]})
    assert backwards.status_code == 422 and "period_end" in (await backwards.get_json())["error"]["fields"]
