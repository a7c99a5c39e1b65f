"""Retention's daily walk passes by tenants with nothing any of their periods could reach today (issue 18;
retention/sweep.py ``tenants_maybe_due``): one read per record kind across all tenants instead of a question per kind
and a mark for every tenant.

Each kind's shared question must answer, for every tenant, what the walk's own question for that tenant answers
(the embedded store translates some combinations of conditions wrongly: analytics/alerts.py ``_end_quiet``), so the
tenants here are compared one by one with the walk's questions (due.py ``_query``, shredding.py ``candidates``,
the archived records' question).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tests import test_due_sweeps
from xinfang.archives.models import ArchiveEntry
from xinfang.audit.models import AuditRecord
from xinfang.cards.models import Supervision
from xinfang.petitions.models import Petition
from xinfang.records.models import ArchivedRecord
from xinfang.retention import policy
from xinfang.retention.due import _query
from xinfang.retention.keys import keyring_for
from xinfang.retention.models import RetentionDue, RetentionMark, RetentionPolicy
from xinfang.retention.service import today_in
from xinfang.retention.shredding import candidates
from xinfang.retention.sweep import sweep_retention, tenants_maybe_due
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.roster import roster

made_tenants = test_due_sweeps.made_tenants  # the fixtures: more tenants (removed afterwards), the day marks put back
restored_marks = test_due_sweeps.restored_marks

NOW = datetime.now(UTC).replace(microsecond=0)
COLLECTIONS = (Supervision, ArchiveEntry, AuditRecord, Petition, ArchivedRecord, RetentionDue, RetentionPolicy, RetentionMark)


def years_ago(years: int, days: int = 0) -> datetime:
    return NOW.replace(year=NOW.year - years) - timedelta(days=days)


@pytest.fixture
async def cleaned():
    made: list[str] = []
    yield made
    for model in COLLECTIONS:
        for tenant_id in made:
            key = "tenant_ids" if model is AuditRecord else "tenant_id"
            await model.get_pymongo_collection().delete_many({key: tenant_id})


async def zones_and_saved() -> tuple[list[tuple[str, str]], dict]:
    zones = [(entry.tenant_id, entry.time_zone) for entry in await roster()]  # as the sweep reads them
    saved = {row["tenant_id"]: row.get("years") async for row in RetentionPolicy.get_pymongo_collection().find({})}
    return zones, saved


async def walk_would_find(tenant_id: str, zone_name: str, saved: dict) -> bool:
    """The walk's own questions for one tenant (through its indexes): anything that could be listed or shredded."""
    today = today_in(zone_name, NOW)
    years = policy.effective_years(saved.get(tenant_id))
    for kind in ("cards", "archive_entries", "audit_records"):
        if years[kind] is not None:
            collection, query, _ = _query(tenant_id, kind, policy.cutoff(today, years[kind]), zone_name)
            if await collection.find_one(query) is not None:
                return True
    if years["closed_petitions"] is not None:
        if await candidates(tenant_id, zone_name, policy.cutoff(today, years["closed_petitions"]), limit=1).to_list(None):
            return True
    query = {"tenant_id": tenant_id, "retention_ends_on": {"$type": "string", "$lte": today.isoformat()}}
    return await ArchivedRecord.get_pymongo_collection().find_one(query) is not None


