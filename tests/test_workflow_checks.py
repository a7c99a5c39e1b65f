"""The checks a tenant's workflow passes before it is published (petitions/workflow_checks.py, issue 12).

Pure checks over the workflow: unreachable states, dead ends that are not final, steps nobody can take, time
limits in working days without a calendar for the years they reach. Each fault is a field message in zh and
en at the place in the workflow it concerns. A bundle whose workflow fails them is refused when read, and a
changed workflow whose working-day limits run into years the calendar does not know is refused on load.
"""

from __future__ import annotations

import copy
import shutil
import uuid
from datetime import date

import pytest

from xinfang.petitions.workflow import Workflow, default_workflow, default_workflow_data
from xinfang.petitions.workflow_checks import (
    ACTING_ROLES, calendar_problems, check_workflow, official_calendar_years, publish_problems, tenant_calendar_years,
)
from xinfang.tenancy.bundles import BundleError, BundleLoader, discover
from tests.conftest import PASSWORD, REPO_ROOT

TODAY = date(2026, 12, 6)


def data() -> dict:
    return copy.deepcopy(default_workflow_data())


def index_of(items: list[dict], key: str) -> int:
    return next(i for i, item in enumerate(items) if item["key"] == key)


def checked(d: dict) -> dict:
    return check_workflow(Workflow.model_validate(d))


def assert_bilingual(message: dict, zh: str, en: str) -> None:
    assert set(message) == {"zh", "en"}
    assert zh in message["zh"], message
    assert en in message["en"], message


def test_the_default_workflow_passes():
    workflow = default_workflow()
    assert check_workflow(workflow) == {}
    assert calendar_problems(workflow, official_calendar_years(), TODAY) == {}
    assert publish_problems(data(), official_calendar_years(), TODAY) == {}


def test_every_bundle_workflow_passes():
    _, bundles = discover(REPO_ROOT / "tenants")  # discover itself refuses a bundle whose workflow fails
    assert {b.slug for b in bundles} >= {"siyang-edu", "bazhou", "korla"}
    for bundle in bundles:
        d = bundle.data.get("workflow") or default_workflow_data()
        holidays = bundle.data.get("calendar", {}).get("holidays", [])
        known = official_calendar_years() | tenant_calendar_years(holidays)
        assert publish_problems(d, known, TODAY) == {}, bundle.path


def test_an_unreachable_state():
    d = data()
    d["states"].append({"key": "limbo", "name": {"zh": "搁置", "en": "Set aside"}, "terminal": True})
    problems = checked(d)
    assert list(problems) == [f"states/{len(d['states']) - 1}"]
    assert_bilingual(problems[f"states/{len(d['states']) - 1}"], "状态“搁置”从初始状态出发无法到达",
                     "state 'Set aside' cannot be reached from the initial state")


def test_a_state_reached_only_by_a_step_nobody_can_take_is_unreachable_too():
    d = data()
    d["states"].append({"key": "limbo", "name": {"zh": "搁置", "en": "Set aside"}, "terminal": True})
    d["transitions"].append({"key": "shelve", "name": {"zh": "搁置", "en": "Set aside"}, "from": ["handling"], "to": "limbo",
                             "roles": []})
    problems = checked(d)
    assert set(problems) == {f"states/{len(d['states']) - 1}", f"transitions/{len(d['transitions']) - 1}/roles"}


def test_a_dead_end_that_is_not_final():
    d = data()
    d["states"].append({"key": "stuck", "name": {"zh": "挂起", "en": "On hold"}})
    d["transitions"].append({"key": "hold", "name": {"zh": "挂起", "en": "Put on hold"}, "from": ["handling"], "to": "stuck",
                             "roles": ["leader"]})
    problems = checked(d)
    path = f"states/{len(d['states']) - 1}"
    assert list(problems) == [path]
    assert_bilingual(problems[path], "状态“挂起”不是终结状态，却没有可办理的后续步骤",
                     "state 'On hold' is not final but no step leads out of it")


def test_a_step_back_to_the_same_state_is_no_way_out_but_a_move_to_another_body_is():
    d = data()
    handling = index_of(d["transitions"], "reply")
    d["transitions"][handling]["from"] = ["accepted"]  # only 'extend' (handling -> handling) leaves handling now
    problems = checked(d)
    assert_bilingual(problems[f"states/{index_of(d['states'], 'handling')}"], "办理中", "is not final")
    # 'registered' keeps a way out through the transfer alone (a move), even with accept and reject gone
    d = data()
    d["transitions"] = [t for t in d["transitions"] if t["key"] not in ("accept", "reject")]
    problems = checked(d)
    assert f"states/{index_of(d['states'], 'registered')}" not in problems
    assert f"states/{index_of(d['states'], 'accepted')}" in problems  # nothing leads there any more


