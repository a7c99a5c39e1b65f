"""交办下级 is offered only where there is a body below to assign to (issue 11).

库尔勒 has nobody below it: its leader must not see the move down, on the page or in the API, while
巴州's leader (库尔勒 below) still does.
"""

from __future__ import annotations

from tests.conftest import login_token
from tests.login_pages import staff_login
from tests.test_petitions import _act, petition_id_of, submitted

ASSIGN_DOWN = "交办下级"


async def accepted_petition(client, slug: str, leader: dict) -> str:
    pid = await petition_id_of(slug, (await submitted(client, slug))["number"])
    assert (await _act(client, slug, leader, pid, "accept")).status_code == 200
    return pid


async def offered_keys(client, slug: str, leader: dict, pid: str) -> set[str]:
    shown = await client.get(f"/t/{slug}/api/petitions/{pid}", headers=leader)
    assert shown.status_code == 200
    return {t["key"] for t in (await shown.get_json())["actions"]}


async def page_text(app, slug: str, pid: str) -> str:
    browser = app.test_client()
    assert (await staff_login(browser, slug, "leader")).status_code == 302
    page = await browser.get(f"/t/{slug}/staff/petitions/{pid}")
    assert page.status_code == 200
    return await page.get_data(as_text=True)


async def test_a_tenant_without_lower_bodies_is_not_offered_the_move_down(app, client, tenants):
    leader = await login_token(client, tenants.CHILD_OF_B, "leader")
    pid = await accepted_petition(client, tenants.CHILD_OF_B, leader)
    offered = await offered_keys(client, tenants.CHILD_OF_B, leader, pid)
    assert "assign" in offered and "assign_down" not in offered
    assert ASSIGN_DOWN not in await page_text(app, tenants.CHILD_OF_B, pid)


async def test_a_tenant_with_a_lower_body_is_still_offered_it(app, client, tenants):
    leader = await login_token(client, tenants.B, "leader")
    pid = await accepted_petition(client, tenants.B, leader)
    assert "assign_down" in await offered_keys(client, tenants.B, leader, pid)
    assert ASSIGN_DOWN in await page_text(app, tenants.B, pid)
