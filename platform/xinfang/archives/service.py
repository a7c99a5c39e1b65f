"""Integrity archives inside one tenant: officials, what their archive holds, and who read it.

An archive is built from what already happened: petitions about the official and
the cards and supervision actions issued to them (kept up to date from their
events, ``refresh_*``), plus documents of the types the tenant's admins define.
Every read of an archive is appended to the audit chain before the answer is
returned; if the log cannot be written, nothing is returned.
"""

from __future__ import annotations

from datetime import date

from bson import ObjectId
from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from ..audit.service import audit_records_for_tenant, do_append_audit
from ..auth.principal import Principal
from ..cards.models import ActionType, CardType, Supervision, SupervisionState
from ..cards.service import OUTCOME_NAMES
from ..crypto import KeyRing
from ..errors import Conflict, InvalidInput, NotFound
from ..events import DomainEvent, unit_of_work
from ..forms.schema_safety import SchemaRejected, check_tenant_schema, schema_digest, validate_submission
from ..petitions.models import Petition
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import TenantScope
from ..tenancy.models import LocalizedName
from .identity import name_key, normalized_id_number
from .models import ArchiveDocumentType, ArchiveEntry, EntryKind, Official

ARCHIVED_STATES = {SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING, SupervisionState.CLOSED,
                   SupervisionState.TRANSFERRED}  # what really went out belongs in an archive; drafts and proposals do not


def default_person_key(official_id: str, id_hash: str | None) -> str:
    return f"id:{id_hash}" if id_hash else f"official:{official_id}"


def entry_id(tenant_id: str, kind: str, source_id: str, official_id: str) -> ObjectId:
    """The same fact in the same archive always has the same id: refreshing it twice writes it once."""
    return deterministic_id(tenant_id, kind, source_id, official_id)


# ----------------------------------------------------------------------------- officials


async def access_official(scope: TenantScope, official_id: str) -> Official:
    row = await scope.repo(Official).get(official_id)
    if row is None:
        raise NotFound({"zh": "没有这名干部", "en": "no such official"})
    return row


async def do_register_official(scope: TenantScope, keyring: KeyRing, *, name: str, position: str | None, unit: str | None,
                               rank_level: str | None, id_number: str | None, actor: Principal) -> Official:
    if not (name or "").strip():
        raise InvalidInput(fields={"name": {"zh": "请填写姓名", "en": "the name is required"}})
    id_hash = keyring.identity_hash(normalized_id_number(id_number)) if (id_number or "").strip() else None
    if id_hash and await scope.repo(Official).find_one({"id_hash": id_hash}) is not None:
        raise Conflict({"zh": "本单位已登记此证件号码的干部", "en": "an official with this identity number is already registered here"})
    official_id = ObjectId()
    official = Official(id=official_id, tenant_id=scope.tenant_id, name=name.strip(), name_key=name_key(name), position=position or None,
                        unit=unit or None, rank_level=rank_level or None, id_hash=id_hash,
                        person_key=default_person_key(str(official_id), id_hash))
    async with unit_of_work() as uow:
        await scope.repo(Official).insert(official, session=uow.session)
        uow.record(DomainEvent("official.registered", scope.tenant_id, str(official.id), {"actor_id": actor.account_id}))
    return official


async def find_officials(scope: TenantScope, name: str | None = None, limit: int = 200) -> list[Official]:
    query = {"name_key": name_key(name)} if name else {}
    return await scope.repo(Official).find(query).sort("name_key").limit(limit).to_list()


# ----------------------------------------------------------------------------- entries


async def _type_of(scope: TenantScope, sup: Supervision) -> CardType | ActionType | None:
    return await scope.repo(CardType if sup.kind == "card" else ActionType).find_one({"key": sup.type_key})


async def _upsert(scope: TenantScope, entry: ArchiveEntry) -> None:
    """Write the entry as it is now under its deterministic id (two handlers at once: the second replaces)."""
    repo = scope.repo(ArchiveEntry)
    existing = await repo.get(entry.id)
    if existing is None:
        try:
            await repo.insert(entry)
            return
        except DuplicateKeyError:
            existing = await repo.get(entry.id)
    entry.created_at = existing.created_at
    await repo.save(entry)


