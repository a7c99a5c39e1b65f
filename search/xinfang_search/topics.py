"""Frequent words (频发词汇) of a tenant over a window, against the window before it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .dictionary import tenant_stop_words
from .indexer import stores
from .terms import top_and_rising

CHINA = ZoneInfo("Asia/Shanghai")


async def frequent_words(data_dir: Path, tenant_id: str, *, days: int = 30, end: date | None = None, top: int = 30) -> dict:
    end = end or datetime.now(CHINA).date()
    first = end - timedelta(days=days - 1)
    previous_first, previous_last = first - timedelta(days=days), first - timedelta(days=1)
    side = stores(data_dir)
    current = side.terms.counts(tenant_id, first.isoformat(), end.isoformat())
    previous = side.terms.counts(tenant_id, previous_first.isoformat(), previous_last.isoformat())
    for word in await tenant_stop_words(tenant_id):  # counted when indexed, left out when shown: no rebuild needed
        current.pop(word, None)
        previous.pop(word, None)
    tops, rising = top_and_rising(current, previous, top)
    return {"window": {"from": first.isoformat(), "to": end.isoformat(), "days": days},
            "previous": {"from": previous_first.isoformat(), "to": previous_last.isoformat()},
            "petitions": side.terms.petitions(tenant_id, first.isoformat(), end.isoformat()),
            "top": tops, "rising": rising}
