"""What the steps between levels check alike: following a case assigned down (upper_level.py) and 督办
(oversight/service.py). Who takes them (handlers and leaders, on either side, not registrars or auditors),
a text with its limit, and a new deadline given as a date."""

from __future__ import annotations

from datetime import date

from ..auth.principal import Principal
from ..errors import InvalidInput

STEP_ROLES = frozenset({"handler", "leader"})
IN_THE_PAST = {"zh": "期限不能早于今天", "en": "the deadline cannot be in the past"}


def takes_steps(principal: Principal | None) -> bool:
    return principal is not None and bool(STEP_ROLES & set(principal.roles))


def bounded_text(value: str | None, field: str, *, required: bool, limit: int) -> str:
    """``value`` stripped; a field error when required and empty, or longer than ``limit``."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(fields={field: {"zh": "必填", "en": "required"}})
    if len(text) > limit:
        raise InvalidInput(fields={field: {"zh": f"最多 {limit} 个字", "en": f"at most {limit} characters"}})
    return text


def day_from_today(value: str | None, today: date, field: str = "due_on", *, past: dict = IN_THE_PAST) -> date | None:
    """A YYYY-MM-DD date not before ``today``; None when none is given; otherwise a field error (``past``'s words)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(fields={field: {"zh": "日期格式应为 YYYY-MM-DD", "en": "dates must be YYYY-MM-DD"}}) from None
    if day < today:
        raise InvalidInput(fields={field: past})
    return day
