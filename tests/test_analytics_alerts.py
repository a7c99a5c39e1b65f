"""Early warning (analytics/detectors.py, alerts.py, alert_settings.py, alert_pages.py): an injected surge raises exactly
one alert and a flat series none, on series built here and end to end (petitions filed in tenant A under a region of
this test's own); the same crossing seen by a second check is still one alert; a leader acknowledges (who and when
shown), a handler may not (403); thresholds saved as configuration versions, a bad one refused 422 in zh and en;
tenant B sees nothing of A's alerts."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from urllib.parse import urlencode

import numpy as np
import pytest

from tests.conftest import eventually, login_token
from xinfang.analytics.detectors import Crossing, at_least, baseline_windows, benjamini_hochberg, cusum, rising, rising_many, upper_limit

ISOLATION_CASES = {
    "analytics_pages.alerts_page": {"method": "GET", "path": "/staff/analytics/alerts", "kind": "collection"},
    "analytics_pages.acknowledge_submit": {"method": "POST", "path": "/staff/analytics/alerts/{id}/acknowledge", "kind": "object",
                                           "owner_object": "petition", "form": True},
    "analytics.list_alerts_api": {"method": "GET", "path": "/api/analytics/alerts", "kind": "collection"},
    "analytics.acknowledge_api": {"method": "POST", "path": "/api/analytics/alerts/{id}/acknowledge", "kind": "object",
                                  "owner_object": "petition"},
    "analytics_pages.alert_settings_page": {"method": "GET", "path": "/staff/analytics/alert-settings", "kind": "collection"},
    "analytics_pages.alert_settings_submit": {"method": "POST", "path": "/staff/analytics/alert-settings", "kind": "collection",
                                              "form": True, "body": {"checks": "category", "sensitivity": "medium", "min_count": "5",
                                                                     "baseline_weeks": "8", "collective_min": "1", "repeat_min": "3",
                                                                     "repeat_days": "30", "overdue_min": "5", "recipients": "leader"},
                                              "expect": (302,)},
    "analytics.show_alert_settings": {"method": "GET", "path": "/api/analytics/alert-settings", "kind": "collection"},
    "analytics.set_alert_settings": {"method": "PUT", "path": "/api/analytics/alert-settings", "kind": "collection", "body": {}},
}

END = date(2026, 11, 29)


def noisy(seed: int, days: int = 80, per_week: float = 5.0) -> dict[date, int]:
    rng = np.random.default_rng(seed)
    return {END - timedelta(days=k): int(rng.poisson(per_week / 7)) for k in range(days)}


# ----------------------------------------------------------------------------- detectors on built series


def test_a_surge_crosses_and_says_which_limit():
    daily = {END - timedelta(days=k): (1 if k % 7 in (0, 2, 4, 5, 6) else 0) for k in range(80)}  # 5 a week, flat
    for k in range(7):
        daily[END - timedelta(days=k)] = 3 + k % 2  # 24 in the last 7 days
    crossing = rising(daily, END, baseline_weeks=8, sensitivity="medium", min_count=5)
    assert crossing == Crossing(24, 11.0, 5.0, 7, 8, "poisson")  # the Poisson 99% quantile at 5 a week is 11
    from xinfang.analytics.alerts import crossing_text

    text = crossing_text("category", {"zh": "油烟", "en": "cooking fumes"}, crossing)
    assert text["zh"] == "近7天 油烟 类 24 件，超过预期上限 11 件（过去8周平均 5.0 件/周）"
    assert "above the expected upper limit of 11" in text["en"]


def test_flat_and_noisy_series_raise_nothing():
    flat = {END - timedelta(days=k): 2 for k in range(80)}
    assert rising(flat, END) is None and cusum(flat, END) is None
    assert rising({}, END) is None  # nothing at all
    quiet = [s for s in range(40) if rising(noisy(s), END, sensitivity="low") is None]
    assert len(quiet) >= 38  # false alarms at 1 in 1,000 per check: none or one expected in 40 noisy series


def test_exactly_one_crossing_per_surge_among_many_series():
    series = {f"s{s}": noisy(s) for s in range(30)}
    series["s7"] = dict(series["s7"])
    for k in range(7):
        series["s7"][END - timedelta(days=k)] += 4
    crossed = [name for name, daily in series.items() if rising(daily, END, sensitivity="low", min_count=5)]
    assert crossed == ["s7"]


def test_a_new_subject_needs_the_minimum_count_and_overdispersion_widens_the_limit():
    assert rising({END: 3}, END, min_count=5) is None  # three petitions of a brand-new topic is not yet a rise
    assert rising({END - timedelta(days=k): 1 for k in range(6)}, END, min_count=5).count == 6
    mean, limit, how = upper_limit([0, 20, 0, 20, 0, 20, 0, 20], 0.01)
    assert mean == 10 and how == "dispersion" and limit > 30
    assert at_least(2, 3, window_days=30) is None and at_least(3, 3, window_days=30).limit == 3


def test_a_smaller_lasting_rise_is_caught_by_the_cusum():
    daily = {END - timedelta(days=k): (1 if k % 7 in (0, 3, 5) else 0) for k in range(80)}  # 3 a week
    for k in range(14):
        daily[END - timedelta(days=k)] = 2 if k in (0, 7) else 1  # 8 a week for two weeks: not above the window's limit of 8
    crossing = rising(daily, END, sensitivity="medium", min_count=5)
    assert crossing is not None and crossing.method == "cusum" and crossing.count == 8


def test_fifty_flat_categories_raise_no_alert_once_corrected_and_a_surge_still_exactly_one():
    """A tenant with 50 categories, each flat at 5 a week (fixed seeds): checked one by one at 1 in 100, two of them
    cross by chance; checked together (Benjamini-Hochberg across the 50) none does, and a surge of 14 more in a week
    in one of them is still exactly one alert, whose limit is the corrected one and whose words say so."""
    from xinfang.analytics.alerts import crossing_text

    flat = {f"c{i}": noisy(i) for i in range(50)}
    uncorrected = [key for key, daily in flat.items() if rising(daily, END, sensitivity="medium")]
    assert len(uncorrected) >= 1  # the false alarms the correction is for (c10 and c34 with these seeds)
    assert rising_many(flat, END, sensitivity="medium") == {}
    surged = dict(flat, c7={day: n + (2 if (END - day).days < 7 else 0) for day, n in flat["c7"].items()})
    crossed = rising_many(surged, END, sensitivity="medium")
    assert list(crossed) == ["c7"]
    c = crossed["c7"]
    assert c.checked == 50 and c.alpha == 0.01 / 50 and c.method == "poisson" and c.count > c.limit
    assert c.limit == upper_limit(baseline_windows(surged["c7"], END, 7, 8),
                                  0.01 / 50)[1]
    text = crossing_text("category", {"zh": "教育收费", "en": "school fees"}, c)
    assert "本次共检查 50 个类别和地区，上限已按此提高" in text["zh"] and "50 categories and regions were checked together" in text["en"]
    # one series alone: the same test as before the correction
    assert rising_many({"only": surged["c7"]}, END, sensitivity="medium")["only"].limit == rising(surged["c7"], END).limit


def test_benjamini_hochberg_rejects_the_smallest_p_values_up_to_the_last_under_its_line():
    rejected, level = benjamini_hochberg({"a": 0.001, "b": 0.012, "c": 0.02, "d": 0.5}, 0.05)
    assert rejected == {"a", "b", "c"} and level == 3 * 0.05 / 4  # 0.02 <= 3 x 0.05 / 4 lets b and c in too
    assert benjamini_hochberg({"a": 0.02, "b": 0.5}, 0.01)[0] == set()


# ----------------------------------------------------------------------------- end to end


async def _file(client, slug: str, headers: dict, region: str, n: int, category: str = "other") -> None:
    for i in range(n):
        filed = await client.post(f"/t/{slug}/api/petitions", headers=headers, json={
            "form": "petition", "channel": "letter", "anonymous": True,
            "answers": {"title": f"预警测试 {i}", "content": f"{region} 的预警测试信访件 {i}", "category": category, "region": region}})
        assert filed.status_code == 201, await filed.get_data(as_text=True)


async def _tenant(slug: str):
    from xinfang.tenancy.models import Tenant

    return await Tenant.find_one({"slug": slug})


async def _region_total(tenant, region: str, today: date) -> int:
    from xinfang.analytics.rollups import daily_counts

    counts = await daily_counts(tenant, "received", today - timedelta(days=6), today, by="region")
    return sum(counts.get(region, {}).values())


@pytest.fixture(scope="module")
async def surge(app, tenants):
    """Six petitions in tenant A under a region of their own (a surge from nothing), one under another (flat), checked
    twice; the alerts raised by each check."""
    from xinfang.analytics.alerts import run_alert_checks, tenant_today

    from tests.staffing import operator_account

    client = app.test_client()
    registrar = await login_token(client, tenants.A, "registrar")
    marker = uuid.uuid4().hex[:6]
    mailed = f"alert-leader-{marker}"  # a leader who asked for e-mail: the sender plugin writes it to its outbox
    await operator_account(tenants.A, mailed, ["leader"])
    saved = await client.put(f"/t/{tenants.A}/api/notification-preferences", headers=await login_token(client, tenants.A, mailed, "long-enough-pw"),
                             json={"channels": ["email"], "email": f"{mailed}@example.org"})
    assert saved.status_code == 200, await saved.get_data(as_text=True)
    hot, calm = f"预警测试甲区{marker}", f"预警测试乙区{marker}"
    await _file(client, tenants.A, registrar, hot, 6)
    await _file(client, tenants.A, registrar, calm, 1)
    tenant = await _tenant(tenants.A)
    today = tenant_today(tenant)

    async def counted():
        return await _region_total(tenant, hot, today) == 6 and await _region_total(tenant, calm, today) == 1
    await eventually(counted, message="the rollups count the petitions filed")
    first = await run_alert_checks(tenant, today, only=("region",))
    second = await run_alert_checks(tenant, today, only=("region",))
    later = await run_alert_checks(tenant, today + timedelta(days=1), only=("region",))
    return {"hot": hot, "calm": calm, "first": first, "second": second, "later": later, "tenant": tenant, "mailed": f"{mailed}@example.org"}


async def test_an_injected_surge_raises_exactly_one_alert_and_a_flat_region_none(client, tenants, surge, settings):
    from xinfang.analytics.alerts import Alert
    from xinfang.store.scoped import TenantScope

    raised = [a for a in surge["first"] if a.subject == surge["hot"]]
    assert len(raised) == 1 and raised[0].check == "region" and raised[0].observed == 6
    assert not [a for a in surge["first"] if a.subject == surge["calm"]]
    assert f"近7天 {surge['hot']} 地区 6 件，超过预期上限" in raised[0].text["zh"]
    # checked again the same day and the next: the same crossing, no new alert
    assert not [a for a in surge["second"] + surge["later"] if a.subject in (surge["hot"], surge["calm"])]
    rows = await TenantScope(str(surge["tenant"].id)).repo(Alert).find({"subject": surge["hot"]}).to_list()
    assert len(rows) == 1 and rows[0].last_seen_on > rows[0].opened_on

    leader = await login_token(client, tenants.A, "leader")
    listed = await (await client.get(f"/t/{tenants.A}/api/analytics/alerts", headers=leader)).get_json()
    assert [a["id"] for a in listed["alerts"] if surge["hot"] in a["text"]["zh"]] == [str(raised[0].id)]

    async def notified():  # in-app for the leaders, and the notification the sender plugin sends on
        inbox = await (await client.get(f"/t/{tenants.A}/api/notifications", headers=leader)).get_json()
        return [n for n in inbox["notifications"] if n["kind"] == "analytics_alert" and surge["hot"] in n["text"]["zh"]]
    assert len(await eventually(notified, message="the leader is notified")) == 1
    inbox_page = await (await client.get(f"/t/{tenants.A}/staff/notifications", headers=leader)).get_data(as_text=True)
    assert f'href="/t/{tenants.A}/staff/analytics/alerts"' in inbox_page and "预警" in inbox_page  # the notice leads to the alerts

    from xinfang.analytics.alerts import NOTIFICATION_KIND
    from xinfang.notifications.service import notification_id

    wanted = str(notification_id(str(surge["tenant"].id), f"{NOTIFICATION_KIND}:{raised[0].id}"))

    async def mailed():
        path = settings.data_dir / "notifications" / "outbox.jsonl"
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        return [line for line in lines if line.get("notification_id") == wanted] or None
    lines = await eventually(mailed, message="the sender plugin's e-mail")
    assert [(line["channel"], line["to"]) for line in lines if line["to"] == surge["mailed"]] == [("email", surge["mailed"])]
    assert surge["hot"] in lines[0]["text"]["zh"] and lines[0]["text"]["zh"].startswith("预警：")


async def test_a_leader_acknowledges_and_a_handler_may_not(client, tenants, surge):
    alert_id = str(next(a.id for a in surge["first"] if a.subject == surge["hot"]))
    handler = await login_token(client, tenants.A, "handler")
    refused = await client.post(f"/t/{tenants.A}/api/analytics/alerts/{alert_id}/acknowledge", headers=handler)
    assert refused.status_code == 403
    page = await client.post(f"/t/{tenants.A}/staff/analytics/alerts/{alert_id}/acknowledge", headers=handler, form={})
    assert page.status_code == 403
    seen = await client.get(f"/t/{tenants.A}/staff/analytics/alerts", headers=handler)  # a handler reads them
    assert seen.status_code == 200 and surge["hot"] in await seen.get_data(as_text=True)
    assert "确认已知悉" not in await seen.get_data(as_text=True)  # no button for what would be refused

    leader = await login_token(client, tenants.A, "leader")
    before = await (await client.get(f"/t/{tenants.A}/staff/analytics/alerts", headers=leader)).get_data(as_text=True)
    assert f"/alerts/{alert_id}/acknowledge" in before and "确认已知悉" in before
    done = await client.post(f"/t/{tenants.A}/api/analytics/alerts/{alert_id}/acknowledge", headers=leader)
    body = await done.get_json()
    assert done.status_code == 200 and body["acknowledged"] and body["acknowledged_by"] and body["acknowledged_at"]
    again = await (await client.post(f"/t/{tenants.A}/api/analytics/alerts/{alert_id}/acknowledge", headers=leader)).get_json()
    assert again["acknowledged_at"] == body["acknowledged_at"]  # once: who and when are kept
    page = await (await client.get(f"/t/{tenants.A}/staff/analytics/alerts", headers=leader)).get_data(as_text=True)
    assert "已确认" in page and body["acknowledged_by"] in page


async def test_tenant_b_sees_nothing_of_tenant_as_alerts(client, tenants, surge):
    alert_id = str(next(a.id for a in surge["first"] if a.subject == surge["hot"]))
    leader_b = await login_token(client, tenants.B, "leader")
    listed = await client.get(f"/t/{tenants.B}/api/analytics/alerts", headers=leader_b)
    assert listed.status_code == 200 and alert_id not in await listed.get_data(as_text=True)
    assert surge["hot"] not in await (await client.get(f"/t/{tenants.B}/staff/analytics/alerts", headers=leader_b)).get_data(as_text=True)
    assert (await client.post(f"/t/{tenants.B}/api/analytics/alerts/{alert_id}/acknowledge", headers=leader_b)).status_code == 404
    on_a = await client.get(f"/t/{tenants.A}/api/analytics/alerts", headers=leader_b)
    assert on_a.status_code in (401, 403)


async def test_thresholds_are_saved_as_configuration_versions_and_a_bad_one_is_refused(client, tenants):
    from xinfang.analytics.alert_settings import AREA
    from xinfang.tenancy.config_versions import list_config_versions

    admin = await login_token(client, tenants.B, "admin")
    handler = await login_token(client, tenants.B, "handler")
    assert (await client.get(f"/t/{tenants.B}/api/analytics/alert-settings", headers=handler)).status_code == 403
    assert (await client.get(f"/t/{tenants.B}/staff/analytics/alert-settings", headers=handler)).status_code == 403
    tenant = await _tenant(tenants.B)
    before = len(await list_config_versions(_scope(tenant), AREA))
    wanted = {"checks": ["category", "collective"], "sensitivity": "low", "min_count": 7, "baseline_weeks": 6, "collective_min": 2,
              "repeat_min": 4, "repeat_days": 60, "overdue_min": 9, "recipients": ["leader", "auditor"], "recipient_accounts": [],
              "lower_alerts": "summary"}
    refused = await client.put(f"/t/{tenants.B}/api/analytics/alert-settings", headers=admin, json=dict(wanted, recipients=["leader", "tenant_admin"]))
    assert refused.status_code == 422 and "职责分离" in (await refused.get_json())["error"]["fields"]["recipients"]["zh"]
    saved = await client.put(f"/t/{tenants.B}/api/analytics/alert-settings", headers=admin, json=wanted)
    assert saved.status_code == 200 and await saved.get_json() == wanted
    versions = await list_config_versions(_scope(tenant), AREA)
    assert len(versions) == before + 1 and versions[0].content == wanted
    bad = await client.put(f"/t/{tenants.B}/api/analytics/alert-settings", headers=admin,
                           json=dict(wanted, min_count=0, sensitivity="extreme", recipients=[]))
    fields = (await bad.get_json())["error"]["fields"]
    assert bad.status_code == 422 and set(fields) >= {"min_count", "recipients"}
    assert "最少件数" in fields["min_count"]["zh"] and "minimum count" in fields["min_count"]["en"]
    page = await client.post(f"/t/{tenants.B}/staff/analytics/alert-settings", headers=admin, form={
        "checks": "region", "sensitivity": "medium", "min_count": "abc", "baseline_weeks": "8", "collective_min": "1",
        "repeat_min": "3", "repeat_days": "30", "overdue_min": "5", "recipients": "leader"})
    text = await page.get_data(as_text=True)
    assert page.status_code == 422 and "最少件数的值不对" in text and 'value="abc"' in text
    assert len(await list_config_versions(_scope(tenant), AREA)) == before + 1  # nothing recorded by the refusals
    shown = await (await client.get(f"/t/{tenants.B}/staff/analytics/alert-settings", headers=admin)).get_data(as_text=True)
    assert "预警设置" in shown and 'value="9"' in shown


def _scope(tenant):
    from xinfang.store.scoped import TenantScope

    return TenantScope(str(tenant.id))


async def test_a_rising_word_from_the_search_plugin_is_one_alert_and_a_weak_one_none(app, tenants):
    """Words come through the hook ``xinfang_rising_words`` (the search plugin answers it); a stand-in plugin here."""
    import pluggy

    from xinfang import hookspecs
    from xinfang.analytics.alert_settings import AlertSettings
    from xinfang.analytics.alerts import crossing_text, find_crossings

    class Words:
        @hookspecs.hookimpl
        async def xinfang_rising_words(self, tenant_id, end, days):
            return [{"term": "油烟扰民", "count": 9, "previous_mean": 1.5, "windows": 4, "surprise": 3.4},
                    {"term": "停车", "count": 3, "previous_mean": 0.5, "windows": 4, "surprise": 2.1},  # under the minimum count
                    {"term": "噪音", "count": 8, "previous_mean": 4.0, "windows": 4, "surprise": 1.2}]  # not surprising enough

    pm = pluggy.PluginManager("xinfang")
    pm.add_hookspecs(hookspecs)
    pm.register(Words())
    found = await find_crossings(await _tenant(tenants.A), AlertSettings(checks=["word"]), END, pm=pm)
    assert [(check, subject) for check, subject, *_ in found] == [("word", "油烟扰民")]
    text = crossing_text("word", found[0][2], found[0][3])
    assert text["zh"] == "近7天 词语「油烟扰民」出现在 9 件信访中，超过预期上限 5 件（过去4周平均 1.5 件/周）"


async def test_one_persons_repeats_and_a_handlers_overdue_pile_each_cross_once(client, tenants):
    """Three petitions under one phone number (the petitioner key, never the number itself); two of them overdue under
    one holder: each check finds exactly that, with the case numbers, and nothing of the person's identity."""
    from bson import ObjectId

    from xinfang.analytics.alert_settings import AlertSettings
    from xinfang.analytics.alerts import crossing_text, find_crossings, tenant_today
    from xinfang.petitions.models import Petition

    registrar = await login_token(client, tenants.A, "registrar")
    from xinfang.id_numbers import check_character

    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    first17 = f"32132319800101{uuid.uuid4().int % 1000:03d}"
    id_number = first17 + check_character(first17)
    numbers = []
    for i in range(3):
        filed = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={
            "form": "petition", "channel": "visit", "anonymous": False,
            "answers": {"title": f"重复信访测试 {i}", "content": "同一人多次反映", "category": "other", "petitioner_name": "测试人",
                        "id_number": id_number, "phone": phone}})
        assert filed.status_code == 201, await filed.get_data(as_text=True)
        numbers.append((await filed.get_json())["number"])
    tenant = await _tenant(tenants.A)
    today = tenant_today(tenant)
    found = await find_crossings(tenant, AlertSettings(checks=["repeat_person"], repeat_min=3), today)
    mine = [f for f in found if set(f[4]["numbers"]) == set(numbers)]
    assert len(mine) == 1 and mine[0][3].count == 3
    text = crossing_text(*[mine[0][i] for i in (0, 2, 3, 4)])
    assert text["zh"].startswith("同一信访人近30天信访 3 次，达到提醒次数 3 次") and phone not in str(text) and id_number not in str(text) and "测试人" not in str(text)

    holder = str(ObjectId())
    scope = _scope(tenant)
    for number in numbers[:2]:
        await scope.repo(Petition).update_one({"number": number}, {"$set": {"overdue": True, "assignee_id": holder}})
    try:
        found = await find_crossings(tenant, AlertSettings(checks=["overdue_unit"], overdue_min=2), today)
        assert [(f[1], f[3].count) for f in found if f[1] == holder] == [(holder, 2)]
        assert not [f for f in await find_crossings(tenant, AlertSettings(checks=["overdue_unit"], overdue_min=3), today) if f[1] == holder]
    finally:
        for number in numbers[:2]:
            await scope.repo(Petition).update_one({"number": number}, {"$set": {"overdue": False, "assignee_id": None}})


