"""Search routes: the API and the staff page of one tenant (or the tenants below it); and the superusers'
audited search across every tenant. Frequent words, repeats and the dictionary have their own route modules."""

from __future__ import annotations

import asyncio
import logging
import threading

import nh3
from markupsafe import Markup
from quart import request

from xinfang.audit.service import do_append_audit
from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires, superuser_only
from xinfang.errors import InvalidInput
from xinfang.http import staff_page
from xinfang.store.documents import cross_tenant_reads
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.resolution import current_tenant
from xinfang.tenancy.service import descendants_of

from . import items, querying
from .analysis import fold, segment, stop_words
from .choices import filter_choices
from .blueprints import data_dir, platform_search_bp, search_api_bp, search_pages_bp


async def _searched_tenants(include_below: bool) -> list[Tenant]:
    """This tenant, and with ``scope=below`` every tenant under it (a prefecture searches its counties)."""
    tenant = current_tenant().tenant
    if not include_below:
        return [tenant]
    return [tenant, *await descendants_of(tenant)]


log = logging.getLogger(__name__)


def warm_up() -> None:
    """Load what the first search would load lazily: jieba's dictionary with the domain words (about 0.6 s),
    the traditional-to-simplified table and OpenCC, the stop words."""
    try:
        segment("物業管理公司亂收費")
        fold("物業")
        stop_words()
    except Exception:  # a failed warm-up only leaves the first search slower
        log.exception("search warm-up failed")


@search_pages_bp.before_app_serving
async def warm_up_in_background() -> None:
    """Once per web process as it starts serving, in a thread of its own: start-up and the event loop do not
    wait for it (a first search meanwhile waits only for what it needs, behind jieba's own lock)."""
    threading.Thread(target=warm_up, name="search-warm-up", daemon=True).start()


@search_api_bp.get("/search")
@requires(Permission.PETITIONS_READ)
async def search_petitions(tenant_slug):
    """Full-text search: q (words, "a phrase", AND/OR/NOT, field:value), filters, from/to, sort, page; scope=below."""
    tenants = await _searched_tenants(request.args.get("scope") == "below")
    result = await querying.search(data_dir(), tenants, querying.parse_request(request.args))
    if request.args.get("q"):  # petitions' total unchanged; this body's own documents and records beside them
        result["documents_and_records"] = await _documents_and_records(request.args.get("q", ""))
    return result


async def _documents_and_records(q: str) -> list[dict]:
    """This body's own official documents and archived records holding the words, of the kinds the reader may open
    (公文: documents.read, 归档记录: records.read): no hit, and so no link, that the reader's role cannot follow."""
    principal, tenant = current_principal(), current_tenant().tenant
    kinds = {kind for kind, permission in (("document", Permission.DOCUMENTS_READ), ("record", Permission.RECORDS_READ))
             if principal.can(permission, str(tenant.id))}
    return await asyncio.to_thread(items.search_items, data_dir(), str(tenant.id), q[:200], kinds, tenant_slug=tenant.slug)


# ----------------------------------------------------------------------------- pages


def _only_marks(results: dict) -> None:
    """Highlights are citizens' words with <mark> around the matches. Whoosh escapes the words; the
    page still lets nothing but <mark> through, should that ever change."""
    for item in results["items"]:
        for field, html in item["highlights"].items():
            if html:
                item["highlights"][field] = Markup(nh3.clean(html, tags={"mark"}, attributes={"mark": {"class"}}, link_rel=None))


@search_pages_bp.get("/search")
@requires(Permission.PETITIONS_READ)
async def search_page(tenant_slug):
    results, message = None, None
    args = request.args
    below = await descendants_of(current_tenant().tenant)
    choices = await filter_choices([current_tenant().tenant, *below])  # what every filter offers, in words
    if any(args.get(k) for k in ("q", *querying.FILTERS, "from", "to")):
        try:
            results = await querying.search(data_dir(), await _searched_tenants(args.get("scope") == "below"), querying.parse_request(args))
        except InvalidInput as refused:
            message = refused
        else:
            _only_marks(results)
            if args.get("q"):
                results["documents_and_records"] = await _documents_and_records(args.get("q", ""))
    kept = {key: args[key] for key in (*querying.FILTERS, "from", "to", "sort", "scope", "page_size") if args.get(key)}  # a suggestion keeps the filters
    return await staff_page("staff/search.html", results=results, args=args, message=message, has_below=bool(below), filters=querying.FILTERS,
                       choices=choices, kept_args=kept)


# ----------------------------------------------------------------------------- superusers


@platform_search_bp.get("/search")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def platform_search():
    """Search every tenant's petitions (purpose required; audited before the answer)."""
    purpose = (request.args.get("purpose") or "").strip()
    if len(purpose) < 4:
        raise InvalidInput(fields={"purpose": {"zh": "跨单位检索必须写明用途", "en": "a cross-tenant search must state its purpose"}})
    search_request = querying.parse_request(request.args)
    with cross_tenant_reads("superuser search"):
        tenants = await Tenant.find({"active": True}).sort("slug").to_list()
    result = await querying.search(data_dir(), tenants, search_request)
    principal = current_principal()
    answered = {item["tenant"]["slug"] for item in result["items"]}
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="cross_tenant.search", purpose=purpose[:500],
                          query={"q": search_request.q, **search_request.filters},
                          tenant_ids={str(t.id) for t in tenants if t.slug in answered}, result_count=result["total"])
    return result
