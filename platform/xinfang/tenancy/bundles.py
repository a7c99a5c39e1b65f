"""Tenant bundles: declarative, schema-checked folders in ``tenants/``, loaded idempotently.

``tenants/<slug>/bundle.toml`` describes one tenant (profile, staff accounts,
card types, escalation rules); ``tenants/platform.toml`` lists superusers.
Loading twice changes nothing the second time: tenants, card types and rules
are upserted by key and left alone when equal; accounts are created when
missing and otherwise kept as the tenant admin left them (roles, passwords).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import tomllib
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from jsonschema import Draft202012Validator
from pydantic import ValidationError
from referencing import Registry

from ..auth.grants import GrantPath, Grantor
from ..auth.models import PlatformAccount, StaffAccount
from ..auth.service import do_create_staff_account, do_create_superuser
from ..cards.models import ActionType, CardType, EscalationRule
from ..events import DomainEvent, unit_of_work
from ..forms.service import do_publish_form_version
from ..petitions.models import CalendarRules
from ..petitions.service import do_set_calendar_rules
from ..petitions.workflow import TenantWorkflow, Workflow, default_workflow_data
from ..petitions.workflow_checks import calendar_problems, check_workflow, official_calendar_years, tenant_calendar_years
from ..petitions.workflow_versions import bundle_digest, do_publish_workflow
from ..store.documents import utcnow
from ..store.scoped import TenantScope
from ..timefmt import DEFAULT_ZONE, is_time_zone
from .config_versions import BUNDLE_ACTOR
from .models import Tenant, TenantLevel
from .roster import forget_roster

PLATFORM_FILE = "platform.toml"
BUNDLE_FILE = "bundle.toml"


class BundleError(ValueError):
    """A bundle that cannot be loaded; the message names the file and the place in it."""


@dataclasses.dataclass
class Bundle:
    path: Path
    data: dict

    @property
    def slug(self) -> str:
        return self.data["tenant"]["slug"]

    @property
    def parent(self) -> str | None:
        return self.data["tenant"].get("parent")

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclasses.dataclass
class LoadReport:
    counts: Counter = dataclasses.field(default_factory=Counter)
    new_credentials: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (where, username)
    password: str | None = None

    def add(self, kind: str, outcome: str) -> None:
        self.counts[f"{kind}.{outcome}"] += 1

    def summary(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in sorted(self.counts.items())) or "nothing to load"


def _validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads(resources.files("xinfang.tenancy").joinpath(schema_name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=Registry())


def _read(path: Path, schema_name: str) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BundleError(f"{path}: cannot read: {exc}") from None
    errors = sorted(_validator(schema_name).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{path}: /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:20]]
        raise BundleError("\n".join(lines))
    return data


def discover(root: Path) -> tuple[dict | None, list[Bundle]]:
    """Read and check every bundle under ``root``; tenants come parents first."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"{root}: not a directory")
    platform_path = root / PLATFORM_FILE
    platform = _read(platform_path, "platform.schema.json") if platform_path.exists() else None
    bundles = [Bundle(p, _read(p, "bundle.schema.json")) for p in sorted(root.glob(f"*/{BUNDLE_FILE}"))]
    for bundle in bundles:
        if bundle.path.parent.name != bundle.slug:
            raise BundleError(f"{bundle.path}: folder name must equal tenant.slug {bundle.slug!r}")
        _check_card_references(bundle)
        _check_workflow(bundle)
        if not is_time_zone(zone_name := bundle.data.get("settings", {}).get("time_zone", DEFAULT_ZONE)):
            raise BundleError(f"{bundle.path}: /settings/time_zone: unknown time zone {zone_name!r}")
    return platform, _parents_first(bundles)


def _check_card_references(bundle: Bundle) -> None:
    keys = [c["key"] for c in bundle.data.get("card_types", [])]
    if len(keys) != len(set(keys)):
        raise BundleError(f"{bundle.path}: card type keys repeat")
    for rule in bundle.data.get("escalation_rules", []):
        for ref in (rule["trigger"]["card_type"], rule["outcome"]["card_type"]):
            if ref not in keys:
                raise BundleError(f"{bundle.path}: escalation rule {rule['key']!r} names unknown card type {ref!r}")


def _check_workflow(bundle: Bundle) -> None:
    """The bundle's workflow (or the default) passes the checks before publishing (petitions/workflow_checks.py)."""
    try:
        workflow = Workflow.model_validate(bundle.data.get("workflow") or default_workflow_data())
    except ValidationError as exc:
        raise BundleError(f"{bundle.path}: /workflow: {exc.errors()[0]['msg']}") from None
    _refuse_workflow(bundle, check_workflow(workflow))


