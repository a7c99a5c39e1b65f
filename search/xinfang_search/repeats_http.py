"""Repeat petitions' routes: a petition's likely duplicates (API and the petition page's panel), and
staff's decision on each."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup
from quart import redirect, render_template, url_for

from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires
from xinfang.errors import InvalidInput
from xinfang.petitions.models import Petition
from xinfang.store.documents import utcnow
from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.resolution import current_tenant
from xinfang.timefmt import as_moment, zone

from . import clusters, duplicates, matters, repeat_decisions, repeats
from .blueprints import data_dir, search_api_bp, search_pages_bp
from .side_stores import stores
from .models import CandidateStatus, DuplicateCandidate

REASON_NAMES = {"same_petitioner": {"zh": "同一信访人", "en": "same petitioner"}, "same_subject": {"zh": "同一被反映人", "en": "same subject"},
                "same_place": {"zh": "同一地点、同一问题", "en": "same place and issue"},
                "similar_text": {"zh": "内容相近", "en": "similar text"}, repeats.MATTER: {"zh": "归入同一事项", "en": "joined to this matter"}, "collective": {"zh": "多人反映同一事项（集体访）", "en": "many petitioners: collective"},
                repeats.OTHER_BODY: {"zh": "其他单位已收到（全系统判重）", "en": "received by another body (system-wide check)"}}


@search_api_bp.get("/petitions/<petition_id>/duplicates")
@requires(Permission.PETITIONS_READ)
async def petition_duplicates(tenant_slug, petition_id):
    """Likely earlier petitions on the same matter, with the reasons and the decision taken on each."""
    from xinfang.petitions.service import access_petition

    petition = await access_petition(current_tenant(), petition_id)
    rows = await current_tenant().scope.repo(DuplicateCandidate).find({"petition_id": str(petition.id)}).sort("-score").to_list()
    tenant = current_tenant()
    matter = await _matter(tenant.scope, str(petition.id))
    return {"candidates": _marked(await _candidate_views(tenant.scope, rows, tenant.tenant.settings.time_zone), matter),
            "matter": {k: matter[k] for k in ("petitions", "petitioners", "collective")}}


async def _matter(scope: TenantScope, petition_id: str) -> dict:
    return await repeats.matter_of(scope, stores(data_dir()).fingerprints, petition_id)


def _marked(views: list[dict], matter: dict) -> list[dict]:
    """The candidates of this petition's matter say "collective" when the matter is one (read now, not when checked)."""
    for view in views:
        view["reasons"] = [r for r in view["reasons"] if r != "collective"]
        if matter["collective"] and view["other_id"] in matter["ids"]:
            view["reasons"].append("collective")
    return views


async def _candidate_views(scope: TenantScope, rows: list[DuplicateCandidate], time_zone: str) -> list[dict]:
    """The candidates' views, each of this body's petitions with when it was received and its state (one read for all):
    staff judge a likely repeat by its date as much as by its title."""
    views = [await _candidate_view(c) for c in rows]
    ids = [oid for oid in (parse_object_id(v["other_id"]) for v in views if v["same_tenant"] and v["other_id"]) if oid]
    others = {str(p.id): p for p in await scope.repo(Petition).find({"_id": {"$in": ids}}).to_list()} if ids else {}
    for view in views:
        other = others.get(view["other_id"] or "")
        view.update(other_received_on=received_day(other, time_zone).isoformat() if other else None,
                    other_state=other.state if other else None)
    return views


def received_day(petition: Petition, time_zone: str) -> date:
    """The day a petition came in, as its body's calendar says: the date staff entered, else the day it was filed."""
    if petition.received_on:
        return date.fromisoformat(petition.received_on)
    return as_moment(petition.created_at).astimezone(zone(time_zone)).date()


