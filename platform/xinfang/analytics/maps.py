"""The map by administrative region (staff page, JSON, dashboard panel): a choropleth of intake or overdue petitions.

The map is server-rendered SVG (no script): the boundaries are precomputed paths (``boundaries.py``), so a request
counts (``rollups.counts_by_region``), classifies and writes strings. A viewer starts at its own region (a county
tenant sees its county; townships are out of scope) and drills down province -> prefecture -> county; every
region is a link, and the table beside the map carries the same numbers for screen readers and for reading.

Colours: five classes by quantiles of the non-zero numbers (fewer when there are fewer distinct numbers); 0 has its
own pale colour; a region with no data (Taiwan, Hong Kong, Macao, which the platform's code list does not hold) is
hatched grey, so it never reads as 0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape
from quart import g, request, url_for

from ..auth.permissions import Permission, requires
from ..errors import InvalidInput
from ..forms import regions
from ..http import staff_page
from ..i18n import current_lang
from ..timefmt import zone
from . import boundaries, cells
from .blueprints import analytics_api_bp, analytics_pages_bp

MEASURES = {"received": {"zh": "收件", "en": "Intake"}, "overdue": {"zh": "逾期", "en": "Overdue"}}
PERIODS = {"7": {"zh": "近7天", "en": "Last 7 days"}, "30": {"zh": "近30天", "en": "Last 30 days"},
           "90": {"zh": "近90天", "en": "Last 90 days"}, "365": {"zh": "近一年", "en": "Last 365 days"}}
DEFAULT_PERIOD = "30"
PALETTES = {  # light to dark (ColorBrewer Blues / OrRd, five classes)
    "received": ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"),
    "overdue": ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
}
ZERO = "#e6e1d3"
NO_DATA = "#d9d9d9"
LEVEL_WORDS = {"national": {"zh": "省级", "en": "provinces"}, "province": {"zh": "市级", "en": "prefectures"},
               "prefecture": {"zh": "县级", "en": "counties"}, "county": {"zh": "本县（区）", "en": "this county"}}


@dataclasses.dataclass(frozen=True)
class Band:
    low: int
    high: int
    colour: str

    def words(self) -> str:
        return f"{self.low}" if self.low == self.high else f"{self.low}–{self.high}"


def bands(values, palette) -> list[Band]:
    """Up to five classes by quantiles of the distinct non-zero numbers; each a closed range of whole numbers."""
    positive = sorted(v for v in values if v and v > 0)
    if not positive:
        return []
    distinct = sorted(set(positive))
    k = min(len(palette), len(distinct))
    highs = []
    for i in range(1, k + 1):
        high = positive[max(0, math.ceil(i * len(positive) / k) - 1)]
        if not highs or high > highs[-1]:
            highs.append(high)
    if highs[-1] != positive[-1]:
        highs.append(positive[-1])
    out, low = [], positive[0]
    # spread the palette over the classes found, darkest for the highest
    shades = [palette[round(j * (len(palette) - 1) / max(1, len(highs) - 1))] for j in range(len(highs))] if len(highs) > 1 else [palette[-1]]
    for high, colour in zip(highs, shades):
        out.append(Band(low, high, colour))
        low = high + 1
    return out


def colour_of(value: int | None, found: list[Band]) -> str:
    if value is None:
        return NO_DATA
    if value == 0:
        return ZERO
    for band in found:
        if band.low <= value <= band.high:
            return band.colour
    return found[-1].colour if found else ZERO


@dataclasses.dataclass
class Cell:
    code: str
    name: str
    value: int | None  # None: no data for this place
    colour: str
    href: str | None
    has_shape: bool


@dataclasses.dataclass
class MapResult:
    view: boundaries.View
    measure: str
    cells: list[Cell]
    bands: list[Band]
    total: int
    outside: list[tuple[str, int]]  # (full name, count) of petitions whose region is outside the viewer's area
    unknown: int  # petitions with no region or a code the list does not hold


def tally(view: boundaries.View, counts: dict[str, int], *, root: str) -> tuple[dict[str, int], list[tuple[str, int]], int]:
    """Counts of petitions per place of ``view`` (counties rolled up), those outside ``root``'s area, and those unplaced."""
    per_place: dict[str, int] = {}
    outside: dict[str, int] = {}
    unknown = 0
    for code, count in counts.items():
        if not count:
            continue
        if not isinstance(code, str) or code not in regions.names():
            unknown += count
            continue
        if not boundaries.within(code, root):
            label = regions.full_name(code) or regions.names()[code]
            outside[label] = outside.get(label, 0) + count
            continue
        place = boundaries.place_of(code, view.code)
        if place is not None:
            per_place[place] = per_place.get(place, 0) + count
    return per_place, sorted(outside.items(), key=lambda kv: (-kv[1], kv[0])), unknown


