"""The ``xinfang`` command: run everything, or one role at a time, and the admin chores."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import warnings
from pathlib import Path

import click

from .processes import PRIVATE_UMASK
from .secrets_file import ensure_private_dir
from .settings import SETTINGS_TABLE, Settings, SettingsError

log = logging.getLogger("xinfang")

DEFAULT_TENANTS_DIR = Path(__file__).resolve().parents[2] / "tenants"


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    from .observability.logs import configure_logging

    configure_logging(settings)  # text or JSON lines (XINFANG_LOG_FORMAT)
    ensure_private_dir(settings.data_dir)
    return settings


def _celery_quiet(loglevel: str) -> list[str]:
    """Celery's start-up banner (one per worker, indexer and beat) only when debugging: `xinfang run` says what started.

    Celery's root warning goes too (twice per start, a paragraph each): `xinfang run` says it once, in zh/en.
    """
    warnings.filterwarnings("ignore", message="You're running the worker with superuser privileges")
    return [] if loglevel.upper() == "DEBUG" else ["--quiet"]


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
    # Everything this process and its children write (keys, passwords, store, indexes, logs) is
    # readable by this user only.
    os.umask(PRIVATE_UMASK)


@main.command()
@click.option("--tenants", "tenants_dir", type=click.Path(path_type=Path), default=DEFAULT_TENANTS_DIR, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Celery worker processes.")
def run(tenants_dir: Path, workers: int) -> None:
    """Run and supervise the whole platform on one machine: store (embedded unless configured), worker, beat, web."""
    from .single_machine import StartFailed, run_single_machine

    try:
        run_single_machine(_settings(), tenants_dir, workers, click.echo)
    except StartFailed as exc:
        raise click.ClickException(f"{exc.message['zh']} / {exc.message['en']}") from None
    click.echo("xinfang stopped / 已停止")


@main.command()
@click.option("--listen-fd", type=int, hidden=True, help="Serve on this inherited listening socket (given by `xinfang run`).")
def serve(listen_fd: int | None) -> None:
    """Run one web server (the store and broker must be reachable)."""
    _serve(_settings(), listen_fd)


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
    from .observability.exposition import start_worker_metrics_server
    from .worker import make_celery

    settings = _settings()
    queues = f"{settings.task_queue},{settings.search_queue}" if with_indexer else settings.task_queue
    argv = [*_celery_quiet(loglevel), "worker", "--loglevel", loglevel, "--concurrency", str(concurrency), "-Q", queues,
            "--hostname", f"xinfang-{os.getpid()}@%h"]
    if beat:
        argv += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    celery_app = make_celery(settings)
    start_worker_metrics_server(settings)  # XINFANG_METRICS_PORT, in a pod of its own
    celery_app.worker_main(argv)


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def indexer(loglevel: str) -> None:
    """Run the search indexer: the one worker (concurrency 1) that writes the search indexes."""
    from .worker import make_celery

    from .observability.exposition import start_worker_metrics_server

    settings = _settings()
    celery_app = make_celery(settings)
    start_worker_metrics_server(settings)  # XINFANG_METRICS_PORT, in a pod of its own
    celery_app.worker_main([*_celery_quiet(loglevel), "worker", "--loglevel", loglevel, "--concurrency", "1", "-Q", settings.search_queue,
                            "--hostname", f"xinfang-indexer-{os.getpid()}@%h"])


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run the beat scheduler: exactly one per deployment (a second one exits with status 75)."""
    from .beat_lock import ANOTHER_BEAT_EXIT, AnotherBeatRunning, acquire_beat_lock
    from .worker import make_celery

    settings = _settings()
    try:
        acquire_beat_lock(settings.data_dir)  # held until this process ends, however it ends
    except AnotherBeatRunning as exc:
        click.echo(f"{exc.message['zh']}\n{exc.message['en']}", err=True)
        sys.exit(ANOTHER_BEAT_EXIT)
    make_celery(settings).start([*_celery_quiet(loglevel), "beat", "--loglevel", loglevel, "--schedule", str(settings.data_dir / "celerybeat-schedule")])


