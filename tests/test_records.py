"""Archived records (归档, issue 17): a closed case archived as one frozen, numbered record; numbers without gaps, also
when eight cases are archived at once; the read audited, refused to those without the permission and to the other
tenant; the live case changed afterwards while the record stays as frozen; the export package's manifest hashes
verified; the record found by its archive number. Isolation cases for every route are checked by tests/test_isolation.py."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta

from bson import ObjectId

from xinfang.audit.models import AuditRecord
from xinfang.cards.models import Supervision
from xinfang.petitions.models import Attachment, Petition
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope
from tests.conftest import login_token
from tests.test_page_crawl import problems_in, read_page

ISOLATION_CASES = {
    "records.archive_petition": dict(method="POST", path="/api/petitions/{id}/archive-record", kind="object", owner_object="petition"),
    "records.archive_supervision": dict(method="POST", path="/api/supervisions/{id}/archive-record", kind="object", owner_object="supervision"),
    "records.list_records": dict(method="GET", path="/api/records", kind="collection"),
    "records.show_record": dict(method="GET", path="/api/records/{id}", kind="object", owner_object="petition"),
    "records.export_record": dict(method="GET", path="/api/records/{id}/export", kind="object", owner_object="petition"),
    "record_pages.records_page": dict(method="GET", path="/staff/records", kind="collection"),
    "record_pages.record_page": dict(method="GET", path="/staff/records/{id}", kind="object", owner_object="petition"),
    "record_pages.export_page": dict(method="GET", path="/staff/records/{id}/export", kind="object", owner_object="petition"),
    "record_pages.archive_petition_submit": dict(method="POST", path="/staff/petitions/{id}/archive-record", kind="object", form=True,
                                                 owner_object="petition"),
    "record_pages.archive_supervision_submit": dict(method="POST", path="/staff/supervisions/{id}/archive-record", kind="object", form=True,
                                                    owner_object="supervision"),
    "record_admin.rule_page": dict(method="GET", path="/admin/records", kind="collection"),
    "record_admin.rule_submit": dict(method="POST", path="/admin/records", kind="collection", form=True, expect=(303,),
                                     body={"prefix": "档", "separator": "-", "code_petition": "XF", "code_supervision": "JD", "width": "4",
                                           "years_petition": "30", "years_supervision": "10"}),
}
RULE = {"prefix": "泗纪档", "separator": "-", "code_petition": "XF", "code_supervision": "JD", "width": "4",
        "years_petition": "permanent", "years_supervision": "10"}
LETTER = b"%PDF-1.4 a scanned letter, as uploaded\n" + bytes(range(256))


async def _filed(client, slug: str, headers: dict, title: str) -> str:
    filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
        "form": "petition", "channel": "letter", "anonymous": True, "answers": {"title": title, "content": f"{title}：食堂多收费用", "category": "other"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    return (await filed.get_json())["id"]


async def _close(petition_id: str, closer_id: str, closer_name: str) -> None:
    """The case reaches its final state (the workflow's 办结 step, written as the platform writes a petition: a whole replace)."""
    collection = Petition.get_pymongo_collection()
    raw = await collection.find_one({"_id": ObjectId(petition_id)})
    raw["steps"].append({**raw["steps"][0], "at": utcnow(), "actor": closer_id, "actor_name": closer_name, "action": "close",
                         "from_state": raw["state"], "to_state": "closed", "fields": {"opinion": "已核实，责令退还多收费用"}})
    raw.update({"state": "closed", "due_on": None, "overdue": False, "revision": raw["revision"] + 1})
    await collection.replace_one({"_id": raw["_id"]}, raw)


def _serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


async def test_a_closed_case_is_archived_frozen_read_exported_and_found(client, tenants):
    a, b = tenants.A, tenants.B
    leader, deputy, handler, auditor, admin = [await login_token(client, a, u) for u in ("leader", "deputy", "handler", "auditor", "admin")]
    other_leader = await login_token(client, b, "leader")
    rows = (await (await client.get(f"/t/{a}/api/accounts", headers=leader)).get_json())["accounts"]
    accounts, names = {r["username"]: r["id"] for r in rows}, {r["username"]: r["display_name"] for r in rows}

    # The tenant admin sets the rule on its page; a wrong value comes back with words (422), never saved.
    bad = await client.post(f"/t/{a}/admin/records", headers=admin, form=dict(RULE, width="9"))
    assert bad.status_code == 422 and "流水号位数为 3 到 6" in await bad.get_data(as_text=True)
    saved = await client.post(f"/t/{a}/admin/records", headers=admin, form=RULE)
    assert saved.status_code == 303, await saved.get_data(as_text=True)
    assert (await client.get(f"/t/{a}/admin/records", headers=leader)).status_code == 403  # a leader does not set it
    assert (await client.get(f"/t/{a}/api/records", headers=admin)).status_code == 403  # the admin reads no record

    # A case with an attachment, closed by the handler; an open case cannot be archived (409).
    pid = await _filed(client, a, leader, "归档测试一")
    a_id = (await (await client.get(f"/t/{a}/api/tenant")).get_json())["id"]
    await TenantScope(a_id).repo(Attachment).insert(Attachment(tenant_id=a_id,
        petition_id=pid, filename="来信扫描件.pdf", content_type="application/pdf", size=len(LETTER), sha256=hashlib.sha256(LETTER).hexdigest(),
        data=LETTER))
    assert (await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=leader)).status_code == 409
    # An incoming document (收文) on the case, registered from paper: it goes into the record with the case.
    registered = await client.post(f"/t/{a}/api/documents/incoming", headers=leader, json={
        "kind": "reply", "title": "关于食堂收费问题的复函", "body": "已责令退还", "sender_name": "某中学", "document_no": "某中〔2026〕3号",
        "links": [{"kind": "petition", "id": pid}]})
    assert registered.status_code == 201, await registered.get_data(as_text=True)
    await _close(pid, accounts["leader"], names["leader"])
    panel = await (await client.get(f"/t/{a}/staff/petitions/{pid}", headers=deputy)).get_data(as_text=True)
    assert f"/t/{a}/staff/petitions/{pid}/archive-record" in panel  # the closed case's page offers 归档
    # Separation of duties: who closed it does not archive it; the handler may not archive at all.
    own = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=leader)
    assert own.status_code == 403 and "另一位" in (await own.get_json())["error"]["message"]["zh"]
    assert (await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=handler)).status_code == 403
    assert (await client.post(f"/t/{b}/api/petitions/{pid}/archive-record", headers=other_leader)).status_code == 404
    archived = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=deputy)
    assert archived.status_code == 201, await archived.get_data(as_text=True)
    first = await archived.get_json()
    year = str(first["year"])
    assert re.fullmatch(rf"泗纪档-{year}-XF-\d{{4}}", first["number"]), first
    assert first["retention"] == {"zh": "永久保存", "en": "permanently"} and first["retention_ends_on"] is None
    again = await client.post(f"/t/{a}/api/petitions/{pid}/archive-record", headers=deputy)
    assert again.status_code == 409 and first["number"] in (await again.get_json())["error"]["message"]["zh"]

    # The next archive takes the next number; eight archived at once take the eight after it, no gap, no repeat.
    second_id = await _filed(client, a, leader, "归档测试二")
    await _close(second_id, accounts["handler"], names["handler"])
    second = await (await client.post(f"/t/{a}/api/petitions/{second_id}/archive-record", headers=leader)).get_json()
    assert _serial(second["number"]) == _serial(first["number"]) + 1
    batch = [await _filed(client, a, leader, f"归档并发{n}") for n in range(8)]
    for one in batch:
        await _close(one, accounts["handler"], names["handler"])
    answers = await asyncio.gather(*(client.post(f"/t/{a}/api/petitions/{one}/archive-record", headers=leader if n % 2 else deputy)
                                     for n, one in enumerate(batch)))
    assert [r.status_code for r in answers] == [201] * 8, [await r.get_data(as_text=True) for r in answers]
    serials = sorted([_serial((await r.get_json())["number"]) for r in answers])
    assert serials == list(range(_serial(second["number"]) + 1, _serial(second["number"]) + 9)), serials
    # The other tenant counts on its own, with its own (default) rule and retention class.
    b_case = await _filed(client, b, other_leader, "巴州归档测试")
    await _close(b_case, "citizen", "")
    b_first = await (await client.post(f"/t/{b}/api/petitions/{b_case}/archive-record", headers=other_leader)).get_json()
    assert b_first["number"].split("-")[-2] == "XF" and b_first["retention"]["zh"] == "30 年"

    # A card closed and archived: its own sequence (JD) and its retention class (10 years from the day it closed).
    card = await client.post(f"/t/{a}/api/supervisions", headers=handler, json={
        "kind": "action", "type_key": "supervision_notice", "subject": {"kind": "person", "name": f"归档卡 {ObjectId()}", "unit": "某中学"}})
    assert card.status_code == 201, await card.get_data(as_text=True)
    sid = (await card.get_json())["id"]
    await Supervision.get_pymongo_collection().update_one({"_id": ObjectId(sid)}, {"$set": {"state": "closed", "outcome": "说明清楚，予以了结"}})
    card_record = await client.post(f"/t/{a}/api/supervisions/{sid}/archive-record", headers=leader)
    assert card_record.status_code == 201, await card_record.get_data(as_text=True)
    card_record = await card_record.get_json()
    assert f"-{year}-JD-" in card_record["number"] and card_record["retention"]["zh"] == "10 年"
    assert card_record["retention_ends_on"] == card_record["closed_on"].replace(year, str(int(year) + 10), 1)

    # Reading: the auditor reads it (the read is in the audit chain); the handler is refused; the other tenant gets 404.
    rid = first["id"]
    read = await client.get(f"/t/{a}/api/records/{rid}", headers=auditor, query_string={"purpose": "年度档案检查"})
    assert read.status_code == 200, await read.get_data(as_text=True)
    record = await read.get_json()
    assert record["snapshot"]["title"] == "归档测试一" and record["snapshot"]["decisions"][-1]["fields"][0]["text"] == "已核实，责令退还多收费用"
    assert record["files"][0]["sha256"] == hashlib.sha256(LETTER).hexdigest()
    assert [(d["document_no"], d["title"]) for d in record["snapshot"]["documents"]] == [("某中〔2026〕3号", "关于食堂收费问题的复函")]
    logged = await AuditRecord.get_pymongo_collection().find_one({"action": "records.read", "subject": rid, "purpose": "年度档案检查"})
    assert logged is not None and logged["actor_username"] == "auditor" and logged["tenant_ids"] == [a_id]
    assert (await client.get(f"/t/{a}/api/records/{rid}", headers=handler)).status_code == 403
    assert (await client.get(f"/t/{a}/staff/records/{rid}", headers=handler)).status_code == 403
    assert (await client.get(f"/t/{b}/api/records/{rid}", headers=other_leader)).status_code == 404
    assert (await client.get(f"/t/{a}/api/records/{rid}", headers=other_leader)).status_code in (401, 403)

    # The live case changes afterwards; the record stays as frozen (same snapshot, same hash, the old words on its page).
    raw = await Petition.get_pymongo_collection().find_one({"_id": ObjectId(pid)})
    raw["title"], raw["answers"]["content"] = "改过的标题", "改过的内容"
    raw["steps"].append({**raw["steps"][-1], "at": utcnow() + timedelta(minutes=1), "action": "supplement", "fields": {"text": "事后补充"}})
    await Petition.get_pymongo_collection().replace_one({"_id": raw["_id"]}, raw)
    later = await (await client.get(f"/t/{a}/api/records/{rid}", headers=leader)).get_json()
    assert later["snapshot"] == record["snapshot"] and later["snapshot_sha256"] == record["snapshot_sha256"]
    page = await client.get(f"/t/{a}/staff/records/{rid}", headers=leader)
    text = await page.get_data(as_text=True)
    assert page.status_code == 200 and "归档测试一：食堂多收费用" in text and "改过的内容" not in text and "事后补充" not in text
    assert problems_in(read_page(text)[0]) == []  # words, never codes; times in the tenant's zone
    case_page = await (await client.get(f"/t/{a}/staff/petitions/{pid}", headers=leader)).get_data(as_text=True)
    assert first["number"] in case_page  # the case's page shows its archive number

    # Export: a ZIP whose manifest holds the SHA-256 of every file in it; the attachment as it was; audited; leaders only.
    assert (await client.get(f"/t/{a}/api/records/{rid}/export", headers=auditor)).status_code == 403
    exported = await client.get(f"/t/{a}/api/records/{rid}/export", headers=leader)
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(await exported.get_data())) as package:
        manifest = json.loads(package.read("manifest.json"))
        assert manifest["archive_number"] == first["number"] and manifest["missing"] == []
        assert {f["path"] for f in manifest["files"]} | {"manifest.json"} == set(package.namelist())
        for entry in manifest["files"]:
            data = package.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"], entry["path"]
        assert package.read("summary.pdf").startswith(b"%PDF")
        assert [package.read(f["path"]) for f in manifest["files"] if f["kind"] == "attachment"] == [LETTER]
        assert hashlib.sha256(package.read("snapshot.json")).hexdigest() == record["snapshot_sha256"] == manifest["snapshot_sha256"]
    assert await AuditRecord.get_pymongo_collection().find_one({"action": "records.export", "subject": rid}) is not None

    # Found by its archive number (and by the case number), on the API and on the list page; filters by year and kind.
    found = await (await client.get(f"/t/{a}/api/records", headers=auditor, query_string={"q": first["number"]})).get_json()
    assert [r["id"] for r in found["items"]] == [rid]
    by_case = await (await client.get(f"/t/{a}/api/records", headers=auditor, query_string={"q": "归档测试二"})).get_json()
    assert [r["id"] for r in by_case["items"]] == [second["id"]]
    cards = await (await client.get(f"/t/{a}/api/records", headers=auditor, query_string={"kind": "supervision", "year": year})).get_json()
    assert card_record["id"] in [r["id"] for r in cards["items"]] and rid not in [r["id"] for r in cards["items"]]
    listed = await (await client.get(f"/t/{a}/staff/records", headers=auditor, query_string={"q": first["number"]})).get_data(as_text=True)
    assert first["number"] in listed and second["number"] not in listed
    rule_page = await (await client.get(f"/t/{a}/admin/records", headers=admin)).get_data(as_text=True)
    assert f"泗纪档-{year}-XF-0001" in rule_page and problems_in(read_page(listed)[0] + " " + read_page(rule_page)[0]) == []
    theirs = await (await client.get(f"/t/{b}/api/records", headers=other_leader, query_string={"q": "归档测试"})).get_json()
    assert [r["id"] for r in theirs["items"]] == [b_first["id"]]  # one tenant's search never finds the other's records