async def refresh_supervision_entries(scope: TenantScope, sup: Supervision) -> int:
    """The archive entries a card or action stands for (itself and the petitions it came from), as they are now."""
    if not sup.official_id:
        return 0
    official = await scope.repo(Official).get(sup.official_id)
    if official is None:
        return 0
    repo = scope.repo(ArchiveEntry)
    own_id = entry_id(scope.tenant_id, sup.kind, str(sup.id), str(official.id))
    if sup.state not in ARCHIVED_STATES:
        if (stale := await repo.get(own_id)) is not None:  # e.g. withdrawn after all: it never went out
            await repo.delete(stale)
        return 0
    kind_type = await _type_of(scope, sup)
    result = OUTCOME_NAMES[sup.outcome]["zh"] if sup.outcome in OUTCOME_NAMES else None
    if sup.treated_as:
        treated = await scope.repo(CardType).find_one({"key": sup.treated_as})  # its name, never its key
        result = "；".join(filter(None, [result, f"按{treated.name.zh if treated else '更重的监督卡'}处理（{sup.automatic[-1].reason.zh if sup.automatic else ''}）"]))
    await _upsert(scope, ArchiveEntry(
        id=own_id, tenant_id=scope.tenant_id, official_id=str(official.id), person_key=official.person_key,
        kind=EntryKind.CARD if sup.kind == "card" else EntryKind.ACTION, source_id=str(sup.id), type_key=sup.type_key,
        type_name=kind_type.name if kind_type else None, colour=getattr(kind_type, "colour", None), on=sup.issued_on or "",
        title=(kind_type.name.zh if kind_type else sup.type_key), status=sup.state.value, result=result,
    ))
    for petition_id in sup.petition_ids:
        petition = await scope.repo(Petition).get(petition_id)
        if petition is not None:
            await _upsert(scope, petition_entry(scope, official, petition))
    return 1 + len(sup.petition_ids)


def petition_entry(scope: TenantScope, official: Official, petition: Petition) -> ArchiveEntry:
    """A petition as an archive holds it: its public title, date and state; never who sent it."""
    return ArchiveEntry(
        id=entry_id(scope.tenant_id, "petition", str(petition.id), str(official.id)), tenant_id=scope.tenant_id,
        official_id=str(official.id), person_key=official.person_key, kind=EntryKind.PETITION, source_id=str(petition.id),
        on=petition.created_at.date().isoformat(), title=f"{petition.number} {petition.title}"[:200], status=petition.state,
    )


async def refresh_petition_entries(scope: TenantScope, petition_id: str) -> int:
    """A petition changed state: every archive entry standing for it follows."""
    petition = await scope.repo(Petition).get(petition_id)
    if petition is None:
        return 0
    return await scope.repo(ArchiveEntry).update_many({"source_id": petition_id, "kind": EntryKind.PETITION.value},
                                                      {"$set": {"status": petition.state}})


async def do_link_petition(scope: TenantScope, official: Official, petition_id: str, actor: Principal) -> ArchiveEntry:
    """A staff member files a petition in an official's archive (it was about them)."""
    petition = await scope.repo(Petition).get(petition_id)
    if petition is None:
        raise InvalidInput(fields={"petition_id": {"zh": "本单位没有这件信访件", "en": "no such petition here"}})
    entry = petition_entry(scope, official, petition)
    entry.added_by = actor.display_name
    await _upsert(scope, entry)
    return entry


async def do_link_supervision(scope: TenantScope, sup: Supervision, official: Official, actor: Principal) -> Supervision:
    """Name the official a card or action was about; its archive entries follow at once."""
    from ..cards.service import save_supervision

    sup.official_id = str(official.id)
    sup.notes.append({"at": utcnow().isoformat(), "actor": actor.display_name, "action": "linked_official", "text": official.name})
    sup = await save_supervision(scope, sup, "supervision.official_linked", actor)
    await refresh_supervision_entries(scope, sup)
    return sup


# ----------------------------------------------------------------------------- documents


