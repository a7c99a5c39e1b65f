"""The supervision sweep: deadlines, reminders, follow-ups and escalation rules, applied idempotently.

Run by the single beat sweeper, tenant by tenant through each tenant's scope.
Running it twice, or two at once, changes nothing more than running it once:
- notifications have deterministic ids (a second insert is a duplicate, ignored);
- a proposed card has a deterministic id derived from (tenant, rule, source card);
- a rule applied to a card is recorded in ``applied_rules`` and written with the
  card's revision, so of two concurrent sweeps exactly one applies it.
No deadline rides on a broker ETA: everything is recomputed from the documents.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, timedelta

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from ..calendar import WorkingCalendar
from ..due_sweeps import swept_day, tenant_ids_of
from ..notifications.service import do_notify
from ..notifications.wording import tenant_wording, worded
from ..petitions.service import tenant_calendar
from ..store.documents import TenantDocument, deterministic_id
from ..store.scoped import TenantScope
from .models import ActionType, AutomaticStep, CardType, EscalationRule, Supervision, SupervisionState
from .rules import COUNTED, HANDLING_ROLES, announce_repeat, apply_repeat_rule, nominal_length, period_end

OPEN = [SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING]
REMINDER_WORKING_DAYS = 3
RECHECK_DAYS = 7  # how far back the sweep re-checks repeats decided at issue


@dataclasses.dataclass
class SweepReport:
    overdue: int = 0
    reminders: int = 0
    follow_ups: int = 0
    proposals: int = 0
    treated_as: int = 0

    def total(self) -> int:
        return sum(dataclasses.astuple(self))


class SweepMark(TenantDocument):
    """The China day of the tenant's last complete supervision sweep."""

    day: str

    class Settings:
        name = "supervision_sweeps"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]


SWEEP_PART = "cards"  # due_sweeps.py: the platform's "every tenant swept on this day"


async def swept_on(scope: TenantScope, own_only: bool = False) -> str | None:
    """The day the tenant was last swept (due_sweeps.swept_day: its own mark, or the platform's day)."""
    row = await scope.repo(SweepMark).find_one({})
    return await swept_day(row.day if row else None, SWEEP_PART, own_only)


async def tenants_due(today: date) -> set[str]:
    """Every tenant for which ``sweep_tenant(today)`` may have something to do, by questions across all tenants
    about the supervisions themselves (the tenant on each row), never tenant by tenant. A superset: each tenant's
    own sweep then decides exactly, with its calendar and its types' reminder days.

    - issued and past its answer date, not yet flagged (overdue), or not yet past it and not yet reminded for that
      date (reminders; no upper bound, as each tenant's horizon depends on its own calendar and types);
    - a follow-up visit due;
    - a tenant with an open card, or a card issued within the re-check window, of a type its escalation rules watch.
    """
    iso = today.isoformat()
    cards = Supervision.get_pymongo_collection()

    cards_of: dict[str, set[str]] = defaultdict(set)  # tenant -> types of its open or recent cards (for the rules)

    def card(row) -> bool:
        if row.get("kind") == "card" and row.get("type_key"):
            cards_of[str(row["tenant_id"])].add(row["type_key"])
        return False

    def issued_due(row) -> bool:
        card(row)
        due = row.get("response_due")
        if not isinstance(due, str):
            return False
        return (due < iso and not row.get("overdue")) or (due >= iso and row.get("reminded_for") != due)

    fields = ("kind", "type_key")
    due = await tenant_ids_of(cards, {"state": SupervisionState.ISSUED.value}, ("response_due", "overdue", "reminded_for", *fields), issued_due)
    due |= await tenant_ids_of(cards, {"follow_up_due": {"$lte": iso}})
    # Escalation rules: the tenants with an open card, or one issued within the re-check window, whose type one of
    # their rules watches. The cards are asked first (they are what is due); the rules only of those tenants, each
    # through its own scope (every tenant may have rules: reading them all would grow with the tenants).
    for state in OPEN:  # one equality each: no $in beside the rest (STACK.md); issued ones were read above
        if state != SupervisionState.ISSUED:
            await tenant_ids_of(cards, {"state": state.value}, fields, card)
    since = (today - timedelta(days=RECHECK_DAYS)).isoformat()
    await tenant_ids_of(cards, {"issued_on": {"$gte": since}}, fields, card)
    for tenant_id, types in cards_of.items():
        if tenant_id in due:
            continue
        rules = TenantScope(tenant_id).repo(EscalationRule).find({})
        if any([rule.trigger.card_type in types async for rule in rules]):
            due.add(tenant_id)
    return due


