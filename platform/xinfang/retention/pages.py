"""The tenant admin's retention page: a period per record kind (selects, no JSON), what its end does, a preview of how
many records the periods reach today, and who changed them last (every change is a configuration version)."""

from __future__ import annotations

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import InvalidInput
from ..http import staff_page
from ..store.documents import utcnow
from ..tenancy.config_versions import ConfigActor, latest_config_version
from ..tenancy.resolution import current_tenant
from . import policy, service
from .due import ARCHIVED_RECORDS, ARCHIVED_RECORDS_NAME
from .models import RetentionDue

retention_bp = Blueprint("retention", __name__, url_prefix="/t/<tenant_slug>/admin/retention")


async def _page(status: int = 200, *, years=None, errors=None, previewed: bool = False, saved: bool = False):
    ctx = current_tenant()
    current = await service.current_years(ctx.scope)
    shown = years or current
    due = {k.key: await ctx.scope.repo(RetentionDue).count({"kind": k.key}) for k in policy.KINDS if k.key != "closed_petitions"}
    due[ARCHIVED_RECORDS] = await ctx.scope.repo(RetentionDue).count({"kind": ARCHIVED_RECORDS})
    from ..petitions.models import Petition

    destroyed = await ctx.scope.repo(Petition).count({"identity_destroyed_on": {"$type": "string"}})  # ("$ne": None would count a missing field on the embedded store)
    return await staff_page(
        "admin/retention.html", status, kinds=policy.KINDS, choices=policy.CHOICES, permanent=policy.PERMANENT, shown=shown,
        current=current, errors=errors or {}, previewed=previewed, saved=saved,
        preview=await service.preview(ctx, shown, utcnow()) if previewed else None,
        last=await latest_config_version(ctx.scope, service.AREA), due=due, archived_records_name=ARCHIVED_RECORDS_NAME, destroyed=destroyed, years_words=policy.years_words,
    )


@retention_bp.get("")
@requires(Permission.RETENTION_MANAGE)
async def retention_page(tenant_slug):
    """The periods now, what each end does, the records listed as due, and the identities destroyed so far."""
    return await _page(saved=request.args.get("saved") == "1")


@retention_bp.post("")
@requires(Permission.RETENTION_MANAGE)
async def retention_submit(tenant_slug):
    """Preview (nothing saved) or save the periods; wrong values come back with a message by their field."""
    form = await request.form
    try:
        years = policy.parse_form(form)
    except InvalidInput as refused:
        return await _page(refused.status, years={k.key: form.get(k.key) for k in policy.KINDS}, errors=refused.fields)
    if form.get("action") != "save":
        return await _page(years=years, previewed=True)
    await service.do_set_retention(current_tenant().scope, years, actor=ConfigActor.of(current_principal()),
                                   note=(form.get("note") or "").strip()[:200])
    return redirect(url_for("retention.retention_page", tenant_slug=tenant_slug, saved="1"), 303)
