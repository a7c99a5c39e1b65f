"""Start, watch and stop the embedded MongoDB-wire-compatible server (nx-27017).

Used only when ``XINFANG_MONGODB_URI`` is unset, so that a new user needs no
MongoDB installed. The server keeps one SQLite file per database under
``DATA_DIR/store`` in WAL mode; acknowledged writes survive ``kill -9``.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..processes import die_with_parent

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
        self.data_dir = Path(data_dir)
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nx-27017.pid"

    def start(self, timeout: float = 20.0) -> "EmbeddedStore":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_is_open(self.host, self.port):
            raise EmbeddedStoreError(
                f"port {self.port} is already in use; set XINFANG_EMBEDDED_STORE_PORT "
                "or stop the other store / 端口已被占用"
            )
        log_path = self.data_dir / "nx-27017.log"
        command = _server_command() + [
            "--data-dir", str(self.data_dir),
            "--host", self.host,
            "-p", str(self.port),
            "--log-file", str(log_path),
            "--pid-file", str(self.pid_file),
            "--journal-mode", "WAL",
        ]
        log.info("starting embedded store: %s", " ".join(command))
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.data_dir / "nx-27017.stderr", "ab"),
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedStoreError(
                    f"embedded store exited with code {self.process.returncode}; see {log_path}"
                )
            if port_is_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise EmbeddedStoreError(f"embedded store did not listen on port {self.port} within {timeout}s")

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