@main.command()
@click.argument("role", type=click.Choice(["worker", "indexer", "beat"]))
def probe(role: str) -> None:
    """Exit 0 when this host's worker, indexer or beat is alive (Kubernetes exec probes), else 1 saying why."""
    from .role_probe import probe as probe_role

    answer = probe_role(_settings(), role)
    click.echo(f"{answer.zh} / {answer.en}", err=not answer.ok)
    sys.exit(0 if answer.ok else 1)


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
        from .auth.grants import GrantPath, Grantor
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
            account, _ = await do_create_staff_account(
                TenantScope(tenant.id), username=username, display_name=display_name, roles=list(roles), password=password,
                grantor=Grantor.operator(GrantPath.CLI),  # the operator's path: trusted, and recorded in the audit log
            )
            return account
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
@click.option("--anchors", "anchors_paths", multiple=True, type=click.Path(path_type=Path),
              help="A signed anchors file, or a directory of them (repeatable; e.g. each host's copy of "
                   "DATA_DIR/audit/anchors/, or lines taken from the log stream).  "
                   "[default: DATA_DIR/audit/anchors/ and the unsigned DATA_DIR/audit/anchors.jsonl of before]")
def verify_audit(expect_head: str | None, anchors_paths: tuple[Path, ...]) -> None:
    """Check the whole audit log against signed anchors: exit 0 when intact, 1 (listing each problem) when not,
    and 1 when there is no anchor to check against."""
    from .audit.anchors import AnchorError, anchor_files, anchors_dir, legacy_anchors_path, parse_expected_head, read_anchors
    from .audit.keys import AuditKeys

    settings = _settings()
    try:
        keys = AuditKeys.from_settings(settings)
    except ValueError as exc:
        raise click.UsageError(f"{exc} / 加密密钥无效") from None
    anchors, bad_lines, notes = [], [], []
    try:
        if expect_head:
            anchors.append(parse_expected_head(expect_head))
            notes.append(f"预期链头 / expected head: {expect_head}")
    except AnchorError as exc:
        raise click.UsageError(f"{exc.message['zh']} / {exc.message['en']}") from None
    # (file, reads unsigned lines): only the sweeper's file of before the chain was keyed may hold them.
    files: list[tuple[Path, bool]] = []
    for path in anchors_paths:
        if path.is_dir():
            files += [(file, False) for file in anchor_files(path)]
        elif path.is_file():
            files.append((path, False))
        else:
            raise click.UsageError(f"no anchors file or directory {path} / 锚点文件或目录不存在")
    if not anchors_paths:
        files += [(file, False) for file in anchor_files(anchors_dir(settings.data_dir))]
        if legacy_anchors_path(settings.data_dir).is_file():
            files.append((legacy_anchors_path(settings.data_dir), True))
    for file, allow_unsigned in files:
        found, bad = read_anchors(file, keys.anchors, allow_unsigned=allow_unsigned)
        anchors += found
        bad_lines += bad
        kind = "未签名 / unsigned" if allow_unsigned else "签名 / signed"
        notes.append(f"锚点文件 / anchors file ({kind}): {file} ({len(found)}"
                     + (f", {len(bad)} 行有误 / bad line(s)" if bad else "") + ")")
    if not files:
        notes.append(f"没有锚点文件 / no anchors file in: {', '.join(map(str, anchors_paths)) or anchors_dir(settings.data_dir)}")
    store = _start_embedded_store(settings, required=False)

    async def check():
        from .audit.verify import verify_audit_log

        return await verify_audit_log(anchors, chain_key=keys.chain, bad_anchor_lines=bad_lines)

    try:
        report = _with_store(settings, check)
    finally:
        if store is not None:
            store.stop()
    anchored = report.anchors_checked > 0
    counts = (f"{report.records_checked} 条记录 / records, {report.anchors_checked} 个锚点 / anchors checked"
              + (f", {report.unsigned_anchors_checked} 个未签名锚点 / unsigned" if report.unsigned_anchors_checked else ""))
    if not report.intact:
        click.echo(f"审计日志已被改动 / audit log NOT intact: {len(report.problems)} 个问题 / problem(s) in {counts}")
        for problem in report.problems:
            where = f"seq {problem.seq}" if problem.seq is not None else "seq -"
            click.echo(f"  {where:<9} {problem.kind:<16} {problem.message['zh']} / {problem.message['en']}")
        if report.every_keyed_record_altered:
            click.echo("  每条带密钥的记录都不符：多半不是本部署的 XINFANG_ENCRYPTION_KEY / every keyed record fails: "
                       "most likely this is not the deployment's XINFANG_ENCRYPTION_KEY")
    elif not anchored:
        click.echo(f"审计日志无法确认完整 / audit log NOT verified: 没有可核对的锚点 / no anchor to check against ({counts})")
        click.echo("  没有锚点，就看不出最新的记录是否被删除，因此不算通过。请用 --anchors PATH 指定签名锚点文件或目录"
                   "（各主机的 DATA_DIR/audit/anchors/，或从日志流中取出的锚点行），或用 --expect-head SEQ:HASH 指定先前记下的链头。")
        click.echo("  Without an anchor the newest records could have been cut off unseen, so this is not a pass. "
                   "Pass one with --anchors PATH (a signed anchors file or directory: each host's DATA_DIR/audit/anchors/, "
                   "or anchor lines taken from the log stream) or --expect-head SEQ:HASH (a head written down earlier).")
    else:
        click.echo(f"审计日志完整 / audit log intact: {counts}")
    if report.head is None:
        click.echo("  链头 / head: -  (日志为空 / the log is empty)")
    elif report.intact:
        click.echo(f"  链头 / head: {report.head.seq}:{report.head.hash}")
        click.echo("    (可记下，日后用 --expect-head 核对 / write it down and check it later with --expect-head)")
        if anchored and report.head.seq > report.newest_anchor_seq:
            click.echo(f"  最新锚点在序号 {report.newest_anchor_seq}，其后 {report.head.seq - report.newest_anchor_seq} 条记录的改动"
                       f"可以发现（带密钥），但被整段删除则看不出 / newest anchor at seq {report.newest_anchor_seq}: an edit of the "
                       f"{report.head.seq - report.newest_anchor_seq} record(s) after it is seen (keyed), their removal is not")
    else:
        click.echo(f"  链头 / head: {report.head.seq}:{report.head.hash}  (未通过校验，勿记作锚点 / failed the check: not an anchor)")
    if report.legacy_records:
        click.echo(f"  {report.legacy_records} 条旧式无密钥记录（sha256），由其后带密钥的记录和签名锚点固定 / "
                   f"{report.legacy_records} unkeyed record(s) of the old format (sha256), held in place by the keyed records "
                   "and signed anchors after them")
    for note in notes:
        click.echo(f"  {note}")
    if not report.intact or not anchored:
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


