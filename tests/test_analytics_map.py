"""The map by administrative region: boundaries (territory, codes), the renderer (classes, colours, links, table) and
the page (numbers from the rollups after filing petitions; drill-down; bad region codes)."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import date, timedelta
from html import unescape

import pytest

from tests.conftest import eventually, login_token

ISOLATION_CASES = {
    "analytics_pages.map_page": {"method": "GET", "path": "/staff/analytics/map", "kind": "collection"},
    "analytics.map_json": {"method": "GET", "path": "/api/analytics/map", "kind": "collection"},
}

# GB/T 2260 codes the boundary data has no shape for (listed in geo/china.json's "unmatched"): three 大兴安岭 districts
# that Amap files inside their counties, 中沙群岛 (reefs under water), two 兵团 cities made after the Amap data.
NO_SHAPE = ["232762", "232763", "232764", "460323", "659011", "659012"]


# --- boundaries ------------------------------------------------------------------------------------------------


def _rings(d: str) -> list[list[tuple[int, int]]]:
    """The rings of a path written by scripts/build_map_geo.py (M/m then l with relative numbers, z)."""
    rings, x, y = [], 0, 0
    for command, numbers in re.findall(r"([MmlLz])([^MmlLz]*)", d):
        values = [int(v) for v in re.findall(r"-?\d+", numbers)]
        if command in "Mm":
            x, y = (values[0], values[1]) if command == "M" else (x + values[0], y + values[1])
            rings.append([(x, y)])
        elif command == "l":
            px, py = rings[-1][-1]
            for i in range(0, len(values), 2):
                px, py = px + values[i], py + values[i + 1]
                rings[-1].append((px, py))
    return rings


def _inside(point: tuple[float, float], d: str) -> bool:
    x, y = point
    inside = False
    for ring in _rings(d):
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                inside = not inside
    return inside


def _project(lon: float, lat: float) -> tuple[float, float]:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("build_map_geo", Path(__file__).resolve().parents[1] / "scripts" / "build_map_geo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.project(lon, lat)


def test_the_map_shows_chinas_territory_as_a_chinese_publication_must():
    from xinfang.analytics import boundaries

    provinces = boundaries.data()["levels"]["province"]
    assert {"710000", "810000", "820000"} <= set(provinces)  # Taiwan a province; Hong Kong and Macao
    assert provinces["710000"]["name"] == "台湾省"
    places = {
        "540000": [(91.87, 27.59), (93.6, 27.9), (94.9, 28.3)],  # 藏南: Tawang, Itanagar's north, Medog's south
        "650000": [(79.3, 35.3), (80.0, 35.6)],  # Aksai Chin
        "710000": [(121.52, 25.04), (120.3, 22.62)],  # Taipei, Kaohsiung
    }
    for code, points in places.items():
        for lon, lat in points:
            assert _inside(_project(lon, lat), provinces[code]["d"]), (code, lon, lat)
    assert len(_rings(provinces["460000"]["d"])) > 30  # the South China Sea islands are kept, however small
    for lon, lat in ((112.33, 16.83), (114.35, 11.1), (117.75, 15.15)):  # 永兴岛, 南沙 (中业岛), 黄岩岛: within 5 km
        x, y = _project(lon, lat)
        assert any(abs(px - x) + abs(py - y) < 50 for ring in _rings(provinces["460000"]["d"]) for px, py in ring), (lon, lat)
    dashes = re.findall(r"M", boundaries.data()["maritime"])
    assert len(dashes) >= 10  # the ten-dash line (and the maritime boundary pieces it is made of)
    national = boundaries.view("")
    assert national.inset and national.maritime  # 南海诸岛 in its inset


def test_codes_match_the_platforms_region_list():
    from xinfang.analytics import boundaries
    from xinfang.forms import regions

    data = boundaries.data()
    assert data["unmatched"] == NO_SHAPE
    shaped = set(data["levels"]["province"]) | set(data["levels"]["prefecture"]) | set(data["levels"]["county"])
    for code, name in regions.names().items():
        if name in boundaries.PLACEHOLDERS or code in NO_SHAPE:
            continue
        assert code in shaped, (code, name)
        for level in data["levels"].values():
            if code in level:
                assert level[code]["name"] == name  # keyed and named as the platform's list
    # every province of the list, and each drillable place's own view carries all its divisions
    national = boundaries.view("")
    assert {p.code for p in national.places} == {c for c, _ in regions.children("")} | {"710000", "810000", "820000"}
    assert all(p.path for p in national.places)
    beijing = boundaries.view("110000")
    assert len(beijing.places) == 16 and all(p.path for p in beijing.places)  # districts, not 市辖区
    hubei = {p.code for p in boundaries.view("420000").places}
    assert {"420100", "429004", "429021"} <= hubei  # 仙桃市 and 神农架林区 stand beside the prefectures
    assert boundaries.view("321323").places[0].name == "泗阳县"


# --- the renderer ----------------------------------------------------------------------------------------------


def test_bands_colour_by_quantiles_with_zero_and_no_data_apart():
    from xinfang.analytics import maps

    palette = maps.PALETTES["received"]
    found = maps.bands([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100], palette)
    assert [(b.low, b.high) for b in found] == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 100)]
    assert [b.colour for b in found] == list(palette)
    assert maps.colour_of(100, found) == palette[-1] and maps.colour_of(1, found) == palette[0]
    assert maps.colour_of(0, found) == maps.ZERO != maps.colour_of(None, found) == maps.NO_DATA
    assert maps.ZERO not in palette and maps.NO_DATA not in palette
    two = maps.bands([0, 0, 3, 3, 7], palette)
    assert [(b.low, b.high) for b in two] == [(3, 3), (4, 7)] and two[-1].colour == palette[-1]
    assert maps.bands([0, 0], palette) == []


def _numbers_by_title(svg: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"<title>([^<：]+)：([^<]+)</title>", svg)}


def test_the_svg_colours_links_and_titles_agree_with_the_numbers():
    from xinfang.analytics import boundaries, maps

    view = boundaries.view("")
    counts = {"321323": 5, "321324": 2, "652801": 9, "110101": 1, "not-a-code": 4, "": 3}
    result = maps.build(view, "received", counts, root="", href=lambda code: f"/drill?region={code}")
    by_code = {c.code: c for c in result.cells}
    assert by_code["320000"].value == 7 and by_code["650000"].value == 9 and by_code["110000"].value == 1
    assert by_code["440000"].value == 0 and by_code["710000"].value is None  # 0 is a number; Taiwan is no data here
    assert result.total == 17 and result.unknown == 7
    svg = str(maps.svg(result))
    titles = _numbers_by_title(svg)
    assert titles["江苏省"] == "7" and titles["广东省"] == "0" and titles["台湾省"] == "无数据"
    for cell in result.cells:  # every province present, its fill the colour of its class
        path = re.search(rf'<path id="m-{cell.code}" d="[^"]+" fill="([^"]+)"', svg)
        assert path, cell.name
        assert path.group(1) == (cell.colour if cell.value is not None else "url(#m-nodata)")
        link = re.search(rf'<a href="([^"]+)" tabindex="-1"><path id="m-{cell.code}"', svg)
        assert (link.group(1) if link else None) == (unescape(f"/drill?region={cell.code}") if cell.value is not None else None)
    assert "南海诸岛" in svg and svg.count("<use ") >= 3  # the inset reuses the paths near the South China Sea
    # a prefecture's view: counties, no further links (townships are out of scope)
    bazhou = maps.build(boundaries.view("652800"), "overdue", counts, root="652800", href=lambda code: f"/x/{code}")
    assert all(c.href is None for c in bazhou.cells) and {c.name for c in bazhou.cells} >= {"库尔勒市", "若羌县"}
    assert {c.name: c.value for c in bazhou.cells}["库尔勒市"] == 9
    assert [(n, v) for n, v in bazhou.outside if "泗阳县" in n] == [("江苏省 宿迁市 泗阳县", 5)] and bazhou.total == 9


def test_a_tenant_starts_at_its_own_region():
    from types import SimpleNamespace

    from xinfang.analytics import maps

    def root(level, code):
        return maps.viewer_root(SimpleNamespace(level=level, region_code=code))

    assert root("county", "321323") == "321323" and root("prefecture", "652800") == "652800"
    assert root("provincial", "320000") == "320000" and root("national", "100000") == ""
    assert root("prefecture", "110100") == "110000"  # 北京市's 市辖区 is no place: the municipality
    assert root("county", "232718") == "232700"  # a retired code: its prefecture


def test_a_view_is_quick_once_cached():
    import time

    from xinfang.analytics import boundaries, maps

    counts = {code: 3 for code in ("321323", "652801", "110101")}
    maps.svg(maps.build(boundaries.view("650000"), "received", counts, root=""))
    began = time.perf_counter()
    for code in ("", "320000", "650000", "652800", "460000", "110000"):
        maps.svg(maps.build(boundaries.view(code), "received", counts, root=""))
    assert time.perf_counter() - began < 1.0


# --- the page ----------------------------------------------------------------------------------------------------


async def _register(client, slug: str, headers: dict, day: date, region: str, title: str) -> None:
    filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
        "form": "petition", "channel": "visit", "anonymous": True, "received_on": day.isoformat(),
        "answers": {"title": title, "content": f"{title}：学校收费问题，家长反映多次。", "category": "other", "region": region}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)


def _rows(html: str) -> dict[str, str]:
    """Region name -> number as the table shows them."""
    out = {}
    for row in re.finditer(r'<tr data-region="[^"]+"><th scope="row"[^>]*>(.*?)</th>\s*<td class="num">(.*?)</td></tr>', html, re.S):
        name = re.sub(r"<[^>]+>", "", row.group(1)).split("（")[0].split("(")[0].strip()
        out[unescape(name)] = re.sub(r"<[^>]+>", "", row.group(2)).strip()
    return out


@pytest.fixture(scope="module")
async def filed(app, tenants):
    """Petitions in a quiet old month: tenant A (泗阳县) three in its county and one in 若羌县 (outside its area);
    tenant B (巴州) two in 轮台县 and one in 且末县."""
    client = app.test_client()
    first = date(random.randrange(2001, 2020), random.randrange(1, 13), 1)
    a, b = await login_token(client, tenants.A, "registrar"), await login_token(client, tenants.B, "handler")
    for n, region in enumerate(["321323", "321323", "321323", "652824"]):
        await _register(client, tenants.A, a, first + timedelta(days=n), region, f"地图测试A{n}")
    for n, region in enumerate(["652822", "652822", "652825"]):
        await _register(client, tenants.B, b, first + timedelta(days=n), region, f"地图测试B{n}")
    return first, first + timedelta(days=27)


async def test_the_map_page_shows_the_petitions_filed_by_region(client, tenants, filed):
    first, last = filed
    leader_a = await login_token(client, tenants.A, "leader")
    query = f"measure=received&start={first}&end={last}"

    async def shown():
        page = await client.get(f"/t/{tenants.A}/staff/analytics/map?{query}", headers=leader_a)
        html = await page.get_data(as_text=True)
        assert page.status_code == 200, html
        return html if _rows(html).get("泗阳县") == "3" and "若羌县" in html else None

    html = await eventually(shown, timeout=60, message="the rollups counting tenant A's petitions")
    assert "若羌县" in html and "辖区以外" in html  # outside its area: said, by name
    assert "<script" not in html and "321323" not in re.sub(r'(data-region|value|id|href)="[^"]*"', "", html)  # names, not codes
    titles = _numbers_by_title(html)
    assert titles["泗阳县"] == "3"

    leader_b = await login_token(client, tenants.B, "leader")

    async def shown_b():
        page = await client.get(f"/t/{tenants.B}/staff/analytics/map?{query}", headers=leader_b)
        html = await page.get_data(as_text=True)
        rows = _rows(html)
        return html if (rows.get("轮台县"), rows.get("且末县")) == ("2", "1") else None

    html_b = await eventually(shown_b, timeout=60, message="the rollups counting tenant B's petitions")
    rows = _rows(html_b)
    assert rows["且末县"] == "1" and rows["若羌县"] == "0" and "泗阳县" not in html_b  # A's petitions are not B's
    assert "辖区以外" not in html_b
    answer = await client.get(f"/t/{tenants.B}/api/analytics/map?{query}", headers=leader_b)
    body = await answer.get_json()
    assert answer.status_code == 200 and body["region"]["name"] == "巴音郭楞蒙古自治州"
    assert {p["name"]: p["value"] for p in body["places"]} == {name: int(v) for name, v in rows.items()}
    assert body["total"] == sum(int(v) for v in rows.values())
    overdue = await client.get(f"/t/{tenants.B}/staff/analytics/map?measure=overdue&start={first}&end={last}", headers=leader_b)
    assert overdue.status_code == 200 and "逾期" in await overdue.get_data(as_text=True)
    took = []
    for _ in range(5):  # a map request: the rollups' counts, the cached view, the SVG and the page
        began = time.perf_counter()
        answer = await client.get(f"/t/{tenants.B}/staff/analytics/map?{query}", headers=leader_b)
        took.append(time.perf_counter() - began)
        assert answer.status_code == 200
    print(f"map page of a prefecture: median {1000 * sorted(took)[2]:.1f} ms, slowest {1000 * max(took):.1f} ms")
    assert sorted(took)[2] < 1.0


async def test_a_bad_or_foreign_region_is_a_422_in_words(client, tenants):
    leader_b = await login_token(client, tenants.B, "leader")
    for region, words in (("999999", "没有这个行政区划"), ("321300", "不在本单位辖区内"), ("<b>x</b>", "没有这个行政区划"),
                          ("652800", None)):
        page = await client.get(f"/t/{tenants.B}/staff/analytics/map", headers=leader_b, query_string={"region": region})
        text = await page.get_data(as_text=True)
        if words is None:
            assert page.status_code == 200
            continue
        assert page.status_code == 422, text
        answer = await client.get(f"/t/{tenants.B}/api/analytics/map", headers=leader_b, query_string={"region": region})
        body = await answer.get_json()
        assert answer.status_code == 422 and words in body["error"]["fields"]["region"]["zh"] and body["error"]["fields"]["region"]["en"]
        assert "<b>x</b>" not in text
    for query in ({"measure": "nope"}, {"period": "8"}, {"start": "2026-02-30", "end": "2026-03-01"}, {"start": "2026-03-02", "end": "2026-03-01"}):
        answer = await client.get(f"/t/{tenants.B}/api/analytics/map", headers=leader_b, query_string=query)
        assert answer.status_code == 422, (query, await answer.get_data(as_text=True))
        assert json.dumps((await answer.get_json())["error"]["fields"], ensure_ascii=False)


async def test_the_dashboard_carries_a_small_map_of_the_area(client, tenants):
    leader_b = await login_token(client, tenants.B, "leader")
    page = await client.get(f"/t/{tenants.B}/staff/analytics/", headers=leader_b)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200, html
    panel = re.search(r'<section class="xf-panel" aria-labelledby="map-panel-h">.*?</section>', html, re.S)
    assert panel and "/staff/analytics/map" in panel.group(0) and 'id="panel-652801"' in panel.group(0)
    words = re.sub(r"<svg.*?</svg>", "", panel.group(0), flags=re.S)
    assert "地图上" in words and "查看地图和数字" in words and not re.search(r"[A-Za-z]{3,}", re.sub(r"<[^>]*>", "", words)), words
    english = await client.get(f"/t/{tenants.B}/staff/analytics/?lang=en", headers=leader_b)
    panel = re.search(r'<section class="xf-panel" aria-labelledby="map-panel-h">.*?</section>', await english.get_data(as_text=True), re.S)
    assert "See the map and numbers" in panel.group(0) and "查看地图" not in panel.group(0)


def test_the_panel_says_what_the_map_leaves_out():
    from types import SimpleNamespace

    from xinfang.analytics.maps import _elsewhere_words

    assert _elsewhere_words(SimpleNamespace(outside=[], unknown=0)) == ""
    said = _elsewhere_words(SimpleNamespace(outside=[("新疆 乌鲁木齐市", 2), ("北京市", 1)], unknown=18))
    assert "本地区以外 3 件" in said and "未填地区 18 件" in said and "no region" not in said  # one language at a time
    said = _elsewhere_words(SimpleNamespace(outside=[("北京市", 1)], unknown=18), "en")
    assert "outside the area 1" in said and "no region given 18" in said and "未填" not in said


def test_the_map_keys_place_every_code_as_the_region_codes_do():
    """The national root's map reads keys counted per level (``cells.map_keys``) instead of every region code of the
    country: for every code of the list (and unplaced ones), each view's numbers equal ``tally``'s over the codes."""
    from collections import Counter

    from xinfang.analytics import boundaries, cells, maps
    from xinfang.forms import regions

    rng = random.Random(27)
    counts = {code: rng.randint(1, 9) for code in regions.names()}
    counts.update({"": 4, "320102001": 3, "不知道": 2, "999999": 1})  # no region, a township, words, a code not in the list
    keys: dict[str, Counter] = {}
    for code, n in counts.items():
        for name, value in cells.map_keys(code):
            keys.setdefault(name, Counter())[value] += n
    provinces = [c for c, _ in regions.children("")]
    views = [boundaries.NATIONAL, *provinces, *rng.sample([c for c in regions.names() if boundaries.known(c)], 400),
             "110105", "429004", "441900", "659011"]
    for code in views:
        if not boundaries.known(code):
            continue
        view = boundaries.view(code)
        assert maps.chain_reads(code) is not None, code
        expected = maps.tally(view, counts, root=boundaries.NATIONAL)
        assert maps.chain_tally(code, keys) == expected, code
        assert expected[2] == 10  # the unplaced, whatever the view
    assert sum(keys["map1"].values()) == sum(counts.values())  # every petition once on the country's map
    assert {cells.slice_of(f"received|{n}={v}", "month") for n, vs in keys.items() for v in vs} >= {"map1", "map2/32", "map3/65"}
