"""The search plugin's blueprints, shared by its route modules (so endpoint names stay ``search.<view>``,
``search_pages.<view>``, ``platform_search.<view>``), and the indexer's data directory as the app knows it."""

from __future__ import annotations

from quart import Blueprint, current_app

search_api_bp = Blueprint("search", __name__, url_prefix="/t/<tenant_slug>/api")
search_pages_bp = Blueprint("search_pages", __name__, url_prefix="/t/<tenant_slug>/staff", template_folder="templates")
platform_search_bp = Blueprint("platform_search", __name__, url_prefix="/api/platform")


def data_dir():
    return current_app.extensions["xinfang.settings"].data_dir
