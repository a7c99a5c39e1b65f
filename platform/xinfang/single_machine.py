"""``xinfang run``: the whole platform on one machine, each part a supervised child process.

Which processes there are, in which order they start and stop, and how each
one is known to be ready; the watching itself is ``supervisor.py``. This
module imports none of the platform either, so ``xinfang run`` stays small.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .beat_lock import read_beat_record
from .processes import private_child
from .settings import Settings
from .store.embedded import EmbeddedStore, EmbeddedStoreError, port_is_open
from .supervisor import ChildSpec, Supervisor, SupervisorError

STOP_ORDER = ["web", "beat", "indexer", "worker", "store"]


class StartFailed(RuntimeError):
    def __init__(self, message: dict[str, str]):
        self.message = message
        super().__init__(message["en"])


def run_single_machine(settings: Settings, tenants_dir: Path, workers: int, say: Callable[[str], None]) -> None:
    """Start everything, supervise it until Ctrl-C or SIGTERM, then stop it in order."""
    supervisor = Supervisor(settings.data_dir)
    try:
        supervisor.claim()
    except SupervisorError as exc:
        raise StartFailed(exc.message) from None
    listener = _listen(settings)
    if os.geteuid() == 0:
        say("注意：以 root 身份运行；生产环境请用普通用户 / note: running as root; use an unprivileged user in production")
    env = dict(os.environ, **settings.to_env())
    store = _add_children(supervisor, settings, env, workers, listener)
    supervisor.install_signals()
    try:
        _start(supervisor, settings, env, store, tenants_dir, say)
        if not supervisor.stopping:
            supervisor.supervise()
    finally:
        supervisor.stop_all(STOP_ORDER)
        supervisor.close()
        listener.close()


def _listen(settings: Settings) -> socket.socket:
    """The web server's listening socket, held by the supervisor and handed to each web process.

    While a killed web process is being replaced, new connections wait in the socket's queue
    instead of being refused; and a port someone else holds is a clear error at once rather
    than a web process dying again and again.
    """
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        listener = socket.create_server((settings.host, settings.port), family=family, backlog=1024)
    except OSError as exc:
        raise StartFailed({"zh": f"端口 {settings.port} 无法使用（{exc.strerror}），请设置 XINFANG_PORT",
                           "en": f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}); set XINFANG_PORT"}) from None
    listener.set_inheritable(True)
    return listener


def _add_children(supervisor: Supervisor, settings: Settings, env: dict[str, str], workers: int,
                  listener: socket.socket) -> EmbeddedStore | None:
    # Celery logs every task at INFO; on one terminal only warnings are worth reading.
    loglevel = "WARNING" if settings.log_level == "INFO" else settings.log_level

    # The metrics port is the web process's: it reads every process's metric files of this host.
    background_env = {name: value for name, value in env.items() if name != "XINFANG_METRICS_PORT"}

    def command(*args: str, pass_fds: tuple[int, ...] = ()):
        # Own session: a Ctrl-C reaches only the supervisor, which stops the children in order.
        return lambda: subprocess.Popen([sys.executable, "-m", "xinfang", *args], env=env if args[0] == "serve" else background_env,
                                        start_new_session=True, preexec_fn=private_child, pass_fds=pass_fds)

    store = None
    if settings.embedded_store:
        store = EmbeddedStore(settings.store_dir, settings.embedded_store_port)
        supervisor.add(ChildSpec("store", "数据库", store.spawn, ready=lambda _: port_is_open(store.host, store.port),
                                 stop_timeout=10))
    # The indexer is always a process of its own: sharing the worker's processes, a slow search drain
    # (duplicate checks over many alike petitions) held back every petition's completion behind it.
    # On the filesystem broker the two consume different queues, i.e. different message files.
    supervisor.add(ChildSpec("worker", "后台任务进程", command("worker", "--concurrency", str(workers), "--loglevel", loglevel)))
    supervisor.add(ChildSpec("indexer", "检索索引进程", command("indexer", "--loglevel", loglevel)))
    # Its own process, never `worker --beat`: a beat forked by a worker outlived the worker's kill -9.
    # Ready once it holds the one-beat lock (until then another beat may hold it).
    supervisor.add(ChildSpec("beat", "定时调度进程", command("beat", "--loglevel", loglevel),
                             ready=lambda process: (read_beat_record(settings.data_dir) or {}).get("pid") == process.pid))
    fd = listener.fileno()
    web_host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else "::1" if settings.host == "::" else settings.host
    supervisor.add(ChildSpec("web", "网站进程", command("serve", "--listen-fd", str(fd), pass_fds=(fd,)),
                             ready=lambda _: _web_answers(web_host, settings.port), stop_timeout=15))
    return store


def _start(supervisor: Supervisor, settings: Settings, env: dict[str, str], store: EmbeddedStore | None,
           tenants_dir: Path, say: Callable[[str], None]) -> None:
    """Store first; then worker, indexer and beat while the tenants load; the web server last."""
    if store is not None:
        try:
            supervisor.start("store", raise_errors=True)
        except EmbeddedStoreError as exc:
            raise StartFailed({"zh": str(exc), "en": str(exc)}) from None
        if not supervisor.wait_ready("store", timeout=30):
            if supervisor.stopping:
                return
            raise StartFailed({"zh": f"内置数据库未能启动，见 {store.log_path}", "en": f"the embedded store did not start; see {store.log_path}"})
        say(f"embedded store started: {store.uri}, data in {settings.store_dir}")
    for name in ("worker", "indexer", "beat"):
        if name in supervisor.children:
            supervisor.start(name)
    load_demo = settings.should_load_demo_tenants and tenants_dir.is_dir()
    if load_demo:
        loaded = supervisor.run_once([sys.executable, "-m", "xinfang", "load-tenants", str(tenants_dir)], env=env,
                                     start_new_session=True, preexec_fn=private_child)
        if loaded is None:  # a stop was asked for meanwhile
            return
        if loaded != 0:
            raise StartFailed({"zh": "加载单位配置失败（见上）", "en": "loading the tenant bundles failed (see above)"})
    supervisor.start("web")
    if not supervisor.wait_ready("web", timeout=120):
        if supervisor.stopping:
            return
        say("网站进程尚未就绪，继续等待 / the web server is not answering yet; still trying")
    base = f"http://{settings.host}:{settings.port}"
    say(f"xinfang 已启动 / running on {base}  (Ctrl-C 停止 / to stop)")
    if load_demo:
        say(f"  群众信访 citizen portal:  {base}/t/siyang-edu/")
        say(f"  工作人员 staff console:   {base}/t/siyang-edu/staff/   (handler, leader, registrar, admin …)")
        say(f"  表单管理 form admin:      {base}/t/siyang-edu/admin/forms   (admin)")
        say(f"  监督配置 card settings:   {base}/t/siyang-edu/admin/supervision   (admin)")
        say(f"  干部廉政意见 reviews:     {base}/platform/reviews   (org-reviewer, org-approver)")
    say(f"  API: {base}/openapi.json   健康状态 health: {base}/healthz")


def _web_answers(host: str, port: int) -> bool:
    """Whether a web process answers HTTP on the port (the socket itself accepts even while none runs)."""
    connection = http.client.HTTPConnection(host, port, timeout=0.5)
    try:
        connection.request("GET", "/healthz?parts=web")
        connection.getresponse()  # any answer will do: the process serves HTTP
        return True
    except OSError:
        return False
    finally:
        connection.close()