async def test_the_sweep_checks_each_tenant_once_per_interval(app, tenants, monkeypatch):
    from xinfang.analytics import alerts
    from xinfang.store.documents import utcnow

    checked = []

    async def record(tenant, today, *, only=None, pm=None):
        checked.append(tenant.slug)
        return []
    monkeypatch.setattr(alerts, "run_alert_checks", record)
    later = utcnow() + timedelta(days=30)  # every mark is older than the interval then
    # skip_idle=False: every due tenant checked, as A and B may have nothing a check could find by then (idle tenants
    # passed by: tests/test_alert_sweep_skips.py)
    await alerts.sweep_alerts(later, skip_idle=False)
    assert {tenants.A, tenants.B} <= set(checked) and len(checked) == len(set(checked))
    checked.clear()
    await alerts.sweep_alerts(later + alerts.CHECK_EVERY / 2, skip_idle=False)
    assert checked == []  # checked already within the interval
    await alerts.sweep_alerts(later + alerts.CHECK_EVERY * 1.1, skip_idle=False)
    assert {tenants.A, tenants.B} <= set(checked)
    await alerts.AlertCheckMark.get_pymongo_collection().update_many({}, {"$set": {"at": utcnow()}})  # as the real clock has it


async def _page_settings(client, slug: str, admin: dict, **changes) -> object:
    form = {"checks": ["category", "region", "word", "collective", "repeat_person", "overdue_unit"], "sensitivity": "medium",
            "min_count": "5", "baseline_weeks": "8", "collective_min": "1", "repeat_min": "3", "repeat_days": "30", "overdue_min": "5",
            "recipients": ["leader"], "lower_alerts": "summary"} | changes
    pairs = [(k, item) for k, v in form.items() for item in (v if isinstance(v, list) else [v])]  # a box ticked = one pair
    return await client.post(f"/t/{slug}/staff/analytics/alert-settings", data=urlencode(pairs),
                             headers=admin | {"Content-Type": "application/x-www-form-urlencoded"})


