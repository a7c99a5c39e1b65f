"""First-party plugin: the default notification sender, which writes e-mails and text messages to a file.

A real deployment swaps it for an SMTP or SMS-gateway plugin on the same hook
(``xinfang_handle_event`` for ``notification.created``). Each line of
``DATA_DIR/notifications/outbox.jsonl`` is one message on one channel; the
event id makes a redelivered event recognisable (delivery is at least once).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xinfang.hookspecs import hookimpl
from xinfang.notifications.models import Notification
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
            "properties": {"channels": {"type": "array", "items": {"enum": list(CHANNELS)}, "uniqueItems": True}},
        },
    )


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    if event.name != "notification.created" or tenant is None:
        return
    notification = await tenant.scope.repo(Notification).get(event.subject_id)
    if notification is None:
        return
    path = outbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"event_id": str(event.id), "notification_id": str(notification.id), "tenant": tenant.tenant.slug,
                    "channel": channel, "to_roles": notification.roles, "text": notification.text.model_dump(),
                    "link": notification.link}, ensure_ascii=False)
        for channel in config.get("channels", list(CHANNELS))
    ]
    # One write of whole lines, appended: concurrent workers never interleave half-lines.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)
