"""Retention and crypto-shredding, end to end on the real store, worker and beat.

巴州 (B) keeps closed cases 5 years; 泗阳 (A) keeps the default 10. A case B closed seven years ago loses its
petitioner's identity when the beat's sweep (in the worker) reaches it: its record key is destroyed, so the sealed
bytes, still in the petition and in a copy of the store's data file taken before (a backup), never open again; the
search index and a new export do not hold it, an earlier export with identities opened is gone, and the analytics
facts and cells of its months are unchanged. A case B closed a day short of five years ago, and A's case closed
seven years ago, keep theirs; an identity still sealed with the tenant key is re-sealed under a record key. Only a
tenant admin may change the periods, and the version records who did.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import uuid
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from bson import ObjectId

from xinfang.analytics import facts
from xinfang.analytics.models import AnalyticsCell, AnalyticsFact
from xinfang.cards.models import Supervision
from xinfang.crypto import RecordKey, RecordKeyGone, record_of
from xinfang.data_export import service as export_service
from xinfang.data_export.models import DataExport, ExportChunk
from xinfang.petitions.models import Petition
from xinfang.retention.migrate import reseal_legacy
from xinfang.retention.models import RetentionDue, RetentionMark
from xinfang.tenancy.config_versions import ConfigVersion
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant
from xinfang.timefmt import zone
from tests.conftest import eventually, login_token
from tests.staffing import operator_account
from tests.test_archives import resident_id
from tests.test_search import found, marker, searched

ISOLATION_CASES = {
    "retention.retention_page": {"method": "GET", "path": "/admin/retention", "kind": "collection"},
    "retention.retention_submit": {"method": "POST", "path": "/admin/retention", "kind": "collection", "form": True,
                                   "body": {"closed_petitions": "10", "cards": "10", "archive_entries": "30", "audit_records": "30"}},
}


def _years_ago(day: date, years: int) -> date:
    return day.replace(year=day.year - years) if not (day.month == 2 and day.day == 29) else day.replace(year=day.year - years, day=28)


async def _named(client, slug: str, headers: dict, word: str) -> tuple[str, str]:
    name = f"留存测试{uuid.uuid4().hex[:6]}"
    filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
        "form": "petition", "channel": "letter", "anonymous": False,
        "answers": {"title": f"{word}食堂收费问题", "content": f"{word}学校食堂多收费用", "category": "other", "petitioner_name": name,
                    "id_number": resident_id(), "phone": f"139{random.randint(10000000, 99999999)}"}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    return (await filed.get_json())["id"], name


async def _close_on(petition_id: str, closed: date, tz: str) -> None:
    """Back-date the case: received a month before ``closed``, closed on ``closed`` (the tenant's zone)."""
    closed_at = datetime.combine(closed, time(10), zone(tz)).astimezone(UTC)
    received = closed - timedelta(days=30)
    collection = Petition.get_pymongo_collection()
    raw = await collection.find_one({"_id": ObjectId(petition_id)})
    steps = raw["steps"]
    steps[0]["at"] = closed_at - timedelta(days=30)
    steps.append({**steps[0], "at": closed_at, "action": "close", "from_state": raw["state"], "to_state": "closed", "fields": {}})
    raw.update({"steps": steps, "state": "closed", "created_at": closed_at - timedelta(days=30), "received_on": received.isoformat(),
                "received_zone": tz, "due_on": None, "overdue": False, "revision": raw["revision"] + 1})
    # A whole replace, as the platform writes a petition: the embedded store keeps a datetime given to "$set" as a string.
    await collection.replace_one({"_id": raw["_id"]}, raw)


async def _cells(tenant_id: str, periods: set[str]) -> dict:
    """The tenant's cells of these months once nothing is left to count: no event of the tenant pending (the session's
    worker may still be handling an earlier test's events) and no month marked for a recount."""
    from xinfang.analytics.models import AnalyticsDirty
    from xinfang.events import OutboxEvent

    async def settled():
        pending = await OutboxEvent.get_pymongo_collection().find_one({"tenant_id": tenant_id, "status": "pending"})
        dirty = await AnalyticsDirty.get_pymongo_collection().find_one({"tenant_id": tenant_id, "dirty": True})
        return (pending is None and dirty is None) or None

    await eventually(settled, timeout=120, message=f"analytics of {tenant_id} settled")
    rows = await AnalyticsCell.get_pymongo_collection().find({"tenant_id": tenant_id, "period": {"$in": sorted(periods)}}).to_list(None)
    return {row["_id"]: row["counts"] for row in rows}


def _backup_of(settings, tmp_path: Path, basetemp: Path) -> Path | None:
    """A copy of the data's database files (what a nightly backup of the data holds): not the key database."""
    files = [p for p in basetemp.rglob(f"{settings.mongodb_database}*") if p.is_file() and "_keys" not in p.name]
    if not files:
        return None
    target = tmp_path / "backup"
    target.mkdir()
    for path in files:
        shutil.copy2(path, target / path.name)
    return target


async def test_retention_shreds_identities_at_the_end_and_nothing_else(app, client, tenants, settings, worker, tmp_path,
                                                                       tmp_path_factory):
    pm = app.app.extensions["xinfang.pm"]
    keyring = app.app.extensions["xinfang.keyring"]
    facts.use_plugin_manager(pm)
    tenant_a, tenant_b = await Tenant.find_one({"slug": tenants.A}), await Tenant.find_one({"slug": tenants.B})
    a_id, b_id = str(tenant_a.id), str(tenant_b.id)
    zone_a, zone_b = tenant_a.settings.time_zone, tenant_b.settings.time_zone
    today_b = datetime.now(UTC).astimezone(zone(zone_b)).date()
    today_a = datetime.now(UTC).astimezone(zone(zone_a)).date()
    word = marker()

    # Four named cases: B's seven years closed (shredded), B's a day short of five years (kept), A's seven (kept),
    # and A's two years closed whose identity is still sealed with the tenant key (re-sealed, kept).
    registrar_b = await login_token(client, tenants.B, "handler")
    await operator_account(tenants.A, "retention-registrar", ["registrar"])
    registrar_a = await login_token(client, tenants.A, "retention-registrar", "long-enough-pw")
    old_b, old_b_name = await _named(client, tenants.B, registrar_b, word)
    recent_b, recent_b_name = await _named(client, tenants.B, registrar_b, word)
    old_a, _ = await _named(client, tenants.A, registrar_a, word)
    legacy_a, _ = await _named(client, tenants.A, registrar_a, word)
    old_b_closed = _years_ago(today_b, 7)
    await _close_on(old_b, old_b_closed, zone_b)
    await _close_on(recent_b, _years_ago(today_b, 5) + timedelta(days=1), zone_b)
    await _close_on(old_a, _years_ago(today_a, 7), zone_a)
    await _close_on(legacy_a, _years_ago(today_a, 2), zone_a)
    petitions = Petition.get_pymongo_collection()
    legacy_raw = await petitions.find_one({"_id": ObjectId(legacy_a)})
    legacy_identity = await keyring.open(a_id, legacy_a, legacy_raw["identity_sealed"])
    await RecordKey.get_pymongo_collection().delete_many({"record_id": legacy_a})
    await petitions.update_one({"_id": legacy_raw["_id"]}, {"$set": {"identity_sealed": await keyring.seal(a_id, legacy_a, legacy_identity)}})

    # The statistics of B's months, as the facts of the back-dated cases give them (once indexed: the repeat flags are known).
    handler_b = registrar_b
    await found(client, tenants.B, handler_b, 2, q=word)
    for pid in (old_b, recent_b):
        await facts.refresh(facts.PETITION, pid)
    fact_old_b = await AnalyticsFact.get_pymongo_collection().find_one({"_id": ObjectId(old_b)})
    assert fact_old_b["closed_day"] == old_b_closed.isoformat() and fact_old_b["open"] is False
    months = {fact_old_b["month"], fact_old_b["closed_month"]}
    cells_before = await _cells(b_id, months)
    assert any(counts for counts in cells_before.values()), cells_before

    # An export with identities opened, made earlier: it holds B's identity in clear.
    earlier = DataExport(tenant_id=b_id, with_identity=True, requested_by=str(ObjectId()), state="done", chunks=1,
                         created_at=datetime.now(UTC) - timedelta(days=1))
    await earlier.insert()
    await ExportChunk(tenant_id=b_id, export_id=str(earlier.id), n=0, data=old_b_name.encode()).insert()
    assert await DataExport.get_pymongo_collection().find_one({"_id": earlier.id}) is not None
    assert await ExportChunk.get_pymongo_collection().count_documents({"export_id": str(earlier.id)}) == 1

    sealed_old_b = (await petitions.find_one({"_id": ObjectId(old_b)}))["identity_sealed"]
    assert record_of(sealed_old_b) == old_b  # sealed under its own record key
    assert await RecordKey.get_pymongo_collection().count_documents({"record_id": old_b}) == 1
    assert (await keyring.open(b_id, old_b, sealed_old_b))["petitioner_name"] == old_b_name
    backup = _backup_of(settings, tmp_path, tmp_path_factory.getbasetemp())

    # Only tenant admins change the periods: a leader may neither read nor change them.
    await operator_account(tenants.B, "retention-leader", ["leader"])
    leader_b = await login_token(client, tenants.B, "retention-leader", "long-enough-pw")
    assert (await client.get(f"/t/{tenants.B}/admin/retention", headers=leader_b)).status_code == 403
    refused = await client.post(f"/t/{tenants.B}/admin/retention", headers=leader_b, form={"closed_petitions": "1", "action": "save"})
    assert refused.status_code == 403
    admin_b, admin_a = await login_token(client, tenants.B, "admin"), await login_token(client, tenants.A, "admin")
    # A card each tenant issued four years ago: B keeps cards 3 years (listed for appraisal, kept), A 10 (not listed).
    await operator_account(tenants.A, "retention-leader", ["leader"])
    leader_a = await login_token(client, tenants.A, "retention-leader", "long-enough-pw")
    cards = {}
    for slug, headers, today in ((tenants.B, leader_b, today_b), (tenants.A, leader_a, today_a)):
        made = await client.post(f"/t/{slug}/api/supervisions", headers=headers, json={
            "kind": "action", "type_key": "supervision_notice", "subject": {"kind": "person", "name": f"{word}留存测试对象"}})
        assert made.status_code == 201, await made.get_data(as_text=True)
        cards[slug] = (await made.get_json())["id"]
        await Supervision.get_pymongo_collection().update_one({"_id": ObjectId(cards[slug])},
                                                              {"$set": {"issued_on": _years_ago(today, 4).isoformat()}})
    form = {"closed_petitions": "5", "cards": "3", "archive_entries": "30", "audit_records": "permanent"}
    bad = await client.post(f"/t/{tenants.B}/admin/retention", headers=admin_b, form={**form, "cards": "2", "action": "save"})
    assert bad.status_code == 422 and "3 至 100 年" in await bad.get_data(as_text=True)  # a second yellow card within 2 years
    preview = await client.post(f"/t/{tenants.B}/admin/retention", headers=admin_b, form={**form, "action": "preview"})
    page = await preview.get_data(as_text=True)
    assert preview.status_code == 200 and "这是预览，尚未保存" in page and 'id="preview-closed_petitions"' in page
    # the day each period reaches back to, as a Chinese page writes a day (not 2021-12-07)
    reached = page[page.index('id="preview-closed_petitions"'):].split("</td>")[0]
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 及以前", reached) and not re.search(r"\d{4}-\d\d-\d\d", reached), reached
    assert (await petitions.find_one({"_id": ObjectId(old_b)}))["identity_destroyed_on"] is None  # a preview changes nothing

    saved = await client.post(f"/t/{tenants.B}/admin/retention", headers=admin_b, form={**form, "action": "save", "note": "按档案室意见"})
    assert saved.status_code == 303
    saved_a = await client.post(f"/t/{tenants.A}/admin/retention", headers=admin_a,
                                form={**form, "closed_petitions": "10", "cards": "10", "action": "save"})
    assert saved_a.status_code == 303
    version = await ConfigVersion.get_pymongo_collection().find_one({"tenant_id": b_id, "area": "retention"}, sort=[("number", -1)])
    assert version["content"]["years"]["closed_petitions"] == 5 and version["content"]["years"]["audit_records"] is None
    assert version["author_name"] and version["author_id"] and version["note"] == "按档案室意见"

    # The beat's sweep (in the worker) reaches both tenants today, after the cases were made.
    async def swept():
        marks = await RetentionMark.get_pymongo_collection().find({"tenant_id": {"$in": [a_id, b_id]}}).to_list(None)
        done = {m["tenant_id"] for m in marks if m["day"] in (today_a.isoformat(), today_b.isoformat()) and len(m["done"]) == 5}  # four kinds and archived records
        # A has nothing its periods reach today: it is passed by without a mark of its own (retention/sweep.py
        # tenants_maybe_due); the walk is through for every tenant once its gate is closed (saving a policy opens it).
        gate = await Tenant.get_pymongo_collection().database["sweep_days"].find_one({"_id": "retention"})
        return (b_id in done and bool(gate) and gate.get("until", 0) > datetime.now(UTC).timestamp()) or None
    await eventually(swept, timeout=60, message="the retention sweep of both tenants")

    # B's case closed seven years ago: the identity is gone; the sealed bytes stay and never open.
    shredded = await petitions.find_one({"_id": ObjectId(old_b)})
    assert shredded["identity_destroyed_on"] == today_b.isoformat() and shredded["petitioner_key"] is None
    assert shredded["identity_sealed"] == sealed_old_b
    assert await RecordKey.get_pymongo_collection().count_documents({"record_id": old_b}) == 0
    with pytest.raises(RecordKeyGone):
        await keyring.open(b_id, old_b, shredded["identity_sealed"])
    page = await (await client.get(f"/t/{tenants.B}/admin/retention", headers=admin_b)).get_data(as_text=True)
    destroyed = re.search(r"已按期限销毁身份信息的信访件：(\d+) 件", page)
    assert destroyed and int(destroyed.group(1)) >= 1 and "按档案室意见" in page
    assert re.search(r"到期待鉴定 ([1-9]\d*) 条", page)  # B's card
    staff = await (await client.get(f"/t/{tenants.B}/staff/petitions/{old_b}", headers=leader_b)).get_data(as_text=True)
    assert 'id="identity-destroyed"' in staff and old_b_name not in staff  # the leader reads identities, and this one is gone

    # B's card past its 3 years is listed for appraisal and kept; A's (10 years) is not listed.
    due = await RetentionDue.get_pymongo_collection().find({"record_id": {"$in": list(cards.values())}}).to_list(None)
    assert [(d["tenant_id"], d["kind"], d["since"]) for d in due] == [(b_id, "cards", _years_ago(today_b, 1).isoformat())]
    # (find, not count_documents: the embedded store counts 0 for any query on _id)
    assert len(await Supervision.get_pymongo_collection().find({"_id": {"$in": [ObjectId(c) for c in cards.values()]}}).to_list(None)) == 2

    # Before the date, and in the other tenant, nothing is touched; the tenant-key identity was re-sealed.
    kept = await petitions.find_one({"_id": ObjectId(recent_b)})
    assert kept["identity_destroyed_on"] is None and (await keyring.open(b_id, recent_b, kept["identity_sealed"]))["petitioner_name"] == recent_b_name
    a_old = await petitions.find_one({"_id": ObjectId(old_a)})
    assert a_old["identity_destroyed_on"] is None and await keyring.open(a_id, old_a, a_old["identity_sealed"])
    resealed = await petitions.find_one({"_id": ObjectId(legacy_a)})
    assert record_of(resealed["identity_sealed"]) == legacy_a
    assert await keyring.open(a_id, legacy_a, resealed["identity_sealed"]) == legacy_identity
    assert await reseal_legacy(keyring, 10_000) == 0  # idempotent: nothing left under a tenant key

    # The statistics of its months are unchanged, and computing the fact again changes nothing.
    assert await _cells(b_id, months) == cells_before
    assert await AnalyticsFact.get_pymongo_collection().find_one({"_id": ObjectId(old_b)}) == fact_old_b
    assert await facts.refresh(facts.PETITION, old_b) is False

    # No other copy holds it: the earlier export is gone; a new one with identities opened has B's recent case only.
    assert await DataExport.get_pymongo_collection().find_one({"_id": earlier.id}) is None
    assert await ExportChunk.get_pymongo_collection().count_documents({"export_id": str(earlier.id)}) == 0
    fresh = DataExport(tenant_id=b_id, with_identity=True, requested_by=str(ObjectId()))
    data, _ = await export_service._zip(TenantContext.of(tenant_b), keyring, fresh)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        cases = archive.read("cases.jsonl").decode()
    assert old_b_name not in cases and recent_b_name in cases
    body = await found(client, tenants.B, handler_b, 2, q=word)
    assert old_b in {item["id"] for item in body["items"]}  # the case itself stays findable by what it is about
    status, by_name = await searched(client, tenants.B, handler_b, q=old_b_name)
    assert status == 200 and by_name["total"] == 0

    # A backup of the data taken before still holds the sealed bytes, and they do not open: the key is gone.
    assert backup is not None or os.environ.get("XINFANG_TEST_MONGODB_URI"), "the embedded store's data files were not found"
    if backup is not None:  # (an external test store: its files are not on this machine)
        held = b"".join(p.read_bytes() for p in backup.iterdir())
        assert sealed_old_b.encode() in held
        assert not any("_keys" in p.name for p in backup.iterdir())
        with pytest.raises(RecordKeyGone):
            await keyring.open(b_id, old_b, sealed_old_b)


async def test_archived_records_past_their_own_period_are_listed_for_appraisal_never_deleted(app, client, tenants):
    """Issue 17: an archived record (归档) whose retention class ended by the clock's day is on the appraisal list
    (到期待鉴定) with the day it ended, once; the day before it is not; a permanent (永久) one never is, however far the
    clock goes; the other tenant's records are not listed for this one; nothing is deleted."""
    from xinfang.records.models import ArchivedRecord
    from xinfang.retention.due import ARCHIVED_RECORDS, list_archived_due
    from tests.test_records import _close, _filed

    b, a = tenants.B, tenants.A
    b_id, a_id = [str((await Tenant.find_one({"slug": s})).id) for s in (b, a)]
    leader = await login_token(client, b, "leader")
    pid = await _filed(client, b, leader, f"保管期限测试 {uuid.uuid4().hex[:6]}")
    await _close(pid, "citizen", "")
    archived = await client.post(f"/t/{b}/api/petitions/{pid}/archive-record", headers=leader)
    assert archived.status_code == 201, await archived.get_data(as_text=True)
    record = await archived.get_json()
    ends = date.fromisoformat(record["retention_ends_on"])  # 巴州's default class for cases: 30 years from the day it closed
    assert ends.year - date.fromisoformat(record["closed_on"]).year == 30
    permanent = ArchivedRecord(tenant_id=b_id, subject_kind="supervision", subject_id=str(ObjectId()), subject_label="永久保存的监督卡",
                               title="永久保存的监督卡", number=f"巴档-永久-{uuid.uuid4().hex[:6]}", year="2026", closed_on="2026-01-05",
                               archived_by=str(ObjectId()), archived_by_name="测试", retention_years=None, retention_ends_on=None,
                               snapshot_json="{}", snapshot_sha256="0" * 64)
    await permanent.insert()
    elsewhere = ArchivedRecord(tenant_id=a_id, subject_kind="supervision", subject_id=str(ObjectId()), subject_label="泗阳的监督卡",
                               title="泗阳的监督卡", number=f"泗档-{uuid.uuid4().hex[:6]}", year="2026", closed_on="2016-01-05",
                               archived_by=str(ObjectId()), archived_by_name="测试", retention_years=10, retention_ends_on="2026-01-05",
                               snapshot_json="{}", snapshot_sha256="0" * 64)
    await elsewhere.insert()
    dues = RetentionDue.get_pymongo_collection()
    ours = [record["id"], str(permanent.id), str(elsewhere.id)]

    async def listed_on(day: date) -> list[tuple]:
        after = None
        while True:  # bounded runs, resumed from the cursor until gone through (as the sweep does)
            _, _, after = await list_archived_due(b_id, day, after, 50)
            if after is None:
                break
        rows = await dues.find({"record_id": {"$in": ours}}).to_list(None)
        return sorted((r["tenant_id"], r["kind"], r["record_id"], r["since"]) for r in rows)

    assert await listed_on(ends - timedelta(days=1)) == []  # the day before its end: not yet
    assert await listed_on(ends) == [(b_id, ARCHIVED_RECORDS, record["id"], ends.isoformat())]
    again = await list_archived_due(b_id, ends + timedelta(days=1), None, 10_000)
    assert again[0] == 0  # listed once: a second day's run writes nothing new
    far = date(ends.year + 200, 1, 1)
    assert await listed_on(far) == [(b_id, ARCHIVED_RECORDS, record["id"], ends.isoformat())]  # never the permanent one, never 泗阳's here
    # Never deleted: the records are all still there.
    assert len(await ArchivedRecord.get_pymongo_collection().find({"_id": {"$in": [ObjectId(i) for i in ours]}}).to_list(None)) == 3
    # The admin's retention page counts them, in words.
    page = await (await client.get(f"/t/{b}/admin/retention?lang=zh", headers=await login_token(client, b, "admin"))).get_data(as_text=True)
    counted = re.search(r'id="archived-records-due">归档记录：过了各自的保管期限、到期待鉴定 (\d+) 条', page)
    assert counted and int(counted.group(1)) >= 1 and "永久保存的从不列入" in page
    await dues.delete_many({"record_id": {"$in": ours}})
    await ArchivedRecord.get_pymongo_collection().delete_many({"_id": {"$in": [permanent.id, elsewhere.id]}})
