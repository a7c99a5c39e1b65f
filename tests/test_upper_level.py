"""Following a case assigned down (issue 11): 巴州 assigns a case to 库尔勒 and keeps following it, read-only;
库尔勒 reports its result (办理结果报送), 巴州 returns it, 库尔勒 reports again, 巴州 accepts; 巴州 reminds
库尔勒 (督办) and 库尔勒 sees it on the case and in its notifications. Nobody else reaches any of it:
an unrelated tenant (泗阳), the county itself on the upper body's routes, a tenant that did not assign the case.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from bson import ObjectId
from quart.datastructures import FileStorage

from tests.conftest import eventually, login_token
from tests.login_pages import staff_login
from tests.test_petitions import _act, petition_id_of, submitted

PDF = b"%PDF-1.4\n% result report\n"

# Checked by tests/test_isolation.py with every other route (the other tenant's petition under my URL is a
# plain 404, my collections hold nothing of the other tenant, my credentials on its URL are refused).
ISOLATION_CASES = {
    "upper_level.list_followed": dict(method="GET", path="/api/followed", kind="collection"),
    "upper_level.show_followed": dict(method="GET", path="/api/followed/{id}", kind="object", owner_object="petition"),
    "upper_level.accept_report": dict(method="POST", path="/api/followed/{id}/accept", kind="object", body={}, owner_object="petition"),
    "upper_level.return_report": dict(method="POST", path="/api/followed/{id}/return", kind="object", body={"reason": "退回"},
                                      owner_object="petition"),
    "upper_level.remind": dict(method="POST", path="/api/followed/{id}/reminders", kind="object", body={"message": "督办"},
                               owner_object="petition"),
    "upper_level.followed_attachment": dict(method="GET", path="/api/followed/{id}/attachments/{id}", kind="object", owner_object="petition"),
    "upper_level.show_upper_level": dict(method="GET", path="/api/petitions/{id}/upper-level", kind="object", owner_object="petition"),
    "upper_level.report_result": dict(method="POST", path="/api/petitions/{id}/result-reports", kind="object", body={"text": "结果"},
                                      owner_object="petition"),
    "upper_level.followed_list_page": dict(method="GET", path="/staff/followed", kind="collection"),
    "upper_level.followed_page": dict(method="GET", path="/staff/followed/{id}", kind="object", owner_object="petition"),
    "upper_level.accept_submit": dict(method="POST", path="/staff/followed/{id}/accept", kind="object", form=True, owner_object="petition"),
    "upper_level.return_submit": dict(method="POST", path="/staff/followed/{id}/return", kind="object", form=True, owner_object="petition"),
    "upper_level.remind_submit": dict(method="POST", path="/staff/followed/{id}/remind", kind="object", form=True, owner_object="petition"),
    "upper_level.report_submit": dict(method="POST", path="/staff/petitions/{id}/result-report", kind="object", form=True,
                                      owner_object="petition"),
}


@dataclasses.dataclass
class Assigned:
    pid: str
    number: str
    bazhou_leader: dict
    bazhou_handler: dict
    korla_handler: dict
    korla_leader: dict


async def assigned_down(client, tenants) -> Assigned:
    result = await submitted(client, tenants.B)
    pid = await petition_id_of(tenants.B, result["number"])
    bazhou_leader = await login_token(client, tenants.B, "leader")
    assert (await _act(client, tenants.B, bazhou_leader, pid, "accept")).status_code == 200
    moved = await _act(client, tenants.B, bazhou_leader, pid, "assign_down", target_tenant=tenants.CHILD_OF_B, opinion="请库尔勒核实办理")
    assert moved.status_code == 200 and "moved_to" in await moved.get_json()
    return Assigned(pid, result["number"], bazhou_leader, await login_token(client, tenants.B, "handler"),
                    await login_token(client, tenants.CHILD_OF_B, "handler"), await login_token(client, tenants.CHILD_OF_B, "leader"))


def followed(slug: str, pid: str, tail: str = "") -> str:
    return f"/t/{slug}/api/followed/{pid}{tail}"


async def report(client, slug: str, headers: dict, pid: str, text: str):
    return await client.post(f"/t/{slug}/api/petitions/{pid}/result-reports", headers=headers, json={"text": text})


async def test_the_upper_body_follows_decides_and_reminds(client, tenants):
    case = await assigned_down(client, tenants)
    # The case is 库尔勒's now: 巴州's own petition route no longer finds it, its follow route does.
    assert (await client.get(f"/t/{tenants.B}/api/petitions/{case.pid}", headers=case.bazhou_leader)).status_code == 404
    shown = await client.get(followed(tenants.B, case.pid), headers=case.bazhou_leader)
    assert shown.status_code == 200
    view = await shown.get_json()
    assert view["number"] == case.number and view["holder"]["zh"] == "库尔勒市纪委监委"
    assert view["assignment"]["status"] == "awaiting_report" and view["assignment"]["report_due_on"] == view["due_on"]
    assert [s["action"] for s in view["timeline"]] == ["submitted", "accept", "assign_down"]
    assert view["timeline"][-1]["action_name"]["zh"] == "交办下级"
    assert view["timeline"][-1]["fields"]["target_tenant"] == "库尔勒市纪委监委"  # the body's name, not its slug
    assert "identity" not in view and "petitioner_name" not in json.dumps(view, ensure_ascii=False)
    assert view["actions"] == ["remind"]  # nothing to accept before a report

    listed = await (await client.get(f"/t/{tenants.B}/api/followed", headers=case.bazhou_leader)).get_json()
    row = next(item for item in listed["items"] if item["id"] == case.pid)
    assert row["state_name"]["zh"] and row["assignment"]["status_name"]["zh"] == "待下级报送结果"

    # 库尔勒 sees the assignment on its side, reports; it cannot report twice while the first waits.
    side = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/petitions/{case.pid}/upper-level", headers=case.korla_handler)).get_json()
    assert side["upper_tenant"]["zh"].startswith("巴") and side["can_report"] is True
    first = await report(client, tenants.CHILD_OF_B, case.korla_handler, case.pid, "已约谈，问题属实，已整改。")
    assert first.status_code == 201, await first.get_data(as_text=True)
    assert (await first.get_json())["status"] == "reported"
    assert (await report(client, tenants.CHILD_OF_B, case.korla_handler, case.pid, "再报一次")).status_code == 409
    # 库尔勒 cannot decide on its own report: the upper body's routes do not know the case in 库尔勒.
    assert (await client.post(followed(tenants.CHILD_OF_B, case.pid, "/accept"), headers=case.korla_leader, json={})).status_code == 404

    # 巴州 returns it with a reason; a return without one is refused with the field named.
    empty = await client.post(followed(tenants.B, case.pid, "/return"), headers=case.bazhou_leader, json={"reason": ""})
    assert empty.status_code == 422 and "reason" in (await empty.get_json())["error"]["fields"]
    returned = await client.post(followed(tenants.B, case.pid, "/return"), headers=case.bazhou_leader, json={"reason": "整改材料不全"})
    assert returned.status_code == 200, await returned.get_data(as_text=True)
    assert (await returned.get_json())["assignment"]["status"] == "returned"
    assert (await client.post(followed(tenants.B, case.pid, "/accept"), headers=case.bazhou_leader, json={})).status_code == 409

    # 库尔勒 reports again, with a file; 巴州 accepts and can download the file.
    again = await client.post(f"/t/{tenants.CHILD_OF_B}/api/petitions/{case.pid}/result-reports", headers=case.korla_handler,
                              form={"payload": json.dumps({"text": "已补齐整改材料。"})},
                              files={"files": FileStorage(stream=io.BytesIO(PDF), filename="整改报告.pdf", content_type="application/pdf")})
    assert again.status_code == 201, await again.get_data(as_text=True)
    accepted = await client.post(followed(tenants.B, case.pid, "/accept"), headers=case.bazhou_handler)
    assert accepted.status_code == 200, await accepted.get_data(as_text=True)
    view = await accepted.get_json()
    assert view["assignment"]["status"] == "accepted" and [r["status"] for r in view["assignment"]["reports"]] == ["returned", "accepted"]
    assert view["assignment"]["reports"][0]["reason"] == "整改材料不全"
    file = view["assignment"]["reports"][1]["attachments"][0]
    download = await client.get(followed(tenants.B, case.pid, f"/attachments/{file['id']}"), headers=case.bazhou_leader)
    assert download.status_code == 200 and await download.get_data() == PDF
    assert [s["action"] for s in view["timeline"]][-4:] == ["result_reported", "result_returned", "result_reported", "result_accepted"]
    assert view["timeline"][-1]["action_name"]["zh"] == "上级采纳办理结果"
    assert view["actions"] == []  # done: nothing more to decide or remind
    assert (await report(client, tenants.CHILD_OF_B, case.korla_handler, case.pid, "又一次")).status_code == 409

    # Each report reached 巴州's handlers as a notification leading to the followed case; each decision 库尔勒's.
    async def notified(slug, headers, kind):
        rows = (await (await client.get(f"/t/{slug}/api/notifications", headers=headers)).get_json())["notifications"]
        mine = [n for n in rows if n["kind"] == kind and case.number in n["text"]["zh"]]
        return mine if len(mine) == 2 else None

    reports = await eventually(lambda: notified(tenants.B, case.bazhou_handler, "result_report"), timeout=30, message="report notices")
    assert {n["link"] for n in reports} == {f"/api/followed/{case.pid}"}
    decisions = await eventually(lambda: notified(tenants.CHILD_OF_B, case.korla_leader, "result_decided"), timeout=30,
                                 message="decision notices")
    assert {n["text"]["zh"].split("交办件")[0] for n in decisions} == {"上级退回了", "上级采纳了"}


async def test_a_reminder_reaches_the_county(client, tenants):
    case = await assigned_down(client, tenants)
    bad = await client.post(followed(tenants.B, case.pid, "/reminders"), headers=case.bazhou_leader,
                            json={"message": "请加快办理", "due_on": "2001-01-01"})
    assert bad.status_code == 422 and "due_on" in (await bad.get_json())["error"]["fields"]
    reminded = await client.post(followed(tenants.B, case.pid, "/reminders"), headers=case.bazhou_leader,
                                 json={"message": "请于月底前报送办理结果", "due_on": "2099-12-31"})
    assert reminded.status_code == 201, await reminded.get_data(as_text=True)
    view = await reminded.get_json()
    assert view["assignment"]["reminder_count"] == 1 and view["assignment"]["report_due_on"] == "2099-12-31"
    # 库尔勒's case: the reminder in its timeline and its side of the assignment ...
    shown = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/petitions/{case.pid}", headers=case.korla_leader)).get_json()
    step = shown["timeline"][-1]
    assert step["action"] == "upper_reminder" and step["action_name"]["zh"] == "上级督办"
    assert step["fields"] == {"message": "请于月底前报送办理结果", "report_due_on": "2099-12-31"}
    side = await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/petitions/{case.pid}/upper-level", headers=case.korla_leader)).get_json()
    assert side["reminder_count"] == 1 and side["reminders"][0]["message"] == "请于月底前报送办理结果"

    # ... and in its handlers' notifications (through the event, by the worker).
    async def notified():
        rows = (await (await client.get(f"/t/{tenants.CHILD_OF_B}/api/notifications", headers=case.korla_handler)).get_json())["notifications"]
        return [n for n in rows if n["kind"] == "upper_reminder" and case.number in n["text"]["zh"]]

    notice = (await eventually(notified, timeout=30, message="the reminder notification"))[0]
    assert notice["link"] == f"/api/petitions/{case.pid}"


async def test_the_county_page_shows_the_panel_and_reports_through_it(app, client, tenants):
    case = await assigned_down(client, tenants)
    browser = app.test_client()
    assert (await staff_login(browser, tenants.CHILD_OF_B, "handler")).status_code == 302
    page = await browser.get(f"/t/{tenants.CHILD_OF_B}/staff/petitions/{case.pid}")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and "上级交办" in text and "向上级报送办理结果" in text
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    empty = await browser.post(f"/t/{tenants.CHILD_OF_B}/staff/petitions/{case.pid}/result-report", form={"csrf_token": token, "text": ""})
    assert empty.status_code == 422 and "必填" in await empty.get_data(as_text=True)
    sent = await browser.post(f"/t/{tenants.CHILD_OF_B}/staff/petitions/{case.pid}/result-report",
                              form={"csrf_token": token, "text": "经核查，已办结。"})
    assert sent.status_code == 302
    # 巴州's pages: the list and the read-only case, with the accept and return forms and no workflow buttons.
    upper = app.test_client()
    assert (await staff_login(upper, tenants.B, "leader")).status_code == 302
    listing = await (await upper.get(f"/t/{tenants.B}/staff/followed")).get_data(as_text=True)
    assert case.number in listing and "结果已报送，待审核" in listing
    page = await upper.get(f"/t/{tenants.B}/staff/followed/{case.pid}")
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and "经核查，已办结。" in text and 'data-action="accept"' in text
    # A link to the case page from before it was assigned down (a notification of the new case) leads to the follow.
    old_link = await upper.get(f"/t/{tenants.B}/staff/petitions/{case.pid}")
    assert old_link.status_code == 302 and old_link.headers["Location"].endswith(f"/t/{tenants.B}/staff/followed/{case.pid}")
    assert "transitions/" not in text and "result_reported" not in text
    # The report's notification, in words, leads to the followed case (not to the API).
    async def noticed():
        html = await (await upper.get(f"/t/{tenants.B}/staff/notifications")).get_data(as_text=True)
        return html if f"/t/{tenants.B}/staff/followed/{case.pid}" in html else None
    notices = await eventually(noticed, timeout=30, message="the report's notification on the page")
    assert "结果报送" in notices and "result_report" not in notices.replace('data-kind="result_report"', "")
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    remind = await upper.post(f"/t/{tenants.B}/staff/followed/{case.pid}/remind", form={"csrf_token": token, "message": "请尽快"})
    assert remind.status_code == 302
    accepted = await upper.post(f"/t/{tenants.B}/staff/followed/{case.pid}/accept", form={"csrf_token": token})
    assert accepted.status_code == 302
    text = await (await upper.get(f"/t/{tenants.B}/staff/followed/{case.pid}")).get_data(as_text=True)
    assert "结果已采纳，交办办结" in text and 'data-action="remind"' not in text
    english = await (await upper.get(f"/t/{tenants.B}/staff/followed/{case.pid}?lang=en")).get_data(as_text=True)
    assert "Result accepted, assignment done" in english and "Upper body accepted the result" in english


# -- isolation: every new route, for a tenant that did not assign the case ---------------------------

UPPER_ROUTES = [
    ("GET", "/api/followed/{pid}", None),
    ("POST", "/api/followed/{pid}/accept", {}),
    ("POST", "/api/followed/{pid}/return", {"reason": "x"}),
    ("POST", "/api/followed/{pid}/reminders", {"message": "x"}),
    ("GET", "/api/followed/{pid}/attachments/{aid}", None),
]
PAGE_ROUTES = [("GET", "/staff/followed/{pid}"), ("POST", "/staff/followed/{pid}/accept"),
               ("POST", "/staff/followed/{pid}/return"), ("POST", "/staff/followed/{pid}/remind")]


async def test_nobody_but_the_assigning_body_reaches_the_case(app, client, tenants):
    case = await assigned_down(client, tenants)
    assert (await report(client, tenants.CHILD_OF_B, case.korla_handler, case.pid, "结果")).status_code == 201
    aid = str(ObjectId())
    siyang = await login_token(client, tenants.A, "leader")
    made_up = str(ObjectId())
    for method, path, body in UPPER_ROUTES:
        for slug, headers in ((tenants.A, siyang), (tenants.CHILD_OF_B, case.korla_leader)):
            # siyang-edu and 库尔勒 did not assign it: the same 404 as for an id that does not exist
            mine = await client.open(f"/t/{slug}" + path.format(pid=case.pid, aid=aid), method=method, headers=headers, json=body)
            none = await client.open(f"/t/{slug}" + path.format(pid=made_up, aid=aid), method=method, headers=headers, json=body)
            assert mine.status_code == 404, (slug, path, mine.status_code)
            assert (mine.status_code, await mine.get_data()) == (none.status_code, await none.get_data())
        # 泗阳's credentials on 巴州's URL: refused before anything is read
        foreign = await client.open(f"/t/{tenants.B}" + path.format(pid=case.pid, aid=aid), method=method, headers=siyang, json=body)
        assert foreign.status_code in (401, 403) and case.number not in await foreign.get_data(as_text=True)
    # the lists hold nothing of it
    for slug, headers in ((tenants.A, siyang), (tenants.CHILD_OF_B, case.korla_leader)):
        listed = await client.get(f"/t/{slug}/api/followed", headers=headers)
        assert listed.status_code == 200 and case.pid not in await listed.get_data(as_text=True)
    # the lower side's routes: 泗阳 and 巴州 get 404 on 库尔勒's case under their own URL
    for slug, headers in ((tenants.A, siyang), (tenants.B, case.bazhou_leader)):
        side = await client.get(f"/t/{slug}/api/petitions/{case.pid}/upper-level", headers=headers)
        sent = await report(client, slug, headers, case.pid, "冒名报送")
        assert (side.status_code, sent.status_code) == (404, 404)
    # pages
    siyang_browser = app.test_client()
    assert (await staff_login(siyang_browser, tenants.A, "leader")).status_code == 302
    for method, path in PAGE_ROUTES:
        response = await siyang_browser.open(f"/t/{tenants.A}" + path.format(pid=case.pid), method=method, form={})
        assert response.status_code in (403, 404), (path, response.status_code)  # 403: a POST without its CSRF token
    page = await siyang_browser.get(f"/t/{tenants.A}/staff/followed")
    assert page.status_code == 200 and case.number not in await page.get_data(as_text=True)
    assert (await siyang_browser.get(f"/t/{tenants.A}/staff/petitions/{case.pid}")).status_code == 404  # no way round by the case page
    other_case = await siyang_browser.post(f"/t/{tenants.A}/staff/petitions/{case.pid}/result-report", form={})
    assert other_case.status_code in (403, 404)


async def test_a_body_that_did_not_assign_the_case_gets_404_even_if_it_is_above(client, tenants):
    """巴州 follows what it assigned down, not everything below it: a case 库尔勒 received otherwise (here: filed
    there) is not 巴州's to follow."""
    result = await submitted(client, tenants.CHILD_OF_B)
    pid = await petition_id_of(tenants.CHILD_OF_B, result["number"])
    leader = await login_token(client, tenants.B, "leader")
    assert (await client.get(followed(tenants.B, pid), headers=leader)).status_code == 404
    browser = client.__class__(client.app)
    assert (await staff_login(browser, tenants.B, "leader")).status_code == 302
    assert (await browser.get(f"/t/{tenants.B}/staff/petitions/{pid}")).status_code == 404  # nor the case page's way round
    korla = await login_token(client, tenants.CHILD_OF_B, "handler")
    refused = await report(client, tenants.CHILD_OF_B, korla, pid, "无上级交办")
    assert refused.status_code == 409  # nothing assigned it here: nobody to report to


