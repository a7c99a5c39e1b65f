"""The tenant's search dictionary through the API (the studio's page is ``admin``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from quart import current_app
from quart_schema import document_request

from xinfang.auth.access import current_principal
from xinfang.auth.permissions import Permission, requires
from xinfang.http import parse_body
from xinfang.tenancy.config_versions import ConfigActor
from xinfang.tenancy.resolution import current_tenant
from xinfang.worker import send_task_async

from . import dictionary
from .blueprints import search_api_bp
from .models import SearchDictionary
from .tasks import REBUILD


class DictionaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(default_factory=list, max_length=2000)
    stop_words: list[str] | None = Field(default=None, max_length=500)  # None: keep the tenant's stop words
    # Groups of words a query takes as one (噪音 = 噪声); None: keep the tenant's synonyms.
    synonyms: list[list[str]] | None = Field(default=None, max_length=500)


def _shown(row: SearchDictionary | None) -> dict:
    return {"words": row.words if row else [], "stop_words": row.stop_words if row else [], "synonyms": row.synonyms if row else []}


@search_api_bp.get("/search-dictionary")
@requires(Permission.PETITIONS_READ)
async def show_dictionary(tenant_slug):
    return _shown(await current_tenant().scope.repo(SearchDictionary).find_one({}))


@search_api_bp.put("/search-dictionary")
@requires(Permission.SEARCH_CONFIGURE)
@document_request(DictionaryIn)
async def set_dictionary(tenant_slug):
    """The tenant's own words (place names, units, local terms), and (when given) its stop words and synonym groups;
    the index is rebuilt when the words changed (stop words and synonyms apply to searches at once)."""
    body = await parse_body(DictionaryIn)
    before = await dictionary.stored_words(current_tenant().scope)
    row = await dictionary.do_set_dictionary(current_tenant().scope, body.words, stop_words=body.stop_words, synonyms=body.synonyms,
                                          actor=ConfigActor.of(current_principal()))
    rebuilding = frozenset(row.words) != before
    if rebuilding:
        await send_task_async(current_app.extensions["xinfang.celery"], REBUILD, [current_tenant().tenant_id],
                              current_app.extensions["xinfang.settings"].search_queue)
    return {**_shown(row), "rebuilding": rebuilding}
