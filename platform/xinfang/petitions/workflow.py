"""The petition workflow as tenant data: states, transitions, roles, fields, time limits.

A tenant's bundle may carry its own ``[workflow]``; otherwise the default in
``default_workflow.toml`` applies. The definition is checked when it is loaded
(every state a transition names exists, every role and field is known), so a
bad workflow is refused at load time, never half-used at run time.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymongo import ASCENDING, IndexModel

from ..cards.models import Period
from ..store.documents import TenantDocument
from ..tenancy.models import LocalizedName

CITIZEN = "citizen"  # the petitioner, acting through the portal with their receipt
KNOWN_ROLES = {"registrar", "handler", "leader", "tenant_admin", "auditor", CITIZEN}

# Fields a transition may ask for. Each has a fixed meaning the service understands.
FIELD_KINDS: dict[str, str] = {
    "opinion": "text",  # internal opinion (拟办意见)
    "reason": "text",
    "reply": "text",  # the answer to the petitioner
    "assignee": "account",  # a handler of this tenant
    "target_tenant": "tenant",  # slug of the receiving tenant (moves only)
}
FIELD_TITLES = {
    "opinion": {"zh": "意见", "en": "Opinion"},
    "reason": {"zh": "理由", "en": "Reason"},
    "reply": {"zh": "答复内容", "en": "Reply"},
    "assignee": {"zh": "承办人", "en": "Handler"},
    "target_tenant": {"zh": "接收单位", "en": "Receiving body"},
    "channel": {"zh": "渠道", "en": "Channel"},  # recorded by the submission step
    # recorded by the upper-level steps (upper_level.py): result report, its return, a reminder
    "report": {"zh": "办理结果", "en": "Result of handling"},
    "message": {"zh": "督办意见", "en": "Reminder"},
    "report_due_on": {"zh": "结果报送期限", "en": "Result report due"},
    "received_on": {"zh": "收到日期", "en": "Date received"},  # recorded by a staff registration step
    "repeat_of": {"zh": "重复于", "en": "Repeat of"},  # a confirmed repeat petition (service.do_note_repeat)
    "relay_consent": {"zh": "村民同意代为反映", "en": "Villager's consent to relay"},  # relayed by a village supervisor
    "document": {"zh": "公文", "en": "Document"},  # an official document issued or received on the case (documents/)
}
# On the registration step of a petition a village supervisor relayed: the villager's consent in words (supervisors/).
RELAY_CONSENT_FIELD = "relay_consent"


class State(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    name: LocalizedName
    deadline: str | None = None  # key into time_limits; set when the petition enters this state
    keep_deadline: bool = False  # entering keeps the running deadline (handling continues the same clock)
    terminal: bool = False


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    key: str
    name: LocalizedName
    from_: list[str] = Field(alias="from")
    to: str
    roles: list[str]
    fields: list[str] = Field(default_factory=list)
    required: list[str] = Field(default_factory=list)
    public_fields: list[str] = Field(default_factory=list)
    move: Literal["child", "any"] | None = None  # the case moves to another tenant
    extends: str | None = None  # key into time_limits: push the deadline back by it
    once: bool = False  # may happen at most once per petition
    # Keys of earlier transitions whose actors may not take this one: a review (复查) is not written by
    # whoever gave the reply under review (separation of duties, README).
    not_by: list[str] = Field(default_factory=list)


# What people call the default workflow's time limits (a workflow may name its own in ``time_limit_names``).
TIME_LIMIT_NAMES = {
    "acceptance": {"zh": "受理期限", "en": "Time to decide acceptance"},
    "handling": {"zh": "办理期限", "en": "Time to handle"},
    "extension": {"zh": "延期期限", "en": "Extension"},
    "review": {"zh": "复查复核期限", "en": "Time to review"},
}


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    initial: str
    time_limits: dict[str, Period]
    # Optional words for the time limits (keys of ``time_limits``); else TIME_LIMIT_NAMES, else the states that start it.
    time_limit_names: dict[str, LocalizedName] = Field(default_factory=dict)
    states: list[State]
    transitions: list[Transition]

    @model_validator(mode="after")
    def _consistent(self) -> "Workflow":
        states = {s.key for s in self.states}
        problems = []
        if self.initial not in states:
            problems.append(f"initial state {self.initial!r} is not defined")
        for state in self.states:
            if state.deadline and state.deadline not in self.time_limits:
                problems.append(f"state {state.key!r}: unknown time limit {state.deadline!r}")
        for t in self.transitions:
            for name in t.from_ + [t.to]:
                if name not in states:
                    problems.append(f"transition {t.key!r}: unknown state {name!r}")
            for role in t.roles:
                if role not in KNOWN_ROLES:
                    problems.append(f"transition {t.key!r}: unknown role {role!r}")
            for field in t.fields + t.required + t.public_fields:
                if field not in FIELD_KINDS:
                    problems.append(f"transition {t.key!r}: unknown field {field!r}")
            if not set(t.required) <= set(t.fields):
                problems.append(f"transition {t.key!r}: required fields must be among its fields")
            if t.move and "target_tenant" not in t.required:
                problems.append(f"transition {t.key!r}: a move must require target_tenant")
            if t.extends and t.extends not in self.time_limits:
                problems.append(f"transition {t.key!r}: unknown time limit {t.extends!r}")
            for other in t.not_by:
                if other not in {u.key for u in self.transitions}:
                    problems.append(f"transition {t.key!r}: not_by names unknown transition {other!r}")
        for key in self.time_limit_names:
            if key not in self.time_limits:
                problems.append(f"time_limit_names: unknown time limit {key!r}")
        if len({t.key for t in self.transitions}) != len(self.transitions):
            problems.append("transition keys repeat")
        if len(states) != len(self.states):
            problems.append("state keys repeat")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def state(self, key: str) -> State:
        return next(s for s in self.states if s.key == key)

    def transition(self, key: str) -> Transition | None:
        return next((t for t in self.transitions if t.key == key), None)

    def available(self, state: str, roles: set[str]) -> list[Transition]:
        return [t for t in self.transitions if state in t.from_ and roles & set(t.roles)]

    def terminal_states(self) -> list[str]:
        return [s.key for s in self.states if s.terminal]

    def deadline_states(self) -> list[str]:
        return [s.key for s in self.states if s.deadline]

    def time_limit_name(self, key: str) -> dict[str, str]:
        """What people call time limit ``key``: its own name, the default's word, or the states it starts in."""
        if key in self.time_limit_names:
            return self.time_limit_names[key].model_dump()
        if key in TIME_LIMIT_NAMES:
            return dict(TIME_LIMIT_NAMES[key])
        states = [s.name for s in self.states if s.deadline == key]
        if states:
            return {"zh": "“" + "”“".join(n.zh for n in states) + "”的期限", "en": "time limit of " + ", ".join(f"'{n.en}'" for n in states)}
        steps = [t.name for t in self.transitions if t.extends == key]
        if steps:
            return {"zh": "“" + "”“".join(n.zh for n in steps) + "”延长的期限", "en": "extension by " + ", ".join(f"'{n.en}'" for n in steps)}
        return {"zh": "未使用的期限", "en": "unused time limit"}


class TenantWorkflow(TenantDocument):
    """The workflow a tenant runs now: its newest published version (workflow_versions.py).

    ``digest`` is the digest of the bundle's ``[workflow]`` (or the default) as last loaded, so reloading an
    unchanged bundle keeps what an admin published in the designer; ``version`` the number of the newest
    WorkflowVersion (None: published before versions existed)."""

    definition: Workflow
    digest: str
    version: int | None = None

    class Settings:
        name = "tenant_workflows"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


@cache
def default_workflow_data() -> dict:
    return tomllib.loads(resources.files("xinfang.petitions").joinpath("default_workflow.toml").read_text(encoding="utf-8"))


def default_workflow() -> Workflow:
    return Workflow.model_validate(default_workflow_data())
