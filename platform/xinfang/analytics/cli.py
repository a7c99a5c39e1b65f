"""``xinfang analytics rebuild [--tenant SLUG]``: every fact and cell counted again from the store, with a progress bar."""

from __future__ import annotations

import click


@click.group("analytics")
def analytics_command() -> None:
    """Statistics rollups: rebuild them from the store."""


@analytics_command.command("rebuild")
@click.option("--tenant", "slugs", multiple=True, help="Tenant slug (repeatable); all tenants when omitted.")
def rebuild_command(slugs: tuple[str, ...]) -> None:
    """Recompute the facts of every petition and supervision and recount every cell (same numbers as the events gave)."""
    from tqdm import tqdm

    from xinfang.cli import _settings, _with_store, tenants_named
    from xinfang.plugins import make_plugin_manager

    from .facts import use_plugin_manager
    from .service import rebuild

    settings = _settings()

    async def work():
        use_plugin_manager(make_plugin_manager())
        tenants = await tenants_named(slugs, active_only=False)
        # Deepest first, so each upper body's sums are recounted after its lower bodies'.
        tenants.sort(key=lambda t: (-len(t.ancestor_ids), t.slug))
        for tenant in tenants:
            bar = tqdm(desc=f"{tenant.slug} 重新统计 / recounting", unit="件", leave=True)
            try:
                await rebuild([str(tenant.id)], progress=bar.update)
            finally:
                bar.close()
        click.echo(f"重新统计完成 / rebuilt: {len(tenants)} tenant(s)")

    _with_store(settings, work)
