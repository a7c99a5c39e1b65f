"""The system-wide repeat check shown where a case is registered (全系统判重，登记时提示): before a registration is
saved, does a petition about the same matter exist at a body OUTSIDE this one's line (neither above nor below)?

The answer is a count and nothing else ("其他单位已有相似信访 2 件"): no id, number, title, text, date or body name
of the other petitions. The draft is fingerprinted like an indexed petition and looked up with the platform-wide
fingerprint store's own lookup (``duplicates.systemwide_candidates``: only likely duplicates count). The draft's
petitioner is left out of the lookup on purpose: an identity number typed into this form must not tell whether
that person petitioned elsewhere. Each check is rate-limited per person and appended to the audit chain.

  POST /t/<slug>/api/repeat-existence {title?, content, subject?, region?}  ->  {"other_bodies_petitions": n, "message"}
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field
from quart_schema import document_request

from xinfang.audit.service import do_append_audit
from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires
from xinfang.http import parse_body
from xinfang.ratelimit import hit
from xinfang.store.documents import utcnow
from xinfang.tenancy.resolution import current_tenant

from . import duplicates
from .blueprints import data_dir, search_api_bp
from .dictionary import tenant_words
from .repeats import hierarchy_of
from .side_stores import stores

CHECKS_PER_MINUTE = 20  # per person: typing pauses, not a crawl of other bodies' matters
MIN_CONTENT = 10  # characters: a word or two says nothing about a matter and would only probe
AUDIT_ACTION = "repeats.existence_check"
DRAFT_ID = "draft"  # no petition has this id: the draft never finds itself


class ExistenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)
    content: str = Field(min_length=MIN_CONTENT, max_length=5000, description="the petition's text as typed so far")
    subject: str = Field(default="", max_length=100, description="被反映人 (a person or unit), when the form has one")
    region: str = Field(default="", max_length=20, description="the region code the petition is filed for, when given")


def existence_message(count: int) -> dict:
    if count:
        return {"zh": f"其他单位已有相似信访 {count} 件（全系统判重，仅提示存在，不显示内容）",
                "en": f"{count} similar petition(s) already received by other bodies (system-wide check; existence only)"}
    return {"zh": "其他单位暂无相似信访", "en": "no similar petition at other bodies"}


def count_elsewhere(store: duplicates.FingerprintStore, draft: duplicates.Fingerprint, hierarchy: list[str]) -> int:
    """How many likely repeats of the draft other bodies hold (outside ``hierarchy``): a number only."""
    return len({other.petition_id for other, *_ in duplicates.systemwide_candidates(store, draft, hierarchy)})


async def do_check_existence(ctx, principal, body: ExistenceIn) -> int:
    """Count the draft's likely repeats outside this body's line (rate-limited per person), and audit the check."""
    await hit(f"repeat-existence:{principal.account_id}", limit=CHECKS_PER_MINUTE, window_seconds=60)
    draft = duplicates.fingerprint(petition_id=DRAFT_ID, tenant_id=ctx.tenant_id, title=body.title, content=body.content,
                                   subject_name=body.subject or None, petitioner=None, created=utcnow().isoformat(),
                                   tenant_words=await tenant_words(ctx.tenant_id), region=body.region)
    hierarchy = await hierarchy_of(ctx.tenant_id)
    count = await asyncio.to_thread(count_elsewhere, stores(data_dir()).fingerprints, draft, hierarchy)
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action=AUDIT_ACTION,
                          purpose="登记时全系统判重 / system-wide repeat check at registration", tenant_ids=[ctx.tenant_id],
                          query={"characters": len(body.title) + len(body.content), "subject_given": bool(body.subject)},
                          result_count=count)
    return count


@search_api_bp.post("/repeat-existence")
@requires(Permission.PETITIONS_REGISTER)
@document_request(ExistenceIn)
async def repeat_existence(tenant_slug):
    """Whether other, unrelated bodies already hold a petition on the same matter as this draft: a count only."""
    count = await do_check_existence(current_tenant(), current_principal(), await parse_body(ExistenceIn))
    return {"other_bodies_petitions": count, "message": existence_message(count)}
