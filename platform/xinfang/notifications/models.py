"""Notifications: tenant data addressed to roles and/or one account of a tenant; each person's read
state and chosen channels; and the notices a petitioner who opted in is sent when the case moves."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..events import CarriesEvents
from ..store.documents import IdRef, TenantDocument, UtcDateTime
from ..tenancy.models import LocalizedName

CHANNELS = ("email", "sms")


class Notification(TenantDocument, CarriesEvents):
    """Written once, with its ``notification.created`` event inside (so a notification is never
    stored without the event that sends it on by e-mail or SMS, and that gives each recipient a
    ``NotificationDelivery``)."""

    # reminder | overdue | follow_up | assigned | proposal | copied | copy_due | approval | approved | returned | answered | citizen
    kind: str
    roles: list[str] = Field(default_factory=list)  # who should see it: these roles ...
    account_id: IdRef | None = None  # ... and/or this one person
    text: LocalizedName
    link: str | None = None  # path inside the tenant, e.g. /api/supervisions/<id>
    subject_id: IdRef | None = None
    read_at: UtcDateTime | None = None  # unused: read state is per person (NotificationDelivery)

    class Settings:
        name = "notifications"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("outbox_pending", ASCENDING)]),  # the sweeper's question, across tenants
        ]


class NotificationDelivery(TenantDocument):
    """One notification as one person has it: unread until they mark it read.

    Derived from the notification when its event is materialised (service.derive_deliveries), under a
    deterministic id per (notification, account): written once however often that runs. The unread
    count is one indexed count of these rows.
    """

    notification_id: IdRef
    account_id: IdRef
    unread: bool = True
    read_at: UtcDateTime | None = None

    class Settings:
        name = "notification_deliveries"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("account_id", ASCENDING), ("unread", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("account_id", ASCENDING), ("created_at", DESCENDING)]),
        ]


class NotificationPreference(TenantDocument):
    """How one staff member wants notifications besides the inbox: e-mail and/or SMS, to these addresses."""

    account_id: IdRef
    channels: list[Literal["email", "sms"]] = Field(default_factory=list)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)

    class Settings:
        name = "notification_preferences"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("account_id", ASCENDING)], unique=True)]


class CitizenNotice(TenantDocument, CarriesEvents):
    """A message to a petitioner who left contact details and asked to be told when the case moves.

    Never for an anonymous petition. The contact details are sealed with the tenant's key, bound to
    this notice; the sender plugin opens them to send. Written once with its ``citizen_notice.created``
    event inside, under an id derived from the event that caused it.
    """

    petition_id: IdRef
    number: str
    text: LocalizedName
    contact_sealed: str
    channels: list[Literal["email", "sms"]] = Field(default_factory=list)

    class Settings:
        name = "citizen_notices"
        indexes = [IndexModel([("outbox_pending", ASCENDING)])]


class NoticeSweepMark(TenantDocument):
    """The China day of the tenant's last sweep of petition deadlines (reminders and overdue notices)."""

    day: str

    class Settings:
        name = "notification_sweeps"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
