"""Analytics staff pages: the leader's dashboard, free reports, drill-down, saved reports and exports.

Petitions are registered in tenant A with a region of their own (a marker: every report here filters by it) and dates
received in a month of 2001-2002 picked at random: 3 visits and 2 letters in the month, 2 visits the month before, 1
letter a year earlier. The
page's numbers, the drill-down lists behind them, the XLSX and CSV exports and the PDF all say the same.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import urlencode

import pytest

from tests.conftest import eventually, login_token

ISOLATION_CASES = {
    "analytics_pages.dashboard_page": {"method": "GET", "path": "/staff/analytics/", "kind": "collection"},
    "analytics_pages.reports_page": {"method": "GET", "path": "/staff/analytics/reports", "kind": "collection"},
    "analytics_pages.saved_report_page": {"method": "GET", "path": "/staff/analytics/reports/saved/{id}", "kind": "object", "owner_object": "petition"},
    "analytics_pages.saved_report_submit": {"method": "POST", "path": "/staff/analytics/reports/saved/{id}", "kind": "object",
                                            "owner_object": "petition", "form": True, "body": {"action": "rename", "name": "隔离测试"}},
    "analytics_pages.drill_page": {"method": "GET", "path": "/staff/analytics/reports/cases?m=received&measure=received", "kind": "collection"},
    "analytics_pages.export_report": {"method": "GET", "path": "/staff/analytics/reports/export/csv?m=received&d1=month", "kind": "collection"},
}


def month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


class Filed:
    def __init__(self, first: date, marker: str, titles: dict[str, list[str]]):
        self.first, self.marker, self.titles = first, marker, titles
        self.end = month_end(first)

    def query(self, **extra) -> str:
        args = [("m", "received"), ("d1", "channel"), ("start", self.first.isoformat()), ("end", self.end.isoformat()),
                ("cmp", "previous"), ("cmp", "last_year")]
        args += list(extra.items())
        return urlencode(args + [("f.region", self.marker)])

    @property
    def region(self) -> str:
        return urlencode({"f.region": self.marker})


async def _register(client, slug: str, headers: dict, day: date, channel: str, title: str, region: str) -> str:
    filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
        "form": "petition", "channel": channel, "anonymous": True, "received_on": day.isoformat(),
        "answers": {"title": title, "content": f"{title}：学校食堂饭菜质量差，家长反映多次未解决。", "category": "other", "region": region}})
    assert filed.status_code == 201, await filed.get_data(as_text=True)
    return (await filed.get_json())["id"]


@pytest.fixture(scope="module")
async def heads(app, tenants) -> dict[str, dict]:
    """Bearer headers of tenant A's leader and handler and tenant B's leader, made once for the module."""
    client = app.test_client()
    return {"leader": await login_token(client, tenants.A, "leader"), "handler": await login_token(client, tenants.A, "handler"),
            "leader_b": await login_token(client, tenants.B, "leader")}


@pytest.fixture(scope="module")
async def filed(app, tenants):
    """The petitions of this module, counted by the rollups (the worker handles their events)."""
    from xinfang.analytics import rollups
    from xinfang.analytics.reports import ReportSpec
    from xinfang.tenancy.models import Tenant

    client = app.test_client()
    registrar = await login_token(client, tenants.A, "registrar")
    first = date(random.randrange(2001, 2003), random.randrange(2, 13), 1)
    marker = f"统计页测试{random.randrange(10**6):06d}"
    titles: dict[str, list[str]] = {"visit": [], "letter": [], "before": [], "last_year": []}
    for n, channel in enumerate(["visit", "visit", "visit", "letter", "letter"]):
        title = f"{marker} 本月{channel}{n}"
        await _register(client, tenants.A, registrar, first + timedelta(days=3 * n), channel, title, marker)
        titles[channel].append(title)
    before = first - timedelta(days=10)
    for n in range(2):
        titles["before"].append(f"{marker} 上月{n}")
        await _register(client, tenants.A, registrar, before + timedelta(days=n), "visit", titles["before"][-1], marker)
    titles["last_year"].append(f"{marker} 去年")
    await _register(client, tenants.A, registrar, first.replace(year=first.year - 1) + timedelta(days=5), "letter", titles["last_year"][0], marker)

    viewer = await Tenant.find_one({"slug": tenants.A})
    spec = ReportSpec(measures=["received"], start=first - timedelta(days=400), end=month_end(first), filters={"region": [marker]})

    async def counted():
        result = await rollups.run_report(viewer, spec)
        return result.totals.values["received"] == 8 or None

    await eventually(counted, timeout=60, message="the rollups counting the 8 petitions")
    return Filed(first, marker, titles)


def _cell(html: str, key: str, measure: str, kind: str = "value") -> tuple[str, str | None]:
    """(the number shown, its link) in the row ``key`` of a report table."""
    row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert row, f"no row {key}"
    cell = re.search(rf'<td class="num[^"]*" data-measure="{measure}" data-kind="{kind}">(.*?)</td>', row.group(1), re.S)
    assert cell, f"no {measure}/{kind} in row {key}"
    link = re.search(r'<a href="([^"]+)"[^>]*>(.*?)</a>', cell.group(1))
    return (link.group(2).strip(), unescape(link.group(1))) if link else (cell.group(1).strip(), None)


async def test_a_report_shows_the_numbers_their_comparisons_and_the_cases_behind_each(client, tenants, filed, heads):
    headers = heads["leader"]
    page = await client.get(f"/t/{tenants.A}/staff/analytics/reports?{filed.query()}", headers=headers)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "来访" in html and "来信" in html and "渠道" in html  # words, never codes
    visits, visit_link = _cell(html, "channel=visit", "received")
    letters, letter_link = _cell(html, "channel=letter", "received")
    assert (visits, letters) == ("3", "2")
    assert _cell(html, "channel=visit", "received", "previous")[0] == "2"
    assert _cell(html, "channel=letter", "received", "last_year")[0] == "1"
    assert _cell(html, "channel=visit", "received", "previous_change")[0] == "+50%"
    assert _cell(html, "channel=letter", "received", "last_year_change")[0] == "+100%"
    total, total_link = _cell(html, "total", "received")
    assert total == "5"
    assert "<svg" in html and "<script" not in html  # the chart is drawn on the server

    for link, expected in ((visit_link, filed.titles["visit"]), (letter_link, filed.titles["letter"]),
                           (total_link, filed.titles["visit"] + filed.titles["letter"])):
        drill = await client.get(link, headers=headers)
        text = await drill.get_data(as_text=True)
        assert drill.status_code == 200, text
        shown = re.findall(rf"{filed.marker} [^<]+", text)
        assert sorted(shown) == sorted(expected)  # the list's length is the number clicked, and these are the cases
        assert f"：{len(expected)} 件" in text
    before_link = _cell(html, "channel=visit", "received", "previous")[1]
    before = await (await client.get(before_link, headers=headers)).get_data(as_text=True)
    assert sorted(re.findall(rf"{filed.marker} [^<]+", before)) == sorted(filed.titles["before"])


async def test_a_report_by_month_draws_a_line_and_exports_the_same_numbers(client, tenants, filed, heads):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    headers = heads["handler"]
    start = (filed.first - timedelta(days=1)).replace(day=1)
    query = f"m=received&m=closed&d1=month&start={start.isoformat()}&end={filed.end.isoformat()}&cmp=last_year&{filed.region}"
    html = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports?{query}", headers=headers)).get_data(as_text=True)
    month_key, before_key = filed.first.strftime("%Y-%m"), start.strftime("%Y-%m")
    assert _cell(html, f"month={month_key}", "received")[0] == "5" and _cell(html, f"month={before_key}", "received")[0] == "2"
    assert 'class="chart line"' in html

    xlsx = await client.get(f"/t/{tenants.A}/staff/analytics/reports/export/xlsx?{query}", headers=headers)
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(await xlsx.get_data())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    heading = next(r for r in rows if r and r[0] == "月")
    assert heading[1] == "受理件数" and "受理件数（去年同期）" in heading
    by_month = {r[0]: r for r in rows[rows.index(heading) + 1:] if r and r[0]}
    month_words = next(k for k in by_month if str(filed.first.year) in str(k) and str(filed.first.month) in str(k)[4:])
    assert by_month[month_words][1] == 5 and isinstance(by_month[month_words][1], int)  # a number, not text
    assert by_month["合计"][1] == 7

    raw = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports/export/csv?{query}", headers=headers)).get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:2] == ["月", "受理件数"]
    assert {r[0]: r[1] for r in table[1:]}[month_words] == "5" and table[-1][:2] == ["合计", "7"]

    pdf = await client.get(f"/t/{tenants.A}/staff/analytics/reports/export/pdf?{query}&{urlencode({'title': '月度受理'})}", headers=headers)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.get_data())).pages)
    assert "月度受理" in text and "受理件数" in text and "合计" in text


async def test_a_saved_report_opens_renames_is_saved_over_and_deleted(client, tenants, filed, heads):
    headers = heads["leader"]
    name = f"{filed.marker} 每月渠道"
    form = {"m": "received", "d1": "channel", "start": filed.first.isoformat(), "end": filed.end.isoformat(), "cmp": "previous", "name": name,
            "f.region": filed.marker}
    saved = await client.post(f"/t/{tenants.A}/staff/analytics/reports", headers=headers, form=form)
    assert saved.status_code == 303, await saved.get_data(as_text=True)
    url = saved.headers["Location"]
    page = await (await client.get(url, headers=headers)).get_data(as_text=True)
    assert name in page and _cell(page, "channel=visit", "received")[0] == "3"
    listed = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports", headers=headers)).get_data(as_text=True)
    assert name in listed

    renamed = await client.post(url, headers=headers, form={"action": "rename", "name": f"{name} 改"})
    assert renamed.status_code == 303
    over = await client.post(url, headers=headers, form={"action": "update", "m": "received", "d1": "month", "start": filed.first.isoformat(),
                                                         "end": filed.end.isoformat(), "f.region": filed.marker})
    assert over.status_code == 303
    page = await (await client.get(url, headers=headers)).get_data(as_text=True)
    assert f"{name} 改" in page and _cell(page, f"month={filed.first.strftime('%Y-%m')}", "received")[0] == "5"

    # another tenant's leader: the same 404 as a made-up id
    assert (await client.get(url.replace(tenants.A, tenants.B), headers=heads["leader_b"])).status_code == 404

    gone = await client.post(url, headers=headers, form={"action": "delete"})
    assert gone.status_code == 303
    assert (await client.get(url, headers=headers)).status_code == 404


BAD_SETTINGS = [
    ("m=received&start=2026-13-01", "日期格式"),
    ("m=received&start=2020-02-01&end=2020-01-01", "结束日期不能早于开始日期"),
    ("m=nonsense&d1=month", "不在可选值中"),
    ("m=received&d1=colour", "只适用于监督卡"),
    ("m=received&d1=month&d2=month", "两个分组维度不能相同"),
    ("m=received&d1=day&start=2010-01-01&end=2020-01-01", "最长"),
]


async def test_bad_report_settings_are_a_422_saying_what_to_correct(client, tenants, heads):
    for query, words in BAD_SETTINGS:
        page = await client.get(f"/t/{tenants.A}/staff/analytics/reports?{query}", headers=heads["handler"])
        html = await page.get_data(as_text=True)
        assert page.status_code == 422 and words in html and 'class="field-error"' in html, query
        export = await client.get(f"/t/{tenants.A}/staff/analytics/reports/export/csv?{query}", headers=heads["handler"])
        assert export.status_code == 422, query
    english = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports?{BAD_SETTINGS[1][0]}&lang=en", headers=heads["handler"])).get_data(as_text=True)
    assert "settings need correcting" in english and "the end is before the start" in english


HOSTILE = ["start=0001-01-01&end=0001-12-31&cmp=previous&cmp=last_year", "start=9999-12-01&end=9999-12-31&cmp=last_year",
           "m=received&m=received&m=received&m=received&m=received&m=received&m=closed", "d1=tenant&d2=week&m=cards_issued&m=received",
           "m=received&d1=week&measure=received&k.week=nonsense", "m=received&d1=day&measure=received&k.day=2026-02-30",
           "m=received&measure=received&k.tenant=zzz&d1=tenant", "m=received&f.region=" + "x" * 300, "m=received&f.nonsense=1",
           "m=received&" + "&".join(f"f.channel=v{n}" for n in range(60)), "m=received&scope=everyone", "m=%00&d1=%ff",
           "m=received&measure=received&page=99999", "m=received&measure=received&page=-1", "cmp=sideways&m=received"]


async def test_other_bad_input_is_4xx_never_5xx(client, tenants, filed, heads):
    headers = heads["leader"]
    base = f"/t/{tenants.A}/staff/analytics"
    for query in HOSTILE:
        for path in ("reports", "reports/cases", "reports/export/csv"):
            answer = await client.get(f"{base}/{path}?{query}", headers=headers)
            assert answer.status_code < 500, (path, query, await answer.get_data(as_text=True))
    assert (await client.get(f"{base}/reports/export/docx?m=received", headers=headers)).status_code == 404
    assert (await client.get(f"{base}/reports/cases?m=received&measure=closed", headers=headers)).status_code == 422
    assert (await client.get(f"{base}/reports/cases?m=received&measure=received&page=x", headers=headers)).status_code == 422
    assert (await client.get(f"{base}/reports/cases?m=received&measure=received&k.channel=visit", headers=headers)).status_code == 422
    nameless = await client.post(f"{base}/reports", headers=headers, form={"m": "received", "name": "  "})
    assert nameless.status_code == 422 and "请给报表起个名字" in await nameless.get_data(as_text=True)
    assert (await client.post(f"{base}/reports/saved/nonsense", headers=headers, form={"action": "delete"})).status_code == 404
    registrar = await login_token(client, tenants.A, "registrar")  # a registrar does not read analytics
    assert (await client.get(f"{base}/", headers=registrar)).status_code == 403


async def test_the_dashboard_shows_todays_figures_cards_forms_and_the_panels(client, tenants, filed, heads):
    from xinfang.analytics import rollups
    from xinfang.tenancy.models import Tenant
    from xinfang.timefmt import zone
    from xinfang.store.documents import utcnow

    headers = heads["leader"]
    viewer = await Tenant.find_one({"slug": tenants.A})
    page = await client.get(f"/t/{tenants.A}/staff/analytics/", headers=headers)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200, html
    today = utcnow().astimezone(zone(viewer.settings.time_zone)).date()
    snap = await rollups.snapshot(viewer, today)
    for key in ("intake_today", "open", "overdue", "due_this_week"):
        shown = re.search(rf'data-figure="{key}">\s*<strong>(\d+)</strong>', html)
        assert shown, key
        assert abs(int(shown.group(1)) - snap[key]["count"]) <= 2  # other tests may file meanwhile
        assert snap[key]["label"]["zh"] in html
    # A county's overdue cases are its inbox's (a prefecture's tile counts the bodies below too, so it has no such link).
    assert re.search(r'href="/t/[^"]+/staff/\?overdue=1" data-figure="overdue"', html)
    assert "监督措施形式占比" in html and "监督卡（按颜色）" in html and "近 30 天受理与办结" in html
    assert "统计分析" in html  # the navigation has the dashboard for a leader
    assert "近 30 天热点话题" in html  # the search plugin's panel (hook xinfang_dashboard_panels)
    assert "本级及下级单位" not in html  # a county has nobody below
    english = await (await client.get(f"/t/{tenants.A}/staff/analytics/?lang=en", headers=headers)).get_data(as_text=True)
    assert "Dashboard" in english and "Cards by colour" in english


async def test_a_prefecture_sees_itself_and_each_body_below(client, tenants, heads):
    from xinfang.analytics import rollups
    from xinfang.analytics.reports import ReportSpec
    from xinfang.tenancy.models import Tenant

    child = await login_token(client, tenants.CHILD_OF_B, "handler")
    first = date(random.randrange(2001, 2003), random.randrange(1, 13), 1)
    marker = f"下级统计测试{random.randrange(10**6):06d}"
    await _register(client, tenants.CHILD_OF_B, child, first + timedelta(days=2), "visit", f"{marker} 下级单位的信访件", marker)
    prefecture = await Tenant.find_one({"slug": tenants.B})
    korla = await Tenant.find_one({"slug": tenants.CHILD_OF_B})
    spec = ReportSpec(measures=["received"], dimensions=["tenant"], start=first, end=month_end(first), filters={"region": [marker]})

    async def counted():
        return (await rollups.run_report(prefecture, spec)).totals.values["received"] == 1 or None

    await eventually(counted, timeout=60, message="the child's petition counted at the prefecture")
    headers = heads["leader_b"]
    html = await (await client.get(f"/t/{tenants.B}/staff/analytics/reports?m=received&d1=tenant&start={first.isoformat()}"
                                   f"&end={month_end(first).isoformat()}&{urlencode({'f.region': marker})}", headers=headers)).get_data(as_text=True)
    assert "库尔勒" in html
    number, link = _cell(html, f"tenant={korla.id}", "received")
    assert number == "1"
    drill = await (await client.get(link, headers=headers)).get_data(as_text=True)
    assert f"{marker} 下级单位的信访件" in drill and "没有链接的是下级单位的案件" in drill  # the prefecture cannot open the county's case
    dashboard = await (await client.get(f"/t/{tenants.B}/staff/analytics/", headers=headers)).get_data(as_text=True)
    assert "本级及下级单位" in dashboard and "库尔勒" in dashboard and f'data-key="tenant={prefecture.id}"' in dashboard
    assert 'data-figure="overdue"' in dashboard and "/staff/?overdue=1" not in dashboard


def _result(compare=("previous",)):
    from xinfang.analytics.reports import ReportCell, ReportResult, ReportSpec

    spec = ReportSpec(measures=["received", "closed"], dimensions=["region"], start=date(2026, 11, 1), end=date(2026, 11, 30), compare=list(compare))
    rows = [ReportCell(key={"region": "=HYPERLINK(1)"}, labels={"region": {"zh": "=HYPERLINK(\"x\")", "en": "=HYPERLINK(\"x\")"}},
                       values={"received": 6, "closed": 2}, previous={"received": 4, "closed": 0}),
            ReportCell(key={"region": "430103"}, labels={"region": {"zh": "<b>天心区</b>", "en": "Tianxin"}},
                       values={"received": 3, "closed": 3}, previous={"received": 3, "closed": 1})]
    totals = ReportCell(key={}, labels={}, values={"received": 9, "closed": 5}, previous={"received": 7, "closed": 1})
    return ReportResult(spec=spec, rows=rows, totals=totals, previous_period=(date(2026, 10, 2), date(2026, 10, 31)))


def test_exports_of_a_constructed_result_keep_numbers_as_numbers_and_formulas_as_text():
    from openpyxl import load_workbook

    from xinfang.analytics import exports

    result = _result()
    heading, rows, totals = exports.table(result, "zh")
    assert heading == ["地区", "受理件数", "受理件数（上期）", "环比 %", "办结件数", "办结件数（上期）", "环比 %"]
    assert rows[0][1:] == [6, 4, 50.0, 2, 0, None] and totals == ["合计", 9, 7, 28.6, 5, 1, 400.0]
    sheet = load_workbook(io.BytesIO(exports.as_xlsx(result, "zh", "=测试"))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "'=测试"  # the title a person typed is text, never a formula
    first = next(r for r in values if r and str(r[0]).startswith("'=HYPERLINK"))
    assert first[1] == 6 and first[2] == 4 and abs(first[3] - 0.5) < 1e-9  # a change is a per cent number
    assert sheet.cell(row=values.index(first) + 1, column=4).number_format == "+0.0%;-0.0%;0%"
    table = list(csv.reader(io.StringIO(exports.as_csv(result, "en").decode("utf-8-sig"))))
    assert table[0][:3] == ["Region", "Received", "Received (previous period)"] and table[1][0].startswith("'=")
    assert table[-1] == ["Total", "9", "7", "28.6", "5", "1", "400.0"]
    exports_max, exports.EXPORT_ROWS_MAX = exports.EXPORT_ROWS_MAX, 1
    try:  # a file holding only the first rows says so in itself
        cut = list(csv.reader(io.StringIO(exports.as_csv(result, "zh").decode("utf-8-sig"))))
    finally:
        exports.EXPORT_ROWS_MAX = exports_max
    assert len(cut) == 4 and cut[-1][0].startswith("仅导出前 1 行，共 2 行")
    assert [exports.change_words(3, 3, "zh"), exports.change_words(2, 0, "zh"), exports.change_words(0, 0, "en"),
            exports.change_words(1, 4, "en")] == ["持平", "新增", "—", "-75%"]


def test_charts_escape_every_label_and_take_only_plain_colours():
    from xinfang.analytics import charts

    evil = '<script>alert(1)</script>"'
    bars = charts.bar_chart(evil, [charts.Bar(evil, 3, 'red" onload="alert(1)', "/x?a=1&b=<2>")])
    assert "<script>" not in bars and "&lt;script&gt;" in bars and 'onload="' not in bars and "&amp;b=&lt;2&gt;" in bars
    line = charts.line_chart("趋势", ["11/1", evil], [charts.Series(evil, [1, 7])])
    assert "<script>" not in line and ">8<" in line  # the axis tops at 4 whole steps: 0, 2, 4, 6, 8
    ring = charts.donut("占比", [charts.Bar("谈话", 49, None), charts.Bar("通知书", 32, "#abc"), charts.Bar("其他", 19)])
    assert "谈话  49 · 49%" in ring and 'stroke="#abc"' in ring
    assert "暂无" in charts.donut("占比", [], empty="暂无") and "暂无" in charts.line_chart("x", [], [], empty="暂无")


async def test_cards_by_colour_are_drawn_in_their_card_types_colours_and_drill_to_the_cards(client, tenants, heads):
    from xinfang.analytics import rollups
    from xinfang.analytics.reports import ReportSpec
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant
    from tests.test_cards_steps import issued_to, person

    viewer = await Tenant.find_one({"slug": tenants.A})
    scope = TenantScope(viewer.id)
    day = date(random.randrange(2041, 2050), random.randrange(1, 13), 10)  # issued on a day nobody else's cards are
    for type_key in ("yellow", "yellow", "red"):
        await issued_to(scope, person(), day.isoformat(), type_key=type_key)
    spec = ReportSpec(measures=["cards_issued"], dimensions=["colour"], start=day, end=day)

    async def counted():
        return (await rollups.run_report(viewer, spec)).totals.values["cards_issued"] == 3 or None

    await eventually(counted, timeout=60, message="the three cards counted")
    html = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports?m=cards_issued&d1=colour&start={day}&end={day}",
                                   headers=heads["leader"])).get_data(as_text=True)
    yellow, link = _cell(html, "colour=#f2c200", "cards_issued")
    assert yellow == "2" and _cell(html, "colour=#d62828", "cards_issued")[0] == "1"
    assert 'fill="#f2c200"' in html and 'fill="#d62828"' in html and "黄" in html  # each bar in its card type's colour, named in words
    drill = await (await client.get(link, headers=heads["leader"])).get_data(as_text=True)
    assert "发出监督卡：2 张" in drill and drill.count("/staff/supervisions/") == 2  # each card links to its page


def test_a_report_by_time_alone_lists_every_month_and_its_line_has_no_gaps():
    from xinfang.analytics import exports
    from xinfang.analytics.report_pages import chart_view
    from xinfang.analytics.reports import ReportCell, ReportResult, ReportSpec

    spec = ReportSpec(measures=["received"], dimensions=["month"], start=date(2026, 1, 1), end=date(2026, 4, 30), compare=["last_year"])
    cell = ReportCell(key={"month": "2026-03"}, labels={"month": {"zh": "2026-03", "en": "2026-03"}}, values={"received": 4},
                      last_year={"received": 2})
    result = ReportResult(spec=spec, rows=[cell], totals=cell.model_copy(update={"key": {}, "labels": {}}))
    heading, rows, totals = exports.table(exports.complete(result), "zh")
    assert [r[:3] for r in rows] == [["2026-01", 0, 0], ["2026-02", 0, 0], ["2026-03", 4, 2], ["2026-04", 0, 0]]
    weeks = exports.time_axis("week", date(2026, 11, 4), date(2026, 11, 30))
    assert weeks == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]
    (line,) = chart_view(result, "t", "zh", {})
    assert line["svg"].count("<circle") == 4  # a point for each month, the quiet ones at zero


# ----------------------------------------------------------------------------- what the numbers mean (issue 14)


async def _walk(client, slug: str, pid: str, steps: list[tuple[dict, str, dict]]) -> None:
    for headers, step, fields in steps:
        moved = await client.post(f"/t/{slug}/api/petitions/{pid}/transitions/{step}", headers=headers, json={"fields": fields})
        assert moved.status_code == 200, await moved.get_data(as_text=True)


async def test_a_case_closed_after_its_time_limit_stays_overdue_as_closed_late(client, tenants, heads):
    """Two cases of one region: one closed after its time limit had passed (the sweeper had flagged it), one within it.
    Closing clears the petition's limit and flag, yet the report's 超期件数 counts the late one (超期办结) and lists it,
    the dashboard says which number includes closed-late cases, and a rebuild gives the same."""
    from xinfang.analytics import rollups
    from xinfang.analytics.models import AnalyticsFact
    from xinfang.analytics.reports import ReportSpec
    from xinfang.analytics.service import rebuild
    from xinfang.petitions.models import Petition
    from xinfang.store.scoped import parse_object_id
    from xinfang.tenancy.models import Tenant

    registrar = await login_token(client, tenants.A, "registrar")
    leader, handler = heads["leader"], heads["handler"]
    region = f"超期办结测试{random.randrange(10**6):06d}"
    day = date(random.randrange(2005, 2009), random.randrange(1, 13), 12)
    late = await _register(client, tenants.A, registrar, day, "letter", f"{region} 超期后办结", region)
    in_time = await _register(client, tenants.A, registrar, day, "letter", f"{region} 按期办结", region)
    accounts = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=leader)).get_json())["accounts"]
    handler_id = next(a["id"] for a in accounts if a["username"] == "handler")
    for pid in (late, in_time):
        await _walk(client, tenants.A, pid, [(leader, "accept", {}), (leader, "assign", {"assignee": handler_id}),
                                             (handler, "reply", {"reply": "已处理。"})])
    # the time limit of the first passed long ago, and the sweeper flagged it (as petitions.service.flag_overdue does)
    await Petition.get_pymongo_collection().update_one({"_id": parse_object_id(late)}, {"$set": {"due_on": "2005-01-01", "overdue": True}})
    for pid in (late, in_time):
        await _walk(client, tenants.A, pid, [(handler, "close", {})])
    closed = await Petition.get_pymongo_collection().find_one({"_id": parse_object_id(late)})
    assert closed["due_on"] is None and closed["overdue"] is False and closed["last_due_on"] == "2005-01-01"

    viewer = await Tenant.find_one({"slug": tenants.A})
    spec = ReportSpec(measures=["received", "overdue", "open_now"], start=day, end=day, filters={"region": [region]})

    async def counted():
        values = (await rollups.run_report(viewer, spec)).totals.values
        return values if values["received"] == 2 and values["open_now"] == 0 else None

    values = await eventually(counted, timeout=60, message="both cases counted as closed")
    assert values["overdue"] == 1  # before: 0, closing had cleared what made it overdue
    count, cases = await rollups.drill_down(viewer, spec, {}, "overdue")
    assert count == 1 and [c.subject_id for c in cases] == [late]  # the list behind the number
    fact = await AnalyticsFact.get_pymongo_collection().find_one({"_id": parse_object_id(in_time)})
    assert fact["overdue"] is False
    await rebuild([str(viewer.id)])
    assert (await rollups.run_report(viewer, spec)).totals.values["overdue"] == 1

    query = urlencode({"m": "overdue", "start": day.isoformat(), "end": day.isoformat(), "f.region": region})
    html = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports?{query}", headers=leader)).get_data(as_text=True)
    assert "超期件数（含超期办结）" in html and "超期后才办结" in html  # the measure says what it counts
    dashboard = await (await client.get(f"/t/{tenants.A}/staff/analytics/", headers=leader)).get_data(as_text=True)
    assert 'data-figure="overdue_year"' in dashboard and "含超期办结" in dashboard and "超期未办结" in dashboard


async def test_a_card_types_new_colour_reaches_the_facts_of_cards_already_issued(client, tenants, heads):
    """A tenant admin publishes a changed colour of a card type: the cards of that type issued before are counted under
    the new colour at once (a task refreshes their facts), not at each card's next event or a rebuild."""
    from xinfang.analytics import rollups
    from xinfang.analytics.models import AnalyticsFact
    from xinfang.analytics.reports import ReportSpec
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant
    from tests.test_cards_steps import issued_to, person

    admin = await login_token(client, tenants.A, "admin")
    shown = await (await client.get(f"/t/{tenants.A}/api/card-types", headers=admin)).get_json()
    key = f"colourtest{random.randrange(10**6):06d}"
    body = next(c for c in shown["card_types"] if c["key"] == "yellow") | {
        "key": key, "name": {"zh": f"颜色测试卡{key[-6:]}", "en": f"Colour test {key[-6:]}"}, "colour": "#2a9d8f",
        "colour_name": {"zh": "青绿", "en": "Teal"}}
    body = {k: v for k, v in body.items() if k not in ("id", "tenant_id", "created_at", "updated_at", "source")}
    created = await client.put(f"/t/{tenants.A}/api/card-types/{key}", headers=admin, json=body)
    assert created.status_code == 200, await created.get_data(as_text=True)
    viewer = await Tenant.find_one({"slug": tenants.A})
    day = date(random.randrange(2051, 2060), random.randrange(1, 13), 10)  # issued on a day nobody else's cards are
    for _ in range(2):
        await issued_to(TenantScope(viewer.id), person(), day.isoformat(), type_key=key)
    spec = ReportSpec(measures=["cards_issued"], dimensions=["colour"], start=day, end=day)

    async def by_colour(colour: str):
        rows = {c.key["colour"]: c.values["cards_issued"] for c in (await rollups.run_report(viewer, spec)).rows}
        return rows if rows.get(colour) == 2 else None

    await eventually(lambda: by_colour("#2a9d8f"), timeout=60, message="the two cards counted in teal")
    changed = await client.put(f"/t/{tenants.A}/api/card-types/{key}", headers=admin, json=body | {
        "colour": "#6a4c93", "colour_name": {"zh": "紫", "en": "Purple"}})
    assert changed.status_code == 200, await changed.get_data(as_text=True)
    rows = await eventually(lambda: by_colour("#6a4c93"), timeout=60, message="the two cards counted in the new colour")
    assert "#2a9d8f" not in rows
    facts = await AnalyticsFact.get_pymongo_collection().find({"tenant_id": str(viewer.id), "card_type": key}).to_list(None)
    assert len(facts) == 2 and {f["colour"] for f in facts} == {"#6a4c93"}
    html = await (await client.get(f"/t/{tenants.A}/staff/analytics/reports?m=cards_issued&d1=colour&start={day}&end={day}",
                                   headers=heads["leader"])).get_data(as_text=True)
    assert 'fill="#6a4c93"' in html and "紫" in html