async def tenants_named(slugs: tuple[str, ...], *, active_only: bool) -> list:
    """The tenants a command's repeatable ``--tenant`` names, by slug (all, or all active, when none is named); a
    usage error naming the slugs that match none."""
    from .tenancy.models import Tenant

    query = {"slug": {"$in": list(slugs)}} if slugs else ({"active": True} if active_only else {})
    tenants = await Tenant.find(query).sort("slug").to_list()
    missing = sorted(set(slugs) - {t.slug for t in tenants})
    if missing:
        raise click.UsageError(f"no such tenant: {', '.join(missing)}")
    return tenants


def _with_store(settings: Settings, work):
    """Run ``work()`` with the store open and events enqueued to the broker."""

    async def runner():
        from .plugins import document_models
        from .events import configure_dispatch
        from .plugins import make_plugin_manager
        from .store.client import Store
        from .worker import BrokerHandover, make_celery

        celery_app = make_celery(settings)
        store = await Store.open(settings, document_models(make_plugin_manager()))
        configure_dispatch(store, BrokerHandover(celery_app))
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


def _serve(settings: Settings, listen_fd: int | None = None) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from .app import create_app

    config = Config()
    config.bind = [f"fd://{listen_fd}" if listen_fd is not None else f"{settings.host}:{settings.port}"]
    config.accesslog = None
    # Hypercorn's own logger, not a second handler of its own: one line per message, in the platform's format.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    app = create_app(settings)

    async def serve_until_stopped() -> None:
        from .observability.exposition import metrics_port_server

        # SIGTERM (the supervisor, Kubernetes) and Ctrl-C both finish the requests in flight and close the store.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        metrics = metrics_port_server(app, settings, stop.wait)  # XINFANG_METRICS_PORT: /metrics apart from the app
        await asyncio.gather(hypercorn_serve(app, config, shutdown_trigger=stop.wait), *([metrics] if metrics else []))

    asyncio.run(serve_until_stopped())


if __name__ == "__main__":
    main()
