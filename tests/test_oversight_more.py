"""督办, the gaps closed after issue 15's first round: files on a result report (both sides download them, nobody else),
withdrawing an open oversight (leaders of the supervising body only, with a reason: told, audited, 已撤销 in lists and
statistics), and "one open oversight per case and body" held by a unique key under concurrent requests."""

from __future__ import annotations

import asyncio
import io
import json

from bson import ObjectId
from werkzeug.datastructures import FileStorage, MultiDict

from tests.conftest import eventually, login_token
from tests.test_oversight import _notices_if, api
from tests.test_petitions import submitted
from tests.test_upper_level import assigned_down

PDF = b"%PDF-1.4\n% oversight result report\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class Files(MultiDict):
    """Several files under one name: Quart's test client sends ``files.items()``, one per key otherwise."""

    def items(self, multi=True):
        return super().items(multi=True)


async def _open(client, tenants, headers, number: str, requirement: str = "请核实并报送办理结果"):
    return await client.post(api(tenants.B), headers=headers, json={
        "subject_kind": "petition", "subject": number, "requirement": requirement, "working_days": 5})


async def test_a_result_report_carries_files_both_sides_download_and_nobody_else(app, client, tenants):
    case = await assigned_down(client, tenants)  # 巴州 -> 库尔勒, which now holds it
    opened = await _open(client, tenants, case.bazhou_leader, case.number)
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    oid = (await opened.get_json())["id"]

    # A file that only claims to be a PDF is refused by its content, with the file named in zh and en.
    fake = await client.post(api(tenants.CHILD_OF_B, f"/{oid}/reports"), headers=case.korla_handler,
                             form={"payload": json.dumps({"text": "整改完毕"})},
                             files={"files": FileStorage(stream=io.BytesIO(b"MZ not a pdf"), filename="报告.pdf", content_type="application/pdf")})
    assert fake.status_code == 422
    problem = (await fake.get_json())["error"]["fields"]["files.0"]
    assert "报告.pdf" in problem["zh"] and "PDF" in problem["en"]

    sent = await client.post(api(tenants.CHILD_OF_B, f"/{oid}/reports"), headers=case.korla_handler,
                             form={"payload": json.dumps({"text": "已约谈并整改，附整改报告和现场照片。"})},
                             files=Files([("files", FileStorage(stream=io.BytesIO(PDF), filename="整改报告.pdf", content_type="application/pdf")),
                                              ("files", FileStorage(stream=io.BytesIO(PNG), filename="现场.png", content_type="image/png"))]))
    assert sent.status_code == 201, await sent.get_data(as_text=True)
    files = (await sent.get_json())["reports"][0]["attachments"]
    assert [f["filename"] for f in files] == ["整改报告.pdf", "现场.png"] and files[0]["size"] == len(PDF)

    # Both sides see the files on the record and download them, through the API and the pages.
    upper_view = await (await client.get(api(tenants.B, f"/{oid}"), headers=case.bazhou_leader)).get_json()
    assert [f["id"] for f in upper_view["reports"][0]["attachments"]] == [f["id"] for f in files]
    for slug, headers in ((tenants.B, case.bazhou_leader), (tenants.CHILD_OF_B, case.korla_handler)):
        got = await client.get(api(slug, f"/{oid}/files/{files[0]['id']}"), headers=headers)
        assert got.status_code == 200 and await got.get_data() == PDF
        assert got.headers["Content-Type"] == "application/pdf" and got.headers["X-Content-Type-Options"] == "nosniff"
    from tests.login_pages import staff_login
    bazhou_browser = app.test_client()
    assert (await staff_login(bazhou_browser, tenants.B, "leader")).status_code == 302
    page = await (await bazhou_browser.get(f"/t/{tenants.B}/staff/oversight/{oid}")).get_data(as_text=True)
    link = f"/t/{tenants.B}/staff/oversight/{oid}/files/{files[1]['id']}"
    assert "现场.png" in page and link in page
    assert await (await bazhou_browser.get(link)).get_data() == PNG

    # Nobody else: 泗阳 (unrelated) gets the same 404 as a made-up id, on its own URL and on the file's id;
    # a made-up file id on a real record is a 404 too, and a petition's attachment id is not a report file.
    siyang = await login_token(client, tenants.A, "leader")
    for slug, headers in ((tenants.A, siyang),):
        mine = await client.get(api(slug, f"/{oid}/files/{files[0]['id']}"), headers=headers)
        none = await client.get(api(slug, f"/{ObjectId()}/files/{ObjectId()}"), headers=headers)
        assert mine.status_code == 404 and await mine.get_data() == await none.get_data()
    foreign = await client.get(api(tenants.B, f"/{oid}/files/{files[0]['id']}"), headers=siyang)
    assert foreign.status_code in (401, 403) and PDF not in await foreign.get_data()
    assert (await client.get(api(tenants.B, f"/{oid}/files/{ObjectId()}"), headers=case.bazhou_leader)).status_code == 404


