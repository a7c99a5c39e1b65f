"""Search routes: the API and staff pages of one tenant (or the tenants below it), duplicates, frequent
words, the tenant's dictionary; and the superusers' audited search across every tenant."""

from __future__ import annotations

from datetime import date

import nh3
from markupsafe import Markup
from quart import Blueprint, current_app, redirect, render_template, request, url_for
from quart_schema import document_request
from pydantic import BaseModel, ConfigDict, Field

from xinfang.audit.service import do_append_audit
from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires, superuser_only
from xinfang.errors import InvalidInput
from xinfang.http import parse_body
from xinfang.http import staff_page
from xinfang.store.documents import cross_tenant_reads
from xinfang.tenancy.config_versions import ConfigActor
from xinfang.tenancy.models import Tenant
from xinfang.tenancy.service import descendants_of
from xinfang.worker import send_task_async
from xinfang.tenancy.resolution import current_tenant

from . import duplicates, service
from .models import CandidateStatus, DuplicateCandidate, SearchDictionary
from .tasks import REBUILD

search_api_bp = Blueprint("search", __name__, url_prefix="/t/<tenant_slug>/api")
search_pages_bp = Blueprint("search_pages", __name__, url_prefix="/t/<tenant_slug>/staff", template_folder="templates")
platform_search_bp = Blueprint("platform_search", __name__, url_prefix="/api/platform")
REASON_NAMES = {"same_petitioner": {"zh": "同一信访人", "en": "same petitioner"}, "same_subject": {"zh": "同一被反映人", "en": "same subject"},
                "similar_text": {"zh": "内容相近", "en": "similar text"}, "collective": {"zh": "多人反映同一事项（集体访）", "en": "many petitioners: collective"}}


class DictionaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(default_factory=list, max_length=2000)
    stop_words: list[str] | None = Field(default=None, max_length=500)  # None: keep the tenant's stop words


def _data_dir():
    return current_app.extensions["xinfang.settings"].data_dir


async def _searched_tenants(include_below: bool) -> list[Tenant]:
    """This tenant, and with ``scope=below`` every tenant under it (a prefecture searches its counties)."""
    tenant = current_tenant().tenant
    if not include_below:
        return [tenant]
    return [tenant, *await descendants_of(tenant)]


@search_api_bp.get("/search")
@requires(Permission.PETITIONS_READ)
async def search_petitions(tenant_slug):
    """Full-text search: q (words, "a phrase", AND/OR/NOT, field:value), filters, from/to, sort, page; scope=below."""
    tenants = await _searched_tenants(request.args.get("scope") == "below")
    return await service.search(_data_dir(), tenants, service.parse_request(request.args))


@search_api_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words(tenant_slug):
    """Top and rising words in the last N days (days=7..365, default 30) against the N days before."""
    days, end = _window()
    return await service.frequent_words(_data_dir(), current_tenant().tenant_id, days=days, end=end)


def _window() -> tuple[int, date | None]:
    days = request.args.get("days", "30")
    if not days.isdigit() or not 7 <= int(days) <= 365:
        raise InvalidInput(fields={"days": {"zh": "统计天数应为 7 到 365", "en": "days is 7 to 365"}})
    try:
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else None
    except ValueError:
        raise InvalidInput(fields={"end": {"zh": "日期格式应为 YYYY-MM-DD", "en": "end is YYYY-MM-DD"}}) from None
    return int(days), end


@search_api_bp.get("/petitions/<petition_id>/duplicates")
@requires(Permission.PETITIONS_READ)
async def petition_duplicates(tenant_slug, petition_id):
    """Likely earlier petitions on the same matter, with the reasons and the decision taken on each."""
    from xinfang.petitions.service import access_petition

    petition = await access_petition(current_tenant(), petition_id)
    rows = await current_tenant().scope.repo(DuplicateCandidate).find({"petition_id": str(petition.id)}).sort("-score").to_list()
    return {"candidates": [_candidate_view(c) for c in rows]}


def _candidate_view(c: DuplicateCandidate) -> dict:
    return {"id": str(c.id), "other_id": c.other_id, "other_number": c.other_number, "other_title": c.other_title,
            "same_tenant": c.other_tenant_id == c.tenant_id, "reasons": c.reasons, "similarity": c.similarity, "score": c.score,
            "likely": duplicates.is_likely_duplicate(c.score), "status": c.status.value, "decided_by": c.decided_by}


@search_api_bp.post("/duplicates/<candidate_id>/<decision>")
@requires(Permission.PETITIONS_ACT)
async def decide_duplicate(tenant_slug, candidate_id, decision):
    """confirm (a repeat petition, 重信重访) or dismiss (not the same matter)."""
    if decision not in ("confirm", "dismiss"):
        raise InvalidInput(fields={"decision": {"zh": "应为 confirm 或 dismiss", "en": "confirm or dismiss"}})
    candidate = await service.do_decide_candidate(current_tenant().scope, candidate_id, decision == "confirm", current_principal().display_name,
                                                 current_principal().account_id)
    return _candidate_view(candidate)


