"""The citizen portal: server-rendered pages that work without JavaScript, on a phone, zh/en."""

from __future__ import annotations

import hmac
import secrets
import time

from quart import Blueprint, render_template, request, session, url_for

from ..auth.permissions import public
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..forms.reading import file_field_names
from ..forms.rendering import parse_form, render_form
from ..forms.schema_safety import FieldError
from ..forms.service import list_forms, require_form
from ..i18n import current_lang
from ..ratelimit import TooManyRequests
from ..tenancy.context import TenantContext
from ..tenancy.resolution import current_tenant
from ..tenancy.service import get_tenant
from . import service
from .http import keyring, receipt_lookup
from .models import Petition, Receipt
from .uploads import request_uploads
from .views import public_view
from .workflow import CITIZEN, FIELD_TITLES

portal_bp = Blueprint("portal", __name__, url_prefix="/t/<tenant_slug>")

FOLLOW_UP_SECONDS = 30 * 60  # how long a looked-up receipt lets the citizen add information
NO_STORE = {"Cache-Control": "no-store"}


def _portal_csrf() -> str:
    if "pcsrf" not in session:
        session["pcsrf"] = secrets.token_urlsafe(24)
    return session["pcsrf"]


async def _page(template: str, status: int = 200, **context):
    ctx = current_tenant()
    html = await render_template(template, tenant=ctx.tenant, home_url=url_for("portal.home", tenant_slug=ctx.tenant.slug), **context)
    return html, status, NO_STORE


@portal_bp.get("/")
@public("the citizen portal's front page")
async def home(tenant_slug):
    return await _page("portal/index.html", forms=await list_forms(current_tenant().scope))


@portal_bp.get("/petition/<key>")
@public("citizens open the petition form")
async def new_petition(tenant_slug, key):
    form = await require_form(current_tenant().scope, key)
    return await _form_page(form, values={}, errors=[], anonymous=False)


SUBMISSION_KEY = "_submission_key"  # the form's hidden idempotency key (service.do_submit_petition)


async def _form_page(form, *, values, errors, anonymous, file_errors=(), status=200):
    lang = current_lang()
    fields = render_form(form.json_schema, lang=lang, values=values, errors=errors)
    general = [{"zh": e.zh, "en": e.en} for e in errors if not e.path]
    # A fresh key on every render: pressing submit twice, or resending after a lost answer, repeats
    # this key and gets the first petition back; a new page is a new petition.
    return await _page("portal/form.html", status, form=form, fields=fields, errors=errors, anonymous=anonymous,
                       general_errors=general, file_errors=list(file_errors), submission_key=secrets.token_urlsafe(16))


@portal_bp.post("/petition/<key>")
@public("citizens file petitions without an account")
async def submit_petition(tenant_slug, key):
    ctx = current_tenant()
    submitted = await request.form
    form = await require_form(ctx.scope, key, submitted.get("_version", type=int))
    anonymous = submitted.get("_anonymous") == "1"
    answers = parse_form(form.json_schema, submitted, files=await request.files)
    try:
        uploads = await request_uploads(form_fields=file_field_names(form.json_schema))
        petition, receipt = await service.do_submit_petition(ctx, keyring(), form, answers=answers, anonymous=anonymous, uploads=uploads,
                                                             idempotency_key=submitted.get(SUBMISSION_KEY) or None)
    except (InvalidInput, Conflict) as invalid:
        general = ("body", service.SUBMISSION_KEY_FIELD)  # not a field of the form: said above the form
        errors = [FieldError(path if path not in general else "", m["zh"], m["en"]) for path, m in invalid.fields.items() if not path.startswith("files")]
        file_errors = [m for path, m in invalid.fields.items() if path.startswith("files")]
        return await _form_page(form, values=answers, errors=errors, anonymous=anonymous, file_errors=file_errors, status=invalid.status)
    return await _page("portal/receipt.html", 201, number=petition.number, receipt=receipt)


