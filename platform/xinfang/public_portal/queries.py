"""Reading the portal: what the public sees (published only), the console's lists, and the policy search."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import DESCENDING

from ..errors import NotFound
from ..store.documents import is_id_ref
from ..store.scoped import TenantScope
from . import richtext, text
from .models import Publication, Suggestion

PAGE_SIZE = 20


class Listed(BaseModel):
    """What a list or a search result shows: never the search terms (a policy has thousands)."""

    id: PydanticObjectId = Field(alias="_id")
    kind: str
    title: str
    source: str = ""
    format: str = "plain"
    published_at: datetime | None = None


class Searched(Listed):
    body: str = ""

MAX_CANDIDATES = 500  # a search checks at most this many candidates by their text


async def public_items(scope: TenantScope, kind: str, *, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[Listed], bool]:
    """One page of a section's public items, newest first, and whether there are more."""
    rows = await scope.repo(Publication).find({"kind": kind, "state": "published"}).sort(
        [("published_at", DESCENDING)]).skip((page - 1) * size).limit(size + 1).project(Listed).to_list()
    return rows[:size], len(rows) > size


async def public_item(scope: TenantScope, kind: str, publication_id: str) -> Publication:
    """A public item of the section, or 404 (drafts, withdrawn items and other tenants' alike)."""
    row = await scope.repo(Publication).get(publication_id) if is_id_ref(publication_id) else None
    if row is None or row.kind != kind or row.state != "published":
        raise NotFound()
    return row


async def console_items(scope: TenantScope, state: str | None = None) -> list[Publication]:
    query = {"state": state} if state else {}
    return await scope.repo(Publication).find(query).sort([("updated_at", DESCENDING)]).limit(300).to_list()


async def received_suggestions(scope: TenantScope) -> list[Suggestion]:
    return await scope.repo(Suggestion).find({}).sort([("created_at", DESCENDING)]).limit(300).to_list()


@dataclasses.dataclass
class Hit:
    row: Searched
    score: int
    parts: list[tuple[str, bool]]


async def search_policies(scope: TenantScope, query: str, limit: int = 50) -> list[Hit]:
    """Public policies holding every piece of ``query`` (in the title, source or text), best first."""
    pieces = text.query_pieces(query)
    if not pieces:
        return []
    found = await scope.repo(Publication).find({"kind": "policy", "state": "published",
                                                 "terms": {"$all": text.required_terms(pieces)}}).limit(MAX_CANDIDATES).project(Searched).to_list()
    hits = []
    for row in found:
        said = richtext.plain_text(row.body, row.format)  # what the text says, without Markdown's marks
        score = text.score(pieces, f"{row.title}\n{row.source}", said)
        if score is not None:
            hits.append(Hit(row, score, text.excerpt(" ".join(said.split()) if row.format == "markdown" else said, pieces)))
    hits.sort(key=lambda h: (-h.score, -(h.row.published_at.timestamp() if h.row.published_at else 0)))
    return hits[:limit]