async def test_a_leader_withdraws_an_open_oversight_with_a_reason(app, client, tenants):
    from xinfang.audit.models import AuditRecord

    filed = await submitted(client, tenants.CHILD_OF_B)
    leader, handler = await login_token(client, tenants.B, "leader"), await login_token(client, tenants.B, "handler")
    opened = await _open(client, tenants, leader, filed["number"], "请限期办结")
    assert opened.status_code == 201, await opened.get_data(as_text=True)
    view = await opened.get_json()
    oid = view["id"]
    assert "withdraw" in view["actions"]
    korla_handler = await login_token(client, tenants.CHILD_OF_B, "handler")
    korla_leader = await login_token(client, tenants.CHILD_OF_B, "leader")

    # A handler of the supervising body may remind but not withdraw; the lower body cannot; a reason is required.
    assert "withdraw" not in (await (await client.get(api(tenants.B, f"/{oid}"), headers=handler)).get_json())["actions"]
    refused = await client.post(api(tenants.B, f"/{oid}/withdraw"), headers=handler, json={"reason": "不再需要"})
    assert refused.status_code == 403 and (await refused.get_json())["error"]["message"]["en"]
    assert (await client.post(api(tenants.CHILD_OF_B, f"/{oid}/withdraw"), headers=korla_leader, json={"reason": "x"})).status_code == 403
    empty = await client.post(api(tenants.B, f"/{oid}/withdraw"), headers=leader, json={"reason": ""})
    assert empty.status_code == 422 and "reason" in (await empty.get_json())["error"]["fields"]

    done = await client.post(api(tenants.B, f"/{oid}/withdraw"), headers=leader, json={"reason": "该件已由信访部门统一督办"})
    assert done.status_code == 200, await done.get_data(as_text=True)
    withdrawn = await done.get_json()
    assert withdrawn["state"] == "withdrawn" and withdrawn["state_name"]["zh"] == "已撤销" and withdrawn["open"] is False
    assert withdrawn["withdraw_reason"] == "该件已由信访部门统一督办" and withdrawn["actions"] == [] and withdrawn["on_time"] is None
    # Nothing more happens on it: no report, no reminder, no second withdrawal.
    assert (await client.post(api(tenants.CHILD_OF_B, f"/{oid}/reports"), headers=korla_handler, json={"text": "x"})).status_code == 409
    assert (await client.post(api(tenants.B, f"/{oid}/reminders"), headers=leader, json={"message": "x"})).status_code == 409
    assert (await client.post(api(tenants.B, f"/{oid}/withdraw"), headers=leader, json={"reason": "x"})).status_code == 409

    # Audited, before the answer.
    audit = await AuditRecord.find({"subject": oid, "action": "oversight.withdrawn"}).to_list()
    assert len(audit) == 1 and "该件已由信访部门统一督办" in audit[0].purpose
    # The lower body is told, once.
    await eventually(lambda: _notices_if(client, tenants.CHILD_OF_B, korla_handler, "oversight_decided", filed["number"], 1), timeout=60,
                     message="the withdrawal notice")
    notice = (await _notices_if(client, tenants.CHILD_OF_B, korla_handler, "oversight_decided", filed["number"], 1))[0]
    assert "撤销" in notice["text"]["zh"]

    # Lists and statistics: 已撤销, in its own filter and bucket, not among the open or the on-time rate.
    listed = await (await client.get(api(tenants.B, "?side=issued&state=withdrawn"), headers=leader)).get_json()
    assert oid in [i["id"] for i in listed["items"]]
    assert oid not in [i["id"] for i in (await (await client.get(api(tenants.B, "?side=issued&state=awaiting_report"),
                                                                  headers=leader)).get_json())["items"]]
    stats = await (await client.get(f"/t/{tenants.B}/api/oversight-stats?side=issued", headers=leader)).get_json()
    assert next(b for b in stats["timeliness"] if b["bucket"] == "withdrawn")["count"] >= 1
    assert next(s for s in stats["by_state"] if s["state"] == "withdrawn")["name"]["zh"] == "已撤销"
    for row in stats["per_body"]:  # each record in exactly one bucket, withdrawn ones too
        assert row["total"] == sum(row[b] for b in ("on_time", "late", "overdue", "in_time", "withdrawn")), row
    from tests.login_pages import staff_login
    korla_browser = app.test_client()
    assert (await staff_login(korla_browser, tenants.CHILD_OF_B, "handler")).status_code == 302
    page = await (await korla_browser.get(f"/t/{tenants.CHILD_OF_B}/staff/oversight/{oid}")).get_data(as_text=True)
    assert "已撤销" in page and "该件已由信访部门统一督办" in page and 'data-action="report"' not in page
    assert "无需再报送办理结果" in page and "请在期限内报送" not in page
    listing = await (await korla_browser.get(f"/t/{tenants.CHILD_OF_B}/staff/oversight?side=received")).get_data(as_text=True)
    assert "已撤销" in listing and "withdrawn</" not in listing

    # The subject is free again: the same body may open a new oversight of it.
    assert (await _open(client, tenants, leader, filed["number"], "重新督办")).status_code == 201


async def test_concurrent_openings_of_one_case_create_exactly_one(client, tenants):
    """Eight leaders' requests at once: the store's unique open key lets one in; the rest get a 409 in words."""
    filed = await submitted(client, tenants.CHILD_OF_B)
    leader = await login_token(client, tenants.B, "leader")
    answers = await asyncio.gather(*[_open(client, tenants, leader, filed["number"], f"同时督办 {n}") for n in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7, codes
    for answer in answers:
        if answer.status_code == 409:
            message = (await answer.get_json())["error"]["message"]
            assert message["zh"] == "本单位对这件事项已有正在进行的督办" and message["en"] == "this body already has an open oversight of it"
    from xinfang.oversight.models import Oversight
    from xinfang.petitions.models import Petition

    petition = await Petition.get_pymongo_collection().find_one({"number": filed["number"]})
    rows = [r async for r in Oversight.get_pymongo_collection().find({"subject_id": str(petition["_id"])})]
    assert len(rows) == 1 and rows[0]["open_key"] == str(petition["_id"])
    # By construction, not by the query: a second open record for the same case and body is refused by the store itself.
    import pytest
    from pymongo.errors import DuplicateKeyError

    twin = dict(rows[0], _id=ObjectId())
    with pytest.raises(DuplicateKeyError):
        await Oversight.get_pymongo_collection().insert_one(twin)