def build(view: boundaries.View, measure: str, counts: dict[str, int], *, root: str, href=None) -> MapResult:
    """Numbers, classes and colours of one view. ``href(code)`` gives a drillable place's link."""
    return assemble(view, measure, *tally(view, counts, root=root), href=href)


def assemble(view: boundaries.View, measure: str, per_place: dict[str, int], outside: list[tuple[str, int]], unknown: int,
             href=None) -> MapResult:
    """The view's cells, classes and colours from the counts per place (``tally``'s, or ``chain_tally``'s)."""
    values = [per_place.get(p.code, 0) for p in view.places if p.listed]
    found = bands(values, PALETTES.get(measure, PALETTES["received"]))
    cells = []
    for place in view.places:
        value = per_place.get(place.code, 0) if place.listed else None
        cells.append(Cell(place.code, place.name, value, colour_of(value, found),
                          href(place.code) if href and place.drillable else None, place.path is not None))
    return MapResult(view, measure, cells, found, sum(v for v in values), outside, unknown)


def _number(value: int | None, lang: str) -> str:
    return ("无数据" if lang == "zh" else "no data") if value is None else str(value)


def svg(result: MapResult, *, lang: str = "zh", prefix: str = "m", compact: bool = False) -> Markup:
    """The map as inline SVG: each place a path (a link where it drills down) with a title of its name and number."""
    view = result.view
    x, y, w, h = view.viewbox
    measure = MEASURES[result.measure]["zh" if lang == "zh" else "en"]
    label = f"{view.name} · {measure}" if lang == "zh" else f"{measure} · {view.name}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x} {y} {w} {h}" class="xf-map" '
           f'width="100%" preserveAspectRatio="xMidYMid meet" aria-hidden="true" focusable="false" '
           f'style="display:block;max-height:{"16rem" if compact else "75vh"}">',
           f'<title>{escape(label)}</title>',
           f'<defs><pattern id="{prefix}-nodata" patternUnits="userSpaceOnUse" width="{max(1, w // 120)}" '
           f'height="{max(1, w // 120)}" patternTransform="rotate(45)"><rect width="100%" height="100%" fill="#f5f5f5"/>'
           f'<rect width="{max(1, w // 300)}" height="{max(1, w // 120)}" fill="{NO_DATA}"/></pattern>']
    if view.inset:
        (sx0, sy0, sx1, sy1), (dx, dy, s) = view.inset
        fx, fy, fw, fh = dx + sx0 * s, dy + sy0 * s, (sx1 - sx0) * s, (sy1 - sy0) * s
        out.append(f'<clipPath id="{prefix}-inset"><rect x="{fx:.0f}" y="{fy:.0f}" width="{fw:.0f}" height="{fh:.0f}"/></clipPath>')
    if view.frame:
        out.append(f'<clipPath id="{prefix}-frame"><rect x="{view.frame[0]}" y="{view.frame[1]}" width="{view.frame[2]}" height="{view.frame[3]}"/></clipPath>')
    clip = f' clip-path="url(#{prefix}-frame)"' if view.frame else ""
    out.append(f'</defs><g stroke="#ffffff" stroke-linejoin="round"{clip}>')
    for cell, place in zip(result.cells, view.places):
        if place.path is None:
            continue
        fill = f"url(#{prefix}-nodata)" if cell.value is None else cell.colour
        title = f"{cell.name}：{_number(cell.value, lang)}"
        path = (f'<path id="{prefix}-{escape(cell.code)}" d="{place.path}" fill="{fill}" fill-rule="evenodd" '
                f'stroke-width="{1.2 if view.level == "county" else 0.8}" vector-effect="non-scaling-stroke">'
                f'<title>{escape(title)}</title></path>')
        if cell.href:
            out.append(f'<a href="{escape(cell.href)}" tabindex="-1">{path}</a>')
        else:
            out.append(path)
    if view.maritime:
        out.append(f'<path d="{view.maritime}" fill="none" stroke="#5b7fa6" stroke-width="1.2" vector-effect="non-scaling-stroke"/>')
    out.append('</g>')
    if view.inset:
        (sx0, sy0, sx1, sy1), (dx, dy, s) = view.inset
        fx, fy, fw, fh = dx + sx0 * s, dy + sy0 * s, (sx1 - sx0) * s, (sy1 - sy0) * s
        out.append(f'<rect x="{fx:.0f}" y="{fy:.0f}" width="{fw:.0f}" height="{fh:.0f}" fill="#ffffff" stroke="#555" '
                   f'stroke-width="1" vector-effect="non-scaling-stroke"/>')
        out.append(f'<g clip-path="url(#{prefix}-inset)"><g transform="translate({dx:.1f} {dy:.1f}) scale({s:.4f})" stroke="#7d8ea3">')
        for cell, place in zip(result.cells, view.places):
            if place.path is not None and place.bbox and place.bbox[2] > sx0 and place.bbox[3] > sy0:
                out.append(f'<use href="#{prefix}-{escape(cell.code)}"/>')
        if view.maritime:
            out.append(f'<path d="{view.maritime}" fill="none" stroke="#5b7fa6" stroke-width="1" vector-effect="non-scaling-stroke"/>')
        out.append('</g></g>')
        size = min(fh * 0.09, w * 0.022)
        out.append(f'<text x="{fx + fw - size * 0.4:.0f}" y="{fy + fh - size * 0.5:.0f}" font-size="{size:.0f}" '
                   f'text-anchor="end" fill="#333">南海诸岛</text>')
    out.append('</svg>')
    return Markup("".join(out))


