"""Every time on a page is in the tenant's zone (setting ``time_zone``, default Asia/Shanghai), Chinese
style on Chinese pages, labelled where the zone is not China Standard Time; APIs keep UTC with an offset."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, eventually, login_token
from tests.login_pages import staff_login
from tests.test_petitions import ANONYMOUS, petition_id_of
from xinfang.notifications.models import Notification
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.bundles import BundleError, discover
from xinfang.tenancy.models import LocalizedName, Tenant, TenantSettings
from xinfang.timefmt import local_date, local_time

KNOWN = datetime(2026, 12, 6, 2, 5, tzinfo=UTC)  # 10:05 in Beijing, 08:05 in Urumqi (UTC+6)
TEMPLATE_ROOTS = [REPO_ROOT / "platform/xinfang/templates", REPO_ROOT / "search/xinfang_search/templates"]
ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
WITH_OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def test_the_formatting_rules():
    assert local_time(KNOWN) == "2026年12月6日 10:05"
    assert local_time(KNOWN, "Asia/Urumqi") == "2026年12月6日 08:05（UTC+06:00）"
    assert local_time("2026-12-06T02:05:00+00:00", "Asia/Urumqi", "en") == "2026-12-06 08:05 (UTC+06:00)"
    assert local_time("2026-12-05T16:30:00Z") == "2026年12月6日 00:30"  # the day changes too
    assert local_time(datetime(2026, 12, 6, 2, 5)) == "2026年12月6日 10:05"  # naive is UTC, as stored
    assert local_time(None) == "" and local_date(None) == ""
    assert local_date("2026-12-06") == "2026年12月6日" and local_date("2026-12-06", lang="en") == "2026-12-06"
    assert local_date("2026-12-05T16:30:00Z") == "2026年12月6日"


def test_the_setting_accepts_iana_names_only():
    assert TenantSettings().time_zone == "Asia/Shanghai"
    assert TenantSettings(time_zone="Asia/Urumqi").time_zone == "Asia/Urumqi"
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "UTC+8"):
        with pytest.raises(ValueError):
            TenantSettings(time_zone=bad)


def _bundles_with(tmp_path: Path, zone_name: str) -> Path:
    root = tmp_path / "tenants"
    shutil.copytree(REPO_ROOT / "tenants", root)
    bundle = root / "korla" / "bundle.toml"
    bundle.write_text(bundle.read_text(encoding="utf-8") + f'\n[settings]\ntime_zone = "{zone_name}"\n', encoding="utf-8")
    return root


def test_a_bundle_sets_the_zone_and_an_unknown_zone_is_refused(tmp_path):
    _, bundles = discover(_bundles_with(tmp_path / "good", "Asia/Urumqi"))
    [korla] = [b for b in bundles if b.slug == "korla"]
    assert TenantSettings.model_validate(korla.data["settings"]).time_zone == "Asia/Urumqi"
    with pytest.raises(BundleError, match="time_zone"):
        discover(_bundles_with(tmp_path / "bad", "Asia/Atlantis"))


async def _notify(slug: str, moment: datetime, text: str) -> None:
    tenant = await Tenant.find_one({"slug": slug})
    scope = TenantScope(tenant.id)
    await scope.repo(Notification).insert(Notification(tenant_id=scope.tenant_id, kind="reminder", roles=["handler"],
                                                       text=LocalizedName(zh=text, en=text), created_at=moment))


async def _set_zone(slug: str, zone_name: str) -> None:
    await Tenant.get_pymongo_collection().update_one({"slug": slug}, {"$set": {"settings.time_zone": zone_name}})


async def test_staff_pages_show_the_tenants_zone(app, tenants):
    urumqi, beijing = app.test_client(), app.test_client()
    await _notify(tenants.CHILD_OF_B, KNOWN, "乌鲁木齐时间提醒")
    await _notify(tenants.B, KNOWN, "北京时间提醒")
    await _set_zone(tenants.CHILD_OF_B, "Asia/Urumqi")
    try:
        await staff_login(urumqi, tenants.CHILD_OF_B, "handler")
        await staff_login(beijing, tenants.B, "handler")

        async def urumqi_page():  # the tenant directory caches tenants for a few seconds
            text = await (await urumqi.get(f"/t/{tenants.CHILD_OF_B}/staff/notifications")).get_data(as_text=True)
            return text if "2026年12月6日 08:05（UTC+06:00）" in text else None

        text = await eventually(urumqi_page, message="the notification in Urumqi time")
        # Whole dates: another test's notice made at 18:05 UTC today reads 02:05 of the next day, rightly.
        assert "乌鲁木齐时间提醒" in text and "2026年12月6日 10:05" not in text and "2026年12月6日 02:05" not in text
        english = await (await urumqi.get(f"/t/{tenants.CHILD_OF_B}/staff/notifications?lang=en")).get_data(as_text=True)
        assert "2026-12-06 08:05 (UTC+06:00)" in english

        text = await (await beijing.get(f"/t/{tenants.B}/staff/notifications")).get_data(as_text=True)
        assert "北京时间提醒" in text and "2026年12月6日 10:05" in text
        assert "UTC" not in text and "2026年12月6日 02:05" not in text  # China Standard Time needs no label; no UTC clock left
    finally:
        await _set_zone(tenants.CHILD_OF_B, "Asia/Shanghai")


def _moments(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _moments(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _moments(item, f"{path}[{n}]")
    elif isinstance(value, str) and ISO_MOMENT.match(value):
        yield path, value


async def test_the_petition_page_and_api_agree_on_one_instant(app, tenants):
    client, browser = app.test_client(), app.test_client()
    response = await client.post(f"/t/{tenants.B}/api/petitions/submit", json={"form": "petition", "answers": ANONYMOUS, "anonymous": True},
                                 scope_base={"client": ("10.62.0.1", 1)})
    assert response.status_code == 201, await response.get_data(as_text=True)
    pid = await petition_id_of(tenants.B, (await response.get_json())["number"])
    handler = await login_token(client, tenants.B, "handler")
    body = await (await client.get(f"/t/{tenants.B}/api/petitions/{pid}", headers=handler)).get_json()
    moments = list(_moments(body))
    assert moments, json.dumps(body, ensure_ascii=False)[:500]
    for path, value in moments:  # the API keeps ISO 8601, always with an offset
        assert WITH_OFFSET.search(value), (path, value)

    await staff_login(browser, tenants.B, "handler")
    page = await (await browser.get(f"/t/{tenants.B}/staff/petitions/{pid}")).get_data(as_text=True)
    [first] = [v for p, v in moments if re.search(r"timeline\[0\]\.at$", p)]
    assert local_time(first) in page and "年" in local_time(first)


# A datetime attribute printed straight into a page: step.at, n.created_at, review.expires_at, and
# strftime/isoformat/astimezone done by hand. A machine-readable datetime="..." attribute is fine.
RAW_TIME = re.compile(r"(\.at\b|_at\b|strftime|isoformat|astimezone)")


def test_no_template_prints_a_time_without_the_filter():
    offenders = []
    for root in TEMPLATE_ROOTS:
        for template in root.rglob("*.html"):
            source = template.read_text(encoding="utf-8")
            for match in re.finditer(r"\{\{(.*?)\}\}", source, re.S):
                expression = match.group(1)
                if not RAW_TIME.search(expression) or re.search(r"\|\s*local_(time|date)\b", expression):
                    continue
                if source[max(0, match.start() - 10):match.start()].endswith('datetime="'):
                    continue
                offenders.append(f"{template.relative_to(REPO_ROOT)}: {{{{{expression}}}}}")
    assert not offenders, "\n".join(offenders)


def test_the_scan_catches_what_it_is_for():
    for raw in ("{{ step.at }}", "{{ n.created_at.strftime('%H:%M') }}", "{{ (review.expires_at or '')[0:16] }}"):
        expression = raw[2:-2]
        assert RAW_TIME.search(expression) and not re.search(r"\|\s*local_(time|date)\b", expression)


def test_a_date_received_begins_at_midnight_in_the_zone_of_the_tenant_that_registered_it():
    """A body on Asia/Urumqi registering 2025-10-01: the case came in at its midnight, which is 2025-10-01 in its
    own pages (not 9 月 30 日, as China Standard Time's midnight read in Urumqi would be)."""
    from zoneinfo import ZoneInfo

    from xinfang.petitions.models import Petition

    urumqi = Petition.model_construct(received_on="2025-10-01", received_zone="Asia/Urumqi")
    assert urumqi.received_at == datetime(2025, 9, 30, 18, 0, tzinfo=UTC)
    assert urumqi.received_at.astimezone(ZoneInfo("Asia/Urumqi")).date().isoformat() == "2025-10-01"
    before = Petition.model_construct(received_on="2025-10-01", received_zone=None)  # registered before the zone was kept
    assert before.received_at == datetime(2025, 9, 30, 16, 0, tzinfo=UTC)