async def do_define_document_type(scope: TenantScope, key: str, name: dict, json_schema: dict, actor: Principal) -> ArchiveDocumentType:
    problems: dict[str, dict] = {}
    try:
        name = LocalizedName.model_validate(name)
    except ValidationError:
        problems["name"] = {"zh": "请填写中英文名称（中文不超过 100 字）", "en": "give the name in Chinese and English (at most 100/200 characters)"}
    try:
        check_tenant_schema(json_schema)
    except SchemaRejected as rejected:
        problems |= {("json_schema" + p["path"].replace("/", ".")).rstrip("."): {"zh": p["zh"], "en": p["en"]} for p in rejected.problems}
    if problems:
        raise InvalidInput(fields=problems)
    repo = scope.repo(ArchiveDocumentType)
    row = await repo.find_one({"key": key}) or ArchiveDocumentType(tenant_id=scope.tenant_id, key=key, name=name, json_schema={}, schema_digest="")
    row.name, row.json_schema, row.schema_digest = name, json_schema, schema_digest(json_schema)
    async with unit_of_work() as uow:
        await repo.save(row, session=uow.session)
        uow.record(DomainEvent("archive_document_type.defined", scope.tenant_id, str(row.id), {"actor_id": actor.account_id, "key": key}))
    return row


async def do_add_document(scope: TenantScope, official: Official, *, type_key: str, on: str, data: dict, actor: Principal) -> ArchiveEntry:
    """A democratic integrity evaluation, a declaration, a conclusion ...: checked against its type's schema."""
    doc_type = await scope.repo(ArchiveDocumentType).find_one({"key": type_key})
    if doc_type is None:
        raise InvalidInput(fields={"type_key": {"zh": f"本单位没有这种档案材料：{type_key}", "en": f"no archive document type {type_key!r} here"}})
    try:
        day = date.fromisoformat(on or "")
    except ValueError:
        raise InvalidInput(fields={"on": {"zh": "请填写日期（YYYY-MM-DD）", "en": "give the date (YYYY-MM-DD)"}}) from None
    errors = validate_submission(doc_type.json_schema, data if isinstance(data, dict) else {}, anonymous=False)
    if errors:
        raise InvalidInput(fields={f"data.{e.path}" if e.path else "data": {"zh": e.zh, "en": e.en} for e in errors})
    entry = ArchiveEntry(
        id=ObjectId(), tenant_id=scope.tenant_id, official_id=str(official.id), person_key=official.person_key, kind=EntryKind.DOCUMENT,
        source_id="", type_key=type_key, type_name=doc_type.name, on=day.isoformat(), title=doc_type.name.zh, status="filed",
        data=data, added_by=actor.display_name,
    )
    entry.source_id = str(entry.id)
    async with unit_of_work() as uow:
        await scope.repo(ArchiveEntry).insert(entry, session=uow.session)
        uow.record(DomainEvent("archive.document_added", scope.tenant_id, str(entry.id), {"actor_id": actor.account_id}))
    return entry


# ----------------------------------------------------------------------------- reading


OWN_READ = "本单位查阅"  # the purpose of a read nobody gave one for (records before 2026-12 say "本单位查阅 own tenant's archive")


async def read_archive(scope: TenantScope, official: Official, reader: Principal, purpose: str) -> list[ArchiveEntry]:
    """This tenant's archive of one official, newest first; the read is in the audit chain before it is returned."""
    entries = await scope.repo(ArchiveEntry).find({"official_id": {"$eq": str(official.id)}}).sort("-on").to_list()
    await do_append_audit(actor_id=reader.account_id, actor_username=reader.username, action="archive.read",
                          purpose=(purpose or OWN_READ).strip()[:500], subject=str(official.id),
                          tenant_ids=[scope.tenant_id], result_count=len(entries))
    return entries


async def access_log(scope: TenantScope, limit: int = 100, before_seq: int | None = None) -> list[dict]:
    """Who looked at this tenant's officials' archives, when, why, and under which review."""
    return [r.tenant_view() for r in await audit_records_for_tenant(scope.tenant_id, limit, before_seq)
            if r.action.startswith("archive.")]