async def mark_swept(scope: TenantScope, day: str) -> None:
    """Record the day swept; the mark only moves forward (a slower sweep of an earlier day finishing
    last must not make a later day's sweep run again)."""
    repo = scope.repo(SweepMark)
    if await repo.find_one({}) is None:
        try:
            await repo.insert(SweepMark(tenant_id=scope.tenant_id, day=day))
            return
        except DuplicateKeyError:
            pass  # another sweep marked it a moment ago: move it forward below, if it is behind
    await repo.update_one({"day": {"$lt": day}}, {"$set": {"day": day}})


def _proposal_id(tenant_id: str, rule_key: str, source_id: str) -> ObjectId:
    return deterministic_id(tenant_id, rule_key, source_id)


async def _reminder_days(scope: TenantScope) -> dict[tuple[str, str], int]:
    """(kind, type key) -> working days of warning before the answer is due, as the tenant set it per type."""
    days = {("card", c.key): c.reminder_working_days async for c in scope.repo(CardType).find({})}
    days.update({("action", a.key): a.reminder_working_days async for a in scope.repo(ActionType).find({})})
    return days


async def type_names(scope: TenantScope) -> dict[tuple[str, str], dict]:
    """(kind, type key) -> the type's name {zh, en}: the ``type_name`` of the sweep's messages."""
    names = {("card", c.key): c.name.model_dump() async for c in scope.repo(CardType).find({})}
    names.update({("action", a.key): a.name.model_dump() async for a in scope.repo(ActionType).find({})})
    return names


def _type_name(names: dict, kind: str, key: str) -> dict:
    return names.get((kind, key)) or {"zh": "监督卡" if kind == "card" else "监督措施", "en": "card" if kind == "card" else "action"}


def _values(sup: Supervision, names: dict, **more) -> dict:
    """The placeholders of a swept card's message (notifications/wording.py)."""
    return {"subject_name": sup.subject.name, "type_name": _type_name(names, sup.kind, sup.type_key), **more}


async def sweep_tenant(scope: TenantScope, today: date) -> SweepReport:
    report = SweepReport()
    calendar = await tenant_calendar(scope)
    repo = scope.repo(Supervision)
    iso = today.isoformat()
    # The tenant's notification wording and its type names, read once for the whole sweep.
    wording, names = await tenant_wording(scope), await type_names(scope)

    # Overdue answers: flag once, alert once.
    async for sup in repo.find({"state": SupervisionState.ISSUED.value, "overdue": False, "response_due": {"$lt": iso}}):
        # The revision moves too, so a handler's concurrent change is refused rather than silently undoing this.
        await repo.update_one({"_id": sup.id, "overdue": False}, {"$set": {"overdue": True}, "$inc": {"revision": 1}})
        report.overdue += await do_notify(scope, f"overdue:{sup.id}:{sup.response_due}", kind="overdue", roles=HANDLING_ROLES,
                                          text=await worded(scope, "answer_overdue", _values(sup, names, answer_due=sup.response_due),
                                                            wording=wording),
                                          link=f"/api/supervisions/{sup.id}", subject_id=str(sup.id))

    # Reminders N working days before the answer is due, N set per card or action type by the tenant.
    lead = await _reminder_days(scope)
    horizon = calendar.add_working_days(today, max(lead.values(), default=REMINDER_WORKING_DAYS)).isoformat()
    async for sup in repo.find({"state": SupervisionState.ISSUED.value, "response_due": {"$gte": iso, "$lte": horizon}}):
        days = lead.get((sup.kind, sup.type_key), REMINDER_WORKING_DAYS)
        if sup.reminded_for == sup.response_due or sup.response_due > calendar.add_working_days(today, days).isoformat():
            continue
        report.reminders += await do_notify(scope, f"reminder:{sup.id}:{sup.response_due}", kind="reminder", roles=HANDLING_ROLES,
                                            text=await worded(scope, "answer_reminder", _values(sup, names, answer_due=sup.response_due),
                                                              wording=wording),
                                            link=f"/api/supervisions/{sup.id}", subject_id=str(sup.id))
        # Remembered so tomorrow's sweep does not even try again (the revision stays: a handler's edit is not refused for this).
        await repo.update_one({"_id": sup.id}, {"$set": {"reminded_for": sup.response_due}})

    # Follow-up visits (回访) due: announced once each, then the card points at its next visit.
    async for sup in repo.find({"follow_up_due": {"$lte": iso}}):  # only issued cards ever get one
        for visit in sup.follow_ups:
            if visit.done_on is None and sup.follow_up_due <= visit.due_on <= iso:
                report.follow_ups += await do_notify(scope, f"follow_up:{sup.id}:{visit.due_on}", kind="follow_up", roles=HANDLING_ROLES,
                                                     text=await worded(scope, "follow_up", _values(sup, names, visit_on=visit.due_on),
                                                                       wording=wording),
                                                     link=f"/api/supervisions/{sup.id}", subject_id=str(sup.id))
        following = min((v.due_on for v in sup.follow_ups if v.due_on > iso and v.done_on is None), default=None)
        await repo.update_one({"_id": sup.id, "follow_up_due": sup.follow_up_due},
                              {"$set": {"follow_up_due": following}, "$inc": {"revision": 1}})

    for rule in await scope.repo(EscalationRule).find({}).to_list():
        if rule.trigger.condition == "not_rectified_after":
            report.proposals += await _not_rectified(scope, calendar, rule, today, wording, names)
        else:
            report.treated_as += await _repeat_within(scope, calendar, rule, today)
    return report