@portal_bp.get("/track")
@public("citizens follow their petition with the receipt")
async def track(tenant_slug):
    return await _page("portal/track.html", message=None, typed="")


@portal_bp.post("/track")
@public("citizens follow their petition with the receipt")
async def track_lookup(tenant_slug):
    submitted = await request.form
    try:
        row, petition = await receipt_lookup(submitted.get("receipt", ""))
    except (NotFound, TooManyRequests) as refused:
        status = refused.status  # what was typed stays in the box: a slip of one digit is corrected, not retyped
        return await _page("portal/track.html", status, message=refused.message, typed=submitted.get("receipt", "")[:32])
    session["portal"] = {"pid": row.petition_id, "exp": int(time.time()) + FOLLOW_UP_SECONDS}
    return await _status_page(row, petition)


async def _status_page(row: Receipt, petition: Petition, message=None, status=200, notice=None, typed=None):
    """``message`` is a refusal (red alert box); ``notice`` says a change was made (neutral box); ``typed`` is the
    refused form's text, put back in its boxes so that nothing the citizen wrote is lost."""
    ctx = TenantContext.of(await get_tenant(row.tenant_id))
    workflow = await service.petition_workflow(ctx.scope, petition)
    view = public_view(petition, workflow)
    actions = service.allowed_transitions(workflow, petition, None)
    return await _page("portal/status.html", status, view=view, citizen_actions=actions, field_titles=FIELD_TITLES,
                       portal_csrf=_portal_csrf(), message=message, notice=notice, typed=typed or {})


async def _followed_petition() -> tuple[Receipt, Petition]:
    """The petition this browser looked up with its receipt a moment ago, wherever the case is now."""
    submitted = await request.form
    expected = session.get("pcsrf", "")
    if not expected or not hmac.compare_digest(submitted.get("csrf_token", ""), expected):
        raise NotFound({"zh": "页面已过期，请重新输入回执号", "en": "this page expired; enter your receipt again"})
    followed = session.get("portal") or {}
    if followed.get("exp", 0) < time.time():
        raise NotFound({"zh": "页面已过期，请重新输入回执号", "en": "this page expired; enter your receipt again"})
    found = await service.followed_petition(str(followed.get("pid", "")))
    if found is None:
        raise NotFound()
    return found


async def _follow_up(change, done: dict):
    """Apply ``change(ctx, petition, form)`` to the petition this browser followed; answer with its status page."""
    try:
        row, petition = await _followed_petition()
    except NotFound as expired:
        return await _page("portal/track.html", 403, message=expired.message, typed="")
    ctx = TenantContext.of(await get_tenant(row.tenant_id))
    try:
        petition = await change(ctx, petition, await request.form)
    except DomainError as refused:
        message = next(iter(refused.fields.values()), refused.message)
        typed = {name: value for name, value in (await request.form).items() if name != "csrf_token"}
        return await _status_page(row, petition, message=message, status=refused.status, typed=typed)
    return await _status_page(row, petition, notice=done)


@portal_bp.post("/track/supplement")
@public("citizens add information after looking up their receipt (session-bound, CSRF-checked)")
async def track_supplement(tenant_slug):
    async def supplement(ctx, petition, submitted):
        uploads = await request_uploads()
        return await service.do_add_supplement(ctx, petition, text=submitted.get("text", ""), uploads=uploads)

    return await _follow_up(supplement, {"zh": "已收到您的补充材料。", "en": "Your information was added."})


@portal_bp.post("/track/actions/<key>")
@public("citizens request a review after looking up their receipt (session-bound, CSRF-checked)")
async def track_action(tenant_slug, key):
    async def act(ctx, petition, submitted):
        fields = {k: v for k, v in submitted.items() if k != "csrf_token"}
        return await service.do_transition(ctx, keyring(), petition, key, actor=None, fields=fields)

    return await _follow_up(act, {"zh": "申请已提交。", "en": "Your request was filed."})


__all__ = ["portal_bp", "CITIZEN"]
