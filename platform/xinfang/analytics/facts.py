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
from pymongo import DeleteOne, ReplaceOne

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


def closed_late(petition: Petition, closed: str | None) -> bool:
    """超期办结: closed (on ``closed``, the tenant's day) after the time limit that ran until then. Closing clears the
    petition's ``due_on`` and ``overdue``; ``last_due_on`` keeps the limit it had (petitions/service.do_transition)."""
    limit = petition.due_on or petition.last_due_on
    return bool(closed and limit and closed > limit)


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
    overdue = bool(petition.overdue) or closed_late(petition, closed)
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
    _, actions = await _card_types(sup.tenant_id)
    # A card's colour is read from its type now, not from a cache: a colour published a moment ago reaches every
    # refresh at once (refresh_card_colours relies on it). One indexed read per card fact.
    card = await TenantScope(sup.tenant_id).repo(CardType).find_one({"key": sup.type_key}) if sup.kind == "card" else None
    cards = {sup.type_key: card.colour} if card is not None else {}
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
        await mark(touched)  # before the write: a crash leaves a mark, never an uncounted fact
        if new is None:
            await collection.delete_one({"_id": oid})
        else:
            await collection.replace_one({"_id": oid}, {"_id": oid, **new}, upsert=True)
        # Marked again after the write: between the two marks another refresh of the month (a concurrent event here,
        # another worker) may recount it without this fact and clear the mark; the recount asked for below then finds
        # no mark and the month stays one short for good (CI once saw 7 overdue of 8). The second mark raises the
        # mark's seq after the write, so a recount that read the facts before it cannot clear it.
        await mark(touched)
        # Two processes refreshing one entity at once: the one that read it before its last change may write after the
        # other. Whoever wrote last reads the entity again after its write, so the last fact written is never stale.
        current = await compute(subject, entity_id, new)
        if _same(new, current):
            break
        old, new = new, current
    if settle:
        await settle_marks(months)
    return True


async def _computed_many(subject: str, oids: list[ObjectId], olds: dict) -> dict:
    """``compute`` for many entities: the petitions read in one query by _id; other subjects one by one."""
    if subject != PETITION:
        return {oid: await compute(subject, str(oid), olds.get(oid)) for oid in oids}
    raws = {row["_id"]: row async for row in Petition.get_pymongo_collection().find({"_id": {"$in": oids}})}
    out: dict = {}
    for oid in oids:
        raw = raws.get(oid)
        if raw is None:
            out[oid] = None
            continue
        petition = Petition.model_validate(raw)
        flags = await petition_flags(petition.tenant_id, str(oid))
        if flags is None:
            flags = (bool((olds.get(oid) or {}).get("repeat")), bool((olds.get(oid) or {}).get("collective")))
        out[oid] = await petition_fact(petition, await tenant_zone_name(petition.tenant_id) or petition.received_zone or "", flags)
    return out


async def refresh_many(subject: str, entity_ids: list[str]) -> int:
    """``refresh(settle=False)`` for many entities in a few round trips: their facts read at once, the months of those
    that changed marked in one write (before their write, as one by one), the facts written in one bulk write, and
    read again after it (whoever wrote last corrects a stale fact: any that changed under us go through ``refresh``'s
    rounds). Returns how many changed; the caller recounts the marks (``cells.settle_all``). Idempotent."""
    from .cells import mark

    oids = list(dict.fromkeys(oid for oid in (parse_object_id(str(i)) for i in entity_ids) if oid is not None))
    if not oids:
        return 0
    collection = AnalyticsFact.get_pymongo_collection()
    olds = {row["_id"]: row async for row in collection.find({"_id": {"$in": oids}})}
    news = await _computed_many(subject, oids, olds)
    changed = [oid for oid in oids if not _same(olds.get(oid), news[oid])]
    if not changed:
        return 0
    months: set[tuple[str, str]] = set()
    for oid in changed:
        months |= touched_months(olds.get(oid)) | touched_months(news[oid])
    await mark(months)  # before the writes: a crash leaves a mark, never an uncounted fact
    await collection.bulk_write([DeleteOne({"_id": oid}) if news[oid] is None else
                                 ReplaceOne({"_id": oid}, {"_id": oid, **news[oid]}, upsert=True) for oid in changed], ordered=False)
    await mark(months)  # and after them, as in ``refresh``: a recount that read the facts before the writes cannot clear it
    current = await _computed_many(subject, changed, news)
    for oid in changed:
        if not _same(news[oid], current[oid]):  # changed while we wrote: one by one, with refresh's rounds
            await refresh(subject, str(oid), settle=False)
    return len(changed)


