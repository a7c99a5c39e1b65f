"""The tenant's declarative rules, evaluated: periods, and "the n-th card of a type within a period".

Shared by the issue verb (a repeat is decided the moment the card goes out) and
the sweeper (which only re-checks recent cards, in case two were issued at once).
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from ..calendar import PeriodUnit, WorkingCalendar
from ..notifications.service import do_notify
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


async def apply_repeat_rule(scope: TenantScope, calendar: WorkingCalendar, rule: EscalationRule, card: Supervision) -> bool:
    """Mark ``card`` (in memory) when it is the n-th card of the rule's type to its subject within the period.

    Looks back only at the subject's earlier cards of that type (one indexed query),
    never at the tenant's whole history. Returns True when the rule applied.
    """
    if rule.key in card.applied_rules or not card.issued_on or card.kind != "card":
        return False
    issued = date.fromisoformat(card.issued_on)
    earliest = (issued - nominal_length(rule.trigger.period) - relativedelta(days=3)).isoformat()
    # Equality and one range only: on the embedded store a $in next to a range leaves SQL for a slow Python filter.
    earlier = await scope.repo(Supervision).find({
        "subject_key": card.subject_key, "type_key": rule.trigger.card_type, "issued_on": {"$gte": earliest, "$lte": card.issued_on},
    }).to_list()
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


async def announce_repeat(scope: TenantScope, rule: EscalationRule, card: Supervision) -> None:
    await do_notify(scope, f"treated_as:{card.id}:{rule.key}", kind="copied", roles=HANDLING_ROLES,
                    text={"zh": f"{card.subject.name}：{rule.reason.zh}", "en": f"{card.subject.name}: {rule.reason.en}"},
                    link=f"/api/supervisions/{card.id}", subject_id=str(card.id))
    await deliver_copies(scope, card, rule.outcome.copy_to)


async def deliver_copies(scope: TenantScope, card: Supervision, copies: list[CopyTarget]) -> None:
    """Copies go out: a role of this tenant is notified, another tenant gets a notice in its own inbox,
    and a department outside the platform becomes a to-do for the handlers (send it the document)."""
    from ..tenancy.service import get_tenant
    from .copies import copy_refusal, copy_target

    issuer = await get_tenant(scope.tenant_id)
    issuer_name = issuer.name if issuer else None
    kind_type = await scope.repo(CardType if card.kind == "card" else ActionType).find_one({"key": card.type_key})
    kind_name, kind_name_en = (kind_type.name.zh, kind_type.name.en) if kind_type else (card.type_key, card.type_key)
    for copy in copies:
        key = f"copy:{card.id}:{copy.kind}:{copy.ref}"
        if copy.kind == "role":
            await do_notify(scope, key, kind="copied", roles=[copy.ref], link=f"/api/supervisions/{card.id}", subject_id=str(card.id),
                            text={"zh": f"抄送：对 {card.subject.name} 发出的{kind_name}", "en": f"Copy: {kind_name_en} issued to {card.subject.name}"})
        elif copy.kind == "tenant":
            target = await copy_target(copy.ref)
            if copy_refusal(issuer, target, copy.ref):
                continue  # a body that is gone, or outside the line and not accepting (cards/copies.py): the document still lists it
            await do_notify(TenantScope(str(target.id)), key, kind="copied", roles=["leader", "handler"], subject_id=None,
                            text={"zh": f"{issuer_name.zh if issuer_name else ''}抄送：已对 {card.subject.name} 发出{kind_name}（{card.issued_on}）",
                                  "en": f"Copy from {issuer_name.en if issuer_name else 'another body'}: {kind_name_en} issued to "
                                        f"{card.subject.name} on {card.issued_on}"})
        else:
            await do_notify(scope, key, kind="copy_due", roles=HANDLING_ROLES, link=f"/api/supervisions/{card.id}", subject_id=str(card.id),
                            text={"zh": f"请将对 {card.subject.name} 的文书抄送{copy.name.zh}", "en": f"Send the document about {card.subject.name} to {copy.name.en}"})
