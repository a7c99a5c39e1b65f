"""Every tenant in tenants/ can run its own workflow: each role a transition names is held by an account.

A case assigned down to 库尔勒 sat still because its bundle had no leader; this test reads the bundles as
the loader does, so a bundle that ships a workflow its people cannot run fails here, not in production.
Separation of duties counts too: a step that may not be taken by whoever took the steps it reviews
(``not_by``: the 复核 opinion after the reply and the 复查 opinion) needs enough different people.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from xinfang.petitions.workflow import CITIZEN, Workflow, default_workflow_data
from xinfang.tenancy.bundles import discover

TENANTS = Path(__file__).resolve().parents[1] / "tenants"
_, BUNDLES = discover(TENANTS)


def test_the_bundles_are_found():
    assert {b.slug for b in BUNDLES} >= {"siyang-edu", "bazhou", "korla"}


def workflow_of(bundle_data: dict) -> Workflow:
    return Workflow.model_validate(bundle_data.get("workflow") or default_workflow_data())


def roles_missing(bundle_data: dict) -> dict[str, list[str]]:
    """Transition key -> the staff roles it names that no account of the bundle holds."""
    workflow = workflow_of(bundle_data)
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


def short_of_people(bundle_data: dict) -> list[str]:
    """Transitions with ``not_by`` that no choice of the bundle's accounts can take: each step of the chain (the
    transition and the steps it reviews) by an account holding one of its roles, none by whoever took a step it
    reviews. Citizens' steps are left out (the petitioner is never staff)."""
    workflow = workflow_of(bundle_data)
    accounts = bundle_data.get("accounts", [])
    stuck = []
    for transition in workflow.transitions:
        if not transition.not_by:
            continue
        chain = [transition] + [workflow.transition(key) for key in transition.not_by]
        chain = [t for t in chain if set(t.roles) - {CITIZEN}]
        eligible = [[a["username"] for a in accounts if set(a["roles"]) & set(t.roles)] for t in chain]
        keys = [t.key for t in chain]

        def respects(actors, chain=chain, keys=keys):
            by_step = dict(zip(keys, actors))
            return all(by_step[t.key] != by_step[other] for t in chain for other in t.not_by if other in by_step)

        if not any(respects(actors) for actors in itertools.product(*eligible)):
            stuck.append(transition.key)
    return stuck


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.slug)
def test_steps_that_review_others_have_someone_else_to_take_them(bundle):
    assert short_of_people(bundle.data) == [], f"{bundle.path}: not enough different people for these steps"


def test_the_check_sees_too_few_people():
    """One handler and one leader: the leader writes the 复查 opinion, and nobody is left for the 复核 one."""
    one_each = {"accounts": [{"username": "handler", "roles": ["handler", "registrar"]}, {"username": "leader", "roles": ["leader"]}]}
    assert short_of_people(one_each) == ["re_review_reply"]
    two_leaders = {"accounts": one_each["accounts"] + [{"username": "deputy", "roles": ["leader"]}]}
    assert short_of_people(two_leaders) == []
