"""Every change a tenant admin makes to the tenant's configuration is a version: who, when, what.

One collection for every configurable area (the workflow, the calendar, a card type's wording, the
notification wording, the search dictionary, a plugin's settings, ...). An *area* is a string naming
what the content is the whole of: ``workflow``, ``calendar``, ``card_wording:yellow``. Each version holds
the area's complete content, never a patch, so any version can be shown, compared with any other and
rolled back to on its own.

The area's own ``do_*`` writer applies a change and then calls ``do_record_config_version`` with the
new content; rolling back calls the writer registered for the area with the old content (the writer
records the new version itself, noted as a rollback). Areas register with ``register_config_area`` from
their plugin module, so this module knows none of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Union

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, NotFound
from ..store.documents import TenantDocument, UtcDateTime, utcnow
from ..store.scoped import TenantScope

Apply = Callable[[TenantScope, dict, "ConfigActor", str], Awaitable[Any]]
# Optional hooks an area may register besides its writer (all may be plain functions or coroutines):
# check(scope, area, content) -> {path: {"zh","en"}}: what is wrong with content the area would be given (import asks
#   every area before applying any); empty or None: nothing.
# current(scope) -> {area: content}: the area's present content where no version was recorded yet (export asks it).
# path_label(path, lang) -> str | None: a diff path (``states[accepted].name.zh``) in people's words.
# subject(scope, key, lang) -> str | None: what the part after the colon names (``form:report`` -> 举报表).
Hook = Callable[..., Union[Awaitable[Any], Any]]


@dataclasses.dataclass(frozen=True)
class ConfigActor:
    """Who made a change: a signed-in admin, or the operator's bundle loader / an import (account_id None)."""

    account_id: str | None
    name: str

    @classmethod
    def of(cls, principal) -> "ConfigActor":
        return cls(principal.account_id, getattr(principal, "display_name", None) or principal.username or "")


BUNDLE_ACTOR = ConfigActor(None, "运维配置包 / operator bundle")


class ConfigVersion(TenantDocument):
    area: str
    number: int  # 1, 2, ... within (tenant, area)
    content: dict
    digest: str
    author_id: str | None = None
    author_name: str = ""
    at: UtcDateTime = Field(default_factory=utcnow)
    note: str = ""  # why, in the admin's words or the system's: "回滚到第 3 版 / rolled back to version 3"

    class Settings:
        name = "config_versions"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("area", ASCENDING), ("number", DESCENDING)], unique=True)]

    def summary(self) -> dict:
        return {"area": self.area, "number": self.number, "author": self.author_name, "at": self.at.isoformat(), "note": self.note}


@dataclasses.dataclass(frozen=True)
class ConfigArea:
    prefix: str  # "workflow" or "card_wording" (an area "card_wording:yellow" belongs to the latter)
    title: dict  # {"zh": ..., "en": ...}
    apply: Apply  # the area's do_* writer: (scope, content, actor, note) -> records its own version
    check: Hook | None = None
    current: Hook | None = None
    path_label: Hook | None = None
    subject: Hook | None = None


_AREAS: dict[str, ConfigArea] = {}
AREA_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}(?::[A-Za-z0-9_.-]{1,80})?")


def register_config_area(prefix: str, title: dict, apply: Apply, *, check: Hook | None = None, current: Hook | None = None,
                         path_label: Hook | None = None, subject: Hook | None = None) -> None:
    """Called once per area at import of its module; a second registration replaces the first (reloads in tests).
    The keyword hooks are optional (see ``Hook``): without ``check`` an import trusts the area's writer to refuse."""
    _AREAS[prefix] = ConfigArea(prefix, title, apply, check, current, path_label, subject)


def is_area_name(area: str) -> bool:
    """``workflow`` or ``form:report``: what an area may be called (names in URLs and imported files are checked)."""
    return isinstance(area, str) and AREA_NAME.fullmatch(area) is not None


