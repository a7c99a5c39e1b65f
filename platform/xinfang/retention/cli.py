"""``xinfang retention reseal``: re-seal every identity still under a tenant key with its petition's record key;
``xinfang retention sweep``: run the retention sweep now (the beat runs it on its own)."""

from __future__ import annotations

import click


@click.group("retention")
def retention_command() -> None:
    """Retention and crypto-shredding of petitioners' identities."""


@retention_command.command("reseal")
def reseal_command() -> None:
    """Re-seal older identities (tenant key) under per-petition record keys, all of them; safe to run again."""
    from xinfang.cli import _settings, _with_store

    from .migrate import reseal_legacy
    from .keys import keyring_for

    settings = _settings()

    async def work():
        keyring, total = keyring_for(settings), 0
        while done := await reseal_legacy(keyring, 500):
            total += done
        click.echo(f"已重新加密 / re-sealed: {total}")

    _with_store(settings, work)


@retention_command.command("sweep")
def sweep_command() -> None:
    """One retention sweep now (bounded like the beat's; run again to go on)."""
    from xinfang.cli import _settings, _with_store

    from ..store.documents import utcnow
    from .keys import keyring_for
    from .sweep import sweep_retention

    settings = _settings()

    async def work():
        stats = await sweep_retention(keyring_for(settings), utcnow())
        click.echo(" ".join(f"{k}={v}" for k, v in sorted(stats.items())) or "nothing to do")

    _with_store(settings, work)
