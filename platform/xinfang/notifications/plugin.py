"""Built-in plugin: notifications, and a notice in the receiving tenant when a case arrives from another."""

from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from .models import Notification
from .service import do_notify


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("notifications", {"zh": "工作提醒", "en": "Notifications"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Notification]


@hookimpl
def xinfang_blueprints():
    from .http import notifications_bp

    return [notifications_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A petition moved here (交办/转送): tell the receiving tenant's registrars and leaders."""
    if event.name != "petition.moved" or tenant is None:
        return
    await do_notify(
        TenantScope(event.tenant_id), f"arrived:{event.subject_id}:{event.id}", kind="assigned", roles=["registrar", "leader"],
        text={"zh": "上级或其他单位交办/转送来一件信访件", "en": "A petition was assigned or transferred here by another body"},
        link=f"/api/petitions/{event.subject_id}", subject_id=event.subject_id,
    )
