"""Notifications for the day's work, from the domain events (called by the plugin's event hook).

Idempotent like every handler: each notification's key names the event it came from, so an event
delivered twice notifies once (``do_notify``: deterministic id, a second insert is a duplicate).

- a card or action submitted for approval (报批): the leaders; approved or returned: the people who wrote it;
- the subject answered through their one-time link: the people who wrote the card;
- a petition given to a handler (分办): that handler; moved here from another body: registrars and leaders;
- the petitioner added material or asked for a review (复查/复核): whoever acts next in the workflow
  (and the assigned handler);
- a petitioner who left contact details and opted in is told when their case moves (``CitizenNotice``,
  sent by the sender plugin): never an anonymous one.
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from ..cards.models import ActionType, CardType, Supervision
from ..crypto import RecordKeyGone
from ..events import DomainEvent, carry, hand_over_carried
from ..petitions.models import Petition, Step
from ..petitions.service import petition_workflow
from ..petitions.workflow import CITIZEN, Workflow
from ..store.documents import deterministic_id
from ..store.scoped import TenantScope
from ..tenancy.service import get_tenant
from .models import CHANNELS, CitizenNotice
from .service import do_notify, fit, process_keyring
from .wording import worded

OPT_IN_FIELD = "notify_progress"  # the forms' identity checkbox: "tell me by SMS or e-mail when my case moves"
SUBJECT = "subject"  # the actor of an answer given through the one-time link (cards/service.py)


async def handle(event, tenant) -> None:
    if tenant is None or not event.subject_id:
        return
    scope = TenantScope(event.tenant_id)
    if event.name == "supervision.submitted":
        await _awaiting_approval(scope, event)
    elif event.name == "supervision.answered" and event.data.get("actor_id") == SUBJECT:
        await _subject_answered(scope, event)
    elif event.name in ("supervision.approved", "supervision.returned"):
        await _approval_decided(scope, event)
    elif event.name == "petition.moved":
        await _arrived(scope, event)
        await _tell_the_petitioner(scope, event)
    elif event.name == "petition.transitioned":
        await _petition_moved_on(scope, event)
        await _tell_the_petitioner(scope, event)
    elif event.name == "petition.supplemented":
        await _supplemented(scope, event)


# -- cards -----------------------------------------------------------------------------------------------------


async def _type_name(scope: TenantScope, sup: Supervision) -> dict:
    row = await scope.repo(CardType if sup.kind == "card" else ActionType).find_one({"key": sup.type_key})
    return row.name.model_dump() if row else {"zh": "监督卡" if sup.kind == "card" else "监督措施", "en": sup.kind}


def _card_values(sup: Supervision, name: dict) -> dict:
    """The placeholders of a card's or action's notification (notifications/wording.py)."""
    return {"subject_name": sup.subject.name, "type_name": name}


async def _awaiting_approval(scope: TenantScope, event) -> None:
    sup = await scope.repo(Supervision).get(event.subject_id)
    if sup is None:
        return
    name = await _type_name(scope, sup)
    await do_notify(scope, f"approval:{sup.id}:{event.id}", kind="approval", roles=["leader"], subject_id=str(sup.id),
                    link=f"/api/supervisions/{sup.id}", text=await worded(scope, "approval", _card_values(sup, name)))


async def _subject_answered(scope: TenantScope, event) -> None:
    sup = await scope.repo(Supervision).get(event.subject_id)
    if sup is None:
        return
    name = await _type_name(scope, sup)
    text = await worded(scope, "answered", _card_values(sup, name))
    for author in sup.authored_by or [None]:  # whoever wrote it handles it; a card nobody wrote goes to the handlers
        await do_notify(scope, f"answered:{sup.id}:{event.id}:{author or 'handlers'}", kind="answered", roles=[] if author else ["handler"],
                        account_id=author, subject_id=str(sup.id), link=f"/api/supervisions/{sup.id}", text=text)


async def _approval_decided(scope: TenantScope, event) -> None:
    """The leader approved (the author may now issue it) or returned it for revision: its authors are told."""
    sup = await scope.repo(Supervision).get(event.subject_id)
    if sup is None:
        return
    name = await _type_name(scope, sup)
    approved = event.name == "supervision.approved"
    text = await worded(scope, "approved" if approved else "returned", _card_values(sup, name))
    for author in sup.authored_by:
        if author != event.data.get("actor_id"):  # nobody is told of their own decision (a one-person office)
            await do_notify(scope, f"{'approved' if approved else 'returned'}:{sup.id}:{event.id}:{author}",
                            kind="approved" if approved else "returned", roles=[], account_id=author, subject_id=str(sup.id),
                            link=f"/api/supervisions/{sup.id}", text=text)


# -- petitions -------------------------------------------------------------------------------------------------


def next_roles(workflow: Workflow, state: str) -> list[str]:
    """The staff roles that may take a step from ``state``: who acts next."""
    return sorted({role for t in workflow.transitions if state in t.from_ for role in t.roles if role != CITIZEN})


def _step_of(petition: Petition, event) -> Step | None:
    """The step the event recorded: the newest one of its transition."""
    key = event.data.get("transition")
    return next((s for s in reversed(petition.steps) if s.action == key), None)


def _case_values(petition: Petition | None) -> dict:
    """The placeholders of a petition's notification (notifications/wording.py)."""
    if petition is None:
        return {"case_number": "", "title": "", "deadline": ""}
    due = petition.due_on or ""
    deadline = {"zh": f"{int(due[:4])}年{int(due[5:7])}月{int(due[8:10])}日", "en": due} if len(due) == 10 else due
    return {"case_number": petition.number, "title": petition.title, "deadline": deadline}


