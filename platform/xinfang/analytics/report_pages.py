"""Free reports (staff pages): choose measures, up to two dimensions, filters and a period; compare with the period
before (环比) and the same period a year earlier (同比); every number links to the cases behind it; save a report by
name; export XLSX, CSV or PDF.

The report is described by plain query parameters, so every report, number and export is a link:
    m=received&m=closed    measures (checkboxes)        d1=month&d2=channel   dimensions (selects; empty: none)
    start=2026-11-01&end=2026-11-30                    cmp=previous&cmp=last_year
    f.channel=visit&f.region=天心区   filters (dimension -> values kept)      scope=own   only the tenant itself
Every number asks ``rollups.run_report`` and its cases ``rollups.drill_down`` with the same spec, so a list's length
is the number clicked.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from urllib.parse import urlencode

from quart import Response, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput, NotFound
from ..http import refusal_message, staff_page
from ..i18n import current_lang
from ..navigation import allowed_target
from ..store.documents import utcnow
from ..tenancy.resolution import current_tenant
from ..tenancy.service import has_lower_bodies
from ..timefmt import zone
from . import charts, exports, saved_reports
from .blueprints import analytics_pages_bp
from .exports import COMPARE_NAMES, DIMENSION_NAMES, MEASURE_HELP, MEASURE_NAMES
from .reports import (PETITION_DIMENSIONS, PETITION_MEASURES, SUPERVISION_DIMENSIONS, SUPERVISION_MEASURES, TIME_DIMENSIONS,
                      ReportResult, ReportSpec)

FILTER_VALUES_MAX = 50
FILTER_VALUE_LENGTH = 100
DAYS_MAX = {"day": 400, "week": 3 * 366, "month": 10 * 366}
PERIOD_MAX_DAYS = 10 * 366
YEARS = (1990, 2100)
PAGE_SIZE = 50
PAGE_ROWS_MAX = 500  # rows of a report on the page; the export holds up to exports.EXPORT_ROWS_MAX
DEFAULT_MEASURES = ["received", "closed", "overdue"]
FILTER_DIMENSIONS = ("channel", "category", "form", "region", "state", "source", "card_type", "colour", "result", "action_form")
WRONG_CHOICE = {"zh": "不在可选值中", "en": "not one of the choices"}
CHOICES_TTL_SECONDS = 90
_CHOICES: dict[tuple, tuple[float, list[dict]]] = {}  # (viewer, dimension, period, scope, language) -> (when, values)


def tenant_today() -> date:
    return utcnow().astimezone(zone(current_tenant().tenant.settings.time_zone)).date()


def _rollups():
    from . import rollups  # written beside these pages (the numbers); imported when a page asks for numbers

    return rollups


# ---------------------------------------------------------------- the spec from a form or a link, and back


def default_spec(today: date) -> ReportSpec:
    return ReportSpec(measures=DEFAULT_MEASURES, dimensions=["month"], start=today.replace(day=1) if today.day > 1 else today - timedelta(days=30),
                      end=today, compare=["previous"])


def _date(args: MultiDict, name: str, fallback: date, errors: dict) -> date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return fallback
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[name] = {"zh": "日期格式应为 年-月-日，如 2026-11-30", "en": "a date is year-month-day, e.g. 2026-11-30"}
        return fallback
    if not YEARS[0] <= value.year <= YEARS[1]:  # the periods compared (a year earlier, the period before) stay real dates
        errors[name] = {"zh": f"日期应在 {YEARS[0]} 年至 {YEARS[1]} 年之间", "en": f"a date is between {YEARS[0]} and {YEARS[1]}"}
        return fallback
    return value


def parse_spec(args: MultiDict, today: date) -> ReportSpec:
    """The report a form or a link describes, or a 422 with a message per field in Chinese and English."""
    errors: dict[str, dict[str, str]] = {}
    fallback = default_spec(today)
    measures = [m for m in args.getlist("m") if m]
    if not measures and not args.get("d1") and not args.get("start"):
        measures = list(fallback.measures)
    bad = [m for m in measures if m not in MEASURE_NAMES]
    if bad:
        errors["m"] = WRONG_CHOICE
    elif not measures:
        errors["m"] = {"zh": "请至少选择一项指标", "en": "choose at least one measure"}
    elif len(set(measures)) > 6:
        errors["m"] = {"zh": "最多选择 6 项指标", "en": "6 measures at most"}
    measures = list(dict.fromkeys(m for m in measures if m in MEASURE_NAMES))
    dims = []
    for field in ("d1", "d2"):
        value = (args.get(field) or "").strip()
        if value and value not in DIMENSION_NAMES:
            errors[field] = WRONG_CHOICE
        elif value:
            dims.append(value)
    if len(dims) == 2 and dims[0] == dims[1]:
        errors["d2"] = {"zh": "两个分组维度不能相同", "en": "the two dimensions must differ"}
    elif len(dims) == 2 and dims[0] in TIME_DIMENSIONS and dims[1] in TIME_DIMENSIONS:
        errors["d2"] = {"zh": "只能按一个时间维度（日、周或月）分组", "en": "one time dimension (day, week or month) at most"}
    petition_m = [m for m in measures if m in PETITION_MEASURES]
    supervision_m = [m for m in measures if m in SUPERVISION_MEASURES]
    for field, d in zip(("d1", "d2"), dims):
        if d in SUPERVISION_DIMENSIONS and petition_m:
            errors[field] = {"zh": f"“{DIMENSION_NAMES[d]['zh']}”只适用于监督卡和监督措施，不能用于“{MEASURE_NAMES[petition_m[0]]['zh']}”",
                             "en": f"{DIMENSION_NAMES[d]['en']} applies to cards and actions, not to {MEASURE_NAMES[petition_m[0]]['en']}"}
        if d in PETITION_DIMENSIONS and supervision_m:
            errors[field] = {"zh": f"“{DIMENSION_NAMES[d]['zh']}”只适用于信访件，不能用于“{MEASURE_NAMES[supervision_m[0]]['zh']}”",
                             "en": f"{DIMENSION_NAMES[d]['en']} applies to petitions, not to {MEASURE_NAMES[supervision_m[0]]['en']}"}
    start = _date(args, "start", fallback.start, errors)
    end = _date(args, "end", fallback.end, errors)
    if "start" not in errors and "end" not in errors:
        if start > end:
            errors["end"] = {"zh": "结束日期不能早于开始日期", "en": "the end is before the start"}
        elif (end - start).days + 1 > PERIOD_MAX_DAYS:
            errors["start"] = {"zh": "统计期间最长 10 年", "en": "the period is 10 years at most"}
        else:
            for d in dims:
                if d in DAYS_MAX and (end - start).days + 1 > DAYS_MAX[d]:
                    errors["start"] = {"zh": f"按{DIMENSION_NAMES[d]['zh']}分组时统计期间最长 {DAYS_MAX[d]} 天，请缩短期间或改按月",
                                       "en": f"by {DIMENSION_NAMES[d]['en'].lower()} the period is {DAYS_MAX[d]} days at most: shorten it or use months"}
    compare = [c for c in args.getlist("cmp") if c]
    if any(c not in COMPARE_NAMES for c in compare):
        errors["cmp"] = WRONG_CHOICE
    filters: dict[str, list[str]] = {}
    for name in args:
        if not name.startswith("f."):
            continue
        dim = name[2:]
        values = [v.strip() for v in args.getlist(name) if v.strip()]
        if dim not in FILTER_DIMENSIONS and dim != "tenant":
            errors[name] = WRONG_CHOICE
        elif len(values) > FILTER_VALUES_MAX or any(len(v) > FILTER_VALUE_LENGTH for v in values):
            errors[name] = {"zh": f"筛选值最多 {FILTER_VALUES_MAX} 个、每个最多 {FILTER_VALUE_LENGTH} 字",
                            "en": f"{FILTER_VALUES_MAX} values at most, {FILTER_VALUE_LENGTH} characters each"}
        elif values:
            filters[dim] = list(dict.fromkeys(values))
    scope = args.get("scope") or "tree"
    if scope not in ("tree", "own"):
        errors["scope"] = WRONG_CHOICE
    if errors:
        raise InvalidInput({"zh": "报表条件有误", "en": "the report's settings need correcting"}, fields=errors)
    return ReportSpec(measures=measures, dimensions=dims, filters=filters, start=start, end=end,
                      compare=list(dict.fromkeys(compare)), include_lower=scope != "own")


def spec_args(spec: ReportSpec, **overrides) -> list[tuple[str, str]]:
    """The query parameters that describe ``spec`` (``parse_spec`` reads them back to the same spec)."""
    args = [("m", m) for m in spec.measures]
    args += [(f"d{i + 1}", d) for i, d in enumerate(spec.dimensions)]
    args += [("start", spec.start.isoformat()), ("end", spec.end.isoformat())]
    args += [("cmp", c) for c in spec.compare]
    args += [(f"f.{dim}", v) for dim, values in sorted(spec.filters.items()) for v in values]
    if not spec.include_lower:
        args.append(("scope", "own"))
    replaced = {k for k in overrides}
    return [(k, v) for k, v in args if k not in replaced] + [(k, v) for k, v in overrides.items() if v is not None]


def spec_query(spec: ReportSpec, **overrides) -> str:
    return urlencode(spec_args(spec, **overrides))


def drill_url(tenant_slug: str, spec: ReportSpec, measure: str, key: dict[str, str], span: tuple[date, date] | None = None) -> str:
    """The list of cases behind one number: the spec (its period replaced for a comparison's number), the measure
    and the row's dimension values."""
    overrides: dict = {}
    if span is not None:
        overrides = {"start": span[0].isoformat(), "end": span[1].isoformat()}
    args = spec_args(spec.model_copy(update={"compare": []}), **overrides)
    args += [("measure", measure)] + [(f"k.{dim}", value) for dim, value in sorted(key.items())]
    return url_for("analytics_pages.drill_page", tenant_slug=tenant_slug) + "?" + urlencode(args)


# ---------------------------------------------------------------- what the page shows


def _sorted_rows(result: ReportResult) -> list:
    return list(exports.complete(result).rows)


def table_view(result: ReportResult, tenant_slug: str, lang: str) -> dict:
    """The table as the template draws it: the words of each row, each number with its drill-down link."""
    spec = result.spec
    cols = exports.columns(result, lang)

    def numbers(cell) -> list[dict]:
        out = []
        for col in cols:
            measure, kind = col["measure"], col["kind"]
            now = cell.values.get(measure, 0)
            if kind == "value":
                out.append({"value": now, "href": drill_url(tenant_slug, spec, measure, cell.key), "measure": measure, "kind": kind})
            elif kind in ("previous", "last_year"):
                before = (cell.previous if kind == "previous" else cell.last_year).get(measure, 0)
                span = result.previous_period if kind == "previous" else result.last_year_period
                out.append({"value": before, "href": drill_url(tenant_slug, spec, measure, cell.key, span) if span else None, "before": True,
                            "measure": measure, "kind": kind})
            else:
                before = (cell.previous if kind.startswith("previous") else cell.last_year).get(measure)
                pct = exports.change(now, before)
                out.append({"change": exports.change_words(now, before, lang), "direction": "up" if pct and pct > 0 else "down" if pct and pct < 0 else "",
                            "measure": measure, "kind": kind})
        return out

    every_row = _sorted_rows(result)
    rows = [{"words": [exports.cell_words(cell, d, lang) for d in spec.dimensions], "numbers": numbers(cell),
             "key": "&".join(f"{d}={cell.key.get(d, '')}" for d in spec.dimensions)} for cell in every_row[:PAGE_ROWS_MAX]]
    return {"heading": [DIMENSION_NAMES[d][lang] for d in spec.dimensions] + [c["title"] for c in cols], "columns": cols,
            "rows": rows, "totals": numbers(result.totals), "all_rows": len(every_row)}


def _colour_of(dim: str, key: str, colours: dict[str, str]) -> str | None:
    if dim == "colour":
        return key if charts.safe_colour(key) == key else colours.get(key)
    if dim == "card_type":
        return colours.get(key)
    return None


async def card_colours(tenant_ids: list[str]) -> dict[str, str]:
    """Each card type's own colour by its key (the viewer's types first), for bars drawn in it."""
    from ..cards.models import CardType
    from ..store.scoped import TenantScope

    colours: dict[str, str] = {}
    for tenant_id in tenant_ids[:20]:
        async for card in TenantScope(tenant_id).repo(CardType).find({}):
            colours.setdefault(card.key, card.colour)
            colours.setdefault(card.colour_name.zh, card.colour)
    return colours


def axis_label(time: str, code: str) -> str:
    """A short label under a time axis: 11/3 for a day or the week from that Monday, 2026-11 for a month."""
    try:
        if time in ("day", "week"):
            d = date.fromisoformat(code)
            return f"{d.month}/{d.day}"
    except ValueError:
        pass
    return code


def chart_view(result: ReportResult, tenant_slug: str, lang: str, colours: dict[str, str]) -> list:
    """One or two charts for the report: a line over time when a time dimension is chosen, else bars (and a ring
    for a handful of shares), for the first measure (each measure when there is no other dimension)."""
    spec = result.spec
    measure = spec.measures[0]
    mname = MEASURE_NAMES[measure][lang]
    empty = "本期没有数据" if lang == "zh" else "nothing in this period"
    time = next((d for d in spec.dimensions if d in TIME_DIMENSIONS), None)
    other = next((d for d in spec.dimensions if d not in TIME_DIMENSIONS), None)
    rows = _sorted_rows(result)
    if time:
        keys = exports.time_axis(time, spec.start, spec.end)  # every day, week or month of the period: a quiet one is a zero, not a gap
        keys += [k for k in dict.fromkeys(c.key.get(time, "") for c in rows) if k not in set(keys)]
        labels = [axis_label(time, k) for k in keys]
        if other is None:
            series = [charts.Series(MEASURE_NAMES[m][lang], [next((c.values.get(m, 0) for c in rows if c.key.get(time) == k), 0) for k in keys])
                      for m in spec.measures[:4]]
            if lang == "zh":
                title = f"按{DIMENSION_NAMES[time]['zh']}：" + "、".join(s.name for s in series)
            else:
                title = f"By {DIMENSION_NAMES[time]['en'].lower()}: " + ", ".join(s.name for s in series)
        else:
            totals: dict[str, int] = {}
            for c in rows:
                totals[c.key.get(other, "")] = totals.get(c.key.get(other, ""), 0) + c.values.get(measure, 0)
            top = sorted(totals, key=lambda k: -totals[k])[:6]
            series = []
            for i, value in enumerate(top):
                name = next((exports.cell_words(c, other, lang) for c in rows if c.key.get(other) == value), value)
                series.append(charts.Series(name, [sum(c.values.get(measure, 0) for c in rows if c.key.get(time) == k and c.key.get(other) == value)
                                                   for k in keys], _colour_of(other, value, colours)))
            title = (f"{mname}：按{DIMENSION_NAMES[time]['zh']}、按{DIMENSION_NAMES[other]['zh']}（前 6 项）" if lang == "zh"
                     else f"{mname} by {DIMENSION_NAMES[time]['en'].lower()} and {DIMENSION_NAMES[other]['en'].lower()} (top 6)")
        return [{"title": title, "svg": charts.line_chart(title, labels, series, empty=empty)}]
    if not spec.dimensions:
        bars = [charts.Bar(MEASURE_NAMES[m][lang], result.totals.values.get(m, 0), href=drill_url(tenant_slug, spec, m, {}))
                for m in spec.measures]
        title = "各项指标" if lang == "zh" else "The measures"
        return [{"title": title, "svg": charts.bar_chart(title, bars, empty=empty)}]
    dim = spec.dimensions[0]
    ordered = sorted(rows, key=lambda c: -c.values.get(measure, 0))
    total = sum(c.values.get(measure, 0) for c in rows) or 1

    def label(c) -> str:
        return " · ".join(exports.cell_words(c, d, lang) for d in spec.dimensions)

    # Each bar in its own colour (a card type's, else the palette's, the same as its slice of the ring).
    bars = [charts.Bar(label(c), c.values.get(measure, 0), _colour_of(dim, c.key.get(dim, ""), colours) or charts.PALETTE[i % len(charts.PALETTE)],
                       drill_url(tenant_slug, spec, measure, c.key), f"{round(100 * c.values.get(measure, 0) / total)}%")
            for i, c in enumerate(ordered[:15])]
    by = "、".join(DIMENSION_NAMES[d]["zh"] for d in spec.dimensions) if lang == "zh" else \
        " and ".join(DIMENSION_NAMES[d]["en"].lower() for d in spec.dimensions)
    title = f"{mname}：按{by}" + ("（前 15 项）" if len(rows) > 15 else "") if lang == "zh" else \
        f"{mname} by {by}" + (" (top 15)" if len(rows) > 15 else "")
    shown = [{"title": title, "svg": charts.bar_chart(title, bars, empty=empty)}]
    if len(spec.dimensions) == 1 and 2 <= len(rows) <= 8:
        ring = "占比" if lang == "zh" else "Shares"
        shown.append({"title": f"{mname}{ring}" if lang == "zh" else f"{ring} of {mname.lower()}",
                      "svg": charts.donut(f"{mname} {ring}", bars, empty=empty)})
    return shown


async def filter_choices(viewer, spec: ReportSpec) -> dict[str, list[dict]]:
    """What each filter offers, in words: the values that occur in the period (asked of the rollups by that
    dimension), a kept value that no longer occurs still listed so it can be unticked."""
    rollups = _rollups()
    wanted = [d for d in FILTER_DIMENSIONS if (d in SUPERVISION_DIMENSIONS) == all(m in SUPERVISION_MEASURES for m in spec.measures)]
    lang = current_lang()

    async def values(dim: str) -> list[dict]:
        measure = "cards_issued" if dim in SUPERVISION_DIMENSIONS else "received"
        probe = ReportSpec(measures=[measure], dimensions=[dim], start=spec.start, end=spec.end, include_lower=spec.include_lower)
        try:
            result = await rollups.run_report(viewer, probe)
        except DomainError:
            return []
        seen = [{"value": c.key.get(dim, ""), "words": exports.cell_words(c, dim, lang)} for c in result.rows if c.key.get(dim)]
        return sorted(seen, key=lambda s: s["words"])

    async def cached(dim: str) -> list[dict]:
        # The values of a period change slowly: asked again within a minute or two, the last answer will do.
        key = (str(viewer.id), dim, spec.start, spec.end, spec.include_lower, lang)
        hit = _CHOICES.get(key)
        if hit is None or time.monotonic() - hit[0] > CHOICES_TTL_SECONDS:
            if len(_CHOICES) > 1000:
                _CHOICES.clear()
            hit = _CHOICES[key] = (time.monotonic(), await values(dim))
        known = {s["value"] for s in hit[1]}
        return hit[1] + [{"value": v, "words": v} for v in spec.filters.get(dim, []) if v not in known]

    found = await asyncio.gather(*(cached(d) for d in wanted))
    return {d: v for d, v in zip(wanted, found)}


async def filter_words(viewer, spec: ReportSpec, lang: str) -> list[str]:
    """The filters in force, in words: "地区：天心区、岳麓区"."""
    if not spec.filters:
        return []
    from .labels import Labeller

    labeller = await Labeller.for_tenants(str(viewer.id), spec.filters.get("tenant", []))
    sep, colon = ("、", "：") if lang == "zh" else (", ", ": ")
    return [DIMENSION_NAMES[dim][lang] + colon + sep.join(labeller.label(dim, v).get(lang) or v for v in values)
            for dim, values in spec.filters.items() if dim in DIMENSION_NAMES]


def form_state(spec: ReportSpec, args: MultiDict | None, errors: dict | None) -> dict:
    """What the form's fields hold: the report's settings, or what was typed when it could not be read."""
    if errors and args is not None:
        return {"m": args.getlist("m"), "d1": args.get("d1", ""), "d2": args.get("d2", ""), "start": args.get("start", ""),
                "end": args.get("end", ""), "cmp": args.getlist("cmp"), "scope": args.get("scope", "tree"),
                "filters": {k[2:]: args.getlist(k) for k in args if k.startswith("f.")}}
    dims = list(spec.dimensions) + ["", ""]
    return {"m": list(spec.measures), "d1": dims[0], "d2": dims[1], "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "cmp": list(spec.compare), "scope": "tree" if spec.include_lower else "own", "filters": dict(spec.filters)}


def form_view(spec: ReportSpec, lower: bool) -> dict:
    return {"measures": MEASURE_NAMES, "measure_help": MEASURE_HELP, "dimensions": DIMENSION_NAMES, "compare_names": COMPARE_NAMES,
            "spec": spec, "lower": lower, "petition_measures": PETITION_MEASURES, "supervision_dimensions": SUPERVISION_DIMENSIONS,
            "petition_dimensions": PETITION_DIMENSIONS}


async def _report_page(tenant_slug: str, spec: ReportSpec | None, *, args: MultiDict | None = None, saved=None, errors: dict | None = None,
                       message=None, status: int = 200):
    ctx = current_tenant()
    viewer, lang, today = ctx.tenant, current_lang(), tenant_today()
    lower = await has_lower_bodies(str(viewer.id))
    shown_spec = spec or default_spec(today)
    result = table = None
    chart_list: list = []
    # A report's name that will not do is said beside the name: the report itself is still shown.
    spec_errors = {k: v for k, v in (errors or {}).items() if k != "name"}
    if spec is not None and not spec_errors:
        try:
            result = await _rollups().run_report(viewer, spec)
        except DomainError as refused:  # a combination the rollups refuse: said on the page, the form kept
            errors, message, status = refused.fields or {"m": refused.message}, refusal_message(refused), refused.status
            spec_errors = errors
        else:
            table = table_view(result, tenant_slug, lang)
            chart_list = chart_view(result, tenant_slug, lang, await card_colours(result.tenants or [str(viewer.id)]))
    choices = await filter_choices(viewer, shown_spec) if not spec_errors else {}
    presets = [dict(p, url=url_for("analytics_pages.reports_page", tenant_slug=tenant_slug) + "?" + spec_query(
        shown_spec, start=p["start"].isoformat(), end=p["end"].isoformat())) for p in period_presets(today)]
    return await staff_page("staff/analytics/reports.html", status=status, result=result, table=table, charts=chart_list,
                            state=form_state(shown_spec, args, spec_errors), spec_fields=spec_args(shown_spec) if result is not None else [],
                            spec_errors=spec_errors,
                            period_lines=exports.period_words(result, lang) if result else [], presets=presets,
                            filter_lines=await filter_words(viewer, spec, lang) if result else [],
                            saved=saved, saved_list=await saved_reports.list_saved(ctx.scope), errors=errors or {}, message=message,
                            choices=choices, query=spec_query(shown_spec) if result is not None else "",
                            today=today, **form_view(shown_spec, lower))


def period_presets(today: date) -> list[dict]:
    """Quick periods beside the date fields: this month, last month, this quarter, this year, the last 30 days."""
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    return [
        {"names": {"zh": "本月", "en": "This month"}, "start": first, "end": today},
        {"names": {"zh": "上月", "en": "Last month"}, "start": last_month_end.replace(day=1), "end": last_month_end},
        {"names": {"zh": "本季度", "en": "This quarter"}, "start": quarter, "end": today},
        {"names": {"zh": "本年", "en": "This year"}, "start": today.replace(month=1, day=1), "end": today},
        {"names": {"zh": "近 30 天", "en": "Last 30 days"}, "start": today - timedelta(days=29), "end": today},
    ]


# ---------------------------------------------------------------- routes


@analytics_pages_bp.route("/reports", methods=["GET", "POST"])
@requires(Permission.ANALYTICS_READ)
async def reports_page(tenant_slug):
    """GET: the form, and the report when it has settings. POST: save the report described by the form by name."""
    if request.method == "POST":
        form = await request.form
        try:
            spec = parse_spec(form, tenant_today())
            saved = await saved_reports.save(current_tenant().scope, form.get("name"), spec, current_principal().display_name)
        except InvalidInput as refused:
            spec = None
            try:
                spec = parse_spec(form, tenant_today())
            except InvalidInput:
                pass
            return await _report_page(tenant_slug, spec, args=form, errors=refused.fields, message=refusal_message(refused), status=422)
        return redirect(url_for("analytics_pages.saved_report_page", tenant_slug=tenant_slug, report_id=str(saved.id)), 303)
    if not request.args or set(request.args) <= {"lang"}:
        return await _report_page(tenant_slug, None)
    try:
        spec = parse_spec(request.args, tenant_today())
    except InvalidInput as refused:
        return await _report_page(tenant_slug, None, args=request.args, errors=refused.fields, message=refusal_message(refused), status=422)
    return await _report_page(tenant_slug, spec, args=request.args)


@analytics_pages_bp.get("/reports/saved/<report_id>")
@requires(Permission.ANALYTICS_READ)
async def saved_report_page(tenant_slug, report_id):
    saved = await saved_reports.get_saved(current_tenant().scope, report_id)
    return await _report_page(tenant_slug, saved.spec, saved=saved)


@analytics_pages_bp.post("/reports/saved/<report_id>")
@requires(Permission.ANALYTICS_READ)
async def saved_report_submit(tenant_slug, report_id):
    """Rename (``action=rename``), replace the settings with the form's (``action=update``) or delete (``action=delete``)."""
    scope = current_tenant().scope
    saved = await saved_reports.get_saved(scope, report_id)
    form = await request.form
    action = form.get("action")
    try:
        if action == "rename":
            await saved_reports.rename(scope, report_id, form.get("name"))
        elif action == "update":
            await saved_reports.replace_spec(scope, report_id, parse_spec(form, tenant_today()))
        elif action == "delete":
            await saved_reports.delete(scope, report_id)
            return redirect(url_for("analytics_pages.reports_page", tenant_slug=tenant_slug), 303)
        else:
            raise InvalidInput(fields={"action": WRONG_CHOICE})
    except InvalidInput as refused:
        return await _report_page(tenant_slug, saved.spec, saved=saved, errors=refused.fields, message=refusal_message(refused), status=422)
    return redirect(url_for("analytics_pages.saved_report_page", tenant_slug=tenant_slug, report_id=report_id), 303)


@analytics_pages_bp.get("/reports/cases")
@requires(Permission.ANALYTICS_READ)
async def drill_page(tenant_slug):
    """The cases behind one number of a report: as many as the number says, 50 a page."""
    ctx, lang = current_tenant(), current_lang()
    spec = parse_spec(request.args, tenant_today())
    measure = request.args.get("measure", "")
    if measure not in spec.measures:
        raise InvalidInput(fields={"measure": WRONG_CHOICE})
    key = {name[2:]: request.args.get(name, "") for name in request.args if name.startswith("k.")}
    if any(d not in spec.dimensions for d in key):
        raise InvalidInput(fields={"k": {"zh": "分组值与报表的维度不符", "en": "the row's values do not match the report's dimensions"}})
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 100000:
        raise InvalidInput(fields={"page": {"zh": "页码应为正整数", "en": "the page is a positive whole number"}})
    rollups = _rollups()
    result = await rollups.run_report(ctx.tenant, spec)
    cell = result.totals if not key else next((c for c in result.rows if c.key == key), None)
    total, cases = await rollups.drill_down(ctx.tenant, spec, key, measure, page=int(page), size=PAGE_SIZE)
    principal = current_principal()
    cases = [c if c.href is None or allowed_target(principal, c.href, str(ctx.tenant_id)) else c.model_copy(update={"href": None})
             for c in cases]  # no link this person's role cannot follow
    words = [f"{DIMENSION_NAMES[d][lang]}：{exports.cell_words(cell, d, lang) if cell else v}" if lang == "zh"
             else f"{DIMENSION_NAMES[d][lang]}: {exports.cell_words(cell, d, lang) if cell else v}" for d, v in key.items()]
    pages = max(1, -(-total // PAGE_SIZE))
    back = url_for("analytics_pages.reports_page", tenant_slug=tenant_slug) + "?" + spec_query(spec)

    def page_url(n: int) -> str:
        return url_for("analytics_pages.drill_page", tenant_slug=tenant_slug) + "?" + urlencode(
            [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(n))])

    words += await filter_words(ctx.tenant, spec, lang)
    unit = {"cards_issued": {"zh": "张", "en": "cards"}, "actions_taken": {"zh": "次", "en": "actions"}}.get(measure, {"zh": "件", "en": "cases"})
    return await staff_page("staff/analytics/drill.html", spec=spec, measure=measure, measure_names=MEASURE_NAMES, key_words=words, unit=unit,
                            number=cell.values.get(measure, 0) if cell else 0, total=total, cases=cases, page=int(page), pages=pages,
                            back=back, previous_url=page_url(int(page) - 1) if int(page) > 1 else None,
                            next_url=page_url(int(page) + 1) if int(page) < pages else None)


@analytics_pages_bp.get("/reports/export/<kind>")
@requires(Permission.ANALYTICS_READ)
async def export_report(tenant_slug, kind):
    """The report as XLSX, CSV or PDF: the numbers of the page, the words of the page's language."""
    if kind not in ("xlsx", "csv", "pdf"):
        raise NotFound()
    ctx, lang = current_tenant(), current_lang()
    spec = parse_spec(request.args, tenant_today())
    result = exports.complete(await _rollups().run_report(ctx.tenant, spec))
    tenant_name = ctx.tenant.name.model_dump().get(lang) or ctx.tenant.name.zh
    title = (request.args.get("title") or "").strip()[:60] or (
        "、".join(MEASURE_NAMES[m]["zh"] for m in spec.measures) + "统计表" if lang == "zh"
        else ", ".join(MEASURE_NAMES[m]["en"] for m in spec.measures))
    if kind == "csv":
        body, mimetype = exports.as_csv(result, lang), "text/csv; charset=utf-8"
    elif kind == "xlsx":
        body, mimetype = exports.as_xlsx(result, lang, title), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = await asyncio.to_thread(exports.as_pdf, result, lang, title, tenant_name), "application/pdf"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(ctx.tenant.slug, spec.end, kind)}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
