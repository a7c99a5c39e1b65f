"""The workflow designer: the tenant admin's page (plain forms, a diagram drawn from the data) and its JSON API.

Page: ``/t/<slug>/admin/workflow``. Every button posts the whole form; the draft is kept on the server first
(workflow_designer.WorkflowDraft), then the button does its part: add or remove a state, step or time limit,
check, publish, or throw the draft away. Problems come back next to the field they concern, in zh and en.

API: ``GET /api/workflow`` (petitions/http.py) answers the workflow, ``PUT /api/workflow`` publishes one,
``GET /api/workflow/versions`` and ``/api/workflow/versions/<n>`` list and show the published versions.
"""

from __future__ import annotations

from quart import Blueprint, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..http import json_object_body, path_number
from ..i18n import current_lang
from ..navigation import allowed_target, staff_home_url
from ..store.documents import utcnow
from ..tenancy.config_versions import ConfigActor
from ..tenancy.resolution import current_tenant
from . import workflow_designer as designer
from .workflow import FIELD_TITLES, Workflow
from .workflow_designer import WorkflowDraft
from .workflow_versions import (
    canonical, current_workflow, do_publish_workflow, list_versions, require_version, workflow_problems,
)

workflow_api_bp = Blueprint("workflow", __name__, url_prefix="/t/<tenant_slug>/api/workflow")
workflow_admin_bp = Blueprint("workflow_admin", __name__, url_prefix="/t/<tenant_slug>/admin/workflow")

VERSIONS_PAGE = "/t/{slug}/admin/versions/workflow"  # the configuration hub's page for the area (diff, rollback)


# -- API ------------------------------------------------------------------------------------------------


@workflow_api_bp.put("")
@requires(Permission.WORKFLOW_MANAGE)
async def publish_workflow(tenant_slug):
    """Publish a workflow (what GET /api/workflow answers): a new version, or 422 with each problem at its path."""
    body = await json_object_body()
    note = body.pop("note", "") if isinstance(body.get("note"), str) else ""
    scope = current_tenant().scope
    published = await do_publish_workflow(scope, body, ConfigActor.of(current_principal()), note)
    number, workflow = await current_workflow(scope)
    return {"version": number, "published": published is not None, "workflow": canonical(workflow)}


@workflow_api_bp.get("/versions")
@requires(Permission.WORKFLOW_MANAGE)
async def list_workflow_versions(tenant_slug):
    scope = current_tenant().scope
    number, _ = await current_workflow(scope)
    return {"current": number, "versions": [v.summary() for v in await list_versions(scope)]}


@workflow_api_bp.get("/versions/<number>")
@requires(Permission.WORKFLOW_MANAGE)
async def show_workflow_version(tenant_slug, number):
    number = path_number(number)
    row = await require_version(current_tenant().scope, number)
    return dict(row.summary(), workflow=canonical(row.definition))


# -- the designer page ------------------------------------------------------------------------------------


async def _draft(scope, principal) -> tuple[dict, int | None, bool]:
    """The admin's draft (or the current workflow), the version it started from, and whether it is a draft."""
    row = await scope.repo(WorkflowDraft).find_one({"account_id": principal.account_id})
    if row is not None:
        return row.content, row.base_version, True
    number, workflow = await current_workflow(scope)
    return canonical(workflow), number, False


async def _keep(scope, principal, content: dict, base_version: int | None) -> None:
    repo = scope.repo(WorkflowDraft)
    row = await repo.find_one({"account_id": principal.account_id})
    row = row or WorkflowDraft(tenant_id=scope.tenant_id, account_id=principal.account_id, content={}, base_version=base_version)
    row.content, row.updated_at = content, utcnow()
    await repo.save(row)


async def _forget_draft(scope, principal) -> None:
    await scope.repo(WorkflowDraft).delete_many({"account_id": principal.account_id})


def _versions_page(slug: str, tenant_id: str) -> str | None:
    """The configuration hub's versions page of the area, when it is there and opens for this person (another module's route)."""
    path = VERSIONS_PAGE.format(slug=slug)
    return path if allowed_target(current_principal(), path, tenant_id) else None


