"""The platform's front page at ``/``: every body's citizen portal and staff login, and the platform reviewers' login.

Only what a visitor needs to pick the right door: each body's name (its place under its parent body shown in
words), never an internal code.
"""

from __future__ import annotations

from quart import Blueprint, render_template

from ..auth.permissions import public
from ..http import NO_STORE
from .service import list_active_tenants

front_page_bp = Blueprint("front_page", __name__)


@front_page_bp.get("/")
@public("the platform's front page: the way to each body's portal and staff login")
async def front_page():
    tenants = await list_active_tenants()
    by_id = {str(t.id): t for t in tenants}
    rows = _parents_first(tenants)
    html = await render_template("platform/front.html", tenant=None, home_url="/", rows=rows, by_id=by_id)
    return html, 200, NO_STORE


def _parents_first(tenants) -> list[tuple[int, object]]:
    """(depth, tenant) with each body right after the body above it, so the list reads as the hierarchy."""
    children: dict[str | None, list] = {}
    ids = {str(t.id) for t in tenants}
    for tenant in tenants:
        parent = tenant.parent_id if tenant.parent_id in ids else None
        children.setdefault(parent, []).append(tenant)
    rows: list[tuple[int, object]] = []

    def walk(parent, depth):
        for tenant in children.get(parent, []):
            rows.append((depth, tenant))
            walk(str(tenant.id), depth + 1)

    walk(None, 0)
    return rows
