"""Notifying staff. Every notification has a deterministic id, so a sweep that runs twice notifies once.

A notification is addressed to roles of its tenant and/or one account. Each recipient gets a
``NotificationDelivery`` row (derived once the notification's event is materialised) that holds
their read state: the unread count is one indexed count of those rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from beanie.odm.utils.dump import get_dict
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..auth.models import StaffAccount
from ..errors import InvalidInput, NotFound
from ..events import DomainEvent, carry, hand_over_carried, insert_new, register_carrier
from ..store.documents import deterministic_id, utcnow
from ..store.scoped import TenantScope
from .models import CHANNELS, CitizenNotice, Notification, NotificationDelivery, NotificationPreference

INBOX_WINDOW = 500  # the newest notifications of the tenant looked at for one person's inbox


def notification_id(tenant_id: str, key: str) -> ObjectId:
    """The same (tenant, key) always names the same notification."""
    return deterministic_id(tenant_id, key)


def delivery_id(tenant_id: str, notification: str, account_id: str) -> ObjectId:
    return deterministic_id(tenant_id, "delivery", notification, account_id)


def addressed_to(notification: Notification, account_id: str, roles: set[str]) -> bool:
    return bool(set(notification.roles) & roles) or (notification.account_id is not None and notification.account_id == account_id)


TEXT_LIMITS = {"zh": 100, "en": 200}  # LocalizedName's


def fit(text: dict) -> dict:
    """The words cut to what a notification holds (a long title or name must not make the handler fail forever)."""
    return {lang: (value if len(value) <= TEXT_LIMITS[lang] else value[: TEXT_LIMITS[lang] - 1] + "…")
            for lang, value in ((lang, str(text.get(lang) or text.get("zh") or "")) for lang in TEXT_LIMITS)}


async def do_notify(scope: TenantScope, key: str, *, kind: str, roles: list[str], text: dict,
                    link: str | None = None, subject_id: str | None = None, account_id: str | None = None) -> bool:
    """Create the notification named by ``key`` unless it exists. Returns True when it was new."""
    row = Notification(id=notification_id(scope.tenant_id, key), tenant_id=scope.tenant_id, kind=kind, roles=roles,
                       account_id=account_id, text=fit(text), link=link, subject_id=subject_id)
    # One write: the notification and the event that sends it on. (Two writes left, after a crash
    # between them, a notification whose e-mail never went: a retry then found it "already there".)
    carry(row, DomainEvent("notification.created", scope.tenant_id, str(row.id), {"kind": kind}))
    try:
        await scope.repo(Notification).insert(row)
    except DuplicateKeyError:
        return False
    await hand_over_carried(row)
    return True


async def recipients(scope: TenantScope, notification: Notification) -> list[StaffAccount]:
    """The active accounts a notification is for: holders of its roles, and its one account."""
    wanted = set(notification.roles)
    accounts = await scope.repo(StaffAccount).find({"active": True}).to_list()  # a tenant's staff: tens, not thousands
    return [a for a in accounts if wanted & {r.value for r in a.roles} or str(a.id) == notification.account_id]


async def derive_deliveries(notifications: list[Notification]) -> None:
    """Each recipient's unread row (events.materialise_carried): written once per (notification, person)."""
    for notification in notifications:
        scope = TenantScope(notification.tenant_id)
        rows = [NotificationDelivery(id=delivery_id(scope.tenant_id, str(notification.id), str(account.id)), tenant_id=scope.tenant_id,
                                     created_at=notification.created_at, notification_id=str(notification.id), account_id=str(account.id))
                for account in await recipients(scope, notification)]
        await insert_new(NotificationDelivery.get_pymongo_collection(), [get_dict(row, to_db=True) for row in rows])


register_carrier(Notification, derive_deliveries)
register_carrier(CitizenNotice)


async def inbox(scope: TenantScope, roles: set[str], limit: int = 100, account_id: str | None = None) -> list[Notification]:
    """The newest notifications for these roles (or addressed to this account), newest first.

    A person's own deliveries find theirs however many others the tenant has (an indexed query); the
    tenant's newest notifications add those not delivered yet (or written without a delivery)."""
    rows = {str(n.id): n for n in await scope.repo(Notification).find({}).sort("-created_at").limit(INBOX_WINDOW).to_list()
            if addressed_to(n, account_id or "", roles)}
    if account_id:
        delivered = [parse for parse in [d.notification_id async for d in scope.repo(NotificationDelivery).find(
            {"account_id": {"$eq": account_id}}).sort("-created_at").limit(limit)] if parse not in rows]
        if delivered:
            more = await scope.repo(Notification).find({"_id": {"$in": [ObjectId(i) for i in delivered]}}).to_list()
            rows.update({str(n.id): n for n in more if addressed_to(n, account_id, roles)})
    return sorted(rows.values(), key=lambda n: (n.created_at, str(n.id)), reverse=True)[:limit]


async def unread_ids(scope: TenantScope, account_id: str, notifications: list[Notification]) -> set[str]:
    """Which of ``notifications`` this person has not read. One not yet delivered to them counts as unread."""
    read = {d.notification_id async for d in scope.repo(NotificationDelivery).find(
        {"account_id": {"$eq": account_id}, "unread": {"$eq": False}}).sort("-created_at").limit(INBOX_WINDOW * 2)}
    return {str(n.id) for n in notifications if str(n.id) not in read}


