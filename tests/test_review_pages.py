"""Promotion reviews of officials registered without an identity number, and the page controls to link or
unlink a same-name record: the name search across tenants (purpose-bound, audited), opening by an official
chosen or by name and unit, and the opinion page's link/unlink forms (CSRF, a reason required)."""

from __future__ import annotations

import random
import re

from xinfang.archives.models import Official
from xinfang.audit.models import AuditRecord
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.login_pages import form_login, staff_login
from tests.test_archives import register

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PURPOSE = {"purpose": "promotion", "reference_no": "宿组干〔2027〕21号", "justification": "拟提拔任用，征求廉政意见"}


async def namesakes(client, tenants) -> dict:
    """One name registered without identity numbers in 泗阳 (a school) and 巴州 (the education bureau)."""
    name = f"无号{random.randint(10000, 99999)}"
    a = await register(client, tenants.A, await login_token(client, tenants.A, "handler"), name=name, unit="泗阳县教育系统某中学",
                       position="副校长")
    b = await register(client, tenants.B, await login_token(client, tenants.B, "handler"), name=name, unit="库尔勒市教育局")
    return {"name": name, "a": a, "b": b}


async def platform_browser(app, username: str):
    """A test client logged in through the platform's login page, and the session's CSRF token."""
    browser = app.test_client()
    assert (await form_login(browser, "/platform/login", username)).status_code == 302
    page = await browser.get("/platform/reviews")
    return browser, CSRF.search(await page.get_data(as_text=True)).group(1)


async def test_the_name_search_across_tenants_is_purpose_bound_and_audited(client, tenants):
    people = await namesakes(client, tenants)
    reviewer = await login_token(client, None, "org-reviewer")
    url = "/api/platform/reviews/official-search"
    bare = await client.post(url, headers=reviewer, json={"official_name": people["name"]})
    assert bare.status_code == 422
    assert {"purpose", "reference_no", "justification"} <= set((await bare.get_json())["error"]["fields"])
    before = await AuditRecord.find({"action": "review.official_search"}).count()
    found = await client.post(url, headers=reviewer, json={"official_name": f" {people['name']} ", **PURPOSE})
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    rows = (await found.get_json())["officials"]
    assert {(r["id"], r["tenant"]["slug"], r["has_id_number"]) for r in rows} == {
        (people["a"]["id"], tenants.A, False), (people["b"]["id"], tenants.B, False)}
    record = await AuditRecord.find({"action": "review.official_search"}).sort("-seq").first_or_none()
    assert await AuditRecord.find({"action": "review.official_search"}).count() == before + 1
    assert record.result_count == 2 and len(record.tenant_ids) == 2 and record.query["name"] == people["name"]
    assert PURPOSE["reference_no"] in record.purpose and record.actor_username == "org-reviewer"
    by_unit = (await (await client.post(url, headers=reviewer, json={"official_name": people["name"], "unit": "某中学", **PURPOSE})).get_json())
    assert [r["id"] for r in by_unit["officials"]] == [people["a"]["id"]]
    # tenant staff never reach the cross-tenant search, and learn nothing from the refusal
    for slug in (tenants.A, tenants.B):
        staff = await login_token(client, slug, "leader")
        refused = await client.post(url, headers=staff, json={"official_name": people["name"], **PURPOSE})
        assert refused.status_code in (401, 403) and people["name"] not in await refused.get_data(as_text=True)


async def test_a_review_opens_on_an_official_without_a_number_by_choice_or_by_name_and_unit(client, tenants):
    people = await namesakes(client, tenants)
    reviewer, approver = await login_token(client, None, "org-reviewer"), await login_token(client, None, "org-approver")
    nothing = await client.post("/api/platform/reviews", headers=reviewer, json={"official_name": people["name"], **PURPOSE})
    assert nothing.status_code == 422 and "id_number" in (await nothing.get_json())["error"]["fields"]
    both = await client.post("/api/platform/reviews", headers=reviewer, json={"official_name": people["name"], "unit": "教育", **PURPOSE})
    assert both.status_code == 422 and "2" in (await both.get_json())["error"]["fields"]["unit"]["zh"]  # two people: choose one
    nobody = await client.post("/api/platform/reviews", headers=reviewer, json={"official_name": people["name"], "unit": "公安局", **PURPOSE})
    assert nobody.status_code == 422 and "unit" in (await nobody.get_json())["error"]["fields"]
    by_unit = await client.post("/api/platform/reviews", headers=reviewer, json={"official_name": people["name"], "unit": "某中学", **PURPOSE})
    assert by_unit.status_code == 201, await by_unit.get_data(as_text=True)
    review = await by_unit.get_json()
    opened = await AuditRecord.find({"review_id": review["id"], "action": "review.opened"}).first_or_none()
    assert opened.result_count == 1 and len(opened.tenant_ids) == 1
    assert (await client.post(f"/api/platform/reviews/{review['id']}/approve", headers=approver)).status_code == 200
    opinion = await (await client.get(f"/api/platform/reviews/{review['id']}/opinion", headers=reviewer)).get_json()
    assert [r["id"] for r in opinion["person"]["records"]] == [people["a"]["id"]]
    assert [m["id"] for m in opinion["possible_matches"]] == [people["b"]["id"]]  # the same name elsewhere: apart
    chosen = await client.post("/api/platform/reviews", headers=reviewer,
                               json={"official_name": people["name"], "official_id": people["b"]["id"], **PURPOSE})
    assert chosen.status_code == 201