@pytest.mark.parametrize("bad", [{"message": ""}, {"message": "x", "due_on": "明天"}, {"message": "x", "extra": 1}, {"message": "x" * 3000}])
async def test_bad_reminders_are_422(client, tenants, bad):
    case = await assigned_down(client, tenants)
    answer = await client.post(followed(tenants.B, case.pid, "/reminders"), headers=case.bazhou_leader, json=bad)
    assert answer.status_code == 422 and (await answer.get_json())["error"]["fields"]


async def test_the_navigation_offers_the_followed_list_only_to_bodies_with_a_body_below(client, tenants):
    from tests.login_pages import staff_login
    from xinfang.tenancy.models import Tenant
    from xinfang.tenancy.service import has_lower_bodies

    # korla has no body below unless another test put one there (the village supervisors' tests load townships under it)
    korla_has_below = await has_lower_bodies(str((await Tenant.find_one({"slug": tenants.CHILD_OF_B})).id))
    for slug, expected in ((tenants.B, True), (tenants.CHILD_OF_B, korla_has_below), (tenants.A, False)):
        browser = client.__class__(client.app)  # a cookie jar of its own per body
        assert (await staff_login(browser, slug, "handler")).status_code == 302
        page = await (await browser.get(f"/t/{slug}/staff/")).get_data(as_text=True)
        assert (f"/t/{slug}/staff/followed" in page) is expected, slug


