"""A tenant's whole configuration as one file, offered to another tenant and imported there area by area.

The bundle is ``{"format", "exported_from", "exported_at", "areas": {area: content}}``; ``areas`` holds every
registered area's content as it stands: its newest ``ConfigVersion``, or, for an area that has no version yet,
what the area's ``current`` hook reports (``config_versions.current_area_contents``). Areas with neither are
not in the bundle: there is nothing of theirs to pass on.

Offers go down the hierarchy: to a body below this one, or to a body whose operator listed this one in its
``accept_copies_from`` setting (the one place where an operator says "we take things from them"). An offer is
a ``ConfigOffer`` stored in the *receiving* tenant's scope, so only the receiver reads it; the sender's admins
never read the receiver's configuration, and nobody reads another's bundle that was not offered to them.
A file exported elsewhere and uploaded becomes an offer to oneself (``via="upload"``), previewed the same way.

Importing picks one of three modes per area:

- adopt: take theirs;
- extend: a three-way merge where *base* is what was last adopted from the same source for that area
  (``ConfigBase``), *ours* the current content and *theirs* the offered one: whatever ours still has as the
  base had it takes theirs; whatever was changed here is kept (with no base yet, everything of ours is kept
  and only what ours lacks is added);
- override: keep ours entirely (the base stays as it was).

Every area's own ``check`` runs on the content it would get before any area is applied (422 with the area's
messages, nothing applied); then each area's registered writer applies it and records a version noted
"导入自 <name>". Should a writer still refuse half-way, the areas applied before it get their old content back.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from typing import Any

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..errors import InvalidInput, Message, NotFound
from ..store.documents import TenantDocument, UtcDateTime, utcnow
from ..store.scoped import TenantScope
from .config_versions import (
    ConfigActor, area_title, check_area_content, config_area, config_diff, current_area_contents, importing, is_area_name,
)
from .models import Tenant
from .service import descendants_of

FORMAT = "xinfang-config/1"
MODES = ("adopt", "extend", "override")
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
MAX_AREAS = 500


class ConfigOffer(TenantDocument):
    """A bundle addressed to the tenant it is stored under (``tenant_id`` is the receiver)."""

    source_id: str  # the exporting tenant's id (for an uploaded file: what the file says)
    source_slug: str
    source_name: dict  # {"zh", "en"}
    via: str = "offer"  # "offer" (sent by the source) or "upload" (a file the receiver uploaded)
    bundle: dict
    offered_by: str = ""
    note: str = ""
    at: UtcDateTime = Field(default_factory=utcnow)
    status: str = "open"  # open, imported, declined
    done_by: str = ""
    done_at: UtcDateTime | None = None

    class Settings:
        name = "config_offers"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("at", DESCENDING)])]


class ConfigBase(TenantDocument):
    """What this tenant last adopted (or extended) from ``source_id`` for ``area``: the base of the next merge."""

    source_id: str
    area: str
    content: dict
    at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "config_bases"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("source_id", ASCENDING), ("area", ASCENDING)], unique=True)]


# ----------------------------------------------------------------------------- export


async def export_bundle(scope: TenantScope, tenant: Tenant) -> dict:
    areas = await current_area_contents(scope)
    return {
        "format": FORMAT,
        "exported_from": {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name.model_dump()},
        "exported_at": utcnow().isoformat(),
        "areas": areas,
        # Each area as the exporter names it (a card type the receiver does not have yet still reads as its name).
        "titles": {area: {lang: await area_title(scope, area, lang, content) for lang in ("zh", "en")} for area, content in areas.items()},
    }


def offered_title(offer: "ConfigOffer", area: str, local: str, lang: str) -> str:
    """The receiver's own name for an area, unless it only knows the key (then the exporter's name for it)."""
    key = area.partition(":")[2]
    if key and (local.endswith(f"「{key}」") or local.endswith(f"“{key}”")):
        theirs = (offer.bundle.get("titles") or {}).get(area) or {}
        return theirs.get(lang) or local
    return local


def bundle_file_name(tenant: Tenant, at: datetime | None = None) -> str:
    return f"{tenant.slug}-configuration-{(at or utcnow()):%Y%m%d-%H%M}.json"


BAD_FILE = {"zh": "这不是本平台导出的配置文件", "en": "this is not a configuration file exported by this platform"}
MAX_DEPTH = 40  # far deeper than any area's content; the store refuses documents nested past 100


def _storable(value: Any, depth: int = 0) -> bool:
    """Content the store keeps as it is: not absurdly nested, no key the store reads as an operator or cannot hold."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and k and not k.startswith("$") and "\x00" not in k and _storable(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v, depth + 1) for v in value)
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return value is None or isinstance(value, (bool, float))


