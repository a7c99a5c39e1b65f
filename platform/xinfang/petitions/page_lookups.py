"""Reads the staff petition page needs beside the petition itself: its attachments' descriptions and staff names;
and the files kept under another record's id (an instruction's or an oversight record's reports).

Each is one query per page, whatever the number of attachments or steps.
"""

from __future__ import annotations

from ..auth.models import StaffAccount
from ..cards.models import ActionType, CardType, Supervision
from ..display_words import supervision_state_names
from ..errors import NotFound
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.models import Tenant
from .models import Attachment, Petition

# Step fields whose value is a staff account id (the workflow's 分办 writes "assignee").
STAFF_ID_FIELDS = ("assignee",)


async def attachment_rows(petition: Petition) -> list[dict]:
    """id, file name, type and size of each listed attachment, in the petition's order, without the bytes.

    Read by petition id like ``service.attachment_of``, so right after a move (before the rows
    follow the case) the list is whole too.
    """
    oids = [oid for oid in (parse_object_id(a) for a in petition.attachment_ids) if oid is not None]
    if not oids:
        return []
    cursor = Attachment.get_pymongo_collection().find(
        {"_id": {"$in": oids}, "petition_id": str(petition.id)}, projection={"filename": 1, "content_type": 1, "size": 1})
    found = {str(row["_id"]): row async for row in cursor}
    return [{"id": aid, "filename": found[aid]["filename"], "content_type": found[aid]["content_type"], "size": found[aid]["size"]}
            for aid in petition.attachment_ids if aid in found]


async def files_kept_under(tenant_id: str, owner_id: str) -> dict[str, dict]:
    """id -> {id, filename, size} of the files kept under ``owner_id`` in ``tenant_id``'s scope (an instruction's or an
    oversight record's reports), without their bytes: one find through the attachments' (tenant_id, petition_id)
    index."""
    cursor = Attachment.get_pymongo_collection().find({"tenant_id": tenant_id, "petition_id": owner_id},
                                                       projection={"filename": 1, "size": 1})
    return {str(row["_id"]): {"id": str(row["_id"]), "filename": row["filename"], "size": row["size"]} async for row in cursor}


async def listed_file(tenant_id: str, owner_id: str, attachment_id: str, listed: bool) -> Attachment:
    """A file kept under ``owner_id`` in ``tenant_id``'s scope that the record lists (``listed``); the same 404 for
    anything else."""
    missing = NotFound({"zh": "没有这个附件", "en": "no such attachment"})
    if not listed:
        raise missing
    attachment = await TenantScope(tenant_id).repo(Attachment).get(attachment_id)
    if attachment is None or attachment.petition_id != owner_id:
        raise missing
    return attachment


async def staff_names(petition: Petition) -> dict[tuple[str, str], str]:
    """Display names of the staff ids in the steps' fields, keyed by (tenant id of the step, account id).

    An id is only named by an account of the tenant in which the step happened, so a forged or
    foreign id never borrows another tenant's name.
    """
    wanted = {(step.tenant_id, step.fields[name]) for step in petition.steps for name in STAFF_ID_FIELDS if step.fields.get(name)}
    oids = [oid for oid in {parse_object_id(account_id) for _, account_id in wanted} if oid is not None]
    if not oids:
        return {}
    cursor = StaffAccount.get_pymongo_collection().find({"_id": {"$in": oids}}, projection={"display_name": 1, "tenant_id": 1})
    names = {(str(row.get("tenant_id")), str(row["_id"])): row.get("display_name") async for row in cursor}
    return {key: names[key] for key in wanted if names.get(key)}


def human_size(size: int) -> str:
    """1.2 MB, 34 KB, 512 B: how a person reads a file size."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size} B"


async def account_names(scope: TenantScope, ids) -> dict[str, str]:
    """Display names of this tenant's accounts with these ids (the inbox's handlers), one query."""
    oids = [oid for oid in {parse_object_id(i) for i in ids if i} if oid is not None]
    if not oids:
        return {}
    return {str(a.id): a.display_name async for a in scope.repo(StaffAccount).find({"_id": {"$in": oids}})}


async def supervisions_from(scope: TenantScope, petition: Petition) -> list[dict]:
    """The cards and supervision actions issued from this petition in this tenant, newest first, as the page shows them."""
    found = await scope.repo(Supervision).find({"petition_ids": str(petition.id)}).sort("-created_at").to_list()
    if not found:
        return []
    types = {("card", t.key): t async for t in scope.repo(CardType).find({})}
    types.update({("action", t.key): t async for t in scope.repo(ActionType).find({})})
    return [{"id": str(s.id), "kind": s.kind, "type": types.get((s.kind, s.type_key)), "type_key": s.type_key,
             "subject": s.subject, "state_name": supervision_state_names(s),
             "issued_on": s.issued_on, "due": s.response_due or s.rectify_due, "overdue": s.overdue} for s in found]


async def receiving_body_names(petition: Petition) -> dict[str, dict[str, str]]:
    """The names (zh/en) of the bodies a case was moved to, by the slug a move step records; one query."""
    slugs = sorted({step.fields["target_tenant"] for step in petition.steps if step.fields.get("target_tenant")})
    if not slugs:
        return {}
    return {tenant.slug: tenant.name.model_dump() for tenant in await Tenant.find({"slug": {"$in": slugs}}).to_list()}
