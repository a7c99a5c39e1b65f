"""Each tenant's portal theme: the name shown, two colours and a logo. A configuration area (``portal_theme``,
tenancy/config_versions.py): every save is a version, shown, compared, rolled back and exported like the others.

Colours must keep the pages readable (WCAG 2.1 AA): the main colour carries white text (the header), the
second colour is used for links and buttons on the light page, so both need a contrast of at least 4.5:1
with white and with the page's background. A colour that fails is refused with the ratio it reached.

The logo is a PNG or JPEG of at most ``MAX_LOGO_BYTES`` and ``MAX_LOGO_SIDE`` pixels a side, recognised by
its bytes (never by its name or claimed type; SVG is refused, it can carry script), stored under the SHA-256
of its bytes; the theme names that digest, so a rolled-back version shows the logo it had.
"""

from __future__ import annotations

import hashlib
import re
import struct

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidInput
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, do_record_config_version, latest_config_version, register_config_area
from .models import PortalLogo

AREA = "portal_theme"
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_SIDE = 1024
PAGE_BACKGROUND = "#fafaf7"  # static/xinfang.css --bg
MIN_CONTRAST = 4.5
DEFAULT_PRIMARY = "#b3261e"
DEFAULT_ACCENT = "#1d4f91"


class ThemeNames(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(default="", max_length=60)
    en: str = Field(default="", max_length=120)


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: ThemeNames = Field(default_factory=ThemeNames)  # empty: the tenant's own name
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    logo: str = ""  # the digest of a PortalLogo of this tenant, or empty

    def name_for(self, tenant, lang: str) -> str:
        own = self.display_name.en if lang == "en" else self.display_name.zh
        return own or self.display_name.zh or (tenant.name.en if lang == "en" else tenant.name.zh)


FIELD_WORDS = {"display_name": ("网站名称", "site name"), "primary": ("主色", "main colour"), "accent": ("辅助色", "second colour"),
               "logo": ("标志图片", "logo")}


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def problems(content: dict) -> dict[str, dict[str, str]]:
    if not isinstance(content, dict):
        return {"": {"zh": "主题应为一组字段", "en": "the theme must be an object"}}
    try:
        theme = Theme.model_validate(content)
    except ValidationError as error:
        out: dict[str, dict[str, str]] = {}
        for item in error.errors():
            loc = [str(p) for p in item["loc"]]
            zh, en = FIELD_WORDS.get(loc[0] if loc else "", ("主题", "theme"))
            out.setdefault(".".join(loc) or "", {"zh": f"{zh}不对（中文不超过 60 字）", "en": f"{en} is not valid (at most 120 characters)"})
        return out
    out = {}
    for field in ("primary", "accent"):
        colour = getattr(theme, field)
        zh, en = FIELD_WORDS[field]
        if not COLOUR.fullmatch(colour):
            out[field] = {"zh": f"{zh}应写成 #rrggbb（例如 #b3261e）", "en": f"the {en} is written #rrggbb (e.g. #b3261e)"}
            continue
        ratio = min(contrast(colour, "#ffffff"), contrast(colour, PAGE_BACKGROUND))
        if ratio < MIN_CONTRAST:
            out[field] = {"zh": f"{zh}太浅，与白色的对比度只有 {ratio:.1f}:1，至少需要 4.5:1（请选更深的颜色）",
                          "en": f"the {en} is too light: its contrast with white is {ratio:.1f}:1, at least 4.5:1 is needed (pick a darker colour)"}
    if theme.logo and not DIGEST.fullmatch(theme.logo):
        out["logo"] = {"zh": "标志图片不存在", "en": "no such logo"}
    return out


async def portal_theme(scope: TenantScope) -> Theme:
    row = await latest_config_version(scope, AREA)
    if row is None:
        return Theme()
    try:
        return Theme.model_validate(row.content)
    except ValidationError:
        return Theme()


async def do_set_portal_theme(scope: TenantScope, content: dict, actor: ConfigActor, note: str = "") -> Theme:
    """Check, then record as the newest version of the theme (nothing recorded when equal to the newest)."""
    found = problems(content)
    theme = None if found else Theme.model_validate(content)
    if theme is not None and theme.logo and await scope.repo(PortalLogo).find_one({"digest": theme.logo}) is None:
        found["logo"] = {"zh": "标志图片不存在", "en": "no such logo"}
    if found:
        raise InvalidInput(fields=found)
    theme.primary, theme.accent = theme.primary.lower(), theme.accent.lower()
    await do_record_config_version(scope, AREA, theme.model_dump(), actor=actor, note=note)
    return theme


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(content type, width, height) of a PNG or baseline/progressive JPEG, read from its bytes; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(data):
            if data[at] != 0xFF:
                return None
            marker = data[at + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                at += 2
                continue
            (length,) = struct.unpack(">H", data[at + 2:at + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[at + 5:at + 9])
                return "image/jpeg", width, height
            at += 2 + length
    return None


LOGO_RULE = {"zh": f"标志图片须为 PNG 或 JPEG，不超过 {MAX_LOGO_BYTES // 1024} KB，长宽不超过 {MAX_LOGO_SIDE} 像素",
             "en": f"the logo must be a PNG or JPEG of at most {MAX_LOGO_BYTES // 1024} KB and {MAX_LOGO_SIDE} pixels a side"}


async def do_store_logo(scope: TenantScope, data: bytes) -> PortalLogo:
    """Keep an uploaded logo (once per content); refused unless a small PNG or JPEG."""
    if not data or len(data) > MAX_LOGO_BYTES:
        raise InvalidInput(fields={"logo": LOGO_RULE})
    found = image_size(data)
    if found is None or not (0 < found[1] <= MAX_LOGO_SIDE and 0 < found[2] <= MAX_LOGO_SIDE):
        raise InvalidInput(fields={"logo": LOGO_RULE})
    digest = hashlib.sha256(data).hexdigest()
    repo = scope.repo(PortalLogo)
    existing = await repo.find_one({"digest": digest})
    if existing is not None:
        return existing
    return await repo.insert(PortalLogo(tenant_id=scope.tenant_id, digest=digest, content_type=found[0], data=data,
                                        width=found[1], height=found[2]))


async def logo_of(scope: TenantScope, digest: str) -> PortalLogo | None:
    if not DIGEST.fullmatch(digest or ""):
        return None
    return await scope.repo(PortalLogo).find_one({"digest": digest})


async def _apply(scope: TenantScope, content: dict, actor: ConfigActor, note: str) -> None:
    """A rollback or an import. An imported theme naming a logo this tenant does not hold (logos are not in the
    exported file) is applied without it, not refused: the admin uploads the logo again."""
    if isinstance(content, dict) and content.get("logo") and await logo_of(scope, str(content["logo"])) is None:
        content = {**content, "logo": ""}
    await do_set_portal_theme(scope, content, actor, note)


def _check(scope: TenantScope, area: str, content: dict) -> dict:
    return problems(content)


async def _current(scope: TenantScope) -> dict:
    return {AREA: Theme().model_dump()}


def _path_label(path: str, lang: str) -> str | None:
    head = path.split(".", 1)[0]
    return FIELD_WORDS[head][0 if lang == "zh" else 1] if head in FIELD_WORDS else None


register_config_area(AREA, {"zh": "廉政监督网外观", "en": "Integrity portal theme"}, _apply, check=_check, current=_current,
                     path_label=_path_label)
