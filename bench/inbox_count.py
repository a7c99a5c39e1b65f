"""Issue 18's lookups that must not grow with the number of tenants: the staff inbox's count and the host lookup,
with 3 tenants (the baseline) and then with many tenants and their petitions, in the same run.

What it does, in one process, on a fresh temporary data directory:

1. starts the embedded store (nx-27017) on a free port and opens it as the platform does (``Store.open``:
   every model's indexes);
2. **3 tenants** (the baseline): 3 ``Tenant`` rows (each with a host name of its own), ``--small`` petitions
   spread over two of them, the third with none; times, median of ``--runs`` interleaved:
   * the empty inbox's count the way it was (Beanie ``find(...).count()``, i.e. ``count_documents``) and the way
     it is now (``ScopedRepository.count``: the ``count`` command, store/scoped.py ``count_matching``), and the
     inbox's page (the indexed ``find``, sort, limit) for comparison;
   * the count of a tenant that has petitions (``--own``), both ways;
   * a host lookup the way it was (every active tenant loaded into a host map) and the way it is now (one
     indexed ``find_one`` on ``hosts``);
3. **many tenants**: adds tenants up to ``--tenants`` (2,156) and petitions up to ``--petitions`` (1,000) in
   tenants other than the empty one, and times the same again;
4. 50 requests at once resolving one host on a cold ``TenantDirectory``: how many lookups reach the store.

    .venv/bin/python bench/inbox_count.py                     # 2,156 tenants, 1,000 petitions elsewhere
    .venv/bin/python bench/inbox_count.py --petitions 10000   # more rows beside the empty inbox

Ratios are against the 3-tenant run of the same row ("x base"). nx-27017 is a Python server over SQLite sharing
the 2 cores with this process: compare ratios, not milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

from xinfang.petitions.models import Petition
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import TenantDirectory, _slug_of_host

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_store  # noqa: E402

DATABASE = "xinfang_bench"


def say(text: str = "") -> None:
    print(text, flush=True)


def tenant_doc(i: int) -> dict:
    return {"_id": ObjectId(), "slug": f"bench-{i:04d}", "name": {"zh": f"测试单位{i}", "en": f"Bench body {i}"},
            "level": "county", "kind": "commission", "region_code": "320000", "parent_id": None, "ancestor_ids": [],
            "hosts": [f"xf{i}.bench.example.cn"], "active": True, "settings": {}}


def petition_doc(tenant_id: str, n: int, start: datetime) -> dict:
    """The fields the inbox filters, sorts and counts on, and a body of a petition's usual size."""
    return {"_id": ObjectId(), "tenant_id": tenant_id, "origin_tenant_id": tenant_id, "number": f"XF-{n:07d}",
            "state": ("received", "assigned", "closed")[n % 3], "channel": "web", "overdue": n % 7 == 0,
            "due_on": (start + timedelta(days=n % 60)).date().isoformat(), "created_at": start + timedelta(minutes=n),
            "title": "反映某校违规收取补课费的问题", "content": "反映情况：" + "某乡镇中心小学违规收费。" * 60,
            "subject_name": f"泗阳县第{n % 50}中学"}