async def _call(hook: Hook, *args):
    value = hook(*args)
    return await value if inspect.isawaitable(value) else value


def _name_in(content: Any, lang: str) -> str | None:
    """A name the content gives itself (``name``, ``title``, a schema's ``title``), in ``lang`` where it has both."""
    if not isinstance(content, dict):
        return None
    for candidate in (content.get("name"), content.get("title"), (content.get("json_schema") or {}).get("title")
                      if isinstance(content.get("json_schema"), dict) else None):
        if isinstance(candidate, dict):
            candidate = candidate.get(lang) or candidate.get("zh")
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:100]
    return None


async def area_title(scope: TenantScope, area: str, lang: str, content: dict | None = None) -> str:
    """An area as people say it: 表单「举报表」 (the area's ``subject`` hook, else the name its content gives itself:
    ``content`` or the newest version's), or the registry's title alone; the raw name only for an unknown area."""
    registered = config_area(area)
    if registered is None:
        return area
    title = registered.title.get(lang) or registered.title.get("zh", "")
    prefix, _, key = area.partition(":")
    if not key:
        return title
    named = None
    if registered.subject is not None:
        try:
            named = await _call(registered.subject, scope, key, lang)
        except Exception:  # a label is never worth a failed page
            named = None
    if not named:
        if content is None:
            newest = await latest_config_version(scope, area)
            content = newest.content if newest else None
        named = _name_in(content, lang)
    return f"{title}「{named or key}」" if lang == "zh" else f"{title} “{named or key}”"


# The contents an import is about to apply, by area, while their checks run: an area's check may accept what
# arrives alongside it (an escalation rule naming a card type that the same import brings).
_incoming: contextvars.ContextVar[dict[str, dict]] = contextvars.ContextVar("xinfang_config_incoming", default={})


@contextlib.contextmanager
def importing(contents: dict[str, dict]):
    """Within this block, ``incoming_content`` answers from ``contents`` (config_exchange's checks)."""
    token = _incoming.set(dict(contents))
    try:
        yield
    finally:
        _incoming.reset(token)


def incoming_content(area: str) -> dict | None:
    """The content the import in progress brings for ``area`` (None outside an import or when it brings none)."""
    return _incoming.get().get(area)


def incoming_keys(prefix: str) -> set[str]:
    """The keys of ``prefix:<key>`` areas the import in progress brings."""
    return {area.split(":", 1)[1] for area in _incoming.get() if area.startswith(prefix + ":")}


async def check_area_content(scope: TenantScope, area: str, content: dict) -> dict:
    """What the area's own checks say of ``content``: {path: {"zh","en"}}; empty when fine or when it has none."""
    registered = config_area(area)
    if registered is None:
        return {"": {"zh": "本平台没有这项配置", "en": "this platform has no such configuration"}}
    if registered.check is None:
        return {}
    return dict(await _call(registered.check, scope, area, content) or {})


async def current_area_contents(scope: TenantScope) -> dict[str, dict]:
    """Each registered area's content as it stands: its newest version, else what the area's ``current`` hook
    reports for areas that have no version yet (content made before versions were recorded)."""
    contents: dict[str, dict] = {}
    for registered in _AREAS.values():
        if registered.current is None:
            continue
        for area, content in (await _call(registered.current, scope) or {}).items():
            if is_area_name(area) and isinstance(content, dict):
                contents[area] = content
    for area, row in (await latest_config_versions(scope)).items():
        contents[area] = row.content
    return dict(sorted(contents.items()))


def path_words(area: str, path: str, lang: str) -> str | None:
    """The registered labeller's words for a diff path, or None (the page then shows the path itself)."""
    registered = config_area(area)
    if registered is None or registered.path_label is None:
        return None
    try:
        return registered.path_label(path, lang)
    except Exception:
        return None


def config_area(area: str) -> ConfigArea | None:
    return _AREAS.get(area.split(":", 1)[0])


