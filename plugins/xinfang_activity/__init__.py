"""First-party plugin: the tenant's activity feed, built from committed domain events.

It uses only the public hooks (the same a third party would) and shows the
whole path: a service writes, the event is committed with it, a Celery worker
hands it to this plugin, and the plugin writes one entry per event. The unique
(tenant_id, event_id) index makes handling idempotent.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError
from quart import Blueprint, request

from xinfang.auth.permissions import Permission, requires
from xinfang.hookspecs import hookimpl
from xinfang.plugins import PluginInfo
from xinfang.store.documents import IdRef, TenantDocument
from xinfang.tenancy.resolution import current_tenant

NAME = "activity"
DEFAULT_PAGE_SIZE = 50


class ActivityEntry(TenantDocument):
    event_id: IdRef
    event: str
    subject_id: IdRef | None = None
    actor_id: str | None = None

    class Settings:
        name = "activity_entries"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("event_id", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
        ]


activity_bp = Blueprint("activity", __name__, url_prefix="/t/<tenant_slug>")


@activity_bp.get("/api/activity")
@requires(Permission.ACTIVITY_READ)
async def list_activity(tenant_slug):
    limit = min(max(request.args.get("limit", DEFAULT_PAGE_SIZE, type=int) or DEFAULT_PAGE_SIZE, 1), 500)
    entries = await current_tenant().scope.repo(ActivityEntry).find().sort("-created_at").limit(limit).to_list()
    return {"entries": [e.model_dump(mode="json") for e in entries]}


@hookimpl
def xinfang_plugin_info():
    return PluginInfo(
        NAME,
        {"zh": "操作动态", "en": "Activity feed"},
        default_enabled=True,
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"ignore_events": {
                "type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50,
                "title": "不记入操作动态的事件", "description": "由技术人员填写事件代码，每行一个；一般留空，即全部记录",
                "x-en": {"title": "Events left out of the activity feed",
                         "description": "Event codes, one per line, entered by technical staff; usually empty: every event is recorded"},
            }},
        },
    )


@hookimpl
def xinfang_document_models():
    return [ActivityEntry]


@hookimpl
def xinfang_blueprints():
    return [activity_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    if tenant is None or event.name in config.get("ignore_events", []):
        return
    entry = ActivityEntry(
        tenant_id=tenant.tenant_id,
        event_id=str(event.id),
        event=event.name,
        subject_id=event.subject_id,
        actor_id=event.data.get("actor_id") or None,
    )
    try:
        await tenant.scope.repo(ActivityEntry).insert(entry)
    except DuplicateKeyError:
        pass  # handled before (a redelivered message): nothing more to do
