"""Notifying staff. Every notification has a deterministic id, so a sweep that runs twice notifies once."""

from __future__ import annotations


from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..events import DomainEvent, carry, hand_over_carried, register_carrier
from ..store.documents import deterministic_id
from ..store.scoped import TenantScope
from .models import Notification


register_carrier(Notification)


def notification_id(tenant_id: str, key: str) -> ObjectId:
    """The same (tenant, key) always names the same notification."""
    return deterministic_id(tenant_id, key)


async def do_notify(scope: TenantScope, key: str, *, kind: str, roles: list[str], text: dict,
                    link: str | None = None, subject_id: str | None = None) -> bool:
    """Create the notification named by ``key`` unless it exists. Returns True when it was new."""
    row = Notification(id=notification_id(scope.tenant_id, key), tenant_id=scope.tenant_id, kind=kind, roles=roles,
                       text=text, link=link, subject_id=subject_id)
    # One write: the notification and the event that sends it on. (Two writes left, after a crash
    # between them, a notification whose e-mail never went: a retry then found it "already there".)
    carry(row, DomainEvent("notification.created", scope.tenant_id, str(row.id), {"kind": kind}))
    try:
        await scope.repo(Notification).insert(row)
    except DuplicateKeyError:
        return False
    await hand_over_carried(row)
    return True


async def inbox(scope: TenantScope, roles: set[str], limit: int = 100) -> list[Notification]:
    rows = await scope.repo(Notification).find({}).sort("-created_at").limit(500).to_list()
    return [n for n in rows if set(n.roles) & roles][:limit]
