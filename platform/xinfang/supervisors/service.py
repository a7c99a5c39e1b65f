"""The village supervisor's verbs and reads (信访监督员): relay a villager's petition with their consent, record
follow-ups, and read back only what they relayed. ``do_*`` are the only writers; ``access_relay`` fetches, scopes
and checks (anything not this supervisor's relay is the same 404 as an id that never existed)."""

from __future__ import annotations

from datetime import date

from beanie.odm.utils.parsing import parse_obj
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..auth.principal import Principal
from ..crypto import KeyRing
from ..errors import Forbidden, InvalidInput, NotFound
from ..forms.models import FormVersion
from ..petitions import service as petitions
from ..petitions.models import Channel, Petition
from ..petitions.views import public_view
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.context import TenantContext
from ..tenancy.models import Tenant, TenantLevel
from ..tenancy.service import get_tenant
from .models import CONSENT_METHODS, FOLLOW_UP_KINDS, ConsentMethod, FollowUp, FollowUpKind, Relay

MAX_NOTE = 2000
PAGE_SIZE = 20

NOT_A_RELAY = {"zh": "没有这件代为反映的信访件", "en": "no such relayed petition"}
WRONG_LEVEL = {"zh": "信访监督员只设在乡镇、村一级：本单位不能代为反映信访件",
               "en": "village supervisors serve township and village bodies only: this body cannot relay petitions"}
CONSENT_MISSING = {"zh": "请先征得村民同意，并勾选同意声明", "en": "get the villager's consent first and tick the statement"}
METHOD_UNKNOWN = {"zh": "请选择村民同意的方式", "en": "choose how the villager agreed"}
NO_TOWNSHIP = {"zh": "本村（社区）上面没有可以登记信访件的乡镇单位：请联系平台管理员",
               "en": "this village has no township body above it to register petitions: ask the platform's operator"}


def relays_here(tenant: Tenant) -> bool:
    """Supervisors relay at township level and below (the village level, when a hierarchy has one)."""
    return TenantLevel(tenant.level).rank >= TenantLevel.TOWNSHIP.rank


async def intake_context(ctx: TenantContext) -> TenantContext:
    """The body a relay is registered with: the supervisor's own body at township level; for a village (村), which
    handles no cases itself, the nearest active body above it (its township), whose forms, numbering, key and staff
    take the case. The relay row stays with the village: it counts there and its supervisor follows it from there."""
    if TenantLevel(ctx.tenant.level) != TenantLevel.VILLAGE:
        return ctx
    for ancestor_id in reversed(ctx.tenant.ancestor_ids):
        ancestor = await get_tenant(ancestor_id)
        if ancestor is not None and ancestor.active and TenantLevel(ancestor.level) != TenantLevel.VILLAGE:
            return TenantContext.of(ancestor)
    raise Forbidden(NO_TOWNSHIP)


def consent_statement(method: ConsentMethod, supervisor_name: str, on: date) -> str:
    """The consent in words, kept with the petition (its registration step) and on the relay."""
    return (f"村民已{CONSENT_METHODS[method]['zh']}由信访监督员{supervisor_name}代为反映，并同意登记其身份信息"
            f"（{on.year}年{on.month}月{on.day}日）")


def check_consent(consent: bool, method: str | None) -> ConsentMethod:
    if not consent:
        raise InvalidInput(CONSENT_MISSING, field="consent")
    try:
        return ConsentMethod(method or "")
    except ValueError:
        raise InvalidInput(METHOD_UNKNOWN, field="consent_method") from None


