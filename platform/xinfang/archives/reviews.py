"""Promotion reviews (干部选拔任用征求意见): a superuser's purpose-bound, time-boxed grant to read one
person's integrity archive across every tenant, and the consolidated integrity opinion it yields.

Opening names the person (by identity number, or by an official a tenant registered: chosen from
a name search across tenants, or named by name and unit), the purpose, a reference number and a
justification. The name search is itself purpose-bound and audited. Where the platform requires it
(``XINFANG_REVIEW_NEEDS_SECOND_APPROVER``), a second superuser approves before anything
can be read. The grant lasts ``XINFANG_REVIEW_GRANT_HOURS`` and covers the consolidated
opinion of that person only. Every step and every read is appended to the audit chain
first; a superuser without an active grant gets nothing.
"""

from __future__ import annotations

from datetime import timedelta

from ..audit.service import do_append_audit
from ..auth.principal import Principal
from ..crypto import KeyRing
from ..display_words import words
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..settings import Settings
from ..store.documents import cross_tenant_reads, utcnow
from ..store.scoped import parse_object_id
from ..tenancy.models import Tenant
from .identity import name_key, normalized_id_number
from .models import ArchiveEntry, Official, PromotionReview, ReviewState
from .service import default_person_key

PURPOSES = words("review_purpose")


MAX_FOUND = 50  # officials one name search shows


def _superuser(principal: Principal) -> None:
    if not principal.is_superuser:
        raise Forbidden()


def _purpose_problems(official_name: str, purpose: str, reference_no: str, justification: str) -> dict:
    problems = {}
    if purpose not in PURPOSES:
        problems["purpose"] = {"zh": "用途应为干部选拔任用或调动", "en": "purpose must be promotion or transfer"}
    for field, value, zh in (("official_name", official_name, "干部姓名"), ("reference_no", reference_no, "文号"),
                             ("justification", justification, "理由")):
        if not (value or "").strip():
            problems[field] = {"zh": f"请填写{zh}", "en": f"{field.replace('_', ' ')} is required"}
    return problems


def _unit_key(unit: str | None) -> str:
    return name_key(unit)


async def _officials_named(name: str, unit: str | None, why: str) -> list[Official]:
    """Officials of every tenant with this name (compared after normalisation), and where a unit is
    given, whose unit contains it. The caller audits the read."""
    wanted = _unit_key(unit)
    with cross_tenant_reads(why):
        rows = await Official.find({"name_key": {"$eq": name_key(name)}}).sort([("tenant_id", 1), ("_id", 1)]).to_list(500)
    return [o for o in rows if not wanted or wanted in _unit_key(o.unit)][:MAX_FOUND]


async def find_officials_across_tenants(principal: Principal, *, official_name: str, unit: str | None, purpose: str,
                                        reference_no: str, justification: str) -> list[dict]:
    """The officials every tenant registered under this name (and unit), for opening a review on one
    registered without an identity number. Purpose-bound like a review (purpose, reference number,
    justification) and appended to the audit chain before it is answered."""
    _superuser(principal)
    problems = _purpose_problems(official_name, purpose, reference_no, justification)
    if problems:
        raise InvalidInput(fields=problems)
    found = await _officials_named(official_name, unit, f"promotion review search: {reference_no}")
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="review.official_search",
                          purpose=f"{PURPOSES[purpose]['zh']} {reference_no.strip()}: {justification.strip()}"[:500],
                          query={"name": official_name.strip()[:100], "unit": (unit or "").strip()[:100]},
                          tenant_ids=sorted({o.tenant_id for o in found}), result_count=len(found))
    tenants = await _tenants_of({o.tenant_id for o in found})
    return [dict(o.public_view(), tenant=_tenant_view(tenants, o.tenant_id)) for o in found]


async def _tenants_of(tenant_ids) -> dict[str, Tenant]:
    ids = [oid for oid in (parse_object_id(t) for t in tenant_ids) if oid]
    return {str(t.id): t for t in await Tenant.find({"_id": {"$in": ids}}).to_list()} if ids else {}


