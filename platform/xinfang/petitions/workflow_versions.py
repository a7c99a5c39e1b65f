"""Workflow versions: publishing a workflow makes an immutable numbered version (issue 12, workflow designer).

A petition records the version it started on (``Petition.workflow_version``) and keeps moving through that
version's states and steps while newer versions apply to new cases. ``TenantWorkflow`` names the newest
version (what new cases take); ``WorkflowVersion`` rows are never changed once written.

``do_publish_workflow`` is the one writer: the designer page, the API, the bundle loader and a rollback of the
configuration area ``workflow`` (tenancy/config_versions.py) all publish through it. It checks the workflow
first (workflow_checks.py, the calendar's years included) and refuses with field messages in zh and en at
paths such as ``states.2.name.zh`` or ``transitions.5.roles``.

A petition from before versions existed (``workflow_version`` None) runs on the tenant's first version: the
first publication after versions arrived keeps the workflow then in use as version 1.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, InvalidInput, NotFound
from ..store.cache import tenant_config
from ..store.documents import TenantDocument, UtcDateTime, utcnow
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, register_config_area
from .models import CHINA, CalendarRules, Petition
from .workflow import TIME_LIMIT_NAMES, TenantWorkflow, Workflow, default_workflow, default_workflow_data
from .workflow_checks import Messages, official_calendar_years, publish_problems, tenant_calendar_years

AREA = "workflow"
FIRST_NOTE = "版本管理之前使用的流程 / the workflow in use before versions"


class WorkflowVersion(TenantDocument):
    """One published workflow, never changed after it is written."""

    number: int  # 1, 2, ... within the tenant
    definition: Workflow
    digest: str  # content_digest(canonical(definition))
    author_id: str | None = None
    author_name: str = ""
    at: UtcDateTime = Field(default_factory=utcnow)
    note: str = ""

    class Settings:
        name = "workflow_versions"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("number", DESCENDING)], unique=True)]

    def summary(self) -> dict:
        return {"number": self.number, "author": self.author_name, "at": self.at.isoformat(), "note": self.note}


def canonical(workflow: Workflow) -> dict:
    """The workflow as data, every item complete (what versions store, the API answers and the designer edits)."""
    return workflow.model_dump(mode="json", by_alias=True)


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def bundle_digest(data: dict) -> str:
    """The digest of a bundle's [workflow] as written (TenantWorkflow.digest): did the bundle change since it was loaded."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def dotted(problems: Messages) -> Messages:
    """``states/2/name/zh`` (the checks' pointers) as ``states.2.name.zh`` (field paths of a 422)."""
    return {path.replace("/", ".") or "workflow": message for path, message in problems.items()}


def china_today() -> date:
    return utcnow().astimezone(CHINA).date()


async def known_calendar_years(scope: TenantScope) -> frozenset[int]:
    rules = await scope.repo(CalendarRules).find_one({})
    return official_calendar_years() | tenant_calendar_years(rules.holidays if rules else [])


async def workflow_problems(scope: TenantScope, definition: dict) -> Messages:
    """Everything the checks say about ``definition`` for this tenant (its calendar included), at dotted paths."""
    return dotted(publish_problems(definition, await known_calendar_years(scope), china_today()))


# -- reading ------------------------------------------------------------------------------------------


async def newest_version(scope: TenantScope) -> WorkflowVersion | None:
    return await scope.repo(WorkflowVersion).find({}).sort("-number").first_or_none()


async def list_versions(scope: TenantScope, limit: int = 200) -> list[WorkflowVersion]:
    return await scope.repo(WorkflowVersion).find({}).sort("-number").limit(limit).to_list()


async def require_version(scope: TenantScope, number: int) -> WorkflowVersion:
    row = await scope.repo(WorkflowVersion).find_one({"number": number})
    if row is None:
        raise NotFound({"zh": f"流程没有第 {number} 版", "en": f"the workflow has no version {number}"})
    return row


async def current_workflow(scope: TenantScope, *, fresh: bool = False) -> tuple[int | None, Workflow]:
    """The version new cases take now, and its workflow (cached like the rest of the tenant's configuration).

    ``fresh``: read the newest version's number from the store (a new case, a case moving in), so a case starts
    on the version published a moment ago on another replica too; its workflow comes from the version cache."""
    async def load():
        row = await scope.repo(TenantWorkflow).find_one({})
        return (row.version, row.definition) if row else (None, default_workflow())

    if fresh:
        row = await scope.repo(TenantWorkflow).find_one({})
        if row is not None and row.version is not None:
            return row.version, await workflow_of_version(scope, row.version)
    return await tenant_config.get(("workflow", scope.tenant_id), load)


async def workflow_of_version(scope: TenantScope, number: int | None) -> Workflow:
    """The workflow of version ``number``; None: the tenant's first version (or, before any, the current one)."""
    async def load():
        row = await scope.repo(WorkflowVersion).find_one({"number": number if number is not None else 1})
        return row.definition if row else (await current_workflow(scope))[1]

    return await tenant_config.get(("workflow", scope.tenant_id, number), load)


def _forget(scope: TenantScope) -> None:
    tenant_config.drop(("workflow", scope.tenant_id))
    tenant_config.drop(("workflow", scope.tenant_id, None))


# -- publishing ---------------------------------------------------------------------------------------