async def test_the_shared_questions_answer_each_tenant_as_the_walk_does(app, made_tenants, cleaned):
    ids = await made_tenants(14, "ret")
    cleaned.extend(ids)
    (old_card, new_card, card_kept_forever, old_entry, new_entry, old_audit, new_audit, old_sealed, old_shredded, new_sealed,
     old_unsealed, ended_record, running_record, empty) = ids
    raw = lambda model, rows: model.get_pymongo_collection().insert_many(rows)  # noqa: E731 - only the fields the questions read
    await raw(Supervision, [{"tenant_id": old_card, "issued_on": years_ago(10, 3).date().isoformat()},
                            {"tenant_id": new_card, "issued_on": years_ago(10, -3).date().isoformat()},
                            {"tenant_id": card_kept_forever, "issued_on": years_ago(40).date().isoformat()}])
    await RetentionPolicy.get_pymongo_collection().insert_one(
        {"tenant_id": card_kept_forever, "years": {**policy.effective_years(None), "cards": None}, "created_at": NOW})
    await raw(ArchiveEntry, [{"tenant_id": old_entry, "on": years_ago(30, 2).date().isoformat()},
                             {"tenant_id": new_entry, "on": years_ago(30, -2).date().isoformat()}])
    await raw(AuditRecord, [{"tenant_ids": [old_audit], "created_at": years_ago(30, 2)},
                            {"tenant_ids": [new_audit], "created_at": years_ago(30, -2)}])
    await raw(Petition, [{"tenant_id": old_sealed, "created_at": years_ago(10, 2), "identity_sealed": "sealed", "identity_destroyed_on": None},
                         {"tenant_id": old_shredded, "created_at": years_ago(10, 2), "identity_sealed": "sealed",
                          "identity_destroyed_on": "2020-01-01"},
                         {"tenant_id": new_sealed, "created_at": years_ago(10, -2), "identity_sealed": "sealed"},
                         {"tenant_id": old_unsealed, "created_at": years_ago(10, 2)}])
    await raw(ArchivedRecord, [{"tenant_id": ended_record, "retention_ends_on": (NOW - timedelta(days=2)).date().isoformat(), "number": "R-1"},
                               {"tenant_id": running_record, "retention_ends_on": (NOW + timedelta(days=2)).date().isoformat(), "number": "R-2"}])

    zones, saved = await zones_and_saved()
    found = await tenants_maybe_due(zones, saved, NOW)
    assert found & set(ids) == {old_card, old_entry, old_audit, old_sealed, ended_record}
    zone_of = dict(zones)
    for tenant_id in ids:
        assert (tenant_id in found) == await walk_would_find(tenant_id, zone_of[tenant_id], saved), tenant_id


async def test_the_walk_passes_tenants_with_nothing_due_by_and_closes_its_gate(app, settings, made_tenants, restored_marks, cleaned):
    due, *idle = await made_tenants(30, "retwalk")
    cleaned.extend([due, *idle])
    card = ObjectId()
    await Supervision.get_pymongo_collection().insert_one({"_id": card, "tenant_id": due, "issued_on": years_ago(10, 5).date().isoformat()})
    await test_due_sweeps.forget_today(NOW.date())
    await RetentionMark.get_pymongo_collection().delete_many({})

    for beat in range(40):  # the session's tenants may have records due: as many beats as the budget needs
        await sweep_retention(keyring_for(settings), NOW + timedelta(seconds=beat))
        if await Tenant.get_pymongo_collection().database["sweep_days"].find_one({"_id": "retention", "until": {"$gt": 0}}):
            break
    else:
        raise AssertionError("retention was not through for every tenant in 40 beats")
    listed = await RetentionDue.get_pymongo_collection().find({"tenant_id": due}).to_list(None)
    assert [row["record_id"] for row in listed] == [str(card)]
    assert await RetentionMark.get_pymongo_collection().find_one({"tenant_id": due}) is not None
    assert not [row async for row in RetentionMark.get_pymongo_collection().find({}) if row["tenant_id"] in idle]


async def test_without_skipping_every_tenant_is_walked(app, settings, made_tenants, restored_marks, cleaned):
    idle = await made_tenants(3, "retall")
    cleaned.extend(idle)
    await test_due_sweeps.forget_today(NOW.date())
    await RetentionMark.get_pymongo_collection().delete_many({})
    for beat in range(40):
        await sweep_retention(keyring_for(settings), NOW + timedelta(seconds=beat), skip_idle=False)
        if all([await RetentionMark.get_pymongo_collection().find_one({"tenant_id": t}) for t in idle]):
            break
    assert all([await RetentionMark.get_pymongo_collection().find_one({"tenant_id": t}) for t in idle])
