"""Official documents (公文) between two bodies: a 督办函 drafted at 巴州, reviewed (核稿) and signed (签发) by two
other people, numbered without gaps while ten more are signed at once, sent to 库尔勒 (on the platform), to a
department outside and to the citizen; received and distributed at 库尔勒 (承办 with a working-day deadline), answered
with a 复函 that lands back at 巴州 linked to the first document; the issued PDF unchanged with its hash; the case's
timeline and the statistics."""

from __future__ import annotations

import asyncio
import hashlib
import io

from bson import ObjectId
from pypdf import PdfReader

from xinfang.auth.models import StaffAccount
from xinfang.documents.models import DocumentNumber, OfficialDocument
from xinfang.notifications.models import Notification
from xinfang.petitions.models import Petition
from xinfang.petitions.service import china_today, tenant_calendar
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token
from tests.staffing import tenant_scope
from tests.test_instructions import _case

BAZHOU_RULE = {"prefix": "巴纪信", "reviewer_roles": ["leader"], "signer_roles": ["leader"]}
# A tenant-written body template: sandboxed, autoescaped, then through the official-document allow-list.
TEMPLATE = ("<p>{{ recipients|join('、') }}：</p>{% for p in paragraphs %}<p style=\"text-indent:2em\">{{ p }}</p>{% endfor %}"
            "<script>alert(1)</script><p>{{ tenant_name }}（{{ kind_name }}）</p>")
DRAFT = {"kind": "supervision_letter", "title": "关于督促办理群众反映学校乱收费问题的督办函",
         "body": "你市纪委：\n群众反映某中学违规收取资料费，请于五个工作日内核实办理并报告结果。\n特此函告。",
         "recipients": [{"kind": "tenant", "tenant": "korla"}, {"kind": "department", "name": "巴州教育局"},
                        {"kind": "citizen", "name": "信访人"}]}