async def _candidate_view(c: DuplicateCandidate) -> dict:
    view = {"id": str(c.id), "other_id": c.other_id, "other_number": c.other_number, "other_title": c.other_title,
            "same_tenant": c.other_tenant_id == c.tenant_id, "reasons": c.reasons, "similarity": c.similarity, "score": c.score,
            "likely": duplicates.is_likely_duplicate(c.score), "status": c.status.value, "decided_by": c.decided_by, "other_body": None}
    if repeats.OTHER_BODY in c.reasons:
        # Another body's petition outside this one's line (全系统判重): that it exists, where, when and in which state,
        # and nothing that points into it (its id, number and title stay out, whatever the row holds).
        view.update(other_id=None, other_number="", other_title="", other_body=await matters.other_body(data_dir(), c))
    return view


@search_api_bp.post("/duplicates/<candidate_id>/<decision>")
@requires(Permission.PETITIONS_ACT)
async def decide_duplicate(tenant_slug, candidate_id, decision):
    """confirm (a repeat petition, 重信重访) or dismiss (not the same matter)."""
    if decision not in ("confirm", "dismiss"):
        raise InvalidInput(fields={"decision": {"zh": "应为 confirm 或 dismiss", "en": "confirm or dismiss"}})
    candidate = await repeat_decisions.do_decide_candidate(current_tenant().scope, candidate_id, decision == "confirm", current_principal().display_name,
                                                 current_principal().account_id)
    return await _candidate_view(candidate)


@search_pages_bp.post("/duplicates/<candidate_id>/<decision>")
@requires(Permission.PETITIONS_ACT)
async def decide_duplicate_submit(tenant_slug, candidate_id, decision):
    if decision not in ("confirm", "dismiss"):
        raise InvalidInput(fields={"decision": {"zh": "应为 confirm 或 dismiss", "en": "confirm or dismiss"}})
    candidate = await repeat_decisions.do_decide_candidate(current_tenant().scope, candidate_id, decision == "confirm", current_principal().display_name,
                                                 current_principal().account_id)
    return redirect(url_for("console.petition_page", tenant_slug=tenant_slug, petition_id=candidate.petition_id))


async def duplicates_panel(tenant, petition, principal) -> Markup | None:
    """The petition page's section: likely duplicates with their reasons, confirm or dismiss each."""
    scope = TenantScope(tenant.id)
    repo = scope.repo(DuplicateCandidate)
    rows = await repo.find({"petition_id": str(petition.id)}).sort("-score").to_list()
    # Later petitions staff confirmed as repeats of this one (重信重访), shown on the earlier one too.
    later = await repo.find({"other_id": str(petition.id), "status": CandidateStatus.CONFIRMED.value}).to_list()
    matter = await _matter(scope, str(petition.id))
    if not rows and not later and matter["petitions"] < 2:
        return None
    time_zone = tenant.settings.time_zone
    candidates = _marked(await _candidate_views(scope, rows, time_zone), matter)
    # The matters page's window ends on this petition's day (else a petition of last year is outside its default window).
    received, today = received_day(petition, time_zone), utcnow().astimezone(zone(time_zone)).date()
    matters_url = url_for("search_pages.matters_page", tenant_slug=tenant.slug, **({"end": received.isoformat()} if received < today else {}))
    later_ids = [oid for oid in (parse_object_id(r.petition_id) for r in later) if oid]
    later_petitions = await scope.repo(Petition).find({"_id": {"$in": later_ids}}).to_list() if later_ids else []
    later_petitions.sort(key=lambda p: p.received_at)
    repeats_shown = [{"id": str(p.id), "number": p.number, "title": p.title, "received_on": received_day(p, time_zone).isoformat(),
                      "decided_by": next((r.decided_by for r in later if r.petition_id == str(p.id)), "")} for p in later_petitions]
    html = await render_template("staff/_duplicates.html", tenant=tenant, candidates=candidates, repeats=repeats_shown, reason_names=REASON_NAMES,
                                 can_act=Permission.PETITIONS_ACT in principal.permissions, statuses=CandidateStatus, matters_url=matters_url,
                                 collective=matter["collective"], matter=matter,
                                 collective_days=repeats.COLLECTIVE_WINDOW_DAYS, collective_people=clusters.COLLECTIVE_MIN_PETITIONERS)
    return Markup(html)
