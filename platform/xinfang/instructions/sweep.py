"""The beat's part (plugin.xinfang_sweep): flag instructions whose deadline passed with nothing done, once each.

One indexed question over every tenant (``overdue`` false, ``due_on`` before today), not a walk tenant by
tenant; each is flagged by a write guarded by the revision it was read at, so two sweeps, or a
sweep racing a leader's new date, flag it at most once, and only the write that flagged it carries the event its notices follow from."""

from __future__ import annotations

from datetime import date

from beanie.odm.utils.parsing import parse_obj

from ..events import hand_over_carried
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from .models import Instruction, InstructionState, InstructionStep
from .service import carry_step

BATCH = 500


async def flag_overdue_instructions(today: date) -> int:
    collection = Instruction.get_pymongo_collection()
    query = {"overdue": False, "due_on": {"$lt": today.isoformat()}, "state": {"$in": [InstructionState.OPEN.value]}}
    flagged = 0
    async for raw in collection.find(query).sort([("due_on", 1)]).limit(BATCH):
        instruction = parse_obj(Instruction, raw)
        instruction.overdue = True
        instruction.steps.append(InstructionStep(at=utcnow(), kind="overdue", tenant_id=instruction.tenant_id, actor_id="system",
                                                 actor_name="系统 system", due_on=instruction.due_on))
        carry_step(instruction, "overdue")  # the notices follow from the event, once
        # Guarded by the revision it was read at: a leader's change meanwhile, or another sweep, wins.
        if not await TenantScope(instruction.tenant_id).repo(Instruction).replace_versioned(instruction):
            continue
        await hand_over_carried(instruction)
        flagged += 1
    return flagged
