"""The search plugin's hooks: what it stores, its routes, its task, its sweep, its command, its panel."""

from __future__ import annotations

import importlib
import logging

import click

from xinfang.hookspecs import hookimpl
from xinfang.plugins import PluginInfo

from .models import DuplicateCandidate, SearchBacklog, SearchDictionary

log = logging.getLogger(__name__)
RESEND_AFTER_SECONDS = 30.0
ROUTE_MODULES = ("http", "topics_http", "repeats_http", "dictionary_http", "matters_http")


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("search", {"zh": "全文检索与判重", "en": "Search and duplicate detection"}, required=True)


@hookimpl
def xinfang_document_models():
    return [SearchBacklog, SearchDictionary, DuplicateCandidate]


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
    """A petition was written: its tenant's index is behind (and the tenant it left, when it moved)."""
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

    for tenant_id in await waiting_tenants(older_than_seconds=RESEND_AFTER_SECONDS):
        await runtime.send(DRAIN, [tenant_id], queue=runtime.settings.search_queue)


@hookimpl
async def xinfang_petition_panels(tenant, petition, principal):
    from .repeats_http import duplicates_panel

    return await duplicates_panel(tenant, petition, principal)


@hookimpl
def xinfang_cli_commands():
    return [search_command]


@click.group("search")
def search_command() -> None:
    """Full-text search indexes: rebuild them from the store."""


@search_command.command("rebuild")
@click.option("--tenant", "slugs", multiple=True, help="Tenant slug (repeatable); all active tenants when omitted.")
def rebuild_command(slugs: tuple[str, ...]) -> None:
    """Rebuild tenants' indexes, fingerprints and word counts from the store, with a progress bar."""
    from tqdm import tqdm

    from xinfang.cli import _settings, _with_store
    from xinfang.tenancy.models import Tenant

    from .indexer import rebuild

    settings = _settings()

    async def work():
        tenants = await Tenant.find({"slug": {"$in": list(slugs)}} if slugs else {"active": True}).sort("slug").to_list()
        missing = sorted(set(slugs) - {t.slug for t in tenants})
        if missing:
            raise click.UsageError(f"no such tenant: {', '.join(missing)}")
        for tenant in tenants:
            bar = tqdm(desc=f"{tenant.slug} 重建索引 / rebuilding", unit="件", leave=True)

            def progress(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()

            counts = await rebuild(settings.data_dir, str(tenant.id), progress)
            bar.close()
            same = counts["petitions"] == counts["indexed"] == counts["fingerprints"]
            click.echo(f"  {tenant.slug}: 库中 {counts['petitions']} 件 / in store, 索引 {counts['indexed']} / indexed, "
                       f"指纹 {counts['fingerprints']} / fingerprints {'✓' if same else '✗ MISMATCH'}")
            if not same:
                raise SystemExit(1)

    _with_store(settings, work)
