"""Start, watch and stop the embedded MongoDB-wire-compatible server (nx-27017).

Used only when ``XINFANG_MONGODB_URI`` is unset, so that a new user needs no
MongoDB installed. The server keeps one SQLite file per database under
``DATA_DIR/store`` in WAL mode; acknowledged writes survive ``kill -9``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..processes import clear_stale_pid_file, private_child
from ..secrets_file import ensure_private_dir

log = logging.getLogger(__name__)


class EmbeddedStoreError(RuntimeError):
    pass


def _server_command() -> list[str]:
    exe = shutil.which("nx-27017", path=str(Path(sys.executable).parent)) or shutil.which("nx-27017")
    if exe:
        return [exe]
    return [sys.executable, "-m", "nx_27017"]


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedStore:
    """One nx-27017 child process bound to 127.0.0.1:<port>, data under ``data_dir``."""

    host = "127.0.0.1"

    def __init__(self, data_dir: Path, port: int):
        self.data_dir = Path(data_dir).absolute()  # as it appears in the server's command line
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nx-27017.pid"

    def is_ours(self, argv: list[str]) -> bool:
        """Whether a command line is an nx-27017 server on this data directory."""
        return any("nx-27017" in part or "nx_27017" in part for part in argv) and str(self.data_dir) in argv

    def spawn(self) -> subprocess.Popen:
        """Start the server process and return at once (``wait_ready`` waits for its port).

        A pid file left by a store killed with SIGKILL is removed first: nx-27017 refuses
        to start while its pid file names a live process, and after a crash that pid is
        dead, a zombie, or someone else's. A live nx-27017 on this data directory is
        another store on the same files, which must never happen: that is an error.
        """
        ensure_private_dir(self.data_dir)
        if port_is_open(self.host, self.port):
            raise EmbeddedStoreError(
                f"port {self.port} is already in use; set XINFANG_EMBEDDED_STORE_PORT "
                "or stop the other store / 端口已被占用"
            )
        running = clear_stale_pid_file(self.pid_file, self.is_ours)
        if running is not None:
            raise EmbeddedStoreError(
                f"another embedded store (pid {running}) is running on {self.data_dir}; stop it first "
                f"/ 另一个内置数据库进程（pid {running}）正在使用该数据目录"
            )
        command = _server_command() + [
            "--data-dir", str(self.data_dir),
            "--host", self.host,
            "-p", str(self.port),
            "--log-file", str(self.log_path),
            "--pid-file", str(self.pid_file),
            "--journal-mode", "WAL",
        ]
        log.info("starting embedded store: %s", " ".join(command))
        stderr = os.open(self.data_dir / "nx-27017.stderr", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
                preexec_fn=private_child,  # its SQLite files are 0600 whoever starts it
            )
        finally:
            os.close(stderr)
        return self.process

    @property
    def log_path(self) -> Path:
        return self.data_dir / "nx-27017.log"

    def wait_ready(self, timeout: float = 20.0) -> "EmbeddedStore":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedStoreError(
                    f"embedded store exited with code {self.process.returncode}; see {self.log_path}"
                )
            if port_is_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise EmbeddedStoreError(f"embedded store did not listen on port {self.port} within {timeout}s")

    def start(self, timeout: float = 20.0) -> "EmbeddedStore":
        self.spawn()
        return self.wait_ready(timeout)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL: SQLite in WAL mode is safe either way."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded store ignored SIGTERM; killing it")
            process.kill()
            process.wait()
        try:
            self.pid_file.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "EmbeddedStore":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

