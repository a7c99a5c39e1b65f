"""How a petition looks to a citizen (public steps only) and to staff (everything their role may see)."""

from __future__ import annotations

from ..auth.permissions import Permission
from ..auth.principal import Principal
from .models import CHANNEL_NAMES, Petition
from .workflow import FIELD_TITLES, Workflow, Transition

ACTION_NAMES = {
    "submitted": {"zh": "网上提交", "en": "Filed online"},
    "registered": {"zh": "登记", "en": "Registered"},
    "supplement": {"zh": "信访人补充材料", "en": "Petitioner added information"},
}


def _state_name(workflow: Workflow, key: str | None) -> dict | None:
    if key is None:
        return None
    state = next((s for s in workflow.states if s.key == key), None)
    return state.name.model_dump() if state else {"zh": key, "en": key}


def _action_name(workflow: Workflow, key: str) -> dict:
    transition = workflow.transition(key)
    return transition.name.model_dump() if transition else ACTION_NAMES.get(key, {"zh": key, "en": key})


def public_view(petition: Petition, workflow: Workflow) -> dict:
    """What the citizen sees with a receipt: no staff names, no internal opinions, no identity."""
    steps = []
    for step in petition.steps:
        if not step.public:
            continue
        steps.append({
            "at": step.at.isoformat(),
            "action": step.action,
            "action_name": _action_name(workflow, step.action),
            "state_name": _state_name(workflow, step.to_state),
            "fields": {k: v for k, v in step.fields.items() if k in step.public_fields},
        })
    return {
        "number": petition.number,
        "title": petition.title,
        "state": petition.state,
        "state_name": _state_name(workflow, petition.state),
        "channel": CHANNEL_NAMES[petition.channel],
        "filed_at": petition.created_at.isoformat(),
        "due_on": petition.due_on,
        "timeline": steps,
    }


def transition_view(transition: Transition) -> dict:
    return {
        "key": transition.key,
        "name": transition.name.model_dump(),
        "fields": [{"name": f, "title": FIELD_TITLES[f], "required": f in transition.required} for f in transition.fields],
        "moves_case": transition.move,
    }


def summary_view(petition: Petition, workflow: Workflow) -> dict:
    return {
        "id": str(petition.id),
        "number": petition.number,
        "title": petition.title,
        "kind": petition.kind,
        "channel": petition.channel.value,
        "state": petition.state,
        "state_name": _state_name(workflow, petition.state),
        "subject_name": petition.subject_name,
        "due_on": petition.due_on,
        "overdue": petition.overdue,
        "assignee_id": petition.assignee_id,
        "created_at": petition.created_at.isoformat(),
    }


def staff_view(petition: Petition, workflow: Workflow, principal: Principal, actions: list[Transition], identity: dict | None) -> dict:
    view = summary_view(petition, workflow)
    view.update({
        "form": {"key": petition.form_key, "version": petition.form_version},
        "anonymous": petition.anonymous,
        "answers": petition.answers,
        "attachments": petition.attachment_ids,
        "timeline": [
            dict(step.model_dump(mode="json"), action_name=_action_name(workflow, step.action),
                 state_name=_state_name(workflow, step.to_state))
            for step in petition.steps
        ],
        "actions": [transition_view(t) for t in actions],
    })
    if Permission.PETITION_IDENTITY_READ in principal.permissions:
        view["identity"] = identity or {}
    return view