async def test_the_case_page_offers_the_bodies_a_step_moves_the_case_to(app, client, tenants):
    """转送 lists the other active bodies, 交办下级 the bodies directly below; the lists are read only for a step offered."""
    result = await submitted(client, tenants.B)
    pid = await petition_id_of(tenants.B, result["number"])
    browser = app.test_client()
    assert (await staff_login(browser, tenants.B, "leader")).status_code == 302

    def targets(html: str, action: str) -> set[str]:
        form = html.split(f'data-action="{action}"', 1)[1].split("</form>", 1)[0]
        return set(re.findall(r'<option value="([^"]+)"', form))

    registered = await (await browser.get(f"/t/{tenants.B}/staff/petitions/{pid}")).get_data(as_text=True)
    assert {tenants.A, tenants.CHILD_OF_B} <= targets(registered, "transfer") and tenants.B not in targets(registered, "transfer")
    assert 'data-action="assign_down"' not in registered
    # Nearest first: the bodies beside 巴州 (泗阳, at the top level too), then each body's lower bodies under its name.
    transfer = registered.split('data-action="transfer"', 1)[1].split("</form>", 1)[0]
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', transfer)
    assert groups[0][0] == "同级单位" and f'value="{tenants.A}"' in groups[0][1]
    korla_group = next(label for label, options in groups if f'value="{tenants.CHILD_OF_B}"' in options)
    assert korla_group.endswith("下属单位") and korla_group != "同级单位"
    leader = await login_token(client, tenants.B, "leader")
    assert (await _act(client, tenants.B, leader, pid, "accept")).status_code == 200
    accepted = await (await browser.get(f"/t/{tenants.B}/staff/petitions/{pid}")).get_data(as_text=True)
    assert tenants.CHILD_OF_B in targets(accepted, "assign_down") and tenants.A not in targets(accepted, "assign_down")
    assert 'data-action="transfer"' not in accepted