async def test_a_county_surge_alerts_the_county_and_the_prefecture_sees_one_summary_line(client, tenants):
    """库尔勒 (below 巴州) gets six petitions under a region of its own: 库尔勒 raises one alert and tells its leaders;
    巴州's own check raises none for it and tells its leaders nothing, but its alerts page and dashboard show one summary
    line for 库尔勒; with the setting "not shown" the line is gone."""
    from xinfang.analytics.alerts import _daily, run_alert_checks, tenant_today
    from xinfang.analytics.models import AnalyticsFact

    admin_b = await login_token(client, tenants.B, "admin")
    assert (await _page_settings(client, tenants.B, admin_b)).status_code == 302  # 巴州 as sensitive as 库尔勒
    registrar = await login_token(client, tenants.CHILD_OF_B, "handler")  # 库尔勒's handler registers too
    hot = f"县级预警区{uuid.uuid4().hex[:6]}"
    await _file(client, tenants.CHILD_OF_B, registrar, hot, 6)
    korla, bazhou = await _tenant(tenants.CHILD_OF_B), await _tenant(tenants.B)
    today = tenant_today(korla)

    async def counted():
        return await AnalyticsFact.get_pymongo_collection().count_documents({"tenant_id": str(korla.id), "region": hot}) == 6 and \
            await _region_total(bazhou, hot, today) == 6 and \
            sum((await _daily(korla, "received", today - timedelta(days=6), today, "region")).get(hot, {}).values()) == 6
        # 巴州's tree counts 库尔勒's petitions, and 库尔勒's own cells (what its check reads) are settled
    await eventually(counted, message="the rollups count the county's petitions")
    county = [a for a in await run_alert_checks(korla, today, only=("region",)) if a.subject == hot]
    upper = [a for a in await run_alert_checks(bazhou, today, only=("region",)) if a.subject == hot]
    assert len(county) == 1 and upper == []  # before: 巴州 counted 库尔勒's petitions as its own and raised a second alert

    leader_b = await login_token(client, tenants.B, "leader")
    notes = await (await client.get(f"/t/{tenants.B}/api/notifications", headers=leader_b)).get_json()
    assert not [n for n in notes["notifications"] if hot in str(n["text"])]
    page = await (await client.get(f"/t/{tenants.B}/staff/analytics/alerts", headers=leader_b)).get_data(as_text=True)
    assert 'id="lower-alerts"' in page and f'data-lower="{tenants.CHILD_OF_B}"' in page and "库尔勒" in page and "地区异常增多" in page
    assert hot not in page  # a summary: the body and how many of which check, not the county's alert itself
    dashboard = await (await client.get(f"/t/{tenants.B}/staff/analytics/", headers=leader_b)).get_data(as_text=True)
    assert f'data-lower="{tenants.CHILD_OF_B}"' in dashboard
    leader_k = await login_token(client, tenants.CHILD_OF_B, "leader")
    mine = await (await client.get(f"/t/{tenants.CHILD_OF_B}/staff/analytics/alerts", headers=leader_k)).get_data(as_text=True)
    assert hot in mine and 'id="lower-alerts"' not in mine  # nobody below 库尔勒

    assert (await _page_settings(client, tenants.B, admin_b, lower_alerts="hidden")).status_code == 302
    try:
        page = await (await client.get(f"/t/{tenants.B}/staff/analytics/alerts", headers=leader_b)).get_data(as_text=True)
        assert 'id="lower-alerts"' not in page
    finally:
        assert (await _page_settings(client, tenants.B, admin_b)).status_code == 302


