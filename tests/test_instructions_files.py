"""批示: the person named attaches files to the action report (checked by their content, as registration and the upward
result report check them); the body holding the case and the body that wrote the instruction both see and download
them; nobody else reaches them (the same 404 as a made-up id)."""

from __future__ import annotations

import io
import json

from bson import ObjectId
from werkzeug.datastructures import FileStorage

from tests.conftest import login_token
from tests.test_instructions import _accounts, _instruct, _one
from tests.test_oversight_more import PDF, PNG, Files
from tests.test_upper_level import assigned_down


async def test_an_action_report_carries_files_both_bodies_download_and_nobody_else(app, client, tenants):
    case = await assigned_down(client, tenants)  # 巴州 -> 库尔勒, which holds it; 巴州 follows it
    korla = await _accounts(client, tenants.CHILD_OF_B, case.korla_leader)
    written = await client.post(_instruct(tenants.B, case.pid), headers=case.bazhou_leader, json={
        "text": "请库尔勒市纪委查清并附材料报告", "assignee_ids": [korla["handler"]], "due_working_days": 5})
    assert written.status_code == 201, await written.get_data(as_text=True)
    iid = (await written.get_json())["id"]

    refused = await client.post(_one(tenants.CHILD_OF_B, iid, "/actions"), headers=case.korla_handler,
                                form={"payload": json.dumps({"text": "已查清"})},
                                files={"files": FileStorage(stream=io.BytesIO(b"<html>not a pdf"), filename="说明.pdf",
                                                            content_type="application/pdf")})
    assert refused.status_code == 422 and "说明.pdf" in (await refused.get_json())["error"]["fields"]["files.0"]["zh"]
    acted = await client.post(_one(tenants.CHILD_OF_B, iid, "/actions"), headers=case.korla_handler,
                              form={"payload": json.dumps({"text": "已查清，情况属实，附谈话笔录和照片。"})},
                              files=Files([("files", FileStorage(stream=io.BytesIO(PDF), filename="谈话笔录.pdf", content_type="application/pdf")),
                                           ("files", FileStorage(stream=io.BytesIO(PNG), filename="照片.png", content_type="image/png"))]))
    assert acted.status_code == 200, await acted.get_data(as_text=True)
    step = (await acted.get_json())["steps"][-1]
    assert step["kind"] == "acted" and [f["filename"] for f in step["attachments"]] == ["谈话笔录.pdf", "照片.png"]
    pdf_id = step["attachments"][0]["id"]

    # Both bodies: the one holding the case and the writer's, by the API and on the instruction's page.
    for slug, headers in ((tenants.CHILD_OF_B, case.korla_leader), (tenants.B, case.bazhou_leader)):
        shown = await (await client.get(_one(slug, iid), headers=headers)).get_json()
        assert [f["id"] for f in shown["steps"][-1]["attachments"]] == [f["id"] for f in step["attachments"]]
        got = await client.get(_one(slug, iid, f"/files/{pdf_id}"), headers=headers)
        assert got.status_code == 200 and await got.get_data() == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    from tests.login_pages import staff_login
    bazhou_browser = app.test_client()
    assert (await staff_login(bazhou_browser, tenants.B, "leader")).status_code == 302
    page = await (await bazhou_browser.get(f"/t/{tenants.B}/staff/instructions/{iid}")).get_data(as_text=True)
    link = f"/t/{tenants.B}/staff/instructions/{iid}/files/{step['attachments'][1]['id']}"
    assert "照片.png" in page and link in page and await (await bazhou_browser.get(link)).get_data() == PNG

    # Nobody else: 泗阳 gets the same 404 as for a made-up id; its credentials on 巴州's URL are refused.
    siyang = await login_token(client, tenants.A, "leader")
    mine = await client.get(_one(tenants.A, iid, f"/files/{pdf_id}"), headers=siyang)
    none = await client.get(_one(tenants.A, str(ObjectId()), f"/files/{ObjectId()}"), headers=siyang)
    assert mine.status_code == 404 and await mine.get_data() == await none.get_data()
    foreign = await client.get(_one(tenants.B, iid, f"/files/{pdf_id}"), headers=siyang)
    assert foreign.status_code in (401, 403) and PDF not in await foreign.get_data()
    assert (await client.get(_one(tenants.B, iid, f"/files/{ObjectId()}"), headers=case.bazhou_leader)).status_code == 404
