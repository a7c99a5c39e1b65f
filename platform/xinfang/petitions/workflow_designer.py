"""The workflow designer's model: a draft workflow as data, its encoding as the page's form fields, and its diagram.

A *draft* is the workflow as data (``workflow_versions.canonical``: every state and step complete), kept on the
server between clicks (``WorkflowDraft``) so nothing typed is lost; it may be wrong while it is being edited
(a name left empty, an amount that is not a number): the checks say what, next to the field, before publishing.

The page's form encodes a draft in flat fields (``st-2-name_zh``, ``tr-5-roles`` ...). Checkbox groups list the
ticked choices first, in the draft's order, so a draft read back from its own form is the same draft: every
shipped workflow goes through draft -> form -> draft unchanged (tests/test_workflow_designer.py).

The diagram is drawn from the draft (``diagram_svg``): states as boxes in columns by their distance from the
initial state, steps as arrows with their names, the initial state and the final states marked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from ..calendar.workdays import PeriodUnit
from ..store.documents import TenantDocument, UtcDateTime, utcnow
from .workflow import CITIZEN, FIELD_KINDS, KNOWN_ROLES

# The choices the page offers, in the order it offers them (roles that may not act on petitions are offered
# only where a workflow already names them, so they can be taken off).
ROLE_ORDER = ["registrar", "handler", "leader", CITIZEN, "tenant_admin", "auditor"]
ACTING_ROLE_CHOICES = ["registrar", "handler", "leader", CITIZEN]
FIELD_ORDER = list(FIELD_KINDS)
MOVES = {"": {"zh": "不移交", "en": "Stays here"}, "child": {"zh": "交办下级单位", "en": "Assign to a lower body (交办)"},
         "any": {"zh": "转送其他有权处理的单位", "en": "Transfer to any competent body (转送)"}}
UNITS = {PeriodUnit.WORKING_DAYS.value: {"zh": "工作日", "en": "working days"},
         PeriodUnit.CALENDAR_DAYS.value: {"zh": "自然日", "en": "calendar days"},
         PeriodUnit.CALENDAR_MONTHS.value: {"zh": "月", "en": "months"},
         PeriodUnit.YEARS.value: {"zh": "年", "en": "years"}}
MULTI = ("from", "roles", "fields", "required", "public_fields", "not_by")
MAX_ITEMS = 200  # states, steps or time limits a form may carry


class WorkflowDraft(TenantDocument):
    """One admin's unpublished changes to the tenant's workflow (kept between clicks)."""

    account_id: str
    content: dict
    base_version: int | None = None  # the version it was started from
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "workflow_drafts"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("account_id", ASCENDING)], unique=True)]


# -- draft <-> form fields --------------------------------------------------------------------------------


def _ordered(chosen: Iterable[str], choices: Iterable[str]) -> list[tuple[str, bool]]:
    """Checkbox choices: the ticked ones first, in the draft's order, then the others in the page's order."""
    chosen = [c for c in chosen if isinstance(c, str)]
    return [(c, True) for c in chosen] + [(c, False) for c in choices if c not in chosen]


def role_choices(chosen: list[str]) -> list[tuple[str, bool]]:
    return _ordered(chosen, [r for r in ROLE_ORDER if r in ACTING_ROLE_CHOICES or r in chosen])


def field_choices(chosen: list[str]) -> list[tuple[str, bool]]:
    return _ordered(chosen, FIELD_ORDER)


def _name(item: dict) -> dict:
    name = item.get("name")
    return name if isinstance(name, dict) else {}


def _text(value) -> str:
    return "" if value is None else str(value)


def form_pairs(draft: dict) -> list[tuple[str, str]]:
    """The (name, value) pairs the designer's form submits for ``draft`` as shown (ticked boxes only)."""
    pairs: list[tuple[str, str]] = [("designer", "1"), ("initial", _text(draft.get("initial")))]
    limits = draft.get("time_limits") or {}
    names = draft.get("time_limit_names") or {}
    pairs.append(("time_limits", str(len(limits))))
    for i, (key, period) in enumerate(limits.items()):
        period = period if isinstance(period, dict) else {}
        pairs += [(f"tl-{i}-key", key), (f"tl-{i}-amount", _text(period.get("amount"))), (f"tl-{i}-unit", _text(period.get("unit"))),
                  (f"tl-{i}-name_zh", _text((names.get(key) or {}).get("zh"))), (f"tl-{i}-name_en", _text((names.get(key) or {}).get("en")))]
    states = draft.get("states") or []
    pairs.append(("states", str(len(states))))
    for i, state in enumerate(states):
        pairs += [(f"st-{i}-key", _text(state.get("key"))), (f"st-{i}-name_zh", _text(_name(state).get("zh"))),
                  (f"st-{i}-name_en", _text(_name(state).get("en"))), (f"st-{i}-deadline", _text(state.get("deadline")))]
        pairs += [(f"st-{i}-{flag}", "1") for flag in ("keep_deadline", "terminal") if state.get(flag)]
    steps = draft.get("transitions") or []
    pairs.append(("transitions", str(len(steps))))
    for i, step in enumerate(steps):
        pairs += [(f"tr-{i}-key", _text(step.get("key"))), (f"tr-{i}-name_zh", _text(_name(step).get("zh"))),
                  (f"tr-{i}-name_en", _text(_name(step).get("en"))), (f"tr-{i}-to", _text(step.get("to"))),
                  (f"tr-{i}-move", _text(step.get("move"))), (f"tr-{i}-extends", _text(step.get("extends")))]
        for part in MULTI:
            pairs += [(f"tr-{i}-{part}", value) for value in step.get(part) or [] if isinstance(value, str)]
        if step.get("once"):
            pairs.append((f"tr-{i}-once", "1"))
    return pairs