def config_areas() -> dict[str, ConfigArea]:
    return dict(_AREAS)


def content_digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def latest_config_version(scope: TenantScope, area: str) -> ConfigVersion | None:
    return await scope.repo(ConfigVersion).find({"area": area}).sort("-number").first_or_none()


class _AreaNumber(BaseModel):
    area: str
    number: int


async def latest_config_versions(scope: TenantScope) -> dict[str, ConfigVersion]:
    """The newest version of every area this tenant has versions of: the numbers first (without the contents,
    which grow with every change), then one read per area."""
    highest: dict[str, int] = {}
    async for row in scope.repo(ConfigVersion).find({}, projection_model=_AreaNumber):
        highest[row.area] = max(row.number, highest.get(row.area, 0))
    newest = {}
    for area, number in sorted(highest.items()):
        row = await scope.repo(ConfigVersion).find_one({"area": area, "number": number})
        if row is not None:
            newest[area] = row
    return newest


async def list_config_versions(scope: TenantScope, area: str, limit: int = 200) -> list[ConfigVersion]:
    return await scope.repo(ConfigVersion).find({"area": area}).sort("-number").limit(limit).to_list()


async def require_config_version(scope: TenantScope, area: str, number: int) -> ConfigVersion:
    row = await scope.repo(ConfigVersion).find_one({"area": area, "number": number})
    if row is None:
        raise NotFound({"zh": f"没有第 {number} 版", "en": f"no version {number}"})
    return row


async def do_record_config_version(
    scope: TenantScope, area: str, content: dict, *, actor: ConfigActor, note: str = "", session=None,
) -> ConfigVersion | None:
    """Record ``content`` as the area's newest version; None when it equals the newest already (nothing changed)."""
    digest = content_digest(content)
    for _ in range(5):
        newest = await latest_config_version(scope, area)
        if newest is not None and newest.digest == digest:
            return None
        row = ConfigVersion(
            tenant_id=scope.tenant_id, area=area, number=(newest.number + 1) if newest else 1, content=content,
            digest=digest, author_id=actor.account_id, author_name=actor.name, note=note[:200],
        )
        try:
            return await scope.repo(ConfigVersion).insert(row, session=session)
        except DuplicateKeyError:
            continue  # another admin's change took this number: count again
    raise Conflict({"zh": "同时有其他修改，请稍后重试", "en": "changed concurrently; try again"})


async def do_roll_back_config(scope: TenantScope, area: str, number: int, *, actor: ConfigActor) -> None:
    """Apply an older version's content again through the area's own writer (it records the new version)."""
    registered = config_area(area)
    if registered is None:
        raise NotFound({"zh": "没有这项配置", "en": "no such configuration"})
    old = await require_config_version(scope, area, number)
    await registered.apply(scope, old.content, actor, f"回滚到第 {number} 版 / rolled back to version {number}")


@dataclasses.dataclass(frozen=True)
class DiffRow:
    path: str
    before: str | None  # None: added
    after: str | None  # None: removed


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: "{}"}
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        out = {}
        for index, item in enumerate(value):
            # Items with a key are named by it, so inserting one item shows as one row, not a shifted tail.
            name = item.get("key") if isinstance(item, dict) and isinstance(item.get("key"), str) else str(index + 1)
            out.update(_flatten(item, f"{prefix}[{name}]"))
        return out or {prefix: "[]"}
    return {prefix: json.dumps(value, ensure_ascii=False)}


def config_diff(before: dict, after: dict) -> list[DiffRow]:
    """What changed between two contents, one row per changed leaf, by its path (``states[accepted].name.zh``)."""
    old, new = _flatten(before), _flatten(after)
    rows = []
    for path in list(old) + [p for p in new if p not in old]:
        if old.get(path) != new.get(path):
            rows.append(DiffRow(path, old.get(path), new.get(path)))
    return rows