async def add_petitions(tenant_ids: list[str], count: int, first: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [petition_doc(tenant_ids[i % len(tenant_ids)], first + i, start) for i in range(count)]
    for at in range(0, len(docs), 2_000):
        await Petition.get_pymongo_collection().insert_many(docs[at:at + 2_000])


async def old_host_map() -> dict[str, str]:
    """The host lookup before issue 18 (tenancy/service.py ``_host_map``): every active tenant, filtered here."""
    mapping = {}
    async for tenant in Tenant.find({"active": True}):
        for host in tenant.hosts:
            mapping[host.lower()] = tenant.slug
    return mapping


async def timed(fn, runs: int) -> float:
    """Median seconds of ``runs`` calls (one warm-up first)."""
    await fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(empty: str, busy: str, host: str, runs: int) -> dict:
    empty_scope, busy_scope = TenantScope(empty), TenantScope(busy)
    raw = Petition.get_pymongo_collection()

    async def page():
        return await raw.find({"tenant_id": {"$eq": empty}}).sort("created_at", -1).limit(20).to_list()

    rows = {
        "empty inbox: count as it was (count_documents)": lambda: Petition.find({"tenant_id": {"$eq": empty}}).count(),
        "empty inbox: count now (count command)": lambda: empty_scope.repo(Petition).count({}),
        "empty inbox: its page (indexed find, limit 20)": page,
        "busy inbox: count as it was": lambda: Petition.find({"tenant_id": {"$eq": busy}}).count(),
        "busy inbox: count now": lambda: busy_scope.repo(Petition).count({}),
        # The inbox's subject filter (被反映人): the whole name as it was, any part of it now (petitions/service.inbox).
        "busy inbox: subject, whole name (count + page)": lambda: subject_filtered(busy_scope, "泗阳县第7中学"),
        "busy inbox: subject, any part (count + page)": lambda: subject_filtered(busy_scope, {"$regex": "第7中"}),
        "host lookup as it was (all tenants)": lambda: old_host_map(),
        "host lookup now (one indexed read)": lambda: _slug_of_host(host),
    }
    results = {name: [] for name in rows}
    for _ in range(runs):  # interleaved: a slow moment of the machine falls on every row alike
        for name, fn in rows.items():
            results[name].append(await timed(fn, 1))
    checks = (await empty_scope.repo(Petition).count({}), await busy_scope.repo(Petition).count({}),
              await Petition.find({"tenant_id": {"$eq": busy}}).count(), await _slug_of_host(host),
              await subject_filtered(busy_scope, "泗阳县第7中学"), await subject_filtered(busy_scope, {"$regex": "第7中"}))
    return {name: statistics.median(times) for name, times in results.items()} | {"_checks": checks}


async def subject_filtered(scope: TenantScope, subject) -> int:
    """The inbox's count and its first page under a subject filter (the page read raw: this bench's rows are not
    whole petitions, and parsing costs the same either way)."""
    total = await scope.repo(Petition).count({"subject_name": subject})
    await Petition.get_pymongo_collection().find({"tenant_id": {"$eq": scope.tenant_id}, "subject_name": subject}).sort(
        "created_at", -1).limit(20).to_list()
    return total


async def single_flight(host: str, at_once: int) -> int:
    directory = TenantDirectory()
    await asyncio.gather(*[directory.slug_for_host(host) for _ in range(at_once)])
    return directory.loads


async def run(args) -> dict:
    async with fresh_store("xinfang-bench-inbox-", DATABASE):
        tenants = [tenant_doc(i) for i in range(args.tenants)]
        await Tenant.get_pymongo_collection().insert_many(tenants[:3])
        ids = [str(t["_id"]) for t in tenants]
        empty, busy, host = ids[2], ids[0], tenants[1]["hosts"][0]
        await add_petitions(ids[:2], args.small, 0)
        await add_petitions([busy], args.own, args.small)
        say(f"  3 tenants, {args.small + args.own} petitions (none in the empty tenant); load average {os.getloadavg()[0]:.1f}")
        base = await measure(empty, busy, host, args.runs)
        if tenants[3:]:
            await Tenant.get_pymongo_collection().insert_many(tenants[3:])
        others = ids[3:] or ids[:2]
        await add_petitions(others, max(0, args.petitions - args.small - args.own), args.small + args.own)
        total = await Petition.get_pymongo_collection().estimated_document_count()
        say(f"  {args.tenants:,} tenants, {total:,} petitions (none in the empty tenant); load average {os.getloadavg()[0]:.1f}")
        many = await measure(empty, busy, host, args.runs)
        loads = await single_flight(host, 50)
        return {"base": base, "many": many, "loads": loads, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=2_156)
    parser.add_argument("--petitions", type=int, default=1_000, help="petitions in all at the second step (none in the empty tenant)")
    parser.add_argument("--small", type=int, default=30, help="petitions of the 3-tenant baseline")
    parser.add_argument("--own", type=int, default=100, help="petitions of the busy tenant")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    say(f"xinfang inbox count and host lookup bench - {datetime.now().isoformat(timespec='seconds')}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    r = asyncio.run(run(args))
    base, many = r["base"], r["many"]
    if base["_checks"] != many["_checks"] or base["_checks"][0] != 0 or base["_checks"][1] != base["_checks"][2] \
            or base["_checks"][4] != base["_checks"][5]:  # the subject's part finds exactly what its whole name does
        raise SystemExit(f"counts differ: {base['_checks']} vs {many['_checks']}")
    say("\n=== summary ===")
    say(f"  {'':50} {'3 tenants ms':>12} {f'{args.tenants:,} tenants ms':>16} {'x base':>7}")
    for name in (k for k in base if not k.startswith("_")):
        say(f"  {name:50} {base[name] * 1000:>12.2f} {many[name] * 1000:>16.2f} {many[name] / base[name]:>7.2f}")
    was, now = many["empty inbox: count as it was (count_documents)"], many["empty inbox: count now (count command)"]
    say(f"  empty inbox beside {r['total']:,} petitions: count now / as it was = {now / was:.3f}")
    whole, part = base["busy inbox: subject, whole name (count + page)"], base["busy inbox: subject, any part (count + page)"]
    say(f"  subject filter in a tenant of {args.own:,} petitions: any part / whole name = {part / whole:.2f}")
    say(f"  50 requests at once resolving one host on a cold directory: {r['loads']} lookup(s) reached the store")
    say(f"  load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