@search_api_bp.get("/search-dictionary")
@requires(Permission.PETITIONS_READ)
async def show_dictionary(tenant_slug):
    row = await current_tenant().scope.repo(SearchDictionary).find_one({})
    return {"words": row.words if row else [], "stop_words": row.stop_words if row else []}


@search_api_bp.put("/search-dictionary")
@requires(Permission.SEARCH_CONFIGURE)
@document_request(DictionaryIn)
async def set_dictionary(tenant_slug):
    """The tenant's own words (place names, units, local terms); the index is rebuilt with them."""
    body = await parse_body(DictionaryIn)
    row = await service.do_set_dictionary(current_tenant().scope, body.words, stop_words=body.stop_words,
                                          actor=ConfigActor.of(current_principal()))
    await send_task_async(current_app.extensions["xinfang.celery"], REBUILD, [current_tenant().tenant_id],
                          current_app.extensions["xinfang.settings"].search_queue)
    return {"words": row.words, "stop_words": row.stop_words, "rebuilding": True}


# ----------------------------------------------------------------------------- pages


_page = staff_page


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
    choices = await service.filter_choices([current_tenant().tenant, *below])  # what every filter offers, in words
    if any(args.get(k) for k in ("q", *service.FILTERS, "from", "to")):
        try:
            results = await service.search(_data_dir(), await _searched_tenants(args.get("scope") == "below"), service.parse_request(args))
        except InvalidInput as refused:
            message = refused
        else:
            _only_marks(results)
    return await _page("staff/search.html", results=results, args=args, message=message, has_below=bool(below), filters=service.FILTERS,
                       choices=choices)


@search_pages_bp.get("/frequent-words")
@requires(Permission.PETITIONS_READ)
async def frequent_words_page(tenant_slug):
    days, end = _window()
    words = await service.frequent_words(_data_dir(), current_tenant().tenant_id, days=days, end=end)
    biggest = max([w["count"] for w in words["top"]] + [1])
    return await _page("staff/frequent_words.html", words=words, days=days, biggest=biggest)


@search_pages_bp.post("/duplicates/<candidate_id>/<decision>")
@requires(Permission.PETITIONS_ACT)
async def decide_duplicate_submit(tenant_slug, candidate_id, decision):
    if decision not in ("confirm", "dismiss"):
        raise InvalidInput(fields={"decision": {"zh": "应为 confirm 或 dismiss", "en": "confirm or dismiss"}})
    candidate = await service.do_decide_candidate(current_tenant().scope, candidate_id, decision == "confirm", current_principal().display_name,
                                                 current_principal().account_id)
    return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=candidate.petition_id))


async def duplicates_panel(tenant, petition, principal) -> Markup | None:
    """The petition page's section: likely duplicates with their reasons, confirm or dismiss each."""
    from xinfang.store.scoped import TenantScope

    repo = TenantScope(tenant.id).repo(DuplicateCandidate)
    rows = await repo.find({"petition_id": str(petition.id)}).sort("-score").to_list()
    # Later petitions staff confirmed as repeats of this one (重信重访), shown on the earlier one too.
    repeats = await repo.find({"other_id": str(petition.id), "status": CandidateStatus.CONFIRMED.value}).to_list()
    if not rows and not repeats:
        return None
    html = await render_template("staff/_duplicates.html", tenant=tenant, candidates=[_candidate_view(c) for c in rows],
                                 repeats=repeats, reason_names=REASON_NAMES, can_act=Permission.PETITIONS_ACT in principal.permissions,
                                 statuses=CandidateStatus)
    return Markup(html)


# ----------------------------------------------------------------------------- superusers


@platform_search_bp.get("/search")
@superuser_only(Permission.PLATFORM_CROSS_TENANT_READ)
async def platform_search():
    """Search every tenant's petitions (purpose required; audited before the answer)."""
    purpose = (request.args.get("purpose") or "").strip()
    if len(purpose) < 4:
        raise InvalidInput(fields={"purpose": {"zh": "跨单位检索必须写明用途", "en": "a cross-tenant search must state its purpose"}})
    search_request = service.parse_request(request.args)
    with cross_tenant_reads("superuser search"):
        tenants = await Tenant.find({"active": True}).sort("slug").to_list()
    result = await service.search(_data_dir(), tenants, search_request)
    principal = current_principal()
    answered = {item["tenant"]["slug"] for item in result["items"]}
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action="cross_tenant.search", purpose=purpose[:500],
                          query={"q": search_request.q, **search_request.filters},
                          tenant_ids={str(t.id) for t in tenants if t.slug in answered}, result_count=result["total"])
    return result
