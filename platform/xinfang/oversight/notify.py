"""Notifications of 督办, from its events (plugin.xinfang_handle_event): each to the body it concerns, in
that body's own wording (notifications/wording.py), to its handlers and leaders, with a link to the
oversight page on that body's side. Idempotent per (event, body): a notification has a deterministic id."""

from __future__ import annotations

from ..notifications.service import do_notify
from ..notifications.wording import worded
from ..petitions.level_steps import STEP_ROLES
from ..store.scoped import TenantScope, parse_object_id
from ..tenancy.service import get_tenant
from .models import SUBJECT_KIND_NAMES

ROLES = sorted(STEP_ROLES)  # the caseworkers who take the steps, on either side

EVENTS = {
    # event name -> (notification kind, message key in notifications/wording.py)
    "oversight.opened": ("oversight", "oversight_opened"),
    "oversight.reminded": ("oversight", "oversight_reminder"),
    "oversight.due_soon": ("oversight", "oversight_due_soon"),
    "oversight.overdue": ("oversight_overdue", "oversight_overdue"),
    "oversight.reported": ("oversight_report", "oversight_reported"),
    "oversight.accepted": ("oversight_decided", "oversight_accepted"),
    "oversight.returned": ("oversight_decided", "oversight_returned"),
    "oversight.withdrawn": ("oversight_decided", "oversight_withdrawn"),
}


def item_name(kind: str, label: str) -> dict:
    names = SUBJECT_KIND_NAMES.get(kind, SUBJECT_KIND_NAMES["petition"])
    return {"zh": f"{names['zh']} {label}", "en": f"{names['en'].lower()} {label}"}


async def notify_for(event) -> None:
    if event.name not in EVENTS or not event.subject_id:
        return
    kind, message = EVENTS[event.name]
    data = event.data or {}
    values = {"item_name": item_name(str(data.get("kind", "")), str(data.get("label", ""))), "due_on": str(data.get("due_on", ""))}
    for tenant_id in data.get("notify_tenants") or []:
        if parse_object_id(tenant_id) is None:
            continue
        tenant = await get_tenant(tenant_id)
        if tenant is None or not tenant.active:
            continue
        scope = TenantScope(tenant_id)
        await do_notify(scope, f"oversight:{event.id}:{tenant_id}", kind=kind, roles=ROLES,
                        text=await worded(scope, message, values), link=f"/t/{tenant.slug}/staff/oversight/{event.subject_id}",
                        subject_id=event.subject_id)
