"""The tenant's declarative rules, evaluated: periods, and "the n-th card of a type within a period".

Shared by the issue verb (a repeat is decided the moment the card goes out) and
the sweeper (which only re-checks recent cards, in case two were issued at once).
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from ..calendar import PeriodUnit, WorkingCalendar
from ..archives.models import Official
from ..notifications.service import do_notify
from ..notifications.wording import worded
from ..store.scoped import TenantScope
from .models import ActionType, AutomaticStep, CardType, CopyTarget, EscalationRule, Period, Supervision, SupervisionState

COUNTED = [SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING, SupervisionState.CLOSED,
           SupervisionState.TRANSFERRED]  # cards that really went out
HANDLING_ROLES = ["handler", "leader"]


def period_end(calendar: WorkingCalendar, start: date, period: Period, *, to_working_day: bool = True) -> date:
    """When a period that starts on ``start`` ends. Rules compare nominal ends (``to_working_day=False``)."""
    unit = PeriodUnit(period.unit)
    if unit == PeriodUnit.WORKING_DAYS or to_working_day:
        return calendar.due_date(start, period.amount, unit.value)
    return start + nominal_length(period)


def nominal_length(period: Period, *, longest: bool = True) -> relativedelta:
    """A period as a calendar length, for narrowing indexed queries (never for the decision itself).

    Working days have no fixed length: ``longest`` bounds them from above (look-backs),
    otherwise from below (cut-offs), so the narrowing never drops a real candidate.
    """
    unit = PeriodUnit(period.unit)
    if unit == PeriodUnit.WORKING_DAYS:
        return relativedelta(days=period.amount * 2 + 30 if longest else period.amount)
    if unit == PeriodUnit.CALENDAR_DAYS:
        return relativedelta(days=period.amount)
    if unit == PeriodUnit.CALENDAR_MONTHS:
        return relativedelta(months=period.amount)
    return relativedelta(years=period.amount)


async def repeat_rules(scope: TenantScope, type_key: str) -> list[EscalationRule]:
    rules = await scope.repo(EscalationRule).find({}).to_list()  # a handful per tenant
    return [r for r in rules if r.trigger.card_type == type_key and r.trigger.condition == "repeat_within"]


async def person_officials(scope: TenantScope, official_id: str | None) -> set[str]:
    """The ids of this tenant's officials who are the same person as ``official_id`` (its own included).

    A person is their identity (``Official.person_key``: the keyed hash of the identity number, or an
    audited manual link); a cadre moved to another unit is still the same official. Empty when none is linked.
    """
    if not official_id:
        return set()
    official = await scope.repo(Official).get(official_id)
    if official is None:
        return set()
    return {str(o.id) async for o in scope.repo(Official).find({"person_key": official.person_key})} | {str(official.id)}


async def same_subject_cards(scope: TenantScope, card: Supervision, type_key: str, since: str, until: str,
                             people: set[str] | None = None) -> list[Supervision]:
    """Cards of ``type_key`` issued in [since, until] to the same subject as ``card``.

    The same subject is the same registered person wherever they work now, when both cards name an
    official; only where one of them names none do name and unit decide (``Subject.key``). Two officials
    who are different people are never the same subject, whatever their names. Indexed queries with
    equalities and one range (on the embedded store a $in next to a range leaves SQL for a slow Python filter).
    """
    people = await person_officials(scope, card.official_id) if people is None else people
    repo = scope.repo(Supervision)
    window = {"type_key": type_key, "issued_on": {"$gte": since, "$lte": until}}
    found: dict[str, Supervision] = {}
    for official_id in sorted(people):
        for row in await repo.find({"official_id": official_id, **window}).to_list():
            found[str(row.id)] = row
    for row in await repo.find({"subject_key": card.subject_key, **window}).to_list():
        if not (people and row.official_id and row.official_id not in people):
            found.setdefault(str(row.id), row)
    return list(found.values())


async def apply_repeat_rule(scope: TenantScope, calendar: WorkingCalendar, rule: EscalationRule, card: Supervision) -> bool:
    """Mark ``card`` (in memory) when it is the n-th card of the rule's type to its subject within the period.

    Looks back only at the subject's earlier cards of that type (one indexed query),
    never at the tenant's whole history. Returns True when the rule applied.
    """
    if rule.key in card.applied_rules or not card.issued_on or card.kind != "card":
        return False
    issued = date.fromisoformat(card.issued_on)
    earliest = (issued - nominal_length(rule.trigger.period) - relativedelta(days=3)).isoformat()
    earlier = await same_subject_cards(scope, card, rule.trigger.card_type, earliest, card.issued_on)
    earlier = sorted((c for c in earlier if c.kind == "card" and c.state in COUNTED and c.id != card.id
                      and (c.issued_on, str(c.id)) < (card.issued_on, str(card.id))), key=lambda c: c.issued_on)
    needed = rule.trigger.count - 1
    if len(earlier) < needed:
        return False
    window = earlier[-needed:]
    if issued > period_end(calendar, date.fromisoformat(window[0].issued_on), rule.trigger.period, to_working_day=False):
        return False
    card.treated_as = rule.outcome.card_type
    card.copies = card.copies + [c for c in rule.outcome.copy_to if c not in card.copies]
    card.automatic.append(AutomaticStep(rule=rule.key, at=card.issued_on, reason=rule.reason,
                                        facts=[str(c.id) for c in window] + [str(card.id)]))
    card.applied_rules.append(rule.key)
    return True


async def _type_name(scope: TenantScope, card: Supervision) -> dict:
    kind_type = await scope.repo(CardType if card.kind == "card" else ActionType).find_one({"key": card.type_key})
    return kind_type.name.model_dump() if kind_type else {"zh": card.type_key, "en": card.type_key}


async def announce_repeat(scope: TenantScope, rule: EscalationRule, card: Supervision) -> None:
    values = {"subject_name": card.subject.name, "type_name": await _type_name(scope, card), "reason": rule.reason.model_dump()}
    await do_notify(scope, f"treated_as:{card.id}:{rule.key}", kind="copied", roles=HANDLING_ROLES,
                    text=await worded(scope, "treated_as", values),
                    link=f"/api/supervisions/{card.id}", subject_id=str(card.id))
    await deliver_copies(scope, card, rule.outcome.copy_to)


async def deliver_copies(scope: TenantScope, card: Supervision, copies: list[CopyTarget]) -> None:
    """Copies go out: a role of this tenant is notified, another tenant gets a notice in its own inbox,
    and a department outside the platform becomes a to-do for the handlers (send it the document)."""
    from ..tenancy.service import get_tenant
    from .copies import copy_refusal, copy_target

    issuer = await get_tenant(scope.tenant_id)
    values = {"subject_name": card.subject.name, "type_name": await _type_name(scope, card), "issued_on": card.issued_on or ""}
    for copy in copies:
        key = f"copy:{card.id}:{copy.kind}:{copy.ref}"
        if copy.kind == "role":
            await do_notify(scope, key, kind="copied", roles=[copy.ref], link=f"/api/supervisions/{card.id}", subject_id=str(card.id),
                            text=await worded(scope, "copied", values))
        elif copy.kind == "tenant":
            target = await copy_target(copy.ref)
            if copy_refusal(issuer, target, copy.ref):
                continue  # a body that is gone, or outside the line and not accepting (cards/copies.py): the document still lists it
            # The receiving body's inbox, so its own wording of the message.
            sender = {"zh": issuer.name.zh, "en": issuer.name.en} if issuer else {"zh": "", "en": "another body"}
            target_scope = TenantScope(str(target.id))
            await do_notify(target_scope, key, kind="copied", roles=["leader", "handler"], subject_id=None,
                            text=await worded(target_scope, "copied_from", values | {"sender_name": sender}))
        else:
            await do_notify(scope, key, kind="copy_due", roles=HANDLING_ROLES, link=f"/api/supervisions/{card.id}", subject_id=str(card.id),
                            text=await worded(scope, "copy_due", values | {"copy_to": copy.name.model_dump()}))


async def recheck_repeats_of_person(scope: TenantScope, calendar: WorkingCalendar, card: Supervision) -> int:
    """An official was linked to ``card`` after it went out: the repeat rules are decided again for it and
    for the same person's later cards, which may now be a second card within the period. Idempotent
    (``applied_rules``, written with the card's revision); returns how many cards a rule newly applied to."""
    if card.kind != "card" or not card.issued_on or not card.official_id:
        return 0
    applied = 0
    repo = scope.repo(Supervision)
    for rule in await repeat_rules(scope, card.type_key):
        until = (date.fromisoformat(card.issued_on) + nominal_length(rule.trigger.period) + relativedelta(days=3)).isoformat()
        later = await same_subject_cards(scope, card, rule.trigger.card_type, card.issued_on, until)
        for row in sorted(later, key=lambda c: (c.issued_on, str(c.id))):
            if row.kind == "card" and row.state in COUNTED and await apply_repeat_rule(scope, calendar, rule, row) \
                    and await repo.replace_versioned(row):
                applied += 1
                await announce_repeat(scope, rule, row)
    return applied