def test_states_that_can_never_reach_a_final_state():
    d = data()
    d["states"] += [{"key": "a", "name": {"zh": "甲", "en": "A"}}, {"key": "b", "name": {"zh": "乙", "en": "B"}}]
    d["transitions"] += [
        {"key": "to_a", "name": {"zh": "去甲", "en": "To A"}, "from": ["handling"], "to": "a", "roles": ["handler"]},
        {"key": "a_b", "name": {"zh": "甲到乙", "en": "A to B"}, "from": ["a"], "to": "b", "roles": ["handler"]},
        {"key": "b_a", "name": {"zh": "乙到甲", "en": "B to A"}, "from": ["b"], "to": "a", "roles": ["handler"]},
    ]
    problems = checked(d)
    a, b = index_of(d["states"], "a"), index_of(d["states"], "b")
    assert set(problems) == {f"states/{a}", f"states/{b}"}
    assert_bilingual(problems[f"states/{a}"], "从状态“甲”出发无法到达任何终结状态", "no final state can be reached from state 'A'")


def test_a_workflow_with_no_final_state():
    d = data()
    for state in d["states"]:
        state.pop("terminal", None)
    problems = checked(d)
    assert_bilingual(problems["states"], "流程没有终结状态", "no final state")
    # the states that lead to the old final ones are dead ends now, each named
    assert f"states/{index_of(d['states'], 'archived')}" in problems


def test_steps_no_role_can_take():
    d = data()
    reply, close = index_of(d["transitions"], "reply"), index_of(d["transitions"], "close")
    d["transitions"][reply]["roles"] = []
    d["transitions"][close]["roles"] = ["auditor", "tenant_admin"]  # neither may act on petitions
    problems = checked(d)
    assert_bilingual(problems[f"transitions/{reply}/roles"], "步骤“答复信访人”没有指定可办理的角色",
                     "step 'Reply to the petitioner' names no role")
    assert_bilingual(problems[f"transitions/{close}/roles"], "无权办理信访事项", "only roles that may not act on petitions")
    # with the reply gone, 'handling' has no way out but the extension onto itself
    assert f"states/{index_of(d['states'], 'handling')}" in problems
    assert ACTING_ROLES == {"registrar", "handler", "leader", "citizen"}


def test_a_step_from_no_state():
    d = data()
    close = index_of(d["transitions"], "close")
    d["transitions"][close]["from"] = []
    problems = checked(d)
    assert_bilingual(problems[f"transitions/{close}/from"], "没有起始状态", "starts from no state")


def test_what_workflow_validation_refuses_comes_back_as_a_message_at_its_place():
    """Unknown states and roles, repeated keys, missing names: refused by Workflow itself, each a zh/en message where it is."""
    last_step, last_state = len(data()["transitions"]), len(data()["states"])
    cases = [
        (lambda d: d["transitions"][0].update(to="nowhere"), {"transitions/0/to": ("请选择办理后进入的状态", "choose the state it leads to")}),
        (lambda d: d["transitions"][0].update(roles=["cleaner"]), {"transitions/0/roles": ("未知的角色", "unknown role")}),
        (lambda d: d["transitions"].append(copy.deepcopy(d["transitions"][0])),
         {"transitions/0/key": ("步骤代码重复", "key repeats"), f"transitions/{last_step}/key": ("步骤代码重复", "key repeats")}),
        (lambda d: d["states"].append(copy.deepcopy(d["states"][1])),
         {"states/1/key": ("状态代码重复", "key repeats"), f"states/{last_state}/key": ("状态代码重复", "key repeats")}),
        (lambda d: d["states"][2]["name"].update(zh=""), {"states/2/name/zh": ("请填写状态的中文名称", "enter the state's Chinese name")}),
        (lambda d: d["transitions"][1].update(required=["reason", "reply"]),
         {"transitions/1/required": ("必填项须先勾选为填写项", "must also be one of its fields")}),
        (lambda d: d["time_limits"]["handling"].update(amount=0), {"time_limits/handling/amount": ("数值太小", "too small")}),
    ]
    for mutate, expected in cases:
        d = data()
        mutate(d)
        problems = publish_problems(d, official_calendar_years(), TODAY)
        assert set(problems) == set(expected), problems
        for path, (zh, en) in expected.items():
            assert_bilingual(problems[path], zh, en)


def working_days(d: dict, key: str, amount: int) -> dict:
    d["time_limits"][key] = {"amount": amount, "unit": "working_days"}
    return d


