"""How a petition looks to a citizen (public steps only) and to staff (everything their role may see)."""

from __future__ import annotations

from ..auth.permissions import Permission
from ..auth.principal import Principal
from ..display_words import words
from .models import CHANNEL_NAMES, Petition
from .workflow import FIELD_TITLES, Workflow, Transition

# Steps the platform writes itself (the workflow's own steps are named by the workflow), in the registry's words.
PLATFORM_STEPS = ("submitted", "registered", "supplement", "repeat_confirmed", "repeat_withdrawn",
                  "result_reported", "result_accepted", "result_returned", "upper_reminder",
                  "instruction_written", "instruction_acted", "instruction_fulfilled", "instruction_asked_again",
                  "document_issued", "document_received", "imported_state", "import_updated")
ACTION_NAMES = {key: words("petition_action")[key] for key in PLATFORM_STEPS}

# What each step of the default workflow does, in a sentence, for the person about to take it.
ACTION_HELP = {
    "accept": {"zh": "本单位有权处理：受理后开始计算办理时限，可打印受理告知书。", "en": "This body is competent: accepting starts the handling time limit; an acceptance notice can be printed."},
    "reject": {"zh": "不属于受理范围：写明理由，可打印不予受理告知书交信访人。", "en": "Outside what this body accepts: give the reason; a non-acceptance notice can be printed for the petitioner."},
    "transfer": {"zh": "应由其他单位处理：连同全部材料转过去，本单位不再办理。", "en": "Another body is competent: the case and its files go there; this body no longer handles it."},
    "assign_down": {"zh": "交下级单位办理，本单位跟踪结果。", "en": "A lower body handles it; this body follows the result."},
    "assign": {"zh": "指定本单位的承办人，由其办理并答复。", "en": "Name the handler of this body who handles and answers it."},
    "extend": {"zh": "情况复杂、时限内办不完时，延长一次。", "en": "Once, when the case cannot be finished in time."},
    "reply": {"zh": "把办理结果答复信访人，信访人可以看到答复内容。", "en": "Tell the petitioner the result; they see the reply."},
    "request_review": {"zh": "信访人对答复不满意、申请复查时，代为登记。", "en": "Record the petitioner's request for a review of the reply."},
    "review_reply": {"zh": "复查答复是否正确；须由未作出原答复的人办理。", "en": "Review the reply; someone who did not give it must do this."},
    "request_re_review": {"zh": "信访人对复查意见不满意、申请复核时，代为登记。", "en": "Record the petitioner's request for a re-review."},
    "re_review_reply": {"zh": "复核意见是最终意见，出具后办结。", "en": "The re-review opinion is final; the case closes."},
    "close": {"zh": "事项已办完，结案。", "en": "The matter is done: close the case."},
    "archive": {"zh": "结案后归档保存。", "en": "File the closed case in the archive."},
}
# Decisions a printable notice (告知书) is made from: the step's action -> the notice's kind.
NOTICE_STEPS = {"accept": "acceptance", "reject": "refusal"}


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
        "received_at": petition.received_at.isoformat(),  # the day a letter or visit came in, else when it was filed
        "due_on": petition.due_on,
        "timeline": steps,
    }


def transition_view(transition: Transition) -> dict:
    return {
        "key": transition.key,
        "name": transition.name.model_dump(),
        "help": ACTION_HELP.get(transition.key),
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
        "received_at": petition.received_at.isoformat(),  # the day it came in (registered), else when it was filed
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