async def refresh_all(subject: str, entity_ids: list[str]) -> None:
    """``refresh_many``, and one by one if that fails, so one bad entity holds back no other (each failure logged: the
    next event, the sweep or a rebuild corrects it). No recount: the caller settles the marks."""
    try:
        await refresh_many(subject, entity_ids)
        return
    except Exception:  # noqa: BLE001 - statistics never stop their caller
        log.exception("refreshing %d facts at once failed; one by one", len(entity_ids))
    for entity_id in entity_ids:
        try:
            await refresh(subject, entity_id, settle=False)
        except Exception:  # noqa: BLE001
            log.exception("analytics refresh failed for %s %s", subject, entity_id)


async def write_many(facts: list[tuple[ObjectId, dict]]) -> None:
    """Rebuild's bulk write (no marks: the rebuild recounts every month it wrote)."""
    if facts:
        await AnalyticsFact.get_pymongo_collection().bulk_write(
            [ReplaceOne({"_id": oid}, {"_id": oid, **fact}, upsert=True) for oid, fact in facts], ordered=False)


def week_of(day: str) -> str:
    """The Monday (ISO date) of the week ``day`` is in: the key of the "week" dimension."""
    d = date.fromisoformat(day)
    return date.fromordinal(d.toordinal() - d.weekday()).isoformat()


# ----------------------------------------------------------------------------- a card type's colour changed

CARD_COLOUR_BATCH = 500  # facts looked at per task message; the task sends itself on for the next batch


async def card_type_changed(tenant_id: str, type_key: str) -> None:
    """A tenant admin published a card type (``card_types.defined``): the facts of that tenant's cards of the type are
    brought to its colour now, by a task (batches of ``CARD_COLOUR_BATCH``), not at each card's next event. Outside a
    worker (a script, a test without one) the batches run here."""
    if not tenant_id or not type_key:
        return
    from ..worker import current_runtime
    from .task_names import CARD_COLOURS

    runtime = current_runtime()
    if runtime is not None:
        await runtime.send(CARD_COLOURS, [tenant_id, type_key, ""])
        return
    after: str | None = ""
    while after is not None:
        after = await refresh_card_colours(tenant_id, type_key, after)


async def refresh_card_colours(tenant_id: str, type_key: str, after: str = "") -> str | None:
    """One batch: the facts of this tenant's cards of ``type_key`` after the id ``after`` whose colour is not the type's
    colour now are refreshed (from their cards, as any refresh), and the months they count in recounted. Returns the
    last id looked at when more may follow, else None. Idempotent: a fact already right is not written."""
    from .cells import settle as settle_marks

    card = await TenantScope(tenant_id).repo(CardType).find_one({"key": type_key})
    colour = (card.colour or "").lower() if card is not None else ""
    query: dict = {"tenant_id": {"$eq": tenant_id}, "subject": {"$eq": SUPERVISION}, "card_type": {"$eq": type_key}}
    start = parse_object_id(after) if after else None
    if start is not None:
        query["_id"] = {"$gt": start}
    rows = await AnalyticsFact.get_pymongo_collection().find(query, projection={"_id": 1, "colour": 1, "tenant_id": 1, "month": 1}).sort(
        "_id", 1).limit(CARD_COLOUR_BATCH).to_list(None)
    months: set[tuple[str, str]] = set()
    for row in rows:
        if (row.get("colour") or "") != colour:
            if await refresh(SUPERVISION, str(row["_id"]), settle=False) and row.get("month"):
                months.add((tenant_id, row["month"]))
    if months:
        await settle_marks(months)
    return str(rows[-1]["_id"]) if len(rows) == CARD_COLOUR_BATCH else None


# ----------------------------------------------------------------------------- flags told by another plugin changed

FLAGS_BATCH = 200  # petitions per task message


async def flags_changed(tenant_id: str, petition_ids: list[str]) -> None:
    """The plugin that answers ``xinfang_petition_flags`` (search) says these petitions' repeat or collective flags
    may have changed without any event of theirs (a link dismissed, a matter that lost or gained a person): their
    facts are refreshed by a task (``tasks.REFRESH``, batches of ``FLAGS_BATCH``), never in the request that changed
    them; outside a worker or web process (a script, the indexer without a broker) at once. Idempotent."""
    ids = sorted({str(i) for i in petition_ids if parse_object_id(str(i)) is not None})
    if not tenant_id or not ids:
        return
    from .task_names import REFRESH

    batches = [ids[k:k + FLAGS_BATCH] for k in range(0, len(ids), FLAGS_BATCH)]
    sender = _task_sender()
    if sender is not None:
        for batch in batches:
            await sender(REFRESH, [PETITION, batch])
        return
    for petition_id in ids:
        await refresh(PETITION, petition_id)


def _task_sender():
    """How this process sends a task: the worker's runtime, the web app's Celery, or None (run it here)."""
    from ..worker import current_runtime, send_task_async

    runtime = current_runtime()
    if runtime is not None:
        return runtime.send
    try:
        from quart import current_app

        celery_app = current_app.extensions["xinfang.celery"]
    except Exception:  # noqa: BLE001 - no app here
        return None
    return lambda name, args: send_task_async(celery_app, name, args)
