"""What search keeps in the document store: the indexing backlog, tenants' dictionaries, duplicate candidates.

The indexes themselves (Whoosh directories) and the duplicate fingerprints (SQLite)
are derived data on the indexer's disk, rebuilt from the store at any time.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from xinfang.store.documents import IdRef, TenantDocument


class SearchBacklog(TenantDocument):
    """A petition whose index entry is behind the store; the indexer drains these, tenant by tenant."""

    petition_id: IdRef
    # When it was (last) queued, in ns since the epoch: an integer, because the embedded store turns a
    # datetime written by $set into a string, and a re-queue is exactly such a $set.
    queued_ns: int

    class Settings:
        name = "search_backlog"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("petition_id", ASCENDING)], unique=True),
                   IndexModel([("queued_ns", ASCENDING)])]


class SearchItemBacklog(TenantDocument):
    """An official document or archived record whose entry in the tenant's sibling index (items.py) is behind."""

    item_kind: str  # document | record
    item_id: IdRef
    queued_ns: int  # as SearchBacklog's: an integer, a re-queue is a $set

    class Settings:
        name = "search_item_backlog"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("item_kind", ASCENDING), ("item_id", ASCENDING)], unique=True),
                   IndexModel([("queued_ns", ASCENDING)])]


class SearchDictionary(TenantDocument):
    """A tenant's own words (place names, units, local terms) for segmentation; changing them rebuilds the index."""

    words: list[str] = Field(default_factory=list)
    # The tenant's own stop words: left out of frequent words and of the words a query looks for (and so of its
    # highlights), beside the platform's stopwords.txt; the index keeps them, so changing them needs no rebuild.
    stop_words: list[str] = Field(default_factory=list)
    # Groups of words a query takes as one (噪音 = 噪声 = 扰民...): applied to the query only, so no rebuild.
    synonyms: list[list[str]] = Field(default_factory=list)
    revision: int = 0

    class Settings:
        name = "search_dictionaries"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


class CandidateStatus(StrEnum):
    OPEN = "open"  # shown to staff
    CONFIRMED = "confirmed"  # a repeat petition (重信重访)
    DISMISSED = "dismissed"  # not the same matter


class DuplicateCandidate(TenantDocument):
    """A likely earlier petition on the same matter, found when a petition arrived, with the reasons."""

    petition_id: IdRef  # the new petition (of this tenant)
    other_id: IdRef  # the earlier one, in this tenant or in its hierarchy
    other_tenant_id: IdRef
    other_number: str
    other_title: str
    reasons: list[str]  # same_petitioner | same_subject | similar_text
    similarity: float  # estimated Jaccard of word shingles, 0..1
    score: float  # how likely the same matter, 0..1 (what "likely duplicate" means is in duplicates.py)
    status: CandidateStatus = CandidateStatus.OPEN
    decided_by: str | None = None

    class Settings:
        name = "duplicate_candidates"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("petition_id", ASCENDING), ("other_id", ASCENDING)], unique=True),
                   IndexModel([("tenant_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)]),
                   # a matter's links are walked from both ends, each an equality (repeats.links_of)
                   IndexModel([("tenant_id", ASCENDING), ("other_id", ASCENDING)])]
