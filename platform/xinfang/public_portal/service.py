"""The integrity portal's verbs: the only code that writes its publications and suggestions.

A publication is written as a draft, sent for approval, and made public only by a second person holding the
approval permission; nobody approves what they wrote or changed (every author, editor and sender is in its
steps). Each change is appended to the audit chain before it is answered.
"""

from __future__ import annotations

from ..audit.service import do_append_audit
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..store.documents import is_id_ref, utcnow
from ..store.scoped import TenantScope
from . import text
from .models import KINDS, Publication, Step, Suggestion

LIMITS = {"title": 200, "body": 50_000, "source": 200, "reply": 20_000}
FIELD_WORDS = {"title": ("标题", "title"), "body": ("正文", "text"), "source": ("来源", "source"), "reply": ("答复", "reply"),
               "kind": ("栏目", "section"), "note": ("说明", "note"), "text": ("建议内容", "suggestion"),
               "name": ("姓名", "name"), "contact": ("联系方式", "contact")}
WRITERS = ("created", "edited", "submitted")  # steps that make a person one of the publication's authors


def _too_long(field: str, limit: int) -> dict:
    zh, en = FIELD_WORDS[field]
    return {"zh": f"{zh}不能超过 {limit} 字", "en": f"the {en} may have at most {limit} characters"}


def _required(field: str) -> dict:
    zh, en = FIELD_WORDS[field]
    return {"zh": f"请填写{zh}", "en": f"the {en} is required"}


def _clean(fields: dict, *, kind: str) -> dict:
    """Title, body, source and reply as plain text, checked; InvalidInput with every field's problem."""
    values = {name: str(fields.get(name) or "").replace("\r\n", "\n").strip() for name in LIMITS}
    problems = {name: _too_long(name, limit) for name, limit in LIMITS.items() if len(values[name]) > limit}
    if not values["title"]:
        problems["title"] = _required("title")
    if not values["body"]:
        problems["body"] = _required("body")
    if kind == "suggestion" and not values["reply"] and fields.get("_submitting"):
        problems["reply"] = _required("reply")
    if problems:
        raise InvalidInput(fields=problems)
    if kind != "suggestion":
        values["reply"] = ""
    return values


async def _audit(scope: TenantScope, principal, action: str, row: Publication, note: str = "") -> None:
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action=f"portal.{action}",
                          purpose=(note or f"{row.kind}: {row.title}")[:500], subject=str(row.id),
                          query={"kind": row.kind, "title": row.title[:200], "state": row.state}, tenant_ids=[scope.tenant_id])


CHANGED_MEANWHILE = {"zh": "这条内容刚被其他人处理过，请刷新后再试", "en": "someone else changed this item meanwhile; reload and retry"}


async def _save(scope: TenantScope, row: Publication) -> None:
    """Write a change only over the version it was made on (a step on a stale page is a 409, not a lost change)."""
    if not await scope.repo(Publication).replace_versioned(row):
        raise Conflict(CHANGED_MEANWHILE)


def _step(principal, action: str, note: str = "") -> Step:
    return Step(action=action, by_id=principal.account_id, by_name=principal.display_name or principal.username, note=note[:500])


async def access_publication(scope: TenantScope, publication_id: str) -> Publication:
    """A publication of this tenant, or the same 404 for another tenant's id and a made-up one."""
    row = await scope.repo(Publication).get(publication_id) if is_id_ref(publication_id) else None
    if row is None:
        raise NotFound()
    return row


async def access_suggestion(scope: TenantScope, suggestion_id: str) -> Suggestion:
    row = await scope.repo(Suggestion).get(suggestion_id) if is_id_ref(suggestion_id) else None
    if row is None:
        raise NotFound()
    return row


async def do_create_publication(scope: TenantScope, principal, kind: str, fields: dict, *, suggestion_id: str | None = None) -> Publication:
    if kind not in KINDS:
        raise InvalidInput(fields={"kind": {"zh": "没有这个栏目", "en": "no such section"}})
    values = _clean(fields, kind=kind)
    row = Publication(tenant_id=scope.tenant_id, kind=kind, author_id=principal.account_id,
                      author_name=principal.display_name or principal.username, suggestion_id=suggestion_id,
                      steps=[_step(principal, "created")], **values)
    row.terms = text.search_terms(row.title, row.source, row.body) if kind == "policy" else []
    await scope.repo(Publication).insert(row)
    await _audit(scope, principal, "draft", row)
    return row


async def do_edit_publication(scope: TenantScope, row: Publication, principal, fields: dict) -> Publication:
    """Change a draft, or a withdrawn one (which becomes a draft again: it needs a new approval)."""
    if row.state not in ("draft", "unpublished"):
        raise Conflict({"zh": "只能修改草稿或已撤下的内容（待审核的请先退回）", "en": "only drafts and withdrawn items can be changed (return a pending one first)"})
    values = _clean(fields, kind=row.kind)
    for name, value in values.items():
        setattr(row, name, value)
    row.terms = text.search_terms(row.title, row.source, row.body) if row.kind == "policy" else []
    row.state, row.updated_at = "draft", utcnow()
    row.steps.append(_step(principal, "edited"))
    await _save(scope, row)
    await _audit(scope, principal, "edit", row)
    return row


