"""Navigation follows the role (issue 11): every demo account lands on a page it may see, and every link in its
navigation (and the way home on an error page) answers 200, never 403 or 404. ``/`` is the platform's front page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.login_pages import staff_login
from tests.test_security_headers import check_headers
from xinfang.tenancy.bundles import discover

_, BUNDLES = discover(Path(__file__).resolve().parents[1] / "tenants")
DEMO_ACCOUNTS = [(b.slug, a["username"], tuple(a["roles"])) for b in BUNDLES for a in b.data.get("accounts", [])]
NAV = re.compile(r'<nav class="staff"[^>]*>(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')
BACK_HOME = re.compile(r'<a class="button secondary" href="([^"]+)">(?:返回首页|Back to the start)</a>')
BRAND = re.compile(r'<div class="brand">\s*<a href="([^"]+)"')


def nav_links(html: str) -> list[str]:
    found = NAV.search(html)
    assert found, "the page has no staff navigation"
    return HREF.findall(found.group(1))


def test_every_role_of_the_demo_bundles_is_covered():
    held = {role for _, _, roles in DEMO_ACCOUNTS for role in roles}
    assert held >= {"registrar", "handler", "leader", "tenant_admin", "auditor"}


@pytest.mark.parametrize(("slug", "username", "roles"), DEMO_ACCOUNTS, ids=[f"{s}-{u}" for s, u, _ in DEMO_ACCOUNTS])
async def test_home_and_every_nav_link_open_for_the_role(app, slug, username, roles):
    browser = app.test_client()
    landed = await staff_login(browser, slug, username)
    assert landed.status_code == 302
    home = landed.headers["Location"]
    page = await browser.get(home)
    assert page.status_code == 200, (username, home, page.status_code)
    html = await page.get_data(as_text=True)
    links = nav_links(html)
    assert home.split("?")[0] in links  # the home page is in the person's own navigation
    if "tenant_admin" in roles:
        assert f"/t/{slug}/admin/forms" in links and f"/t/{slug}/admin/supervision" in links
        assert f"/t/{slug}/staff/" not in links and f"/t/{slug}/staff/register" not in links
    if {"registrar", "handler", "leader"} & set(roles):
        assert home == f"/t/{slug}/staff/" and f"/t/{slug}/staff/register" in links
    for link in links + BRAND.findall(html):
        response = await browser.get(link)
        assert response.status_code == 200, (username, link, response.status_code)


async def test_a_tenant_admin_lands_on_the_configuration_hub_and_errors_lead_back_there(app, tenants):
    browser = app.test_client()
    landed = await staff_login(browser, tenants.A, "admin")
    assert landed.headers["Location"] == f"/t/{tenants.A}/admin/studio"
    forbidden = await browser.get(f"/t/{tenants.A}/staff/register")  # typed by hand: still a 403, but the way back is home
    assert forbidden.status_code == 403
    back = BACK_HOME.findall(await forbidden.get_data(as_text=True))
    assert back == [f"/t/{tenants.A}/admin/studio"]
    assert (await browser.get(back[0])).status_code == 200


async def test_a_next_page_the_role_may_not_see_lands_home_instead(app, tenants):
    admin = app.test_client()
    landed = await staff_login(admin, tenants.A, "admin", next=f"/t/{tenants.A}/staff/register")
    assert landed.headers["Location"] == f"/t/{tenants.A}/admin/studio"
    registrar = app.test_client()
    landed = await staff_login(registrar, tenants.A, "registrar", next=f"/t/{tenants.A}/staff/register")
    assert landed.headers["Location"] == f"/t/{tenants.A}/staff/register"  # one it may see: kept


async def test_an_anonymous_error_page_leads_to_the_portal_or_the_front_page(client, tenants):
    missing = await client.get(f"/t/{tenants.A}/petition/no-such-form")
    assert missing.status_code == 404 and BACK_HOME.findall(await missing.get_data(as_text=True)) == [f"/t/{tenants.A}/"]
    nowhere = await client.get("/no/such/page")
    assert nowhere.status_code == 404 and BACK_HOME.findall(await nowhere.get_data(as_text=True)) == ["/"]


async def test_the_front_page_lists_every_body_with_its_doors(client):
    front = await client.get("/")
    assert front.status_code == 200
    await check_headers(front, "front page")
    html = await front.get_data(as_text=True)
    for bundle in BUNDLES:
        slug, name = bundle.slug, bundle.data["tenant"]["name"]["zh"]
        assert name in html, name
        assert f'href="/t/{slug}/"' in html and f'href="/t/{slug}/staff/login"' in html
    assert 'href="/platform/login"' in html
    visible = re.sub(r"<[^>]+>", " ", html)
    for bundle in BUNDLES:  # slugs live in the links only, never in the words people read
        assert bundle.slug not in visible
    for word in ("prefecture", "county", "commission", "region_code"):
        assert word not in visible
    for link in {h for h in HREF.findall(html) if h.startswith("/")}:  # not the ?lang= switches
        assert (await client.get(link)).status_code == 200, link
    english = await (await client.get("/?lang=en")).get_data(as_text=True)
    assert "Staff login" in english and bundles_en_names_present(english)


def bundles_en_names_present(html: str) -> bool:
    return all(b.data["tenant"]["name"]["en"] in html for b in BUNDLES)