def _count(form, name: str) -> int:
    try:
        return max(0, min(MAX_ITEMS, int(form.get(name) or 0)))
    except ValueError:
        return 0


def _amount(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text or None  # the checks say "must be a whole number" / "required" next to it


def _many(form, name: str) -> list[str]:
    seen: list[str] = []
    for value in form.getlist(name):
        if value and value not in seen:
            seen.append(value)
    return seen


def draft_from_form(form) -> dict:
    """The draft the designer's form describes (``form``: a MultiDict with ``get`` and ``getlist``)."""
    get = lambda name: (form.get(name) or "").strip()  # noqa: E731
    time_limits, names = {}, {}
    for i in range(_count(form, "time_limits")):
        key = get(f"tl-{i}-key")
        if not key:
            continue
        time_limits[key] = {"amount": _amount(get(f"tl-{i}-amount")), "unit": get(f"tl-{i}-unit")}
        name = {"zh": get(f"tl-{i}-name_zh"), "en": get(f"tl-{i}-name_en")}
        if name["zh"] or name["en"]:
            names[key] = name
    states = []
    for i in range(_count(form, "states")):
        states.append({"key": get(f"st-{i}-key"), "name": {"zh": get(f"st-{i}-name_zh"), "en": get(f"st-{i}-name_en")},
                       "deadline": get(f"st-{i}-deadline") or None, "keep_deadline": bool(get(f"st-{i}-keep_deadline")),
                       "terminal": bool(get(f"st-{i}-terminal"))})
    steps = []
    for i in range(_count(form, "transitions")):
        step = {"key": get(f"tr-{i}-key"), "name": {"zh": get(f"tr-{i}-name_zh"), "en": get(f"tr-{i}-name_en")},
                "from": _many(form, f"tr-{i}-from"), "to": get(f"tr-{i}-to"), "roles": _many(form, f"tr-{i}-roles"),
                "fields": _many(form, f"tr-{i}-fields"), "required": _many(form, f"tr-{i}-required"),
                "public_fields": _many(form, f"tr-{i}-public_fields"), "move": get(f"tr-{i}-move") or None,
                "extends": get(f"tr-{i}-extends") or None, "once": bool(get(f"tr-{i}-once")), "not_by": _many(form, f"tr-{i}-not_by")}
        steps.append(step)
    return {"initial": get("initial"), "time_limits": time_limits, "time_limit_names": names, "states": states, "transitions": steps}


# -- edits the page's buttons make ------------------------------------------------------------------------


def _fresh(prefix: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def add_state(draft: dict) -> int:
    states = draft.setdefault("states", [])
    states.append({"key": _fresh("state_", [s.get("key") for s in states]), "name": {"zh": "", "en": ""}, "deadline": None,
                   "keep_deadline": False, "terminal": False})
    return len(states) - 1


def add_step(draft: dict) -> int:
    steps = draft.setdefault("transitions", [])
    steps.append({"key": _fresh("step_", [t.get("key") for t in steps]), "name": {"zh": "", "en": ""}, "from": [], "to": "",
                  "roles": [], "fields": [], "required": [], "public_fields": [], "move": None, "extends": None, "once": False,
                  "not_by": []})
    return len(steps) - 1


def add_time_limit(draft: dict) -> str:
    limits = draft.setdefault("time_limits", {})
    key = _fresh("limit_", limits)
    limits[key] = {"amount": 15, "unit": PeriodUnit.WORKING_DAYS.value}
    draft.setdefault("time_limit_names", {})[key] = {"zh": "", "en": ""}
    return key


def remove_state(draft: dict, index: int) -> None:
    states = draft.get("states") or []
    if not 0 <= index < len(states):
        return
    key = states.pop(index).get("key")
    for step in draft.get("transitions") or []:
        step["from"] = [s for s in step.get("from") or [] if s != key]
        if step.get("to") == key:
            step["to"] = ""
    if draft.get("initial") == key:
        draft["initial"] = ""


def remove_step(draft: dict, index: int) -> None:
    steps = draft.get("transitions") or []
    if not 0 <= index < len(steps):
        return
    key = steps.pop(index).get("key")
    for step in steps:
        step["not_by"] = [k for k in step.get("not_by") or [] if k != key]


def remove_time_limit(draft: dict, key: str) -> None:
    (draft.get("time_limits") or {}).pop(key, None)
    (draft.get("time_limit_names") or {}).pop(key, None)
    for state in draft.get("states") or []:
        if state.get("deadline") == key:
            state["deadline"] = None
    for step in draft.get("transitions") or []:
        if step.get("extends") == key:
            step["extends"] = None


def definition_of(draft: dict) -> dict:
    """What publishing the draft publishes: the draft, with time limits named only where a name was given."""
    data = dict(draft)
    data["time_limit_names"] = {k: v for k, v in (draft.get("time_limit_names") or {}).items() if (v or {}).get("zh") or (v or {}).get("en")}
    return data


def known_role(role: str) -> bool:
    return role in KNOWN_ROLES


# -- the diagram --------------------------------------------------------------------------------------------

BOX_W, BOX_H, COL_GAP, ROW_GAP, MARGIN = 150, 44, 92, 46, 26


def layout(draft: dict) -> dict[str, tuple[int, int]]:
    """Column (steps from the initial state, breadth first) and row of every state; unreachable ones in a last column."""
    states = [s.get("key") for s in draft.get("states") or []]
    steps = draft.get("transitions") or []
    depth: dict[str, int] = {}
    initial = draft.get("initial")
    if initial in states:
        depth[initial] = 0
        frontier = [initial]
        while frontier:
            following = []
            for state in frontier:
                for step in steps:
                    if state in (step.get("from") or []) and step.get("to") in states and step["to"] not in depth:
                        depth[step["to"]] = depth[state] + 1
                        following.append(step["to"])
            frontier = following
    last = max(depth.values(), default=-1) + 1
    places: dict[str, tuple[int, int]] = {}
    rows: dict[int, int] = {}
    for key in states:
        column = depth.get(key, last)
        places[key] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return places


def _esc(text) -> str:
    return html.escape(_text(text), quote=True)


def _short(text: str, limit: int = 10) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diagram_svg(draft: dict, lang: str = "zh") -> str:
    """The draft as an SVG picture (a string of markup, every text escaped)."""
    places = layout(draft)
    states = {s.get("key"): s for s in draft.get("states") or []}
    if not places:
        return ""

    loops: dict[str, int] = {}
    for step in draft.get("transitions") or []:
        for source in step.get("from") or []:
            if source == step.get("to"):
                loops[source] = loops.get(source, 0) + 1
    top = 36 + 14 * max(loops.values(), default=0)  # room above the first row for the loops' names

    def box(key: str) -> tuple[float, float]:
        column, row = places[key]
        return MARGIN + 24 + column * (BOX_W + COL_GAP), MARGIN + top + row * (BOX_H + ROW_GAP)

    width = MARGIN * 2 + 24 + (max(c for c, _ in places.values()) + 1) * (BOX_W + COL_GAP)
    height = MARGIN * 2 + top + 24 + (max(r for _, r in places.values()) + 1) * (BOX_H + ROW_GAP)
    title = "办理流程图" if lang == "zh" else "Workflow diagram"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{_esc(title)}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#445"/></marker></defs>']
    edges, labels = [], []
    pair_count: dict[tuple[str, str], int] = {}
    for step in draft.get("transitions") or []:
        name = _name(step).get(lang) or _name(step).get("zh") or "？"
        to = step.get("to")
        for source in step.get("from") or []:
            if source not in places or to not in places:
                continue
            n = pair_count.get((source, to), 0)
            pair_count[(source, to)] = n + 1
            sx, sy = box(source)
            colour = "#b35900" if step.get("move") else "#445"
            dash = ' stroke-dasharray="5 3"' if step.get("move") else ""
            if source == to:  # a step that stays: a loop over the box, its name above (several loops: names stacked)
                x0, y0 = sx + 24 + 34 * (n % 4), sy
                d = f"M{x0},{y0} C{x0 - 16},{y0 - 30} {x0 + 30},{y0 - 30} {x0 + 14},{y0}"
                lx, ly = sx + BOX_W / 2, y0 - 30 - 14 * n
            else:
                tx, ty = box(to)
                (x1, y1), (x2, y2) = _ends((sx, sy), (tx, ty))
                forward = places[to][0] > places[source][0]
                bend = (18 + 16 * n) * (1 if forward else -1) * (1 if n % 2 == 0 else -1)
                if not forward:
                    bend = -(40 + 16 * n)
                mx, my = (x1 + x2) / 2, (y1 + y2) / 2
                length = math.hypot(x2 - x1, y2 - y1) or 1
                cx, cy = mx - (y2 - y1) / length * bend, my + (x2 - x1) / length * bend
                d = f"M{x1:.0f},{y1:.0f} Q{cx:.0f},{cy:.0f} {x2:.0f},{y2:.0f}"
                lx, ly = (x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4
            edges.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.4"{dash} marker-end="url(#arrow)"/>')
            labels.append(f'<text x="{lx:.0f}" y="{ly:.0f}" class="step-label" text-anchor="middle" font-size="11" fill="{colour}" '
                          f'paint-order="stroke" stroke="#fff" stroke-width="3">{_esc(_short(name, 12 if lang == "zh" else 22))}</text>')
    boxes = []
    for key, state in states.items():
        if key not in places:
            continue
        x, y = box(key)
        name = _name(state).get(lang) or _name(state).get("zh") or "？"
        terminal, initial = bool(state.get("terminal")), key == draft.get("initial")
        fill = "#e8f3e8" if terminal else ("#e6eefb" if initial else "#fff")
        boxes.append(f'<g class="state{" terminal" if terminal else ""}{" initial" if initial else ""}" data-key="{_esc(key)}">'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="#334" '
                     f'stroke-width="{2.5 if initial else 1.2}"/>')
        if terminal:
            boxes.append(f'<rect x="{x + 4}" y="{y + 4}" width="{BOX_W - 8}" height="{BOX_H - 8}" rx="6" fill="none" stroke="#334" stroke-width="1"/>')
        size, limit = (13, 10) if lang == "zh" else (11, 24)
        boxes.append(f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" text-anchor="middle" font-size="{size}"><title>{_esc(name)}</title>'
                     f'{_esc(_short(name, limit))}</text>')
        if initial:
            boxes.append(f'<circle cx="{x - 20}" cy="{y + BOX_H / 2}" r="6" fill="#334"/>'
                         f'<path d="M{x - 14},{y + BOX_H / 2} L{x - 2},{y + BOX_H / 2}" stroke="#334" stroke-width="1.6" marker-end="url(#arrow)"/>')
        boxes.append("</g>")
    legend_y = height - 14
    legend = ("起点：粗框　终结状态：双线框　虚线箭头：交办或转送到其他单位" if lang == "zh"
              else "Start: thick box   Final state: double box   Dashed arrow: moves the case to another body")
    parts += edges + boxes + labels
    parts.append(f'<text x="{MARGIN}" y="{legend_y}" font-size="11" fill="#556">{_esc(legend)}</text></svg>')
    return "".join(parts)


def _ends(a: tuple[float, float], b: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the line between box ``a`` and box ``b`` leaves and meets their borders."""
    (ax, ay), (bx, by) = a, b
    acx, acy, bcx, bcy = ax + BOX_W / 2, ay + BOX_H / 2, bx + BOX_W / 2, by + BOX_H / 2

    def border(cx, cy, dx, dy):
        if dx == 0 and dy == 0:
            return cx, cy
        scale = min((BOX_W / 2) / abs(dx) if dx else math.inf, (BOX_H / 2) / abs(dy) if dy else math.inf)
        return cx + dx * scale, cy + dy * scale

    return border(acx, acy, bcx - acx, bcy - acy), border(bcx, bcy, acx - bcx, acy - bcy)
