"""Early-warning pages and API: the alerts list (acknowledge), the thresholds page (a versioned configuration area),
and the dashboard panel of open alerts."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup
from quart import redirect, render_template, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import DomainError, InvalidInput
from ..http import json_object_body, refusal_message, staff_page
from ..store.scoped import TenantScope
from ..tenancy.config_versions import ConfigActor, list_config_versions
from ..tenancy.resolution import current_tenant
from ..tenancy.service import has_lower_bodies
from . import alert_settings as settings_mod
from ..auth.models import StaffAccount
from .alert_settings import (CHECK_WORDS, CHECKS, LOWER_ALERTS_WORDS, RECIPIENT_ROLES, SENSITIVITY_WORDS, alert_settings,
                             do_set_alert_settings, readers_roles)
from .alerts import Alert, do_acknowledge, list_alerts, lower_alerts_summary
from .blueprints import analytics_api_bp, analytics_pages_bp


def day_words(day: date | str) -> str:
    """A calendar day of the tenant (already in its zone) as people write it: 12月7日 / Dec 7."""
    from ..calendar.service import short_day
    from ..i18n import current_lang

    return short_day(date.fromisoformat(day) if isinstance(day, str) else day, current_lang())


def alert_view(row: Alert) -> dict:
    return {"id": str(row.id), "check": row.check, "check_words": CHECK_WORDS.get(row.check), "text": row.text,
            "opened_on": row.opened_on, "last_seen_on": row.last_seen_on, "ended_on": row.ended_on, "count": row.observed,
            "limit": row.limit, "baseline_mean": row.baseline_mean, "window_days": row.window_days, "method": row.method,
            "created_at": row.created_at.isoformat(),
            "acknowledged": row.acknowledged_at is not None, "acknowledged_by": row.acknowledged_by_name,
            "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None}


# ----------------------------------------------------------------------------- alerts


@analytics_pages_bp.get("/alerts")
@requires(Permission.ANALYTICS_READ)
async def alerts_page(tenant_slug):
    rows = await list_alerts(current_tenant().scope)
    rows.sort(key=lambda r: (r.acknowledged_at is not None, -r.created_at.timestamp()))
    principal = current_principal()
    return await staff_page("staff/analytics/alerts.html", alerts=rows, check_words=CHECK_WORDS, day_words=day_words,
                            lower=await _lower_lines(current_tenant().tenant),
                            may_acknowledge=principal.can(Permission.ALERTS_ACKNOWLEDGE, current_tenant().tenant_id),
                            may_configure=principal.can(Permission.ANALYTICS_CONFIGURE, current_tenant().tenant_id))


@analytics_pages_bp.post("/alerts/<alert_id>/acknowledge")
@requires(Permission.ALERTS_ACKNOWLEDGE)
async def acknowledge_submit(tenant_slug, alert_id):
    principal = current_principal()
    await do_acknowledge(current_tenant().scope, alert_id, principal.account_id, principal.display_name or principal.username)
    return redirect(url_for("analytics_pages.alerts_page", tenant_slug=current_tenant().tenant.slug))


@analytics_api_bp.get("/alerts")
@requires(Permission.ANALYTICS_READ)
async def list_alerts_api(tenant_slug):
    """Early-warning alerts of this tenant, newest first: which numbers crossed which limit, and who acknowledged them."""
    return {"alerts": [alert_view(r) for r in await list_alerts(current_tenant().scope)]}


@analytics_api_bp.post("/alerts/<alert_id>/acknowledge")
@requires(Permission.ALERTS_ACKNOWLEDGE)
async def acknowledge_api(tenant_slug, alert_id):
    """Acknowledge an alert (once: who and when are kept)."""
    principal = current_principal()
    row = await do_acknowledge(current_tenant().scope, alert_id, principal.account_id, principal.display_name or principal.username)
    return alert_view(row)


async def _lower_lines(tenant) -> list[dict]:
    """The bodies below with alerts not yet acknowledged, one line each (unless the setting hides them)."""
    if (await alert_settings(TenantScope(str(tenant.id)))).lower_alerts == "hidden":
        return []
    return await lower_alerts_summary(tenant)


# ----------------------------------------------------------------------------- settings


def _form_content(form) -> dict:
    def number(name: str):
        raw = (form.get(name) or "").strip()
        try:
            return int(raw)
        except ValueError:
            return raw  # refused by the check with the field's words
    return {"checks": [c for c in form.getlist("checks")], "sensitivity": form.get("sensitivity", ""),
            "min_count": number("min_count"), "baseline_weeks": number("baseline_weeks"), "collective_min": number("collective_min"),
            "repeat_min": number("repeat_min"), "repeat_days": number("repeat_days"), "overdue_min": number("overdue_min"),
            "recipients": [r for r in form.getlist("recipients")], "recipient_accounts": [a for a in form.getlist("recipient_accounts")],
            "lower_alerts": form.get("lower_alerts") or "summary"}


async def _settings_page(values: dict | None = None, errors: dict | None = None, message=None, saved: bool = False, status: int = 200):
    scope = current_tenant().scope
    current = await alert_settings(scope)
    versions = await list_config_versions(scope, settings_mod.AREA, limit=10)
    values = values or current.model_dump()
    readers = readers_roles()
    # The people who may be named: active accounts of this body who may read alerts; one named before and no longer
    # such is still listed (ticked), so the admin sees why saving is refused.
    people = [{"id": str(a.id), "name": a.display_name, "username": a.username, "roles": [r.value for r in a.roles]}
              for a in await scope.repo(StaffAccount).find({}).sort("display_name").to_list()
              if (a.active and {r.value for r in a.roles} & readers) or str(a.id) in (values.get("recipient_accounts") or [])]
    return await staff_page("staff/analytics/alert_settings.html", status, values=values, errors=errors or {},
                            message=message, saved=saved, checks=CHECKS, check_words=CHECK_WORDS, sensitivity_words=SENSITIVITY_WORDS,
                            roles=RECIPIENT_ROLES, people=people, lower_words=LOWER_ALERTS_WORDS, versions=versions,
                            has_lower=await has_lower_bodies(scope.tenant_id))


@analytics_pages_bp.get("/alert-settings")
@requires(Permission.ANALYTICS_CONFIGURE)
async def alert_settings_page(tenant_slug):
    return await _settings_page(saved=request.args.get("saved") == "1")


@analytics_pages_bp.post("/alert-settings")
@requires(Permission.ANALYTICS_CONFIGURE)
async def alert_settings_submit(tenant_slug):
    values = _form_content(await request.form)
    try:
        await do_set_alert_settings(current_tenant().scope, values, ConfigActor.of(current_principal()))
    except DomainError as refused:
        return await _settings_page(values, getattr(refused, "fields", None) or {}, refusal_message(refused), status=refused.status)
    return redirect(url_for("analytics_pages.alert_settings_page", tenant_slug=current_tenant().tenant.slug, saved=1))


@analytics_api_bp.get("/alert-settings")
@requires(Permission.ANALYTICS_CONFIGURE)
async def show_alert_settings(tenant_slug):
    """The early-warning thresholds: checks switched on, sensitivity, minimum counts, recipients (roles and named
    people: ``recipient_accounts``, account ids), and whether the alerts of the bodies below are summarised (``lower_alerts``)."""
    return (await alert_settings(current_tenant().scope)).model_dump()


@analytics_api_bp.put("/alert-settings")
@requires(Permission.ANALYTICS_CONFIGURE)
async def set_alert_settings(tenant_slug):
    """Replace the thresholds (recorded as a new version of the configuration area ``alert_settings``)."""
    body = await json_object_body()
    if not isinstance(body, dict):
        raise InvalidInput()
    return (await do_set_alert_settings(current_tenant().scope, body, ConfigActor.of(current_principal()))).model_dump()


# ----------------------------------------------------------------------------- the dashboard panel


async def open_alerts_panel(tenant, principal) -> Markup | None:
    """The dashboard's section of alerts not yet acknowledged (hook ``xinfang_dashboard_panels``)."""
    if principal is None or not principal.can(Permission.ANALYTICS_READ, str(tenant.id)):
        return None
    rows = await list_alerts(TenantScope(str(tenant.id)), open_only=True, limit=10)
    return Markup(await render_template("staff/analytics/_alerts_panel.html", alerts=rows, slug=tenant.slug,
                                        lower=await _lower_lines(tenant), check_words=CHECK_WORDS, day_words=day_words))

