"""An archived case is closed for good: the writers of cases and cards ask here before changing one (409 in words).

Kept apart from service.py (which reads petitions and cards) so that the petitions' and cards' writers can ask it
without an import circle: it reads the archive's own records only.
"""

from __future__ import annotations

from ..errors import Conflict
from ..store.scoped import TenantScope
from .models import ArchivedRecord


def archived_words(number: str) -> dict:
    return {"zh": f"此件已归档（归档号 {number}），不能再更改。如需再次办理，请登记为新的信访件并写明与本件的关系。",
            "en": f"this is archived (record {number}) and can no longer be changed; to handle it again, register a new case "
                  "and say how it relates to this one"}


async def archive_number_of(scope: TenantScope, kind: str, subject_id) -> str | None:
    """The 归档号 the case or card was archived under, or None (one indexed read: a unique index on the subject)."""
    row = await scope.repo(ArchivedRecord).find_one({"subject_kind": kind, "subject_id": str(subject_id)})
    return row.number if row is not None and row.number else None


async def refuse_if_archived(scope: TenantScope, kind: str, subject_id) -> None:
    """409 when the case (``petition``) or card/action (``supervision``) has been archived."""
    if subject_id is None:
        return
    number = await archive_number_of(scope, kind, subject_id)
    if number:
        raise Conflict(archived_words(number))


async def archived_record_of(scope: TenantScope, kind: str, subject_id) -> ArchivedRecord | None:
    """The numbered record a case or card was archived as (its number and id shown on its page; not a read of it)."""
    row = await scope.repo(ArchivedRecord).find_one({"subject_kind": kind, "subject_id": str(subject_id)})
    return row if row is not None and row.number else None
