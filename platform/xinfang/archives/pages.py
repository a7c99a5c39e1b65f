"""Archive pages: the staff console's officials and archives, and the superusers' promotion reviews."""

from __future__ import annotations

from bson import ObjectId
from quart import Blueprint, current_app, redirect, render_template, request, url_for

from ..auth.access import current_principal, open_while_restricted, start_session
from ..auth.login_guard import check_login_form, login_form_token, safe_next
from ..auth.models import PlatformAccount, StaffAccount
from ..auth.permissions import Permission, public, requires, superuser_only
from ..auth.service import authenticate_superuser, guarded_login
from ..errors import DomainError, InvalidInput
from ..forms.reading import answer_rows
from ..forms.rendering import parse_form, render_form
from ..forms.schema_safety import FieldError
from ..http import NO_STORE, refusal_message, staff_page
from ..i18n import current_lang
from ..petitions.http import keyring
from ..sso.http import end_platform_session
from ..tenancy.resolution import current_tenant
from . import reviews, service
from .models import ArchiveDocumentType, Official, PromotionReview

archive_pages_bp = Blueprint("archive_pages", __name__, url_prefix="/t/<tenant_slug>/staff")
review_pages_bp = Blueprint("review_pages", __name__, url_prefix="/platform")


@archive_pages_bp.get("/officials")
@requires(Permission.ARCHIVES_READ)
async def officials_page(tenant_slug, message=None, status=200, values=None):
    rows = await service.find_officials(current_tenant().scope, request.args.get("name"))
    return await staff_page("staff/officials.html", status, officials=rows, name=request.args.get("name", ""), message=message,
                            values=values or {})


@archive_pages_bp.post("/officials")
@requires(Permission.ARCHIVES_WRITE)
async def register_official_submit(tenant_slug):
    form = await request.form
    fields = {k: (form.get(k) or "").strip() for k in ("name", "position", "unit", "rank_level", "id_number")}
    try:
        official = await service.do_register_official(current_tenant().scope, keyring(), **fields, actor=current_principal())
    except DomainError as refused:
        return await officials_page(tenant_slug, message=refusal_message(refused), status=refused.status, values=fields | {"id_number": ""})
    return redirect(url_for("archive_pages.official_page", tenant_slug=tenant_slug, official_id=str(official.id)))


@archive_pages_bp.get("/officials/<official_id>")
@requires(Permission.ARCHIVES_READ)
async def official_page(tenant_slug, official_id, message=None, status=200, doc_values=None, doc_errors=None):
    """The archive itself: reading it is audited (the purpose is asked for on the way in, if any)."""
    scope = current_tenant().scope
    official = await service.access_official(scope, official_id)
    entries = await service.read_archive(scope, official, current_principal(), request.args.get("purpose", ""))
    types = await scope.repo(ArchiveDocumentType).find({}).sort("key").to_list()
    chosen = next((t for t in types if t.key == (request.args.get("type") or (doc_values or {}).get("_type"))), types[0] if types else None)
    document_form = render_form(chosen.json_schema, lang=current_lang(), values=doc_values, errors=doc_errors) if chosen else None
    by_key = {t.key: t.json_schema for t in types}
    fields = {str(e.id): document_fields(by_key.get(e.type_key) or {}, e.data, current_lang()) for e in entries if e.data}
    return await staff_page("staff/official.html", status, official=official, entries=entries, types=types, chosen=chosen,
                            document_form=document_form, message=message, document_fields=fields,
                            can_write=Permission.ARCHIVES_WRITE in current_principal().permissions)


def document_fields(schema: dict, data: dict, lang: str) -> list[tuple[str, str]]:
    """A filed document's answers as (field label, answer) in the reader's language, from its type's form model:
    labels, choices' labels, regions by name, amounts with their unit; never the schema's keys or constants."""
    return answer_rows(schema, data, lang)