# --- the page and the JSON ---------------------------------------------------------------------------------------


@analytics_pages_bp.before_app_serving
async def _load_boundaries_early():
    """Read the boundary file (3.4 MB, about 0.7 s) in a thread as the app starts, so the first map need not wait."""
    asyncio.get_running_loop().run_in_executor(None, boundaries.data)


def viewer_root(tenant) -> str:
    """The region a tenant's map starts at: its own (the whole country for a national tenant)."""
    code = getattr(tenant, "region_code", "") or ""
    if getattr(tenant, "level", None) == "national" or not isinstance(code, str) or len(code) != 6:
        return boundaries.NATIONAL
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):  # a placeholder (北京市 市辖区) or retired code: its parent
        if boundaries.known(candidate):
            return candidate
    return boundaries.NATIONAL  # the counts stay the tenant's own whatever the map frames


def _ask(args, root: str) -> tuple[str, str, str]:
    """measure, period, region from the query; 422 with zh/en words for anything else."""
    problems = {}
    measure = args.get("measure", "received")
    if measure not in MEASURES:
        problems["measure"] = {"zh": "请选择收件或逾期", "en": "choose intake or overdue"}
    period = args.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        problems["period"] = {"zh": "请选择统计时段", "en": "choose a period"}
    region = args.get("region", root)
    if region != root and (not isinstance(region, str) or not boundaries.known(region)):
        problems["region"] = {"zh": "没有这个行政区划", "en": "no such administrative division"}
    elif not boundaries.within(region, root):
        problems["region"] = {"zh": "该地区不在本单位辖区内", "en": "that region is outside this body's area"}
    days = None
    if args.get("start") or args.get("end"):  # a period of one's own: both days, in order, ten years at most
        try:
            days = (date.fromisoformat(args.get("start", "")), date.fromisoformat(args.get("end", "")))
        except ValueError:
            problems["start"] = {"zh": "请填写起止日期（年-月-日）", "en": "give both days as year-month-day"}
        else:
            if days[0] > days[1] or (days[1] - days[0]).days > 3660:
                problems["start"] = {"zh": "起始日期须不晚于结束日期，且不超过十年", "en": "the first day must not be after the last, ten years at most"}
    if problems:
        raise InvalidInput({"zh": "地图的查询条件有误", "en": "the map's query is not valid"}, fields=problems)
    return measure, (days or period), region


