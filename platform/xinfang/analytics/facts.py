"""One fact per petition or supervision, recomputed from the entity as it is NOW.

``refresh(kind, id)`` reads the current petition or supervision, computes its fact and writes it if it changed,
then marks the months it was and is counted in as dirty (``cells.mark``). Because the fact depends only on the
entity's current state, events may arrive in any order, twice, or not at all for some intermediate change: the
fact after the last refresh is the same. A petition that moved leaves its old body's months dirty as well.
"""

from __future__ import annotations

import logging
from datetime import date

from bson import ObjectId
from pymongo import ReplaceOne

from ..cards.models import ActionKind, ActionType, CardType, Supervision, SupervisionState
from ..petitions.models import Petition
from ..petitions.workflow import CITIZEN, RELAY_CONSENT_FIELD
from ..petitions.workflow_versions import workflow_of_version
from ..store.cache import TtlCache
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.service import get_tenant
from ..timefmt import zone
from .models import AnalyticsFact

log = logging.getLogger(__name__)

PETITION = "petition"
SUPERVISION = "supervision"
ISSUED = {SupervisionState.ISSUED, SupervisionState.ANSWERED, SupervisionState.RECTIFYING, SupervisionState.CLOSED,
          SupervisionState.TRANSFERRED}
FORM_GROUPS = {ActionKind.TALK: "talks", ActionKind.NOTICE: "notices", ActionKind.RECTIFICATION: "notices",
               ActionKind.MEETING: "meetings", ActionKind.BRIEFING: "meetings"}
# The fields of a fact that numbers depend on (and the drill-down list shows): a refresh that changes none writes nothing.
FIELDS = ("tenant_id", "subject", "day", "month", "closed_day", "closed_month", "due_on", "due_month", "overdue", "open", "channel",
          "categories", "form", "region", "state", "source", "repeat", "collective", "kind", "card_type", "colour", "result",
          "action_form", "counted", "number", "title")

_zones = TtlCache(60.0)
_types = TtlCache(30.0)


async def tenant_zone_name(tenant_id: str) -> str:
    async def load():
        tenant = await get_tenant(tenant_id)
        return tenant.settings.time_zone if tenant else ""
    return await _zones.get(tenant_id, load)


def local_day(moment, zone_name: str) -> str:
    return moment.astimezone(zone(zone_name)).date().isoformat()


def _categories(value) -> list[str]:
    if isinstance(value, str):
        return [value.strip()[:100].replace("|", "/")] if value.strip() else []
    if isinstance(value, list):
        return sorted({str(v).strip()[:100].replace("|", "/") for v in value if isinstance(v, (str, int)) and str(v).strip()})
    return []


def _source(petition: Petition) -> str:
    first = petition.steps[0].actor if petition.steps else CITIZEN
    if first == CITIZEN:
        return "citizen"
    if first == "system":
        return "imported"
    if RELAY_CONSENT_FIELD in petition.steps[0].fields:  # relayed by a village supervisor (信访监督员)
        return "supervisor"
    return "staff"


def _closed_day(petition: Petition, terminal: set[str], zone_name: str) -> str | None:
    if petition.state not in terminal:
        return None
    for step in reversed(petition.steps):
        if step.to_state == petition.state:
            return local_day(step.at, zone_name)
    return local_day(petition.created_at, zone_name)


async def petition_flags(tenant_id: str, petition_id: str) -> tuple[bool, bool] | None:
    """(repeat, collective) as the plugins that know them say (``xinfang_petition_flags``); None: no plugin manager in
    this process (the fact keeps the flags it had)."""
    from ..plugins import maybe_await

    pm = _plugin_manager()
    if pm is None:
        return None
    repeat = collective = False
    for answer in pm.hook.xinfang_petition_flags(tenant_id=tenant_id, petition_id=petition_id):
        flags = await maybe_await(answer)
        if flags:
            repeat = repeat or bool(flags.get("repeat"))
            collective = collective or bool(flags.get("collective"))
    return repeat, collective


_pm = None


def use_plugin_manager(pm) -> None:
    """The process's plugin manager (set by the plugin's first hook call; tests and the CLI set it too)."""
    global _pm
    _pm = pm


def _plugin_manager():
    if _pm is not None:
        return _pm
    try:
        from quart import current_app

        return current_app.extensions["xinfang.pm"]
    except Exception:
        pass
    try:
        from xinfang.worker import current_runtime

        runtime = current_runtime()
        return runtime.pm if runtime is not None else None
    except Exception:
        return None


async def petition_fact(petition: Petition, zone_name: str, flags: tuple[bool, bool] = (False, False)) -> dict:
    scope = TenantScope(petition.tenant_id)
    workflow = await workflow_of_version(scope, petition.workflow_version)
    terminal = set(workflow.terminal_states())
    day = petition.received_on or local_day(petition.created_at, zone_name)
    closed = _closed_day(petition, terminal, zone_name)
    answers = petition.answers or {}
    region = answers.get("region")
    overdue = bool(petition.overdue) or bool(petition.due_on and closed and closed > petition.due_on)
    return {
        "tenant_id": petition.tenant_id, "subject": PETITION, "day": day, "month": day[:7],
        "closed_day": closed, "closed_month": closed[:7] if closed else None, "due_on": petition.due_on,
        "due_month": petition.due_on[:7] if petition.due_on and closed is None else None,
        "overdue": overdue, "open": closed is None, "channel": str(petition.channel.value if hasattr(petition.channel, "value") else petition.channel),
        "categories": _categories(answers.get("category")), "form": petition.form_key,
        "region": region.strip()[:100].replace("|", "/") if isinstance(region, str) else "", "state": petition.state, "source": _source(petition),
        "repeat": flags[0], "collective": flags[1], "kind": "", "card_type": "", "colour": "", "result": "", "action_form": "",
        "counted": False, "number": petition.number, "title": petition.title[:200],
    }


