"""Issue 18, lookups that must not grow with the number of tenants: the configuration caches and the open search
indexes are bounded (least recently used out first, entries expire), a host or slug is resolved with one indexed
read shared by every request asking at once, static files never reach the store, and the inbox counts through
the index (its store semantics are pinned in test_store_contract.py, its speed in bench/inbox_count.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import pytest

from xinfang.settings import Settings
from xinfang.store import cache
from xinfang.store.cache import LruTtl, TtlCache, configure_caches
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.conftest import login_token


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def restore_limits():
    saved = dataclasses.replace(cache.limits)
    yield cache.limits
    for field in dataclasses.fields(saved):
        setattr(cache.limits, field.name, getattr(saved, field.name))


# -- LruTtl, TtlCache ---------------------------------------------------------------------------------


def test_past_its_bound_the_least_recently_used_entry_goes_and_only_it():
    evicted = []
    entries = LruTtl(60, 3, on_evict=lambda k, v: evicted.append(k))
    for key in "abc":
        entries.set(key, key.upper())
    assert entries.get("a") == "A"  # a is now the most recently used
    entries.set("d", "D")
    assert evicted == ["b"] and len(entries) == 3
    assert [entries.get(k) for k in "acd"] == ["A", "C", "D"]


def test_an_entry_past_its_lifetime_is_gone_and_the_expired_are_purged_without_being_asked_for():
    clock, evicted = Clock(), []
    entries = LruTtl(10, 100, on_evict=lambda k, v: evicted.append(k), clock=clock)
    for key in "abc":
        entries.set(key, 1)
    clock.now += 5
    entries.set("d", 1)
    assert entries.get("a") == 1
    clock.now += 6  # a, b, c are 11 s old; d is 6 s old
    assert "a" not in entries and entries.get("a") is None
    entries.set("e", 1)  # a write more than a lifetime after the last purge drops every expired entry
    assert sorted(evicted) == ["a", "b", "c"] and len(entries) == 2


def test_the_bound_follows_the_setting(restore_limits):
    configure_caches(Settings(config_cache_entries=2, searchers_per_thread=3, searcher_idle_seconds=7))
    assert (restore_limits.config_entries, restore_limits.searchers_per_thread, restore_limits.searcher_idle_seconds) == (2, 3, 7)
    entries = LruTtl(60)  # no bound of its own: the configured one
    for key in "abc":
        entries.set(key, 1)
    assert len(entries) == 2 and "a" not in entries


def test_the_bounds_are_settings_from_the_environment():
    settings = Settings.from_env({"XINFANG_CONFIG_CACHE_ENTRIES": "123", "XINFANG_SEARCHERS_PER_THREAD": "4",
                                  "XINFANG_SEARCHER_IDLE_SECONDS": "2.5"})
    assert (settings.config_cache_entries, settings.searchers_per_thread, settings.searcher_idle_seconds) == (123, 4, 2.5)


async def test_many_misses_of_one_key_at_once_share_one_load():
    ttl_cache, release = TtlCache(10, 100), asyncio.Event()

    async def load():
        await release.wait()
        return "value"

    waiting = [asyncio.create_task(ttl_cache.get("key", load)) for _ in range(25)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*waiting) == ["value"] * 25
    assert ttl_cache.loads == 1
    assert await ttl_cache.get("key", load) == "value" and ttl_cache.loads == 1


async def test_a_failed_load_fails_every_waiter_and_is_not_kept():
    ttl_cache, calls = TtlCache(10, 100), []

    async def failing():
        calls.append(1)
        await asyncio.sleep(0.02)
        raise TimeoutError("store away")

    results = await asyncio.gather(*[ttl_cache.get("k", failing) for _ in range(5)], return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results) and len(calls) == 1

    async def ok():
        return 7

    assert await ttl_cache.get("k", ok) == 7 and ttl_cache.loads == 2


async def test_a_drop_during_a_load_keeps_the_read_value_out_of_the_cache():
    ttl_cache, release = TtlCache(10, 100), asyncio.Event()

    async def old():
        await release.wait()
        return "old"

    first = asyncio.create_task(ttl_cache.get("k", old))
    await asyncio.sleep(0.01)
    ttl_cache.drop("k")  # the value changed while it was being read
    release.set()
    assert await first == "old"

    async def new():
        return "new"

    assert await ttl_cache.get("k", new) == "new"


async def test_a_caller_that_gives_up_does_not_cancel_the_others_load():
    ttl_cache, release = TtlCache(10, 100), asyncio.Event()

    async def load():
        await release.wait()
        return 1

    leader = asyncio.create_task(ttl_cache.get("k", load))
    await asyncio.sleep(0.01)
    follower = asyncio.create_task(ttl_cache.get("k", load))
    await asyncio.sleep(0.01)
    leader.cancel()
    release.set()
    assert await follower == 1 and ttl_cache.loads == 1


# -- open search indexes ------------------------------------------------------------------------------


def _item_index(root: Path, tenant_id: str, word: str):
    from xinfang_search.items import ItemIndexDir

    ix = ItemIndexDir(root, tenant_id).new_generation(switch=True)
    with ix.writer() as writer:
        writer.add_document(id=f"{tenant_id}-1", tenant_id=tenant_id, item_kind="document", number="1", title=word,
                            subtitle="", text=word, ngram=word)


def _cache(root: Path):
    from xinfang_search.items import ItemIndexDir
    from xinfang_search.searchers import SearcherCache

    return SearcherCache(ItemIndexDir)


def test_searchers_past_the_bound_are_closed_but_not_under_a_search_that_holds_them(tmp_path, restore_limits):
    restore_limits.searchers_per_thread = 2
    tenants = [f"{i:024x}" for i in range(1, 5)]
    for i, tenant in enumerate(tenants):
        _item_index(tmp_path, tenant, f"词语{i}")
    searchers = _cache(tmp_path)
    with searchers.holding():  # one search over four tenants, as a body and those below it
        opened = [searchers.get(tmp_path, t) for t in tenants]
        assert searchers.open_count() == 2
        # the first two were evicted by the last two, yet the search still reads them
        assert [s.doc_count() for s in opened] == [1, 1, 1, 1]
        assert opened[0].stored_fields(0)["title"] == "词语0"
    assert searchers.open_count() == 2
    with pytest.raises(Exception):  # once the search is over, the evicted ones are closed
        opened[0].stored_fields(0)
    assert opened[3].stored_fields(0)["title"] == "词语3"
    assert searchers.get(tmp_path, tenants[3]) is opened[3]  # still open, reused


def test_an_idle_searcher_is_closed_at_the_threads_next_search(tmp_path, restore_limits):
    import time

    restore_limits.searcher_idle_seconds = 0.2
    a, b = f"{1:024x}", f"{2:024x}"
    _item_index(tmp_path, a, "甲")
    _item_index(tmp_path, b, "乙")
    searchers = _cache(tmp_path)
    first = searchers.get(tmp_path, a)
    assert searchers.get(tmp_path, a) is first  # used again in time: the same one
    time.sleep(0.3)
    searchers.get(tmp_path, b)  # a has been idle past its time: closed now
    assert searchers.open_count() == 1
    with pytest.raises(Exception):
        first.stored_fields(0)
    assert searchers.get(tmp_path, a) is not first


def test_a_new_generation_replaces_the_open_searcher_and_the_old_one_closes_after_the_search(tmp_path, restore_limits):
    tenant = f"{9:024x}"
    _item_index(tmp_path, tenant, "旧")
    searchers = _cache(tmp_path)
    with searchers.holding():
        old = searchers.get(tmp_path, tenant)
        _item_index(tmp_path, tenant, "新")  # a rebuild switched CURRENT
        new = searchers.get(tmp_path, tenant)
        assert new is not old and old.stored_fields(0)["title"] == "旧" and new.stored_fields(0)["title"] == "新"
    with pytest.raises(Exception):
        old.stored_fields(0)
    shutil.rmtree(tmp_path / "search-items")


def test_both_indexes_use_the_one_searcher_cache():
    from xinfang_search import items, querying
    from xinfang_search.searchers import SearcherCache

    assert isinstance(items._searchers, SearcherCache) and isinstance(querying._searchers, SearcherCache)
    assert not hasattr(items, "_searcher") and not hasattr(querying, "_SearcherCache")


# -- the tenant directory -----------------------------------------------------------------------------


async def _gather_gets(client, path: str, host: str, n: int):
    return await asyncio.gather(*[client.get(path, headers={"Host": host}) for _ in range(n)])


async def test_a_host_is_resolved_with_one_lookup_for_many_requests_at_once(app, client, tenants):
    directory = app.app.extensions["xinfang.directory"]
    mapped = (await Tenant.find_one({"slug": tenants.A})).hosts[0]
    # A mapped host: one lookup of the host, then one of the slug it maps to; an unmapped host: one lookup.
    for host, path, status, slug, loads in ((f"{mapped}:8000", "/api/tenant", 200, tenants.A, 2),
                                            ("nobody-maps-this.example", "/api/tenant", 404, None, 1)):
        directory._cache.clear()
        before = directory.loads
        answers = await _gather_gets(client, path, host, 20)
        assert {a.status_code for a in answers} == {status}
        if slug:
            assert {(await a.get_json())["slug"] for a in answers} == {slug}
        assert directory.loads - before == loads, (host, directory.loads - before)
        await _gather_gets(client, path, host, 5)  # within the lifetime: no lookup at all
        assert directory.loads - before == loads


async def test_a_lookup_reads_one_tenant_not_all_of_them(app, client, tenants):
    """The host lookup asks for the one tenant owning the host: it does not grow with the tenants (bench/inbox_count.py
    measures it beside 2,000 tenants)."""
    from xinfang.tenancy.service import _slug_of_host

    mapped = (await Tenant.find_one({"slug": tenants.A})).hosts[0]
    assert await _slug_of_host(mapped) == tenants.A
    assert await _slug_of_host("nobody-maps-this.example") is None
    directory = app.app.extensions["xinfang.directory"]
    before = directory.loads
    assert await directory.slug_for_host("x" * 300 + ".example") is None and directory.loads == before  # longer than any DNS name


async def test_static_files_and_probes_never_look_the_host_up(app, client, tenants):
    directory = app.app.extensions["xinfang.directory"]
    static = sorted(p.name for p in (Path(app.app.root_path) / "static").iterdir() if p.suffix == ".css")[0]
    directory._cache.clear()
    before = directory.loads
    for host in ("siyang-edu.localhost", "someone-elses.example", "127.0.0.1:9"):
        response = await client.get(f"/static/{static}", headers={"Host": host})
        assert response.status_code == 200 and "text/css" in response.headers["Content-Type"]
        assert (await client.get("/livez", headers={"Host": host})).status_code == 200
    assert directory.loads == before


def test_static_files_are_served_with_no_store_at_all(settings, tmp_path):
    """An app whose store cannot be reached (nothing listens there; the store is never opened): its static files
    are served all the same, on any host. (The session's other settings, so the process-wide ones stay as they are.)"""
    from xinfang.app import create_app

    storeless = create_app(dataclasses.replace(settings, mongodb_uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100"))
    static = sorted(p.name for p in (Path(storeless.root_path) / "static").iterdir() if p.suffix == ".js")[0]

    async def fetch():
        test_client = storeless.test_client()
        return [await test_client.get(f"/static/{static}", headers={"Host": host}) for host in ("mapped.example", "localhost")]

    answers = asyncio.run(fetch())
    assert [a.status_code for a in answers] == [200, 200]
    assert storeless.extensions["xinfang.directory"].loads == 0


# -- the inbox's count (isolation: another tenant's petitions are never counted) -----------------------


async def test_the_inbox_total_counts_this_tenants_petitions_only(app, client, tenants):
    from xinfang.petitions.models import Petition

    for slug, username in ((tenants.A, "registrar"), (tenants.B, "handler")):
        headers = await login_token(client, slug, username)
        scope = TenantScope((await Tenant.find_one({"slug": slug})).id)
        own = len([p async for p in scope.repo(Petition).find({})])
        inbox = await (await client.get(f"/t/{slug}/api/petitions", query_string={"page_size": 1}, headers=headers)).get_json()
        assert inbox["total"] == own
        # the other tenant's staff on this tenant's inbox: nothing of it
        other = tenants.B if slug == tenants.A else tenants.A
        refused = await client.get(f"/t/{other}/api/petitions", headers=headers)
        assert refused.status_code in (401, 403, 404)
