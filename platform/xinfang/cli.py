"""The ``xinfang`` command: run everything, or one role at a time, and the admin chores."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from .processes import die_with_parent, raise_keyboard_interrupt
from .settings import SETTINGS_TABLE, Settings, SettingsError

log = logging.getLogger("xinfang")

DEFAULT_TENANTS_DIR = Path(__file__).resolve().parents[2] / "tenants"


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


class PluginCommands(click.Group):
    """The built-in commands, plus those plugins add (``xinfang_cli_commands``), loaded only when asked for."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from .plugins import collect_list, make_plugin_manager

        return {command.name: command for command in collect_list(make_plugin_manager().hook.xinfang_cli_commands())}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands()))

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self._plugin_commands().get(name)


@click.group(cls=PluginCommands)
def main() -> None:
    """xinfang 信访监督平台: petition supervision for discipline-inspection commissions."""


@main.command()
@click.option("--tenants", "tenants_dir", type=click.Path(path_type=Path), default=DEFAULT_TENANTS_DIR, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Celery worker processes.")
def run(tenants_dir: Path, workers: int) -> None:
    """Run the whole platform on one machine: store (embedded unless configured), worker, beat, web."""
    settings = _settings()
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    store = _start_embedded_store(settings)
    worker = indexer = None
    try:
        if settings.should_load_demo_tenants and tenants_dir.is_dir():
            _load_tenants(settings, tenants_dir)
        env = dict(os.environ, **settings.to_env())
        # Celery logs every task at INFO; on one terminal only warnings are worth reading.
        loglevel = "WARNING" if settings.log_level == "INFO" else settings.log_level
        # On the embedded (filesystem) broker a second consumer process races the first over the same
        # message files, so one worker also indexes there; with a real broker the indexer runs apart.
        single = settings.embedded_broker
        worker = subprocess.Popen(
            [sys.executable, "-m", "xinfang", "worker", "--beat", "--concurrency", str(workers), "--loglevel", loglevel,
             *(["--with-indexer"] if single else [])],
            env=env, preexec_fn=die_with_parent,
        )
        if not single:
            indexer = subprocess.Popen([sys.executable, "-m", "xinfang", "indexer", "--loglevel", loglevel], env=env,
                                       preexec_fn=die_with_parent)
        base = f"http://{settings.host}:{settings.port}"
        click.echo(f"xinfang 已启动 / running on {base}  (Ctrl-C 停止 / to stop)")
        if settings.should_load_demo_tenants and tenants_dir.is_dir():
            click.echo(f"  群众信访 citizen portal:  {base}/t/siyang-edu/")
            click.echo(f"  工作人员 staff console:   {base}/t/siyang-edu/staff/   (handler, leader, registrar, admin …)")
            click.echo(f"  表单管理 form admin:      {base}/t/siyang-edu/admin/forms   (admin)")
            click.echo(f"  监督配置 card settings:   {base}/t/siyang-edu/admin/supervision   (admin)")
            click.echo(f"  干部廉政意见 reviews:     {base}/platform/reviews   (org-reviewer, org-approver)")
        click.echo(f"  API: {base}/openapi.json")
        _serve(settings)
    except KeyboardInterrupt:
        pass
    finally:
        for child in (worker, indexer):
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        if store is not None:
            store.stop()
        click.echo("xinfang stopped / 已停止")


@main.command()
def serve() -> None:
    """Run one web server (the store and broker must be reachable)."""
    _serve(_settings())


@main.command()
def store() -> None:
    """Run only the embedded document store, in the foreground."""
    settings = _settings()
    embedded = _start_embedded_store(settings)
    if embedded is None:
        raise click.UsageError("XINFANG_MONGODB_URI is set: there is no embedded store to run")
    click.echo(f"embedded store on {embedded.uri} (Ctrl-C to stop)")
    try:
        embedded.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()


@main.command()
@click.option("--beat", is_flag=True, help="Also run the beat scheduler in this worker (single-machine setups).")
@click.option("--with-indexer", is_flag=True, help="Also consume the search queue (single-machine setups; the tenant's writer lock keeps one writer per index).")
@click.option("--concurrency", default=2, show_default=True)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(beat: bool, with_indexer: bool, concurrency: int, loglevel: str) -> None:
    """Run a Celery worker (one event loop per process)."""
    from .worker import make_celery

    settings = _settings()
    queues = f"{settings.task_queue},{settings.search_queue}" if with_indexer else settings.task_queue
    argv = ["worker", "--loglevel", loglevel, "--concurrency", str(concurrency), "-Q", queues,
            "--hostname", f"xinfang-{os.getpid()}@%h"]
    if beat:
        argv += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    make_celery(settings).worker_main(argv)


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def indexer(loglevel: str) -> None:
    """Run the search indexer: the one worker (concurrency 1) that writes the search indexes."""
    from .worker import make_celery

    settings = _settings()
    make_celery(settings).worker_main(["worker", "--loglevel", loglevel, "--concurrency", "1", "-Q", settings.search_queue,
                                       "--hostname", f"xinfang-indexer-{os.getpid()}@%h"])


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run the beat scheduler: exactly one per deployment."""
    from .worker import make_celery

    settings = _settings()
    make_celery(settings).start(["beat", "--loglevel", loglevel, "--schedule", str(settings.data_dir / "celerybeat-schedule")])


@main.command("load-tenants")
@click.argument("tenants_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=DEFAULT_TENANTS_DIR)
def load_tenants(tenants_dir: Path) -> None:
    """Load (or update) tenant bundles from a folder; running it twice changes nothing."""
    settings = _settings()
    store = _start_embedded_store(settings, required=False)
    try:
        _load_tenants(settings, tenants_dir)
    finally:
        if store is not None:
            store.stop()


@main.command("create-user")
@click.option("--tenant", "tenant_slug", help="Tenant slug; omit with --superuser.")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", "roles", multiple=True, help="registrar, handler, leader, tenant_admin, auditor (repeatable)")
@click.option("--superuser", is_flag=True, help="A platform superuser above all tenants.")
@click.password_option(envvar="XINFANG_NEW_USER_PASSWORD", help="Prompted for when not given.")
def create_user(tenant_slug, username, display_name, roles, superuser, password) -> None:
    """Create a staff account in a tenant, or a platform superuser."""
    if bool(tenant_slug) == bool(superuser):
        raise click.UsageError("give exactly one of --tenant or --superuser")
    settings = _settings()
    store = _start_embedded_store(settings, required=False)

    async def create():
        from .auth.service import do_create_staff_account, do_create_superuser
        from .errors import DomainError
        from .store.scoped import TenantScope
        from .tenancy.models import Tenant

        try:
            if superuser:
                return await do_create_superuser(username=username, display_name=display_name, password=password)
            tenant = await Tenant.find_one({"slug": tenant_slug})
            if tenant is None:
                raise click.UsageError(f"no tenant {tenant_slug!r}")
            return await do_create_staff_account(
                TenantScope(tenant.id), username=username, display_name=display_name, roles=list(roles), password=password
            )
        except DomainError as exc:
            details = "; ".join(f"{k}: {v['zh']} / {v['en']}" for k, v in exc.fields.items()) or exc.message["en"]
            raise click.UsageError(details) from None

    try:
        account = _with_store(settings, create)
        click.echo(f"created {account.username} ({account.id})")
    finally:
        if store is not None:
            store.stop()


@main.group()
def audit() -> None:
    """审计日志 / the hash-chained audit log."""


@audit.command("verify")
@click.option("--expect-head", "expect_head", metavar="SEQ:HASH",
              help="A head written down earlier (printed by this command): the log must still contain it.")
@click.option("--anchors", "anchors_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Anchors file to check against.  [default: DATA_DIR/audit/anchors.jsonl, if present]")
def verify_audit(expect_head: str | None, anchors_file: Path | None) -> None:
    """Check the whole audit log: exit 0 when intact, 1 (listing each problem) when not."""
    from .audit.anchors import AnchorError, anchors_path, parse_expected_head, read_anchors

    settings = _settings()
    anchors = []
    notes = []
    try:
        if expect_head:
            anchors.append(parse_expected_head(expect_head))
        if anchors_file is not None and not anchors_file.is_file():
            raise click.UsageError(f"no anchors file {anchors_file} / 锚点文件不存在")
        anchors_file = anchors_file or anchors_path(settings.data_dir)
        if anchors_file.is_file():
            from_file = read_anchors(anchors_file)
            anchors += from_file
            notes.append(f"锚点文件 / anchors file: {anchors_file} ({len(from_file)})")
        else:
            notes.append(f"锚点文件不存在 / no anchors file: {anchors_file}")
    except AnchorError as exc:
        raise click.UsageError(f"{exc.message['zh']} / {exc.message['en']}") from None
    if expect_head:
        notes.append(f"预期链头 / expected head: {expect_head}")
    if not anchors:
        notes.append("没有锚点：无法发现末尾记录被删除 / no anchor: records cut off at the end cannot be detected")
    store = _start_embedded_store(settings, required=False)

    async def check():
        from .audit.verify import verify_audit_log

        return await verify_audit_log(anchors)

    try:
        report = _with_store(settings, check)
    finally:
        if store is not None:
            store.stop()
    if report.intact:
        click.echo(f"审计日志完整 / audit log intact: {report.records_checked} 条记录 / records, "
                   f"{report.anchors_checked} 个锚点 / anchors checked")
    else:
        click.echo(f"审计日志已被改动 / audit log NOT intact: {len(report.problems)} 个问题 / problem(s) in "
                   f"{report.records_checked} 条记录 / records, {report.anchors_checked} 个锚点 / anchors checked")
        for problem in report.problems:
            where = f"seq {problem.seq}" if problem.seq is not None else "seq -"
            click.echo(f"  {where:<9} {problem.kind:<16} {problem.message['zh']} / {problem.message['en']}")
    if report.head is None:
        click.echo("  链头 / head: -  (日志为空 / the log is empty)")
    elif report.intact:
        click.echo(f"  链头 / head: {report.head.seq}:{report.head.hash}")
        click.echo("    (可记下，日后用 --expect-head 核对 / write it down and check it later with --expect-head)")
    else:
        click.echo(f"  链头 / head: {report.head.seq}:{report.head.hash}  (未通过校验，勿记作锚点 / failed the check: not an anchor)")
    for note in notes:
        click.echo(f"  {note}")
    if not report.intact:
        sys.exit(1)


@main.command("settings")
def show_settings() -> None:
    """Print the XINFANG_* settings as a Markdown table (the README's table comes from here)."""
    click.echo("| variable | default | meaning |\n|---|---|---|")
    for name, default, meaning in SETTINGS_TABLE:
        click.echo(f"| `{name}` | {default} | {meaning} |")


# -- helpers -------------------------------------------------------------------------------------


def _start_embedded_store(settings: Settings, required: bool = True):
    """Start the embedded store when no MongoDB is configured (and none is already up)."""
    from .store.embedded import EmbeddedStore, port_is_open

    if not settings.embedded_store:
        return None
    if not required and port_is_open("127.0.0.1", settings.embedded_store_port):
        return None  # a running `xinfang run` owns it; talk to that one
    store = EmbeddedStore(settings.store_dir, settings.embedded_store_port).start()
    click.echo(f"embedded store started: {store.uri}, data in {settings.store_dir}")
    return store


def _with_store(settings: Settings, work):
    """Run ``work()`` with the store open and events enqueued to the broker."""

    async def runner():
        from .app import document_models
        from .events import configure_dispatch
        from .plugins import make_plugin_manager
        from .store.client import Store
        from .worker import DISPATCH_EVENT, make_celery, send_task_async

        celery_app = make_celery(settings)
        store = await Store.open(settings, document_models(make_plugin_manager()))

        async def enqueue(event_ids):
            for event_id in event_ids:
                await send_task_async(celery_app, DISPATCH_EVENT, [event_id])

        configure_dispatch(store, enqueue)
        try:
            return await work()
        finally:
            await store.close()

    return asyncio.run(runner())


def _load_tenants(settings: Settings, tenants_dir: Path) -> None:
    from tqdm import tqdm

    from .tenancy.bundles import BundleError, BundleLoader, credentials_note, discover

    try:
        platform, bundles = discover(tenants_dir)
    except BundleError as exc:
        raise click.ClickException(f"bundle refused / 配置包有误:\n{exc}") from None

    async def load():
        with tqdm(total=len(bundles), desc="loading tenants / 加载单位", unit="tenant") as bar:
            loader = BundleLoader(settings.bootstrap_password)
            return await loader.load(platform, bundles, progress=lambda slug: (bar.set_postfix_str(slug), bar.update()))

    try:
        report = _with_store(settings, load)
    except BundleError as exc:
        raise click.ClickException(f"bundle refused / 配置包有误:\n{exc}") from None
    click.echo(f"tenants loaded: {report.summary()}")
    if report.new_credentials:
        note = credentials_note(report)
        path = settings.data_dir / "bootstrap-credentials.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(note)
        if report.password:
            click.echo(f"new accounts / 新账号 ({len(report.new_credentials)}), password / 初始密码: {report.password}")
        click.echo(f"  listed in {path}")


def _serve(settings: Settings) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from .app import create_app

    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.graceful_timeout = 5
    asyncio.run(hypercorn_serve(create_app(settings), config))


if __name__ == "__main__":
    main()
