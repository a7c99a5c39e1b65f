"""Staff deciding a likely repeat (confirm or dismiss a candidate link): the link's status, the petition's history
and what analytics counts of the matter, before and after. Apart from ``repeats`` (which finds links) because
``analytics_flags`` reads matters through ``repeats``."""

from __future__ import annotations

from xinfang.store.scoped import TenantScope, parse_object_id
from xinfang.tenancy.models import Tenant

from . import analytics_flags
from .models import CandidateStatus, DuplicateCandidate


async def do_decide_candidate(scope: TenantScope, candidate_id: str, confirmed: bool, actor_name: str, actor_id: str = "") -> DuplicateCandidate:
    from xinfang.errors import NotFound
    from xinfang.petitions.service import do_note_repeat

    candidate = await scope.repo(DuplicateCandidate).get(candidate_id)
    if candidate is None:
        raise NotFound({"zh": "没有这条疑似重复", "en": "no such duplicate candidate"})
    was_confirmed = candidate.status == CandidateStatus.CONFIRMED

    ours = [candidate.petition_id] + ([candidate.other_id] if candidate.other_tenant_id == scope.tenant_id else [])
    try:  # the matter before the decision: a dismissed link may take petitions out of it (collective no longer)
        before = await analytics_flags.matter_members(scope, ours)
    except Exception:  # noqa: BLE001 - no fingerprints in this process: the petitions themselves still get told
        before = set(ours)
    candidate.status = CandidateStatus.CONFIRMED if confirmed else CandidateStatus.DISMISSED
    candidate.decided_by = actor_name
    await scope.repo(DuplicateCandidate).save(candidate)
    try:
        after = await analytics_flags.matter_members(scope, ours)
    except Exception:  # noqa: BLE001
        after = set()
    await analytics_flags.flags_may_have_changed(scope, before | after)  # repeat and collective, as analytics counts them
    if confirmed != was_confirmed:  # a confirmed repeat (or its withdrawal) joins the petition's history
        # An other body's petition is named by the body (its number is not ours to know).
        other = candidate.other_number or await _body_name(candidate.other_tenant_id)
        await do_note_repeat(scope, candidate.petition_id, other_number=other, confirmed=confirmed,
                             actor_id=actor_id, actor_name=actor_name)
    return candidate


async def _body_name(tenant_id: str) -> str:
    tenant = await Tenant.get(parse_object_id(tenant_id))
    return tenant.name.zh if tenant else ""
