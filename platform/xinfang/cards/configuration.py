"""Tenant admins define card types, supervision action types and escalation rules without code.

The same JSON Schema that checks tenant bundles checks every definition here, so a
definition typed into the admin page and one loaded from a bundle obey one contract.
A definition saved here is marked ``source="admin"``: reloading the bundles later
never overwrites what an admin changed.

Every definition saved here is a configuration version (issue 12): area ``card_type:<key>``,
``action_type:<key>`` or ``escalation_rule:<key>``, content the definition as the API's GET shows it
(what PUT accepts) without ``document_template``: the wording is an area of its own (``card_wording:<key>``,
cards/wording.py), so rolling back or importing one never undoes the other. The areas register in
cards/config_areas.py. Bundle loads record no version: a definition a bundle made is exported through the
areas' ``current`` hook, and the first change made here records it first (by the bundle) so it can be rolled back to.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from jsonschema import Draft202012Validator
from pydantic import ValidationError
from referencing import Registry

from ..auth.principal import Principal
from ..errors import InvalidInput
from ..events import DomainEvent, unit_of_work
from ..forms.schema_safety import describe_failure
from ..store.scoped import TenantScope
from ..tenancy.config_versions import BUNDLE_ACTOR, ConfigActor, do_record_config_version, incoming_keys, latest_config_version
from ..tenancy.service import get_tenant
from .copies import copy_problems
from .documents import _DEFAULT as DEFAULT_TEMPLATE, check_template
from .models import ActionType, CardType, EscalationRule

SECTIONS = {CardType: "card_types", ActionType: "action_types", EscalationRule: "escalation_rules"}
# Each definition is a configuration area of its own; its content leaves the wording out (WORDING_AREAS has it).
DEFINITION_AREAS = {CardType: "card_type", ActionType: "action_type", EscalationRule: "escalation_rule"}
# A document's wording is a configuration area of its own (cards/wording.py): every change of it is a version.
WORDING_AREAS = {CardType: "card_wording", ActionType: "action_wording"}


def stored_wording(template: str | None) -> str:
    """A document wording as its versions hold it: "" for the default (none, blank, or the default itself)."""
    text = (template or "").replace("\r\n", "\n")
    return "" if not text.strip() or text.strip() == DEFAULT_TEMPLATE.strip() else text


async def record_wording_version(scope: TenantScope, model: type, key: str, before: str | None, after: str | None,
                                 actor: ConfigActor, *, before_actor: ConfigActor | None = None, note: str = "") -> None:
    """Record the wording ``after`` of a card or action type as the newest version of ``card_wording:<key>`` /
    ``action_wording:<key>`` (content ``{"key", "document_template"}``, "" = the default). A type whose wording
    has no version yet and changes now first gets the wording it had (by ``before_actor``), so the change can be
    rolled back. Nothing is recorded when the newest version already says ``after``."""
    area = f"{WORDING_AREAS[model]}:{key}"
    before, after = stored_wording(before), stored_wording(after)
    if before_actor is not None and before != after and await latest_config_version(scope, area) is None:
        await do_record_config_version(scope, area, {"key": key, "document_template": before}, actor=before_actor,
                                       note="修改前的文字 / the wording before the first change here")
    default_note = "恢复默认文字 / default wording restored" if not after else "修改文书文字 / wording changed"
    await do_record_config_version(scope, area, {"key": key, "document_template": after}, actor=actor, note=note or default_note)


@cache
def definition_validator(model: type) -> Draft202012Validator:
    """The bundle schema's item schema for one kind of definition, with the shared $defs."""
    bundle = json.loads(resources.files("xinfang.tenancy").joinpath("bundle.schema.json").read_text(encoding="utf-8"))
    schema = dict(bundle["properties"][SECTIONS[model]]["items"], **{"$defs": bundle["$defs"]})
    return Draft202012Validator(schema, registry=Registry())