async def _card_types(tenant_id: str) -> tuple[dict, dict]:
    async def load():
        scope = TenantScope(tenant_id)
        cards = {c.key: c.colour for c in await scope.repo(CardType).find({}).to_list()}
        actions = {a.key: a.kind for a in await scope.repo(ActionType).find({}).to_list()}
        return cards, actions
    return await _types.get(tenant_id, load)


async def supervision_fact(sup: Supervision) -> dict:
    cards, actions = await _card_types(sup.tenant_id)
    issued = sup.state in ISSUED and bool(sup.issued_on)
    action_kind = actions.get(sup.type_key) if sup.kind == "action" else None
    counted = issued and not (action_kind == ActionKind.TALK and not sup.record)  # a talk counts with its record
    day = sup.issued_on[:10] if issued else None
    return {
        "tenant_id": sup.tenant_id, "subject": SUPERVISION, "day": day, "month": day[:7] if day else None,
        "closed_day": None, "closed_month": None, "due_on": sup.response_due, "due_month": None, "overdue": bool(sup.overdue), "open": False,
        "channel": "", "categories": [], "form": "", "region": "", "state": sup.state.value, "source": "",
        "repeat": False, "collective": False, "kind": sup.kind, "card_type": sup.type_key if sup.kind == "card" else "",
        "colour": (cards.get(sup.type_key) or "").lower() if sup.kind == "card" else "",
        "result": sup.state.value, "action_form": FORM_GROUPS.get(action_kind, "") if action_kind else "",
        "counted": counted, "number": sup.document_no or "", "title": f"{sup.subject.name}"[:200],
    }


def _same(old: dict | None, new: dict | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    return all(old.get(f) == new.get(f) for f in FIELDS)


def touched_months(fact: dict | None) -> set[tuple[str, str]]:
    """(tenant_id, month) a fact counts in: its day's month and its closed day's month."""
    if not fact:
        return set()
    return {(fact["tenant_id"], m) for m in (fact.get("month"), fact.get("closed_month"), fact.get("due_month")) if m}


def touched_days(fact: dict | None) -> set[tuple[str, str]]:
    if not fact:
        return set()
    return {(fact["tenant_id"], d) for d in (fact.get("day"), fact.get("closed_day")) if d}


async def compute(subject: str, entity_id: str, old: dict | None = None) -> dict | None:
    """The fact of this entity as it is now (None: it is gone). Reads across tenants by id: platform bookkeeping.
    ``old``: its fact so far, whose repeat/collective flags stay where no plugin can be asked."""
    oid = parse_object_id(entity_id)
    if oid is None:
        return None
    if subject == PETITION:
        raw = await Petition.get_pymongo_collection().find_one({"_id": oid})
        if raw is None:
            return None
        petition = Petition.model_validate(raw)
        flags = await petition_flags(petition.tenant_id, str(petition.id))
        if flags is None:
            flags = (bool((old or {}).get("repeat")), bool((old or {}).get("collective")))
        return await petition_fact(petition, await tenant_zone_name(petition.tenant_id) or petition.received_zone or "", flags)
    raw = await Supervision.get_pymongo_collection().find_one({"_id": oid})
    if raw is None:
        return None
    return await supervision_fact(Supervision.model_validate(raw))


_REFRESH_ROUNDS = 4  # writes of one refresh at most, when the entity keeps changing under it


async def refresh(subject: str, entity_id: str, *, settle: bool = True) -> bool:
    """Bring this entity's fact up to date; True if it changed. Marks the months it counted and counts in dirty and
    (``settle``) recounts them at once; a crash before the recount leaves the marks for the sweep. Idempotent."""
    from .cells import mark, settle as settle_marks

    oid = parse_object_id(entity_id)
    if oid is None:
        return False
    collection = AnalyticsFact.get_pymongo_collection()
    old = await collection.find_one({"_id": oid})
    new = await compute(subject, entity_id, old)
    if _same(old, new):
        if old is not None and settle:
            await settle_marks(touched_months(old))  # a crash after the last write may have left the marks
        return False
    months: set[tuple[str, str]] = set()
    for _ in range(_REFRESH_ROUNDS):
        touched = touched_months(old) | touched_months(new)
        months |= touched
        await mark(touched, touched_days(old) | touched_days(new))  # before the write: a crash leaves a mark, never an uncounted fact
        if new is None:
            await collection.delete_one({"_id": oid})
        else:
            await collection.replace_one({"_id": oid}, {"_id": oid, **new}, upsert=True)
        # Two processes refreshing one entity at once: the one that read it before its last change may write after the
        # other. Whoever wrote last reads the entity again after its write, so the last fact written is never stale.
        current = await compute(subject, entity_id, new)
        if _same(new, current):
            break
        old, new = new, current
    if settle:
        await settle_marks(months)
    return True


async def write_many(facts: list[tuple[ObjectId, dict]]) -> None:
    """Rebuild's bulk write (no marks: the rebuild recounts every month it wrote)."""
    if facts:
        await AnalyticsFact.get_pymongo_collection().bulk_write(
            [ReplaceOne({"_id": oid}, {"_id": oid, **fact}, upsert=True) for oid, fact in facts], ordered=False)


def week_of(day: str) -> str:
    """The Monday (ISO date) of the week ``day`` is in: the key of the "week" dimension."""
    d = date.fromisoformat(day)
    return date.fromordinal(d.toordinal() - d.weekday()).isoformat()
