"""What is supervised: a petition or a supervision card of a body below, read across tenants by design.

The upper body names it (by id, or by the case number / the card's document number); it is found only in
the bodies below the upper one (``Tenant.ancestor_ids``), so a number of an unrelated body is the same
404 as a number that does not exist. Afterwards it is read only through an oversight record
(service.access_oversight). Views carry the case's facts and state, never the petitioner's identity
(sealed with the holding body's key; not even decrypted here).
"""

from __future__ import annotations

from beanie.odm.utils.parsing import parse_obj

from ..cards.models import Supervision
from ..display_words import SUPERVISION_STATE
from ..errors import NotFound
from ..petitions.models import Petition
from ..petitions.service import tenant_workflow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.models import Tenant
from ..tenancy.service import descendants_of, get_tenant
from .models import SubjectKind

NO_SUCH_SUBJECT = {"zh": "下级单位中没有这件信访件或监督卡", "en": "no such case or card in a body below"}
GONE = {"zh": "（已撤销的单位）", "en": "(a body no longer active)"}
MODELS = {"petition": Petition, "card": Supervision}
NUMBER_FIELDS = {"petition": "number", "card": "document_no"}


def is_below(lower: Tenant | None, upper_id: str, *, active_only: bool = True) -> bool:
    return lower is not None and (lower.active or not active_only) and upper_id in lower.ancestor_ids


async def find_below(kind: SubjectKind, ref: str, upper: Tenant):
    """The petition or card ``ref`` (an id or its number) held by a body below ``upper``; NotFound otherwise."""
    model, text = MODELS[kind], (ref or "").strip()[:100]
    collection = model.get_pymongo_collection()
    oid = parse_object_id(text)
    if oid is not None:
        raw = await collection.find_one({"_id": oid})
    else:
        below = [str(t.id) for t in await descendants_of(upper)]
        raw = await collection.find_one({"tenant_id": {"$in": below}, NUMBER_FIELDS[kind]: text}) if below and text else None
    if raw is None or not is_below(await get_tenant(str(raw.get("tenant_id"))), str(upper.id)):
        raise NotFound(NO_SUCH_SUBJECT)
    if kind == "card" and raw.get("kind") != "card":  # supervision actions are not cards
        raise NotFound(NO_SUCH_SUBJECT)
    return parse_obj(model, raw)


async def read_subject(kind: SubjectKind, subject_id: str):
    """The supervised petition or card as it is now (wherever it is), or None if it is gone."""
    oid = parse_object_id(subject_id)
    raw = await MODELS[kind].get_pymongo_collection().find_one({"_id": oid}) if oid else None
    return parse_obj(MODELS[kind], raw) if raw else None


def label_of(kind: SubjectKind, subject) -> str:
    if kind == "petition":
        return subject.number
    return subject.document_no or subject.subject.name


async def tenant_names(ids: set[str]) -> dict[str, dict]:
    oids = [oid for oid in (parse_object_id(i) for i in ids) if oid is not None]
    return {str(t.id): t.name.model_dump() for t in await Tenant.find({"_id": {"$in": oids}}).to_list()} if oids else {}


async def subject_view(kind: SubjectKind, subject, names: dict[str, dict]) -> dict | None:
    """The supervised thing as either side sees it on the oversight page: facts and state, in words."""
    if subject is None:
        return None
    holder = subject.tenant_id
    if kind == "petition":
        workflow = await tenant_workflow(TenantScope(holder))
        state = next((s for s in workflow.states if s.key == subject.state), None)
        return {"kind": kind, "id": str(subject.id), "number": subject.number, "title": subject.title,
                "subject_name": subject.subject_name, "holder": names.get(holder, GONE), "holder_id": holder,
                "state": subject.state, "state_name": state.name.model_dump() if state else {"zh": "（其他状态）", "en": "(another state)"},
                "due_on": subject.due_on, "overdue": subject.overdue, "anonymous": subject.anonymous}
    return {"kind": kind, "id": str(subject.id), "number": subject.document_no, "title": subject.subject.name,
            "subject_name": subject.subject.name, "holder": names.get(holder, GONE), "holder_id": holder,
            "state": subject.state.value, "state_name": SUPERVISION_STATE.get(subject.state.value, {"zh": "（其他状态）", "en": "(another state)"}),
            "due_on": subject.response_due, "overdue": subject.overdue, "issued_on": subject.issued_on}
