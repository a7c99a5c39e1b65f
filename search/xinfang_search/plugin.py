"""The search plugin's hooks: what it stores, its routes, its task, its sweep, its command, its panel."""

from __future__ import annotations

import importlib
import logging

import click

from xinfang.hookspecs import hookimpl
from xinfang.plugins import PluginInfo

from .models import DuplicateCandidate, SearchBacklog, SearchDictionary, SearchItemBacklog

log = logging.getLogger(__name__)
RESEND_AFTER_SECONDS = 30.0
ITEM_EVENTS = {"document.written": "document", "record.archived": "record"}  # event -> what items.py indexes
ROUTE_MODULES = ("http", "topics_http", "repeats_http", "dictionary_http", "matters_http", "repeat_existence")


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("search", {"zh": "全文检索与判重", "en": "Search and duplicate detection"}, required=True)


@hookimpl
def xinfang_configure(settings):
    from .postings import configure_caches

    configure_caches(settings.search_term_cache_mb)


@hookimpl
def xinfang_document_models():
    return [SearchBacklog, SearchDictionary, DuplicateCandidate, SearchItemBacklog]


@hookimpl
def xinfang_blueprints():
    from .admin import dictionary_admin_bp
    from .blueprints import platform_search_bp, search_api_bp, search_pages_bp

    for module in ROUTE_MODULES:  # importing a route module puts its routes on the blueprints
        importlib.import_module(f".{module}", __package__)

    return [search_api_bp, search_pages_bp, platform_search_bp, dictionary_admin_bp]


@hookimpl
def xinfang_celery_tasks(celery_app, runtime):
    from . import tasks

    tasks.register(celery_app, runtime)


async def _send_drain(tenant_id: str) -> None:
    from xinfang.worker import current_runtime

    from .tasks import DRAIN

    runtime = current_runtime()
    if runtime is not None:
        await runtime.send(DRAIN, [tenant_id], queue=runtime.settings.search_queue)


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A petition was written: its tenant's index is behind (and the tenant it left, when it moved). An official
    document written, issued or received, or a case archived: the tenant's sibling index (items.py) is behind."""
    if event.name in ITEM_EVENTS and event.subject_id and event.tenant_id is not None:
        from .items import do_queue_item

        await do_queue_item(event.tenant_id, ITEM_EVENTS[event.name], event.subject_id)
        await _send_drain(event.tenant_id)
        return
    if not event.name.startswith("petition.") or not event.subject_id or event.tenant_id is None:
        return
    from .indexer import do_queue_for_indexing

    affected = [event.tenant_id]
    if event.name == "petition.moved" and event.data.get("from_tenant"):
        affected.append(event.data["from_tenant"])
    for tenant_id in affected:
        await do_queue_for_indexing(tenant_id, event.subject_id)
        await _send_drain(tenant_id)


@hookimpl
async def xinfang_sweep(now, runtime):
    """A drain message lost with a killed worker is sent again for every tenant whose backlog still waits."""
    from .indexer import waiting_tenants
    from .tasks import DRAIN

    from .items import waiting_item_tenants

    behind = set(await waiting_tenants(older_than_seconds=RESEND_AFTER_SECONDS)) | set(await waiting_item_tenants(RESEND_AFTER_SECONDS))
    for tenant_id in sorted(behind):
        await runtime.send(DRAIN, [tenant_id], queue=runtime.settings.search_queue)


@hookimpl
async def xinfang_metrics_readings(settings):
    """The index backlog (petitions written but not yet indexed) and how long its oldest has waited, for /metrics."""
    from .indexer import backlog_readings

    return await backlog_readings()


@hookimpl
async def xinfang_rising_words(tenant_id, end, days):
    """Rising terms of the window (topics.py: a Poisson burst against the windows before), for analytics' early warning."""
    from xinfang.settings import Settings

    from . import topics
    from .blueprints import data_dir

    try:
        where = data_dir()
    except RuntimeError:  # outside a request (the beat's sweep): the process's settings
        where = Settings.from_env().data_dir
    found = await topics.frequent_words(where, tenant_id, days=days, end=end)
    return [{key: row[key] for key in ("term", "count", "previous_mean", "windows", "surprise")} for row in found.get("rising", [])]


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    from .repeats_http import duplicates_panel

    return await duplicates_panel(tenant, petition, principal)


@hookimpl
async def xinfang_petition_flags(tenant_id, petition_id):
    from .analytics_flags import petition_flags

    return await petition_flags(tenant_id, petition_id)


@hookimpl
async def xinfang_dashboard_panels(tenant, principal):
    from .dashboard_panel import topics_panel

    return await topics_panel(tenant, principal)


@hookimpl
def xinfang_cli_commands():
    return [search_command]


@click.group("search")
def search_command() -> None:
    """Full-text search indexes: rebuild them from the store."""


@search_command.command("recheck-repeats")
@click.option("--tenant", "slugs", multiple=True, help="Tenant slug (repeatable); all active tenants when omitted.")
def recheck_repeats_command(slugs: tuple[str, ...]) -> None:
    """Check every petition for likely repeats and matters again (those indexed before these rules), with a progress bar."""
    from xinfang.cli import _settings, _with_store, tenants_named

    from .indexer import recheck_repeats

    settings = _settings()

    async def work():
        for tenant in await tenants_named(slugs, active_only=True):
            bar = _progress_bar(f"{tenant.slug} 重新判重 / rechecking")
            counts = await recheck_repeats(settings.data_dir, str(tenant.id), bar.update_to)
            bar.close()
            click.echo(f"  {tenant.slug}: {counts['petitions']} 件 / petitions, 新增关联 {counts['links_added']} / links added, "
                       f"属集体访事项 {counts['in_collective_matters']} / in collective matters")

    _with_store(settings, work)


def _progress_bar(description: str):
    """A tqdm bar with ``update_to(done, total)``, the progress callback the rebuild and recheck take."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="件", leave=True)

    def update_to(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    bar.update_to = update_to
    return bar


@search_command.command("rebuild")
@click.option("--tenant", "slugs", multiple=True, help="Tenant slug (repeatable); all active tenants when omitted.")
def rebuild_command(slugs: tuple[str, ...]) -> None:
    """Rebuild tenants' indexes, fingerprints and word counts from the store, with a progress bar."""
    from xinfang.cli import _settings, _with_store, tenants_named

    from .indexer import rebuild
    from .items import rebuild_items

    settings = _settings()

    async def work():
        for tenant in await tenants_named(slugs, active_only=True):
            bar = _progress_bar(f"{tenant.slug} 重建索引 / rebuilding")
            counts = await rebuild(settings.data_dir, str(tenant.id), bar.update_to)
            bar.close()
            same = counts["petitions"] == counts["indexed"] == counts["fingerprints"]
            click.echo(f"  {tenant.slug}: 库中 {counts['petitions']} 件 / in store, 索引 {counts['indexed']} / indexed, "
                       f"指纹 {counts['fingerprints']} / fingerprints {'✓' if same else '✗ MISMATCH'}")
            if not same:
                raise SystemExit(1)
            items = await rebuild_items(settings.data_dir, str(tenant.id))
            click.echo(f"  {tenant.slug}: 公文 {items['documents']} 份 / official documents, 归档记录 {items['records']} 份 / archived records indexed")

    _with_store(settings, work)