def _tenant_view(tenants: dict[str, Tenant], tenant_id: str) -> dict:
    tenant = tenants.get(tenant_id)
    return {"slug": tenant.slug, "name": tenant.name.model_dump()} if tenant else {"slug": "?", "name": {"zh": "?", "en": "?"}}


async def do_open_review(principal: Principal, keyring: KeyRing, settings: Settings, *, official_name: str, purpose: str,
                         reference_no: str, justification: str, id_number: str | None = None,
                         official_id: str | None = None, unit: str | None = None) -> PromotionReview:
    """The person is named by identity number, or by a registered official (its id, or its name and unit
    where that names exactly one person)."""
    _superuser(principal)
    problems = _purpose_problems(official_name, purpose, reference_no, justification)
    if not (id_number or "").strip() and not official_id and not (unit or "").strip():
        problems["id_number"] = {"zh": "请填写证件号码，或填写单位、或从查找结果中选定某单位登记的干部",
                                 "en": "give the identity number, or the unit, or choose an official a tenant registered"}
    if problems:
        raise InvalidInput(fields=problems)
    named: list[Official] = []
    if (id_number or "").strip():
        person_key = default_person_key("", keyring.identity_hash(normalized_id_number(id_number)))
    elif official_id:
        with cross_tenant_reads("promotion review: resolve the official named"):
            official = await Official.get(parse_object_id(official_id)) if parse_object_id(official_id) else None
        if official is None:
            raise InvalidInput(fields={"official_id": {"zh": "没有这名干部", "en": "no such official"}})
        person_key, named = official.person_key, [official]
    else:
        named = await _officials_named(official_name, unit, "promotion review: resolve the name and unit given")
        people = {o.person_key for o in named}
        if not people:
            raise InvalidInput(fields={"unit": {"zh": "各单位均未登记此姓名和单位的干部，请核对，或填写证件号码",
                                                "en": "no body registered an official of this name and unit; check them, or give the identity number"}})
        if len(people) > 1:
            raise InvalidInput(fields={"unit": {"zh": f"此姓名和单位对应{len(people)}人，请先查找并选定一人",
                                                "en": f"this name and unit fit {len(people)} people: search and choose one"}})
        person_key = people.pop()
    now = utcnow()
    second = settings.review_needs_second_approver
    review = PromotionReview(
        person_key=person_key, official_name=official_name.strip()[:100], purpose=purpose, reference_no=reference_no.strip()[:100],
        justification=justification.strip()[:2000], requested_by=principal.account_id, requested_by_name=principal.display_name,
        state=ReviewState.AWAITING_APPROVAL if second else ReviewState.ACTIVE,
        granted_at=None if second else now, expires_at=None if second else now + timedelta(hours=settings.review_grant_hours),
    )
    await review.insert()
    await _audit(principal, "review.opened", review, tenant_ids=sorted({o.tenant_id for o in named}), result_count=len(named))
    return review


async def access_review(principal: Principal, review_id: str) -> PromotionReview:
    _superuser(principal)
    oid = parse_object_id(review_id)
    review = await PromotionReview.get(oid) if oid else None
    if review is None:
        raise NotFound({"zh": "没有这项征求意见", "en": "no such review"})
    return review


async def do_approve_review(principal: Principal, settings: Settings, review: PromotionReview) -> PromotionReview:
    """The second person: another superuser than the one who opened it."""
    _superuser(principal)
    if review.state != ReviewState.AWAITING_APPROVAL:
        raise Conflict({"zh": "这项征求意见不在待批准状态", "en": "this review is not awaiting approval"})
    if principal.account_id == review.requested_by:
        raise Forbidden({"zh": "须由另一名人员批准", "en": "a second person must approve"})
    now = utcnow()
    review.state, review.approved_by, review.approved_by_name = ReviewState.ACTIVE, principal.account_id, principal.display_name
    review.granted_at, review.expires_at = now, now + timedelta(hours=settings.review_grant_hours)
    await _save(review)
    await _audit(principal, "review.approved", review, result_count=0)
    return review


