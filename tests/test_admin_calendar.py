"""The tenant admin's calendar page: a year of months, a click makes a day a day off or a working day, a form enters a
holiday range with make-up workdays (checked field by field), a deadline preview, a version per change, and petition
deadlines that follow what was saved."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode
from datetime import UTC, date, datetime, time, timedelta

import pytest

from xinfang.calendar.service import Rules, check_entry
from xinfang.calendar.workdays import DayKind, WorkingCalendar, describe_day, official_years
from xinfang.errors import InvalidInput
from xinfang.forms.service import require_form
from xinfang.petitions import service as petitions
from xinfang.petitions.models import CalendarRules, Channel
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.config_versions import ConfigActor, do_roll_back_config, list_config_versions
from xinfang.tenancy.context import TenantContext
from xinfang.tenancy.models import Tenant
from tests.login_pages import TOKEN, staff_login

# Another tenant's staff get 401/403 on these URLs (tests/test_isolation.py); on my own tenant an empty form is told
# what is missing, and the page's own preview needs nothing.
ISOLATION_CASES = {
    "calendar_admin.calendar_page": dict(method="GET", path="/admin/calendar?year=2027", kind="collection"),
    "calendar_admin.toggle_day": dict(method="POST", path="/admin/calendar/days", kind="collection", form=True, expect=(422,)),
    "calendar_admin.enter_days": dict(method="POST", path="/admin/calendar", kind="collection", form=True, expect=(200,)),
    "calendar_admin.remove_days": dict(method="POST", path="/admin/calendar/removed", kind="collection", form=True, expect=(422,)),
}
SPRING_FESTIVAL = {"holiday_from": "2027-02-06", "holiday_to": "2027-02-13", "holiday_name": "春节", "makeup_1": "2027-02-20"}
UNKNOWN = 2027


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
async def bazhou(app, tenants):
    """巴州 has entered no 2027 days; each test here enters some and they are taken away afterwards. Emptied first
    as well: another file (the API fuzz, a holiday set with a valid PUT) may have run before in this process."""
    tenant = await Tenant.find_one({"slug": tenants.B})
    scope = TenantScope(tenant.id)
    if await scope.repo(CalendarRules).find_one({}) is not None:
        await petitions.do_set_calendar_rules(scope, holidays=[], workdays=[], names={})
    yield tenant
    row = await scope.repo(CalendarRules).find_one({})
    if row is not None:
        await petitions.do_set_calendar_rules(scope, holidays=[], workdays=[], names={})


async def admin_browser(app, slug: str):
    browser = app.test_client()
    response = await staff_login(browser, slug, "admin")
    assert response.status_code in (302, 303), await response.get_data(as_text=True)
    return browser


async def page_and_token(browser, path: str) -> tuple[str, str]:
    answer = await browser.get(path)
    text = await answer.get_data(as_text=True)
    assert answer.status_code == 200, text[:2000]
    return text, TOKEN.search(text).group(1)


def test_2027_is_a_year_the_official_calendar_does_not_know():
    assert UNKNOWN not in official_years() and 2026 in official_years()  # else pick a later year for these tests
    assert describe_day(WorkingCalendar(), date(2026, 10, 1)).name_zh == "国庆节"


def test_the_entry_checks_say_what_is_wrong_at_each_field():
    saved = Rules(set(), set(), {})
    with pytest.raises(InvalidInput) as caught:
        check_entry(saved, {"holiday_from": "2027-02-13", "holiday_to": "2027-02-06", "makeup_1": "2027-02-08",
                            "makeup_2": "2026-10-10", "makeup_3": "1899-01-01", "holiday_name": "很长" * 11})
    fields = caught.value.fields
    assert set(fields) == {"holiday_to", "makeup_1", "makeup_2", "makeup_3", "holiday_name"}
    assert "周六或周日" in fields["makeup_1"]["zh"] and "Saturday or Sunday" in fields["makeup_1"]["en"]  # 02-08 is a Monday
    assert "国务院" in fields["makeup_2"]["zh"]  # 2026 follows the official arrangement
    assert all(m["zh"] and m["en"] for m in fields.values())
    with pytest.raises(InvalidInput) as caught:
        check_entry(saved, {"holiday_from": "2027-02-06", "holiday_to": "2027-02-13", "makeup_1": "2027-02-07"})
    assert "已是休息日" in caught.value.fields["makeup_1"]["zh"]  # no day is both
    with pytest.raises(InvalidInput) as caught:
        check_entry(saved, {})
    assert set(caught.value.fields) == {"holiday_from"}
    entry = check_entry(saved, SPRING_FESTIVAL)
    assert len(entry.added_holidays) == 8 and [d.isoformat() for d in entry.added_workdays] == ["2027-02-20"]
    assert any("周末" in w["zh"] for w in entry.warnings)  # 02-06/07 and 02-13 are weekend days anyway: a warning, not a refusal
    assert entry.rules.names["2027-02-08"] == "春节" and entry.rules.names["2027-02-20"] == "春节调休"


async def test_the_year_view_says_what_each_day_is_and_where_the_official_calendar_ends(app, bazhou):
    browser = await admin_browser(app, bazhou.slug)
    page, _ = await page_and_token(browser, f"/t/{bazhou.slug}/admin/calendar?year=2026")
    assert page.count('<table class="month"') == 12
    assert re.search(r'<td class="k-official_holiday">[^<]*<span title="2026年10月1日（星期四） 法定节假日：国庆节"', page)
    assert 'data-day="2026-10-10"' in page and "调休上班（国务院安排）：国庆节" in page  # a worked Saturday
    words = text_of(page)
    assert f"已收录 {official_years()[0]}—{official_years()[-1]} 年" in words
    page, _ = await page_and_token(browser, f"/t/{bazhou.slug}/admin/calendar?year={UNKNOWN}")
    words = text_of(page)
    assert f"{UNKNOWN} 年的国家安排平台尚未收录，本单位也还没有录入" in words and "只跳过周六、周日" in words
    assert re.search(r'<button name="day" value="2027-02-06" title="2027年2月6日（星期六） 周末休息。点击改为调休上班日"', page)
    english = text_of(await (await browser.get(f"/t/{bazhou.slug}/admin/calendar?year={UNKNOWN}&lang=en")).get_data(as_text=True))
    assert "The national arrangement for 2027 is not known" in english


async def test_clicks_make_days_off_and_working_days_and_each_is_a_version(app, bazhou):
    browser = await admin_browser(app, bazhou.slug)
    scope = TenantScope(bazhou.id)
    before = len(await list_config_versions(scope, "calendar"))
    _, token = await page_and_token(browser, f"/t/{bazhou.slug}/admin/calendar?year={UNKNOWN}")
    clicked = await browser.post(f"/t/{bazhou.slug}/admin/calendar/days", form={"csrf_token": token, "year": "2027", "day": "2027-02-08", "name": "春节"})
    assert clicked.status_code == 303 and clicked.headers["Location"].endswith("#m2")
    page = await (await browser.get(clicked.headers["Location"])).get_data(as_text=True)
    assert "已保存：2027年2月8日（星期一）现在是休息日。" in text_of(page)
    assert re.search(r'<td class="k-tenant_holiday"><button name="day" value="2027-02-08"[^>]*>.*?<small>春节</small>', page)
    await browser.post(f"/t/{bazhou.slug}/admin/calendar/days", form={"csrf_token": token, "year": "2027", "day": "2027-02-20"})  # a Saturday
    assert describe_day((await rules_of(scope)).calendar(), date(2027, 2, 20)).kind is DayKind.TENANT_MAKEUP
    await browser.post(f"/t/{bazhou.slug}/admin/calendar/days", form={"csrf_token": token, "year": "2027", "day": "2027-02-08"})  # back
    rules = await rules_of(scope)
    assert rules.holidays == set() and rules.workdays == {"2027-02-20"}
    versions = await list_config_versions(scope, "calendar")
    assert len(versions) == before + 3 and versions[0].author_name and "2027-02-08" in versions[0].note
    assert versions[1].content["names"] == {"2027-02-08": "春节"}
    refused = await browser.post(f"/t/{bazhou.slug}/admin/calendar/days", form={"csrf_token": token, "year": "2026", "day": "2026-10-01"})
    assert refused.status_code == 422 and "国务院安排的休息日" in text_of(await refused.get_data(as_text=True))
    bad = await browser.post(f"/t/{bazhou.slug}/admin/calendar/days", form={"csrf_token": token, "day": "2027-13-01"})
    assert bad.status_code == 422 and "日期格式应为" in text_of(await bad.get_data(as_text=True))
    assert len(await list_config_versions(scope, "calendar")) == before + 3  # nothing refused was saved
    await do_roll_back_config(scope, "calendar", versions[1].number, actor=ConfigActor(None, "测试"))
    rules = await rules_of(scope)  # back through the same writer, names and all, as a new version
    assert rules.holidays == {"2027-02-08"} and rules.names == {"2027-02-08": "春节"} and rules.workdays == {"2027-02-20"}
    assert (await list_config_versions(scope, "calendar"))[0].note.startswith("回滚到第")
    assert await petitions.tenant_calendar(scope) is not None and not (await petitions.tenant_calendar(scope)).is_working_day(date(2027, 2, 8))


async def rules_of(scope) -> Rules:
    return Rules.of(await scope.repo(CalendarRules).find_one({}))


async def test_the_spring_festival_entered_on_the_page_moves_a_2027_petition_deadline(app, bazhou):
    browser = await admin_browser(app, bazhou.slug)
    scope = TenantScope(bazhou.id)
    _, token = await page_and_token(browser, f"/t/{bazhou.slug}/admin/calendar?year={UNKNOWN}")
    form = {"csrf_token": token, "year": "2027", **SPRING_FESTIVAL, "preview_start": "2027-02-03", "preview_amount": "15"}

    previewed = await browser.post(f"/t/{bazhou.slug}/admin/calendar", form=dict(form, action="preview"))
    words = text_of(await previewed.get_data(as_text=True))
    assert previewed.status_code == 200 and "这是预览，尚未保存" in words
    assert "截止日期 2027年3月2日（星期二）" in words and "2/8 春节" in words  # 5 weekdays off, a worked Saturday
    assert await scope.repo(CalendarRules).find_one({}) is None or not (await rules_of(scope)).holidays  # nothing saved

    wrong = await browser.post(f"/t/{bazhou.slug}/admin/calendar", form=dict(form, action="save", makeup_1="2027-02-09"))
    assert wrong.status_code == 422
    wrong_page = await wrong.get_data(as_text=True)
    assert re.search(r'id="makeup_1-error" role="alert">2027年2月9日（星期二）本来就是工作日', wrong_page)
    assert 'value="2027-02-09"' in wrong_page  # what the admin typed stays

    saved = await browser.post(f"/t/{bazhou.slug}/admin/calendar", form=dict(form, action="save"))
    assert saved.status_code == 303
    words = text_of(await (await browser.get(saved.headers["Location"])).get_data(as_text=True))
    assert "已保存" in words and "截止日期 2027年3月2日（星期二）" in words and "按已保存的日历计算" in words
    assert "2027年2月6日（星期六） — 2027年2月13日（星期六）（8 天） 春节" in words
    versions = await list_config_versions(scope, "calendar")
    assert versions[0].content["holidays"][0] == "2027-02-06" and "春节" in versions[0].note

    # A letter received in 2027, registered by staff: its first time limit counts past the festival (in working days)
    # or, counted in calendar days, moves off the festival when it ends inside it.
    workflow = await petitions.tenant_workflow(scope)
    first = next(s for s in workflow.states if s.key == workflow.initial)
    period = workflow.time_limits[first.deadline]
    received = date(2027, 2, 3) if period.unit.value == "working_days" else date(2027, 2, 9) - timedelta(days=period.amount)
    form_version = await require_form(scope, "petition")
    petition, _ = await petitions.do_submit_petition(
        TenantContext.of(bazhou), app.app.extensions["xinfang.keyring"], form_version, channel=Channel.LETTER, anonymous=True,
        answers={"title": "春节前的来信", "content": "反映某单位春节前拖欠工资。", "category": "other"},
        now=datetime.combine(received, time(2, 0), UTC))
    rules = await rules_of(scope)
    assert petition.due_on == rules.calendar().due_date(received, period.amount, period.unit.value).isoformat()
    assert petition.due_on > "2027-02-13" and petition.due_on > WorkingCalendar().due_date(received, period.amount, period.unit.value).isoformat()

    removed = await browser.post(f"/t/{bazhou.slug}/admin/calendar/removed",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                                 data=urlencode([("csrf_token", token), *(("day", f"2027-02-{d:02d}") for d in range(6, 14))]))
    assert removed.status_code == 303 and (await rules_of(scope)).holidays == set()


async def test_only_admins_open_the_calendar_page(app, bazhou):
    browser = app.test_client()
    await staff_login(browser, bazhou.slug, "handler")
    assert (await browser.get(f"/t/{bazhou.slug}/admin/calendar")).status_code == 403


async def test_junk_on_the_admin_pages_is_4xx_or_a_page_never_5xx(app, bazhou, tenants):
    browser = await admin_browser(app, bazhou.slug)
    _, token = await page_and_token(browser, f"/t/{bazhou.slug}/admin/calendar")
    junk = ["", "²", "１２", "2027-02-30", "9999-01-01", "x" * 5000, "\u0000", "NaN", "-1", "2027-02-06\n2027-02-07"]
    posts = []
    for value in junk:
        posts += [("/admin/calendar/days", {"day": value, "name": value, "year": value}),
                  ("/admin/calendar", {"holiday_from": value, "holiday_to": value, "makeup_1": value, "preview_amount": value,
                                       "preview_start": value, "action": "save"}),
                  ("/admin/calendar", {"preview_amount": value, "preview_start": value, "year": value}),
                  ("/admin/calendar/removed", {"day": value}),
                  ("/admin/search-dictionary/words", {"word": value}),
                  ("/admin/search-dictionary/stop-words/removed", {"stop_word": value}),
                  ("/admin/plugins/filesender", {"enabled": value, "config.channels": value}),
                  ("/admin/plugins/activity", {"enabled": "1", "config.ignore_events": value}),
                  (f"/admin/plugins/{value[:50] or 'x'}", {})]
    for path, form in posts:
        answer = await browser.post(f"/t/{bazhou.slug}{path}", form={"csrf_token": token, **form})
        assert answer.status_code < 500, (path, form, answer.status_code)
    for query in ({"year": "²"}, {"start": "junk", "amount": "²"}, {"sentence": "x" * 5000}):
        for path in ("/admin/calendar", "/admin/search-dictionary", "/admin/plugins"):
            assert (await browser.get(f"/t/{bazhou.slug}{path}", query_string=query)).status_code == 200
    scope = TenantScope(bazhou.id)
    from xinfang.tenancy.models import TenantPluginSetting
    from xinfang_search.dictionary import do_set_dictionary

    await do_set_dictionary(scope, [], stop_words=[])  # "NaN" and "-1" are words too
    for name in ("filesender", "activity"):
        if (row := await scope.repo(TenantPluginSetting).find_one({"plugin": name})) is not None:
            await scope.repo(TenantPluginSetting).delete(row)
