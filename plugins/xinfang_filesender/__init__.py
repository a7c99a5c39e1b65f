"""First-party plugin: the default notification sender, which writes e-mails and text messages to a file.

A real deployment swaps it for an SMTP or SMS-gateway plugin on the same hook
(``xinfang_handle_event`` for ``notification.created`` and ``citizen_notice.created``). Each line of
``DATA_DIR/notifications/outbox.jsonl`` is one message on one channel to one address; the event id
makes a redelivered event recognisable (delivery is at least once).

- A staff notification goes to each of its recipients who chose e-mail and/or SMS (their notification
  preferences), on the channels the tenant allows (this plugin's ``channels`` setting; default both).
- A petitioner's notice goes to the contact details they left and asked to be told at (sealed in the
  notice; opened only here, to send).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xinfang.hookspecs import hookimpl
from xinfang.notifications.models import CitizenNotice, Notification
from xinfang.notifications.service import preferences_of, process_keyring, recipients
from xinfang.plugins import PluginInfo
from xinfang.settings import Settings

NAME = "filesender"
CHANNELS = ("email", "sms")


def outbox_path() -> Path:
    return Settings.from_env().data_dir / "notifications" / "outbox.jsonl"


@hookimpl
def xinfang_plugin_info():
    return PluginInfo(
        NAME, {"zh": "通知发送（写入文件）", "en": "Notification sender (to a file)"}, default_enabled=True,
        config_schema={
            "type": "object", "additionalProperties": False,
            "properties": {"channels": {
                "type": "array", "uniqueItems": True, "default": list(CHANNELS),
                "title": "发送渠道", "description": "工作提醒和给信访人的通知通过哪些渠道发出",
                "x-en": {"title": "Channels", "description": "How staff notifications and notices to petitioners are sent"},
                "items": {"oneOf": [{"const": "email", "title": "电子邮件", "x-en": {"title": "E-mail"}},
                                    {"const": "sms", "title": "手机短信", "x-en": {"title": "Text message (SMS)"}}]},
            }},
        },
    )


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    if tenant is None or event.name not in ("notification.created", "citizen_notice.created"):
        return
    allowed = set(config.get("channels", list(CHANNELS)))
    if event.name == "notification.created":
        lines = await _staff_lines(event, tenant, allowed)
    else:
        lines = await _citizen_lines(event, tenant, allowed)
    if lines:
        _append(lines)


async def _staff_lines(event, tenant, allowed: set[str]) -> list[dict]:
    notification = await tenant.scope.repo(Notification).get(event.subject_id)
    if notification is None:
        return []
    people = await recipients(tenant.scope, notification)
    chosen = await preferences_of(tenant.scope, [str(a.id) for a in people])
    lines = []
    for account in people:
        preference = chosen.get(str(account.id))
        for channel in preference.channels if preference else []:
            address = preference.email if channel == "email" else preference.phone
            if channel in allowed and address:
                lines.append({"event_id": str(event.id), "notification_id": str(notification.id), "tenant": tenant.tenant.slug,
                              "channel": channel, "to": address, "account_id": str(account.id), "to_roles": notification.roles,
                              "text": notification.text.model_dump(), "link": notification.link})
    return lines


async def _citizen_lines(event, tenant, allowed: set[str]) -> list[dict]:
    notice = await tenant.scope.repo(CitizenNotice).get(event.subject_id)
    if notice is None:
        return []
    contact = await process_keyring().open(tenant.scope.tenant_id, str(notice.id), notice.contact_sealed)
    lines = []
    for channel in notice.channels:
        address = contact.get("email" if channel == "email" else "phone")
        if channel in allowed and address:
            lines.append({"event_id": str(event.id), "citizen_notice_id": str(notice.id), "tenant": tenant.tenant.slug,
                          "channel": channel, "to": address, "text": notice.text.model_dump(), "number": notice.number})
    return lines


def _append(lines: list[dict]) -> None:
    path = outbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    # One write of whole lines, appended: concurrent workers never interleave half-lines.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