@archive_pages_bp.post("/officials/<official_id>/documents")
@requires(Permission.ARCHIVES_WRITE)
async def add_document_submit(tenant_slug, official_id):
    scope, form = current_tenant().scope, await request.form
    official = await service.access_official(scope, official_id)
    doc_type = await scope.repo(ArchiveDocumentType).find_one({"key": form.get("_type", "")})
    data = parse_form(doc_type.json_schema, form) if doc_type else {}
    try:
        await service.do_add_document(scope, official, type_key=form.get("_type", ""), on=form.get("_on", ""), data=data,
                                      actor=current_principal())
    except DomainError as refused:
        errors = [FieldError(path.removeprefix("data.").removeprefix("data"), m["zh"], m["en"]) for path, m in refused.fields.items()]
        return await official_page(tenant_slug, official_id, message=refusal_message(refused), status=refused.status,
                                   doc_values=dict(data, _type=form.get("_type", "")), doc_errors=errors)
    return redirect(url_for("archive_pages.official_page", tenant_slug=tenant_slug, official_id=official_id))


@archive_pages_bp.get("/archive-access-log")
@requires(Permission.ARCHIVES_READ)
async def access_log_page(tenant_slug):
    """Who read the archives: each reader by name (staff of this tenant, or a platform superuser), each action in words."""
    scope = current_tenant().scope
    records = await service.access_log(scope, limit=200)
    usernames = sorted({r["actor_username"] for r in records})
    names = {a.username: a.display_name for a in await PlatformAccount.find({"username": {"$in": usernames}}).to_list()}
    names |= {a.username: a.display_name for a in await scope.repo(StaffAccount).find({"username": {"$in": usernames}}).to_list()}
    subjects = sorted({r["subject"] for r in records if r.get("subject")})  # whose archive: an official's id, or a review's person
    ids = [ObjectId(s) for s in subjects if ObjectId.is_valid(s)]
    whose: dict[str, str] = {}
    for o in await scope.repo(Official).find({"$or": [{"_id": {"$in": ids}}, {"person_key": {"$in": subjects}}]}).to_list():
        whose[str(o.id)] = o.name
        whose.setdefault(o.person_key, o.name)
    return await staff_page("staff/archive_access.html", records=records, names=names, whose=whose,
                            own_read=(service.OWN_READ, "本单位查阅 own tenant's archive"))


# ----------------------------------------------------------------------------- superusers


async def _platform_page(template: str, status: int = 200, **context):
    principal = context.pop("principal", None)
    html = await render_template(template, tenant=None, principal=principal, home_url=url_for("review_pages.reviews_page"),
                                 purposes=reviews.PURPOSES, **context)
    return html, status, NO_STORE


@review_pages_bp.get("/login")
@public("superusers log in here")
async def login_page():
    return await _platform_page("platform/login.html", message=None, next=request.args.get("next", ""), login_csrf=login_form_token())


@review_pages_bp.post("/login")
@public("superusers log in here")
async def login_submit():
    form = await request.form
    username = form.get("username", "")
    try:
        check_login_form(form)
        account: PlatformAccount = await guarded_login("platform", username, request.remote_addr,
                                                       lambda: authenticate_superuser(username, form.get("password", "")))
    except DomainError as refused:
        return await _platform_page("platform/login.html", refused.status, message=refused.message, next=form.get("next", ""),
                                    login_csrf=login_form_token())
    await start_session(account)
    return redirect(safe_next(form.get("next", ""), ("/platform/",)) or url_for("review_pages.reviews_page"))


@review_pages_bp.post("/logout")
@superuser_only(Permission.PLATFORM_ADMIN)
@open_while_restricted
async def logout_submit():
    """The platform pages' 退出: end this browser's session (the API has DELETE /api/platform/session); a session
    opened through the platform's sign-on provider ends there too (sso/http.py)."""
    return redirect(await end_platform_session())


@review_pages_bp.get("/reviews")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def reviews_page(message=None, status=200, values=None, found=None):
    rows = await PromotionReview.find({}).sort("-created_at").limit(200).to_list()
    return await _platform_page("platform/reviews.html", status, principal=current_principal(), reviews=[reviews.review_view(r) for r in rows],
                                message=message, values=values or {}, found=found)


