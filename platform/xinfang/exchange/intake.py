"""Filing and following Open311 service requests: the verbs behind the Open311 routes (open311_http.py).

A request becomes a petition through ``petitions.service.do_submit_petition``, exactly as a citizen's portal
submission does (the form's schema validates it, identities are sealed, the receipt is made, the events go
out); then one row says which client filed it, so that client, and only it, can follow it."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from beanie.odm.utils.parsing import parse_obj
from pymongo import DESCENDING
from quart import url_for
from pymongo.errors import DuplicateKeyError
from werkzeug.datastructures import MultiDict

from ..crypto import KeyRing
from ..errors import InvalidInput, NotFound
from ..forms.models import FormVersion
from ..forms.rendering import parse_form
from ..forms.service import list_forms
from ..petitions.models import Petition
from ..petitions.service import Upload, check_submission_key, do_submit_petition, petition_workflow
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.context import TenantContext
from ..tenancy.service import get_tenant
from . import open311
from .models import ApiClient, Open311Request


def client_submission_key(client: ApiClient, key: str | None) -> str | None:
    """The client's Idempotency-Key (checked as any) in the client's own space: two apps of one body that pick the same
    key (their own request ids, say) file two petitions; neither gets the other's case and receipt back."""
    if key is None:
        return None
    check_submission_key(key)
    return "open311_" + hashlib.sha256(f"{client.id}:{key}".encode()).hexdigest()[:48]


async def do_file_request(ctx: TenantContext, keyring: KeyRing, client: ApiClient, form: FormVersion, fields: MultiDict,
                          idempotency_key: str | None = None, media: Upload | None = None) -> tuple[Petition, str]:
    """One Open311 POST: the petition (through the citizens' path) and its receipt; a 422 names each bad field.

    ``media``: a file sent with the request (already checked by its bytes), kept as the petition's attachment like a
    citizen's upload; the request's ``media_url`` then names where the tenant's staff open it (never public)."""
    schema = form.json_schema
    given, _ = open311.attributes_of(fields)
    unknown = open311.unknown_attributes(schema, given)
    if unknown is not None:
        raise unknown
    where = open311.location(fields)
    answers = parse_form(schema, open311.standard_answers(schema, fields, given))
    petition, receipt = await do_submit_petition(ctx, keyring, form, answers=answers,
                                                 anonymous=not open311.identity_given(schema, answers),
                                                 uploads=[media] if media else [],
                                                 idempotency_key=client_submission_key(client, idempotency_key))
    row = Open311Request(id=petition.id, tenant_id=ctx.tenant_id, client_id=str(client.id), petition_id=str(petition.id),
                         number=petition.number, service_code=form.key, requested_at=petition.created_at.timestamp(),
                         media_attachment_id=petition.attachment_ids[0] if media and petition.attachment_ids else None, **where)
    try:
        await ctx.scope.repo(Open311Request).insert(row)
    except DuplicateKeyError:
        pass  # a retry under the same Idempotency-Key: the first attempt wrote it
    return petition, receipt


def _moment(text: str | None, name: str) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(fields={name: {"zh": "应为带时区的 ISO 8601 时间，如 2026-01-01T00:00:00Z",
                                          "en": "must be an ISO 8601 time with its zone, e.g. 2026-01-01T00:00:00Z"}})
    return moment.astimezone(UTC).timestamp()


def _listed(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()][:open311.MAX_REQUESTS]


async def list_requests(ctx: TenantContext, client: ApiClient, args) -> list[dict]:
    """GET requests: what this client filed, newest first; the spec's filters (ids override the rest; 90 days at most)."""
    repo = ctx.scope.repo(Open311Request)
    numbers = _listed(args.get("service_request_id"))
    if numbers:
        rows = await repo.find({"client_id": {"$eq": str(client.id)}, "number": {"$in": numbers}}).to_list()
        return await _views(ctx, rows, statuses=set())
    start, end = _moment(args.get("start_date"), "start_date"), _moment(args.get("end_date"), "end_date")
    span = open311.DEFAULT_SPAN.total_seconds()
    if end is None:
        end = start + span if start is not None else time.time()
    if start is None:
        start = end - span
    if end < start or end - start > span + 1:
        raise InvalidInput(fields={"start_date": {"zh": "起止时间须先后有序，且相隔不超过 90 天", "en": "start_date must come before end_date, at most 90 days apart"}})
    statuses = set(_listed(args.get("status")))
    if statuses - {"open", "closed"}:
        raise InvalidInput(fields={"status": {"zh": "状态只能是 open 或 closed", "en": "status is open or closed"}})
    codes = set(_listed(args.get("service_code")))
    rows = await repo.find({"client_id": {"$eq": str(client.id)}, "requested_at": {"$gte": start, "$lte": end}}) \
        .sort([("requested_at", DESCENDING)]).limit(open311.MAX_REQUESTS).to_list()
    return await _views(ctx, [r for r in rows if not codes or r.service_code in codes], statuses)


async def show_request(ctx: TenantContext, client: ApiClient, number: str) -> dict:
    row = await ctx.scope.repo(Open311Request).find_one({"client_id": {"$eq": str(client.id)}, "number": {"$eq": number[:80]}})
    views = await _views(ctx, [row] if row else [], set())
    if not views:
        raise NotFound({"zh": "没有这个服务请求（或不是本客户端提交的）", "en": "no such service request (or another client filed it)"})
    return views[0]


async def _views(ctx: TenantContext, rows: list[Open311Request], statuses: set[str]) -> list[dict]:
    """Each row's petition read wherever the case is now (交办/转送 move it): the row vouches it was filed here."""
    oids = [oid for oid in (parse_object_id(r.petition_id) for r in rows) if oid is not None]
    raw = [doc async for doc in Petition.get_pymongo_collection().find({"_id": {"$in": oids}})] if oids else []
    petitions = {str(doc["_id"]): parse_obj(Petition, doc) for doc in raw}
    names = {form.key: form.title()["zh"] for form in await list_forms(ctx.scope)}
    agencies: dict[str, str | None] = {}
    slugs: dict[str, str] = {}
    out = []
    for row in rows:
        petition = petitions.get(row.petition_id)
        if petition is None or petition.origin_tenant_id != ctx.tenant_id:
            continue
        if petition.tenant_id not in agencies:
            holder = await get_tenant(petition.tenant_id)
            agencies[petition.tenant_id] = holder.name.zh if holder else None
            slugs[petition.tenant_id] = holder.slug if holder else ctx.tenant.slug
        workflow = await petition_workflow(TenantScope(petition.tenant_id), petition)
        view = open311.request_view(petition, workflow, row, service_name=names.get(row.service_code, row.service_code),
                                    agency=agencies[petition.tenant_id], tenant_zone=ctx.tenant.settings.time_zone)
        if row.media_attachment_id:  # the file sent: where the holding body's staff open it (their login; never public)
            view["media_url"] = url_for("petitions.download_attachment", tenant_slug=slugs[petition.tenant_id],
                                        petition_id=row.petition_id, attachment_id=row.media_attachment_id, _external=True)
        if not statuses or view["status"] in statuses:
            out.append(view)
    return out