async def test_the_pages_find_open_link_and_unlink_with_a_reason(app, client, tenants):
    people = await namesakes(client, tenants)
    reviewer, csrf = await platform_browser(app, "org-reviewer")
    form = {"official_name": people["name"], **PURPOSE, "csrf_token": csrf}
    found = await reviewer.post("/platform/reviews/find", form=form)
    html = await found.get_data(as_text=True)
    assert found.status_code == 200
    assert f'value="{people["a"]["id"]}"' in html and f'value="{people["b"]["id"]}"' in html and "未登记证件号码" in html
    assert "库尔勒市教育局" in html and 'name="official_id"' in html
    refused = await reviewer.post("/platform/reviews/find", form={"official_name": people["name"], "csrf_token": csrf})
    assert refused.status_code == 422 and "请填写文号" in await refused.get_data(as_text=True)
    assert (await reviewer.post("/platform/reviews/find", form={"official_name": people["name"], **PURPOSE})).status_code == 403  # no CSRF
    opened = await reviewer.post("/platform/reviews", form=form | {"official_id": people["a"]["id"]})
    assert opened.status_code == 302, await opened.get_data(as_text=True)
    review_url = opened.headers["Location"]
    review_id = review_url.rstrip("/").rsplit("/", 1)[1]
    approver, approver_csrf = await platform_browser(app, "org-approver")
    assert (await approver.post(f"{review_url}/approve", form={"csrf_token": approver_csrf})).status_code == 302
    review_page = await (await reviewer.get(review_url)).get_data(as_text=True)
    assert "认定为同一人" in review_page  # the review page tells where the same-name records are linked

    opinion_url = f"/platform/reviews/{review_id}/opinion"
    page = await (await reviewer.get(opinion_url)).get_data(as_text=True)
    link_action = f"/platform/reviews/{review_id}/links"
    assert f'action="{link_action}"' in page and f'name="official_id" value="{people["b"]["id"]}"' in page
    no_reason = await reviewer.post(link_action, form={"official_id": people["b"]["id"], "reason": " ", "csrf_token": csrf})
    assert no_reason.status_code == 422 and "请说明认定为同一人的依据" in await no_reason.get_data(as_text=True)
    assert (await reviewer.post(link_action, form={"official_id": people["b"]["id"], "reason": "经核对履历为同一人"})).status_code == 403
    linked = await reviewer.post(link_action, form={"official_id": people["b"]["id"], "reason": "经核对履历为同一人", "csrf_token": csrf})
    assert linked.status_code == 302 and linked.headers["Location"].endswith(opinion_url)
    bazhou = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    assert (await bazhou.repo(Official).get(people["b"]["id"])).person_key == f"official:{people['a']['id']}"
    assert await AuditRecord.find({"review_id": review_id, "action": "archive.link"}).count() == 1
    page = await (await reviewer.get(opinion_url)).get_data(as_text=True)
    unlink_action = f"/platform/reviews/{review_id}/links/{people['b']['id']}/unlink"
    assert f'action="{unlink_action}"' in page and "取消认定" in page
    blank = await reviewer.post(unlink_action, form={"reason": "", "csrf_token": csrf})
    assert blank.status_code == 422 and "请说明取消认定的理由" in await blank.get_data(as_text=True)
    unlinked = await reviewer.post(unlink_action, form={"reason": "误认，两人出生年月不同", "csrf_token": csrf})
    assert unlinked.status_code == 302
    assert (await bazhou.repo(Official).get(people["b"]["id"])).person_key == f"official:{people['b']['id']}"
    record = await AuditRecord.find({"review_id": review_id, "action": "archive.unlink"}).first_or_none()
    assert record is not None and record.purpose == "误认，两人出生年月不同" and record.tenant_ids == [str(bazhou.tenant_id)]
    # the approver holds no grant: the link step is refused to them
    assert (await approver.post(link_action, form={"official_id": people["b"]["id"], "reason": "经核对履历为同一人",
                                                   "csrf_token": approver_csrf})).status_code == 403


async def test_tenant_staff_sessions_never_reach_the_review_pages(app, client, tenants):
    """Isolation of the new page routes: they are the platform's, never a tenant's."""
    people = await namesakes(client, tenants)
    reviewer = await login_token(client, None, "org-reviewer")
    review = await (await client.post("/api/platform/reviews", headers=reviewer,
                                      json={"official_name": people["name"], "official_id": people["a"]["id"], **PURPOSE})).get_json()
    for slug in (tenants.A, tenants.B):
        staff = app.test_client()
        assert (await staff_login(staff, slug, "leader")).status_code == 302
        inbox = await staff.get(f"/t/{slug}/staff/")
        found = CSRF.search(await inbox.get_data(as_text=True))
        token = found.group(1) if found else ""  # the staff session's own token: valid, yet not a superuser's
        for path, form in (("/platform/reviews/find", {"official_name": people["name"], **PURPOSE}),
                           (f"/platform/reviews/{review['id']}/links", {"official_id": people["b"]["id"], "reason": "经核对为同一人"}),
                           (f"/platform/reviews/{review['id']}/links/{people['a']['id']}/unlink", {"reason": "误认"})):
            answer = await staff.post(path, form=form | {"csrf_token": token})
            body = await answer.get_data(as_text=True)
            assert answer.status_code in (302, 401, 403), (path, answer.status_code)
            assert people["name"] not in body and "库尔勒市教育局" not in body
    bazhou = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    assert (await bazhou.repo(Official).get(people["b"]["id"])).person_key == f"official:{people['b']['id']}"
