"""Every tenant in tenants/ can run its own workflow: each role a transition names is held by an account.

A case assigned down to 库尔勒 sat still because its bundle had no leader; this test reads the bundles as
the loader does, so a bundle that ships a workflow its people cannot run fails here, not in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xinfang.petitions.workflow import CITIZEN, Workflow, default_workflow_data
from xinfang.tenancy.bundles import discover

TENANTS = Path(__file__).resolve().parents[1] / "tenants"
_, BUNDLES = discover(TENANTS)


def test_the_bundles_are_found():
    assert {b.slug for b in BUNDLES} >= {"siyang-edu", "bazhou", "korla"}


def roles_missing(bundle_data: dict) -> dict[str, list[str]]:
    """Transition key -> the staff roles it names that no account of the bundle holds."""
    workflow = Workflow.model_validate(bundle_data.get("workflow") or default_workflow_data())
    held = {role for account in bundle_data.get("accounts", []) for role in account["roles"]}
    missing = {}
    for transition in workflow.transitions:
        lacking = sorted(set(transition.roles) - {CITIZEN} - held)
        if lacking:
            missing[transition.key] = lacking
    return missing


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.slug)
def test_every_role_the_workflow_names_is_held_by_an_account(bundle):
    assert roles_missing(bundle.data) == {}, f"{bundle.path}: roles with no account"


def test_the_check_sees_a_missing_role():
    """The rule above can fail: 库尔勒 as it was (admin and handler only) lacks the leader's steps."""
    without_leader = {"accounts": [{"username": "admin", "roles": ["tenant_admin"]},
                                   {"username": "handler", "roles": ["handler", "registrar"]}]}
    missing = roles_missing(without_leader)
    assert missing["assign_down"] == ["leader"] and missing["assign"] == ["leader"] and "reply" not in missing