def _refuse_workflow(bundle: Bundle, problems: dict[str, dict[str, str]]) -> None:
    if problems:
        raise BundleError(f"{bundle.path}: " + "; ".join(f"/workflow/{path}: {m['en']} ({m['zh']})" for path, m in problems.items()))


def _parents_first(bundles: list[Bundle]) -> list[Bundle]:
    by_slug = {b.slug: b for b in bundles}
    ordered: list[Bundle] = []
    visiting: set[str] = set()

    def visit(bundle: Bundle) -> None:
        if bundle in ordered:
            return
        if bundle.slug in visiting:
            raise BundleError(f"{bundle.path}: the parent chain loops")
        visiting.add(bundle.slug)
        if bundle.parent in by_slug:
            visit(by_slug[bundle.parent])
        ordered.append(bundle)

    for bundle in bundles:
        visit(bundle)
    return ordered


class BundleLoader:
    def __init__(self, password: str | None = None):
        self.report = LoadReport()
        self._password = password
        # A generated bootstrap password (printed once) must be changed at the first login; one the operator chose
        # (XINFANG_BOOTSTRAP_PASSWORD: demos, tests) is theirs to manage.
        self._must_change = password is None

    def _bootstrap_password(self) -> str:
        if self._password is None:
            self._password = secrets.token_urlsafe(12)
            self.report.password = self._password
        return self._password

    async def load(self, platform: dict | None, bundles: list[Bundle], progress: Callable[[str], None] | None = None) -> LoadReport:
        if platform:
            for entry in platform["superusers"]:
                await self._superuser(entry)
        for bundle in bundles:
            await self._tenant_bundle(bundle)
            if progress:
                progress(bundle.slug)
        return self.report

    async def _superuser(self, entry: dict) -> None:
        if await PlatformAccount.find_one({"username": entry["username"]}):
            self.report.add("superusers", "kept")
            return
        await do_create_superuser(username=entry["username"], display_name=entry["display_name"], password=self._bootstrap_password(),
                                  must_change_password=self._must_change)
        self.report.add("superusers", "created")
        self.report.new_credentials.append(("platform", entry["username"]))

    async def _tenant_bundle(self, bundle: Bundle) -> None:
        tenant = await self._tenant(bundle)
        scope = TenantScope(tenant.id)
        for entry in bundle.data.get("accounts", []):
            await self._account(scope, tenant, entry)
        await self._upsert_keyed(scope, CardType, bundle.data.get("card_types", []), "card_types")
        await self._upsert_keyed(scope, EscalationRule, bundle.data.get("escalation_rules", []), "escalation_rules")
        await self._upsert_keyed(scope, ActionType, bundle.data.get("action_types", []), "action_types")
        for entry in bundle.data.get("archive_document_types", []):
            await self._archive_document_type(scope, entry)
        await self._workflow(scope, bundle)
        await self._calendar(scope, bundle.data.get("calendar"))
        for entry in bundle.data.get("forms", []):
            _, created = await do_publish_form_version(scope, entry["key"], template=entry["template"], extend=entry.get("extend"))
            self.report.add("forms", "published" if created else "unchanged")

    async def _archive_document_type(self, scope: TenantScope, entry: dict) -> None:
        from ..archives.models import ArchiveDocumentType
        from .models import LocalizedName
        from ..forms.schema_safety import SchemaRejected, check_tenant_schema, schema_digest

        try:
            check_tenant_schema(entry["json_schema"])
        except SchemaRejected as rejected:
            raise BundleError(f"archive document type {entry['key']!r}: {rejected}") from None
        repo = scope.repo(ArchiveDocumentType)
        digest = schema_digest(entry["json_schema"])
        row = await repo.find_one({"key": entry["key"]})
        if row is not None and row.schema_digest == digest and row.name.model_dump() == entry["name"]:
            self.report.add("archive_document_types", "unchanged")
            return
        row = row or ArchiveDocumentType(tenant_id=scope.tenant_id, key=entry["key"], name=entry["name"], json_schema={}, schema_digest="")
        row.name, row.json_schema, row.schema_digest = LocalizedName.model_validate(entry["name"]), entry["json_schema"], digest
        await repo.save(row)
        self.report.add("archive_document_types", "updated")

    async def _workflow(self, scope: TenantScope, bundle: Bundle) -> None:
        data = bundle.data.get("workflow") or default_workflow_data()
        try:
            definition = Workflow.model_validate(data)
        except ValidationError as exc:
            raise BundleError(f"{bundle.path}: /workflow: {exc.errors()[0]['msg']}") from None
        digest = bundle_digest(data)
        row = await scope.repo(TenantWorkflow).find_one({})
        if row is not None and row.digest == digest:
            self.report.add("workflows", "unchanged")  # what an admin published since in the designer stays
            return
        # Publishing a changed workflow: its working-day time limits need the calendar of the years they reach
        # (the bundle's own [calendar] replaces the stored one below, so it counts when present).
        holidays = (bundle.data.get("calendar") or {}).get("holidays")
        if holidays is None:
            rules = await scope.repo(CalendarRules).find_one({})
            holidays = rules.holidays if rules else []
        known = official_calendar_years() | tenant_calendar_years(holidays)
        _refuse_workflow(bundle, calendar_problems(definition, known, utcnow().date()))
        # A new immutable version (petitions/workflow_versions.py): cases in flight keep the one they started on.
        await do_publish_workflow(scope, definition, BUNDLE_ACTOR, "配置包 / bundle", digest_of_bundle=digest, known_years=known)
        self.report.add("workflows", "updated")

    async def _calendar(self, scope: TenantScope, calendar: dict | None) -> None:
        if not calendar:
            return
        row = await scope.repo(CalendarRules).find_one({})
        holidays, workdays = sorted(set(calendar.get("holidays", []))), sorted(set(calendar.get("workdays", [])))
        if row is not None and row.holidays == holidays and row.workdays == workdays:
            self.report.add("calendars", "unchanged")
            return
        await do_set_calendar_rules(scope, holidays=holidays, workdays=workdays)
        self.report.add("calendars", "updated")

    async def _tenant(self, bundle: Bundle) -> Tenant:
        spec = bundle.data["tenant"]
        parent = None
        if bundle.parent:
            parent = await Tenant.find_one({"slug": bundle.parent})
            if parent is None:
                raise BundleError(f"{bundle.path}: parent tenant {bundle.parent!r} is neither loaded nor in this folder")
            if TenantLevel(parent.level).rank >= TenantLevel(spec["level"]).rank:
                raise BundleError(f"{bundle.path}: a {spec['level']} tenant cannot sit under a {parent.level} one")
        fields = {
            "name": spec["name"],
            "level": spec["level"],
            "kind": spec.get("kind", "commission"),
            "region_code": spec["region_code"],
            "hosts": spec.get("hosts", []),
            "parent_id": str(parent.id) if parent else None,
            "ancestor_ids": (parent.ancestor_ids + [str(parent.id)]) if parent else [],
            "bundle_digest": bundle.digest,
            "settings": bundle.data.get("settings", {}),
        }
        tenant = await Tenant.find_one({"slug": bundle.slug})
        if tenant is None:
            tenant = Tenant(slug=bundle.slug, **fields)
            async with unit_of_work() as uow:
                await tenant.insert(session=uow.session)
                uow.record(DomainEvent("tenant.created", str(tenant.id), str(tenant.id), {}))
            await forget_roster()
            self.report.add("tenants", "created")
        elif tenant.bundle_digest != bundle.digest or tenant.parent_id != fields["parent_id"]:
            updated = Tenant.model_validate(dict(tenant.model_dump(), **fields))
            async with unit_of_work() as uow:
                await updated.replace(session=uow.session)
                uow.record(DomainEvent("tenant.updated", str(tenant.id), str(tenant.id), {}))
            await forget_roster()
            tenant = updated
            self.report.add("tenants", "updated")
        else:
            self.report.add("tenants", "unchanged")
        return tenant

    async def _account(self, scope: TenantScope, tenant: Tenant, entry: dict) -> None:
        if await scope.repo(StaffAccount).find_one({"username": entry["username"]}):
            self.report.add("accounts", "kept")
            return
        await do_create_staff_account(
            scope,
            username=entry["username"],
            display_name=entry["display_name"],
            roles=entry.get("roles", []),
            password=self._bootstrap_password(),
            must_change_password=self._must_change,
            grantor=Grantor.operator(GrantPath.BUNDLE),  # the operator's path: trusted, and recorded in the audit log
        )
        self.report.add("accounts", "created")
        self.report.new_credentials.append((tenant.slug, entry["username"]))

    async def _upsert_keyed(self, scope: TenantScope, model, entries: list[dict], kind: str) -> None:
        repo = scope.repo(model)
        for entry in entries:
            wanted = model.model_validate(dict(entry, tenant_id=scope.tenant_id))
            existing = await repo.find_one({"key": entry["key"]})
            if existing is None:
                await repo.insert(wanted)
                self.report.add(kind, "created")
                continue
            if getattr(existing, "source", "bundle") == "admin":
                self.report.add(kind, "kept_admin_edit")
                continue
            comparable = {"id", "created_at", "revision_id"}
            if existing.model_dump(exclude=comparable) == wanted.model_dump(exclude=comparable):
                self.report.add(kind, "unchanged")
                continue
            wanted.id, wanted.created_at = existing.id, existing.created_at
            await repo.save(wanted)
            self.report.add(kind, "updated")


def credentials_note(report: LoadReport) -> str:
    lines = [f"{where}\t{username}\t{report.password}" for where, username in report.new_credentials]
    return "\n".join(lines) + ("\n" if lines else "")