async def do_close_review(principal: Principal, review: PromotionReview, *, reject: bool = False) -> PromotionReview:
    _superuser(principal)
    if review.state not in (ReviewState.AWAITING_APPROVAL, ReviewState.ACTIVE):
        raise Conflict({"zh": "这项征求意见已结束", "en": "this review has ended"})
    if reject and principal.account_id == review.requested_by:
        raise Forbidden({"zh": "须由另一名人员决定", "en": "a second person decides"})
    review.state = ReviewState.REJECTED if reject else ReviewState.CLOSED
    await _save(review)
    await _audit(principal, "review.rejected" if reject else "review.closed", review, result_count=0)
    return review


async def _save(review: PromotionReview) -> None:
    expected = review.revision
    review.revision += 1
    result = await PromotionReview.get_pymongo_collection().replace_one(
        {"_id": review.id, "revision": expected}, review.model_dump(by_alias=True, exclude={"id"}) | {"_id": review.id})
    if result.matched_count != 1:
        raise changed_meanwhile("这项征求意见", "this review")


def require_active_grant(principal: Principal, review: PromotionReview) -> None:
    """Only the superuser who opened it reads, only while the grant is active and not expired."""
    if principal.account_id != review.requested_by:
        raise Forbidden({"zh": "只有发起人可以查阅", "en": "only the superuser who opened this review reads under it"})
    if review.state != ReviewState.ACTIVE:
        raise Forbidden({"zh": "尚未批准或已结束，不能查阅", "en": "this review is not active: nothing can be read under it"})
    if review.expires_at is None or review.expires_at <= utcnow():
        raise Forbidden({"zh": "查阅期限已过", "en": "the grant has expired"})


async def _audit(principal: Principal, action: str, review: PromotionReview, *, tenant_ids=(), result_count: int) -> None:
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action=action,
                          purpose=f"{PURPOSES[review.purpose]['zh']} {review.reference_no}: {review.justification}"[:500],
                          subject=review.person_key, review_id=str(review.id), tenant_ids=tenant_ids, result_count=result_count)


async def consolidated_opinion(principal: Principal, review: PromotionReview, *, form: str = "json") -> dict:
    """Every card, action, petition and document about the person in every tenant, newest first.

    Read under the grant, then appended to the audit chain, then returned: a read
    that cannot be logged is not answered.
    """
    require_active_grant(principal, review)
    # {"$eq": ...}: the embedded store answers a bare equality from an index only when the index is
    # named after that one field; with $eq it uses the compound (person_key, on) index (bench/archive_opinion.py).
    with cross_tenant_reads(f"promotion review {review.id}"):
        officials = await Official.find({"person_key": {"$eq": review.person_key}}).to_list()
        entries = await ArchiveEntry.find({"person_key": {"$eq": review.person_key}}).sort([("on", -1)]).to_list()  # the (person_key, on) index's order
        similar = await Official.find({"name_key": {"$eq": name_key(review.official_name)},
                                       "person_key": {"$ne": review.person_key}}).to_list(500)
    possible = [o for o in similar if o.person_key != review.person_key]
    entries.sort(key=lambda e: (e.on, e.tenant_id), reverse=True)  # one stable order within a day, in Python
    tenant_ids = sorted({o.tenant_id for o in officials} | {e.tenant_id for e in entries})
    tenants = {str(t.id): t for t in await Tenant.find({"_id": {"$in": [parse_object_id(t) for t in
                                                                         {*tenant_ids, *(o.tenant_id for o in possible)}]}}).to_list()}
    await _audit(principal, f"archive.opinion.{form}", review, tenant_ids=tenant_ids, result_count=len(entries))

    def tenant_of(tenant_id: str) -> dict:
        tenant = tenants.get(tenant_id)
        return {"slug": tenant.slug, "name": tenant.name.model_dump()} if tenant else {"slug": "?", "name": {"zh": "?", "en": "?"}}

    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.kind.value] = counts.get(entry.kind.value, 0) + 1
    return {
        "review": review_view(review),
        "generated_at": utcnow().isoformat(),
        "person": {"name": review.official_name, "records": [dict(o.public_view(), tenant=tenant_of(o.tenant_id)) for o in officials]},
        "summary": {"entries": len(entries), "tenants": len(tenant_ids), "by_kind": counts},
        "entries": [{
            "tenant": tenant_of(e.tenant_id), "on": e.on, "kind": e.kind.value, "type_key": e.type_key,
            "type_name": e.type_name.model_dump() if e.type_name else None, "colour": e.colour, "title": e.title,
            "status": e.status, "result": e.result,
        } for e in entries],
        # The same name elsewhere, but not known to be the same person: shown apart, never merged.
        "possible_matches": [dict(o.public_view(), tenant=tenant_of(o.tenant_id)) for o in possible],
    }