REVIEW_FIELDS = ("official_name", "unit", "purpose", "reference_no", "justification")


@review_pages_bp.post("/reviews")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def open_review_submit():
    form = await request.form
    fields = {k: (form.get(k) or "").strip() for k in (*REVIEW_FIELDS, "id_number", "official_id")}
    try:
        review = await reviews.do_open_review(current_principal(), keyring(), current_app.extensions["xinfang.settings"],
                                              **fields | {"official_id": fields["official_id"] or None})
    except DomainError as refused:
        return await reviews_page(message=refusal_message(refused), status=refused.status, values=fields | {"id_number": ""})
    return redirect(url_for("review_pages.review_page", review_id=str(review.id)))


@review_pages_bp.post("/reviews/find")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def find_officials_submit():
    """Officials registered under the name (and unit) in every tenant, to open the review on one (audited)."""
    form = await request.form
    fields = {k: (form.get(k) or "").strip() for k in REVIEW_FIELDS}
    try:
        found = await reviews.find_officials_across_tenants(current_principal(), **fields)
    except DomainError as refused:
        return await reviews_page(message=refusal_message(refused), status=refused.status, values=fields)
    return await reviews_page(values=fields, found=found)


@review_pages_bp.get("/reviews/<review_id>")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def review_page(review_id, message=None, status=200):
    principal = current_principal()
    review = await reviews.access_review(principal, review_id)
    try:
        reviews.require_active_grant(principal, review)
        can_read = True
    except DomainError:
        can_read = False
    return await _platform_page("platform/review.html", status, principal=principal, review=reviews.review_view(review),
                                can_read=can_read, is_requester=principal.account_id == review.requested_by, message=message)


@review_pages_bp.post("/reviews/<review_id>/<verb>")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def review_step(review_id, verb):
    principal = current_principal()
    review = await reviews.access_review(principal, review_id)
    settings = current_app.extensions["xinfang.settings"]
    steps = {"approve": lambda: reviews.do_approve_review(principal, settings, review),
             "reject": lambda: reviews.do_close_review(principal, review, reject=True),
             "close": lambda: reviews.do_close_review(principal, review)}
    try:
        if verb not in steps:
            raise InvalidInput(fields={"verb": {"zh": "未知的操作", "en": f"unknown step {verb!r}"}})
        await steps[verb]()
    except DomainError as refused:
        return await review_page(review_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("review_pages.review_page", review_id=review_id))


@review_pages_bp.get("/reviews/<review_id>/opinion")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def opinion_page(review_id, message=None, status=200):
    """The consolidated integrity opinion as a page (audited before it is shown), with the same-name records to link."""
    principal = current_principal()
    review = await reviews.access_review(principal, review_id)
    opinion = await reviews.consolidated_opinion(principal, review, form="page")
    return await _platform_page("platform/opinion.html", status, principal=principal, opinion=opinion, message=message)


@review_pages_bp.post("/reviews/<review_id>/links")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def link_official_submit(review_id):
    """State that a same-name official is this person (a reason is required; audited)."""
    return await _link_step(review_id, lambda principal, review, form: reviews.do_link_official(
        principal, review, form.get("official_id", ""), form.get("reason", "")))


@review_pages_bp.post("/reviews/<review_id>/links/<official_id>/unlink")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def unlink_official_submit(review_id, official_id):
    """Withdraw a link made by hand (a reason is required; audited)."""
    return await _link_step(review_id, lambda principal, review, form: reviews.do_unlink_official(
        principal, review, official_id, form.get("reason", "")))


async def _link_step(review_id, step):
    principal, form = current_principal(), await request.form
    review = await reviews.access_review(principal, review_id)
    try:
        await step(principal, review, form)
    except DomainError as refused:
        if refused.status == 403:  # no active grant: nothing to show the step on
            raise
        return await opinion_page(review_id, message=refusal_message(refused), status=refused.status)
    return redirect(url_for("review_pages.opinion_page", review_id=review_id))