async def _arrived(scope: TenantScope, event) -> None:
    """A petition moved here (交办/转送): tell the receiving tenant's registrars and leaders."""
    petition = await scope.repo(Petition).get(event.subject_id)
    await do_notify(
        scope, f"arrived:{event.subject_id}:{event.id}", kind="assigned", roles=["registrar", "leader"],
        text=await worded(scope, "arrived", _case_values(petition)),
        link=f"/api/petitions/{event.subject_id}", subject_id=event.subject_id,
    )


async def _petition_moved_on(scope: TenantScope, event) -> None:
    petition = await scope.repo(Petition).get(event.subject_id)
    if petition is None:
        return
    step = _step_of(petition, event)
    link = f"/api/petitions/{petition.id}"
    if step is not None and "assignee" in step.fields and petition.assignee_id:
        await do_notify(scope, f"assignee:{petition.id}:{event.id}", kind="assigned", roles=[], account_id=petition.assignee_id,
                        subject_id=str(petition.id), link=link, text=await worded(scope, "assigned", _case_values(petition)))
    if event.data.get("actor_id") == CITIZEN:
        workflow = await petition_workflow(scope, petition)
        transition = workflow.transition(event.data.get("transition", ""))
        what = transition.name.model_dump() if transition else {"zh": "提出申请", "en": "made a request"}
        await do_notify(scope, f"citizen:{petition.id}:{event.id}", kind="citizen", roles=next_roles(workflow, petition.state),
                        account_id=petition.assignee_id, subject_id=str(petition.id), link=link,
                        text=await worded(scope, "citizen_request", _case_values(petition) | {"step_name": what}))


async def _supplemented(scope: TenantScope, event) -> None:
    petition = await scope.repo(Petition).get(event.subject_id)
    if petition is None:
        return
    roles = [] if petition.assignee_id else next_roles(await petition_workflow(scope, petition), petition.state)
    await do_notify(scope, f"supplement:{petition.id}:{event.id}", kind="citizen", roles=roles, account_id=petition.assignee_id,
                    subject_id=str(petition.id), link=f"/api/petitions/{petition.id}",
                    text=await worded(scope, "supplement", _case_values(petition)))


# -- the petitioner ------------------------------------------------------------------------------------------


def contact_of(identity: dict) -> tuple[dict, list[str]]:
    """The petitioner's addresses and the channels they allow, when they opted in; else nothing."""
    if identity.get(OPT_IN_FIELD) is not True:
        return {}, []
    contact = {k: identity[k].strip() for k in ("email", "phone") if isinstance(identity.get(k), str) and identity[k].strip()}
    return contact, [c for c, field in (("email", "email"), ("sms", "phone")) if field in contact and c in CHANNELS]


async def _tell_the_petitioner(scope: TenantScope, event) -> None:
    """Only a public step, of a named petitioner who opted in and left an address; not their own step."""
    petition = await scope.repo(Petition).get(event.subject_id)
    if petition is None or petition.anonymous or not petition.identity_sealed or event.data.get("actor_id") == CITIZEN:
        return
    step = _step_of(petition, event)
    if step is None or not step.public:
        return
    keyring = process_keyring()
    try:
        identity = await keyring.open(scope.tenant_id, str(petition.id), petition.identity_sealed)
    except RecordKeyGone:  # destroyed at the end of retention (retention/): nobody to tell any more
        return
    contact, channels = contact_of(identity)
    if not channels:
        return
    workflow = await petition_workflow(scope, petition)
    state = next((s for s in workflow.states if s.key == petition.state), None)
    tenant = await get_tenant(scope.tenant_id)
    body = tenant.name.zh if tenant else ""
    state_zh, state_en = (state.name.zh, state.name.en) if state else ("已更新", "updated")
    notice_id = deterministic_id(scope.tenant_id, "citizen_notice", str(event.id))
    notice = CitizenNotice(
        id=notice_id, tenant_id=scope.tenant_id, petition_id=str(petition.id), number=petition.number, channels=channels,
        # under the petition's record key: when retention destroys the identity, this copy goes with it
        contact_sealed=await keyring.seal_record(scope.tenant_id, str(petition.id), str(notice_id), contact),
        text=fit(await worded(scope, "citizen_notice", {"body_name": {"zh": body, "en": tenant.name.en if tenant else ""},
                                                        "case_number": petition.number, "state_name": {"zh": state_zh, "en": state_en}})))
    carry(notice, DomainEvent("citizen_notice.created", scope.tenant_id, str(notice_id), {"petition_id": str(petition.id)}))
    try:
        await scope.repo(CitizenNotice).insert(notice)
    except DuplicateKeyError:
        return  # this event was handled before
    await hand_over_carried(notice)