def test_working_day_limits_need_the_calendar_of_the_years_they_reach():
    workflow = Workflow.model_validate(working_days(data(), "handling", 60))
    problems = calendar_problems(workflow, {2026}, TODAY)
    assert list(problems) == ["time_limits/handling"]
    assert_bilingual(problems["time_limits/handling"], "时限“办理期限”按工作日计算，但日历中还没有 2027 年的节假日安排",
                     "time limit 'Time to handle' counts working days, but the calendar has no holidays for 2027")
    assert calendar_problems(workflow, {2026, 2027}, TODAY) == {}
    # 15 working days from early in the year stay inside it
    assert calendar_problems(Workflow.model_validate(working_days(data(), "acceptance", 15)), {2026}, date(2026, 3, 2)) == {}
    # calendar days never need it; the extension counts since a step uses it
    assert calendar_problems(default_workflow(), set(), TODAY) == {}
    extended = calendar_problems(Workflow.model_validate(working_days(data(), "extension", 30)), {2026}, TODAY)
    assert list(extended) == ["time_limits/extension"]


def test_a_working_day_limit_no_state_or_step_uses_is_not_checked():
    d = working_days(data(), "spare", 300)
    assert calendar_problems(Workflow.model_validate(d), {2026}, TODAY) == {}


def test_calendar_years():
    official = official_calendar_years()
    assert {2004, 2026} <= official and 2003 not in official and max(official) < 2100
    assert tenant_calendar_years(["2027-01-01", "2027-02-05", date(2028, 1, 1)]) == {2027, 2028}


def _copy_bundles(tmp_path):
    root = tmp_path / "tenants"
    shutil.copytree(REPO_ROOT / "tenants", root)
    return root


def _workflow_toml(d: dict) -> str:
    """A workflow as a bundle's [workflow] section (enough TOML for the default's shapes)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, str)):
            return f'"{v}"' if isinstance(v, str) else str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"

    lines = ["[workflow]", f"initial = {value(d['initial'])}", "", "[workflow.time_limits]"]
    lines += [f"{k} = {value(v)}" for k, v in d["time_limits"].items()]
    for table in ("states", "transitions"):
        for item in d[table]:
            lines += ["", f"[[workflow.{table}]]"] + [f"{k} = {value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def test_a_bundle_with_a_faulty_workflow_is_refused_when_read(tmp_path):
    root = _copy_bundles(tmp_path)
    path = root / "korla" / "bundle.toml"
    d = data()
    d["states"].append({"key": "limbo", "name": {"zh": "搁置", "en": "Set aside"}, "terminal": True})
    path.write_text(path.read_text(encoding="utf-8") + "\n" + _workflow_toml(d), encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        discover(root)
    text = str(caught.value)
    assert "korla/bundle.toml" in text and f"/workflow/states/{len(d['states']) - 1}:" in text
    assert "cannot be reached from the initial state" in text and "从初始状态出发无法到达" in text
    # the same workflow without the fault reads
    path.write_text((REPO_ROOT / "tenants" / "korla" / "bundle.toml").read_text(encoding="utf-8") + "\n" + _workflow_toml(data()),
                    encoding="utf-8")
    discover(root)


def _own_bundle(root, slug: str, workflow: dict, holidays: list[str] | None) -> None:
    text = f'''[tenant]
slug = "{slug}"
name = {{ zh = "流程检查测试单位", en = "Workflow check body" }}
level = "prefecture"
region_code = "659900"

[[accounts]]
username = "admin"
display_name = "管理员"
roles = ["tenant_admin"]
'''
    if holidays is not None:
        text += "\n[calendar]\nholidays = [" + ", ".join(f'"{h}"' for h in holidays) + "]\n"
    (root / slug).mkdir()
    (root / slug / "bundle.toml").write_text(text + "\n" + _workflow_toml(workflow), encoding="utf-8")


async def test_loading_a_changed_workflow_needs_the_calendar_of_its_working_day_limits(app, tmp_path):
    """400 working days from now run at least two years past the last year the official calendar knows."""
    long_limit = working_days(data(), "handling", 400)
    refused, accepted = f"wfc-{uuid.uuid4().hex[:8]}", f"wfc-{uuid.uuid4().hex[:8]}"
    _own_bundle(tmp_path, refused, long_limit, None)
    _, bundles = discover(tmp_path)  # nothing wrong with the workflow itself
    with pytest.raises(BundleError) as caught:
        await BundleLoader(PASSWORD).load(None, bundles)
    text = str(caught.value)
    assert "/workflow/time_limits/handling:" in text and "counts working days" in text and "按工作日计算" in text

    root = tmp_path / "second"
    root.mkdir()
    today = date.today()
    years = range(max(official_calendar_years()) + 1, today.year + 4)
    _own_bundle(root, accepted, long_limit, [f"{y}-01-01" for y in years])
    _, bundles = discover(root)
    report = await BundleLoader(PASSWORD).load(None, bundles)
    assert report.counts["workflows.updated"] == 1
