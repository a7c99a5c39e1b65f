"""Official documents (公文) and archived records (归档记录) in full-text search: a sibling index per tenant.

Why a sibling index and not more documents in the petitions' index: every petition query, total, facet,
frequent-word count and repeat check reads the petitions' index as it is (bench/search.py's figures and
petitions-only totals cannot change), and a document or record never turns up as a petition.

    DATA_DIR/search-items/<tenant_id>/CURRENT, gen-<n>/, writer.lock   (the same layout as index.py)

The path, as for petitions: a document written, issued or received, or a case archived, records an event
(``document.written``, ``record.archived``) with the write -> this plugin's event hook notes the item in the
tenant's ``SearchItemBacklog`` and sends the drain -> the indexer (``indexer.drain``) drains it under the sibling
index's writer lock. A lost message changes nothing: the beat sweep sends the drain again for any tenant whose
backlog waits. ``xinfang search rebuild`` builds the sibling index again from the store too.

What is indexed, never an identity: a document's title, body, 文号, sender and recipients (bodies and
departments; a citizen recipient's name is left out); a record's 归档号, title, case number and the frozen
snapshot's words (the snapshot never holds the petitioner's identity; names of people acting on it, ids,
hashes and times are left out here as well).

Who sees a hit: a document only for those with ``documents.read``, a record only for those with
``records.read`` (the permissions of their pages), and only the searched tenant's own items.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo.errors import DuplicateKeyError
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.query import And, Phrase, Term

from xinfang.store.scoped import TenantScope, parse_object_id

from .analysis import BigramTokenizer, bigrams, fold
from .index import IndexUnavailable, TenantIndexDir
from .models import SearchItemBacklog
from .searchers import SearcherCache

ITEM_KINDS = ("document", "record")
KIND_WORDS = {"document": {"zh": "公文", "en": "Official document"}, "record": {"zh": "归档记录", "en": "Archived record"}}
RESULT_LIMIT = 20
DRAIN_BATCH = 200
SNIPPET_CHARS = 80
# Snapshot keys whose values are not words of the case for a reader (people acting on it, ids, hashes, times)
# or could name a person: never indexed.
SKIPPED_KEYS = {"identity", "actor", "author", "id", "source_id", "sha256", "pdf_sha256", "snapshot_sha256", "at", "at_local",
                "received_at", "issued_at", "version", "attachments", "files", "subject", "petitioner_name", "id_number", "phone",
                "address", "email", "name_of_petitioner", "documents_area", "anonymous"}


def make_item_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        tenant_id=ID(stored=True),
        item_kind=ID(stored=True),
        number=STORED(),  # 文号 or 归档号, as shown
        title=STORED(),
        subtitle=STORED(),  # the case number or the document's kind / direction, as words
        text=STORED(),  # what the snippet is cut from
        ngram=TEXT(analyzer=BigramTokenizer(), phrase=True),  # every word above, two characters by two
    )


class ItemIndexDir(TenantIndexDir):
    """The tenant's sibling index of documents and records: index.py's generations and writer lock, its own schema."""

    def __init__(self, root: Path, tenant_id: str):
        super().__init__(root, tenant_id)
        self.path = root / "search-items" / tenant_id

    def open(self):
        generation = self.current_generation()
        if generation is None or not whoosh_index.exists_in(str(generation)):
            raise IndexUnavailable(self.tenant_id)
        return whoosh_index.open_dir(str(generation))

    def open_or_create_for_writing(self, tenant_words=()):
        generation = self.current_generation()
        if generation is not None and whoosh_index.exists_in(str(generation)):
            return whoosh_index.open_dir(str(generation))
        return self.new_generation(switch=True)

    def new_generation(self, tenant_words=(), *, switch: bool = False):
        from datetime import datetime

        target = self.path / f"gen-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
        target.mkdir(parents=True)
        ix = whoosh_index.create_in(str(target), make_item_schema())
        if switch:
            self.switch_to(target)
        return ix


# -- what is indexed ---------------------------------------------------------------------------------


def _words_of(value, key: str = "") -> list[str]:
    """Every string of a snapshot, depth first, without the skipped keys."""
    if key in SKIPPED_KEYS:
        return []
    if isinstance(value, str):
        return [value] if value.strip() and not re.fullmatch(r"[0-9a-f]{24}|\d{4}-\d\d-\d\d.*", value) else []
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _words_of(v, str(k))]
    if isinstance(value, list):
        return [w for v in value for w in _words_of(v, key)]
    return []


def document_fields(doc) -> dict:
    from xinfang.documents.models import DIRECTION_NAMES, KIND_NAMES

    direction = DIRECTION_NAMES.get(str(doc.direction), {}).get("zh", "")
    kind = KIND_NAMES.get(str(doc.kind), {}).get("zh", "")
    parties = [doc.sender_name or ""] + [r.name for r in doc.recipients if r.kind != "citizen"]
    text = doc.body or ""
    return dict(id=str(doc.id), tenant_id=doc.tenant_id, item_kind="document", number=doc.document_no or "", title=doc.title or "",
                subtitle=" · ".join(p for p in (direction, kind) if p), text=text[:20000],
                ngram="\n".join([doc.title or "", doc.document_no or "", *parties, text]))


def record_fields(record) -> dict:
    try:
        snapshot = json.loads(record.snapshot_json or "{}")
    except ValueError:
        snapshot = {}
    words = _words_of(snapshot)
    case_number = snapshot.get("number") or ""
    text = "\n".join(words)
    return dict(id=str(record.id), tenant_id=record.tenant_id, item_kind="record", number=record.number or "", title=record.title or "",
                subtitle=case_number if isinstance(case_number, str) else "", text=text[:20000],
                ngram="\n".join([record.number or "", record.subject_label or "", record.title or "", text]))


async def _items(scope: TenantScope, kind: str, ids: list[str]) -> dict[str, dict]:
    oids = [o for o in (parse_object_id(i) for i in ids) if o]
    if not oids:
        return {}
    if kind == "document":
        from xinfang.documents.models import OfficialDocument

        return {str(d.id): document_fields(d) for d in await scope.repo(OfficialDocument).find({"_id": {"$in": oids}}).to_list()}
    from xinfang.records.models import ArchivedRecord

    return {str(r.id): record_fields(r) for r in await scope.repo(ArchivedRecord).find({"_id": {"$in": oids}}).to_list() if r.number}


# -- the backlog and the drain -----------------------------------------------------------------------


async def do_queue_item(tenant_id: str, item_kind: str, item_id: str) -> None:
    """Note that this document's or record's index entry is behind (idempotent, like a petition's)."""
    repo = TenantScope(tenant_id).repo(SearchItemBacklog)
    stamp = time.time_ns()
    try:
        await repo.insert(SearchItemBacklog(tenant_id=tenant_id, item_kind=item_kind, item_id=item_id, queued_ns=stamp))
    except DuplicateKeyError:
        await repo.update_one({"item_kind": item_kind, "item_id": item_id}, {"$set": {"queued_ns": stamp}})


async def waiting_item_tenants(older_than_seconds: float = 0.0) -> list[str]:
    from xinfang.store.documents import cross_tenant_reads

    cutoff = time.time_ns() - int(older_than_seconds * 1e9)
    with cross_tenant_reads("search: find tenants whose documents' index is behind"):
        rows = await SearchItemBacklog.find({"queued_ns": {"$lt": cutoff}}).limit(5000).to_list()
    return sorted({r.tenant_id for r in rows})


@dataclass
class ItemDrainReport:
    indexed: int = 0
    removed: int = 0


async def drain_items(data_dir: Path, tenant_id: str, *, batch: int = DRAIN_BATCH) -> ItemDrainReport:
    report, scope, index_dir = ItemDrainReport(), TenantScope(tenant_id), ItemIndexDir(Path(data_dir), tenant_id)
    if index_dir.current_generation() is None:  # never built (documents and records written before this release): all of them
        counts = await rebuild_items(data_dir, tenant_id)
        report.indexed += counts["documents"] + counts["records"]
    if not await scope.repo(SearchItemBacklog).find({}).limit(1).to_list():  # most drains are a petition's: nothing here
        return report
    with index_dir.writer_lock():
        ix = index_dir.open_or_create_for_writing()
        while True:
            backlog = await scope.repo(SearchItemBacklog).find({}).sort("queued_ns").limit(batch).to_list()
            if not backlog:
                break
            present: dict[str, dict] = {}
            for kind in ITEM_KINDS:
                present |= await _items(scope, kind, [b.item_id for b in backlog if b.item_kind == kind])
            writer = ix.writer()
            for entry in backlog:
                fields = present.get(entry.item_id)
                if fields is None:
                    writer.delete_by_term("id", entry.item_id)
                    report.removed += 1
                else:
                    writer.update_document(**fields)
                    report.indexed += 1
            writer.commit()
            for entry in backlog:  # only if nobody queued it again meanwhile
                await scope.repo(SearchItemBacklog).delete_many({"_id": entry.id, "queued_ns": entry.queued_ns})
    return report


async def rebuild_items(data_dir: Path, tenant_id: str) -> dict:
    """A new generation of the tenant's documents and records from the store, switched to when complete."""
    from xinfang.documents.models import OfficialDocument
    from xinfang.records.models import ArchivedRecord

    scope, index_dir = TenantScope(tenant_id), ItemIndexDir(Path(data_dir), tenant_id)
    counts = {"documents": 0, "records": 0}
    with index_dir.writer_lock(wait=600):
        ix = index_dir.new_generation()
        writer = ix.writer(limitmb=128)
        async for doc in scope.repo(OfficialDocument).find({}):
            writer.add_document(**document_fields(doc))
            counts["documents"] += 1
        async for record in scope.repo(ArchivedRecord).find({"number": {"$type": "string"}}):
            writer.add_document(**record_fields(record))
            counts["records"] += 1
        writer.commit()
        index_dir.switch_to(Path(ix.storage.folder))
    return counts


# -- searching ---------------------------------------------------------------------------------------


def _query(text: str):
    """Each stretch of letters, digits or Han characters typed must be in the item as typed (a phrase of its bigrams:
    a substring, like the documents page's word filter); single characters alone are not searchable."""
    parts = []
    for stretch in re.findall(r"\w+", fold(text)):
        grams = [g for g, _ in bigrams(stretch)]
        if grams:
            parts.append(Term("ngram", grams[0]) if len(grams) == 1 else Phrase("ngram", grams))
    return And(parts) if parts else None


def _snippet(text: str, q: str) -> str:
    folded, stretches = fold(text), [s for s in re.findall(r"\w+", fold(q)) if len(s) > 1]
    at = min((folded.find(s) for s in stretches if folded.find(s) >= 0), default=0)
    start = max(0, at - SNIPPET_CHARS // 4)
    return ("…" if start else "") + text[start:start + SNIPPET_CHARS].replace("\n", " ") + ("…" if start + SNIPPET_CHARS < len(text) else "")


_searchers = SearcherCache(ItemIndexDir)  # the sibling index's open searchers: per thread, bounded (searchers.py)


def search_items(data_dir: Path, tenant_id: str, q: str, kinds: set[str], *, tenant_slug: str, limit: int = RESULT_LIMIT) -> list[dict]:
    """The tenant's documents and records whose words hold ``q``, of the kinds the reader may open (``kinds``)."""
    query = _query(q or "")
    if query is None or not kinds:
        return []
    with _searchers.holding():
        try:
            searcher = _searchers.get(data_dir, tenant_id)
        except IndexUnavailable:
            return []
        return _hits(searcher, query, q, kinds, tenant_id, tenant_slug, limit)


def _hits(searcher, query, q: str, kinds: set[str], tenant_id: str, tenant_slug: str, limit: int) -> list[dict]:
    allowed = Term("item_kind", next(iter(kinds))) if len(kinds) == 1 else None
    out = []
    for hit in searcher.search(And([query, Term("tenant_id", tenant_id)] + ([allowed] if allowed else [])), limit=limit):
        kind = hit["item_kind"]
        if kind not in kinds or hit["tenant_id"] != tenant_id:
            continue
        path = "documents" if kind == "document" else "records"
        out.append({"kind": kind, "kind_words": KIND_WORDS[kind], "id": hit["id"], "number": hit.get("number") or "",
                    "title": hit.get("title") or "", "subtitle": hit.get("subtitle") or "",
                    "snippet": _snippet(hit.get("text") or "", q), "link": f"/t/{tenant_slug}/staff/{path}/{hit['id']}"})
    return out
