"""Checks a tenant's workflow must pass before it is published (issue 12, workflow designer).

``Workflow`` validation (workflow.py) refuses what cannot be read at all: unknown states, roles, fields and
time limits, repeated keys. The checks here look at the workflow as a whole, the way a case moves through it:

* states no case can reach from the initial state;
* states that are not final and have no way out (a step to another state, or a move to another body);
* states from which no final state can be reached (cases would go round for ever);
* steps no role can take: no roles at all, or only roles that may not act on petitions;
* steps that start from no state;
* time limits counted in working days while the calendar does not know the years they run into.

Each function is pure and returns ``{field path: {"zh": ..., "en": ...}}``; a path is a JSON pointer into
the workflow (``states/3``, ``transitions/5/roles``, ``time_limits/handling``), as bundle errors name places.
An empty dict means the workflow may be published.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import ValidationError

from ..auth.models import Role
from ..auth.permissions import ROLE_PERMISSIONS, Permission
from ..calendar import WorkingCalendar
from ..calendar.workdays import PeriodUnit
from ..display_words import word
from .workflow import CITIZEN, Transition, Workflow

Messages = dict[str, dict[str, str]]

# Roles that can take a step: staff roles allowed to act on petitions (the step route requires it), and the
# citizen through the portal.
ACTING_ROLES = frozenset({role.value for role in Role if Permission.PETITIONS_ACT in ROLE_PERMISSIONS.get(role, frozenset())}
                         | {CITIZEN})


def _msg(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _takeable(t: Transition) -> bool:
    return bool(set(t.roles) & ACTING_ROLES)


def _leaves(t: Transition, state: str) -> bool:
    """``t`` takes a case out of ``state``: to another state, or to another body (a move)."""
    return state in t.from_ and (t.to != state or t.move is not None)


def step_problems(workflow: Workflow) -> Messages:
    """Steps no role can take, and steps that start from no state."""
    problems: Messages = {}
    for i, t in enumerate(workflow.transitions):
        if not t.roles:
            problems[f"transitions/{i}/roles"] = _msg(f"步骤“{t.name.zh}”没有指定可办理的角色，无人能办理",
                                                      f"step '{t.name.en}' names no role, so nobody can take it")
        elif not _takeable(t):
            names = "、".join(word("role", r, "zh") for r in t.roles)
            problems[f"transitions/{i}/roles"] = _msg(
                f"步骤“{t.name.zh}”指定的角色（{names}）无权办理信访事项，无人能办理",
                f"step '{t.name.en}' names only roles that may not act on petitions"
                f" ({', '.join(word('role', r, 'en') for r in t.roles)}), so nobody can take it")
        if not t.from_:
            problems[f"transitions/{i}/from"] = _msg(f"步骤“{t.name.zh}”没有起始状态，永远不会出现",
                                                     f"step '{t.name.en}' starts from no state, so it is never offered")
    return problems


def state_problems(workflow: Workflow) -> Messages:
    """Unreachable states, dead ends that are not final, states with no path to a final state.

    Only steps some role can take count as paths (a step nobody can take moves no case)."""
    steps = [t for t in workflow.transitions if _takeable(t)]
    reachable, frontier = {workflow.initial}, [workflow.initial]
    while frontier:
        state = frontier.pop()
        for t in steps:
            if state in t.from_ and t.to not in reachable:
                reachable.add(t.to)
                frontier.append(t.to)
    # States from which a final state, or another body (a move), can be reached.
    finishing = set(workflow.terminal_states()) | {s for t in steps if t.move for s in t.from_}
    changed = True
    while changed:
        changed = False
        for t in steps:
            if t.to in finishing:
                for s in t.from_:
                    if s not in finishing:
                        finishing.add(s)
                        changed = True
    problems: Messages = {}
    if not workflow.terminal_states():
        problems["states"] = _msg("流程没有终结状态，事项永远无法办结", "the workflow has no final state, so no case can ever be finished")
    for i, state in enumerate(workflow.states):
        zh, en = state.name.zh, state.name.en
        if state.key not in reachable:
            problems[f"states/{i}"] = _msg(f"状态“{zh}”从初始状态出发无法到达", f"state '{en}' cannot be reached from the initial state")
        elif not state.terminal and not any(_leaves(t, state.key) for t in steps):
            problems[f"states/{i}"] = _msg(f"状态“{zh}”不是终结状态，却没有可办理的后续步骤，事项会停在这里",
                                           f"state '{en}' is not final but no step leads out of it, so cases would stop there")
        elif state.key not in finishing and workflow.terminal_states():
            problems[f"states/{i}"] = _msg(f"从状态“{zh}”出发无法到达任何终结状态",
                                           f"no final state can be reached from state '{en}'")
    return problems


def check_workflow(workflow: Workflow) -> Messages:
    """Every check that needs only the workflow itself."""
    return {**state_problems(workflow), **step_problems(workflow)}


def official_calendar_years() -> frozenset[int]:
    """The years the official (State Council) arrangement is known for, as the calendar package says."""
    cal = WorkingCalendar()
    # One day per year is enough: the package knows whole years or none.
    return frozenset(y for y in range(2000, date.today().year + 3) if cal.knows_official_calendar(date(y, 7, 1)))


def tenant_calendar_years(holidays: Iterable[str | date]) -> frozenset[int]:
    """The years for which the tenant entered days off (ISO strings or dates)."""
    return frozenset(date.fromisoformat(d).year if isinstance(d, str) else d.year for d in holidays)


def used_time_limits(workflow: Workflow) -> set[str]:
    return {s.deadline for s in workflow.states if s.deadline} | {t.extends for t in workflow.transitions if t.extends}


def calendar_problems(workflow: Workflow, known_years: Iterable[int], today: date) -> Messages:
    """Time limits in working days whose span from ``today`` runs into a year the calendar does not know.

    ``known_years``: the years the official calendar covers plus those the tenant entered holidays for
    (``official_calendar_years() | tenant_calendar_years(...)``). Without them only weekends would be days
    off, and a deadline over the Spring Festival would fall too early."""
    known = set(known_years)
    fallback = WorkingCalendar()  # weekends only where the year is unknown: enough to see which years a span reaches
    problems: Messages = {}
    for key in sorted(used_time_limits(workflow)):
        period = workflow.time_limits.get(key)
        if period is None or period.unit != PeriodUnit.WORKING_DAYS:
            continue
        end = fallback.add_working_days(today, period.amount)
        missing = [y for y in range(today.year, end.year + 1) if y not in known]
        if missing:
            years = "、".join(str(y) for y in missing)
            name = workflow.time_limit_name(key)
            problems[f"time_limits/{key}"] = _msg(
                f"时限“{name['zh']}”按工作日计算，但日历中还没有 {years} 年的节假日安排，请先在本单位日历中录入",
                f"time limit '{name['en']}' counts working days, but the calendar has no holidays for {', '.join(map(str, missing))} yet:"
                " enter them in the tenant calendar first")
    return problems


# pydantic's error types in words (zh, en); anything else keeps pydantic's English with a general zh sentence.
_PYDANTIC_WORDS = {
    "missing": ("必填", "required"),
    "string_too_short": ("必填", "required"),
    "string_too_long": ("太长", "too long"),
    "string_type": ("应为文字", "must be text"),
    "int_parsing": ("应为整数", "must be a whole number"),
    "int_type": ("应为整数", "must be a whole number"),
    "int_from_float": ("应为整数", "must be a whole number"),
    "greater_than_equal": ("数值太小", "too small"),
    "less_than_equal": ("数值太大", "too large"),
    "enum": ("不是可选的一项", "not one of the choices"),
    "literal_error": ("不是可选的一项", "not one of the choices"),
    "extra_forbidden": ("流程中没有这一项", "the workflow takes no such item"),
    "bool_parsing": ("应为是或否", "must be yes or no"),
    "list_type": ("应为列表", "must be a list"),
    "dict_type": ("格式不对", "wrong shape"),
    "model_type": ("格式不对", "wrong shape"),
}


def validation_messages(exc: ValidationError) -> Messages:
    """``Workflow`` validation errors as field messages."""
    problems: Messages = {}
    for error in exc.errors():
        path = "/".join(str(part) for part in error["loc"]) or ""
        words = _PYDANTIC_WORDS.get(error["type"])
        problems[path] = _msg(words[0], words[1]) if words else _msg(f"流程定义有误：{error['msg']}", error["msg"])
    return problems


def _names(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def structure_problems(data: dict) -> Messages:
    """What ``Workflow`` validation refuses as a whole (unknown states, roles, fields and time limits, repeated
    keys, missing names), each at its own place: the designer shows it next to the field."""
    from .workflow import FIELD_KINDS, KNOWN_ROLES

    problems: Messages = {}
    if not isinstance(data, dict):
        return {"": _msg("流程定义格式不对", "the workflow has the wrong shape")}
    states = [s for s in data.get("states") or [] if isinstance(s, dict)]
    steps = [t for t in data.get("transitions") or [] if isinstance(t, dict)]
    limits = data.get("time_limits") if isinstance(data.get("time_limits"), dict) else {}
    state_keys = [s.get("key") for s in states]
    step_keys = [t.get("key") for t in steps]

    def named(prefix: str, item: dict, what_zh: str, what_en: str) -> None:
        name = item.get("name") if isinstance(item.get("name"), dict) else {}
        if not str(name.get("zh") or "").strip():
            problems[f"{prefix}/name/zh"] = _msg(f"请填写{what_zh}的中文名称", f"enter the {what_en}'s Chinese name")
        if not str(name.get("en") or "").strip():
            problems[f"{prefix}/name/en"] = _msg(f"请填写{what_zh}的英文名称", f"enter the {what_en}'s English name")

    if not states:
        problems["states"] = _msg("流程至少要有一个状态", "the workflow needs at least one state")
    for i, state in enumerate(states):
        named(f"states/{i}", state, "状态", "state")
        if state_keys.count(state.get("key")) > 1:
            problems[f"states/{i}/key"] = _msg("状态代码重复", "this state's key repeats")
        if state.get("deadline") and state["deadline"] not in limits:
            problems[f"states/{i}/deadline"] = _msg("没有这个期限", "no such time limit")
    if data.get("initial") not in state_keys:
        problems["initial"] = _msg("请选择初始状态（新收到的事项所处的状态）", "choose the initial state (where new cases start)")
    for key, names in (data.get("time_limit_names") or {}).items():
        if key not in limits:
            problems[f"time_limit_names/{key}"] = _msg("没有这个期限", "no such time limit")
        elif isinstance(names, dict):
            for lang, word_zh, word_en in (("zh", "中文", "Chinese"), ("en", "英文", "English")):
                if not str(names.get(lang) or "").strip():
                    problems[f"time_limit_names/{key}/{lang}"] = _msg(f"请填写期限的{word_zh}名称", f"enter the time limit's {word_en} name")
    for i, step in enumerate(steps):
        prefix = f"transitions/{i}"
        named(prefix, step, "步骤", "step")
        if step_keys.count(step.get("key")) > 1:
            problems[f"{prefix}/key"] = _msg("步骤代码重复", "this step's key repeats")
        if any(name not in state_keys for name in _names(step.get("from"))):
            problems[f"{prefix}/from"] = _msg("起始状态中有不存在的状态", "a state it starts from does not exist")
        if step.get("to") not in state_keys:
            problems[f"{prefix}/to"] = _msg("请选择办理后进入的状态", "choose the state it leads to")
        if any(role not in KNOWN_ROLES for role in _names(step.get("roles"))):
            problems[f"{prefix}/roles"] = _msg("有未知的角色", "an unknown role")
        fields = _names(step.get("fields"))
        for part in ("fields", "required", "public_fields"):
            if any(name not in FIELD_KINDS for name in _names(step.get(part))):
                problems[f"{prefix}/{part}"] = _msg("有未知的填写项", "an unknown field")
        if not set(_names(step.get("required"))) <= set(fields):
            problems[f"{prefix}/required"] = _msg("必填项须先勾选为填写项", "a required field must also be one of its fields")
        if step.get("move") and "target_tenant" not in _names(step.get("required")):
            problems[f"{prefix}/move"] = _msg("交办或转送须必填“接收单位”", "a move must require the receiving body")
        if step.get("extends") and step["extends"] not in limits:
            problems[f"{prefix}/extends"] = _msg("没有这个期限", "no such time limit")
        if any(name not in step_keys for name in _names(step.get("not_by"))):
            problems[f"{prefix}/not_by"] = _msg("有不存在的步骤", "names a step that does not exist")
    return problems


def publish_problems(data: dict, known_years: Iterable[int], today: date) -> Messages:
    """Everything that stops a workflow (as data, e.g. a bundle's ``[workflow]``) from being published."""
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        return structure_problems(data) or validation_messages(exc)
    return {**check_workflow(workflow), **calendar_problems(workflow, known_years, today)}
