"""Tenants: resolution per request, hierarchy, bundles loaded idempotently, plugin settings."""

from __future__ import annotations

import shutil

import pytest

from xinfang.cards.models import CardType, EscalationRule
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.bundles import BundleError, BundleLoader, discover
from xinfang.tenancy.models import Tenant
from tests.conftest import PASSWORD, REPO_ROOT


async def test_tenant_resolved_from_the_path(client, tenants):
    a = await (await client.get(f"/t/{tenants.A}/api/tenant")).get_json()
    b = await (await client.get(f"/t/{tenants.B}/api/tenant")).get_json()
    assert a["slug"] == tenants.A and a["name"]["zh"] == "泗阳县教育局纪委" and a["level"] == "county"
    assert b["slug"] == tenants.B and b["level"] == "prefecture" and a["id"] != b["id"]


async def test_tenant_resolved_from_a_mapped_host(client, tenants):
    response = await client.get("/api/tenant", headers={"Host": "siyang-edu.localhost:8000"})
    assert response.status_code == 200
    assert (await response.get_json())["slug"] == tenants.A
    # An unmapped host has no tenant: the same path is simply not a route.
    assert (await client.get("/api/tenant", headers={"Host": "elsewhere.example"})).status_code == 404


async def test_an_unknown_tenant_is_a_bilingual_404(client):
    response = await client.get("/t/no-such-body/api/tenant")
    assert response.status_code == 404
    error = (await response.get_json())["error"]
    assert error["code"] == "not_found" and "no-such-body" in error["message"]["en"] and error["message"]["zh"]


async def test_hierarchy(client, tenants, admin_a, admin_b):
    children_b = await (await client.get(f"/t/{tenants.B}/api/tenant/children", headers=admin_b)).get_json()
    assert [c["slug"] for c in children_b["children"]] == [tenants.CHILD_OF_B]
    children_a = await (await client.get(f"/t/{tenants.A}/api/tenant/children", headers=admin_a)).get_json()
    assert children_a["children"] == []
    korla = await Tenant.find_one({"slug": tenants.CHILD_OF_B})
    bazhou = await Tenant.find_one({"slug": tenants.B})
    assert korla.parent_id == str(bazhou.id) and korla.ancestor_ids == [str(bazhou.id)]


async def test_siyang_bundle_holds_the_four_cards_of_the_seed(app, tenants):
    scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    cards = {c.key: c async for c in scope.repo(CardType).find()}
    assert [cards[k].name.zh for k in ("white", "green", "yellow", "red")] == ["询问卡", "提醒卡", "预警卡", "警诫卡"]
    assert cards["white"].response_deadline.amount == 15 and cards["white"].response_deadline.unit == "working_days"
    assert cards["red"].copy_to[0].ref == "org-personnel"
    rules = {r.key: r async for r in scope.repo(EscalationRule).find()}
    assert rules["yellow_unrectified_3_months"].trigger.period.amount == 3
    assert rules["second_yellow_within_2_years"].outcome.action == "treat_as"
    other = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    other_cards = {c.key: c async for c in other.repo(CardType).find()}
    assert set(other_cards) == {"blue", "orange"}  # cards are each tenant's configuration, not product code
    assert other_cards["orange"].colour == "#fb8500" and other_cards["blue"].response_deadline.amount == 10


async def test_loading_the_bundles_again_changes_nothing(app):
    platform, bundles = discover(REPO_ROOT / "tenants")
    await BundleLoader(PASSWORD).load(platform, bundles)  # other tests may have changed what bundles own
    report = await BundleLoader(PASSWORD).load(platform, bundles)
    # An admin's edit that the loader keeps (another test may have made one) is not a change either.
    changed = {k: v for k, v in report.counts.items() if not k.endswith((".unchanged", ".kept", ".kept_admin_edit"))}
    assert changed == {}, report.summary()
    assert report.counts["tenants.unchanged"] == len(bundles)


def _copy_bundles(tmp_path):
    root = tmp_path / "tenants"
    shutil.copytree(REPO_ROOT / "tenants", root)
    return root


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace('level = "county"\nkind = "education_bureau"', 'level = "district"\nkind = "education_bureau"'), "/tenant/level"),
        (lambda t: t.replace('colour = "#f2c200"', 'colour = "yellowish"'), "/card_types/2/colour"),
        (lambda t: t.replace('outcome = { action = "propose_card", card_type = "red" }', 'outcome = { action = "propose_card", card_type = "purple" }'), "unknown card type 'purple'"),
        (lambda t: t.replace('[tenant]', '[tenant\n'), "cannot read"),
    ],
)
def test_a_bad_bundle_is_refused_with_its_place_named(tmp_path, mutate, message):
    root = _copy_bundles(tmp_path)
    path = root / "siyang-edu" / "bundle.toml"
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(BundleError, match=message) as caught:
        discover(root)
    assert "siyang-edu/bundle.toml" in str(caught.value)


def test_a_bundle_in_a_folder_of_another_name_is_refused(tmp_path):
    root = _copy_bundles(tmp_path)
    (root / "siyang-edu").rename(root / "siyang")
    with pytest.raises(BundleError, match="folder name must equal"):
        discover(root)


def test_parents_load_first_whatever_the_folder_order(tmp_path):
    root = _copy_bundles(tmp_path)
    (root / "bazhou").rename(root / "zz-tmp")
    _, bundles = discover(REPO_ROOT / "tenants")
    order = [b.slug for b in bundles]
    assert order.index("bazhou") < order.index("korla")


async def test_plugin_settings_are_validated(client, tenants, admin_a):
    listing = await (await client.get(f"/t/{tenants.A}/api/plugins", headers=admin_a)).get_json()
    names = {p["name"]: p for p in listing["plugins"]}
    assert names["activity"]["enabled"] is True and names["auth"]["required"] is True
    bad = await client.put(f"/t/{tenants.A}/api/plugins/activity", headers=admin_a, json={"enabled": True, "config": {"ignore_events": "all"}})
    assert bad.status_code == 422
    fields = (await bad.get_json())["error"]["fields"]
    assert "config.ignore_events" in fields and fields["config.ignore_events"]["zh"]
    required = await client.put(f"/t/{tenants.A}/api/plugins/auth", headers=admin_a, json={"enabled": False})
    assert required.status_code == 422
    unknown = await client.put(f"/t/{tenants.A}/api/plugins/nope", headers=admin_a, json={"enabled": True})
    assert unknown.status_code == 404