async def do_submit_publication(scope: TenantScope, row: Publication, principal) -> Publication:
    if row.state != "draft":
        raise Conflict({"zh": "只有草稿可以送审", "en": "only a draft can be sent for approval"})
    _clean({**row.model_dump(), "_submitting": True}, kind=row.kind)
    row.state, row.updated_at, row.submitted_by_id = "pending", utcnow(), principal.account_id
    row.steps.append(_step(principal, "submitted"))
    await _save(scope, row)
    await _audit(scope, principal, "submit", row)
    return row


def authors_of(row: Publication) -> set[str]:
    return {step.by_id for step in row.steps if step.action in WRITERS} | {row.author_id}


async def do_approve_publication(scope: TenantScope, row: Publication, principal) -> Publication:
    """Make a pending publication public. Refused (403) to anyone who wrote, changed or sent it."""
    if principal.account_id in authors_of(row):
        raise Forbidden({"zh": "不能审核自己撰写、修改或送审的内容，请由另一位有审核权限的同事审核",
                         "en": "you cannot approve what you wrote, changed or sent; another colleague with the approval permission must"})
    if row.state != "pending":
        raise Conflict({"zh": "只有待审核的内容可以发布", "en": "only an item awaiting approval can be published"})
    now = utcnow()
    row.state, row.updated_at, row.published_at = "published", now, now
    row.approved_by_id, row.approved_by_name = principal.account_id, principal.display_name or principal.username
    row.steps.append(_step(principal, "approved"))
    await _save(scope, row)
    await _audit(scope, principal, "publish", row)
    return row


async def do_return_publication(scope: TenantScope, row: Publication, principal, note: str) -> Publication:
    """Send a pending publication back to its authors as a draft, saying why."""
    return await _with_reason(scope, row, principal, note, ("pending", "draft", "returned", "return"), (
        {"zh": "只有待审核的内容可以退回", "en": "only an item awaiting approval can be returned"},
        {"zh": "请写明退回的原因", "en": "say why it is returned"}))


async def do_unpublish_publication(scope: TenantScope, row: Publication, principal, note: str) -> Publication:
    """Take a public item off the portal at once (no second person needed to withdraw), saying why."""
    return await _with_reason(scope, row, principal, note, ("published", "unpublished", "unpublished", "unpublish"), (
        {"zh": "只有已发布的内容可以撤下", "en": "only a public item can be withdrawn"},
        {"zh": "请写明撤下的原因", "en": "say why it is withdrawn"}))


async def _with_reason(scope: TenantScope, row: Publication, principal, note: str, move: tuple[str, str, str, str],
                       words: tuple[dict, dict]) -> Publication:
    """A step that needs a reason: ``move`` is (from state, to state, step, audit action); ``words`` the refusals
    (not in the from state; no reason given)."""
    from_state, to_state, step, action = move
    if row.state != from_state:
        raise Conflict(words[0])
    note = (note or "").strip()
    if not note:
        raise InvalidInput(fields={"note": words[1]})
    row.state, row.updated_at = to_state, utcnow()
    row.steps.append(_step(principal, step, note))
    await _save(scope, row)
    await _audit(scope, principal, action, row, note)
    return row


SUGGESTION_LIMITS = {"title": 100, "text": 5_000, "name": 50, "contact": 100}


def checked_suggestion(fields: dict) -> dict:
    """A suggestion's fields as plain text, or InvalidInput naming each field's problem (checked before the rate
    limit counts a sending, so a citizen correcting a form is not turned away)."""
    values = {name: str(fields.get(name) or "").replace("\r\n", "\n").strip() for name in SUGGESTION_LIMITS}
    problems = {name: _too_long(name, limit) for name, limit in SUGGESTION_LIMITS.items() if len(values[name]) > limit}
    for name in ("title", "text"):
        if not values[name]:
            problems[name] = _required(name)
    if problems:
        raise InvalidInput(fields=problems)
    return values


async def do_submit_suggestion(scope: TenantScope, fields: dict) -> Suggestion:
    """A citizen's suggestion, kept privately until staff publish a copy with a reply."""
    values = checked_suggestion(fields)
    return await scope.repo(Suggestion).insert(Suggestion(tenant_id=scope.tenant_id, **values))


async def do_take_up_suggestion(scope: TenantScope, suggestion: Suggestion, principal) -> Publication:
    """Start a public copy of a suggestion (a draft the staff edit, answer and send for approval); once only."""
    if suggestion.publication_id:
        return await access_publication(scope, suggestion.publication_id)
    row = await do_create_publication(scope, principal, "suggestion", {"title": suggestion.title, "body": suggestion.text},
                                      suggestion_id=str(suggestion.id))
    suggestion.publication_id = str(row.id)
    await scope.repo(Suggestion).save(suggestion)
    return row