def period_dates(period, tz: str | None) -> tuple[date, date]:
    if isinstance(period, tuple):
        return period
    today = datetime.now(zone(tz)).date()
    return today - timedelta(days=int(period) - 1), today


def chain_reads(view_code: str) -> tuple[str, str | None, str] | None:
    """How the national root's map of ``view_code`` reads the map keys (``cells.map_keys``): (the slice name, the key
    value of the one place of a county's view or None, the value prefix of the view's places); None: it cannot."""
    if view_code == boundaries.NATIONAL:
        return "map1", None, ""
    chain = cells.map_chain(view_code)
    if view_code not in chain:
        return None
    k = chain.index(view_code) + 1
    if boundaries.level_of(view_code) == "county":
        return f"map{k}", (view_code if k == 1 else f"{chain[k - 2]}>{view_code}"), ""
    return f"map{k + 1}", None, f"{view_code}>"


def chain_tally(view_code: str, keys: dict[str, dict[str, int]]) -> tuple[dict[str, int], list[tuple[str, int]], int]:
    """``tally`` of the national root from the map keys (name -> value -> count, "map1" always among them): the same
    numbers per place and unplaced; nothing is outside the country."""
    name, exact, prefix = chain_reads(view_code)
    found = keys.get(name) or {}
    per_place: dict[str, int] = {}
    if exact is not None:
        if found.get(exact):
            per_place[view_code] = found[exact]
    else:
        for value, n in found.items():
            if n and value != cells.UNPLACED and value.startswith(prefix):
                place = value[len(prefix):]
                per_place[place] = per_place.get(place, 0) + n
    return per_place, [], (keys.get("map1") or {}).get(cells.UNPLACED, 0)


async def map_result(tenant, measure: str, start: date, end: date, region: str, root: str, href=None) -> MapResult:
    """The numbers of one view as ``tenant`` sees it. The national root reads the map keys counted for each level (a
    few dozen keys a month for the country's map); any other root counts every region code of its area (``tally``:
    a code outside the area is listed by its full name)."""
    from . import rollups

    view = boundaries.view(region)
    reads = chain_reads(region) if root == boundaries.NATIONAL and measure in cells.MAP_MEASURES else None
    if reads is None:
        return build(view, measure, await region_counts(tenant, measure, start, end), root=root, href=href)
    keys = await rollups.map_counts(tenant, measure, start, end, sorted({"map1", reads[0]}), region=region)
    return assemble(view, measure, *chain_tally(region, keys), href=href)


async def region_counts(tenant, measure: str, start: date, end: date) -> dict[str, int]:
    from . import rollups  # written beside this module; imported late so the map never imports a half-built graph

    return await rollups.counts_by_region(tenant, measure, start, end)


def query_of(measure: str, period) -> dict[str, str]:
    if isinstance(period, tuple):
        return {"measure": measure, "start": period[0].isoformat(), "end": period[1].isoformat()}
    return {"measure": measure, "period": period}


