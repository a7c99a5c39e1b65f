"""Process secrets: from the environment, else generated once into the data directory.

The generated files are a convenience of the single-machine default; several
web replicas must share the values through XINFANG_SECRET_KEY and
XINFANG_ENCRYPTION_KEY.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

from .settings import Settings


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (0700), or make an existing one of ours 0700: the data directory holds secrets.

    Closing the directory closes everything in it, including files an older version
    wrote with looser modes. Shared sticky folders (/tmp) are left alone.
    """
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and info.st_mode & 0o077 and not info.st_mode & stat.S_ISVTX:
        path.chmod(0o700)
    return path


def _read_or_create(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    ensure_private_dir(path.parent)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this deployment made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def resolve_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    return _read_or_create(settings.data_dir / "secret.key", lambda: secrets.token_urlsafe(48))


def resolve_encryption_key(settings: Settings) -> bytes:
    raw = settings.encryption_key or _read_or_create(
        settings.data_dir / "encryption.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise ValueError("XINFANG_ENCRYPTION_KEY must be base64 of exactly 32 bytes")
    return key