def definition_problems(model: type, data: dict) -> dict[str, dict]:
    """Field path -> {zh, en} for everything wrong with a definition."""
    problems: dict[str, dict] = {}
    for error in sorted(definition_validator(model).iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            path = ".".join(filter(None, [path, str(error.message).split("'")[1]]))
        if error.validator == "additionalProperties":
            problems[path or "body"] = {"zh": f"不认识的字段：{error.message}", "en": error.message}
            continue
        zh, en = describe_failure(error.validator, error.validator_value, error.instance, error.schema)
        problems.setdefault(path or "body", {"zh": zh, "en": en})
    return problems


async def template_problems(data: dict) -> dict[str, dict]:
    """The template is trial-rendered on sample values in the sandbox, within its time and output budget."""
    template = data.get("document_template")
    if not (isinstance(template, str) and template.strip()):
        return {}
    try:
        await check_template(template)
    except InvalidInput as refused:
        return refused.fields
    return {}


async def _copy_problems(scope: TenantScope, data: dict) -> dict[str, dict]:
    """Copies to other tenants only within the sender's line or to tenants that accepted it (cards/copies.py)."""
    sender = await get_tenant(scope.tenant_id)
    problems = await copy_problems(sender, data.get("copy_to") or [], "copy_to")
    outcome = data.get("outcome")
    if isinstance(outcome, dict):
        problems |= await copy_problems(sender, outcome.get("copy_to") or [], "outcome.copy_to")
    return problems


async def _card_keys(scope: TenantScope) -> set[str]:
    """The tenant's card types, and those an import in progress brings with it (applied before its rules)."""
    return {c.key async for c in scope.repo(CardType).find({})} | incoming_keys("card_type")


KEY_RULE = {
    "zh": "代码只能用小写英文字母、数字和下划线，以字母开头，最多 63 个字符（例如 yellow、second_yellow）；它出现在网址里，不显示给群众",
    "en": "a key is lower-case letters, digits and underscores, starting with a letter, at most 63 characters "
          "(e.g. yellow, second_yellow); it appears in addresses, never to citizens",
}
# Read-only in the API: GET shows them, PUT ignores them (the URL gives the key).
KEPT_BY_THE_PLATFORM = frozenset({"id", "tenant_id", "created_at", "updated_at", "source", "revision_id"})


def definition_content(row) -> dict:
    """A stored definition as its versions hold it: what GET shows of it, less what the platform keeps for itself,
    the unset (null) fields and the document wording."""
    dumped = row.model_dump(mode="json", exclude=set(KEPT_BY_THE_PLATFORM) | {"document_template"})
    return {name: value for name, value in dumped.items() if value is not None}


def _request_data(key: str, data: dict) -> dict:
    # An optional field GET shows as null (no template of its own, no response form) is simply not set.
    return {name: value for name, value in data.items() if name not in KEPT_BY_THE_PLATFORM and value is not None} | {"key": key}


async def definition_problems_here(scope: TenantScope, model: type, key: str, data: dict):
    """Everything ``do_define`` checks, without writing: (the definition it would save or None, {path: {zh, en}})."""
    data = _request_data(key, data)
    problems = definition_problems(model, data)
    if "key" in problems:  # the schema's own words ("格式不对") do not say what a key may be
        problems["key"] = KEY_RULE
    if "document_template" not in problems:
        problems.update(await template_problems(data))
    if model is EscalationRule and not problems:
        cards = await _card_keys(scope)
        for path in ("trigger.card_type", "outcome.card_type"):
            section, field = path.split(".")
            if data[section][field] not in cards:
                problems[path] = {"zh": f"本单位没有这种监督卡：{data[section][field]}", "en": f"no card type {data[section][field]!r} here"}
    if not problems:
        problems = await _copy_problems(scope, data)
    if problems:
        return None, problems
    try:
        return model.model_validate(dict(data, tenant_id=scope.tenant_id, source="admin")), {}
    except ValidationError as error:  # the models are a little stricter than the bundle schema (name lengths)
        return None, {".".join(str(p) for p in e["loc"]) or "body": {"zh": "内容不符合要求", "en": e["msg"]}
                      for e in error.errors(include_url=False)}


async def record_definition_version(scope: TenantScope, model: type, existing, saved, actor: ConfigActor, note: str = "") -> None:
    """Record ``saved`` as the newest version of its area. A definition changed here for the first time (no version
    yet) first gets the one it replaces, by whoever made it (the bundle or an admin), so the change can be rolled back."""
    area = f"{DEFINITION_AREAS[model]}:{saved.key}"
    after = definition_content(saved)
    if existing is not None and await latest_config_version(scope, area) is None and definition_content(existing) != after:
        await do_record_config_version(scope, area, definition_content(existing), actor=BUNDLE_ACTOR if existing.source == "bundle" else actor,
                                       note="修改前的设置 / the definition before the first change here")
    default_note = "新增 / created" if existing is None else "修改 / changed"
    await do_record_config_version(scope, area, after, actor=actor, note=note or default_note)


async def do_define(scope: TenantScope, model: type, key: str, data: dict, actor: Principal | ConfigActor,
                    note: str = "") -> CardType | ActionType | EscalationRule:
    """Create or replace one definition by key; every field is checked, references included; the result is recorded
    as a configuration version by ``actor`` (a signed-in admin, or the ConfigActor of a rollback or an import).

    What GET answers may be sent back as it is: the fields the platform keeps for itself (its id,
    tenant, dates, where it came from) are set here, so they are dropped from the request, not refused.
    """
    wanted, problems = await definition_problems_here(scope, model, key, data)
    if problems:
        raise InvalidInput(fields=problems)
    repo = scope.repo(model)
    existing = await repo.find_one({"key": key})
    before = existing.document_template if existing is not None and model in WORDING_AREAS else None
    async with unit_of_work() as uow:
        if existing is None:
            await repo.insert(wanted, session=uow.session)
        else:
            wanted.id, wanted.created_at = existing.id, existing.created_at
            await repo.save(wanted, session=uow.session)
        uow.record(DomainEvent(f"{SECTIONS[model]}.defined", scope.tenant_id, str(wanted.id), {"actor_id": actor.account_id, "key": key}))
    config_actor = actor if isinstance(actor, ConfigActor) else ConfigActor.of(actor)
    # After the save, as the wording editor does (a version's number is counted outside the transaction).
    await record_definition_version(scope, model, existing, wanted, config_actor, note)
    if model in WORDING_AREAS and stored_wording(before) != stored_wording(wanted.document_template):
        # The wording changed here (PUT /api/card-types/<key>): a version, as its own editor (cards/wording.py) records.
        await record_wording_version(scope, model, key, before, wanted.document_template, config_actor,
                                     before_actor=None if existing is None else BUNDLE_ACTOR if existing.source == "bundle" else config_actor)
    return wanted