def review_view(review: PromotionReview) -> dict:
    return {
        "id": str(review.id), "official_name": review.official_name, "purpose": review.purpose, "purpose_name": PURPOSES[review.purpose],
        "reference_no": review.reference_no, "justification": review.justification, "state": review.state.value,
        "requested_by": review.requested_by_name, "approved_by": review.approved_by_name,
        "granted_at": review.granted_at.isoformat() if review.granted_at else None,
        "expires_at": review.expires_at.isoformat() if review.expires_at else None, "covers": review.covers,
    }


async def do_link_official(principal: Principal, review: PromotionReview, official_id: str, reason: str) -> Official:
    """Under an active review, a superuser states that a tenant's official is this person (audited)."""
    require_active_grant(principal, review)
    if len((reason or "").strip()) < 4:
        raise InvalidInput(fields={"reason": {"zh": "请说明认定为同一人的依据", "en": "say why they are the same person"}})
    with cross_tenant_reads(f"promotion review {review.id}: link"):
        official = await Official.get(parse_object_id(official_id)) if parse_object_id(official_id) else None
    if official is None:
        raise NotFound({"zh": "没有这名干部", "en": "no such official"})
    if official.id_hash and review.person_key != f"id:{official.id_hash}":
        raise Conflict({"zh": "证件号码不同，不是同一人，不能合并", "en": "a different identity number: not the same person, never merged"})
    await _set_person_key(official, review.person_key, by_hand=True)
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="archive.link",
                          purpose=reason.strip()[:500], subject=review.person_key, review_id=str(review.id),
                          tenant_ids=[official.tenant_id], query={"official_id": str(official.id)}, result_count=1)
    return official


async def do_unlink_official(principal: Principal, review: PromotionReview, official_id: str, reason: str) -> Official:
    require_active_grant(principal, review)
    if not (reason or "").strip():
        raise InvalidInput(fields={"reason": {"zh": "请说明取消认定的理由", "en": "say why the link is withdrawn"}})
    with cross_tenant_reads(f"promotion review {review.id}: unlink"):
        official = await Official.get(parse_object_id(official_id)) if parse_object_id(official_id) else None
    if official is None or not official.linked_by_hand or official.person_key != review.person_key:
        raise NotFound({"zh": "没有这项人工认定", "en": "no such manual link"})
    await _set_person_key(official, default_person_key(str(official.id), official.id_hash), by_hand=False)
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="archive.unlink",
                          purpose=reason.strip()[:500], subject=review.person_key, review_id=str(review.id),
                          tenant_ids=[official.tenant_id], query={"official_id": str(official.id)}, result_count=1)
    return official


async def _set_person_key(official: Official, person_key: str, *, by_hand: bool) -> None:
    from ..store.scoped import TenantScope

    scope = TenantScope(official.tenant_id)
    official.person_key, official.linked_by_hand = person_key, by_hand
    await scope.repo(Official).save(official)
    await scope.repo(ArchiveEntry).update_many({"official_id": str(official.id)}, {"$set": {"person_key": person_key}})
