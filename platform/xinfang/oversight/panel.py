"""The supervised body's case page: its open 督办 from above, each with its deadline and a link to report."""

from __future__ import annotations

from markupsafe import Markup
from quart import render_template

from .service import open_on_subject
from .http import today
from .views import list_rows


async def petition_panel(tenant, petition, principal) -> Markup | None:
    if principal is None or principal.tenant_id != str(tenant.id):
        return None
    records = await open_on_subject(str(petition.id), str(tenant.id))
    if not records:
        return None
    return Markup(await render_template("staff/oversight_panel.html", items=await list_rows(records, today()), tenant=tenant))
