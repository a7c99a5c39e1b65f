"""Built-in plugin: integrity archives and promotion reviews; archive entries follow the events of
the cards, actions and petitions they stand for."""

from ..cards.models import Supervision
from ..hookspecs import hookimpl
from ..plugins import PluginInfo
from ..store.scoped import TenantScope
from .models import ArchiveDocumentType, ArchiveEntry, Official, PromotionReview
from .service import refresh_petition_entries, refresh_supervision_entries


@hookimpl
def xinfang_plugin_info():
    return PluginInfo("archives", {"zh": "廉政档案", "en": "Integrity archives"}, required=True)


@hookimpl
def xinfang_document_models():
    return [Official, ArchiveEntry, ArchiveDocumentType, PromotionReview]


@hookimpl
def xinfang_blueprints():
    from .http import archives_bp, reviews_bp
    from .pages import archive_pages_bp, review_pages_bp

    return [archives_bp, reviews_bp, archive_pages_bp, review_pages_bp]


@hookimpl
async def xinfang_handle_event(event, tenant, config):
    """A card, action or petition changed: the archive entries standing for it follow (idempotent)."""
    if tenant is None or not event.subject_id:
        return
    scope = TenantScope(event.tenant_id)
    if event.name.startswith("supervision."):
        sup = await scope.repo(Supervision).get(event.subject_id)
        if sup is not None and sup.official_id:
            await refresh_supervision_entries(scope, sup)
    elif event.name.startswith("petition."):
        await refresh_petition_entries(scope, event.subject_id)