def _time_limit_names(draft: dict) -> dict[str, dict]:
    """Each time limit's words for the page: its own name, else the default's words, else where it is used."""
    try:
        probe = Workflow.model_validate(designer.definition_of(draft))
    except Exception:  # a draft being edited may not be a workflow yet: name what can be named
        probe = None
    names = {}
    for key in draft.get("time_limits") or {}:
        given = (draft.get("time_limit_names") or {}).get(key) or {}
        if given.get("zh") or given.get("en"):
            names[key] = {"zh": given.get("zh") or given.get("en"), "en": given.get("en") or given.get("zh")}
        elif probe is not None:
            names[key] = probe.time_limit_name(key)
        else:
            from .workflow import TIME_LIMIT_NAMES
            names[key] = TIME_LIMIT_NAMES.get(key) or {"zh": "新期限", "en": "new time limit"}
    return names


async def _page(draft: dict, base_version: int | None, is_draft: bool, *, status: int = 200, problems: dict | None = None,
                checked: bool = False, notice: dict | None = None):
    ctx, principal, lang = current_tenant(), current_principal(), current_lang()
    number, _ = await current_workflow(ctx.scope)
    versions = await list_versions(ctx.scope, limit=30)
    problems = problems or {}
    state_names = {s.get("key"): s.get("name") or {} for s in draft.get("states") or []}
    step_names = {t.get("key"): t.get("name") or {} for t in draft.get("transitions") or []}
    limit_index = {key: i for i, key in enumerate(draft.get("time_limits") or {})}

    def at(path: str) -> list[dict]:
        return [m for p, m in problems.items() if p == path]

    def under(prefix: str, exclude: tuple[str, ...] = ()) -> list[dict]:
        """Problems about an item as a whole (``states.3``) or parts the page shows no field of."""
        return [m for p, m in problems.items() if p == prefix or (p.startswith(prefix + ".") and p[len(prefix) + 1:] not in exclude
                                                                    and not p[len(prefix) + 1:].startswith(("name.", "amount", "unit")))]

    def where(path: str) -> str:
        """A problem's place in words for the summary: 状态“办理中” / 步骤“受理” / 期限“受理期限”."""
        parts = path.split(".")
        names = {"zh": "", "en": ""}
        if parts[0] == "states" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(draft.get("states") or []):
            name = (draft["states"][int(parts[1])].get("name") or {})
            return (f"状态“{name.get('zh') or '（未命名）'}”" if lang == "zh" else f"state '{name.get('en') or '(unnamed)'}'")
        if parts[0] == "transitions" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(draft.get("transitions") or []):
            name = (draft["transitions"][int(parts[1])].get("name") or {})
            return (f"步骤“{name.get('zh') or '（未命名）'}”" if lang == "zh" else f"step '{name.get('en') or '(unnamed)'}'")
        if parts[0] in ("time_limits", "time_limit_names") and len(parts) > 1:
            names = limit_names.get(parts[1]) or names
            return f"期限“{names.get('zh')}”" if lang == "zh" else f"time limit '{names.get('en')}'"
        return "流程" if lang == "zh" else "workflow"

    limit_names = _time_limit_names(draft)
    html = await render_template(
        "admin/workflow.html", tenant=ctx.tenant, principal=principal, home_url=staff_home_url(principal, ctx.tenant),
        draft=draft, base_version=base_version, is_draft=is_draft, current_version=number, versions=versions,
        versions_page=_versions_page(ctx.tenant.slug, str(ctx.tenant.id)), diagram=Markup(designer.diagram_svg(draft, lang)),
        problems=problems, at=at, under=under, where=where, checked=checked, notice=notice, opened=request.args.get("open", ""),
        problems_under=lambda prefix: any(p == prefix or p.startswith(prefix + ".") for p in problems),
        roles=designer.role_choices, fields=designer.field_choices, ordered=designer._ordered, field_titles=FIELD_TITLES,
        moves=designer.MOVES, units=designer.UNITS, state_names=state_names, step_names=step_names, limit_names=limit_names,
        limit_index=limit_index, bilingual=lambda text: bilingual(text, lang),
    )
    return html, status, {"Cache-Control": "no-store"}


