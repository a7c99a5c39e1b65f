"""Gapless serials by claim-then-confirm (文号 of official documents, 归档号 of archived records).

A writer inserts the next serial of its sequence naming what it numbers; a duplicate key means someone else took that
serial (or this owner's claim landed meanwhile): look again. A crash after the claim leaves it naming its owner, and the
owner's next attempt takes the same serial back, so no serial is ever skipped. The model needs two unique indexes:
(tenant, the sequence's fields, serial) and (tenant, owner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo.errors import DuplicateKeyError

from .scoped import ScopedRepository


async def claim_serial(repo: ScopedRepository, *, owner: Mapping[str, Any], sequence: Mapping[str, Any],
                       claim: Callable[[int], Any], tries: int) -> int | None:
    """The owner's serial: its earlier claim, else the next free one of ``sequence``; None after ``tries`` collisions."""
    for _ in range(tries):
        mine = await repo.find_one(owner)
        if mine is not None:
            return mine.serial
        last = await repo.find(sequence).sort("-serial").limit(1).to_list()
        serial = (last[0].serial if last else 0) + 1
        try:
            await repo.insert(claim(serial))
            return serial
        except DuplicateKeyError:
            continue
    return None