async def do_relay_petition(ctx: TenantContext, keyring: KeyRing, principal: Principal, form: FormVersion, *, answers: dict,
                            anonymous: bool, consent: bool, consent_method: str | None, received_on: date | None = None,
                            idempotency_key: str | None = None, channel: Channel = Channel.VISIT,
                            uploads: list[petitions.Upload] = ()) -> tuple[Petition, str, Relay]:
    """Register the villager's petition on their behalf: validated, identity sealed and numbered exactly as any
    registration (petitions.service.do_submit_petition), with the files the supervisor attached (checked by their
    bytes by the caller: petitions.uploads.check_files), the consent kept on its registration step; then the relay
    row that lets this supervisor, and only them, follow it. A retry with the same key returns the same three.
    ``form`` is a form of ``intake_context(ctx)``: a village's relays are registered with its township."""
    if not relays_here(ctx.tenant):
        raise Forbidden(WRONG_LEVEL)
    method = check_consent(consent, consent_method)
    intake = await intake_context(ctx)
    if form.tenant_id != intake.tenant_id:
        raise NotFound({"zh": "没有这个表单", "en": "no such form"})
    today = petitions.china_today()
    statement = consent_statement(method, principal.display_name or principal.username, today)
    petition, receipt = await petitions.do_submit_petition(
        intake, keyring, form, answers=answers, anonymous=anonymous, channel=channel, registered_by=principal,
        received_on=received_on, idempotency_key=idempotency_key, relay_consent=statement, uploads=list(uploads))
    relay = Relay(id=petition.id, tenant_id=ctx.tenant_id, petition_id=str(petition.id), supervisor_id=principal.account_id,
                  supervisor_name=principal.display_name or principal.username, number=petition.number, title=petition.title,
                  consent_method=method, consent_statement=statement, registered_at=intake.tenant_id)
    try:
        await ctx.scope.repo(Relay).insert(relay)
    except DuplicateKeyError:  # a retried relay: the first one's row stands
        relay = await ctx.scope.repo(Relay).get(petition.id)
        if relay is None or relay.supervisor_id != principal.account_id:
            raise NotFound(NOT_A_RELAY) from None
    return petition, receipt, relay


async def access_relay(ctx: TenantContext, principal: Principal, petition_id: str) -> tuple[Relay, Petition]:
    """This supervisor's relay and its petition (wherever the case is now), or one 404 for everything else:
    another supervisor's relay, a petition staff registered, another tenant's petition, an id that never existed."""
    oid = parse_object_id(petition_id)
    relay = await ctx.scope.repo(Relay).get(oid) if oid else None
    if relay is None or relay.supervisor_id != principal.account_id:
        raise NotFound(NOT_A_RELAY)
    found = await petitions.followed_petition(relay.petition_id)  # the relay vouches for the id, as a receipt does
    if found is None:
        raise NotFound(NOT_A_RELAY)
    return relay, found[1]