NOTICES = {
    "saved": {"zh": "草稿已保存（尚未发布）", "en": "Draft saved (not published yet)"},
    "discarded": {"zh": "草稿已放弃，显示的是正在使用的流程", "en": "Draft thrown away: this is the workflow in use"},
    "unchanged": {"zh": "与正在使用的流程相同，未发布新版本", "en": "The same as the workflow in use: nothing new was published"},
}


@workflow_admin_bp.get("")
@requires(Permission.WORKFLOW_MANAGE)
async def workflow_designer_page(tenant_slug):
    ctx, principal = current_tenant(), current_principal()
    draft, base, is_draft = await _draft(ctx.scope, principal)
    notice = NOTICES.get(request.args.get("done", ""))
    if (published := request.args.get("published", "")).isdigit():
        notice = {"zh": f"已发布为第 {published} 版：新收到的事项按新流程办理，办理中的事项仍按原流程办理",
                  "en": f"Published as version {published}: new cases follow it, cases in progress keep their own version"}
    return await _page(draft, base, is_draft, notice=notice)


def _op_index(op: str, prefix: str) -> int | None:
    rest = op[len(prefix):]
    return int(rest) if op.startswith(prefix) and rest.isdigit() else None


@workflow_admin_bp.post("")
@requires(Permission.WORKFLOW_MANAGE)
async def workflow_designer_submit(tenant_slug):
    ctx, principal = current_tenant(), current_principal()
    form = await request.form
    op = form.get("op", "save")
    here = url_for("workflow_admin.workflow_designer_page", tenant_slug=tenant_slug)
    if op == "discard":
        await _forget_draft(ctx.scope, principal)
        return redirect(f"{here}?done=discarded")
    if form.get("designer") != "1":
        raise InvalidInput({"zh": "表单不完整，请刷新页面后重试", "en": "the form is incomplete; reload the page and try again"})
    draft = designer.draft_from_form(MultiDict(form))
    _, base, _ = await _draft(ctx.scope, principal)
    anchor = ""
    if op == "add_state":
        anchor = f"#state-{designer.add_state(draft)}"
    elif op == "add_step":
        index = designer.add_step(draft)
        anchor = f"?open=step-{index}#step-{index}"
    elif op == "add_limit":
        key = designer.add_time_limit(draft)
        anchor = f"#limit-{list(draft['time_limits']).index(key)}"
    elif (i := _op_index(op, "remove_state-")) is not None:
        designer.remove_state(draft, i)
        anchor = "#states"
    elif (i := _op_index(op, "remove_step-")) is not None:
        designer.remove_step(draft, i)
        anchor = "#steps"
    elif (i := _op_index(op, "remove_limit-")) is not None:
        keys = list(draft.get("time_limits") or {})
        if i < len(keys):
            designer.remove_time_limit(draft, keys[i])
        anchor = "#limits"
    await _keep(ctx.scope, principal, draft, base)
    if op == "check":
        problems = await workflow_problems(ctx.scope, designer.definition_of(draft))
        return await _page(draft, base, True, problems=problems, checked=True)
    if op == "publish":
        note = (form.get("note") or "").strip()[:200]
        try:
            published = await do_publish_workflow(ctx.scope, designer.definition_of(draft), ConfigActor.of(principal), note)
        except DomainError as refused:
            return await _page(draft, base, True, status=refused.status, problems=refused.fields or {"workflow": refused.message},
                               checked=True)
        await _forget_draft(ctx.scope, principal)
        if published is None:
            return redirect(f"{here}?done=unchanged")
        return redirect(f"{here}?published={published.number}")
    return redirect(f"{here}?done=saved{anchor}" if op == "save" else f"{here}{anchor}")



def bilingual(text: str, lang: str) -> str:
    """"配置包 / bundle" (the platform's own notes and names carry both languages) in the page's language."""
    zh, sep, en = (text or "").partition(" / ")
    return (zh if lang == "zh" else en) if sep else (text or "")