async def test_named_people_receive_alerts_and_only_people_who_may_read_them(client, tenants):
    """巴州's admin names one of its leaders, 副职 "deputy", and no role on the settings page: the next alert reaches the
    deputy, not the other leader. Naming the admin account itself, or an account of another body, is refused with words (separation of
    duties: alerts go to people who may read them)."""
    from xinfang.analytics.alerts import NOTIFICATION_KIND, run_alert_checks, tenant_today
    from xinfang.analytics.alert_settings import alert_settings

    admin = await login_token(client, tenants.B, "admin")
    leader = await login_token(client, tenants.B, "leader")
    accounts = (await (await client.get(f"/t/{tenants.B}/api/accounts", headers=leader)).get_json())["accounts"]
    auditor_id = next(a["id"] for a in accounts if a["username"] == "deputy")
    admin_id = next(a["id"] for a in accounts if a["username"] == "admin")
    other = (await (await client.get(f"/t/{tenants.A}/api/accounts", headers=await login_token(client, tenants.A, "leader"))).get_json())["accounts"]
    shown = await (await client.get(f"/t/{tenants.B}/staff/analytics/alert-settings", headers=admin)).get_data(as_text=True)
    assert f'value="{auditor_id}"' in shown and f'value="{admin_id}"' not in shown and "指定接收人" in shown
    refused = await _page_settings(client, tenants.B, admin, recipients=[], recipient_accounts=[admin_id])
    text = await refused.get_data(as_text=True)
    assert refused.status_code == 422 and "职责分离" in text
    refused = await _page_settings(client, tenants.B, admin, recipients=[], recipient_accounts=[other[0]["id"]])
    assert refused.status_code == 422 and "本单位" in await refused.get_data(as_text=True)
    assert (await _page_settings(client, tenants.B, admin, recipients=[])).status_code == 422  # nobody at all
    saved = await _page_settings(client, tenants.B, admin, recipients=[], recipient_accounts=[auditor_id])
    assert saved.status_code == 302
    bazhou = await _tenant(tenants.B)
    try:
        assert (await alert_settings(_scope(bazhou))).recipient_accounts == [auditor_id]
        page = await (await client.get(f"/t/{tenants.B}/staff/analytics/alert-settings", headers=admin)).get_data(as_text=True)
        assert re.search(rf'value="{auditor_id}"\s+checked', page)
        registrar = await login_token(client, tenants.B, "handler")  # 巴州's handler registers too
        hot = f"指定接收人预警区{uuid.uuid4().hex[:6]}"
        await _file(client, tenants.B, registrar, hot, 6)
        today = tenant_today(bazhou)

        async def counted():
            return await _region_total(bazhou, hot, today) == 6
        await eventually(counted, message="the rollups count the petitions filed")
        raised = [a for a in await run_alert_checks(bazhou, today, only=("region",)) if a.subject == hot]
        assert len(raised) == 1
        auditor = await login_token(client, tenants.B, "deputy")

        async def told(headers):
            body = await (await client.get(f"/t/{tenants.B}/api/notifications", headers=headers)).get_json()
            return [n for n in body["notifications"] if n["kind"] == NOTIFICATION_KIND and hot in n["text"]["zh"]]
        assert len(await eventually(lambda: told(auditor), message="the named deputy is told")) == 1
        assert await told(leader) == []  # no role chosen: the leaders are not told this time
    finally:
        assert (await _page_settings(client, tenants.B, admin)).status_code == 302