def read_bundle(data: Any) -> dict:
    """A bundle from outside (an uploaded file) checked for its shape: a 422 naming what is wrong, never a 500."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(BAD_FILE, field="file")
    source, areas = data.get("exported_from"), data.get("areas")
    fields: dict[str, Message] = {}
    if not (isinstance(source, dict) and isinstance(source.get("id"), str) and isinstance(source.get("slug"), str)
            and isinstance(source.get("name"), dict)):
        fields["file.exported_from"] = {"zh": "文件没有写明来自哪个单位", "en": "the file does not say which body exported it"}
    if not isinstance(areas, dict) or len(areas) > MAX_AREAS:
        fields["file.areas"] = {"zh": "文件中的配置项有误", "en": "the file's configuration areas are malformed"}
    else:
        for area, content in areas.items():
            if not is_area_name(area) or not isinstance(content, dict) or not _storable(content):
                fields[f"file.areas.{str(area)[:80]}"] = {"zh": "这一项的名称或内容有误", "en": "this area's name or content is malformed"}
    if fields:
        raise InvalidInput(BAD_FILE, fields=fields)
    name = {lang: str(source["name"].get(lang) or source["name"].get("zh") or source["slug"])[:200] for lang in ("zh", "en")}
    titles = data.get("titles") if isinstance(data.get("titles"), dict) else {}
    titles = {area: {lang: str(t.get(lang))[:200] for lang in ("zh", "en") if isinstance(t.get(lang), str)}
              for area, t in titles.items() if area in areas and isinstance(t, dict)}
    return {"format": FORMAT, "exported_from": {"id": source["id"][:64], "slug": source["slug"][:64], "name": name},
            "exported_at": str(data.get("exported_at") or "")[:40], "areas": areas, "titles": titles}


def parse_bundle_file(raw: bytes) -> dict:
    if len(raw) > MAX_BUNDLE_BYTES:
        raise InvalidInput({"zh": "文件太大", "en": "the file is too large"}, field="file")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InvalidInput(BAD_FILE, field="file") from None
    return read_bundle(data)


# ----------------------------------------------------------------------------- offers


async def offer_targets(tenant: Tenant) -> list[Tenant]:
    """Where this tenant may offer its configuration: the bodies below it, and bodies that accept from it."""
    below = await descendants_of(tenant)
    accepting = await Tenant.find({"settings.accept_copies_from": {"$in": [tenant.slug]}, "active": True}).sort("slug").to_list()
    seen, targets = set(), []
    for other in [*below, *accepting]:
        if str(other.id) != str(tenant.id) and str(other.id) not in seen:
            seen.add(str(other.id))
            targets.append(other)
    return targets


NO_TARGET = {"zh": "只能提供给下级单位，或已声明接受本单位配置的单位", "en": "offers go to bodies below this one, or to bodies that accept this one's"}


async def do_offer_configuration(scope: TenantScope, tenant: Tenant, to_slug: str, *, actor: ConfigActor, note: str = "") -> ConfigOffer:
    """Store this tenant's bundle as an offer in the receiver's scope (one the receiver may not refuse to see, only to import)."""
    target = next((t for t in await offer_targets(tenant) if t.slug == (to_slug or "").strip()), None)
    if target is None:  # one message for "no such body" and "not yours to offer to": the directory is not probed
        raise InvalidInput(NO_TARGET, field="to")
    bundle = await export_bundle(scope, tenant)
    offer = ConfigOffer(tenant_id=str(target.id), source_id=str(tenant.id), source_slug=tenant.slug, source_name=tenant.name.model_dump(),
                        bundle=bundle, offered_by=actor.name, note=(note or "")[:200])
    return await TenantScope(target.id).repo(ConfigOffer).insert(offer)


async def do_upload_configuration(scope: TenantScope, raw: bytes, *, actor: ConfigActor) -> ConfigOffer:
    bundle = parse_bundle_file(raw)
    source = bundle["exported_from"]
    offer = ConfigOffer(tenant_id=scope.tenant_id, source_id=source["id"], source_slug=source["slug"], source_name=source["name"],
                        via="upload", bundle=bundle, offered_by=actor.name)
    return await scope.repo(ConfigOffer).insert(offer)


async def list_offers(scope: TenantScope, limit: int = 50) -> list[ConfigOffer]:
    return await scope.repo(ConfigOffer).find({}).sort("-at").limit(limit).to_list()


OFFER_NOT_FOUND = {"zh": "没有这份配置", "en": "no such configuration offer"}


async def access_offer(scope: TenantScope, offer_id: str) -> ConfigOffer:
    offer = await scope.repo(ConfigOffer).get(offer_id)
    if offer is None:
        raise NotFound(OFFER_NOT_FOUND)
    return offer


async def do_decline_offer(scope: TenantScope, offer: ConfigOffer, *, actor: ConfigActor) -> None:
    offer.status, offer.done_by, offer.done_at = "declined", actor.name, utcnow()
    await scope.repo(ConfigOffer).save(offer)


# ----------------------------------------------------------------------------- merging


_MISSING = object()


def _keyed(items: list) -> dict | None:
    """A list of objects each with a distinct string ``key`` as {key: item} (how config_diff names them), else None."""
    if not all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in items):
        return None
    keyed = {i["key"]: i for i in items}
    return keyed if len(keyed) == len(items) else None


def merge3(base: Any, ours: Any, theirs: Any) -> Any:
    """Three-way merge on config_diff's paths: where ours equals base take theirs, else keep ours.

    Objects merge key by key, lists of keyed objects item by item (theirs' order, then items only ours has),
    other lists and values as wholes. ``_MISSING`` stands for "not there" on any side.
    """
    if ours == base:
        return theirs
    if theirs == base or ours == theirs:
        return ours
    if isinstance(ours, dict) and isinstance(theirs, dict):
        base_d = base if isinstance(base, dict) else {}
        merged = {}
        for key in [*ours, *[k for k in theirs if k not in ours]]:
            value = merge3(base_d.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING))
            if value is not _MISSING:
                merged[key] = value
        return merged
    if isinstance(ours, list) and isinstance(theirs, list):
        base_l = base if isinstance(base, list) else []
        mine, other, old = _keyed(ours), _keyed(theirs), _keyed(base_l)
        if mine is not None and other is not None and old is not None:
            merged_items = []
            for key in [*other, *[k for k in mine if k not in other]]:
                value = merge3(old.get(key, _MISSING), mine.get(key, _MISSING), other.get(key, _MISSING))
                if value is not _MISSING:
                    merged_items.append(value)
            return merged_items
        if len(ours) == len(theirs) == len(base_l) and any(isinstance(i, (dict, list)) for i in ours + theirs):
            return [merge3(b, o, t) for b, o, t in zip(base_l, ours, theirs)]
    return ours  # both changed it, differently: what was changed here is kept


def extend_content(base: dict | None, ours: dict | None, theirs: dict) -> dict:
    merged = merge3(copy.deepcopy(base) if base is not None else {}, copy.deepcopy(ours) if ours is not None else {}, copy.deepcopy(theirs))
    return merged if isinstance(merged, dict) else {}


# ----------------------------------------------------------------------------- preview and import


@dataclasses.dataclass
class AreaPreview:
    area: str
    known: bool  # registered on this platform (else it cannot be imported)
    ours: dict | None  # None: this tenant has nothing in the area yet
    theirs: dict
    base: dict | None  # what was last adopted from this source, None if nothing yet
    adopt_rows: list  # config_diff(ours, theirs)
    extend_rows: list  # config_diff(ours, merged)
    kept_rows: list  # what extend keeps of ours although theirs differs (ours changed here)
    problems: dict = dataclasses.field(default_factory=dict)  # what the area's own check says of theirs here

    @property
    def same(self) -> bool:
        return not self.adopt_rows

    @property
    def default_mode(self) -> str:
        if not self.known or self.same or self.problems:
            return "override"
        return "adopt" if self.ours is None else "extend"

    def content_for(self, mode: str) -> dict | None:
        if mode == "adopt":
            return self.theirs
        if mode == "extend":
            return extend_content(self.base, self.ours, self.theirs)
        return None


async def preview_offer(scope: TenantScope, offer: ConfigOffer) -> list[AreaPreview]:
    ours_all = await current_area_contents(scope)
    bases = {b.area: b.content for b in await scope.repo(ConfigBase).find({"source_id": offer.source_id}).to_list()}
    previews = []
    for area, theirs in sorted(offer.bundle.get("areas", {}).items()):
        ours, base = ours_all.get(area), bases.get(area)
        merged = extend_content(base, ours, theirs)
        adopt_rows = config_diff(ours or {}, theirs)
        extend_rows = config_diff(ours or {}, merged)
        kept = {r.path for r in adopt_rows} - {r.path for r in extend_rows}
        known = config_area(area) is not None
        problems = await check_area_content(scope, area, theirs) if known and adopt_rows else {}
        previews.append(AreaPreview(area, known, ours, theirs, base, adopt_rows, extend_rows, [r for r in adopt_rows if r.path in kept],
                                    problems))
    return previews


def import_note(offer: ConfigOffer) -> str:
    name = offer.source_name or {}
    zh, en = name.get("zh") or offer.source_slug, name.get("en") or name.get("zh") or offer.source_slug
    return f"导入自 {zh} / imported from {en}"


async def do_import_offer(scope: TenantScope, offer: ConfigOffer, modes: dict[str, str], *, actor: ConfigActor) -> dict[str, str]:
    """Import the offer with a mode per area (areas not named: override, i.e. unchanged). Checks every area's new
    content first (422 with the areas' own messages, nothing applied), then applies them; returns {area: what happened}."""
    previews = {p.area: p for p in await preview_offer(scope, offer)}
    fields: dict[str, Message] = {}
    for area, mode in modes.items():
        if mode not in MODES:
            fields[f"modes.{area}"] = {"zh": "请选择全部采用、合并或保留本单位的", "en": "choose adopt, extend or override"}
        elif area not in previews:
            fields[f"modes.{area}"] = {"zh": "这份配置里没有这一项", "en": "the offer has no such area"}
        elif mode != "override" and not previews[area].known:
            fields[f"modes.{area}"] = {"zh": "本平台没有这项配置，只能保留本单位的", "en": "this platform has no such area; it can only be kept as it is"}
    if fields:
        raise InvalidInput(fields=fields)
    planned: list[tuple[AreaPreview, str, dict]] = []
    for area, preview in previews.items():
        mode = modes.get(area, "override")
        content = preview.content_for(mode)
        if content is not None:
            planned.append((preview, mode, content))
    with importing({preview.area: content for preview, _, content in planned}):
        for preview, mode, content in planned:  # check everything before anything is applied
            if content == preview.ours:
                continue
            for path, message in (await check_area_content(scope, preview.area, content)).items():
                fields[f"areas.{preview.area}" + (f".{path}" if path else "")] = message
    if fields:
        raise InvalidInput({"zh": "导入的配置未通过检查，没有导入任何内容", "en": "the imported configuration failed its checks; nothing was imported"},
                           fields=fields)
    note, applied, outcome = import_note(offer), [], {}
    try:
        for preview, mode, content in planned:
            if content != preview.ours:
                await config_area(preview.area).apply(scope, content, actor, note)
                applied.append(preview)
            outcome[preview.area] = mode
    except Exception:
        for preview in reversed(applied):  # put back what was applied before the writer that refused
            if preview.ours is not None:
                await config_area(preview.area).apply(scope, preview.ours, actor, "导入未完成，已恢复 / import not completed, restored")
        raise
    for preview, mode, _content in planned:
        await _remember_base(scope, offer.source_id, preview.area, preview.theirs)
    for area in previews:
        outcome.setdefault(area, "override")
    offer.status, offer.done_by, offer.done_at = "imported", actor.name, utcnow()
    await scope.repo(ConfigOffer).save(offer)
    return outcome


async def _remember_base(scope: TenantScope, source_id: str, area: str, content: dict) -> None:
    repo = scope.repo(ConfigBase)
    row = await repo.find_one({"source_id": source_id, "area": area})
    if row is None:
        row = ConfigBase(tenant_id=scope.tenant_id, source_id=source_id, area=area, content=content)
    else:
        row.content, row.at = content, utcnow()
    await repo.save(row)