async def _insert_version(scope: TenantScope, workflow: Workflow, actor: ConfigActor, note: str) -> WorkflowVersion:
    content = canonical(workflow)
    for _ in range(5):
        newest = await newest_version(scope)
        row = WorkflowVersion(tenant_id=scope.tenant_id, number=(newest.number + 1) if newest else 1, definition=workflow,
                              digest=content_digest(content), author_id=actor.account_id, author_name=actor.name, note=note[:200])
        try:
            return await scope.repo(WorkflowVersion).insert(row)
        except DuplicateKeyError:
            continue  # another admin published meanwhile: count again
    raise Conflict({"zh": "同时有其他修改，请稍后重试", "en": "changed concurrently; try again"})


async def do_publish_workflow(
    scope: TenantScope, definition: dict | Workflow, actor: ConfigActor, note: str = "", *,
    digest_of_bundle: str | None = None, known_years: frozenset[int] | None = None,
) -> WorkflowVersion | None:
    """Check ``definition`` and publish it as the tenant's newest version; None when it equals the newest already.

    Refused with InvalidInput (422): every problem the checks find, as a zh/en message at a dotted path.
    Records the configuration version ``workflow`` with who and why. ``digest_of_bundle``: the bundle loader's
    digest of the bundle's [workflow] (other writers keep the one stored)."""
    data = canonical(definition) if isinstance(definition, Workflow) else definition
    years = known_years if known_years is not None else await known_calendar_years(scope)
    problems = dotted(publish_problems(data, years, china_today()))
    if problems:
        raise InvalidInput({"zh": "流程未发布，请修改标出的问题", "en": "the workflow was not published; see the problems listed"},
                           fields=problems)
    workflow = Workflow.model_validate(data)
    content = canonical(workflow)
    newest = await newest_version(scope)
    repo = scope.repo(TenantWorkflow)
    row = await repo.find_one({})
    published = None
    if newest is None or newest.digest != content_digest(content):
        if newest is None and await scope.repo(Petition).count({"workflow_version": None}):
            # The first publication keeps the workflow in use until now as version 1: the cases from before run on it.
            before = row.definition if row else default_workflow()
            if content_digest(canonical(before)) != content_digest(content):
                await _insert_version(scope, before, ConfigActor(None, ""), FIRST_NOTE)
        published = await _insert_version(scope, workflow, actor, note)
    number = published.number if published else newest.number
    if row is None:
        row = TenantWorkflow(tenant_id=scope.tenant_id, definition=workflow,
                             digest=digest_of_bundle or bundle_digest(default_workflow_data()), version=number)
    row.definition, row.version = workflow, number
    if digest_of_bundle:
        row.digest = digest_of_bundle
    await repo.save(row)
    _forget(scope)
    await do_record_config_version(scope, AREA, content, actor=actor, note=note)
    return published


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    await do_publish_workflow(scope, content, actor, note)


async def _check(scope: TenantScope, area: str, content: dict) -> Messages:
    return await workflow_problems(scope, content)


async def _current(scope: TenantScope) -> dict:
    return {AREA: canonical((await current_workflow(scope))[1])}


_PARTS = {
    "name": ("名称", "name"), "zh": ("中文", "Chinese"), "en": ("英文", "English"), "deadline": ("开始计算的期限", "time limit started"),
    "keep_deadline": ("沿用期限", "keeps the time limit"), "terminal": ("终结状态", "final"), "from": ("起始状态", "from states"),
    "to": ("进入的状态", "leads to"), "roles": ("可办理的角色", "roles"), "fields": ("填写项", "fields"), "required": ("必填项", "required fields"),
    "public_fields": ("信访人可见项", "fields shown to the petitioner"), "move": ("移交", "move"), "extends": ("延长期限", "extends"),
    "once": ("只能办理一次", "once"), "not_by": ("不得由谁办理", "not by"), "amount": ("时长", "amount"), "unit": ("单位", "unit"),
    "key": ("代码", "key"),
}


def _path_label(path: str, lang: str) -> str | None:
    """A diff path (``states[accepted].name.zh``, ``time_limits.handling.amount``) in people's words."""
    import re

    from ..display_words import word

    i = 0 if lang == "zh" else 1
    head, _, rest = path.partition(".")
    item = re.fullmatch(r"(states|transitions)\[([^\]]+)\]", head)
    if item:
        kind, key = item.groups()
        group, noun = ("petition_state", ("状态", "state")) if kind == "states" else ("petition_action", ("步骤", "step"))
        name = word(group, key, lang)
        name = key if name.startswith(("未知", "unknown")) else name
        label = f"{noun[0]}“{name}”" if lang == "zh" else f"{noun[1]} '{name}'"
    elif head in ("time_limits", "time_limit_names"):
        key, _, rest = rest.partition(".")
        name = TIME_LIMIT_NAMES.get(key, {"zh": key, "en": key})[["zh", "en"][i]]
        label = f"期限“{name}”" if lang == "zh" else f"time limit '{name}'"
        if head == "time_limit_names":
            rest = "name." + rest if rest else "name"
    elif head == "initial":
        return "初始状态" if lang == "zh" else "initial state"
    else:
        return None
    parts = rest.split(".")
    if parts[:1] == ["name"] and parts[1:2] in (["zh"], ["en"]):
        parts = [parts[1], "name"]  # 中文名称 / Chinese name
    words = [_PARTS[p][i] for p in parts if p in _PARTS]
    return label + ("的" + "".join(words) if lang == "zh" and words else (": " + " ".join(words) if words else ""))


register_config_area(AREA, {"zh": "办理流程", "en": "Workflow"}, _apply, check=_check, current=_current, path_label=_path_label)