async def my_relays(ctx: TenantContext, principal: Principal, page: int = 1) -> tuple[list[Relay], int]:
    query = {"supervisor_id": principal.account_id}
    total = await ctx.scope.repo(Relay).count(query)
    page = max(1, min(page, 10_000))
    rows = await ctx.scope.repo(Relay).find(query).sort("-relayed_at").skip((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).to_list()
    return rows, total


async def follow_ups_of(scope: TenantScope, petition_id: str) -> list[FollowUp]:
    return await scope.repo(FollowUp).find({"petition_id": petition_id}).sort("recorded_at").to_list()


async def do_record_follow_up(ctx: TenantContext, principal: Principal, relay: Relay, *, kind: str | None, happened_on: str | None,
                              note: str | None) -> FollowUp:
    """A visit or call on a relayed petition, and what the villager said."""
    fields = {}
    try:
        follow_kind = FollowUpKind(kind or "")
    except ValueError:
        follow_kind = None
        fields["kind"] = {"zh": "请选择回访方式", "en": "choose how you followed up"}
    day = None
    try:
        day = date.fromisoformat((happened_on or "").strip())
        if day > petitions.china_today():
            fields["happened_on"] = {"zh": "日期不能晚于今天", "en": "the date cannot be in the future"}
        elif day < petitions.EARLIEST_RECEIVED:
            fields["happened_on"] = {"zh": "日期不能早于2000年", "en": "the date cannot be before 2000"}
    except ValueError:
        fields["happened_on"] = {"zh": "请填写回访日期", "en": "enter the date of the follow-up"}
    text = (note or "").strip()
    if not text:
        fields["note"] = {"zh": "请记录村民说了什么", "en": "write down what the villager said"}
    elif len(text) > MAX_NOTE:
        fields["note"] = {"zh": f"不能超过{MAX_NOTE}字", "en": f"at most {MAX_NOTE} characters"}
    if fields:
        raise InvalidInput(fields=fields)
    follow_up = FollowUp(id=ObjectId(), tenant_id=ctx.tenant_id, petition_id=relay.petition_id, supervisor_id=principal.account_id,
                         supervisor_name=principal.display_name or principal.username, kind=follow_kind, happened_on=day.isoformat(),
                         note=text)
    return await ctx.scope.repo(FollowUp).insert(follow_up)


async def relay_view(ctx: TenantContext, relay: Relay, petition: Petition) -> dict:
    """What the supervisor sees of a relay: what a villager sees with the receipt (state, public steps; no staff names,
    no internal opinions), the petition's own words (never the sealed identity), the consent, the follow-ups."""
    workflow = await petitions.petition_workflow(TenantScope(petition.tenant_id), petition)
    view = public_view(petition, workflow)
    follow_ups = await follow_ups_of(ctx.scope, relay.petition_id)
    view.update({
        "id": relay.petition_id, "answers": petition.answers, "anonymous": petition.anonymous,
        "closed": petition.state in set(workflow.terminal_states()), "attachments": len(petition.attachment_ids or []),
        "relayed_at": relay.relayed_at.isoformat(), "consent": {"method": relay.consent_method.value,
                                                                "method_name": CONSENT_METHODS[relay.consent_method],
                                                                "statement": relay.consent_statement},
        "follow_ups": [follow_up_view(f) for f in follow_ups],
    })
    return view


def follow_up_view(follow_up: FollowUp) -> dict:
    return {"id": str(follow_up.id), "kind": follow_up.kind.value, "kind_name": FOLLOW_UP_KINDS[follow_up.kind],
            "happened_on": follow_up.happened_on, "note": follow_up.note, "recorded_at": follow_up.recorded_at.isoformat(),
            "by": follow_up.supervisor_name}


async def list_views(relays: list[Relay]) -> list[dict]:
    """The list's rows, each with the case's state now in its own workflow's words and whether it is closed
    (one read for the page's petitions, wherever each case is now)."""
    found = await petitions_by_id([r.id for r in relays])
    workflows = {}
    for holder in {p.tenant_id for p in found.values()}:
        theirs = [p for p in found.values() if p.tenant_id == holder]
        workflows[holder] = await petitions.petition_workflows(TenantScope(holder), theirs)
    rows = []
    for relay in relays:
        row, petition = relay_row(relay), found.get(str(relay.id))
        if petition is not None:
            workflow = workflows[petition.tenant_id][petition.workflow_version]
            state = next((s for s in workflow.states if s.key == petition.state), None)
            row.update(state=petition.state, state_name=state.name.model_dump() if state else {"zh": petition.state, "en": petition.state},
                       closed=petition.state in set(workflow.terminal_states()))
        rows.append(row)
    return rows


async def petitions_by_id(ids: list) -> dict[str, Petition]:
    """Petitions by id wherever they are now: only for ids a relay row vouches for."""
    if not ids:
        return {}
    raw = Petition.get_pymongo_collection().find({"_id": {"$in": list(ids)}})
    return {str(doc["_id"]): parse_obj(Petition, doc) async for doc in raw}


async def relay_registered_at(tenant: Tenant, petition_id) -> Relay | None:
    """The relay of a petition registered with ``tenant``: its own supervisors' (this body's scope), or a village's below
    it (the relay row kept with the village, ``registered_at`` naming this body)."""
    relay = await TenantScope(tenant.id).repo(Relay).get(petition_id)
    if relay is not None:
        return relay
    raw = await Relay.get_pymongo_collection().find_one({"_id": petition_id, "registered_at": str(tenant.id)})
    return parse_obj(Relay, raw) if raw else None




def relay_row(relay: Relay) -> dict:
    return {"id": relay.petition_id, "number": relay.number, "title": relay.title, "relayed_at": relay.relayed_at.isoformat(),
            "consent_method": relay.consent_method.value}