async def test_a_collective_flag_lost_by_dismissed_links_reaches_the_facts(client, tenants):
    """Five people on one matter make a collective petition (集体访), and analytics counts all five so. Staff dismiss the
    fifth petition's links (not the same matter): four people are left, no longer collective, with no new link and no
    event of the four; their facts follow (search tells analytics, whose task refreshes them)."""
    from xinfang.analytics.models import AnalyticsFact
    from xinfang.store.scoped import parse_object_id
    from tests.test_search import file, marker, person

    word = marker()
    text = (f"{word}：{word}街道{word}小区旁的沥青搅拌站夜间施工，粉尘和噪音严重，五十多户居民多次反映无人处理，要求停工整改。")
    handler = await login_token(client, tenants.A, "handler")
    ids = [await file(client, tenants.A, title=f"{word}搅拌站扰民", content=text, identity=person()) for _ in range(5)]
    oids = [parse_object_id(i) for i in ids]

    async def flags(want: bool):
        rows = await AnalyticsFact.get_pymongo_collection().find({"_id": {"$in": oids}}, projection={"collective": 1}).to_list(None)
        return len(rows) == 5 and all(r.get("collective") is want for r in rows) or None

    await eventually(lambda: flags(True), timeout=60, message="all five counted as a collective petition")
    tenant_id = (await AnalyticsFact.get_pymongo_collection().find_one({"_id": oids[0]}))["tenant_id"]
    month = (await AnalyticsFact.get_pymongo_collection().find_one({"_id": oids[0]}))["day"][:7]

    async def counted_as_facts_say():
        """The month's cell recounted after the refresh (the indexer writes facts and marks, then recounts once)."""
        from xinfang.analytics.cells import read_cells

        facts = await AnalyticsFact.get_pymongo_collection().find({"tenant_id": tenant_id}, projection={"day": 1, "collective": 1}).to_list(None)
        want = sum(1 for f in facts if f.get("collective") and (f.get("day") or "").startswith(month))
        cell = (await read_cells([tenant_id], "own", "month", [month], slices=[""])).get((tenant_id, month), {})
        return want >= 5 and cell.get("collective") == want or None

    await eventually(counted_as_facts_say, timeout=60, message="the month's cell counts the collective petitions the facts say")
    listed = await (await client.get(f"/t/{tenants.A}/api/petitions/{ids[-1]}/duplicates", headers=handler)).get_json()
    mine = [c for c in listed["candidates"] if c.get("other_id") in ids[:4]]
    assert mine
    for candidate in mine:
        dismissed = await client.post(f"/t/{tenants.A}/api/duplicates/{candidate['id']}/dismiss", headers=handler)
        assert dismissed.status_code == 200, await dismissed.get_data(as_text=True)
    await eventually(lambda: flags(False), timeout=60, message="none of the five counted as collective any more")