async def unread_count(scope: TenantScope, account_id: str) -> int:
    """One indexed count: this person's notifications not yet read."""
    return await scope.repo(NotificationDelivery).count({"account_id": {"$eq": account_id}, "unread": {"$eq": True}})


async def access_notification(scope: TenantScope, notification_id_: str, account_id: str, roles: set[str]) -> Notification:
    row = await scope.repo(Notification).get(notification_id_)
    if row is None or not addressed_to(row, account_id, roles):
        raise NotFound({"zh": "没有这条提醒", "en": "no such notification"})
    return row


async def _read_rows_for_undelivered(scope: TenantScope, account_id: str, notifications: list[Notification], now: datetime) -> None:
    """Read rows for notifications not delivered to this person yet: a later delivery (insert_new) then finds them read."""
    rows = [NotificationDelivery(id=delivery_id(scope.tenant_id, str(n.id), account_id), tenant_id=scope.tenant_id, created_at=n.created_at,
                                 notification_id=str(n.id), account_id=account_id, unread=False, read_at=now) for n in notifications]
    await insert_new(NotificationDelivery.get_pymongo_collection(), [get_dict(row, to_db=True) for row in rows])


async def do_mark_read(scope: TenantScope, notification: Notification, account_id: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    await _read_rows_for_undelivered(scope, account_id, [notification], now)
    await scope.repo(NotificationDelivery).update_one({"_id": delivery_id(scope.tenant_id, str(notification.id), account_id), "unread": True},
                                                      {"$set": {"unread": False, "read_at": now}})


async def do_mark_all_read(scope: TenantScope, account_id: str, roles: set[str], now: datetime | None = None) -> int:
    """Everything in this person's inbox read. Returns how many delivered ones were unread."""
    now = now or utcnow()
    await _read_rows_for_undelivered(scope, account_id, await inbox(scope, roles, INBOX_WINDOW, account_id), now)
    return await scope.repo(NotificationDelivery).update_many({"account_id": {"$eq": account_id}, "unread": {"$eq": True}},
                                                              {"$set": {"unread": False, "read_at": now}})


# -- e-mail and SMS preferences ---------------------------------------------------------------------------------

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")
PHONE = re.compile(r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


async def preference_of(scope: TenantScope, account_id: str) -> NotificationPreference:
    return await scope.repo(NotificationPreference).find_one({"account_id": {"$eq": account_id}}) \
        or NotificationPreference(tenant_id=scope.tenant_id, account_id=account_id)


async def do_set_preference(scope: TenantScope, account_id: str, *, channels: list[str], email: str | None,
                            phone: str | None) -> NotificationPreference:
    """A person chooses e-mail and/or SMS besides the inbox; each chosen channel needs its address."""
    email, phone = (email or "").strip() or None, (phone or "").strip() or None
    problems = {}
    if any(c not in CHANNELS for c in channels):
        problems["channels"] = {"zh": "只能选择电子邮件或短信", "en": "choose email and/or sms"}
    if email and not EMAIL.fullmatch(email):
        problems["email"] = {"zh": "电子邮箱格式不对", "en": "this is not an e-mail address"}
    if phone and not PHONE.fullmatch(phone):
        problems["phone"] = {"zh": "手机号码格式不对", "en": "this is not a phone number"}
    if "email" in channels and not email and "email" not in problems:
        problems["email"] = {"zh": "选择电子邮件通知时请填写邮箱", "en": "give the e-mail address to be notified by e-mail"}
    if "sms" in channels and not phone and "phone" not in problems:
        problems["phone"] = {"zh": "选择短信通知时请填写手机号码", "en": "give the phone number to be notified by SMS"}
    if problems:
        raise InvalidInput(fields=problems)
    row = await preference_of(scope, account_id)
    row.channels, row.email, row.phone = [c for c in CHANNELS if c in channels], email, phone
    try:
        await scope.repo(NotificationPreference).save(row)
    except DuplicateKeyError:  # saved by the same person a moment ago in another tab: this one wins
        row.id = (await preference_of(scope, account_id)).id
        await scope.repo(NotificationPreference).save(row)
    return row


async def preferences_of(scope: TenantScope, account_ids: list[str]) -> dict[str, NotificationPreference]:
    """The channel choices of these accounts (those who chose none are left out)."""
    wanted = set(account_ids)
    return {p.account_id: p async for p in scope.repo(NotificationPreference).find({}) if p.account_id in wanted and p.channels}


def process_keyring():
    """The platform's key ring: the web app's own where there is one, else this process's (a worker):
    opens and seals petitioners' contact details for the notices they asked for."""
    from quart import current_app, has_app_context

    if has_app_context() and "xinfang.keyring" in current_app.extensions:
        return current_app.extensions["xinfang.keyring"]
    return _worker_keyring()


@cache
def _worker_keyring():
    from ..crypto import KeyRing
    from ..secrets_file import resolve_encryption_key
    from ..settings import Settings

    return KeyRing(resolve_encryption_key(Settings.from_env()))
