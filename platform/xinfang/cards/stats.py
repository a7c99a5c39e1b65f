"""The figures users watch: cards by type and colour, actions by form (talks / notices / meetings), overdue counts.

Counted in Python over a projection of the tenant's supervisions: the embedded
store's $group returns ids and dates as strings (STACK.md), and a tenant holds
thousands of cards, not millions.
"""

from __future__ import annotations

from collections import Counter

from ..store.scoped import TenantScope
from .models import ActionKind, ActionType, CardType, Supervision, SupervisionState

ISSUED = {SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING, SupervisionState.CLOSED,
          SupervisionState.TRANSFERRED}
FORM_GROUPS = {ActionKind.TALK: "talks", ActionKind.NOTICE: "notices", ActionKind.RECTIFICATION: "notices",
               ActionKind.MEETING: "meetings", ActionKind.BRIEFING: "meetings"}


async def statistics(scope: TenantScope) -> dict:
    card_types = {c.key: c async for c in scope.repo(CardType).find({})}
    action_types = {a.key: a async for a in scope.repo(ActionType).find({})}
    cards, actions, groups = Counter(), Counter(), Counter()
    overdue, self_approved = Counter(), Counter()
    unrecorded_talks = 0
    async for sup in scope.repo(Supervision).find({}):
        if sup.self_approved:  # approved by its own author (a one-person office's setting): shown apart
            self_approved[sup.kind] += 1
        if sup.state not in ISSUED:
            continue
        if sup.overdue:
            overdue[sup.kind] += 1
        if sup.kind == "card":
            cards[sup.type_key] += 1
            continue
        action_type = action_types.get(sup.type_key)
        if action_type and action_type.kind == ActionKind.TALK and not sup.record:
            unrecorded_talks += 1  # a talk without its written record does not count
            continue
        actions[sup.type_key] += 1
        if action_type:
            groups[FORM_GROUPS[action_type.kind]] += 1
    total_actions = sum(groups.values())
    return {
        "cards": [{"type_key": key, "name": c.name.model_dump(), "colour": c.colour, "colour_name": c.colour_name.model_dump(),
                   "count": cards.get(key, 0)} for key, c in sorted(card_types.items(), key=lambda kv: kv[1].rank)],
        "actions": [{"type_key": key, "name": a.name.model_dump(), "kind": a.kind.value, "count": actions.get(key, 0)}
                    for key, a in sorted(action_types.items())],
        "action_forms": {group: {"count": groups.get(group, 0),
                                 "share": round(groups.get(group, 0) / total_actions, 3) if total_actions else 0.0}
                         for group in ("talks", "notices", "meetings")},
        "overdue": {"cards": overdue.get("card", 0), "actions": overdue.get("action", 0)},
        "talks_without_record": unrecorded_talks,
        "self_approved": {"cards": self_approved.get("card", 0), "actions": self_approved.get("action", 0)},
    }
