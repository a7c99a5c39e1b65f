"""督办 statistics for either side: counts by state, on time against overdue, and per lower body.

Counted in Python over the body's records (the embedded store's $group is not type-faithful, STACK.md);
a body's oversight records are hundreds or thousands, read once (service.LIST_LIMIT at most).

- on time: closed, and the accepted result was reported by the deadline (``finished_on`` <= ``due_on``);
- late: closed, but the accepted result came after the deadline;
- overdue: still open and past the deadline (today in China);
- in time: still open, the deadline not passed;
- withdrawn: withdrawn by the supervising body (已撤销): in none of the four above, nor in the on-time rate.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .models import STATE_NAMES, Oversight, OversightState
from .service import Side, all_of
from .subjects import GONE, tenant_names

BUCKETS = ("on_time", "late", "overdue", "in_time", "withdrawn")
BUCKET_NAMES = {
    "on_time": {"zh": "按期办结", "en": "Closed on time"}, "late": {"zh": "逾期办结", "en": "Closed late"},
    "overdue": {"zh": "逾期未办结", "en": "Open, overdue"}, "in_time": {"zh": "办理中（未到期）", "en": "Open, in time"},
    "withdrawn": {"zh": "已撤销", "en": "Withdrawn"},
}


def bucket(record: Oversight, today_iso: str) -> str:
    if record.state == OversightState.WITHDRAWN:
        return "withdrawn"
    if not record.open:
        return "on_time" if record.on_time() else "late"
    return "overdue" if record.late_now(today_iso) else "in_time"


def count(records: list[Oversight], today_iso: str, other_side: str) -> tuple[dict, dict, dict[str, Counter]]:
    by_state = Counter(r.state.value for r in records)
    buckets = Counter(bucket(r, today_iso) for r in records)
    per_body: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        body = getattr(r, other_side)
        per_body[body]["total"] += 1
        per_body[body][bucket(r, today_iso)] += 1
        if r.state.value not in BUCKETS:  # "withdrawn" is a state and a bucket alike: counted once
            per_body[body][r.state.value] += 1
    return by_state, buckets, per_body


async def statistics(tenant_id: str, side: Side, today_iso: str) -> dict:
    """Side "upper": what this body supervises, per lower body; "lower": what it is supervised on, per upper body."""
    records = await all_of(tenant_id, side)
    other = "lower_tenant_id" if side == "upper" else "tenant_id"
    by_state, buckets, per_body = count(records, today_iso, other)
    names = await tenant_names(set(per_body))
    closed = buckets["on_time"] + buckets["late"]
    return {
        "side": side, "total": len(records),
        "by_state": [{"state": s.value, "name": STATE_NAMES[s], "count": by_state.get(s.value, 0)} for s in OversightState],
        "timeliness": [{"bucket": b, "name": BUCKET_NAMES[b], "count": buckets.get(b, 0)} for b in BUCKETS],
        "on_time_rate": round(buckets["on_time"] / closed, 3) if closed else None,
        "per_body": sorted(({"tenant_id": body, "name": names.get(body, GONE), "total": c["total"],
                             **{b: c.get(b, 0) for b in BUCKETS}, **{s.value: c.get(s.value, 0) for s in OversightState}}
                            for body, c in per_body.items()), key=lambda row: (-row["total"], row["name"]["zh"])),
    }
