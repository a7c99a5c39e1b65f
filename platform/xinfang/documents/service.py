"""Official-document verbs (公文) and readers.

STABLE reader for other areas: ``documents_of(scope, subject_kind, subject_id)``.
"""

from __future__ import annotations

from ..store.scoped import TenantScope
from .models import OfficialDocument


async def documents_of(scope: TenantScope, subject_kind: str, subject_id: str) -> list[OfficialDocument]:
    """Every document of this body linked to one case (``petition``), card or action (``supervision``) or archive entry
    (``archive_entry``), oldest first: drafts included (filter on ``state`` if only issued/received ones matter)."""
    return await scope.repo(OfficialDocument).find(
        {"links": {"$elemMatch": {"kind": subject_kind, "id": str(subject_id)}}}).sort("created_at").to_list()
