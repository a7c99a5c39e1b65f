"""The public integrity portal's pages: server-rendered, no JavaScript, cacheable where no session is involved.

Pages that show only published items answer ``Cache-Control: public, max-age=60`` with an ETag of their
bytes (a repeat visit with If-None-Match gets a 304) and ``Vary: Cookie`` (the language choice is a cookie).
The suggestion form carries a CSRF token bound to the browser's session, so it is never cached.
Each answer says how long its rendering took (``Server-Timing: render;dur=<ms>``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from quart import Blueprint, Response, render_template, request, session, url_for

from ..auth.permissions import public
from ..errors import InvalidInput, NotFound
from ..ratelimit import TooManyRequests, hit
from ..tenancy.resolution import current_tenant
from ..petitions.uploads import content_disposition
from . import queries, richtext, service
from .models import KIND_WORDS, ONE_KIND_WORDS, PortalFile
from .text import paragraphs
from .theme import logo_of, portal_theme

public_portal_bp = Blueprint("public_portal", __name__, url_prefix="/t/<tenant_slug>/integrity")

SECTIONS = {"notices": "notice", "cases": "case", "policies": "policy", "suggestions": "suggestion"}
SECTION_OF = {kind: section for section, kind in SECTIONS.items()}
MAX_AGE = 60
NO_STORE = {"Cache-Control": "no-store"}
SUGGESTIONS_PER_HOUR = 5  # from one address, per tenant
CSRF_KEY = "integrity_csrf"
CORRECT_MARKED = {"zh": "请修改标出的内容后再提交。", "en": "Please correct the fields marked below."}


async def _render(template: str, **context) -> tuple[str, float]:
    ctx = current_tenant()
    theme = await portal_theme(ctx.scope)
    started = time.perf_counter()
    html = await render_template(template, tenant=ctx.tenant, theme=theme, home_url=url_for("public_portal.home", tenant_slug=ctx.tenant.slug),
                                 sections=SECTIONS, section_of=SECTION_OF, kind_words=KIND_WORDS, one_kind_words=ONE_KIND_WORDS,
                                 paragraphs=paragraphs, rich=richtext.render, **context)
    return html, (time.perf_counter() - started) * 1000


async def cached_page(template: str, **context) -> Response:
    """A page that shows only what is public: cacheable by anyone for a minute, revalidated by its ETag."""
    html, ms = await _render(template, **context)
    body = html.encode()
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(body, status=200, content_type="text/html; charset=utf-8")
    response.headers["Server-Timing"] = f"render;dur={ms:.1f}"
    if request.args.get("lang"):  # a language switch sets a cookie: not an answer to share
        response.headers.update(NO_STORE)
        return response
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.vary.add("Cookie")
    if request.if_none_match.contains(etag):
        response.status_code = 304
        response.set_data(b"")
    return response


async def private_page(template: str, status: int = 200, **context):
    html, ms = await _render(template, **context)
    return html, status, {**NO_STORE, "Server-Timing": f"render;dur={ms:.1f}"}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 4 and int(raw) > 0 else 1


def _kind(section: str) -> str:
    if section not in SECTIONS:
        raise NotFound()
    return SECTIONS[section]


@public_portal_bp.get("/")
@public("the integrity portal's front page: published announcements, cases and policies")
async def home(tenant_slug):
    scope = current_tenant().scope
    latest = {kind: (await queries.public_items(scope, kind, size=5))[0] for kind in SECTIONS.values()}
    return await cached_page("public/home.html", latest=latest)


@public_portal_bp.get("/<section>/")
@public("a section of the integrity portal: its published items, newest first; policies searchable")
async def section_page(tenant_slug, section):
    kind, page = _kind(section), _page_number()
    scope = current_tenant().scope
    query = (request.args.get("q") or "").strip()[:100]
    if kind == "policy" and query:
        started = time.perf_counter()
        hits = await queries.search_policies(scope, query)
        return await cached_page("public/search.html", section=section, kind=kind, query=query, hits=hits,
                                 search_ms=(time.perf_counter() - started) * 1000)
    rows, more = await queries.public_items(scope, kind, page=page)
    return await cached_page("public/section.html", section=section, kind=kind, rows=rows, page=page, more=more, query="")


@public_portal_bp.get("/<section>/<item_id>")
@public("one published item of the integrity portal")
async def item_page(tenant_slug, section, item_id):
    scope = current_tenant().scope
    row = await queries.public_item(scope, _kind(section), item_id)
    files = await service.files_of(scope, str(row.id))
    return await cached_page("public/item.html", section=section, kind=row.kind, row=row, files=files)


def file_response(stored: PortalFile, *, public: bool) -> Response:
    """A portal file as what its bytes are: an image shown in the page, a PDF downloaded under its name; never sniffed
    into anything else, never run as a page (a sandbox CSP). Public files are cached a minute (a withdrawn item's
    files disappear with it), staff previews never."""
    disposition = "inline" if stored.content_type.startswith("image/") else content_disposition(stored.filename)
    response = Response(stored.data, status=200, content_type=stored.content_type)
    response.headers.update({"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})
    if public:
        response.set_etag(stored.digest[:32])
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
        if request.if_none_match.contains(stored.digest[:32]):
            response.status_code = 304
            response.set_data(b"")
    else:
        response.headers.update(NO_STORE)
    return response


@public_portal_bp.get("/<section>/<item_id>/files/<file_id>")
@public("a PDF or image of one published item (gone as soon as the item is withdrawn)")
async def file_page(tenant_slug, section, item_id, file_id):
    scope = current_tenant().scope
    row = await queries.public_item(scope, _kind(section), item_id)
    return file_response(await service.access_file(scope, row, file_id), public=True)


def _csrf() -> str:
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


@public_portal_bp.get("/suggestions/new")
@public("citizens open the form for a public suggestion (人民建议征集)")
async def suggestion_form(tenant_slug):
    return await private_page("public/suggest.html", values={}, errors={}, csrf=_csrf())


@public_portal_bp.post("/suggestions/new")
@public("citizens send a public suggestion without an account (CSRF-checked, rate-limited)")
async def suggestion_submit(tenant_slug):
    form = await request.form
    values = {name: form.get(name, "") for name in service.SUGGESTION_LIMITS}
    expected = session.get(CSRF_KEY, "")
    if not expected or not hmac.compare_digest(form.get("csrf_token", ""), expected):
        message = {"zh": "页面已过期，请重新提交", "en": "this page expired; please send it again"}
        return await private_page("public/suggest.html", 403, values=values, errors={}, message=message, csrf=_csrf())
    ctx = current_tenant()
    try:
        service.checked_suggestion(values)
        await hit(f"suggest:{ctx.tenant_id}:{request.remote_addr}", limit=SUGGESTIONS_PER_HOUR, window_seconds=3600)
        await service.do_submit_suggestion(ctx.scope, values)
    except InvalidInput as invalid:  # said as the petition form says it ("字段" is the programmers' word)
        return await private_page("public/suggest.html", invalid.status, values=values, errors=invalid.fields, message=CORRECT_MARKED,
                                  csrf=_csrf())
    except TooManyRequests as refused:
        return await private_page("public/suggest.html", 429, values=values, errors={}, message=refused.message, csrf=_csrf())
    return await private_page("public/suggested.html", 201)


@public_portal_bp.get("/logo/<digest>")
@public("the integrity portal's logo image (named by its content's digest, so cached for good)")
async def logo(tenant_slug, digest):
    row = await logo_of(current_tenant().scope, digest)
    if row is None:
        raise NotFound()
    return row.data, 200, {"Content-Type": row.content_type, "Cache-Control": "public, max-age=31536000, immutable"}
