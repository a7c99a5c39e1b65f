"""The integrity portal's verbs: the only code that writes its publications and suggestions.

A publication is written as a draft, sent for approval, and made public only by a second person holding the
approval permission; nobody approves what they wrote or changed (every author, editor and sender is in its
steps). Each change is appended to the audit chain before it is answered.
"""

from __future__ import annotations

import hashlib

from ..audit.service import do_append_audit
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, changed_meanwhile
from ..store.documents import is_id_ref, utcnow
from ..store.scoped import TenantScope
from . import richtext, text
from .models import KINDS, PortalFile, Publication, Step, Suggestion

LIMITS = {"title": 200, "body": 50_000, "source": 200, "reply": 20_000}
FIELD_WORDS = {"title": ("标题", "title"), "body": ("正文", "text"), "source": ("来源", "source"), "reply": ("答复", "reply"),
               "kind": ("栏目", "section"), "note": ("说明", "note"), "text": ("建议内容", "suggestion"),
               "name": ("姓名", "name"), "contact": ("联系方式", "contact"), "format": ("正文格式", "text format"),
               "description": ("附件说明", "file description"), "file": ("附件", "file")}
# steps that make a person one of the publication's authors (adding or removing a file changes what goes public)
WRITERS = ("created", "edited", "submitted", "file_added", "file_removed")
MAX_FILES = 10  # per publication
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DESCRIPTION = 200


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


def _format(fields: dict, current: str = "plain") -> str:
    """The text's format: plain or markdown (richtext.py); not given: as it was (a new item: plain)."""
    given = fields.get("format")
    if given in (None, ""):
        return current
    if given not in richtext.FORMATS:
        raise InvalidInput(fields={"format": {"zh": "请选择纯文本或带格式", "en": "choose plain or formatted text"}})
    return given


def _terms(row: Publication) -> list[str]:
    """A policy's search terms, from what its text says (Markdown's marks and link targets left out)."""
    if row.kind != "policy":
        return []
    return text.search_terms(row.title, row.source, richtext.plain_text(row.body, row.format))


async def _audit(scope: TenantScope, principal, action: str, row: Publication, note: str = "") -> None:
    await do_append_audit(actor_id=principal.account_id, actor_username=principal.username, action=f"portal.{action}",
                          purpose=(note or f"{row.kind}: {row.title}")[:500], subject=str(row.id),
                          query={"kind": row.kind, "title": row.title[:200], "state": row.state}, tenant_ids=[scope.tenant_id])




async def _save(scope: TenantScope, row: Publication) -> None:
    """Write a change only over the version it was made on (a step on a stale page is a 409, not a lost change)."""
    if not await scope.repo(Publication).replace_versioned(row):
        raise changed_meanwhile("这条内容", "this item")


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
                      steps=[_step(principal, "created")], format=_format(fields), **values)
    row.terms = _terms(row)
    await scope.repo(Publication).insert(row)
    await _audit(scope, principal, "draft", row)
    return row


async def do_edit_publication(scope: TenantScope, row: Publication, principal, fields: dict) -> Publication:
    """Change a draft, or a withdrawn one (which becomes a draft again: it needs a new approval)."""
    if row.state not in ("draft", "unpublished"):
        raise Conflict({"zh": "只能修改草稿或已撤下的内容（待审核的请先退回）", "en": "only drafts and withdrawn items can be changed (return a pending one first)"})
    values = _clean(fields, kind=row.kind)
    row.format = _format(fields, row.format)
    for name, value in values.items():
        setattr(row, name, value)
    row.terms = _terms(row)
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


NOT_CHANGEABLE = {"zh": "只能在草稿或已撤下的内容上添加或删除附件（待审核的请先退回）",
                  "en": "files can be added or removed only on a draft or a withdrawn item (return a pending one first)"}


def file_type(data: bytes) -> str | None:
    """What the bytes are (PDF, JPEG, PNG), whatever the file's name or the browser claims; None for anything else:
    the platform's one check by content (petitions.uploads.sniff), as for petitions' attachments."""
    from ..petitions.uploads import sniff

    return sniff(data)


async def files_of(scope: TenantScope, publication_id: str) -> list[PortalFile]:
    """A publication's files, oldest first (with their bytes: a publication has at most MAX_FILES)."""
    return await scope.repo(PortalFile).find({"publication_id": str(publication_id)}).sort("added_at").to_list()


async def access_file(scope: TenantScope, row: Publication, file_id: str) -> PortalFile:
    """A file of this publication, or the same 404 for another publication's, another tenant's or a made-up id."""
    found = await scope.repo(PortalFile).get(file_id) if is_id_ref(file_id) else None
    if found is None or found.publication_id != str(row.id):
        raise NotFound()
    return found


async def do_add_file(scope: TenantScope, row: Publication, principal, *, filename: str, data: bytes, description: str) -> PortalFile:
    """Attach a PDF or image to a draft (or withdrawn) item: checked by its bytes, described in words (a link's text,
    an image's alternative text). The item becomes a draft again and the uploader one of its authors."""
    from ..petitions.uploads import safe_filename

    if row.state not in ("draft", "unpublished"):
        raise Conflict(NOT_CHANGEABLE)
    problems = {}
    description = (description or "").strip()
    if not description:
        problems["description"] = {"zh": "请用一句话说明附件是什么（图片的文字说明，供读屏软件朗读）",
                                   "en": "say in a sentence what the file is (an image's text, read out by screen readers)"}
    elif len(description) > MAX_DESCRIPTION:
        problems["description"] = _too_long("description", MAX_DESCRIPTION)
    content_type = file_type(data) if data else None
    if not data:
        problems["file"] = {"zh": "请选择文件", "en": "choose a file"}
    elif len(data) > MAX_FILE_BYTES:
        problems["file"] = {"zh": "文件不能超过 10 MB", "en": "the file may be at most 10 MB"}
    elif content_type is None:
        problems["file"] = {"zh": "只接受 PDF、JPEG、PNG 文件（按文件内容识别）", "en": "only PDF, JPEG and PNG files are accepted (recognised by their content)"}
    if not problems and len(await files_of(scope, str(row.id))) >= MAX_FILES:
        problems["file"] = {"zh": f"每条内容最多 {MAX_FILES} 个附件", "en": f"at most {MAX_FILES} files an item"}
    if problems:
        raise InvalidInput(fields=problems)
    stored = PortalFile(tenant_id=scope.tenant_id, publication_id=str(row.id), filename=safe_filename(filename),
                        description=description, content_type=content_type, size=len(data), digest=hashlib.sha256(data).hexdigest(),
                        data=data, added_by_id=principal.account_id)
    row.state, row.updated_at = "draft", utcnow()
    row.steps.append(_step(principal, "file_added", f"{stored.filename}：{description}"))
    await _save(scope, row)  # first the item (a stale page is a 409 before any file is kept)
    await scope.repo(PortalFile).insert(stored)
    await _audit(scope, principal, "file_add", row, f"{stored.filename} ({stored.digest[:16]})")
    return stored


async def do_remove_file(scope: TenantScope, row: Publication, principal, stored: PortalFile) -> None:
    if row.state not in ("draft", "unpublished"):
        raise Conflict(NOT_CHANGEABLE)
    row.state, row.updated_at = "draft", utcnow()
    row.steps.append(_step(principal, "file_removed", stored.filename))
    await _save(scope, row)
    await scope.repo(PortalFile).delete(stored)
    await _audit(scope, principal, "file_remove", row, stored.filename)


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