ISOLATION_CASES = {
    "documents.list_documents": dict(method="GET", path="/api/documents", kind="collection"),
    "documents.draft_document": dict(method="POST", path="/api/documents", kind="collection", body=dict(
        DRAFT, recipients=[{"kind": "department", "name": "隔离测试部门"}])),
    "documents.register_document": dict(method="POST", path="/api/documents/incoming", kind="collection",
                                        body={"kind": "other", "title": "隔离测试来文", "sender_name": "某部门"}),
    "documents.document_stats": dict(method="GET", path="/api/documents/stats", kind="collection"),
    "documents.get_document": dict(method="GET", path="/api/documents/{id}", kind="object", owner_object="petition"),
    "documents.document_pdf": dict(method="GET", path="/api/documents/{id}/pdf", kind="object", owner_object="petition"),
    "documents.document_scan": dict(method="GET", path="/api/documents/{id}/scan", kind="object", owner_object="petition"),
    "documents.review_document": dict(method="POST", path="/api/documents/{id}/review", kind="object", owner_object="petition", body={}),
    "documents.sign_document": dict(method="POST", path="/api/documents/{id}/sign", kind="object", owner_object="petition"),
    "documents.record_delivery": dict(method="POST", path="/api/documents/{id}/deliveries", kind="object", owner_object="petition",
                                      body={"index": 0}),
    "documents.distribute_document": dict(method="POST", path="/api/documents/{id}/distribution", kind="object", owner_object="petition",
                                          body={"entries": [{"account_id": "0123456789abcdef01234567", "purpose": "read"}]}),
    "documents.mark_read": dict(method="POST", path="/api/documents/{id}/read", kind="object", owner_object="petition"),
    "documents.mark_acted": dict(method="POST", path="/api/documents/{id}/acted", kind="object", owner_object="petition", body={"note": "已办"}),
    "documents.get_settings": dict(method="GET", path="/api/document-settings", kind="collection"),
    "documents.put_settings": dict(method="PUT", path="/api/document-settings", kind="collection", body=BAZHOU_RULE),
    "document_pages.documents_page": dict(method="GET", path="/staff/documents", kind="collection"),
    "document_pages.draft_page": dict(method="GET", path="/staff/documents/new", kind="collection"),
    "document_pages.draft_submit": dict(method="POST", path="/staff/documents/new", kind="collection", form=True, expect=(302,),
                                        body={"kind": "other", "title": "隔离测试", "body": "正文", "to_departments": "某部门"}),
    "document_pages.register_page": dict(method="GET", path="/staff/documents/register", kind="collection"),
    "document_pages.register_submit": dict(method="POST", path="/staff/documents/register", kind="collection", form=True, expect=(302,),
                                           body={"kind": "other", "title": "隔离测试来文", "sender_name": "某部门"}),
    "document_pages.document_page": dict(method="GET", path="/staff/documents/{id}", kind="object", owner_object="petition"),
    "document_pages.review_submit": dict(method="POST", path="/staff/documents/{id}/review", kind="object", owner_object="petition", form=True),
    "document_pages.sign_submit": dict(method="POST", path="/staff/documents/{id}/sign", kind="object", owner_object="petition", form=True),
    "document_pages.delivery_submit": dict(method="POST", path="/staff/documents/{id}/delivery", kind="object", owner_object="petition",
                                           form=True, body={"index": "1"}),
    "document_pages.distribute_submit": dict(method="POST", path="/staff/documents/{id}/distribute", kind="object", owner_object="petition",
                                             form=True),
    "document_pages.read_submit": dict(method="POST", path="/staff/documents/{id}/read", kind="object", owner_object="petition", form=True),
    "document_pages.acted_submit": dict(method="POST", path="/staff/documents/{id}/acted", kind="object", owner_object="petition",
                                        form=True, body={"note": "已办"}),
    "document_pages.settings_page": dict(method="GET", path="/staff/document-settings", kind="collection"),
    "document_pages.template_page": dict(method="GET", path="/staff/document-templates/other", kind="collection"),
    "document_pages.template_submit": dict(method="POST", path="/staff/document-templates/other", kind="collection", form=True,
                                           body={"do": "preview", "template": "<p>{{ title }}</p>"}),
    "document_pages.settings_submit": dict(method="POST", path="/staff/document-settings", kind="collection", form=True,
                                           body={"prefix": "巴纪信", "reviewer_roles": "leader", "signer_roles": "leader"}),
}


def _doc(slug: str, did: str = "", tail: str = "") -> str:
    return f"/t/{slug}/api/documents" + (f"/{did}" if did else "") + tail


async def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, await response.get_data(as_text=True)
    return await response.get_json()


async def _signed_by_two(client, slug, did, reviewer, signer) -> dict:
    await _ok(await client.post(_doc(slug, did, "/review"), headers=reviewer, json={"approve": True, "opinion": "同意"}))
    return await _ok(await client.post(_doc(slug, did, "/sign"), headers=signer))


