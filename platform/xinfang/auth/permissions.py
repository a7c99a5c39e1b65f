"""Permissions, which roles grant them, and the declaration every route must carry.

A route declares its access with exactly one of ``@public(reason)``,
``@requires(permission)`` or ``@superuser_only(permission)``. ``create_app``
refuses to start when a route declares none, and the request pipeline enforces
the declaration before the handler runs.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from .models import Role


class Permission(StrEnum):
    TENANT_READ = "tenant.read"
    ACCOUNTS_READ = "accounts.read"
    ACCOUNTS_MANAGE = "accounts.manage"
    PLUGINS_MANAGE = "plugins.manage"
    ACTIVITY_READ = "activity.read"
    PETITIONS_READ = "petitions.read"
    PETITIONS_REGISTER = "petitions.register"
    PETITIONS_ACT = "petitions.act"  # which transitions, the tenant's workflow decides by role
    PETITION_IDENTITY_READ = "petitions.identity.read"
    FORMS_MANAGE = "forms.manage"
    CALENDAR_MANAGE = "calendar.manage"
    SUPERVISION_CONFIGURE = "supervision.configure"  # card types, action types, escalation rules
    ARCHIVES_READ = "archives.read"  # this tenant's integrity archives (every read is audited)
    ARCHIVES_WRITE = "archives.write"  # register officials, file documents and petitions in archives
    ARCHIVES_CONFIGURE = "archives.configure"  # archive document types
    SEARCH_CONFIGURE = "search.configure"  # the tenant's own dictionary for search and frequent words
    WORKFLOW_MANAGE = "workflow.manage"  # the workflow designer: states, steps, time limits, publishing versions
    CONFIGURATION_MANAGE = "configuration.manage"  # the configuration hub: versions, rollback, export and import
    ANALYTICS_READ = "analytics.read"  # dashboards, reports, maps, forecasts and alerts of this tenant and those below
    ANALYTICS_CONFIGURE = "analytics.configure"  # early-warning thresholds and alert recipients
    ALERTS_ACKNOWLEDGE = "alerts.acknowledge"  # say an alert was seen and is being dealt with
    PORTAL_PUBLISH = "portal.publish"  # the integrity portal: write drafts, send them for approval, take up suggestions
    PORTAL_APPROVE = "portal.approve"  # the integrity portal: make others' drafts public, return them, withdraw
    PORTAL_THEME = "portal.theme"  # the integrity portal's name, colours and logo
    INSTRUCTIONS_WRITE = "instructions.write"  # 批示: write a leader's instruction, mark it fulfilled or ask again
    CAMPAIGNS_MANAGE = "campaigns.manage"  # 排查: start a screening campaign (units, checklist, carry-over)
    EXCHANGE_MANAGE = "exchange.manage"  # API clients (Open311 keys), outbound webhooks and their delivery log
    PETITIONS_IMPORT = "petitions.import"  # bulk import of legacy registers and message-board exports (imports/)
    DATA_EXPORT = "tenant.data_export"  # the tenant's data as an archive file, identity sealed (data_export/)
    DATA_EXPORT_IDENTITY = "tenant.data_export.identity"  # the same with petitioners' identity opened (also needs DATA_EXPORT)
    DOCUMENTS_READ = "documents.read"  # 公文: read this body's outgoing and incoming documents (documents/)
    DOCUMENTS_WRITE = "documents.write"  # 公文: draft, register paper, distribute, record delivery (核稿/签发: the roles the tenant sets)
    DOCUMENTS_CONFIGURE = "documents.configure"  # 公文: the 文号 rule, who reviews and signs, body templates
    RETENTION_MANAGE = "retention.manage"  # how long closed cases, cards, archive entries and audit records are kept (retention/)
    RECORDS_ARCHIVE = "records.archive"  # 归档: archive a closed case, card or action as a frozen record (records/)
    RECORDS_READ = "records.read"  # read archived records (every read is audited)
    RECORDS_EXPORT = "records.export"  # export an archived record as a package for a records office (audited)
    RECORDS_CONFIGURE = "records.configure"  # the archive number rule and retention classes of archived records
    # 信访监督员: relay a villager's petition with their consent, record follow-ups; sees only their own relays
    RELAYS_WRITE = "relays.write"
    PLATFORM_ADMIN = "platform.admin"
    PLATFORM_CROSS_TENANT_READ = "platform.cross_tenant_read"


ALL_STAFF = {Permission.TENANT_READ}
CASEWORK = {
    Permission.PETITIONS_READ,
    Permission.PETITIONS_REGISTER,
    Permission.PETITIONS_ACT,
    Permission.PETITION_IDENTITY_READ,
}

# Tenant admins configure archives but do not read them: reading is casework, and every read is audited.
ARCHIVE_WORK = {Permission.ARCHIVES_READ, Permission.ARCHIVES_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REGISTRAR: frozenset(ALL_STAFF | CASEWORK | {Permission.PETITIONS_IMPORT}),
    Role.HANDLER: frozenset(ALL_STAFF | CASEWORK | ARCHIVE_WORK | {Permission.ANALYTICS_READ}),
    Role.LEADER: frozenset(ALL_STAFF | CASEWORK | ARCHIVE_WORK | {Permission.ACCOUNTS_READ, Permission.ACTIVITY_READ,
                                                                   Permission.ANALYTICS_READ, Permission.ALERTS_ACKNOWLEDGE}
                           | {Permission.PETITIONS_IMPORT, Permission.DATA_EXPORT_IDENTITY}),
    Role.TENANT_ADMIN: frozenset(
        ALL_STAFF
        | {
            Permission.ACCOUNTS_READ,
            Permission.ACCOUNTS_MANAGE,
            Permission.PLUGINS_MANAGE,
            Permission.ACTIVITY_READ,
            Permission.FORMS_MANAGE,
            Permission.CALENDAR_MANAGE,
            Permission.SUPERVISION_CONFIGURE,
            Permission.ARCHIVES_CONFIGURE,
            Permission.SEARCH_CONFIGURE,
            Permission.WORKFLOW_MANAGE,
            Permission.CONFIGURATION_MANAGE,
            Permission.ANALYTICS_CONFIGURE,
            Permission.DATA_EXPORT,
        }
    ),
    # Auditors oversee casework but never see who the petitioners are.
    Role.AUDITOR: frozenset(ALL_STAFF | {Permission.ACCOUNTS_READ, Permission.ACTIVITY_READ, Permission.PETITIONS_READ,
                                         Permission.ARCHIVES_READ, Permission.ANALYTICS_READ}),
    # Village supervisors relay and follow up their own relays only: no inbox, no identities read back, no archives.
    Role.VILLAGE_SUPERVISOR: frozenset(ALL_STAFF | {Permission.RELAYS_WRITE}),
}

# The exchange (exchange/): tenant admins register API clients (Open311 keys) and webhook endpoints.
ROLE_PERMISSIONS[Role.TENANT_ADMIN] = ROLE_PERMISSIONS[Role.TENANT_ADMIN] | {Permission.EXCHANGE_MANAGE}
# Leaders write instructions (批示, instructions/) and run screening campaigns (排查, campaigns/).
ROLE_PERMISSIONS[Role.LEADER] = ROLE_PERMISSIONS[Role.LEADER] | {Permission.INSTRUCTIONS_WRITE, Permission.CAMPAIGNS_MANAGE}

# The integrity portal (public_portal/): handlers and leaders write, leaders approve (never their own), admins set the theme.
ROLE_PERMISSIONS[Role.HANDLER] = ROLE_PERMISSIONS[Role.HANDLER] | {Permission.PORTAL_PUBLISH}
ROLE_PERMISSIONS[Role.LEADER] = ROLE_PERMISSIONS[Role.LEADER] | {Permission.PORTAL_PUBLISH, Permission.PORTAL_APPROVE}
ROLE_PERMISSIONS[Role.TENANT_ADMIN] = ROLE_PERMISSIONS[Role.TENANT_ADMIN] | {Permission.PORTAL_THEME}

# Retention (retention/): only tenant admins set how long records are kept; nobody who reads cases does.
ROLE_PERMISSIONS[Role.TENANT_ADMIN] = ROLE_PERMISSIONS[Role.TENANT_ADMIN] | {Permission.RETENTION_MANAGE}

# Archived records (归档, records/): registrars and leaders archive (as the workflow's 归档 step), and read; leaders
# export; auditors read. Tenant admins set the number rule and retention classes but read no record; handlers, who
# worked the case, neither archive nor read the archive (the record office's own access control).
ROLE_PERMISSIONS[Role.REGISTRAR] = ROLE_PERMISSIONS[Role.REGISTRAR] | {Permission.RECORDS_ARCHIVE, Permission.RECORDS_READ}
ROLE_PERMISSIONS[Role.LEADER] = ROLE_PERMISSIONS[Role.LEADER] | {Permission.RECORDS_ARCHIVE, Permission.RECORDS_READ, Permission.RECORDS_EXPORT}
ROLE_PERMISSIONS[Role.AUDITOR] = ROLE_PERMISSIONS[Role.AUDITOR] | {Permission.RECORDS_READ}
ROLE_PERMISSIONS[Role.TENANT_ADMIN] = ROLE_PERMISSIONS[Role.TENANT_ADMIN] | {Permission.RECORDS_CONFIGURE}

# Official documents (documents/): caseworkers draft, register and distribute; auditors read; admins set the 文号 rule.
for _role in (Role.REGISTRAR, Role.HANDLER, Role.LEADER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.DOCUMENTS_READ, Permission.DOCUMENTS_WRITE}
ROLE_PERMISSIONS[Role.AUDITOR] = ROLE_PERMISSIONS[Role.AUDITOR] | {Permission.DOCUMENTS_READ}
ROLE_PERMISSIONS[Role.TENANT_ADMIN] = ROLE_PERMISSIONS[Role.TENANT_ADMIN] | {Permission.DOCUMENTS_CONFIGURE}

SUPERUSER_PERMISSIONS = frozenset({Permission.PLATFORM_ADMIN, Permission.PLATFORM_CROSS_TENANT_READ})


def permissions_of(roles) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(Role(role), frozenset())
    return frozenset(granted)


@dataclasses.dataclass(frozen=True)
class Access:
    """What a route demands. ``permission`` None with ``public`` True means anyone."""

    public: bool = False
    reason: str = ""
    permission: Permission | None = None
    platform: bool = False  # superuser route outside any tenant


ACCESS_ATTRIBUTE = "__xinfang_access__"


def _declare(access: Access):
    def decorator(view):
        if hasattr(view, ACCESS_ATTRIBUTE):
            raise TypeError(f"{view.__name__} declares its access twice")
        setattr(view, ACCESS_ATTRIBUTE, access)
        return view

    return decorator


def public(reason: str):
    """Anyone may call this route; say why."""
    if not reason:
        raise ValueError("a public route must say why it is public")
    return _declare(Access(public=True, reason=reason))


def requires(permission: Permission):
    """A staff member of the request's tenant whose roles grant ``permission``."""
    return _declare(Access(permission=permission))


def superuser_only(permission: Permission):
    """A platform superuser; the route lives outside any tenant."""
    if permission not in SUPERUSER_PERMISSIONS:
        raise ValueError(f"{permission} is not a superuser permission")
    return _declare(Access(permission=permission, platform=True))


def access_of(view) -> Access | None:
    return getattr(view, ACCESS_ATTRIBUTE, None)
