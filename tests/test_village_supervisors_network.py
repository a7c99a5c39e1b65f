"""The supervisor network's statistics (监督员网络) at a few hundred bodies: a bounded number of store queries
(``$in`` over the bodies' ids, in chunks), not three finds per body. A prefecture made here (not 巴州: the other tests'
hierarchy stays as it is) with 10 townships of 29 villages each (300 bodies below it), supervisors in some, relays and
follow-ups spread over them. The store calls are counted by wrapping pymongo's own collection methods (the calls still
go to the real store)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from xinfang.auth.models import Role, StaffAccount
from xinfang.store.documents import utcnow
from xinfang.supervisors import network
from xinfang.supervisors.models import ConsentMethod, FollowUp, FollowUpKind, Relay
from xinfang.tenancy.models import LocalizedName, Tenant, TenantLevel

TOWNSHIPS, VILLAGES_EACH = 10, 29


async def _network(tag: str) -> tuple[Tenant, list[Tenant]]:
    root = Tenant(slug=f"net-{tag}", name=LocalizedName(zh=f"网络测试州{tag}", en=f"Network test {tag}"), level=TenantLevel.PREFECTURE,
                  region_code="652800")
    await root.insert()
    below: list[Tenant] = []
    for t in range(TOWNSHIPS):
        town = Tenant(id=ObjectId(), slug=f"net-{tag}-t{t:02d}", name=LocalizedName(zh=f"测试镇{t}", en=f"Town {t}"), level=TenantLevel.TOWNSHIP,
                      region_code=f"652801{t:03d}", parent_id=str(root.id), ancestor_ids=[str(root.id)])
        below.append(town)
        for v in range(VILLAGES_EACH):
            below.append(Tenant(id=ObjectId(), slug=f"net-{tag}-t{t:02d}-v{v:02d}", name=LocalizedName(zh=f"测试村{t}-{v}", en=f"Village {t}-{v}"),
                                level=TenantLevel.VILLAGE, region_code=f"652801{t:03d}{v:03d}", parent_id=str(town.id),
                                ancestor_ids=[str(root.id), str(town.id)]))
    await Tenant.insert_many(below)
    return root, below


async def _activity(below: list[Tenant], rng: random.Random) -> dict[str, dict[str, int]]:
    """Supervisors in every third village, relays and follow-ups this year; what each body's own counts must be."""
    expected = {str(b.id): {m: 0 for m in network.MEASURES} for b in below}
    now = utcnow()
    accounts, relays, follow_ups = [], [], []
    for body in below[1::3]:
        accounts.append(StaffAccount(id=ObjectId(), tenant_id=str(body.id), username=f"sv-{body.slug}", display_name="监督员",
                                     roles=[Role.VILLAGE_SUPERVISOR], password_hash="not-a-login"))
        expected[str(body.id)]["supervisors"] += 1
        for n in range(rng.randrange(0, 4)):
            pid = ObjectId()
            relays.append(Relay(id=pid, tenant_id=str(body.id), petition_id=str(pid), supervisor_id=str(accounts[-1].id),
                                supervisor_name="监督员", number=f"N{n}", title="测试", consent_method=ConsentMethod.IN_PERSON,
                                consent_statement="同意", relayed_at=now - timedelta(minutes=n)))
            expected[str(body.id)]["relays_year"] += 1
            expected[str(body.id)]["relays_month"] += 1
            if n % 2 == 0:
                follow_ups.append(FollowUp(id=ObjectId(), tenant_id=str(body.id), petition_id=str(pid), supervisor_id=str(accounts[-1].id),
                                           supervisor_name="监督员", kind=FollowUpKind.VISIT, happened_on=now.date().isoformat(), note="回访"))
                expected[str(body.id)]["follow_ups_year"] += 1
    await StaffAccount.insert_many(accounts)
    await Relay.insert_many(relays)
    await FollowUp.insert_many(follow_ups)
    return expected


class Calls:
    """Counts the store calls pymongo makes (find, find_one, count_documents, aggregate), passing each one on."""

    def __init__(self, monkeypatch):
        self.count = 0
        for name in ("find", "find_one", "count_documents", "aggregate"):
            original = getattr(AsyncCollection, name)
            monkeypatch.setattr(AsyncCollection, name, self._counting(original))

    def _counting(self, original):
        calls = self

        def wrapper(*args, **kwargs):
            calls.count += 1
            return original(*args, **kwargs)
        return wrapper


async def test_network_statistics_of_300_bodies_take_a_bounded_number_of_queries(app, monkeypatch):
    rng = random.Random(15)
    root, below = await _network(uuid.uuid4().hex[:6])
    expected = await _activity(below, rng)
    calls = Calls(monkeypatch)
    started = time.perf_counter()
    stats = await network.network_statistics(root)
    elapsed = time.perf_counter() - started
    print(f"\nsupervisor network of {len(below)} bodies: {calls.count} store calls, {elapsed * 1000:.0f} ms")
    # Every body below, each with its own counts; a township's total holds its villages'.
    assert len(stats["rows"]) == len(below) == TOWNSHIPS * (VILLAGES_EACH + 1)
    by_id = {r["id"]: r for r in stats["rows"]}
    assert all(by_id[key]["own"] == counts for key, counts in expected.items())
    town = below[0]
    villages = [b for b in below if b.parent_id == str(town.id)]
    assert len(villages) == VILLAGES_EACH and {by_id[str(v.id)]["level"] for v in villages} == {"village"}
    assert by_id[str(town.id)]["total"]["relays_year"] == sum(expected[k]["relays_year"] for k in [str(town.id)] + [str(v.id) for v in villages])
    assert stats["total"]["supervisors"] == len(below[1::3])
    # The bound: the tenants, then a few chunked $in finds per collection, whatever the number of bodies.
    assert calls.count <= 12, calls.count