async def test_a_supervision_letter_from_bazhou_to_korla_and_its_reply(client, tenants):
    bz, kl = tenants.B, tenants.CHILD_OF_B
    await _ok(await client.put(f"/t/{bz}/api/document-settings", headers=await login_token(client, bz, "admin"), json=BAZHOU_RULE))
    refused = await client.put(f"/t/{bz}/api/document-settings", headers=await login_token(client, bz, "admin"),
                               json=dict(BAZHOU_RULE, prefix="巴〔纪〕"))
    assert refused.status_code == 422 and "prefix" in (await refused.get_json())["error"]["fields"]
    broken = await client.put(f"/t/{bz}/api/document-settings", headers=await login_token(client, bz, "admin"),
                              json=dict(BAZHOU_RULE, templates={"supervision_letter": "{% for p in paragraphs %}"}))
    assert broken.status_code == 422 and "document_template" in (await broken.get_json())["error"]["fields"]
    await _ok(await client.put(f"/t/{bz}/api/document-settings", headers=await login_token(client, bz, "admin"),
                               json=dict(BAZHOU_RULE, templates={"supervision_letter": TEMPLATE})))
    handler, leader, deputy = [await login_token(client, bz, u) for u in ("handler", "leader", "deputy")]
    pid = await _case(client, bz, f"公文测试 {ObjectId()}")
    bz_name = (await Tenant.find_one({"slug": bz})).name.zh

    # 起草 by the handler, about the case; nobody reviews their own draft, the reviewer does not sign (403).
    drafted = await _ok(await client.post(_doc(bz), headers=handler, json=dict(DRAFT, links=[{"kind": "petition", "id": pid}])), 201)
    did = drafted["id"]
    assert drafted["state"] == "draft" and drafted["kind_name"]["zh"] == "督办函" and "<script" not in drafted["body_html"]
    assert "群众反映某中学违规收取资料费" in drafted["body_html"] and "（督办函）" in drafted["body_html"]  # the tenant's template
    assert "<script" not in drafted["body_html"] and "alert(1)" not in drafted["body_html"].replace("&lt;", "")
    assert (await client.post(_doc(bz, did, "/review"), headers=handler, json={})).status_code == 403
    assert (await client.post(_doc(bz, did, "/sign"), headers=deputy)).status_code == 409  # not reviewed yet
    await _ok(await client.post(_doc(bz, did, "/review"), headers=leader, json={"approve": True}))
    assert (await client.post(_doc(bz, did, "/sign"), headers=leader)).status_code == 403
    assert (await client.post(_doc(bz, did, "/sign"), headers=handler)).status_code == 403  # the drafter, and not a signer role

    # Ten more drafts, reviewed, then all eleven signed at once: the serials are exactly 1..n, no gap, no repeat.
    others = [(await _ok(await client.post(_doc(bz), headers=handler, json=dict(DRAFT, title=f"督办函 {i}",
                                                                                     recipients=[{"kind": "department", "name": f"部门{i}"}])), 201))["id"]
              for i in range(10)]
    for other in others:
        await _ok(await client.post(_doc(bz, other, "/review"), headers=leader, json={"approve": True}))
    results = await asyncio.gather(*(client.post(_doc(bz, d, "/sign"), headers=deputy) for d in [did, *others]))
    issued = [await _ok(r) for r in results]
    scope = await tenant_scope(bz)
    year = str(china_today().year)
    claims = sorted(n.serial for n in await scope.repo(DocumentNumber).find({"year": year}).to_list())
    assert claims == list(range(1, len(claims) + 1)), claims
    rows = await scope.repo(OfficialDocument).find({"direction": "outgoing", "state": "issued", "year": year}).to_list()
    assert sorted(r.serial for r in rows) == claims  # every number given is on exactly one issued document
    mine = sorted(d["document_no"] for d in issued)
    assert len(set(mine)) == 11 and all(n.startswith(f"巴纪信〔{year}〕") and n.endswith("号") for n in mine)
    letter = issued[0]
    assert letter["state"] == "issued" and letter["signed_by_name"] and letter["reviewed_by_name"] != letter["signed_by_name"]

    # The issued PDF: the same bytes every time, the hash recorded at 签发, the number and title inside.
    first, second = await client.get(_doc(bz, did, "/pdf"), headers=handler), await client.get(_doc(bz, did, "/pdf"), headers=leader)
    body = await first.get_data()
    assert first.status_code == 200 and body.startswith(b"%PDF") and body == await second.get_data()
    assert hashlib.sha256(body).hexdigest() == letter["pdf_sha256"] == first.headers["X-Content-SHA256"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert letter["document_no"] in text.replace(" ", "") and "督办函" in text

    # The department outside: a delivery to record; the platform body: delivered at once.
    assert [r["kind"] for r in letter["recipients"]] == ["tenant", "department", "citizen"]
    delivered = await _ok(await client.post(_doc(bz, did, "/deliveries"), headers=handler, json={"index": 1, "note": "机要交换"}))
    assert delivered["recipients"][1]["delivered_at"] and delivered["recipients"][1]["delivery_note"] == "机要交换"
    assert (await client.post(_doc(bz, did, "/deliveries"), headers=handler, json={"index": 0})).status_code == 422

    # The case's timeline has the issue, in words.
    petition = await scope.repo(Petition).get(pid)
    assert any(s.action == "document_issued" and letter["document_no"] in s.fields["document"] for s in petition.steps)
    case_page = await (await client.get(f"/t/{bz}/staff/petitions/{pid}", headers=leader)).get_data(as_text=True)
    assert 'id="documents"' in case_page and DRAFT["title"] in case_page and "发文（公文签发）" in case_page
    assert "document_issued" not in case_page and "document：" not in case_page and "公文：" in case_page

    # 库尔勒 received it: registered automatically; distributed to act within 3 working days of its calendar.
    k_handler, k_leader = await login_token(client, kl, "handler"), await login_token(client, kl, "leader")
    incoming = [d for d in (await _ok(await client.get(_doc(kl) + "?direction=incoming", headers=k_leader)))["items"]
                if d["document_no"] == letter["document_no"]]
    assert len(incoming) == 1 and incoming[0]["state"] == "received" and incoming[0]["sender_name"] == bz_name
    inc = incoming[0]["id"]
    k_scope = await tenant_scope(kl)
    k_handler_id = str((await k_scope.repo(StaffAccount).find_one({"username": "handler"})).id)
    given = await _ok(await client.post(_doc(kl, inc, "/distribution"), headers=k_leader, json={
        "entries": [{"account_id": k_handler_id, "purpose": "act", "due_working_days": 3}]}))
    expected_due = (await tenant_calendar(k_scope)).add_working_days(china_today(), 3).isoformat()
    assert given["state"] == "distributed" and given["distribution"][0]["due_on"] == expected_due
    assert await k_scope.repo(Notification).count({"account_id": k_handler_id, "subject_id": inc}) >= 1
    assert (await client.post(_doc(kl, inc, "/acted"), headers=k_leader, json={"note": "x"})).status_code == 403  # not given to them
    mine_todo = (await _ok(await client.get(_doc(kl) + "?mine=1", headers=k_handler)))["items"]
    assert [d["id"] for d in mine_todo if d["id"] == inc] == [inc] and mine_todo[0]["may_mark_acted"]
    # The beat reminds the person acting of a deadline within one working day, once a day.
    from datetime import timedelta

    from xinfang.documents.service import remind_due
    from xinfang.store.documents import utcnow

    later = utcnow() + timedelta(days=8)  # past the 3 working days, whatever the weekend
    assert await remind_due(later) >= 1 and await remind_due(later) == 0
    notices = await k_scope.repo(Notification).find({"account_id": k_handler_id, "subject_id": inc}).to_list()
    assert len([n for n in notices if "已逾期" in n.text.zh]) == 1

    await _ok(await client.post(_doc(kl, inc, "/acted"), headers=k_handler, json={"note": "已约谈校长，资料费已退还"}))

    # The 复函: drafted at 库尔勒 against the incoming one (addressed back to 巴州 by itself), reviewed and signed by two others.
    k_deputy = await login_token(client, kl, "deputy")
    reply = await _ok(await client.post(_doc(kl), headers=k_handler, json={
        "title": "关于督办函办理情况的复函", "body": "经核实，反映问题属实，资料费已全部退还。", "reply_to_id": inc}), 201)
    assert reply["kind"] == "reply" and reply["recipients"][0]["name"] == bz_name
    signed_reply = await _signed_by_two(client, kl, reply["id"], k_leader, k_deputy)
    assert signed_reply["document_no"].endswith("号")
    answered = await _ok(await client.get(_doc(kl, inc), headers=k_leader))
    assert answered["state"] == "done" and answered["reply_ids"] == [reply["id"]]

    # ... and it landed back at 巴州, linked to the 督办函.
    back = [d for d in (await _ok(await client.get(_doc(bz) + "?direction=incoming", headers=leader)))["items"]
            if d["document_no"] == signed_reply["document_no"]]
    assert len(back) == 1 and back[0]["kind_name"]["zh"] == "复函" and back[0]["reply_to_id"] == did
    original = await _ok(await client.get(_doc(bz, did), headers=leader))
    assert original["reply_ids"] == [back[0]["id"]] and original["steps"][-1]["name"]["zh"] == "收到复函"

    # Paper: registered by a registrar with its scan, kept byte for byte.
    scan = b"%PDF-1.4 paper scan " + bytes(range(256))
    from werkzeug.datastructures import FileStorage

    registered = await client.post(f"/t/{bz}/staff/documents/register", headers=handler, form={
        "kind": "rectification_notice", "title": "州审计局整改通知书", "sender_name": "巴州审计局", "document_no": "巴审〔2026〕7号",
        "body": "请对审计发现的问题限期整改。"}, files={"scan": FileStorage(io.BytesIO(scan), filename="scan.pdf", content_type="application/pdf")})
    assert registered.status_code == 302, await registered.get_data(as_text=True)
    paper_id = registered.headers["Location"].rsplit("/", 1)[-1]
    paper = await _ok(await client.get(_doc(bz, paper_id), headers=leader))
    assert paper["direction"] == "incoming" and paper["has_scan"] and paper["sender_name"] == "巴州审计局"
    assert await (await client.get(_doc(bz, paper_id, "/scan"), headers=leader)).get_data() == scan

    # Statistics: counts by kind and direction; another body's documents are not found here.
    stats = {r["kind"]: r for r in (await _ok(await client.get(_doc(bz, "stats"), headers=leader)))["items"]}
    assert stats["supervision_letter"]["outgoing_issued"] >= 11 and stats["reply"]["incoming"] >= 1
    assert (await client.get(_doc(bz, inc), headers=leader)).status_code == 404
    found = (await _ok(await client.get(_doc(bz), query_string={"q": "违规收取 资料费", "direction": "outgoing"}, headers=leader)))["items"]
    assert did in [d["id"] for d in found] and all("资料费" in d["body"] for d in found)  # the text, not only the title
    assert (await _ok(await client.get(_doc(bz), query_string={"q": "违规收取 没有这个词"}, headers=leader)))["items"] == []  # every word must be there
    page = await client.get(f"/t/{bz}/staff/documents?tab=outgoing", headers=leader)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and letter["document_no"] in html and "督办函" in html and "supervision_letter<" not in html


async def test_every_document_linked_to_a_case_is_found_and_no_other(client, tenants):
    """documents_of looks documents up by their flat link keys: the embedded store answers the dotted path into the
    links array (``links.id``) with nothing, so the archive snapshot once missed a case's documents."""
    from xinfang.documents.service import documents_of

    bz = tenants.B
    handler = await login_token(client, bz, "handler")
    case, other = await _case(client, bz, f"关联公文 {ObjectId()}"), await _case(client, bz, f"关联公文 {ObjectId()}")
    only_department = [{"kind": "department", "name": "巴州教育局"}]

    async def draft(*petitions):
        links = [{"kind": "petition", "id": p} for p in petitions]
        return (await _ok(await client.post(_doc(bz), headers=handler, json=dict(DRAFT, recipients=only_department, links=links)), 201))["id"]

    first, both, elsewhere = await draft(case), await draft(other, case), await draft(other)
    scope = await tenant_scope(bz)
    assert [str(d.id) for d in await documents_of(scope, "petition", case)] == [first, both]
    assert [str(d.id) for d in await documents_of(scope, "petition", other)] == [both, elsewhere]
    assert await documents_of(scope, "supervision", case) == []  # the same id as another kind of subject is not a link
    assert await documents_of(await tenant_scope(tenants.A), "petition", case) == []  # nor another body's