async def _result(tenant, measure: str, period: str, region: str, root: str) -> tuple[MapResult, date, date]:
    start, end = period_dates(period, tenant.settings.time_zone)

    def href(code: str) -> str:
        return url_for("analytics_pages.map_page", tenant_slug=tenant.slug, region=code, **query_of(measure, period))

    return await map_result(tenant, measure, start, end, region, root, href=href), start, end


@analytics_pages_bp.get("/map")
@requires(Permission.ANALYTICS_READ)
async def map_page(tenant_slug):
    tenant = g.tenant_ctx.tenant
    root = viewer_root(tenant)
    measure, period, region = _ask(request.args, root)
    result, start, end = await _result(tenant, measure, period, region, root)
    lang = current_lang()
    crumbs = [(name, url_for("analytics_pages.map_page", tenant_slug=tenant.slug, region=code, **query_of(measure, period))
               if code != region else None) for code, name in boundaries.breadcrumb(region, root)]
    return await staff_page("staff/analytics/map.html", result=result, map_svg=svg(result, lang=lang), measure=measure,
                            period=period, region=region, measures=MEASURES, periods=PERIODS, crumbs=crumbs,
                            start=start, end=end, level_words=LEVEL_WORDS[result.view.level], palette_zero=ZERO,
                            no_data=NO_DATA)


@analytics_api_bp.get("/map")
@requires(Permission.ANALYTICS_READ)
async def map_json(tenant_slug):
    tenant = g.tenant_ctx.tenant
    root = viewer_root(tenant)
    measure, period, region = _ask(request.args, root)
    result, start, end = await _result(tenant, measure, period, region, root)
    return {
        "measure": measure, "start": start.isoformat(), "end": end.isoformat(),
        "region": {"code": region, "name": result.view.name, "level": result.view.level},
        "places": [{"code": c.code, "name": c.name, "value": c.value, "colour": c.colour, "drill": c.href is not None}
                   for c in result.cells],
        "bands": [{"low": b.low, "high": b.high, "colour": b.colour} for b in result.bands],
        "total": result.total, "outside": [{"name": n, "value": v} for n, v in result.outside], "unknown": result.unknown,
    }


def _elsewhere_words(result: MapResult, lang: str = "zh") -> str:
    """What the map does not place, said beside its total (a tenant whose forms ask no region sees why it is empty),
    in the page's language."""
    outside = sum(count for _, count in result.outside)
    if lang == "zh":
        parts = ([f"；本地区以外 {outside} 件"] if outside else []) + ([f"；未填地区 {result.unknown} 件"] if result.unknown else [])
    else:
        parts = ([f"; outside the area {outside}"] if outside else []) + \
                ([f"; no region given {result.unknown}"] if result.unknown else [])
    return escape("".join(parts))


async def dashboard_panel(tenant, principal) -> Markup | None:
    """A small map of the tenant's area (intake, last 30 days) linking to the full page, in the page's language."""
    if principal is None or not principal.can(Permission.ANALYTICS_READ, str(tenant.id)):
        return None
    root = viewer_root(tenant)
    result, _, _ = await _result(tenant, "received", DEFAULT_PERIOD, root, root)
    link = url_for("analytics_pages.map_page", tenant_slug=tenant.slug)
    lang = current_lang()
    words = (("地图：近30天收件", "打开地图", "地图上", " 件", "查看地图和数字") if lang == "zh" else
             ("Map: intake, last 30 days", "Open the map", "On the map:", "", "See the map and numbers"))
    return Markup(
        f'<section class="xf-panel" aria-labelledby="map-panel-h"><h2 id="map-panel-h">{words[0]}</h2>'
        f'<a href="{escape(link)}" aria-label="{words[1]}">{svg(result, prefix="panel", compact=True, lang=lang)}</a>'
        f'<p>{words[2]} <strong>{result.total}</strong>{words[3]}{_elsewhere_words(result, lang)} · '
        f'<a href="{escape(link)}">{words[4]}</a></p>'
        '</section>')