async def _not_rectified(scope: TenantScope, calendar: WorkingCalendar, rule: EscalationRule, today: date,
                         wording: dict | None = None, names: dict | None = None) -> int:
    """E.g. a yellow card not rectified more than 3 months after issue -> propose a red card."""
    made = 0
    repo = scope.repo(Supervision)
    # Only cards issued before the nominal window could qualify (the exact test per card follows).
    cutoff = (today - nominal_length(rule.trigger.period, longest=False) + timedelta(days=3)).isoformat()
    candidates = repo.find({"type_key": rule.trigger.card_type, "issued_on": {"$lt": cutoff}})  # no $in next to a range (STACK.md)
    async for card in candidates:
        if card.kind != "card" or card.state not in OPEN or card.rectified_on or rule.key in card.applied_rules or not card.issued_on:
            continue
        limit = period_end(calendar, date.fromisoformat(card.issued_on), rule.trigger.period, to_working_day=False)
        if today <= limit:
            continue
        proposal = Supervision(
            id=_proposal_id(scope.tenant_id, rule.key, str(card.id)), tenant_id=scope.tenant_id, kind="card",
            type_key=rule.outcome.card_type, subject=card.subject, subject_key=card.subject_key, petition_ids=card.petition_ids,
            state=SupervisionState.PROPOSED,
            automatic=[AutomaticStep(rule=rule.key, at=today.isoformat(), reason=rule.reason,
                                     facts=[str(card.id), *card.petition_ids])],
        )
        try:
            await repo.insert(proposal)
            made += 1
            names = names if names is not None else await type_names(scope)
            await do_notify(scope, f"proposal:{proposal.id}", kind="proposal", roles=HANDLING_ROLES,
                            text=await worded(scope, "proposal", _values(proposal, names, reason=rule.reason.model_dump()), wording=wording),
                            link=f"/api/supervisions/{proposal.id}", subject_id=str(proposal.id))
        except DuplicateKeyError:
            pass  # proposed by an earlier (or a concurrent) sweep
        card.applied_rules.append(rule.key)
        await repo.replace_versioned(card)  # losing a race here only means the other sweep recorded it
    return made


async def _repeat_within(scope: TenantScope, calendar: WorkingCalendar, rule: EscalationRule, today: date) -> int:
    """Catch repeats two cards issued at the same moment hid from each other.

    The issue verb decides repeats against the subject's earlier cards; it can only
    miss one when another card to the same subject went out concurrently. So only
    subjects with two or more cards in the last days are looked at again.
    """
    applied = 0
    repo = scope.repo(Supervision)
    since = (today - timedelta(days=RECHECK_DAYS)).isoformat()
    recent = [card async for card in repo.find({"type_key": rule.trigger.card_type, "issued_on": {"$gte": since}})
              if card.kind == "card" and card.state in COUNTED]
    # A subject is its name and unit, and, where an official is linked, that person wherever they work.
    persons = {o: await person_key_of(scope, o) for o in {c.official_id for c in recent if c.official_id}}
    keys = {str(c.id): {c.subject_key} | ({f"person:{persons[c.official_id]}"} if persons.get(c.official_id) else set()) for c in recent}
    seen: dict[str, int] = defaultdict(int)
    for card_keys in keys.values():
        for key in card_keys:
            seen[key] += 1
    for card in recent:
        if any(seen[key] > 1 for key in keys[str(card.id)]):
            if await apply_repeat_rule(scope, calendar, rule, card) and await repo.replace_versioned(card):
                applied += 1
                await announce_repeat(scope, rule, card)
    return applied


async def person_key_of(scope: TenantScope, official_id: str) -> str | None:
    from ..archives.models import Official

    official = await scope.repo(Official).get(official_id)
    return official.person_key if official else None
